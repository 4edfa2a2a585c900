"""Timestamp formats as exports write them: detected per column from the data, parsed on the engine.

:func:`detect_format` looks at a sample of a column's values and names its format
(ISO 8601, ``YYYY-MM-DD HH:MM:SS ±HHMM``, day-first or month-first dates, RFC 2822, the
``Tue Oct 31 22:10:47 +0000 2017`` style, Unix epoch seconds or milliseconds, Excel serial
dates). :func:`rewrite` turns a column of that format into text every engine reads (ISO 8601),
leaving values that do not parse as they were, so that they are still counted as unparseable
with their raw text as the ledger's example. ISO columns are left alone (no work per row).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from ..errors import AmbiguousTimestampError, ParameterError, SourceError

#: How many non-null values :func:`kit.core.sources.open_tables` samples per column.
SAMPLE_ROWS = 5000

#: The date-like columns of each canonical table (the ones whose format is detected).
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("created_at",),
    "customers": ("signup_date", "churn_date"),
    "surveys": ("responded_at",),
    "orders": ("ordered_at",),
    "stakeholders": ("start_date", "end_date"),
    "events": ("date",),
}

#: Names that stand for a kind rather than a strftime pattern in ``timestamp_format``.
KIND_NAMES = {
    "iso": "iso",
    "iso8601": "iso",
    "epoch": "epoch_s",
    "epoch_s": "epoch_s",
    "unix": "epoch_s",
    "epoch_ms": "epoch_ms",
    "excel": "excel",
}


@dataclass(frozen=True)
class TimestampFormat:
    """A column's timestamp format.

    Attributes
    ----------
    name : str
        Human label, e.g. ``"day-first (%d/%m/%Y %H:%M)"``.
    kind : str
        ``"iso"`` (read as is), ``"strftime"`` (parsed with :attr:`patterns`), ``"epoch_s"``,
        ``"epoch_ms"``, ``"excel"`` or ``"unknown"`` (nothing recognised; read as is).
    strftime : str or None
        The main strftime pattern (None for ISO, epoch, Excel and unknown).
    patterns : tuple of str
        Every pattern tried, in order (the main one and its variants: with or without seconds...).
    has_offset : bool
        Whether the values carry a UTC offset (else they are wall-clock times in the business tz).
    share : float
        Share of the sampled values that have this format.
    """

    name: str
    kind: str
    strftime: str | None = None
    patterns: tuple[str, ...] = field(default=())
    has_offset: bool = False
    share: float = 1.0

    @property
    def needs_parsing(self) -> bool:
        """Whether values must be converted before the engine reads them (ISO and unknown are read as is)."""
        return self.kind not in ("iso", "unknown")

    def __str__(self) -> str:
        return self.name


ISO = TimestampFormat("ISO 8601", "iso")
ISO_OFFSET = TimestampFormat("ISO 8601 with offset", "iso", has_offset=True)
UNKNOWN = TimestampFormat("unrecognised", "unknown", share=0.0)
EPOCH_S = TimestampFormat("Unix epoch seconds", "epoch_s", has_offset=True)
EPOCH_MS = TimestampFormat("Unix epoch milliseconds", "epoch_ms", has_offset=True)
EXCEL = TimestampFormat("Excel serial date", "excel")

_TIME = r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})([.,]\d+)?)?(?:\s*([AaPp][Mm]))?)?"
_ISO_RE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_ISO_SPACE_OFFSET_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}(:\d{2})?(\.\d+)? ([+-]\d{2}:?\d{2}|UTC|GMT)$")
_YMD_RE = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})" + _TIME + "$")
_DMY_RE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})" + _TIME + "$")
_RFC2822_RE = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2} [A-Za-z]{3} \d{4} \d{1,2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|GMT|UTC)$"
)
_TWITTER_RE = re.compile(r"^[A-Za-z]{3} [A-Za-z]{3} \d{1,2} \d{1,2}:\d{2}:\d{2} [+-]\d{4} \d{4}$")
_NUMBER_RE = re.compile(r"^[+-]?\d+(?:\.\d*)?$")
_COMPACT_RE = re.compile(r"^(19|20|21)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$")

RFC2822_PATTERNS = tuple(
    f"{day}%d %b %Y %H:%M{sec} {zone}"
    for day in ("%a, ", "")
    for sec in (":%S", "")
    for zone in ("%z", "%Z")  # %Z reads GMT and UTC (a literal "GMT" would take the previous row's offset)
)
TWITTER_PATTERN = "%a %b %d %H:%M:%S %z %Y"


def _time_patterns(seen: Iterable[tuple[bool, bool, bool, bool]], sep: str = " ") -> list[str]:
    """Time-of-day suffixes for the shapes seen: (has time, has seconds, has fraction, has am/pm)."""
    seen = set(seen)
    ampm = any(s[3] for s in seen)
    hour = "%I" if ampm else "%H"
    tail = " %p" if ampm else ""
    out = [f"{sep}{hour}:%M:%S.%f{tail}", f"{sep}{hour}:%M:%S{tail}", f"{sep}{hour}:%M{tail}"]
    if ampm:  # am/pm glued to the time ("3:04PM") as well
        out += [p.replace(" %p", "%p") for p in out]
    return [*out, ""]


def _shape(m: re.Match, first_time_group: int) -> tuple[bool, bool, bool, bool]:
    g = m.groups()[first_time_group - 1 :]
    return (g[0] is not None, g[2] is not None, g[3] is not None, g[4] is not None)


def _main_pattern(date: str, shapes: Counter) -> str:
    has_time, sec, frac, ampm = shapes.most_common(1)[0][0]
    if not has_time:
        return date
    hour = "%I" if ampm else "%H"
    return date + f" {hour}:%M" + (":%S" if sec else "") + (".%f" if frac else "") + (" %p" if ampm else "")


def _main_first(main: str, patterns: Iterable[str]) -> tuple[str, ...]:
    """The main pattern first: DuckDB tries a list in order, so most rows then parse at the first try."""
    return (main, *[p for p in patterns if p != main])


def _dmy_format(order: str, sep: str, year4: bool, shapes: Counter, share: float) -> TimestampFormat:
    year = "%Y" if year4 else "%y"
    date = f"%d{sep}%m{sep}{year}" if order == "day" else f"%m{sep}%d{sep}{year}"
    main = _main_pattern(date, shapes)
    patterns = _main_first(main, (date + t for t in _time_patterns(shapes)))
    return TimestampFormat(f"{order}-first ({main})", "strftime", main, patterns, share=share)


def strftime_format(pattern: str, *, label: str | None = None) -> TimestampFormat:
    """The format of an explicit ``timestamp_format`` (a strftime pattern, or iso/epoch_s/epoch_ms/excel).

    Examples
    --------
    >>> strftime_format("%d/%m/%Y %H:%M").patterns
    ('%d/%m/%Y %H:%M',)
    >>> strftime_format("epoch_ms").kind
    'epoch_ms'
    """
    if not isinstance(pattern, str) or not pattern.strip():
        raise ParameterError(f"timestamp_format must be a strftime pattern such as '%d/%m/%Y %H:%M', not {pattern!r}")
    key = pattern.strip().lower()
    if key in KIND_NAMES:
        return {"iso": ISO, "epoch_s": EPOCH_S, "epoch_ms": EPOCH_MS, "excel": EXCEL}[KIND_NAMES[key]]
    if "%" not in pattern:
        raise ParameterError(
            f"timestamp_format {pattern!r} has no % directive; use strftime syntax such as '%d/%m/%Y %H:%M', "
            "or one of iso, epoch_s, epoch_ms, excel"
        )
    offset = "%z" in pattern or "%Z" in pattern
    return TimestampFormat(label or f"given ({pattern})", "strftime", pattern, (pattern,), has_offset=offset)


def _clean(values: Iterable[Any]) -> list[str]:
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            continue
        s = str(v).strip()
        if s:
            out.append(s)
    return out


def _numeric_format(numbers: list[float], share: float) -> TimestampFormat:
    """Epoch seconds, epoch milliseconds or Excel serial days, judged by magnitude (the median)."""
    ordered = sorted(abs(x) for x in numbers)
    mid = ordered[len(ordered) // 2]
    for lo, hi, fmt in ((1e11, 1e14, EPOCH_MS), (1e8, 1e11, EPOCH_S), (1e4, 1e5 + 1, EXCEL)):
        if lo <= mid < hi:
            return TimestampFormat(fmt.name, fmt.kind, has_offset=fmt.has_offset, share=share)
    return UNKNOWN


def detect_format(values: Iterable[Any], *, where: str = "values", column: str = "") -> TimestampFormat:
    """The timestamp format of a sample of a column's values (blanks and NULLs ignored).

    The format matching the most values wins; values of another format will not parse and are
    counted as unparseable. Day-first and month-first dates are told apart by a day above 12.

    Parameters
    ----------
    values : iterable
        Sampled values (text or numbers), e.g. a few thousand distinct ones.
    where, column : str
        The table/file and the column, named in the error message.

    Raises
    ------
    AmbiguousTimestampError
        When every value reads both as day-first and as month-first (no day above 12); its
        ``day_first`` and ``month_first`` attributes hold both candidates.

    Examples
    --------
    >>> detect_format(["29/2/2016 01:16", "3/4/2016 10:00"]).name
    'day-first (%d/%m/%Y %H:%M)'
    >>> detect_format(["Tue Oct 31 22:10:47 +0000 2017"]).strftime
    '%a %b %d %H:%M:%S %z %Y'
    >>> detect_format([1509487847, 1509487900]).name
    'Unix epoch seconds'
    >>> detect_format(["2026-10-05 14:03:00"]).kind
    'iso'
    """
    texts = _clean(values)
    if not texts:
        return UNKNOWN
    n = len(texts)
    hits: dict[str, list] = {k: [] for k in ("iso", "iso_space", "ymd", "dmy", "rfc", "twitter", "number", "compact")}
    for s in texts:
        if _COMPACT_RE.match(s):
            hits["compact"].append(s)
        elif _NUMBER_RE.match(s):
            hits["number"].append(float(s))
        elif m := _ISO_RE.match(s):
            hits["iso"].append(m)
        elif m := _ISO_SPACE_OFFSET_RE.match(s):
            hits["iso_space"].append(m)
        elif m := _DMY_RE.match(s):
            hits["dmy"].append(m)
        elif m := _YMD_RE.match(s):
            hits["ymd"].append(m)
        elif _RFC2822_RE.match(s):
            hits["rfc"].append(s)
        elif _TWITTER_RE.match(s):
            hits["twitter"].append(s)
    # Numbers and compact dates look alike (20250101); the larger family wins, compact on a tie.
    best = max(hits, key=lambda k: (len(hits[k]), k == "compact"))
    found = hits[best]
    if not found:
        return UNKNOWN
    share = len(found) / n
    if best == "iso":
        offset = any(m.group(1) for m in found)
        return TimestampFormat(ISO_OFFSET.name if offset else ISO.name, "iso", has_offset=offset, share=share)
    if best == "compact":
        return TimestampFormat("compact date (%Y%m%d)", "strftime", "%Y%m%d", ("%Y%m%d",), share=share)
    if best == "number":
        return _numeric_format(found, share)
    if best == "iso_space":
        t = Counter(m.group(1) for m in found).most_common(1)[0][0]
        frac = any(m.group(3) for m in found)
        date = f"%Y-%m-%d{t}"
        main = date + "%H:%M:%S" + (".%f" if frac else "") + " %z"
        patterns = tuple(
            date + time + " " + zone for time in ("%H:%M:%S.%f", "%H:%M:%S", "%H:%M") for zone in ("%z", "%Z")
        )
        patterns = _main_first(main, patterns)
        return TimestampFormat("YYYY-MM-DD HH:MM:SS ±HHMM", "strftime", main, patterns, has_offset=True, share=share)
    if best == "rfc":
        return TimestampFormat(
            "RFC 2822", "strftime", RFC2822_PATTERNS[0], RFC2822_PATTERNS, has_offset=True, share=share
        )
    if best == "twitter":
        return TimestampFormat(
            f"Twitter style ({TWITTER_PATTERN})", "strftime", TWITTER_PATTERN, (TWITTER_PATTERN,), True, share
        )
    if best == "ymd":
        sep = Counter(m.group(2) for m in found).most_common(1)[0][0]
        shapes = Counter(_shape(m, 5) for m in found)
        date = f"%Y{sep}%m{sep}%d"
        main = _main_pattern(date, shapes)
        patterns = _main_first(main, (date + t for t in _time_patterns(shapes)))
        return TimestampFormat(f"year-first ({main})", "strftime", main, patterns, share=share)
    # day-first or month-first
    sep = Counter(m.group(2) for m in found).most_common(1)[0][0]
    year4 = Counter(len(m.group(4)) == 4 for m in found).most_common(1)[0][0]
    shapes = Counter(_shape(m, 5) for m in found)
    day_first = sum(int(m.group(1)) > 12 for m in found)
    month_first = sum(int(m.group(3)) > 12 for m in found)
    day = _dmy_format("day", sep, year4, shapes, share)
    month = _dmy_format("month", sep, year4, shapes, share)
    if day_first or month_first:
        return day if day_first >= month_first else month
    raise AmbiguousTimestampError(where, column, [m.string for m in found[:3]], day_first=day, month_first=month)


def settle_day_month(first_over_12: int, second_over_12: int, err: AmbiguousTimestampError) -> TimestampFormat:
    """Decide an ambiguous day/month column from counts over all its rows (a day above 12), else raise ``err``."""
    if not first_over_12 and not second_over_12:
        raise err
    return err.day_first if first_over_12 >= second_over_12 else err.month_first


#: The leading two numbers of a day-first or month-first value (for :func:`settle_day_month` counts).
DAY_MONTH_FIELDS = r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]"


# --- parsing on the engine -------------------------------------------------------------------


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime_naive(x: str, fmt: dt.Array(dt.string)) -> dt.Timestamp():  # type: ignore[valid-type]
    ...


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime_tz(x: str, fmt: dt.Array(dt.string)) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]
    ...


@ibis.udf.scalar.builtin(name="to_timestamp")
def _to_timestamp(x: dt.float64) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]  # DuckDB: epoch s
    ...


@ibis.udf.scalar.builtin(name="make_timestamp")
def _make_timestamp(x: dt.int64) -> dt.Timestamp():  # type: ignore[valid-type]  # DuckDB: µs since 1970, naive
    ...


#: The numbers that read as timestamps in years 1 to 9999, by numeric format.
NUMERIC_RANGE = {
    "epoch_s": (-62_135_596_800.0, 253_402_300_799.0),
    "epoch_ms": (-62_135_596_800_000.0, 253_402_300_799_000.0),
    "excel": (-693_593.0, 2_958_465.0),
}

#: Days from Excel's day 0 (1899-12-30, which absorbs Lotus' 1900 leap-year bug) to 1970-01-01.
EXCEL_EPOCH_DAYS = 25569


def _typed(col: ir.Value, fmt: TimestampFormat) -> ir.TimestampValue:
    """The parsed instant (epoch, offsets) or wall-clock time (naive formats) of ``col``; NULL where it fails."""
    if fmt.kind in ("epoch_s", "epoch_ms", "excel"):
        num = col.try_cast(dt.float64) if col.type().is_string() else col.cast(dt.float64)
        # Outside years 1-9999 (or inf/NaN) the engine's conversion raises instead of failing one
        # value; NULL counts such a value as unparseable like any other.
        lo, hi = NUMERIC_RANGE[fmt.kind]
        num = ibis.ifelse(num.between(lo, hi), num, ibis.null(dt.float64))
        if fmt.kind == "excel":
            return _make_timestamp(((num - EXCEL_EPOCH_DAYS) * 86_400e6).round().cast(dt.int64))
        return _to_timestamp(num / 1000 if fmt.kind == "epoch_ms" else num)
    text = col if col.type().is_string() else col.cast(dt.string)
    patterns = ibis.literal(list(fmt.patterns), type=dt.Array(dt.string))
    parse = _try_strptime_tz if fmt.has_offset else _try_strptime_naive
    return parse(text.strip(), patterns)


def rewrite(
    col: ir.Value, fmt: TimestampFormat, *, backend: str = "duckdb", where: str = "", column: str = ""
) -> ir.Value:
    """``col`` in a form the engine reads as a timestamp.

    Text becomes ISO 8601 text where it parses and keeps its raw value where it does not (so it
    is counted as unparseable, with the raw text as example); numbers (epoch, Excel) become typed
    timestamps. ISO and unrecognised formats are returned unchanged. Only DuckDB parses other
    formats; elsewhere a :class:`~kit.errors.SourceError` says what to do.
    """
    if not fmt.needs_parsing:
        return col
    if backend != "duckdb":
        raise SourceError(
            f"{where}: column {column} holds {fmt.name} timestamps, which only the DuckDB engine parses; "
            "convert them to ISO 8601 text or a timestamp type in the warehouse, or read the file with DuckDB"
        )
    parsed = _typed(col, fmt)
    if not col.type().is_string():
        return parsed
    # ISO text in both cases: a zoned value is written with its offset, a naive one as wall-clock time.
    return parsed.cast(dt.string).coalesce(col)


def override_for(spec: Any, table: str, column: str) -> str | None:
    """The explicit format for ``table.column`` in a ``timestamp_format`` spec, or None.

    ``spec`` is one string for every column, ``{table: str}``, ``{table: {column: str}}`` or
    ``{column: str}``.

    Examples
    --------
    >>> override_for({"contacts": {"created_at": "%d/%m/%Y"}}, "contacts", "created_at")
    '%d/%m/%Y'
    >>> override_for("%d.%m.%Y", "customers", "signup_date")
    '%d.%m.%Y'
    >>> override_for({"customers": "%d/%m/%Y"}, "contacts", "created_at") is None
    True
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, Mapping):
        raise ParameterError(
            "timestamp_format must be a strftime pattern, {table: pattern} or {table: {column: pattern}}, "
            f"not {type(spec).__name__}"
        )
    if table in spec:
        per = spec[table]
        if isinstance(per, str):
            return per
        if isinstance(per, Mapping):
            value = per.get(column)
            return None if value is None else str(value)
        raise ParameterError(f"timestamp_format for the {table} table must be a pattern or {{column: pattern}}")
    value = spec.get(column, spec.get("*"))
    return None if value is None or isinstance(value, Mapping) else str(value)


def merge_specs(base: Any, override: Any) -> Any:
    """``override`` on top of ``base`` (each a ``timestamp_format`` spec); a plain string replaces everything."""
    if override is None:
        return base
    if base is None or isinstance(override, str) or isinstance(base, str):
        if isinstance(base, str) and isinstance(override, Mapping):
            return {"*": base, **override}
        return override
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
