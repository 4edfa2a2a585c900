"""Seasonal decomposition of a per-period series: trend, seasonal components, remainder.

The input is a small per-period series from :func:`kit.contact_frequency`
(``result.frame.set_index("period")["frequency"]`` or ``["contacts"]``), indexed by period
start. :func:`decompose` and :func:`decompose_by` fit STL (one period; weekly then yearly for
daily data) and measure the strength of trend and seasonality (Wang, Smith and Hyndman:
``1 - Var(R) / Var(X + R)``). The :class:`Decomposition` says what it found
(``.describe()``) and draws it (``.plot()``, ``.plot_components()``, ``.plot_yoy()``).

Conventions (documented behaviour, never a traceback)
-----------------------------------------------------
* Missing periods in the index are zero-contact periods (the engine reports a row for
  every period, so a gap means nothing was counted) and are filled with 0; they are
  listed in ``result.filled``.
* NaN values (groups with no active customers) are interpolated linearly and listed in
  ``result.interpolated``; they are never flagged as anomalies.
* Fewer than two full seasons: no seasonal component is fitted (the columns are zero),
  a warning says how many more periods are needed, and the strength is NaN.
* A constant or all-zero series has zero seasonal strength, no anomalies and a flat
  forecast with zero-width intervals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from ..core import periods
from ..core.results import GrainedResult, Result, frame_of, params_of
from ..core.types import Grouping
from ..errors import DataError, ParameterError, SeasonalityWarning, renamed_parameters
from ..present import narrative
from ._series import (
    ZERO,
    as_series,
    component_name,
    f,
    freq_hint,
    infer_grain,
    regularise,
    seasonal_periods,
    series_name,
    unit,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Decomposition", "decompose", "decompose_by", "robust_z"]

#: A trend panel's y axis spans at least this share of the trend's level (a flat trend drawn at full
#: height looks like a hill).
MIN_TREND_SPAN = 0.2


def _small_change_axis(ax, trend: pd.Series) -> None:
    """Give a trend panel at least MIN_TREND_SPAN of its level, and say so when the change is small."""
    values = trend.to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return
    level = float(np.mean(np.abs(values)))
    lo, hi = float(values.min()), float(values.max())
    if level <= ZERO or hi - lo >= MIN_TREND_SPAN * level:
        return
    mid = (lo + hi) / 2
    ax.set_ylim(mid - MIN_TREND_SPAN * level / 2, mid + MIN_TREND_SPAN * level / 2)
    ax.annotate(
        f"small change: the trend stays within ±{narrative.pct((hi - lo) / 2 / level, 1)} of its level",
        xy=(0.01, 0.04),
        xycoords="axes fraction",
        fontsize=7,
        color="0.35",
        gid="small-change",
    )


#: Robust z: 0.6745 makes the MAD consistent with the standard deviation for normal data.
_MAD_K = 0.6745
#: Fallback when more than half of the residuals are equal (MAD = 0): mean absolute deviation.
_MEANAD_K = 1.253314
#: With fewer cycles than this a changing seasonal pattern cannot be told from noise.
PERIODIC_BELOW_CYCLES = 7
#: A seasonal pattern is described only when a one-way F test of the detrended series by position
#: in the cycle rejects "no pattern" at this level (36 months of noise: about 1% of series).
SEASONAL_ALPHA = 0.01
#: Below this share of strength the pattern is called weak even when it is significant.
MIN_STRENGTH = 0.3
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True, repr=False)
class Decomposition(GrainedResult):
    """Trend, seasonal components and remainder of one series.

    Attributes
    ----------
    observed, trend, resid, adjusted : pandas.Series
        ``observed = trend + seasonal.sum(axis=1) + resid``; ``adjusted = observed -
        seasonal.sum(axis=1)`` (seasonally adjusted).
    seasonal : pandas.DataFrame
        One column per seasonal period (``"yearly"``, ``"weekly"``); zero when the
        series is too short for that period.
    grain : str
        Period grain of the index (``.freq`` is the same value).
    periods : dict
        Column name -> period length in periods, for the fitted components.
    trend_strength : float
    seasonal_strength : dict
        Column name -> strength in [0, 1] (NaN when not fitted).
    filled, interpolated : pandas.Series of bool
        Periods absent from the input (filled with 0) and NaN inputs (interpolated).
    notes : tuple of str
        Caveats, including the too-few-seasons warning.
    name : str
        What the series measures (``"frequency"``).
    robust : bool
        Whether STL was fitted robustly.
    """

    observed: pd.Series
    trend: pd.Series
    seasonal: pd.DataFrame
    resid: pd.Series
    adjusted: pd.Series
    grain: str
    periods: dict
    trend_strength: float
    seasonal_strength: dict
    filled: pd.Series
    interpolated: pd.Series
    notes: tuple = ()
    name: str = "value"
    robust: bool = True

    @property
    def strength(self) -> float:
        """Strength of the yearly component (else the first one); NaN when none was fitted."""
        if "yearly" in self.seasonal_strength:
            return self.seasonal_strength["yearly"]
        return next(iter(self.seasonal_strength.values()), math.nan)

    @property
    def main_component(self) -> str | None:
        names = list(self.seasonal.columns)
        return "yearly" if "yearly" in names else (names[0] if names else None)

    def profile(self, component: str | None = None) -> pd.Series:
        """Mean seasonal effect by position in the cycle (month number, weekday, ...)."""
        component = component or self.main_component
        if component is None:
            return pd.Series(dtype=float)
        s = self.seasonal[component]
        idx = s.index
        if component == "weekly":
            key = pd.Index(idx.dayofweek, name="weekday")
        elif component == "yearly" and self.grain in ("month", "quarter"):
            key = pd.Index(idx.month, name="month")
        elif component == "yearly" and self.grain == "week":
            key = pd.Index(idx.isocalendar().week.to_numpy().clip(max=52), name="week")
        elif component == "yearly" and self.grain == "day":
            key = pd.Index(np.minimum(idx.dayofyear, 365), name="day_of_year")
        else:
            key = pd.Index(np.arange(len(s)) % self.periods.get(component, 1), name="position")
        return s.groupby(key).mean()

    def amplitude(self, component: str | None = None) -> float:
        """Relative amplitude: (max - min) / 2 of the seasonal profile over the mean level.

        For a multiplicative pattern ``level * (1 + A cos(...))`` this recovers ``A``.
        NaN when the component was not fitted or the mean level is zero.
        """
        prof = self.profile(component)
        level = float(self.observed.mean())
        if prof.empty or abs(level) <= ZERO or not self.periods:
            return math.nan
        return float((prof.max() - prof.min()) / 2 / abs(level))

    def describe(self, *, change: bool = True) -> str:
        """One sentence: the seasonal peak against the average, and the seasonally adjusted change.

        ``change=False`` leaves the change out (a daily series' year-over-year change compares
        one day with one day, which is no figure for a page that has a monthly headline).

        Examples
        --------
        >>> idx = pd.date_range("2024-01-01", periods=36, freq="MS")
        >>> y = pd.Series((1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12)) * 0.98 ** np.arange(36),
        ...               index=idx, name="frequency")
        >>> decompose(y).describe()  # doctest: +ELLIPSIS
        'December runs 2...% above the yearly average; after removing that, frequency fell 2...% year over year...'
        """
        peak = self._peak_clause()
        lead = "after removing that, " if peak and "runs" in peak else "seasonally adjusted, "
        moved = self._change_clause(lead=lead) if change else None
        parts = [p for p in (peak, moved) if p]
        if not parts:
            return f"{self.name}: no pattern to describe."
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def seasonal_p_value(self, component: str | None = None) -> float:
        """p-value of a one-way F test that the detrended series has no pattern by cycle position.

        The detrended series (observed minus trend, on the log scale when the series is
        positive) is grouped by position in the cycle (month, weekday, ...). NaN when the
        component was not fitted.
        """
        component = component or self.main_component
        if component is None or component not in self.periods:
            return math.nan
        y = self.observed.to_numpy(dtype=float)
        trend = self.trend.to_numpy()
        others = [c for c in self.periods if c != component]
        detrended = y - trend - (self.seasonal[others].sum(axis=1).to_numpy() if others else 0.0)
        if trend.min() > 0:
            detrended = detrended / trend  # relative: the swing grows with the level
        key = np.arange(len(y)) % self.periods[component]
        groups = [detrended[key == k] for k in np.unique(key)]
        if min(len(g) for g in groups) < 2 or np.ptp(detrended) <= ZERO:
            return math.nan if np.ptp(detrended) > ZERO else 1.0
        return float(stats.f_oneway(*groups).pvalue)

    def _peak_clause(self) -> str | None:
        level = float(self.observed.mean())
        # Daily data: the weekday pattern is what a reader can act on; the yearly one shows in the monthly view.
        comp = "weekly" if self.grain == "day" and "weekly" in self.periods else self.main_component
        prof = self.profile(comp)
        strength = self.seasonal_strength.get(comp, math.nan) if comp else math.nan
        if comp and not prof.empty and abs(level) > ZERO and not math.isnan(strength):
            word = {"yearly": "yearly", "weekly": "weekly"}.get(comp, "cycle")
            p = self.seasonal_p_value(comp)
            if not p < SEASONAL_ALPHA:
                # Three cycles of noise look seasonal one time in four by strength alone.
                return f"no {word} pattern stands out from the noise (strength {narrative.num(strength)})"
            if strength < MIN_STRENGTH:
                return f"there is little {word} seasonality (strength {narrative.num(strength)})"
            if comp == "weekly":
                return self._weekday_clause()
            peak = prof.idxmax()
            return f"{self._position_name(peak)} runs {narrative.pct(prof.max() / level)} above the {word} average"
        if self.notes and any("cycles" in n for n in self.notes):
            return "the series is too short to estimate seasonality"
        return None

    def _relative_detrended(self, component: str) -> np.ndarray:
        """Observed minus trend and the other components, over the trend when it is positive (the F test's base)."""
        y = self.observed.to_numpy(dtype=float)
        trend = self.trend.to_numpy()
        others = [c for c in self.periods if c != component]
        detrended = y - trend - (self.seasonal[others].sum(axis=1).to_numpy() if others else 0.0)
        return detrended / trend if trend.min() > 0 else detrended

    def peak_days(self) -> tuple[list[int], float]:
        """The weekdays (0 = Monday) that the busiest day cannot be told from, and their lift over the week.

        The busiest weekday is compared with each other weekday by a Welch t-test on the
        detrended series (the base of :meth:`seasonal_p_value`), Holm-adjusted at
        :data:`SEASONAL_ALPHA`; the days it cannot be told from join it. The lift is those
        days' mean over the weekly average, on the same base (relative to the trend when the
        trend is positive, else to the mean level). ``([], nan)`` without a weekly component.
        """
        if "weekly" not in self.periods:
            return [], math.nan
        rel = self._relative_detrended("weekly")
        day = self.observed.index.dayofweek.to_numpy()
        means = pd.Series(rel).groupby(day).mean()
        peak = int(means.idxmax())
        others = [d for d in means.index if d != peak]
        pvals = []
        for d in others:
            a, b = rel[day == peak], rel[day == d]
            p = stats.ttest_ind(a, b, equal_var=False).pvalue if min(len(a), len(b)) > 1 else math.nan
            pvals.append(1.0 if math.isnan(p) else float(p))
        # Holm step-down: a day is apart from the peak only when its adjusted p-value is below alpha
        order = np.argsort(pvals)
        apart, running = set(), 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, pvals[i] * (len(pvals) - rank)))
            if running < SEASONAL_ALPHA:
                apart.add(others[i])
        tied = sorted([peak, *(d for d in others if d not in apart)])
        base = 1.0 if self.trend.to_numpy().min() > 0 else float(self.observed.mean())
        lift = float(means[tied].mean() - means.mean()) / base if abs(base) > ZERO else math.nan
        return tied, lift

    def _weekday_clause(self) -> str:
        days, lift = self.peak_days()
        if not days or not np.isfinite(lift):
            return "no weekly pattern stands out from the noise"
        if len(days) == 1:
            return f"{_WEEKDAYS[days[0]]} runs {narrative.pct(lift)} above the weekly average"
        if len(days) == 7:
            return "no single weekday stands out from the others"
        contiguous = days == list(range(days[0], days[-1] + 1))
        names = (
            f"{_WEEKDAYS[days[0]]} to {_WEEKDAYS[days[-1]]}"
            if contiguous and len(days) > 2
            else narrative.join(_WEEKDAYS[d] for d in days)
        )
        return f"{names} each run about {narrative.pct(lift)} above the weekly average (no single day stands out)"

    def _year_back(self) -> int | None:
        back = {"day": 365, "week": 52, "month": 12, "quarter": 4}.get(self.grain)
        adj = self.adjusted
        if self.grain == "day" and len(adj) > 1:
            # Same calendar date last year (365 or 366 days back).
            before = adj.index[-1] - pd.DateOffset(years=1)
            back = len(adj) - 1 - int(adj.index.searchsorted(before)) if before >= adj.index[0] else None
        return back if back and len(adj) > back else None

    def yoy(self, *, level: float = 0.95) -> dict | None:
        """Seasonally adjusted year-over-year change of the last period, with its interval.

        Rates and counts move multiplicatively, so the change is measured on the log scale:
        STL (the same periods and robustness) on ``log(observed)``, and the change is
        ``exp(a_t - a_{t-year}) - 1`` for the log-adjusted series ``a``. On a noiseless
        multiplicative series with trend this is exact; an additive fit was off by up to 3
        points, by the month the series ended in. The interval takes the two periods'
        remainders as independent with the spread (1.4826 MAD) of the non-robust log
        remainder; the seasonal estimate is the same for both and cancels. ``None`` when
        there is no period a year back, no seasonal fit, or a zero value (no log scale).

        Returns
        -------
        dict or None
            ``change, low, high, period, base_period``.
        """
        back = self._year_back()
        y = self.observed.to_numpy(dtype=float)
        fitted = sorted(self.periods.values())
        if back is None or not fitted or y.min() <= 0:
            return None
        z = np.log(y)
        if np.ptp(z) <= ZERO:
            a, spread = z, 0.0
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trend, seas = _stl(z, fitted, self.robust)
                r0 = remainder(z, fitted, robust=False)
            a = z - seas.sum(axis=1)
            spread = 1.4826 * float(np.median(np.abs(r0 - np.median(r0))))
        d = float(a[-1] - a[-1 - back])
        q = float(stats.norm.isf((1 - level) / 2)) * spread * math.sqrt(2)
        idx = self.observed.index
        return {
            "change": math.expm1(d),
            "low": math.expm1(d - q),
            "high": math.expm1(d + q),
            "period": idx[-1],
            "base_period": idx[-1 - back],
        }

    def _change_clause(self, lead: str) -> str | None:
        adj = self.adjusted
        back = self._year_back()
        obs = self.observed.to_numpy(dtype=float)
        if back and float(np.mean(obs <= ZERO)) > 0.3:
            return f"{lead}{self.name} is too sparse (mostly zero periods) to state a year-over-year change"
        found = self.yoy()
        if found is not None:
            change, lo, hi = found["change"], found["low"], found["high"]
            when = f"{periods.label(found['period'], self.grain)} vs {periods.label(found['base_period'], self.grain)}"
            span = (
                ""
                if hi - lo < 1e-9
                else f", 95% interval {narrative.pct(lo, signed=True)} to {narrative.pct(hi, signed=True)}"
            )
            if lo <= 0 <= hi and hi - lo >= 1e-9:
                return (
                    f"{lead}{self.name} shows no clear change year over year "
                    f"({narrative.pct(change, signed=True)}{span}; {when})"
                )
            return (
                f"{lead}{self.name} {narrative.change_word(change)}"
                f"{'' if abs(change) < 0.005 else ' ' + narrative.pct(abs(change))} year over year "
                f"({when}{span})"
            )
        if back and abs(adj.iloc[-1 - back]) > ZERO and adj.iloc[-1 - back] > 0 and obs.min() > 0:
            change = adj.iloc[-1] / adj.iloc[-1 - back] - 1
            return (
                f"{lead}{self.name} {narrative.change_word(change)}"
                f"{'' if abs(change) < 0.005 else ' ' + narrative.pct(abs(change))} year over year "
                f"({periods.label(adj.index[-1], self.grain)} vs "
                f"{periods.label(adj.index[-1 - back], self.grain)})"
            )
        if len(adj) > 1 and abs(self.trend.iloc[0]) > ZERO:
            change = self.trend.iloc[-1] / self.trend.iloc[0] - 1
            return (
                f"the trend {narrative.change_word(change)} {narrative.pct(abs(change))} over the "
                f"{len(adj)} {unit(self.grain)}s shown"
            )
        return None

    def _position_name(self, key) -> str:
        comp = self.main_component
        if comp == "yearly" and self.grain in ("month", "quarter"):
            return _MONTHS[int(key) - 1]
        if comp == "yearly" and self.grain == "week":
            return f"week {int(key)}"
        if comp == "yearly" and self.grain == "day":
            return (pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(key) - 1)).strftime("%d %B")
        return f"position {key}"

    def plot(self, *, ax: Axes | None = None, title: str | None = None) -> Axes:
        """Observed series with the seasonally adjusted series and the trend on top; returns the Axes."""
        from ..present.plots import legend_outside, new_axes

        _, ax = new_axes(ax)
        ax.plot(self.observed.index, self.observed.to_numpy(), color="0.7", linewidth=1, label="observed")
        ax.plot(self.adjusted.index, self.adjusted.to_numpy(), linewidth=1.5, label="seasonally adjusted")
        ax.plot(self.trend.index, self.trend.to_numpy(), linewidth=2, linestyle="--", label="trend")
        ax.set_title(title or f"{self.name}: seasonally adjusted")
        ax.set_ylabel(self.name)
        legend_outside(ax)
        return ax

    def plot_components(self, *, title: str | None = None) -> np.ndarray:
        """Observed, trend, each seasonal component and remainder in stacked panels; returns the Axes array.

        A weekly pattern on daily data is drawn as its weekday profile (over years of days it
        would be a solid band). A trend that moves less than :data:`MIN_TREND_SPAN` of its level
        is drawn on an axis of that span, with a note that the change is small, so that a 1%
        wobble does not look like a hill.
        """
        import matplotlib.pyplot as plt

        from ..present.plots import date_axis, theme

        theme()
        cols = [c for c in self.seasonal.columns if c in self.periods]
        panels = [("observed", self.observed), ("trend", self.trend)]
        panels += [(f"seasonal ({c})", self.seasonal[c]) for c in cols] + [("remainder", self.resid)]
        _, axes = plt.subplots(len(panels), 1, figsize=(9, 1.7 * len(panels) + 0.6), layout="constrained")
        axes = np.atleast_1d(axes)
        dated = []
        for ax, (label, data) in zip(axes, panels):
            if label == "seasonal (weekly)" and self.grain == "day":
                prof = self.profile("weekly").reindex(range(7))
                ax.bar([d[:3] for d in _WEEKDAYS], prof.to_numpy(), color="C0")
                ax.axhline(0, color="0.6", linewidth=0.8)
                ax.set_ylabel("weekly\n(by weekday)", fontsize=9)
                continue
            dated.append(ax)
            if label == "remainder":
                ax.vlines(data.index, 0, data.to_numpy(), color="0.4", linewidth=1)
                ax.axhline(0, color="0.6", linewidth=0.8)
            else:
                ax.plot(data.index, data.to_numpy(), linewidth=1.3)
            if label == "trend":
                _small_change_axis(ax, data)
            if label == "observed" and self.interpolated.any():
                pts = data[self.interpolated]
                ax.plot(pts.index, pts.to_numpy(), "o", color="#d55e00", markersize=4, label="interpolated")
                ax.legend(loc="upper left", fontsize=8)
            ax.set_ylabel(label, fontsize=9)
        for ax in dated[1:]:
            ax.sharex(dated[0])
        for ax in dated[:-1]:
            ax.tick_params(labelbottom=False)
        date_axis(dated[-1])
        axes[0].set_title(title or f"Decomposition of {self.name}")
        return axes

    def plot_yoy(self, *, ax: Axes | None = None, title: str | None = None) -> Axes:
        """Year-over-year overlay of the observed series: one line per calendar year; returns the Axes."""
        from ..present.plots import legend_outside, new_axes

        s, grain = self.observed, self.grain
        _, ax = new_axes(ax)
        if grain in ("month", "quarter"):
            pos, ticks = s.index.month, (list(range(1, 13)), [m[:3] for m in _MONTHS])
        elif grain == "week":
            pos, ticks = s.index.isocalendar().week.to_numpy(), None
        else:
            pos, ticks = s.index.dayofyear, None
        years = sorted(set(s.index.year))
        for i, year in enumerate(years):
            mask = s.index.year == year
            last = i == len(years) - 1
            ax.plot(
                np.asarray(pos)[mask],
                s.to_numpy()[mask],
                marker="o" if grain != "day" else None,
                markersize=3,
                linewidth=2.2 if last else 1.2,
                alpha=1.0 if last else 0.7,
                label=str(year),
            )
        if ticks:
            ax.set_xticks(ticks[0], ticks[1])
        ax.set_ylabel(self.name)
        ax.set_title(title or f"{self.name}: year over year")
        legend_outside(ax, title="year")
        return ax

    def to_dict(self) -> dict:
        """Strengths, amplitude and notes as JSON-safe values (the series stay on the object)."""
        return {
            "name": self.name,
            "grain": self.grain,
            "periods": dict(self.periods),
            "strength": {k: f(v) for k, v in self.seasonal_strength.items()},
            "trend_strength": f(self.trend_strength),
            "relative_amplitude": f(self.amplitude()),
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"Decomposition({self.name}, {len(self.observed)} {self.grain}s, components {list(self.periods)})"


@renamed_parameters(grain="freq")
def decompose(
    series: pd.Series | pd.DataFrame | Result,
    *,
    period: int | Sequence[int] | None = None,
    robust: bool = True,
    freq: str | None = None,
    value: str | None = None,
) -> Decomposition:
    """Split a per-period series into trend, seasonal components and remainder.

    Parameters
    ----------
    series : pandas.Series, DataFrame or metric result
        Values indexed by period start (e.g. ``contact_frequency(...).frame.set_index("period")
        ["frequency"]``), or a frame (or result) with a ``period`` column and ``value=``.
    period : int or sequence of int, optional
        Seasonal period(s) in periods. Default from the grain: month 12, week 52,
        quarter 4, day (7, 365); year: none.
    robust : bool
        Robust STL fitting, so that spikes stay in the remainder instead of bending
        the trend and seasonal components.
    freq : str, optional
        Period grain when it cannot be read from the index (default: a result's ``freq``,
        else inferred). ``grain=`` is the deprecated name.
    value : str, optional
        Column to use when ``series`` is a DataFrame or a result.

    Returns
    -------
    Decomposition

    Warns
    -----
    SeasonalityWarning
        When a period has fewer than two full cycles; that component is left at zero
        and the message says how many more periods are needed.

    Examples
    --------
    >>> idx = pd.date_range("2023-01-01", periods=36, freq="MS")
    >>> y = pd.Series(1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12), index=idx)
    >>> res = decompose(y)
    >>> round(res.amplitude(), 2), int(res.profile().idxmax())
    (0.3, 12)
    """
    s = as_series(series, value)
    if s.empty:
        raise DataError("the series is empty; there is nothing to decompose")
    grain = infer_grain(s.index, freq_hint(series, freq))
    y, filled, interpolated = regularise(s, grain)
    wanted = seasonal_periods(period, grain)
    n = len(y)
    fit = [p for p in wanted if n >= 2 * p]
    short = [p for p in wanted if n < 2 * p]
    notes = _short_notes(short, n, grain)
    if interpolated.any():
        notes.append(f"{int(interpolated.sum())} period(s) had no value (no active customers) and were interpolated")
    if filled.any():
        notes.append(f"{int(filled.sum())} period(s) missing from the input were taken as zero-contact periods")
    values = y.to_numpy()
    comps = {component_name(p, grain): p for p in fit}
    if np.ptp(values) <= ZERO:
        trend, seas = values.copy(), np.zeros((n, len(fit)))
        notes.append("the series is constant, so it has no seasonality and no anomalies")
    elif not fit:
        trend, seas = _moving_trend(values, max(wanted) if wanted else 3), np.zeros((n, 0))
    else:
        trend, seas = _stl(values, fit, robust)
    seasonal = pd.DataFrame(seas, index=y.index, columns=list(comps))
    for p in short:
        seasonal[component_name(p, grain)] = 0.0
    resid = values - trend - seasonal.sum(axis=1).to_numpy()
    resid = np.where(np.abs(resid) < 1e-9 * max(1.0, np.abs(values).max()), 0.0, resid)
    strength = {c: _strength(seasonal[c].to_numpy(), resid) for c in comps}
    strength.update({component_name(p, grain): math.nan for p in short})
    name = series_name(s)
    mk = lambda a, nm: pd.Series(a, index=y.index, name=nm)  # noqa: E731
    return Decomposition(
        observed=y.rename(name),
        trend=mk(trend, "trend"),
        seasonal=seasonal,
        resid=mk(resid, "resid"),
        adjusted=mk(values - seasonal.sum(axis=1).to_numpy(), "adjusted"),
        grain=grain,
        periods=comps,
        trend_strength=_strength(trend, resid) if np.ptp(values) > ZERO else 0.0,
        seasonal_strength=strength,
        filled=filled,
        interpolated=interpolated,
        notes=tuple(notes),
        name=name,
        robust=robust,
    )


def remainder(values: np.ndarray, fitted: Sequence[int], *, robust: bool, fallback: int = 3) -> np.ndarray:
    """The remainder of the same STL fit as :func:`decompose` (``fitted`` periods, ascending), or of
    the moving-average trend when no period is fitted; used to calibrate anomaly scores."""
    values = np.asarray(values, dtype=float)
    if np.ptp(values) <= ZERO:
        return np.zeros_like(values)
    if not fitted:
        return values - _moving_trend(values, fallback)
    trend, seas = _stl(values, sorted(fitted), robust)
    return values - trend - seas.sum(axis=1)


def _short_notes(short: list[int], n: int, grain: str) -> list[str]:
    """One note (and warning) per seasonal period the series is too short for."""
    notes = []
    for p in short:
        msg = (
            f"only {n} {unit(grain)}s ({n / p:.1f} cycles of {p}); the {component_name(p, grain)} pattern needs "
            f"at least two full cycles ({2 * p} {unit(grain)}s), i.e. {2 * p - n} more; it is not estimated"
        )
        notes.append(msg)
        warnings.warn(msg, SeasonalityWarning, stacklevel=4)
    return notes


def _strength(component: np.ndarray, resid: np.ndarray) -> float:
    """max(0, 1 - Var(R) / Var(X + R)); 0 when there is no variation at all."""
    denom = np.var(component + resid)
    if denom <= ZERO:
        return 0.0
    return float(max(0.0, 1.0 - np.var(resid) / denom))


def _moving_trend(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(int(window), len(values)))
    return pd.Series(values).rolling(window, center=True, min_periods=1).mean().to_numpy()


def _stl_one(values: np.ndarray, period: int, robust: bool, windows: dict | None = None):
    from statsmodels.tsa.seasonal import STL

    n = len(values)
    if windows:
        return STL(values, period=period, robust=robust, **windows).fit()
    if n / period < PERIODIC_BELOW_CYCLES:
        # R's stl(s.window = "periodic"): one fixed pattern (window 10n+1, degree 0). The
        # statsmodels default (7 cycles, degree 1) fits a line through each month's 2-6
        # values and so absorbs most of the noise into the "seasonal" component.
        return STL(values, period=period, seasonal=10 * n + 1, seasonal_deg=0, robust=robust).fit()
    return STL(values, period=period, robust=robust).fit()


def _stl(values: np.ndarray, fit: list[int], robust: bool) -> tuple[np.ndarray, np.ndarray]:
    """Trend and seasonal columns (ascending periods).

    Several periods (daily data): STL for the shortest period first, then each longer
    period from the trend of the previous step, so that e.g. the yearly pattern of a
    daily series is smooth. A plain MSTL fits one free value per day of the year,
    which with a few years of data soaks up day-level noise and hides spikes.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Daily data: the weekly pattern may drift over about seven months and the first
        # trend follows two months; statsmodels' shorter defaults (7 weeks, ~15 days) fit
        # day-level noise, which halves the remainder's spread and floods the anomaly list.
        windows = {"seasonal": 31, "trend": 61} if len(fit) > 1 and fit[0] == 7 else None
        res = _stl_one(values, fit[0], robust, windows)
        trend, seas = np.asarray(res.trend), [np.asarray(res.seasonal)]
        extra = np.zeros(len(values))
        for p in fit[1:]:
            # The trend is already smooth, so robustness weights are not needed here.
            r2 = _stl_one(trend, p, False)
            seas.append(np.asarray(r2.seasonal))
            extra += np.asarray(r2.resid)
            trend = np.asarray(r2.trend)
        # Whatever the longer step leaves over (slow wiggles) stays in the trend, not the remainder.
        return trend + extra, np.column_stack(seas)


def decompose_by(
    frame: Result | pd.DataFrame,
    *,
    by: Grouping = None,
    value: str = "frequency",
    period: int | Sequence[int] | None = None,
    robust: bool = True,
) -> dict[Any, Decomposition]:
    """:func:`decompose` for each group of a ``contact_frequency`` result.

    Parameters
    ----------
    frame : FrequencyResult or pandas.DataFrame
        Output of :func:`kit.contact_frequency` (a ``period`` column plus group columns).
    by : str or list of str, optional
        Group columns (default: the result's ``by``). ``None`` or empty: one result.
    value : str
        Column to decompose (``"frequency"``, ``"contacts"``, ...).
    period : int or sequence of int, optional
        Seasonal period(s), as in :func:`decompose`.
    robust : bool
        Robust STL fitting, as in :func:`decompose`.

    Returns
    -------
    dict
        Group key (a value, or a tuple for several columns; ``"all"`` without groups)
        -> :class:`Decomposition`.

    Examples
    --------
    >>> idx = pd.date_range("2023-01-01", periods=24, freq="MS")
    >>> df = pd.concat([pd.DataFrame({"period": idx, "tier": t, "frequency": 1.0 + 0.1 * np.arange(24)})
    ...                 for t in ("a", "b")])
    >>> sorted(decompose_by(df, by="tier"))
    ['a', 'b']
    """
    params, df = params_of(frame), frame_of(frame)
    if not isinstance(df, pd.DataFrame) or "period" not in df.columns:
        raise ParameterError("decompose_by needs the result of contact_frequency (a frame with a 'period' column)")
    if by is None:
        by = params.get("by") or []
    by = [by] if isinstance(by, str) else list(by)
    missing = [b for b in by + [value] if b not in df.columns]
    if missing:
        raise ParameterError(
            f"column(s) {', '.join(missing)} not in the frame; columns: {', '.join(map(str, df.columns))}"
        )
    freq = params.get("freq")
    if not by:
        return {"all": decompose(df.set_index("period")[value], period=period, robust=robust, freq=freq)}
    out = {}
    for key, part in df.groupby(by if len(by) > 1 else by[0], sort=True, dropna=False):
        s = part.set_index("period")[value].rename(f"{value} ({'/'.join(map(str, np.atleast_1d(key)))})")
        out[key] = decompose(s, period=period, robust=robust, freq=freq)
    return out


def robust_z(resid: npt.ArrayLike) -> np.ndarray:
    """Robust z-scores 0.6745 (r - median) / MAD (Iglewicz and Hoaglin).

    When the MAD is zero (more than half the values equal) the mean absolute
    deviation times 1.2533 is used; when that is zero too, all scores are 0.

    Examples
    --------
    >>> robust_z([0.0, 1.0, -1.0, 2.0, -2.0, 10.0]).round(2).tolist()
    [-0.22, 0.22, -0.67, 0.67, -1.12, 4.27]
    """
    r = np.asarray(resid, dtype=float)
    med = np.median(r)
    mad = np.median(np.abs(r - med))
    if mad > ZERO:
        return _MAD_K * (r - med) / mad
    meanad = np.mean(np.abs(r - med))
    if meanad > ZERO:
        return (r - med) / (_MEANAD_K * meanad)
    return np.zeros_like(r)
