"""Backend plumbing: the working connection, its session time zone, typed parsing, guarded fetches.

Metric code builds Ibis expressions; only this module knows backend quirks.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from .. import config
from ..errors import DataError, ParameterError

#: A fetch larger than this is a bug: the kit brings only aggregates into pandas.
MAX_FETCH_ROWS = 2_000_000
#: Rows fetched since import (tests use it to prove nothing contacts-sized is materialised).
FETCH_STATS = {"queries": 0, "rows": 0, "largest": 0}

TZ_UTC = dt.Timestamp(timezone="UTC")


def portable_postgres_casts() -> None:
    """PostgreSQL casts a boolean to INT but not to BIGINT, which Ibis emits for ``bool.cast("int64")``.

    Patched once, when the kit first sets up a PostgreSQL connection (:func:`set_session_tz`,
    :func:`kit.core.sources.open_tables`), not at import: only that backend loads its compiler
    (:mod:`kit.core.compilers`), and ``import kit`` should not pay for it.
    """
    try:
        from ibis.backends.sql.compilers.postgres import PostgresCompiler
    except ImportError:  # pragma: no cover - ibis without the SQL compilers
        return
    if getattr(PostgresCompiler, "_kit_bool_cast", False):
        return
    original = PostgresCompiler.visit_Cast

    def visit_Cast(self, op, *, arg, to):  # noqa: N802 - Ibis' visitor naming
        if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
            return self.cast(self.cast(arg, dt.int32), to)
        return original(self, op, arg=arg, to=to)

    PostgresCompiler.visit_Cast = visit_Cast
    PostgresCompiler._kit_bool_cast = True


def check_tz(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ParameterError(f"unknown time zone {tz!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'") from None
    return tz


def default_connection() -> BaseBackend:
    """A fresh in-memory DuckDB connection.

    Insertion order is not preserved: the kit orders every result itself, and DuckDB then
    needs far less memory for large windows and aggregations (peak RSS at 50M contacts).
    ``memory_limit``, ``temp_directory`` and ``threads`` come from ``KIT_DUCKDB_MEMORY_LIMIT``,
    ``KIT_DUCKDB_TEMP_DIR`` and ``KIT_DUCKDB_THREADS`` (or report.yml's ``engine``), when set.
    """
    con = ibis.duckdb.connect()
    con.raw_sql("SET preserve_insertion_order = false")
    # DuckDB draws a progress bar on stdout for queries over 2 s: into a script's piped output and the
    # in-process benchmark's JSON. In a Jupyter kernel without ipywidgets it draws none, and refuses the
    # setting itself.
    import duckdb  # noqa: PLC0415 - loaded with the connection above; not at `import kit`

    with contextlib.suppress(duckdb.InvalidInputException):
        con.raw_sql("SET enable_progress_bar = false")
    for name, (env, attr, example) in config.DUCKDB_SETTINGS.items():
        value = getattr(config, attr)
        if not value:
            continue
        try:  # beyond memory_limit DuckDB spills to temp_directory instead of growing
            con.raw_sql(f"SET {name} = '{value}'")
        except Exception as exc:  # noqa: BLE001 - DuckDB's own message names the bad value
            raise ParameterError(
                f"{env}={value!r} is not a valid DuckDB {name.replace('_', ' ')} "
                f"(use e.g. {example}): {str(exc).splitlines()[0]}"
            ) from None
    return con


def set_session_tz(con: BaseBackend, tz: str) -> None:
    """Make the engine cut periods and read naive timestamps in ``tz``.

    DuckDB, PostgreSQL and Spark all truncate zoned timestamps in the session
    time zone, so results would otherwise depend on the machine's TZ.
    """
    check_tz(tz)
    if con.name == "postgres":  # its compiler is loaded with its backend; others need no patch
        portable_postgres_casts()
    backend: Any = con  # raw_sql and the Spark session live on the concrete backends, not on BaseBackend
    with contextlib.suppress(AttributeError):  # read by session_tz
        backend._kit_session_tz = tz
    name = con.name
    if name == "duckdb":
        backend.raw_sql(f"SET TimeZone = '{tz}'")
    elif name == "postgres":
        backend.raw_sql(f"SET TIME ZONE '{tz}'")
    elif name == "pyspark":
        backend._session.conf.set("spark.sql.session.timeZone", tz)
    else:  # other warehouses: best effort, documented in the README
        try:
            backend.raw_sql(f"SET TIME ZONE '{tz}'")
        except Exception:  # noqa: BLE001 - backend without session time zones
            pass


def session_tz(con: BaseBackend) -> str | None:
    """The time zone the kit last set on ``con`` (:func:`set_session_tz`), or None."""
    return getattr(con, "_kit_session_tz", None)


def blank_to_null(col: ir.Value, *, dense: bool = False) -> ir.Value:
    """Text without surrounding blanks, and NULL where nothing is left; other types as they are.

    ``dense``: the column has about as many distinct values as rows (timestamps as text). DuckDB
    runs TRIM once per distinct value of a dictionary-encoded column (labels, directions) but once
    per row of a dense one, where it costs four times a timestamp parse: there only the values
    whose first or last character sorts before "!" (every blank does, byte by byte) are trimmed.
    The test itself would cost more than TRIM on a dictionary, which it expands.
    """
    if not col.type().is_string():
        return col
    if dense and backend_name(col) == "duckdb":
        return ibis.ifelse(_edge_below_bang(col), col.strip(), col).nullif("")
    return col.strip().nullif("")


def backend_name(expr: ir.Expr) -> str:
    """The name of the backend an expression is bound to; unbound memtables run on DuckDB."""
    try:
        return expr._find_backend(use_default=False).name
    except Exception:  # noqa: BLE001 - unbound expressions
        return "duckdb"


#: ISO 8601 date or date-time with an optional offset; fields already range-checked.
_ISO = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?$"
)


def _try_instant_iso(text: ir.StringValue) -> ir.TimestampValue:
    """A TRY_CAST that any SQL engine can run: cast only well-formed ISO 8601 text.

    PostgreSQL has no TRY_CAST (one bad value aborts the query), so the shape and the
    day of the month are checked first with plain SQL; CASE evaluates the cast only then.
    """
    shaped = text.re_search(_ISO)
    year = text.substr(0, 4).cast("int32")
    month = text.substr(5, 2).cast("int32")
    day = text.substr(8, 2).cast("int32")
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = ibis.cases((month == 2, ibis.ifelse(leap, 29, 28)), (month.isin([4, 6, 9, 11]), 30), else_=31)
    valid = ibis.cases((shaped, day <= days), else_=False)
    return ibis.cases((valid, text.cast(TZ_UTC)), else_=ibis.null(TZ_UTC))


def is_all_null(col: ir.Value) -> bool:
    """A column typed NULL: all-empty in a DataFrame, or written so to Parquet (DuckDB's NULL type)."""
    typ = col.type()
    return typ.is_null() or (typ.is_unknown() and str(getattr(typ, "raw_type", "")).strip('"').upper() == "NULL")


def parse_instant(col: ir.Value) -> ir.TimestampValue:
    """Any timestamp-like column as an absolute instant.

    Strings with an offset are converted; naive strings, naive timestamps and
    dates are taken in the session time zone (the business ``tz``).
    Unparseable strings become NULL (the caller counts them). DuckDB reads every
    format its TRY_CAST knows; other engines read ISO 8601 text (``2026-10-05 14:03:00``,
    ``2026-10-05T14:03:00+02:00``, ``2026-10-05``), the same everywhere.
    """
    typ = col.type()
    if is_all_null(col):
        return ibis.null(TZ_UTC)
    if typ.is_string():
        if backend_name(col) != "duckdb":
            return _try_instant_iso(blank_to_null(col).strip())
        return in_calendar(blank_to_null(col, dense=True).try_cast(TZ_UTC))
    if typ.is_timestamp():
        return col if typ.timezone is not None else col.cast(TZ_UTC)
    if typ.is_date():
        return col.cast(dt.timestamp).cast(TZ_UTC)
    raise ParameterError(f"column {col.get_name()!r} has type {typ}, which is not a date or timestamp")


#: Offset-free ISO 8601 shapes, which DuckDB's strptime reads in about 60% of the time of its ICU cast.
WALL_CLOCK_ISO = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)


def parse_utc_clock(col: ir.StringValue) -> ir.TimestampValue:
    """Text as a naive timestamp of the UTC wall-clock time: :func:`parse_instant` shown in UTC.

    For a session in a zone of :data:`UTC_ZONES` on DuckDB, where that wall-clock time is the
    instant itself (no daylight saving) and a naive column orders, truncates and subtracts as
    the instant does, with no time-zone arithmetic per row. Offset-free ISO text is read by
    ``strptime``; only values it does not read (offsets, zone names, the other forms ``TRY_CAST``
    knows) take the ICU cast. Text starting with a letter (``infinity``) goes to the cast too,
    whose calendar check makes it unparseable, as in :func:`parse_instant`.
    """
    from .timeformats import _try_strptime_naive  # noqa: PLC0415 - the same builtin the format parser uses

    # Starting with a digit and not with year 0, which strptime reads and the calendar check refuses.
    # strptime reads trailing blanks; a leading one fails this test and takes the trimming cast.
    digit = (col >= "0001") & (col < ":")
    fast = _try_strptime_naive(col, ibis.literal(list(WALL_CLOCK_ISO), type=dt.Array(dt.string)))
    fast = ibis.ifelse(digit, fast, ibis.null(dt.timestamp))
    # CASE, not COALESCE: DuckDB hoists the cast's repeated TRY_CAST out of a COALESCE and runs it on
    # every row (1.0 s against 0.37 s at 10M); a CASE branch runs only on the rows strptime left NULL.
    return ibis.cases((fast.notnull(), fast), else_=parse_instant(col).cast(dt.timestamp))


@ibis.udf.scalar.builtin(name="epoch_ms")
def _epoch_ms(x: dt.Timestamp()) -> dt.int64:  # type: ignore[valid-type]  # DuckDB: ms since 1970, as UTC
    ...


@ibis.udf.scalar.builtin(name="epoch_ms")
def _epoch_ms_tz(x: TZ_UTC) -> dt.int64:  # type: ignore[valid-type]
    ...


def minute_of(clock: ir.TimestampValue) -> ir.Value:
    """A timestamp as whole minutes since 1970 (int32) on DuckDB, for a first or last time kept per
    group where only its day is read (4 bytes in the aggregate's state, not 8); elsewhere ``clock``.

    A naive value counts as UTC. Ibis' ``epoch_seconds`` would convert an instant to the session's
    local time first, per row. No UTC offset in use since 1990 splits a minute.
    """
    if backend_name(clock) != "duckdb":
        return clock
    epoch_ms = _epoch_ms_tz if clock.type().timezone is not None else _epoch_ms
    return (epoch_ms(clock) // 60_000).cast("int32")


def from_minute(value: ir.Value) -> ir.Value:
    """The instant a :func:`minute_of` stands for (a timestamp is returned as it is)."""
    if not value.type().is_integer():
        return value
    return ibis.literal(datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC), TZ_UTC) + value.as_interval("m")


#: Instants any engine, pandas and Python can hold (years 1 to 9999).
_CALENDAR = (
    datetime.datetime(1, 1, 1, tzinfo=datetime.UTC),
    datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.UTC),
)
#: Local dates kept by :func:`local_date`: a day's margin, so that no time-zone shift leaves years 1 to 9999.
_DATES = (datetime.date(1, 1, 2), datetime.date(9999, 12, 30))


def in_calendar(instant: ir.TimestampValue) -> ir.TimestampValue:
    """``instant``, or NULL for text the engine read as an impossible date: ``infinity``, a six-digit year.

    Such values would overflow every date type downstream; the callers count them as unparseable.
    """
    lo, hi = (ibis.literal(v, TZ_UTC) for v in _CALENDAR)
    return ibis.cases((instant.between(lo, hi), instant), else_=ibis.null(TZ_UTC))


def open_ended(col: ir.Value) -> ir.Value:
    """A date column in which ``infinity`` (PostgreSQL's open-ended date) means "no date": those values as NULL.

    For an end date such as ``churn_date``; typed columns holding infinity (or dates past year 9999) too.
    """
    typ = col.type()
    if typ.is_string():
        text = col.strip().lower()
        return ibis.cases((text.isin(["infinity", "+infinity", "inf"]), ibis.null(dt.string)), else_=col)
    if typ.is_timestamp():
        # Compared as dates: a timestamp literal would be cast to the column's precision, and year 9999
        # overflows nanosecond timestamps (pandas' datetime64[ns] written to Parquet).
        return ibis.cases((col.date() > ibis.literal(_DATES[1]), ibis.null(typ)), else_=col)
    if typ.is_date():
        return ibis.cases((col > ibis.literal(_DATES[1]), ibis.null(dt.date)), else_=col)
    return col


def plausible_range() -> tuple[pd.Timestamp, pd.Timestamp]:
    """The contact times the kit believes: from :data:`kit.config.PLAUSIBLE_FROM` to
    :data:`kit.config.PLAUSIBLE_YEARS_AHEAD` years after today, or ``KIT_PLAUSIBLE_FROM`` /
    ``KIT_PLAUSIBLE_UNTIL`` from the environment (read at each call).

    Examples
    --------
    >>> lo, hi = plausible_range()
    >>> str(lo.date()) if not os.environ.get("KIT_PLAUSIBLE_FROM") else "1990-01-01"
    '1990-01-01'
    """
    text_lo = os.environ.get("KIT_PLAUSIBLE_FROM", "").strip() or config.PLAUSIBLE_FROM
    text_hi = os.environ.get("KIT_PLAUSIBLE_UNTIL", "").strip()
    try:
        lo = pd.Timestamp(text_lo)
        hi = (
            pd.Timestamp(text_hi)
            if text_hi
            else pd.Timestamp.now().normalize() + pd.DateOffset(years=config.PLAUSIBLE_YEARS_AHEAD)
        )
    except (ValueError, TypeError):
        raise ParameterError(
            f"KIT_PLAUSIBLE_FROM/KIT_PLAUSIBLE_UNTIL ({text_lo!r}, {text_hi!r}) are not dates; use YYYY-MM-DD"
        ) from None
    if lo is pd.NaT or hi is pd.NaT or lo >= hi:
        raise ParameterError(f"the plausible range {text_lo}..{text_hi} is empty; KIT_PLAUSIBLE_FROM must come first")
    return lo.tz_localize(None) if lo.tzinfo else lo, hi.tz_localize(None) if hi.tzinfo else hi


def is_implausible(col: ir.Value, instant: ir.TimestampValue) -> ir.BooleanValue:
    """Whether a parsed time lies outside :func:`plausible_range` (never NULL: missing is not implausible).

    Typed naive timestamps and dates are compared as stored (no conversion per row).
    """
    lo, hi = plausible_range()
    typ = col.type()
    if typ.is_date():
        value, lo_v, hi_v = col, ibis.literal(lo.date()), ibis.literal(hi.date())
    elif typ.is_timestamp() and typ.timezone is None:
        value, lo_v, hi_v = col, ibis.literal(lo.to_pydatetime()), ibis.literal(hi.to_pydatetime())
    else:
        value = instant
        lo_v = ibis.literal(lo.tz_localize("UTC").to_pydatetime(), TZ_UTC)
        hi_v = ibis.literal(hi.tz_localize("UTC").to_pydatetime(), TZ_UTC)
    return ((value < lo_v) | (value > hi_v)).fill_null(False)


def local_time(instant: ir.TimestampValue) -> ir.TimestampValue:
    """Wall-clock time in the session (business) time zone."""
    return instant.cast(dt.timestamp)


def local_date(col: ir.Value) -> ir.DateValue:
    """A date-like column as a calendar date in the business time zone."""
    if is_all_null(col):
        return ibis.null(dt.date)
    day = col if col.type().is_date() else local_time(parse_instant(col)).date()
    # infinity or a year past 9999 (typed, or shifted by the time zone) is no date any reader can hold
    return ibis.cases((day.between(*map(ibis.literal, _DATES)), day), else_=ibis.null(dt.date))


def in_periods(period: ir.Value, first: pd.Timestamp | None, last: pd.Timestamp | None) -> ir.BooleanValue:
    """Whether ``period`` (a period's start date) lies from period ``first`` to ``last`` (None: open)."""
    inside = ibis.literal(True)
    if first is not None:
        inside &= period >= first.date()
    if last is not None:
        inside &= period <= last.date()
    return inside


def period_start(col: ir.Value, unit: str) -> ir.DateValue:
    """The first day of the period containing a local date or local (naive) timestamp.

    PostgreSQL's DATE_TRUNC turns a date into a zoned timestamp, which then comes back
    shifted by the session offset; truncating a naive timestamp is exact everywhere.
    """
    if col.type().is_date():
        col = col.cast(dt.timestamp)
    return col.truncate(unit).date()


#: Zone names whose wall-clock time is UTC (naive timestamps there are already instants).
UTC_ZONES = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "GMT",
        "Etc/GMT",
        "UCT",
        "Etc/UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "Etc/GMT0",
        "GMT0",
        "GMT+0",
        "GMT-0",
    }
)


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us_tz(x: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]  # DuckDB: stored µs
    ...


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us_naive(x: dt.Timestamp()) -> dt.int64:  # type: ignore[valid-type]  # Ibis UDF types
    ...


@ibis.udf.scalar.builtin(name="unix_micros")
def _unix_micros(x: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]  # Spark
    ...


@ibis.udf.agg.builtin(name="bitstring_agg")
def _bitstring_agg(x: dt.int64, lo: dt.int64, hi: dt.int64) -> dt.string:  # type: ignore[valid-type]  # DuckDB
    ...


@ibis.udf.scalar.builtin(name="bit_count")
def _bit_count(x: dt.string) -> dt.int64:  # type: ignore[valid-type]  # DuckDB, of a bitstring
    ...


#: The widest span of integer ids :func:`repeated_values` counts with a bitmap: 2^27 bits, 16 MiB a thread.
BITMAP_MAX_BITS = 1 << 27


def repeated_values(col: ir.Value, *, span: tuple[int, int] | None = None) -> ir.IntegerScalar:
    """How many non-null values of ``col`` are not the first with their value (0: all distinct).

    ``span``: the smallest and largest value of an integer column (see :func:`value_span`). On
    DuckDB, when it is at most :data:`BITMAP_MAX_BITS` wide, the distinct values are counted as the
    bits set in a bitmap with one bit per possible value: a streaming aggregate, where a distinct
    count builds a hash table of every value (0.09 s against 0.67 s for 10M ids). A value outside
    ``span`` (the data changed since) sets no bit, so it counts as repeated: the answer may then be
    too high, never too low. Otherwise a distinct count.
    """
    if span is not None and col.type().is_integer() and backend_name(col) == "duckdb":
        lo, hi = span
        if hi - lo < BITMAP_MAX_BITS:
            x = col.cast("int64")
            inside = ibis.ifelse(x.between(lo, hi), x, ibis.null("int64"))
            return col.count() - _bit_count(_bitstring_agg(inside, lo, hi)).fill_null(0)
    return col.count() - col.nunique()


def value_span(con: BaseBackend, col: ir.Value) -> tuple[int, int] | None:
    """The smallest and largest value of an integer column (Parquet footers answer it unread), or None."""
    if not col.type().is_integer() or backend_name(col) != "duckdb":
        return None
    t = col.as_table()
    lo, hi = fetch(con, t.aggregate(lo=col.min(), hi=col.max())).iloc[0]
    return None if pd.isna(lo) else (int(lo), int(hi))


def elapsed_seconds(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds of elapsed time between two instants (across DST changes too), with fractions.

    Naive timestamps count as UTC. On DuckDB and Spark the stored microseconds are
    subtracted (DuckDB's DATE_DIFF on zoned timestamps goes through the ICU calendar per
    row, which costs more than the rest of the query); PostgreSQL subtracts epochs. Ibis'
    generic delta would give wall-clock seconds on PostgreSQL and Spark.
    """
    micros = _elapsed_micros(later, earlier)
    if micros is not None:
        return micros / 1e6
    return later.epoch_seconds() - earlier.epoch_seconds()


def _elapsed_micros(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue | None:
    """Elapsed microseconds as an integer, where the engine stores them (DuckDB, Spark); else None."""
    name = backend_name(later)
    if name == "duckdb":
        f = _epoch_us_naive if later.type().timezone is None else _epoch_us_tz
        return f(later) - f(earlier)
    if name == "pyspark":
        return _unix_micros(later.cast(TZ_UTC)) - _unix_micros(earlier.cast(TZ_UTC))
    return None


def within(later: ir.TimestampValue, earlier: ir.TimestampValue, seconds: float) -> ir.BooleanValue:
    """Whether less than ``seconds`` of elapsed time separate two instants (see :func:`elapsed_seconds`).

    On DuckDB and Spark the stored microseconds are compared as integers (no division per row).
    """
    micros = _elapsed_micros(later, earlier)
    if micros is not None:
        return micros < int(math.ceil(seconds * 1e6))  # x < s * 1e6  <=>  x < ceil(s * 1e6) for integer x
    return elapsed_seconds(later, earlier) < seconds


def parse_number(col: ir.Value) -> ir.FloatingValue:
    """A numeric column (or text holding numbers) as float64; unreadable text, NaN and infinities
    (``1e400`` overflows to one) as NULL. See :func:`bad_number` for the values this drops."""
    typ = col.type()
    if is_all_null(col):
        return ibis.null(dt.float64)
    value = (blank_to_null(col) if typ.is_string() else col).try_cast(dt.float64)
    if typ.is_integer() or typ.is_decimal() or typ.is_boolean():
        return value
    return ibis.cases((value.isnan() | value.isinf(), ibis.null(dt.float64)), else_=value)


def bad_number(col: ir.Value, parsed: ir.FloatingValue) -> ir.StringValue:
    """The stored value as text where :func:`parse_number` dropped it (given, but not a finite number), else NULL."""
    given = blank_to_null(col) if col.type().is_string() else col
    return ibis.cases((given.notnull() & parsed.isnull(), given.cast(dt.string)), else_=ibis.null(dt.string))


def decimal_comma(con: BaseBackend, col: ir.Value) -> bool:
    """Whether a text column writes its decimals with a comma, consistently: some ``12,5``, no ``12.5``
    (nor ``1,234.5``). One scan; numeric columns never do."""
    if not col.type().is_string() or is_all_null(col):
        return False
    text = col.strip()
    comma = text.re_search(r"^[-+]?[0-9]*,[0-9]+$")
    dot = text.re_search(r"^[-+]?[0-9]*\.[0-9]+$") | text.re_search(r"[0-9],[0-9]{3}\.")
    expr = col.as_table().aggregate(comma=col.count(where=comma), dot=col.count(where=dot))
    counts = fetch(con, expr)
    return bool(counts["comma"].iloc[0] > 0 and counts["dot"].iloc[0] == 0)


def is_unparseable(raw: ir.Value, parsed: ir.Value) -> ir.BooleanValue:
    return blank_to_null(raw).notnull() & parsed.isnull()


def as_key(col: ir.Value) -> ir.Value:
    """Identifiers are compared as strings so that 42 and '42' match across files."""
    return col if col.type().is_string() else col.cast(dt.string)


#: What :meth:`ibis.expr.types.StringValue.strip` removes (Ibis strips these on every backend).
_BLANKS = [" ", "\t", "\n", "\r"]


def key_type(*cols: ir.Value) -> dt.DataType:
    """The type in which identifier columns of several tables are compared: their stored type when
    they share it (integers of any width: the widest), else text (so that 42 and '42' match).

    Keeping integer ids as integers spares a cast per row and makes the per-customer window and
    the joins work on 8-byte keys instead of strings.

    Examples
    --------
    >>> t = ibis.table({"a": "int32", "b": "int64", "c": "string"})
    >>> str(key_type(t.a, t.b)), str(key_type(t.a, t.c)), str(key_type(t.c))
    ('int64', 'string', 'string')
    """
    types = [c.type() for c in cols]
    if types and all(t.is_integer() for t in types):
        return max(types, key=lambda t: t.nbytes).copy(nullable=True)
    return dt.string


def clean_key(col: ir.Value, *, padded: bool | None = None, key: dt.DataType | None = None) -> ir.Value:
    """An identifier column as a comparable key, blank text as NULL, surrounding spaces removed.

    ``key``: the type to compare in (see :func:`key_type`); an integer column already of that
    type is returned as stored, one of another type cast to it. ``None``: text, as
    ``blank_to_null(as_key(col))``. Numbers cast to text are never blank or padded, so
    they skip the trim. ``padded`` says whether some value needs trimming when the caller knows
    (see :func:`padded_columns`); ``None`` checks now, with one cheap scan on DuckDB. When no
    value needs cleaning (the usual case for Parquet and DataFrames), the raw column is returned,
    so that windows, sorts and joins keyed on it work on the stored strings rather than on a
    per-row TRIM (a third of the frequency query's time at 10M contacts). Other engines always trim.
    """
    if not col.type().is_string():
        target = dt.string if key is None else key
        return col if col.type().copy(nullable=True) == target.copy(nullable=True) else col.cast(target)
    if padded is None:
        padded = not key_is_clean(col)
    return blank_to_null(col) if padded else col


def padded_columns(table: ir.Table) -> frozenset[str]:
    """The text columns of ``table`` holding some blank or padded value (:func:`is_padded`).

    One scan for all columns on DuckDB; other engines report every text column (so they trim).
    """
    text = [c for c in table.columns if table[c].type().is_string()]
    if not text or backend_name(table) != "duckdb":
        return frozenset(text)
    try:
        counts = fetch(
            table._find_backend(use_default=True),
            table.aggregate(**{c: table.count(where=is_padded(table[c], dense=c == "customer_id")) for c in text}),
        )
    except Exception:  # noqa: BLE001 - when in doubt, clean (the result is the same, only slower)
        return frozenset(text)
    return frozenset(c for c in text if counts[c].iloc[0] > 0)


def key_is_clean(col: ir.Value) -> bool:
    """Whether no value of an identifier column is blank or padded (checked on DuckDB only)."""
    if not col.type().is_string():
        return True
    return backend_name(col) == "duckdb" and not _needs_cleaning(col)


def is_blank(col: ir.Value) -> ir.BooleanValue:
    """Whether an identifier is empty or only blanks (a missing id however the rest of the column looks).

    Only values that start or end with a blank are trimmed (LIKE first: no TRIM for clean values).
    """
    if not col.type().is_string():
        return ibis.literal(False)
    blank = ibis.cases((is_padded(col), col.strip() == ""), else_=False)
    if backend_name(col) == "duckdb":
        # A blank value sorts before "!" byte by byte (DuckDB's default collation): one comparison
        # settles nearly every row, and Parquet statistics skip the row groups whose ids all sort later.
        return (col < "!").fill_null(False) & blank
    return blank


def is_padded(col: ir.StringValue, *, dense: bool = False) -> ir.BooleanValue:
    """Whether a text identifier is empty or starts or ends with a blank (what :func:`clean_key` changes).

    ``dense``: see :func:`blank_to_null`; there two comparisons settle nearly every row before the LIKEs.
    """
    # LIKE with a fixed prefix/suffix is the cheapest test DuckDB has on a dictionary (no substring per row).
    exact = ((col == "") | col.like([p for b in _BLANKS for p in (b + "%", "%" + b)])).fill_null(False)
    if dense and backend_name(col) == "duckdb":
        return ibis.ifelse(_edge_below_bang(col), exact, False).fill_null(False)
    return exact


def _edge_below_bang(col: ir.StringValue) -> ir.BooleanValue:
    """Whether a text value is empty or its first or last character sorts before "!" (every blank does)."""
    return (col < "!") | (col.right(1) < "!")


def _needs_cleaning(col: ir.StringValue) -> bool:
    try:
        backend = col._find_backend(use_default=True)
        check = col.as_table().select(_dirty=is_padded(col, dense=True)).filter(ibis._._dirty).limit(1)
        if _SQL_LOG is not None:
            _SQL_LOG.append(str(ibis.to_sql(check, dialect="duckdb")))
        return len(backend.execute(check)) > 0
    except Exception:  # noqa: BLE001 - when in doubt, clean (the result is the same, only slower)
        return True


#: While :func:`capture_sql` is active, the SQL of every fetch is appended here.
_SQL_LOG: list[str] | None = None


@contextmanager
def capture_sql() -> Iterator[list[str]]:
    """Record the SQL text of every query the kit sends while the block runs (``--explain``).

    Examples
    --------
    >>> with capture_sql() as log:
    ...     pass
    >>> log
    []
    """
    global _SQL_LOG
    previous, _SQL_LOG = _SQL_LOG, []
    try:
        yield _SQL_LOG
    finally:
        _SQL_LOG = previous


def fetch(con: BaseBackend, expr: ir.Table, *, max_rows: int | None = None) -> pd.DataFrame:
    """Execute an aggregate expression and return it as pandas, refusing oversized results.

    ``max_rows`` defaults to :data:`MAX_FETCH_ROWS` (read at call time); ``0`` disables the guard.
    Every call is counted in :data:`FETCH_STATS`.
    """
    if max_rows is None:
        max_rows = MAX_FETCH_ROWS
    if _SQL_LOG is not None:
        _SQL_LOG.append(str(ibis.to_sql(expr, dialect=con.name)))
    query = expr.limit(max_rows + 1) if max_rows else expr
    from . import templates  # noqa: PLC0415 - it imports sources, which imports this module

    df = templates.fetch_df(con, query) if templates.ENABLED and con.name == "duckdb" else con.execute(query)
    n = len(df)
    FETCH_STATS["queries"] += 1
    FETCH_STATS["rows"] += n
    FETCH_STATS["largest"] = max(FETCH_STATS["largest"], n)
    if max_rows and n > max_rows:
        raise DataError(
            f"a query returned more than {max_rows:,} rows; the kit only fetches aggregates. "
            "Narrow the grouping (fewer --by columns or a coarser --freq)."
        )
    return df
