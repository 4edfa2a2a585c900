"""Periods in the business time zone: grains, truncation, spines and period arithmetic."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import ParameterError

if TYPE_CHECKING:
    from .types import DateLike, Window

#: grain -> (Ibis truncate unit, pandas offset alias for period starts, periods per year)
GRAINS = {
    "day": ("D", "D", 365.25),
    "week": ("W", "W-MON", 52.18),
    "month": ("M", "MS", 12),
    "quarter": ("Q", "QS", 4),
    "year": ("Y", "YS", 1),
}
#: Months covered by one period of each grain (for per-month comparisons).
MONTHS_PER_PERIOD = {"day": 12 / 365.25, "week": 7 * 12 / 365.25, "month": 1.0, "quarter": 3.0, "year": 12.0}
ALIASES = {
    "d": "day",
    "daily": "day",
    "w": "week",
    "weekly": "week",
    "m": "month",
    "monthly": "month",
    "q": "quarter",
    "quarterly": "quarter",
    "y": "year",
    "yearly": "year",
    "annual": "year",
}


def check_grain(freq: str) -> str:
    grain = ALIASES.get(str(freq).lower(), str(freq).lower())
    if grain not in GRAINS:
        raise ParameterError(f"unknown period grain {freq!r}; use one of {', '.join(GRAINS)}")
    return grain


def truncate(ts: DateLike, freq: str) -> pd.Timestamp:
    """The start (midnight, naive local) of the period containing ``ts``.

    Examples
    --------
    >>> truncate("2026-10-15", "quarter")
    Timestamp('2026-10-01 00:00:00')
    >>> truncate("2026-11-22", "week")  # a Sunday; ISO weeks start on Monday
    Timestamp('2026-11-16 00:00:00')
    """
    grain = check_grain(freq)
    t = parse_date(ts).normalize()
    if grain == "day":
        return t
    if grain == "week":
        return t - pd.Timedelta(days=t.weekday())
    if grain == "month":
        return t.replace(day=1)
    if grain == "quarter":
        return t.replace(month=3 * ((t.month - 1) // 3) + 1, day=1)
    return t.replace(month=1, day=1)


def parse_date(value: DateLike) -> pd.Timestamp:
    """A user-supplied date ('2026-10', '2026-10-31', a date or Timestamp) as a naive Timestamp."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ParameterError(f"cannot read {value!r} as a date; use YYYY-MM-DD or YYYY-MM") from None
    if ts is pd.NaT:
        raise ParameterError(f"cannot read {value!r} as a date; use YYYY-MM-DD or YYYY-MM")
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def spine(first: DateLike, last: DateLike, freq: str) -> pd.DatetimeIndex:
    """All period starts from the period containing ``first`` to the one containing ``last``."""
    grain = check_grain(freq)
    return pd.date_range(truncate(first, grain), truncate(last, grain), freq=GRAINS[grain][1], name="period")


def shift(period: DateLike, freq: str, n: int) -> pd.Timestamp:
    """The period ``n`` periods after (negative: before) ``period``."""
    grain = check_grain(freq)
    start = truncate(period, grain)
    return start + n * pd.tseries.frequencies.to_offset(GRAINS[grain][1])


def period_end(period: DateLike, freq: str) -> pd.Timestamp:
    """Last calendar day of the period starting at ``period``."""
    return shift(period, freq, 1) - pd.Timedelta(days=1)


def label(period: DateLike, freq: str) -> str:
    """A short human label: 2026-10, 2026-Q4, 2026-W43, 2026, 2026-10-15."""
    grain = check_grain(freq)
    p = truncate(period, grain)
    if grain == "month":
        return p.strftime("%Y-%m")
    if grain == "quarter":
        return f"{p.year}-Q{(p.month - 1) // 3 + 1}"
    if grain == "year":
        return str(p.year)
    if grain == "week":
        iso = p.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return p.strftime("%Y-%m-%d")


#: A window's number and unit: ``48h``, ``2d``, ``30min``, ``1.5 hours``, ``90D``, ``2w``.
_WINDOW = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)")
#: Unit words -> the unit pandas reads without a deprecation (upper-case D is deprecated-free).
_WINDOW_UNITS = {
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "W"),
    **dict.fromkeys(("d", "day", "days"), "D"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "min"),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
}


def _pandas_window(text: str) -> pd.Timedelta | None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            td = pd.Timedelta(text)
        except (ValueError, TypeError, OverflowError):
            return None
    return None if td is pd.NaT else td


def parse_window(window: Window | None) -> pd.Timedelta:
    """'48h', '2d', '90min', '90D', '1 day 2h', 0 or a Timedelta as elapsed time.

    A bare number is refused (``48`` could be hours, days or pandas' nanoseconds); so are
    negative, NaN and empty windows. ``0`` (or ``"0"``) means no window.

    Examples
    --------
    >>> parse_window("90D"), parse_window("1 day 2h"), parse_window(0)
    (Timedelta('90 days 00:00:00'), Timedelta('1 days 02:00:00'), Timedelta('0 days 00:00:00'))
    >>> parse_window(48)
    Traceback (most recent call last):
    ...
    kit.errors.ParameterError: time window 48 has no unit; write it with one, e.g. '48h', '2d' or '30min'
    """
    if isinstance(window, pd.Timedelta) or (hasattr(window, "total_seconds") and not isinstance(window, str)):
        td = pd.Timedelta(window)
        if td is pd.NaT:
            raise ParameterError("time window is NaT; use e.g. '48h', '2d' or '30min' (0 for none)")
    elif window is None or (isinstance(window, (int, float)) and not isinstance(window, bool) and window == 0):
        td = pd.Timedelta(0)
    else:
        text = str(window).strip().lower()
        if text in ("0", "0.0"):
            return pd.Timedelta(0)
        hint = "use e.g. '48h', '2d' or '30min' (0 for none)"
        if not text:
            raise ParameterError(f"time window is empty; {hint}")
        if text.startswith("-"):
            raise ParameterError(f"time window {window!r} is negative; {hint}")
        if re.fullmatch(r"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(e[+-]?[0-9]+)?", text):
            raise ParameterError(
                f"time window {window!r} has no unit; write it with one, e.g. '{text}h', '2d' or '30min'"
            )
        parts = _WINDOW.findall(text)
        rebuilt = "".join(n + u for n, u in parts)
        if parts and rebuilt == re.sub(r"\s+", "", text) and all(u in _WINDOW_UNITS for _, u in parts):
            td = sum((pd.Timedelta(float(n), unit=_WINDOW_UNITS[u]) for n, u in parts), pd.Timedelta(0))
        else:  # pandas' own spellings ('1 days 02:00:00', 'P2D'), read without its lower-case-unit deprecation
            td = _pandas_window(str(window).strip())
            if td is None:
                raise ParameterError(f"cannot read time window {window!r}; {hint}")
    if td < pd.Timedelta(0):
        raise ParameterError(f"time window {window!r} is negative; use e.g. '48h', '2d' or '30min' (0 for none)")
    return td


def parse_period(period: DateLike, grain: str) -> pd.Timestamp:
    """The start of a period given as '2026-10', '2026-10-15', '2026-Q4' or '2026-W43'.

    Examples
    --------
    >>> parse_period("2026-Q4", "quarter"), parse_period("2026-W43", "week")
    (Timestamp('2026-10-01 00:00:00'), Timestamp('2026-10-19 00:00:00'))
    """
    text = str(period).strip()
    m = re.fullmatch(r"(\d{4})-?Q([1-4])", text, re.IGNORECASE)
    if m:
        return truncate(pd.Timestamp(int(m[1]), 3 * int(m[2]) - 2, 1), grain)
    m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text, re.IGNORECASE)
    if m:
        try:
            day = pd.Timestamp.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise ParameterError(f"{text!r} is not an ISO week; use e.g. 2026-W43") from None
        return truncate(day, grain)
    return truncate(text, grain)


def complete(starts: pd.Series | pd.DatetimeIndex, freq: str, first: DateLike, last: DateLike) -> pd.Series:
    """Whether each period (by its start) lies wholly inside the days ``first`` to ``last``
    (inclusive): the data's coverage. A period that begins before ``first`` or ends after
    ``last`` is partial, and so is every period when the coverage is unknown (None).

    Examples
    --------
    >>> starts = pd.to_datetime(["2025-10-01", "2026-01-01"])
    >>> complete(starts, "quarter", "2025-11-03", "2026-03-31").tolist()
    [False, True]
    """
    grain = check_grain(freq)
    starts = pd.Series(pd.to_datetime(starts))
    if first is None or last is None or len(starts) == 0:
        return pd.Series(False, index=starts.index, dtype=bool)
    lo, hi = parse_date(first).normalize(), parse_date(last).normalize()
    # One period_end per distinct period: a day-grain frame has many groups per period.
    ends = starts.map({p: period_end(p, grain) for p in starts.dropna().unique()})
    return ((starts >= lo) & (ends <= hi)).fillna(False).astype(bool)
