"""Series input shared by the seasonal analyses (decompose, forecast, backtest).

Turns what a caller passes (a Series indexed by period start, a frame with a ``period``
column, or a metric result) into one float Series on a full period spine, and reads the
period grain. Private to :mod:`kit.analysis`; the public functions document the conventions.

This is the one place that leaves partial periods out: a frame or result with a ``complete``
column (every metric's) loses its partial first and last periods here, with one
:class:`~kit.errors.PartialPeriodWarning` that names them, so seasonality, anomalies,
forecasts and backtests all see complete periods only. A bare Series carries no such column
and is taken as it is. :func:`partial_periods` gives the same periods to the comparisons.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from ..core import periods
from ..core.results import Result, frame_of, params_of
from ..errors import AnalysisError, DataError, ParameterError, PartialPeriodWarning

#: Default seasonal periods per grain (daily data: weekly and yearly).
DEFAULT_PERIODS = {"day": (7, 365), "week": (52,), "month": (12,), "quarter": (4,), "year": ()}
ZERO = 1e-12
UNITS = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


def unit(grain: str) -> str:
    """The grain as a noun for sentences ('month')."""
    return UNITS[grain]


def f(x: Any) -> float | None:
    """A float, or None for a missing value (JSON)."""
    return None if x is None or pd.isna(x) else float(x)


def component_name(period: int, grain: str | None) -> str:
    if period == 7 and grain == "day":
        return "weekly"
    if (grain, period) in {("day", 365), ("week", 52), ("month", 12), ("quarter", 4)}:
        return "yearly"
    return f"period_{period}"


def partial_periods(frame: pd.DataFrame | Result) -> pd.DatetimeIndex:
    """The partial periods at either end of a result frame (``complete`` False), oldest first.

    The data's coverage is one unbroken span, so partial periods sit at the ends; one in the
    middle (a hand-made frame) is kept, since leaving it out would open a gap. A frame without
    a ``complete`` column has none. With groups, a period is partial when any of its rows is.

    Examples
    --------
    >>> df = pd.DataFrame({"period": pd.to_datetime(["2025-10-01", "2026-01-01", "2026-04-01"]),
    ...                    "complete": [False, True, False]})
    >>> [p.strftime("%Y-%m-%d") for p in partial_periods(df)]
    ['2025-10-01', '2026-04-01']
    """
    frame = frame_of(frame)
    if not isinstance(frame, pd.DataFrame) or "complete" not in frame.columns:
        return pd.DatetimeIndex([], name="period")
    by_period = frame.reset_index() if "period" not in frame.columns else frame
    if "period" not in by_period.columns:
        return pd.DatetimeIndex([], name="period")
    flags = by_period["complete"].fillna(False).astype(bool).to_numpy()
    done = pd.Series(flags, index=pd.to_datetime(by_period["period"])).groupby(level=0).all().sort_index()
    ok = done.to_numpy()
    if ok.all():
        return pd.DatetimeIndex([], name="period")
    if not ok.any():
        return pd.DatetimeIndex(done.index, name="period")
    first, last = ok.argmax(), len(ok) - 1 - ok[::-1].argmax()
    edges = done.index[:first].append(done.index[last + 1 :])
    return pd.DatetimeIndex(edges, name="period")


def complete_only(frame: pd.DataFrame | Result, *, freq: str | None = None) -> pd.DataFrame:
    """The rows of ``frame`` without its partial edge periods (see :func:`partial_periods`),
    warning once with the periods it left out; a frame with no complete period is an error."""
    source = frame_of(frame)
    partial = partial_periods(source)
    if not len(partial):
        return source
    periods_col = pd.to_datetime(source["period"]) if "period" in source.columns else pd.to_datetime(source.index)
    keep = ~pd.Series(periods_col, index=source.index).isin(partial).to_numpy()
    grain = freq or params_of(frame).get("freq")
    labels = [periods.label(p, grain) if grain else p.strftime("%Y-%m-%d") for p in partial]
    if not keep.any():
        raise DataError(
            f"every period is partial ({', '.join(labels[:4])}{', ...' if len(labels) > 4 else ''}): the data "
            "covers only part of each, so there is no complete period to analyse; use a finer grain (freq=)"
        )
    warnings.warn(
        f"left out {len(labels)} partial period(s) ({', '.join(labels)}): the data covers only part of "
        "them, so seasonality, anomalies, comparisons and forecasts use complete periods only",
        PartialPeriodWarning,
        stacklevel=3,
    )
    return source[keep]


def as_series(series: pd.Series | pd.DataFrame | Result, value: str | None = None) -> pd.Series:
    """A float Series on a sorted, naive DatetimeIndex; never the caller's object.

    A frame or result with a ``complete`` column loses its partial edge periods
    (:func:`complete_only`, which warns once).
    """
    if isinstance(series, (Result, pd.DataFrame)) and "complete" in frame_of(series).columns:
        series = complete_only(series)
    if isinstance(series, Result):
        series = frame_of(series)
    if isinstance(series, pd.DataFrame):
        frame = series
        if value is None:
            numeric = [c for c in ("frequency", "contacts") if c in frame.columns]
            if not numeric:
                raise ParameterError("pass a Series, or a frame with value='column' (e.g. 'frequency' or 'contacts')")
            value = numeric[0]
        if value not in frame.columns:
            raise ParameterError(f"column {value!r} is not in the frame; columns: {', '.join(map(str, frame.columns))}")
        if "period" in frame.columns:
            frame = frame.set_index("period")
        s = frame[value]
    elif isinstance(series, pd.Series):
        s = series
    else:
        raise ParameterError(f"expected a pandas Series indexed by period start, got {type(series).__name__}")
    s = s.copy()
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(s.index))
    except (ValueError, TypeError):
        raise ParameterError("the series index must hold period start dates (use .set_index('period'))") from None
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    s.index = idx.as_unit("ns").rename("period")
    if s.index.hasnans:
        raise DataError("the series has missing period dates in its index; drop them first")
    if s.index.has_duplicates:
        raise ParameterError(
            "the series has several rows per period; pick one group (see decompose_by) or aggregate first"
        )
    try:
        s = pd.to_numeric(s, errors="raise").astype(float)
    except (ValueError, TypeError):
        raise ParameterError(f"series {s.name!r} is not numeric") from None
    if np.isinf(s.to_numpy()).any():
        raise DataError(f"series {s.name!r} contains infinite values; check the exposure (active customers)")
    return s.sort_index()


def freq_hint(series: pd.Series | pd.DataFrame | Result, freq: str | None) -> str | None:
    """The grain the caller gave, else the one a metric result was computed with."""
    return freq or params_of(series).get("freq")


def grain_from_freq(freqstr: str | None) -> str | None:
    if not freqstr:
        return None
    head = freqstr.split("-")[0].upper()
    return {
        "D": "day",
        "W": "week",
        "MS": "month",
        "M": "month",
        "ME": "month",
        "QS": "quarter",
        "Q": "quarter",
        "QE": "quarter",
        "YS": "year",
        "AS": "year",
        "Y": "year",
        "YE": "year",
    }.get(head)


def infer_grain(index: pd.DatetimeIndex, hint: str | None = None) -> str:
    """The period grain: ``hint`` when given, else the index's pandas freq, else the smallest step."""
    hint = hint or grain_from_freq(getattr(index, "freqstr", None))
    if hint:
        return periods.check_grain(hint)
    if len(index) < 2:
        raise AnalysisError("cannot tell the period grain from a single period; pass period= or freq=")
    step = pd.Series(index[1:] - index[:-1]).min().days  # gaps only lengthen steps
    if step <= 1:
        return "day"
    if step <= 7:
        return "week"
    if step <= 31:
        return "month"
    if step <= 92:
        return "quarter"
    return "year"


def regularise(s: pd.Series, grain: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Full period spine; returns (values, filled mask, interpolated mask)."""
    starts = pd.DatetimeIndex([periods.truncate(t, grain) for t in s.index]) if grain != "day" else s.index
    if not starts.equals(s.index):
        if starts.has_duplicates:
            raise ParameterError(f"several dates fall in the same {grain}; pass one value per period start")
        s = pd.Series(s.to_numpy(), index=starts, name=s.name)
    spine = periods.spine(s.index[0], s.index[-1], grain).as_unit("ns")
    filled = pd.Series(~spine.isin(s.index), index=spine, name="filled")
    out = s.reindex(spine).astype(float)
    out[filled.to_numpy()] = 0.0
    interpolated = out.isna().rename("interpolated")
    if interpolated.all():
        raise DataError(f"series {s.name!r} has no values (all NaN: no active customers in any period)")
    if interpolated.any():
        out = out.interpolate(method="linear").ffill().bfill()
    out.name = s.name
    return out, filled, interpolated


def seasonal_periods(period: int | Sequence[int] | None, grain: str) -> tuple[int, ...]:
    """The seasonal period(s) asked for, or the grain's defaults."""
    if period is None:
        return DEFAULT_PERIODS[grain]
    vals = [period] if np.isscalar(period) else list(cast("Sequence[int]", period))
    out = []
    for p in vals:
        if not isinstance(p, (int, np.integer, float)) or p < 2 or int(round(p)) != p and not isinstance(p, float):
            raise ParameterError(f"seasonal period {p!r} must be a whole number of periods >= 2 (e.g. 12 for months)")
        out.append(int(round(p)))
    return tuple(sorted(set(out)))


def series_name(s: pd.Series) -> str:
    return str(s.name) if s.name is not None else "value"
