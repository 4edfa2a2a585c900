"""The report contract: one :class:`ReportContext` from ``report.yml`` plus the command line.

``load(path, period=..., grain=...)`` reads the file once; every notebook gets
``ctx.parameters()`` (plain values, never a secret) and rebuilds the same context with
:func:`from_parameters`, and ``summary.json`` is computed from the context itself, so the
pages and the summary use the same data sources, mapping, dedup window, time zone,
segments, thresholds, bands and redaction.

Secrets never live in the file: a connection's password or token is read from the
environment variable the file names (``connection.secret_env``) at the moment of
connecting, so it is never a papermill parameter and never lands in an executed
notebook, an HTML report or ``summary.json``.

Relative paths in the file are read relative to the file's folder.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from .. import config
from ..core import periods
from ..core.backends import SECRET_PLACEHOLDER, Connection
from ..core.periods import check_grain, parse_period
from ..core.schema import TABLES
from ..core.sources import find_tables
from ..errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd
    from ibis.backends import BaseBackend

    from ..core.dataset import Dataset

KNOWN_KEYS = (
    "title",
    "data",
    "mapping",
    "tz",
    "segments",
    "benchmark",
    "bands",
    "thresholds",
    "redact",
    "dedup_window",
    "active_lookback",  # without a customers table: how far back a contact keeps its customer active
    "new_window",  # a customer is new in a period when they signed up less than this before its start
    "period",  # the default period of `kit report` (written by `kit init`); --period overrides it
    "segment",  # drill-down: `region=EMEA` renders the report for that segment's customers only (or --segment)
    "engine",  # DuckDB memory_limit, temp_directory, threads (see engine_settings)
)
#: Keys of ``data``, ``benchmark`` and ``bands`` in report.yml.
DATA_KEYS = ("dir", "tables", "connection")
BENCHMARK_KEYS = ("profile",)
BAND_KEYS = ("accounts",)
#: Defaults for ``thresholds`` (each can be overridden in report.yml).
DEFAULT_THRESHOLDS = MappingProxyType(
    {
        "anomaly_z": 3.5,  # robust z-score of the STL remainder that flags a period as an anomaly
        "alert_change": 0.10,  # relative change vs the same period last year (else the previous one) that alerts
        "min_customers": 30,  # smaller segments are listed but not ranked
        "trend_periods": 24,  # periods shown in the trend chart
        "churn_gap": 30,  # days between the churn model's feature window and its outcome window
    }
)
DEFAULT_SEGMENTS = ("tier", "region", "industry")


@dataclass(frozen=True)
class ReportContext:
    """Everything one report is computed from: report.yml plus the period and grain. Holds no secret.

    Build it with :func:`load` (the render) or :func:`from_parameters` (a notebook);
    ``parameters()`` gives the papermill-safe values a notebook receives.

    Attributes
    ----------
    period : str or None
        The period label (``2026-10``, ``2026-Q4``, ``2026-W43``); None before the command line sets it.
    grain : str
        ``week``, ``month`` or ``quarter`` (the ``--grain`` of ``kit report``).
    mapping, dedup_window, tz, segments, benchmark_profile, bands, thresholds, redact
        The report.yml settings every notebook and summary.json use.
    new_window : str
        A customer is new in a period when they signed up less than this before its start
        (the ``new_vs_existing`` grouping of :func:`kit.contact_frequency`; default ``90D``).
    active_lookback : str
        Without a customers table, a customer is active in a period when they have a counted contact
        from this long before its start to its end (see :func:`kit.contact_frequency`).
    segment : tuple of (str, str) or None
        Drill-down ``(column, value)`` of the customers table (``("region", "EMEA")``): :meth:`dataset`
        keeps only those customers and their contacts (and surveys, orders...), so every page and
        ``summary.json`` use that segment's active customers as the denominator. None: all customers.
    """

    period: str | None = None
    grain: str = config.DEFAULT_FREQ
    path: Path | None = None
    title: str = "Customer Contact Frequency"
    data_dir: Path | None = None
    tables: Mapping[str, str] = field(default_factory=dict)
    connection: Connection | None = None
    mapping: Any = None
    tz: str = config.DEFAULT_TZ
    dedup_window: str = config.DEFAULT_DEDUP_WINDOW
    active_lookback: str = config.DEFAULT_ACTIVE_LOOKBACK
    new_window: str = config.DEFAULT_NEW_WINDOW
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
    benchmark_profile: Mapping[str, Any] | None = None
    bands: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    redact: bool = False
    segment: tuple[str, str] | None = None

    def for_period(self, period: str) -> ReportContext:
        """The same context for another period (a backfill renders one per period)."""
        return dataclasses.replace(self, period=str(period))

    @property
    def account_bands(self) -> Sequence[Sequence[Any]] | None:
        """The strategic-account bands (``bands.accounts``), or None for the kit's default."""
        return self.bands.get("accounts")

    def threshold(self, name: str) -> float:
        """One threshold as a number (``anomaly_z``, ``alert_change``, ``min_customers``, ``trend_periods``)."""
        return float(self.thresholds[name])

    def sources(self) -> dict[str, Any]:
        """The table sources for :func:`kit.load` (absent optional tables omitted)."""
        if self.connection is not None:
            con = self.connection.connect()
            out = {}
            for t in TABLES:
                name = self.connection.tables.get(t, t)
                try:  # probing each table works on every backend (list_tables differs between versions)
                    con.table(name)
                except Exception:  # noqa: BLE001 - backend-specific "no such table" errors
                    if t == "contacts" or t in self.connection.tables:
                        raise ParameterError(
                            f"the {con.name} connection has no table {name!r} for {t}; "
                            f"set data.connection.tables.{t} in report.yml"
                        ) from None
                    continue
                out[t] = (con, name)
            return out
        if self.tables:
            out = dict(_folder_sources(self.data_dir, required=False)) if self.data_dir else {}
            out.update(self.tables)
            return out
        return _folder_sources(self.data_dir or config.SAMPLE_DIR)

    @property
    def as_of(self) -> pd.Timestamp | None:
        """The last day of the period (None without one): the report reads no data after it."""
        return periods.period_end(parse_period(self.period, self.grain), self.grain) if self.period else None

    def dataset(self, *, con: BaseBackend | None = None, cut: bool = True) -> Dataset:
        """The report's tables as one :class:`kit.core.dataset.Dataset` (time zone and mapping bound).

        With a period, every table is cut at :attr:`as_of` (see :func:`kit.core.asof.known_by`): the
        report of a past period is the report rendered on the day it ended, whatever arrived since.
        ``cut=False`` gives the whole data (to say where it ends).
        """
        from ..core.asof import known_by
        from ..core.dataset import load as load_dataset
        from . import shared

        ds = load_dataset(self.sources(), tz=self.tz, mapping=self.mapping, con=con)
        if self.segment is not None:  # once, here: every notebook and summary.json see the same segment
            from .overview import data_range

            # a segment's period is complete when all customers' data (as known on the as-of day) covers it
            first, last = data_range(known_by(ds, self.as_of) if self.as_of is not None else ds)
            ds = filter_segment(ds, self.segment, covers=None if first is None else (first, last))
        return shared.cut(self, ds) if cut else ds  # the render's once-cut copy when there is one (kit.report.shared)

    def parameters(self) -> dict[str, Any]:
        """Notebook parameters: plain values only, never a secret (connections stay in ``config_path``)."""
        return {
            "config_path": str(self.path) if self.path else "",
            # a folder for notebooks that read <data_dir>/<table>.parquet; "" when the data is elsewhere
            "data_dir": (
                str(self.data_dir or config.SAMPLE_DIR) if not self.tables and self.connection is None else ""
            ),
            "period": self.period,
            "grain": self.grain,
            "tz": self.tz,
            "mapping": plain(self.mapping),
            "dedup_window": str(self.dedup_window),
            "active_lookback": str(self.active_lookback),
            "new_window": str(self.new_window),
            "segments": list(self.segments),
            "benchmark_profile": plain(self.benchmark_profile) if self.benchmark_profile else None,
            "bands": plain(self.bands),
            "thresholds": plain(self.thresholds),
            "redact": bool(self.redact),
            # not "segment": 03_csat_churn has its own `segment` parameter (the churn model's grouping)
            "drilldown": list(self.segment) if self.segment else None,
        }


def plain(value: Any) -> Any:
    """Nested mappings and sequences as plain dicts and lists (JSON- and papermill-safe)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _folder_sources(folder: Path, *, required: bool = True) -> dict[str, str]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"data folder {folder} does not exist; run `make sample` or set data.dir in report.yml")
    out = {table: str(path) for table, path in find_tables(folder).items()}
    if required:
        missing = [t for t in ("contacts",) if t not in out]  # no customers: derived from the contacts
        if missing:
            raise ParameterError(
                f"data folder {folder} has no {' or '.join(missing)} table "
                f"(expected e.g. {missing[0]}.parquet or {missing[0]}.csv)"
            )
    return out


_PASSWORD_IN_URL = re.compile(r"^[a-z0-9+.-]+://[^/@:]+:[^/@]+@", re.IGNORECASE)


def _check_keys(given: Mapping, valid, where: str) -> None:
    unknown = sorted(str(k) for k in set(given) - set(valid))
    if unknown:
        raise ParameterError(f"report config: unknown key {unknown[0]!r} in {where}; valid keys: {', '.join(valid)}")


def _mapping(value, where: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParameterError(f"report config: `{where}` must be a mapping")
    return value


def _read(path) -> tuple[dict, Path | None]:
    if not path:
        return {}, None
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ParameterError(f"report config {path} not found; copy report.yml from the repository root")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"report config {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, Mapping):
        raise ParameterError(f"report config {path} must be a mapping of settings")
    _check_keys(raw, KNOWN_KEYS, "the top level")
    return dict(raw), path


def load(
    path: str | Path | None = None, *, period: str | None = None, grain: str | None = None, **overrides: Any
) -> ReportContext:
    """Read ``report.yml`` (or the defaults, pointing at the sample data, when ``path`` is None).

    Parameters
    ----------
    path : str or Path, optional
        The YAML file. Relative paths inside it are read relative to its folder. A key the kit
        does not know (at the top level or in ``data``, ``benchmark``, ``bands``,
        ``thresholds``) is a :class:`~kit.errors.ParameterError` naming it.
    period, grain : str, optional
        The command line's period label and grain.
    **overrides
        Field values that win over the file (``tz=``, ``segments=``, ``mapping=``,
        ``thresholds=`` (merged), ``data_dir=`` (replaces the file's data sources)...).
        None leaves the file's value.

    Examples
    --------
    >>> ctx = load(None, period="2026-10", tz="Europe/Berlin", thresholds={"anomaly_z": 3})
    >>> ctx.tz, ctx.period, ctx.grain, ctx.threshold("anomaly_z"), ctx.connection is None
    ('Europe/Berlin', '2026-10', 'month', 3.0, True)
    >>> load(None, thresholds={"anomaly": 3})
    Traceback (most recent call last):
    ...
    kit.errors.ParameterError: report config: unknown key 'anomaly' in thresholds; valid keys: anomaly_z, ...
    """
    raw, path = _read(path)
    base = path.parent if path else Path.cwd()
    fields: dict[str, Any] = {
        "path": path,
        "period": None if period is None else str(period),
        "grain": check_grain(grain or config.DEFAULT_FREQ),
    }
    data = _mapping(raw.get("data"), "data")
    _check_keys(data, DATA_KEYS, "data")
    if data.get("dir"):
        fields["data_dir"] = _resolve(data["dir"], base)
    if data.get("tables"):
        fields["tables"] = {
            str(t): str(_resolve(p, base)) if not _is_url(str(p)) else str(p) for t, p in dict(data["tables"]).items()
        }
        _check_keys(fields["tables"], TABLES, "data.tables")
    if data.get("connection"):
        fields["connection"] = _connection(data["connection"])
    if fields["period"] is None and raw.get("period") is not None:  # the file's default period
        fields["period"] = str(raw["period"])
    for key in ("title", "tz", "dedup_window", "active_lookback", "new_window"):
        if raw.get(key) is not None:
            fields[key] = str(raw[key])
    if raw.get("mapping") is not None:
        m = raw["mapping"]
        fields["mapping"] = str(_resolve(m, base)) if isinstance(m, str) and (base / m).exists() else m
    if raw.get("segments") is not None:
        fields["segments"] = _segments(raw["segments"])
    bench = _mapping(raw.get("benchmark"), "benchmark")
    _check_keys(bench, BENCHMARK_KEYS, "benchmark")
    fields["benchmark_profile"] = _profile(bench.get("profile"))
    bands = _mapping(raw.get("bands"), "bands")
    _check_keys(bands, BAND_KEYS, "bands")
    fields["bands"] = dict(bands)
    file_limits = _mapping(raw.get("thresholds"), "thresholds")
    _check_keys(file_limits, DEFAULT_THRESHOLDS, "thresholds")
    fields["thresholds"] = {**DEFAULT_THRESHOLDS, **file_limits}
    if raw.get("redact") is not None:
        fields["redact"] = bool(raw["redact"])
    if raw.get("segment") is not None:
        fields["segment"] = parse_segment(raw["segment"])
    engine_settings(_mapping(raw.get("engine"), "engine"), base)
    _apply(fields, overrides)
    from ..core.engine import check_tz

    check_tz(fields.get("tz", config.DEFAULT_TZ))
    return ReportContext(**fields)


def _apply(fields: dict, overrides: Mapping) -> None:
    """Command-line and notebook values over the file's."""
    known = {f.name for f in dataclasses.fields(ReportContext)} - {"period", "grain", "path"}
    _check_keys(overrides, sorted(known), "the overrides")
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "data_dir":  # a data folder replaces the file's sources
            fields.update(data_dir=Path(value).expanduser().resolve(), tables={}, connection=None)
            continue
        if key == "segments":
            value = _segments(value)
        elif key == "thresholds":
            _check_keys(_mapping(value, "thresholds"), DEFAULT_THRESHOLDS, "thresholds")
            value = {**fields["thresholds"], **value}
        elif key == "bands":
            _check_keys(_mapping(value, "bands"), BAND_KEYS, "bands")
            value = {**fields["bands"], **value}
        elif key == "benchmark_profile":
            value = _profile(value)
        elif key == "segment":
            value = parse_segment(value)
        fields[key] = value


def from_parameters(*, config_path: str = "", data_dir: str = "", **params: Any) -> ReportContext:
    """The render's :class:`ReportContext` again, inside a notebook, from its papermill parameters.

    ``config_path`` gives back the connection (its secret is read from the environment);
    ``data_dir`` (when not empty) replaces the file's data sources; ``drilldown`` is the segment;
    every other parameter is a :func:`load` override.

    Examples
    --------
    >>> ctx = load(None, period="2026-10", dedup_window="24h",
    ...            bands={"accounts": [["low", 0, 5], ["high", 5, float("inf")]]})
    >>> again = from_parameters(**ctx.parameters())
    >>> again.parameters() == ctx.parameters(), again.dedup_window, again.account_bands[0]
    (True, '24h', ['low', 0, 5])
    """
    if "drilldown" in params:  # the segment travels as `drilldown` (see parameters())
        params["segment"] = params.pop("drilldown")
    return load(config_path or None, data_dir=data_dir or None, **params)


# --------------------------------------------------------------------------- drill-down
#: Customer columns that are no segment (ids and dates).
_NOT_SEGMENTS = re.compile(r"(^customer_id$|_id$|_date$|_at$)")


def parse_segment(value: Any) -> tuple[str, str]:
    """A drill-down segment as ``(column, value)``: from ``"region=EMEA"``, a pair or ``{column: value}``.

    Examples
    --------
    >>> parse_segment("region=EMEA"), parse_segment(["tier", "SMB"]), parse_segment({"region": "R&D = x"})
    (('region', 'EMEA'), ('tier', 'SMB'), ('region', 'R&D = x'))
    >>> parse_segment("EMEA")
    Traceback (most recent call last):
    ...
    kit.errors.ParameterError: segment 'EMEA' must be COLUMN=VALUE, e.g. region=EMEA
    """
    if isinstance(value, Mapping) and len(value) == 1:
        ((col, val),) = value.items()
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        col, val = value
    elif isinstance(value, str) and "=" in value:
        col, val = value.split("=", 1)  # the first "=": a value may hold one
    else:
        raise ParameterError(f"segment {value!r} must be COLUMN=VALUE, e.g. region=EMEA")
    col, val = str(col).strip(), str(val).strip()
    if not col or not val:
        raise ParameterError(f"segment {value!r} must be COLUMN=VALUE, e.g. region=EMEA")
    return col, val


def segment_columns(ds: Dataset) -> list[str]:
    """The customers table's columns a report can drill down by (not ids, not dates)."""
    if ds.customers is None:
        return []
    return [c for c in ds.customers.columns if not _NOT_SEGMENTS.search(c)]


def segment_values(ds: Dataset, column: str) -> list[str]:
    """The values of customers' ``column`` (as text, sorted; missing left out).

    Raises :class:`~kit.errors.ParameterError` (one line, listing the valid columns) for a column
    the customers table does not have, or without a customers table.
    """
    columns = segment_columns(ds)
    if ds.customers is None:
        raise ParameterError("a segment needs a customers table with the segment column; this data has only contacts")
    if column not in columns:
        raise ParameterError(f"unknown segment column {column!r}; valid columns: {', '.join(columns) or 'none'}")
    t = ds.customers.table
    v = t[column].cast("string").strip()
    got = ds.con.execute(t.select(v=v).filter(v.notnull() & (v != "")).distinct())
    return sorted(str(x) for x in got["v"])


def filter_segment(ds: Dataset, segment: tuple[str, str], *, covers: tuple[str, str] | None = None) -> Dataset:
    """``ds`` with only the customers of ``segment`` (column, value) and their rows in every other table.

    Customers are those whose ``column`` (as text, trimmed) equals the value; contacts, surveys,
    orders and stakeholders keep the rows of those customers; events (no customer) stay.
    ``covers`` (first and last day of all customers' contacts, ISO dates) marks the segment's contacts, so its
    periods are complete where all the data is (:attr:`kit.core.sources.Source.covers`).
    An unknown column or value is a one-line :class:`~kit.errors.ParameterError` listing the valid ones.

    Examples
    --------
    >>> from kit.core.dataset import load as load_dataset
    >>> ds = filter_segment(load_dataset("data/examples"), ("tier", "pro"))
    >>> ds.con.execute(ds.customers.table)["customer_id"].tolist(), ds.con.execute(ds.contacts.table.count())
    (['a', 'c'], 5)
    >>> filter_segment(load_dataset("data/examples"), ("tier", "gold"))
    Traceback (most recent call last):
    ...
    kit.errors.ParameterError: no customers with tier='gold'; valid values: basic, pro
    """
    from ..core.dataset import Dataset
    from ..core.sources import Tables

    column, value = segment
    values = segment_values(ds, column)
    if value not in values:
        shown = ", ".join(values[:30]) + (f" (and {len(values) - 30} more)" if len(values) > 30 else "")
        raise ParameterError(f"no customers with {column}={value!r}; valid values: {shown}")
    cust = ds.customers.table
    kept = cust.filter(cust[column].cast("string").strip() == value)
    ids = kept.select(customer_id=kept.customer_id.cast("string"))
    sources = {}
    for name, src in ds.tables.sources.items():
        t = src.table
        if name == "customers":
            t = kept
        elif "customer_id" in t.columns:
            t = t.filter(t.customer_id.cast("string").isin(ids.customer_id))
        sources[name] = dataclasses.replace(src, table=t, covers=covers if name == "contacts" else src.covers)
    return Dataset(Tables(ds.tables.con, sources), tz=ds.tz, mapping=ds.mapping, timestamp_format=ds.timestamp_format)


def _segments(value) -> tuple[str, ...]:
    return tuple([value] if isinstance(value, str) else [str(s) for s in value])


def _profile(profile):
    if profile is not None and not isinstance(profile, Mapping):
        raise ParameterError("report config: benchmark.profile must be a mapping such as {industry: SaaS (B2B)}")
    return dict(profile) if profile else None


def _is_url(text: str) -> bool:
    return "://" in text


def engine_settings(settings: Mapping, base: Path) -> None:
    """Apply report.yml's ``engine`` key (``memory_limit``, ``temp_directory``, ``threads``) to DuckDB.

    The values go to this process's kit config and to the environment (``KIT_DUCKDB_MEMORY_LIMIT``,
    ``KIT_DUCKDB_TEMP_DIR``, ``KIT_DUCKDB_THREADS``), which the report's notebook kernels inherit; a
    variable already set in the environment wins over the file. A relative ``temp_directory`` is read
    relative to the file's folder.
    """
    _check_keys(settings, config.DUCKDB_SETTINGS, "engine")
    for key, value in settings.items():
        env, attr, _ = config.DUCKDB_SETTINGS[key]
        if value is None or os.environ.get(env, "").strip():
            continue
        text = str(_resolve(value, base)) if key == "temp_directory" else str(value).strip()
        os.environ[env] = text
        setattr(config, attr, text)


def _resolve(value, base: Path) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _connection(spec) -> Connection:
    if isinstance(spec, str):
        spec = {"url": spec}
    if not isinstance(spec, Mapping) or not spec.get("url"):
        raise ParameterError("report config: data.connection needs a url (e.g. postgres://user@host/db)")
    url = str(spec["url"])
    if _PASSWORD_IN_URL.match(url):
        raise ParameterError(
            "report config: data.connection.url contains a password; remove it and name an "
            "environment variable in data.connection.secret_env instead"
        )
    secret_env = spec.get("secret_env") or spec.get("password_env") or spec.get("token_env")
    if SECRET_PLACEHOLDER in url and not secret_env:
        raise ParameterError("report config: data.connection.url has a {secret} placeholder but no secret_env")
    return Connection(
        url=url,
        secret_env=str(secret_env) if secret_env else None,
        tables={str(k): str(v) for k, v in dict(spec.get("tables") or {}).items()},
        options=dict(spec.get("options") or {}),
    )
