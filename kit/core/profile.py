"""Profile a help-desk export before using it: ``python -m kit inspect``.

One pass over the file answers what a new user asks first: which columns it has, which preset
(column mapping) it matches, how its timestamps are written, which dates it covers, and how many
rows the kit would exclude, and why. The exclusion reasons are the ledger's own (the same
classification as :func:`kit.contact_frequency`), so what ``inspect`` predicts is what a run reports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd

from ..config import DEFAULT_TZ
from . import engine
from .ledger import Ledger
from .prepare import REASON, classify_contacts, classify_customers, count_reasons, customer_lookup, row_checks
from .schema import TABLES, load_mapping, mapping_timestamp_format, presets
from .sources import Source, _default_con, _normalise_name, _to_table, open_tables
from .timeformats import detect_format

if TYPE_CHECKING:
    from .dataset import TableSource
    from .types import MappingSpec

#: A preset is only guessed when it names at least this many of the file's columns.
MIN_PRESET_COLUMNS = 2
#: Values read per text date column to detect its format.
FORMAT_SAMPLE = 2000


@dataclass(frozen=True)
class PresetMatch:
    """How well one preset's contacts columns fit the file: ``present`` of ``columns`` source names."""

    name: str
    present: tuple[str, ...]
    required_covered: tuple[str, ...]

    @property
    def score(self) -> tuple[int, int]:
        return (len(self.required_covered), len(self.present))


@dataclass
class Profile:
    """What ``python -m kit inspect`` prints: columns, guessed mapping, formats, coverage, exclusions.

    Attributes
    ----------
    label : str
        The contacts source as read.
    columns : list of str
        The file's columns, as written.
    preset : str or None
        The preset the columns match best (None: none names two of them, or a mapping was given).
    matches : list of PresetMatch
        Every preset's fit, best first.
    mapping : dict
        ``{source column: canonical column}`` for contacts: the preset's entries that are present plus the
        columns recognised by their canonical name alone.
    missing : list of str
        Required canonical columns that no column maps to (empty: the file can be used).
    formats : dict
        ``{canonical column: detected timestamp format}`` for text date columns.
    rows, used : int
        Contacts rows read, and rows a frequency run would count.
    excluded : dict
        Rows excluded by reason (the ledger's reasons).
    first, last : pandas.Timestamp or None
        First and last counted contact (local time in ``tz``).
    """

    label: str
    columns: list[str]
    preset: str | None
    matches: list[PresetMatch]
    mapping: dict[str, str]
    missing: list[str]
    formats: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    used: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    ledger: Ledger | None = None
    tz: str = DEFAULT_TZ
    customers_label: str | None = None
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Whether every required contacts column is mapped."""
        return not self.missing

    def share(self, reason: str) -> float:
        """Share of the rows read that ``reason`` excludes."""
        return self.excluded.get(reason, 0) / self.rows if self.rows else 0.0

    def last_complete_month(self) -> pd.Period | None:
        """The latest calendar month wholly inside the data's coverage (first to last counted contact day).

        Examples
        --------
        >>> p = Profile("x", [], None, [], {}, [], first=pd.Timestamp("2026-09-14 09:12"),
        ...             last=pd.Timestamp("2026-11-12 17:20"))
        >>> str(p.last_complete_month())
        '2026-10'
        >>> p.last = pd.Timestamp("2026-10-31 23:30")  # the last day of a month completes it
        >>> str(p.last_complete_month())
        '2026-10'
        """
        if self.first is None or self.last is None:
            return None
        month = pd.Period(self.last, "M")
        if self.last.normalize() < month.end_time.normalize():
            month -= 1
        return month if month.start_time.normalize() >= self.first.normalize() else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (``inspect --json``)."""
        return {
            "source": self.label,
            "columns": list(self.columns),
            "preset": self.preset,
            "preset_scores": {m.name: len(m.present) for m in self.matches},
            "mapping": dict(self.mapping),
            "missing": list(self.missing),
            "formats": dict(self.formats),
            "rows": self.rows,
            "used": self.used,
            "excluded": dict(self.excluded),
            "excluded_share": {r: round(self.share(r), 4) for r in self.excluded},
            "first": None if self.first is None else self.first.isoformat(),
            "last": None if self.last is None else self.last.isoformat(),
            "last_complete_month": None if self.last_complete_month() is None else str(self.last_complete_month()),
            "tz": self.tz,
        }

    def describe(self) -> str:
        """The readable report ``python -m kit inspect`` prints."""
        lines = [f"{self.label}: {len(self.columns)} columns, {self.rows:,} rows"]
        lines.append("columns: " + ", ".join(self.columns))
        if self.preset:
            best = self.matches[0]
            lines.append(f"preset: {self.preset} ({len(best.present)} of its columns found: {', '.join(best.present)})")
        else:
            lines.append("preset: none matches; the mapping below comes from the column names alone")
        lines.append("mapping (source column -> canonical):")
        lines += [f"  {src} -> {dst}" for src, dst in self.mapping.items()] or ["  (none)"]
        if self.missing:
            lines.append(
                f"missing: no column maps to {', '.join(self.missing)}; pass --mapping FILE or "
                "{'Your column': canonical} entries (see `python -m kit inspect --help`)"
            )
            return "\n".join(lines)
        if self.formats:
            lines.append("timestamp formats: " + ", ".join(f"{c}: {f}" for c, f in self.formats.items()))
        if self.first is not None:
            month = self.last_complete_month()
            lines.append(
                f"coverage: {self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M} ({self.tz}); "
                f"last complete month: {month if month is not None else 'none'}"
            )
        else:
            lines.append("coverage: no row would be counted")
        n_ex = sum(self.excluded.values())
        lines.append(
            f"rows: {self.rows:,} read, {self.used:,} would be counted, {n_ex:,} excluded "
            f"({n_ex / self.rows if self.rows else 0:.1%})"
        )
        for reason, n in sorted(self.excluded.items(), key=lambda kv: (-kv[1], kv[0])):
            ex = self.examples.get(reason)
            lines.append(f"  - {reason}: {n:,} ({self.share(reason):.1%})" + (f", e.g. {', '.join(ex)}" if ex else ""))
        if self.customers_label is None:
            lines.append("customers: none given, so customers would be derived from the contacts (contacts-only mode)")
        elif self.ledger is not None and "customers" in self.ledger.tables:
            c = self.ledger.tables["customers"]
            lines.append(
                f"customers: {c.source}: {c.read:,} read, {c.used:,} used, {sum(c.excluded.values()):,} excluded"
                + "".join(f"; {r}: {n:,}" for r, n in sorted(c.excluded.items()))
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def match_presets(columns: list[str]) -> list[PresetMatch]:
    """Every preset scored against ``columns``: required canonical columns it covers, then source names present.

    Examples
    --------
    >>> best = match_presets(["Ticket ID", "Contact ID", "Created time", "Source", "Subject"])[0]
    >>> best.name, best.present
    ('freshdesk', ('Ticket ID', 'Contact ID', 'Created time', 'Source'))
    """
    have = set(columns)
    out = []
    for name in presets():
        cols = load_mapping(name).get("contacts", {})
        present = tuple(c for c in cols if c in have)
        covered = tuple(sorted({cols[c] for c in present} & set(TABLES["contacts"].required)))
        out.append(PresetMatch(name, present, covered))
    return sorted(out, key=lambda m: (-m.score[0], -m.score[1], m.name))


def guess_mapping(columns: list[str], preset: str | None = None, mapping: MappingSpec = None) -> dict[str, str]:
    """The contacts mapping that applies to ``columns``: explicit ``mapping`` (or ``preset``) entries that are
    present, then columns whose normalised name is canonical (``Customer ID`` -> customer_id), as the loader does.

    Examples
    --------
    >>> guess_mapping(["Requester id", "Created at", "Channel"], preset="zendesk")
    {'Requester id': 'customer_id', 'Created at': 'created_at', 'Channel': 'channel'}
    >>> guess_mapping(["When", "Customer ID"])  # canonical names in any case and spacing
    {'Customer ID': 'customer_id'}
    """
    spec = load_mapping(mapping if mapping is not None else preset).get("contacts", {})
    out = {c: spec[c] for c in columns if c in spec}
    wanted = set(TABLES["contacts"].required) | set(TABLES["contacts"].optional)
    taken = set(out.values())
    for c in columns:
        norm = _normalise_name(c)
        if c not in out and norm in wanted and norm not in taken:
            out[c] = norm
            taken.add(norm)
    order = {name: i for i, name in enumerate(TABLES["contacts"].required + TABLES["contacts"].optional)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[1], len(order))))


def _detect_formats(src: Source, con) -> dict[str, str]:
    """Timestamp formats of the text date columns: the loader's own (``Source.formats``), else detected here."""
    found = dict(getattr(src, "formats", None) or {})
    t = src.table
    if "created_at" in found or not t.created_at.type().is_string():
        return found
    values = engine.blank_to_null(t.created_at).strip()
    sample = con.execute(t.filter(values.notnull()).select(v=values).limit(FORMAT_SAMPLE)).v.tolist()
    if sample:
        found["created_at"] = detect_format(sample).name
    return found


def profile(
    contacts: TableSource,
    customers: TableSource | None = None,
    *,
    mapping: MappingSpec = None,
    preset: str | None = None,
    tz: str = DEFAULT_TZ,
    direction: str = "inbound",
    dedup_window_seconds: float = 48 * 3600,
    timestamp_format: Any = None,
) -> Profile:
    """Profile a contacts export (and, optionally, a customers table) without computing any metric.

    Parameters
    ----------
    contacts : path, DataFrame or any table source
        The export.
    customers : table source, optional
        Without it, customers are derived from the contacts (contacts-only mode): no row can then be
        an "unknown customer".
    mapping, preset : optional
        A mapping (dict, YAML file or preset name) or a preset name to use instead of guessing one.
    tz : str
        Business time zone for the coverage dates.
    direction : str
        As in :func:`kit.contact_frequency`: rows of another direction are out of scope.
    timestamp_format : str or dict, optional
        The times' strftime pattern, when detection cannot decide (day-first or month-first).

    Examples
    --------
    >>> p = profile("data/examples/presets/freshdesk_tickets.csv")
    >>> p.preset, p.rows, p.used, p.excluded
    ('freshdesk', 12, 10, {'missing created_at': 1, 'missing customer_id': 1})
    """
    con = _default_con()
    raw, label = _to_table(contacts, con, "contacts")
    columns = list(raw.columns)
    matches = match_presets(columns)
    chosen = preset
    if mapping is None and preset is None:
        best = matches[0] if matches else None
        chosen = best.name if best is not None and len(best.present) >= MIN_PRESET_COLUMNS else None
    contact_map = guess_mapping(columns, preset=chosen, mapping=mapping)
    missing = [c for c in TABLES["contacts"].required if c not in contact_map.values()]
    prof = Profile(label, columns, chosen if mapping is None else None, matches, contact_map, missing, tz=tz)
    if missing:
        return prof
    full: dict[str, Any] = load_mapping(mapping if mapping is not None else chosen)
    full["contacts"] = contact_map
    if timestamp_format is None and mapping is not None:  # a mapping YAML's own timestamp_format
        timestamp_format = mapping_timestamp_format(mapping)
    tables = open_tables(
        contacts=contacts, customers=customers, mapping=full, con=con, timestamp_format=timestamp_format
    )
    engine.set_session_tz(tables.con, tz)
    src = tables["contacts"]
    prof.formats = _detect_formats(src, tables.con)
    ledger = Ledger()
    if "customers" in tables:
        prof.customers_label = tables["customers"].label
        cust = classify_customers(tables["customers"])
        count_reasons(tables.con, ledger, tables["customers"], cust)
        lookup = customer_lookup(cust, [])
    else:  # contacts only: every requester is a customer
        rc = row_checks(src, direction=direction)
        lookup = rc.filter(rc._cust.notnull()).select(_cid=rc._cust).distinct().mutate(_cust_ok=ibis.literal(True))
    classified = classify_contacts(src, lookup, direction=direction, dedup_seconds=dedup_window_seconds, tz=tz)
    count_reasons(tables.con, ledger, src, classified)
    account = ledger.tables["contacts"]
    prof.ledger, prof.rows, prof.used = ledger, account.read, account.used
    prof.excluded = dict(sorted(account.excluded.items(), key=lambda kv: (-kv[1], kv[0])))  # most rows first
    prof.examples = {k: [str(v) for v in vs] for k, vs in account.examples.items()}
    used = classified.filter(classified[REASON].isnull())
    span = tables.con.execute(used.aggregate(first=used.local_ts.min(), last=used.local_ts.max()))
    first, last = span["first"].iloc[0], span["last"].iloc[0]
    if pd.notna(first):
        prof.first, prof.last = pd.Timestamp(first), pd.Timestamp(last)
    return prof
