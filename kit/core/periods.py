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


def parse_window(window: Window | None) -> pd.Timedelta:
    """'48h', '2d', '90min', 0 or a Timedelta as elapsed time."""
    if isinstance(window, pd.Timedelta):
        td = window
    elif window in (0, "0", None):
        td = pd.Timedelta(0)
    else:
        try:
            td = pd.Timedelta(str(window).strip().lower().replace(" ", ""))
        except ValueError:
            raise ParameterError(f"cannot read time window {window!r}; use e.g. '48h', '24h' or '2d'") from None
    if td < pd.Timedelta(0):
        raise ParameterError(f"time window {window!r} is negative")
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
