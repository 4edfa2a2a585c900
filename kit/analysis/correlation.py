"""Period-level association: contact frequency against mean CSAT, NPS and the churn rate, period by period.

Raw levels of two seasonal series correlate for no reason, so :func:`period_correlation`
correlates seasonally adjusted, first-differenced series (never raw levels), at lags 0..k.
The series come from :func:`kit.metrics.periodic.period_series` (re-exported here).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..core import periods
from ..core.dataset import TableSource, accepts_dataset
from ..core.results import Result, frame_of, params_of
from ..core.types import Backend, MappingSpec
from ..errors import AnalysisError, KitError, ParameterError, renamed_parameters
from ..metrics.periodic import PeriodSeries, period_series
from ..present import narrative as nv
from .decompose import decompose
from .effects import WEAK_PERIODS, ci_text, correlation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["PeriodCorrelation", "PeriodSeries", "period_correlation", "period_series"]

COLUMNS = [
    "outcome",
    "lag",
    "n",
    "pearson",
    "pearson_ci_low",
    "pearson_ci_high",
    "pearson_p",
    "spearman",
    "spearman_ci_low",
    "spearman_ci_high",
    "spearman_p",
    "adjustment",
    "weak",
]
OUTCOME_NAMES = {"csat": "mean CSAT", "nps": "NPS", "churn_rate": "the churn rate"}


@dataclass(frozen=True, repr=False, eq=False)
class PeriodCorrelation(Result):
    """Lagged correlations of the adjusted frequency series with each outcome series.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per outcome and lag (columns in :func:`period_correlation`).
    notes : tuple of str
        How the series were adjusted, and why estimates are weak.
    series : PeriodSeries or pandas.DataFrame
        The period series the correlations were computed on.
    freq : str
        Period grain.
    """

    frame: pd.DataFrame
    notes: tuple = ()
    series: PeriodSeries | pd.DataFrame | None = field(default=None, repr=False)
    freq: str = "month"

    def describe(self) -> str:
        """The same-period correlation with each outcome, with its interval."""
        corr = self.frame
        if corr.empty:
            return "No period-level outcome series was available."
        parts = []
        for outcome, g in corr.groupby("outcome", sort=False):
            r0 = g[g["lag"] == 0].iloc[0]
            parts.append(
                f"{OUTCOME_NAMES.get(outcome, outcome)} (r = {nv.num(r0['pearson'])}, "
                f"{ci_text(r0['pearson_ci_low'], r0['pearson_ci_high'])})"
            )
        g0 = corr.iloc[0]
        text = (
            f"Period to period ({g0['adjustment']} series, {int(g0['n'])} periods), contact frequency is "
            f"correlated with {nv.join(parts)} in the same period."
        )
        if corr["weak"].any():
            text += " With this few periods these are weak estimates."
        return text

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Pearson correlation (95% CI) of adjusted frequency with each outcome at lags 0..k; returns the Axes."""
        from ..present.plots import new_axes

        corr = self.frame
        _, ax = new_axes(ax)
        outcomes = list(dict.fromkeys(corr["outcome"]))
        width = 0.8 / max(len(outcomes), 1)
        for i, outcome in enumerate(outcomes):
            g = corr[corr["outcome"] == outcome]
            pos = g["lag"].to_numpy() + (i - (len(outcomes) - 1) / 2) * width
            ax.bar(pos, g["pearson"], width=width * 0.9, label=outcome)
            ax.errorbar(
                pos,
                g["pearson"],
                yerr=np.nan_to_num(
                    np.vstack([g["pearson"] - g["pearson_ci_low"], g["pearson_ci_high"] - g["pearson"]])
                ),
                fmt="none",
                ecolor="black",
                capsize=3,
            )
        ax.axhline(0, color="grey", lw=1)
        ax.set_ylim(-1, 1)
        ax.set_xticks(sorted(corr["lag"].unique()))
        ax.set_xlabel("lag (outcome k periods after frequency)")
        ax.set_ylabel("correlation (adjusted series)")
        ax.set_title("Lagged correlation of contact frequency with outcomes")
        if outcomes:
            ax.legend()
        return ax

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"PeriodCorrelation({self.describe()})"


def _seasonally_adjust(series: pd.Series, grain: str):
    """Seasonally adjusted series from :func:`kit.analysis.decompose.decompose` when it can, else (None, reason)."""
    per_year = int(round(periods.GRAINS[grain][2]))
    if per_year < 2:
        return None, "yearly data has no seasonality to remove"
    if len(series.dropna()) < 2 * per_year:
        return None, f"fewer than {2 * per_year} periods, too short to estimate seasonality"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = decompose(series, period=per_year, freq=grain)
    except KitError as exc:
        return None, f"seasonal decomposition failed ({exc})"
    except Exception as exc:  # noqa: BLE001 - a numerical failure must not break the driver report
        return None, f"seasonal decomposition failed ({type(exc).__name__})"
    val = res.adjusted
    if len(val) != len(series):
        val = val.reindex(series.index)
    val = pd.Series(np.asarray(val, dtype=float), index=series.index).where(series.notna())
    return val, "seasonally adjusted"


def _adjust(data: pd.DataFrame, cols: list[str], grain: str, adjust: str):
    """Each column as an adjusted series, how it was adjusted, and notes on fallbacks."""
    adjusted, how, notes = {}, {}, []
    for col in cols:
        s = pd.Series(data[col].to_numpy(dtype=float), index=pd.DatetimeIndex(data["period"]))
        sa, why = (None, "first differences requested") if adjust == "difference" else _seasonally_adjust(s, grain)
        if sa is not None:
            adjusted[col] = sa if adjust == "seasonal" else sa.diff()
            how[col] = "seasonally adjusted" + ("" if adjust == "seasonal" else ", then first-differenced")
        else:
            if adjust == "seasonal":
                raise AnalysisError(f"cannot seasonally adjust {col}: {why}; use adjust='difference'")
            adjusted[col] = s.diff()
            how[col] = "first-differenced"
            if why != "first differences requested":
                notes.append(
                    f"{col}: {why}; used first differences, which remove trend but not a shared seasonal pattern"
                )
    return adjusted, how, notes


@accepts_dataset
@renamed_parameters(grain="freq")
def period_correlation(
    contacts: TableSource,
    customers: TableSource,
    surveys: TableSource = None,
    *,
    freq: str = "month",
    lags: int = 3,
    adjust: str = "auto",
    tz: str | None = None,
    mapping: MappingSpec = None,
    con: Backend = None,
    series: PeriodSeries | pd.DataFrame | None = None,
) -> PeriodCorrelation:
    """Correlation of period contact frequency with CSAT, NPS and churn rate, at lags 0..``lags``.

    Each series is first seasonally adjusted (:func:`kit.analysis.decompose.decompose`) and then
    first-differenced (``adjust="auto"``; it falls back to first differences alone when
    decomposition is not possible). ``"difference"`` forces first differences only,
    ``"seasonal"`` seasonal adjustment only. Lag ``k`` pairs frequency in period ``t`` with the
    outcome in ``t + k``.

    Parameters
    ----------
    contacts, customers, surveys
        Any source accepted by :func:`kit.core.sources.open_tables`, or a Dataset first.
    series : PeriodSeries or pandas.DataFrame, optional
        A ready period series (``period, frequency`` and outcome columns); the tables are then
        not read. A plain table is taken to be at ``freq``.

    Returns
    -------
    PeriodCorrelation
        ``.frame``: one row per outcome and lag: ``outcome, lag, n, pearson, pearson_ci_low,
        pearson_ci_high, pearson_p, spearman, spearman_ci_low, spearman_ci_high, spearman_p,
        adjustment, weak``. ``.notes`` explains the adjustment and weak estimates; ``.series``
        holds the period series used, ``.freq`` its grain.

    Examples
    --------
    >>> n = 30
    >>> f = np.cumsum(np.random.default_rng(0).normal(size=n))
    >>> s = pd.DataFrame({"period": pd.date_range("2023-01-01", periods=n, freq="MS"), "frequency": f, "csat": -f})
    >>> out = period_correlation(None, None, series=s, adjust="difference", lags=1)
    >>> out.frame[["outcome", "lag", "n", "pearson"]].round(3).to_dict("records")[0]
    {'outcome': 'csat', 'lag': 0, 'n': 29, 'pearson': -1.0}
    """
    if adjust not in ("auto", "difference", "seasonal"):
        raise ParameterError(f"adjust must be auto, difference or seasonal, not {adjust!r}")
    if not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ParameterError(f"lags must be a non-negative integer, not {lags!r}")
    given = (
        series
        if series is not None
        else period_series(contacts, customers, surveys, freq=freq, tz=tz, mapping=mapping, con=con)
    )
    data, grain = frame_of(given), params_of(given).get("freq", freq)
    outcomes = [c for c in ("csat", "nps", "churn_rate") if c in data.columns and data[c].notna().sum() > 0]
    adjusted, how, notes = _adjust(data, ["frequency", *outcomes], grain, adjust)
    rows = []
    x = adjusted["frequency"]
    for col in outcomes:
        for k in range(lags + 1):
            y = adjusted[col].shift(-k)
            p = correlation(x, y, method="pearson")
            s_ = correlation(x, y, method="spearman")
            rows.append(
                {
                    "outcome": col,
                    "lag": k,
                    "n": p["n"],
                    "pearson": p["r"],
                    "pearson_ci_low": p["ci_low"],
                    "pearson_ci_high": p["ci_high"],
                    "pearson_p": p["p_value"],
                    "spearman": s_["r"],
                    "spearman_ci_low": s_["ci_low"],
                    "spearman_ci_high": s_["ci_high"],
                    "spearman_p": s_["p_value"],
                    "adjustment": how[col],
                    "weak": p["n"] < WEAK_PERIODS,
                }
            )
    out = pd.DataFrame(rows, columns=COLUMNS)
    if "churn_rate" in outcomes:
        notes.append(
            "customers who churn count as active in their last period but contact less in it, which "
            "pulls the same-period (lag 0) correlation with the churn rate down; read lags 1-3 too"
        )
    if not outcomes:
        notes.append("no CSAT, NPS or churn series is available to correlate with")
    elif out["weak"].any():
        notes.append(
            f"only {int(out['n'].min())} usable periods: with fewer than about {WEAK_PERIODS}, "
            "period-level correlations are weak estimates; rely on the customer-level analysis"
        )
    return PeriodCorrelation(frame=out, notes=tuple(notes), series=given, freq=grain)
