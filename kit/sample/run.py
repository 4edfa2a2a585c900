"""One generation run: validated settings, the random stream, the calendar, small helpers.

Times inside the generator are integer seconds (or day indices) since ``Run.start``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd

from kit.errors import ParameterError

from .constants import DAY, NAME_A, NAME_B, NAME_C, PEAK_MONTH, WEEKDAY_W, WINDOW, YEARLY_AMPLITUDE

if TYPE_CHECKING:
    from kit.core.types import DateLike

#: A float or an array of floats: the helpers below work element-wise on either.
Floats = TypeVar("Floats", float, np.ndarray)


class Run:
    """Settings, random generator and calendar of one call of :func:`kit.sample.generate`.

    Examples
    --------
    >>> r = Run(500, 12, 1, pd.Timestamp("2026-10-31"), True, True, True)
    >>> str(r.start.date()), r.n_days, r.cutoff
    ('2025-11-01', 365, 275)
    >>> round(float(r.dayfac[r.ms[0]:r.me[0]].sum()), 6)  # December-peak multiplier of November
    1.259808
    """

    def __init__(self, n, months, seed, end, seasonality, effects, data_quality):
        self.n, self.months, self.seed, self.end = n, months, seed, end
        self.seasonality, self.effects, self.data_quality = seasonality, effects, data_quality
        self.rng = np.random.default_rng(seed)
        self.start = (end.to_period("M") - (months - 1)).to_timestamp()
        self.obs_end = end + pd.Timedelta(days=1)
        self.n_days = int((self.obs_end - self.start).days)
        self.cutoff = self.n_days - WINDOW  # day index
        self.fstart = self.cutoff - WINDOW
        self._calendar()

    def _calendar(self) -> None:
        """Expected share of the monthly rate per day, month starts/ends and multipliers."""
        last_full = (self.end.to_period("M") + 1).to_timestamp()
        full = pd.date_range(self.start, last_full - pd.Timedelta(days=1), freq="D")
        month_key = np.array(full.year * 12 + full.month - 1, dtype=np.int64)
        month_key -= month_key[0]
        cal_month = full.month.to_numpy()
        dow = full.dayofweek.to_numpy()
        w = WEEKDAY_W[dow] if self.seasonality else np.ones(len(full))
        wsum = np.bincount(month_key, weights=w)
        amp = YEARLY_AMPLITUDE if self.seasonality else 0.0
        m_of_month = 1.0 + amp * np.cos(2 * np.pi * (np.arange(1, 13) - PEAK_MONTH) / 12)
        day_m = m_of_month[cal_month - 1]
        self.dayfac = (day_m * w / wsum[month_key])[: self.n_days]  # expected share of monthly rate
        self.day_month = month_key[: self.n_days]
        self.day_m = day_m[: self.n_days]
        self.dow = dow[: self.n_days]
        # month starts (day index), lengths (full calendar), multiplier
        self.ms = np.flatnonzero(np.r_[True, np.diff(self.day_month) != 0])
        self.me = np.r_[self.ms[1:], self.n_days]
        self.month_len = np.bincount(month_key)[: len(self.ms)]
        self.month_m = m_of_month[cal_month[self.ms] - 1]
        self.m_of_month = m_of_month
        self.amp = amp

    def day(self, i: int) -> str:
        """Day index -> ``YYYY-MM-DD``."""
        return (self.start + pd.Timedelta(days=int(i))).strftime("%Y-%m-%d")


def validate(customers: int, months: int, seed: int, end: DateLike, flags: Mapping[str, bool]) -> pd.Timestamp:
    """Check the arguments of :func:`kit.sample.generate`; return ``end`` as a naive midnight.

    Examples
    --------
    >>> validate(500, 12, 1, "2026-10-31 13:00", {"effects": True})
    Timestamp('2026-10-31 00:00:00')
    >>> validate(5, 12, 1, "2026-10-31", {})
    Traceback (most recent call last):
    ...
    kit.errors.ParameterError: generate: customers must be between 300 and 998000, got 5.
    """
    if isinstance(customers, bool) or not isinstance(customers, (int, np.integer)):
        raise ParameterError(f"generate: customers must be an int, got {customers!r}.")
    if not 300 <= customers <= 998_000:
        raise ParameterError(f"generate: customers must be between 300 and 998000, got {customers}.")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)):
        raise ParameterError(f"generate: months must be an int, got {months!r}.")
    if not 9 <= months <= 240:
        raise ParameterError(
            f"generate: months must be between 9 and 240 (the churn design needs 180 days), got {months}."
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"generate: seed must be a non-negative int, got {seed!r}.")
    for name, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(f"generate: {name} must be True or False, got {v!r}.")
    try:
        ts = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"generate: end must be a date like '2026-10-31', got {end!r}.") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"generate: end must be a date like '2026-10-31', got {end!r}.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


# --------------------------------------------------------------------------- helpers
def expit(z: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-z))


def logit(p: Floats) -> Floats:
    return np.log(p / (1.0 - p))


def ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded string ids, e.g. ``ids("C", [1], 6) -> ["C000001"]``."""
    s = pd.Series(np.asarray(numbers, dtype=np.int64)).astype(str).str.zfill(width)
    return (prefix + s).to_numpy(dtype=object)


def ts(base: pd.Timestamp, seconds: np.ndarray) -> np.ndarray:
    """Seconds since ``base`` -> datetime64[ns] array."""
    return np.datetime64(base, "ns") + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]").astype(
        "timedelta64[ns]"
    )


def day_ts(base: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Day indices since ``base`` -> datetime64[ns] array (midnights)."""
    return (np.datetime64(base, "ns") + np.asarray(days, dtype=np.int64) * np.timedelta64(DAY * 10**9, "ns")).astype(
        "datetime64[ns]"
    )


def iso_seconds(values: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(values.astype("datetime64[s]"), unit="s")
    return pd.Series(s).str.replace("T", " ", regex=False).to_numpy(dtype=object)


def lognormal(rng: np.random.Generator, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.round(median * np.exp(sigma * rng.standard_normal(len(median))), 1)


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` company names like ``"Blue River Labs"``."""
    a = rng.choice(NAME_A, n)
    b = rng.choice(NAME_B, n)
    c = rng.choice(NAME_C, n)
    return (pd.Series(a) + " " + pd.Series(b) + " " + pd.Series(c)).to_numpy(dtype=object)
