"""``python -m kit init``: a ``report.yml`` for the user's own export, so that ``kit report`` renders it.

The export is profiled first (:func:`kit.core.profile.profile`): the preset it matches becomes the
mapping, and the last complete month of its data becomes the report's default period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .. import config
from ..core.io import atomic_write_text
from ..core.profile import Profile, profile
from ..core.schema import TABLES, load_mapping
from ..core.sources import _default_con, _normalise_name, _to_table
from ..errors import ParameterError

if TYPE_CHECKING:
    from ..core.types import MappingSpec

#: Customer columns that are identifiers or dates, never segments.
_NOT_SEGMENTS = ("id", "date", "_at", "time", "email", "name", "phone", "url", "owner")


@dataclass(frozen=True)
class Setup:
    """What ``init`` wrote: the file, the profile it was based on, the default period and the settings."""

    path: Path
    profile: Profile
    period: str | None
    settings: dict[str, Any]

    def describe(self) -> str:
        """The lines ``python -m kit init`` prints."""
        p = self.profile
        how = f"preset {p.preset}" if p.preset else "a mapping from the column names"
        lines = [
            f"wrote {self.path}: {p.label} read with {how}; {p.used:,} of {p.rows:,} contacts would be counted",
        ]
        if self.period:
            lines.append(f"period: {self.period} (the last complete month of the data)")
        else:
            lines.append("period: none (the data covers no complete month); run `kit report --period YYYY-MM`")
        if p.customers_label is None:
            lines.append("customers: derived from the contacts (no customers table given)")
        lines.append(f"next: python -m kit report --config {self.path}")
        return "\n".join(lines)


def _relative(path: str, base: Path) -> str:
    """``path`` relative to the config's folder when it lies inside it (report.yml reads relative paths from
    there), else absolute."""
    p = Path(path).expanduser().resolve()
    try:
        return str(p.relative_to(base.expanduser().resolve()))
    except ValueError:
        return str(p)


def _segments(customers, mapping: dict[str, dict[str, str]]) -> list[str]:
    """Customer columns that look like segments: not canonical, not mapped, not an id, date or name."""
    raw, _ = _to_table(customers, _default_con(), "customers")
    mapped = set(mapping.get("customers", {}))
    canonical = set(TABLES["customers"].required) | set(TABLES["customers"].optional)
    out = []
    for col in raw.columns:
        norm = _normalise_name(col)
        if col in mapped or norm in canonical or any(k in norm for k in _NOT_SEGMENTS):
            continue
        out.append(col)
    return out


def write_config(
    contacts: str | Path,
    customers: str | Path | None = None,
    *,
    preset: str | None = None,
    mapping: MappingSpec = None,
    out: str | Path = "report.yml",
    force: bool = False,
    tz: str = config.DEFAULT_TZ,
    title: str | None = None,
    timestamp_format: str | None = None,
) -> Setup:
    """Write a ``report.yml`` for a contacts export (and optionally a customers table).

    Parameters
    ----------
    contacts, customers : path
        The export files (CSV, Parquet, folder or glob). Without ``customers`` the report runs in
        contacts-only mode: customers are derived from the contacts.
    preset, mapping : optional
        The column mapping; by default the preset the export's columns match best.
    out : path
        The file to write. An existing file is kept unless ``force``.
    tz : str
        Business time zone written to the file.
    timestamp_format : str, optional
        The times' strftime pattern when detection cannot decide; written into the file's mapping.

    Raises
    ------
    ParameterError
        When ``out`` exists (and not ``force``) or the export lacks a required column.

    Examples
    --------
    >>> import tempfile, yaml
    >>> folder = Path(tempfile.mkdtemp())
    >>> s = write_config("data/examples/presets/servicenow_incidents.csv", out=folder / "report.yml")
    >>> cfg = yaml.safe_load(s.path.read_text())
    >>> cfg["mapping"], cfg["period"], sorted(cfg["data"]["tables"])
    ('servicenow', '2026-10', ['contacts'])
    """
    out = Path(out).expanduser()
    if out.exists() and not force:
        raise ParameterError(f"{out} exists; pass --force to overwrite it, or --out another file")
    prof = profile(contacts, customers, mapping=mapping, preset=preset, tz=tz, timestamp_format=timestamp_format)
    if prof.missing:
        raise ParameterError(
            f"{prof.label}: no column maps to {', '.join(prof.missing)}; run `python -m kit inspect {contacts}` "
            "and pass --preset or --mapping FILE"
        )
    if mapping is not None:
        mapping_value: Any = mapping if isinstance(mapping, dict) else str(mapping)
        if isinstance(mapping, (str, Path)) and Path(str(mapping)).exists():
            mapping_value = _relative(str(mapping), out.parent)
    elif prof.preset:
        mapping_value = prof.preset
    else:  # only what the loader would not recognise by itself
        entries = {src: dst for src, dst in prof.mapping.items() if _normalise_name(src) != dst}
        mapping_value = {"contacts": entries} if entries else None
    if timestamp_format is not None:  # the mapping carries it, so that the report reads the times the same way
        if mapping_value is None:
            mapping_value = {}
        elif not isinstance(mapping_value, dict):
            mapping_value = {"preset": mapping_value} if prof.preset else load_mapping(mapping_value)
        mapping_value = {**mapping_value, "timestamp_format": timestamp_format}
    month = prof.last_complete_month()
    tables = {"contacts": _relative(str(contacts), out.parent)}
    if customers is not None:
        tables["customers"] = _relative(str(customers), out.parent)
    segments = _segments(customers, load_mapping(mapping_value)) if customers is not None else []
    settings: dict[str, Any] = {
        "title": title or "Customer Contact Frequency",
        "data": {"tables": tables},
        "mapping": mapping_value,
        "tz": tz,
        "dedup_window": config.DEFAULT_DEDUP_WINDOW,
        "period": None if month is None else str(month),
        "segments": segments,
    }
    header = [
        f"# Written by `python -m kit init` on {date.today():%Y-%m-%d} for {prof.label}.",
        f"# {prof.rows:,} contacts read, {prof.used:,} would be counted"
        + (f", covering {prof.first:%Y-%m-%d} to {prof.last:%Y-%m-%d}." if prof.first is not None else "."),
        "# Render with `python -m kit report --config THIS_FILE` (period below; --period overrides it).",
        "# Relative paths are read relative to this file. Every key is explained in the repository's report.yml.",
    ]
    if customers is None:
        header.append("# No customers table: customers are derived from the contacts (contacts-only mode).")
    text = "\n".join(header) + "\n" + yaml.safe_dump(settings, sort_keys=False, allow_unicode=True)
    atomic_write_text(out, text)
    return Setup(out, prof, settings["period"], settings)
