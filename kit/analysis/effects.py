"""Shared statistics of the driver analyses: intervals, buckets, the model design and fit, the effect base class.

:mod:`kit.analysis.churn`, :mod:`kit.analysis.csat` and :mod:`kit.analysis.touchpoints` build on
these; every result reports an association, never a cause.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from ..core.results import Result
from ..errors import AnalysisError, ParameterError
from ..metrics.features import Features, features_from_frame
from ..present import narrative as nv

if TYPE_CHECKING:
    from matplotlib.axes import Axes

X = "contacts_per_month"
#: Fewer population customers than this: no model is fitted.
MIN_CUSTOMERS = 30
#: Fewer churners (or stayers) than this: no model is fitted.
MIN_EVENTS = 5
#: Rule of thumb: fewer outcome events per model term than this makes the interval approximate.
EVENTS_PER_TERM = 10
#: Customers with surveys needed for the CSAT model.
MIN_RESPONDENTS = 10
#: Period-level estimates on fewer points than this are flagged as weak.
WEAK_PERIODS = 12
#: Lower edges of the contact-frequency buckets (contacts per month); zero gets its own bucket.
DEFAULT_BINS = (0.0, 1.0, 2.0, 3.0, 5.0)


# --------------------------------------------------------------------------- intervals
def wilson(count: Any, nobs: Any, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions ``count / nobs`` (NaN where ``nobs == 0``).

    Examples
    --------
    >>> lo, hi = wilson(np.array([10]), np.array([100]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.0552, 0.1744)
    """
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = count / nobs
        denom = 1 + z**2 / nobs
        centre = (p + z**2 / (2 * nobs)) / denom
        half = z * np.sqrt(p * (1 - p) / nobs + z**2 / (4 * nobs**2)) / denom
    ok = nobs > 0
    lo = np.where(count <= 0, 0.0, np.clip(centre - half, 0, 1))
    hi = np.where(count >= nobs, 1.0, np.clip(centre + half, 0, 1))
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def correlation(x: Any, y: Any, *, method: str = "pearson", level: float = 0.95) -> dict:
    """Correlation with a Fisher-z interval and a two-sided p-value.

    Spearman uses the Fieller-Hartley-Pearson standard error ``sqrt(1.06 / (n - 3))``.

    Examples
    --------
    >>> r = correlation([1, 2, 3, 4, 5, 6], [2, 1, 4, 3, 6, 5])
    >>> round(r["r"], 3), r["n"]
    (0.829, 6)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    out = {"n": n, "r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if n < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    if method == "pearson":
        r, p = stats.pearsonr(x, y)
        se = 1 / math.sqrt(n - 3)
    elif method == "spearman":
        r, p = stats.spearmanr(x, y)
        se = math.sqrt(1.06 / (n - 3))
    else:
        raise ParameterError(f"method must be pearson or spearman, not {method!r}")
    z = stats.norm.ppf(0.5 + level / 2)
    zr = math.atanh(min(max(float(r), -0.999999), 0.999999))
    out.update(r=float(r), ci_low=math.tanh(zr - z * se), ci_high=math.tanh(zr + z * se), p_value=float(p))
    return out


def evidence_text(p: float) -> str:
    """A p-value in plain words for the main text: 'unlikely to be chance' below 0.05, else 'could be chance'."""
    if p is None or not np.isfinite(p):
        return "no test possible"
    return "unlikely to be chance" if p < 0.05 else "could be chance"


def p_text(p: float) -> str:
    """'p < 0.001', 'p = 0.042' or 'p n/a'."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def ci_text(lo: float, hi: float, digits: int = 2) -> str:
    """'95% CI 1.23 to 1.48' (reads well with negative bounds, unlike a dash)."""
    return f"95% CI {nv.num(lo, digits)} to {nv.num(hi, digits)}"


def controls_text(used: Sequence[str]) -> str:
    return nv.join(used) if used else "no other variables"


def cutoff_text(cutoffs: Sequence[pd.Timestamp]) -> str:
    return f"{cutoffs[0]:%Y-%m-%d}" if len(cutoffs) == 1 else f"{len(cutoffs)} cutoffs"


def as_list(value: str | Sequence[str] | None) -> list[str]:
    """A column name or list of names as a list (None: empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


# --------------------------------------------------------------------------- buckets
def bucket_labels(bins: Sequence[float] = DEFAULT_BINS) -> list[str]:
    """Labels of the contact-frequency buckets: '0', '0–1', '1–2', ..., '5+'.

    Examples
    --------
    >>> bucket_labels((0, 1, 2.5))
    ['0', '0–1', '1–2.5', '2.5+']
    """
    edges = list(bins)
    labels = ["0"]
    for lo, hi in zip(edges, edges[1:]):
        labels.append(f"{_edge(lo)}–{_edge(hi)}")
    labels.append(f"{_edge(edges[-1])}+")
    return labels


def _edge(value: float) -> str:
    return nv.num(value, 0) if float(value).is_integer() else str(value)


def bucketize(x: pd.Series, bins: Sequence[float] = DEFAULT_BINS) -> pd.Categorical:
    """Contacts per month as buckets: exactly zero, then ``[lo, hi)`` ranges, then the last edge and above.

    Examples
    --------
    >>> list(bucketize(pd.Series([0, 0.5, 1, 7])))
    ['0', '0–1', '1–2', '5+']
    """
    edges = [float(b) for b in bins]
    if edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ParameterError(f"bins must start at 0 and increase, got {list(bins)}")
    labels = bucket_labels(edges)
    codes = np.searchsorted(np.array(edges[1:]), np.asarray(x, dtype=float), side="right") + 1
    codes = np.where(np.asarray(x, dtype=float) <= 0, 0, codes)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


# --------------------------------------------------------------------------- design and fit
def as_features(
    features: Features | pd.DataFrame,
    *,
    cutoffs: Any = None,
    window_days: int | None = None,
    numeric_controls: str | Sequence[str] | None = None,
    direction: str | None = None,
) -> Features:
    """A :class:`~kit.metrics.features.Features`; a plain DataFrame gets its design from the keywords.

    Options given for a Features override its fields. A DataFrame's ``attrs`` are never read.

    Examples
    --------
    >>> f = as_features(pd.DataFrame({"contacts_per_month": [1.0]}), window_days=60)
    >>> f.window_days, f.cutoffs, f.direction
    (60, (), 'inbound')
    """
    if isinstance(features, Features):
        given = (("window_days", window_days), ("direction", direction))
        changes: dict[str, Any] = {k: v for k, v in given if v is not None}
        if cutoffs is not None:
            changes["cutoffs"] = tuple(pd.Timestamp(c) for c in _dates(cutoffs))
        if numeric_controls is not None:
            changes["numeric_controls"] = tuple(as_list(numeric_controls))
        return features.replace(**changes) if changes else features
    return features_from_frame(
        features,
        cutoffs=cutoffs,
        window_days=90 if window_days is None else window_days,
        numeric_controls=as_list(numeric_controls),
        direction=direction or "inbound",
    )


def _dates(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, pd.Index, np.ndarray, pd.Series)) else [value]


def design(
    features: pd.DataFrame, controls: Sequence[str], numeric: Sequence[str], outcome: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Model matrix (const, x, segment dummies, numeric controls, tenure) and notes.

    Segment levels in which every customer has the same outcome carry no information
    about the other coefficients (their own coefficient runs to infinity), so their
    customers are set aside with a note instead of breaking the fit.
    Returns ``(rows used, model matrix, controls used, notes)``.
    """
    df = features
    notes: list[str] = []
    if outcome is not None:
        for col in controls:
            if col in numeric:
                continue
            rates = df.groupby(col, observed=True)[outcome].agg(["mean", "size"])
            flat = rates[(rates["mean"] == 0) | (rates["mean"] == 1)]
            for level, row in flat.iterrows():
                what = "no churners" if row["mean"] == 0 else "only churners"
                notes.append(
                    f"{col} = {level} has {what} among its {int(row['size'])} customers, so its churn odds "
                    f"cannot be estimated; those customers are left out of the model"
                )
            if len(flat):
                df = df[~df[col].isin(flat.index)]
    for col in [c for c in controls if c in numeric]:
        missing = df[col].isna().sum()
        if missing:
            notes.append(f"{missing} customer(s) without a {col} value are left out of the model")
            df = df[df[col].notna()]
    cols = {"const": np.ones(len(df)), X: df[X].to_numpy(dtype=float)}
    used = []
    for col in controls:
        if col in numeric:
            if df[col].nunique() > 1:
                cols[col] = df[col].to_numpy(dtype=float)
                used.append(col)
            else:
                notes.append(f"{col} is the same for every customer in the model, so it is not a control")
            continue
        counts = df[col].value_counts()
        if len(counts) < 2:
            if len(counts):
                notes.append(f"only {col} = {counts.index[0]} remains in the model, so {col} is not a control")
            continue
        ref = sorted(counts.index[counts == counts.max()], key=str)[0]  # largest level: most stable reference
        for level in sorted(counts.index, key=str):
            if level != ref:
                cols[f"{col}[{level}]"] = (df[col] == level).to_numpy(dtype=float)
        used.append(col)
    if df["tenure_years"].nunique() > 1:
        cols["tenure_years"] = df["tenure_years"].to_numpy(dtype=float)
        used.append("tenure")
    return df, pd.DataFrame(cols, index=df.index), used, notes


def fit(
    kind: str, y: np.ndarray, exog: pd.DataFrame, groups: np.ndarray | None, weights: np.ndarray | None = None
) -> Any:
    """Fit with statsmodels (``"logit"``: GLM binomial; else WLS); separation or non-convergence is an AnalysisError."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "logit":
                model = sm.GLM(y, exog, family=sm.families.Binomial())
                res = model.fit(cov_type="cluster", cov_kwds={"groups": groups}) if groups is not None else model.fit()
            else:
                res = sm.WLS(y, exog, weights=weights).fit(cov_type="HC0")
        except PerfectSeparationError:
            raise AnalysisError(
                "churn is perfectly predicted by the features (separation); the odds ratio is "
                "infinite. Use the binned view, a longer window or more customers"
            ) from None
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise AnalysisError(
                f"the model could not be fitted ({str(exc).splitlines()[0]}); "
                "remove controls that duplicate each other or use more customers"
            ) from None
    bad = [w for w in caught if issubclass(w.category, (PerfectSeparationWarning, ConvergenceWarning))]
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    if bad or not np.all(np.isfinite(bse)) or (kind == "logit" and (np.any(np.abs(params) > 25) or np.any(bse > 100))):
        raise AnalysisError(
            "the churn model did not converge: churn is (almost) perfectly separated by contacts "
            "per month or a control; the odds ratio is not estimable. Use the binned view, fewer "
            "controls, a longer window or more customers"
        )
    return res


def coef_table(
    params: Any, se: Any, names: Sequence[str], *, exp: bool, df_resid: Any = None, level: float = 0.95
) -> pd.DataFrame:
    """Coefficient table: ``term, coef, std_err, stat, p_value, ci_low, ci_high`` (+ odds ratios when ``exp``).

    ``df_resid`` (scalar or per term) switches from the normal to the Student t reference.
    """
    params, se = np.asarray(params, dtype=float), np.asarray(se, dtype=float)
    stat = params / se
    if df_resid is None:
        crit = stats.norm.ppf(0.5 + level / 2)
        p = 2 * stats.norm.sf(np.abs(stat))
    else:
        crit = stats.t.ppf(0.5 + level / 2, df_resid)
        p = 2 * stats.t.sf(np.abs(stat), df_resid)
    table = pd.DataFrame(
        {
            "term": names,
            "coef": params,
            "std_err": se,
            "stat": stat,
            "p_value": p,
            "ci_low": params - crit * se,
            "ci_high": params + crit * se,
        }
    )
    if exp:
        table["odds_ratio"] = np.exp(table["coef"])
        table["or_ci_low"] = np.exp(table["ci_low"])
        table["or_ci_high"] = np.exp(table["ci_high"])
    return table


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class Effect(Result):
    """What every customer-level effect reports: interval, p-value, tables and the design used.

    ``features`` is the :class:`~kit.metrics.features.Features` the model was fitted on.
    """

    ci_low: float
    ci_high: float
    p_value: float
    table: pd.DataFrame
    binned: pd.DataFrame
    n_customers: int = 0
    cutoffs: tuple = ()
    window_days: int = 90
    controls: tuple = ()
    notes: tuple = ()
    features: Features | None = field(default=None, repr=False)

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 0.05)

    def method_note(self) -> str:
        """The model behind :meth:`describe`, with its p-value (for a method-notes section; the main text is plain)."""
        linear = "df" in self.table.columns  # the CSAT model's table carries its t reference's degrees of freedom
        model = "linear regression (cluster-robust by customer)" if linear else "logistic regression"
        return (
            f"{type(self).__name__}: {model} on contacts per month, controls {controls_text(self.controls)}; "
            f"{p_text(self.p_value)}; {ci_text(self.ci_low, self.ci_high)}."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


def plot_binned(
    binned: pd.DataFrame,
    *,
    y: str,
    lo: str,
    hi: str,
    ax: Axes | None = None,
    ylabel: str = "",
    percent: bool = False,
    title: str = "",
) -> Axes:
    """Point and 95% interval per contact-frequency bucket, bucket sizes under the labels; returns the Axes."""
    from ..present.plots import new_axes

    _, ax = new_axes(ax)
    pos = np.arange(len(binned))
    vals = binned[y].to_numpy(dtype=float)
    err = np.vstack([vals - binned[lo].to_numpy(dtype=float), binned[hi].to_numpy(dtype=float) - vals])
    ax.errorbar(pos, vals, yerr=np.nan_to_num(err), fmt="o-", capsize=4)
    size = "customers" if "customers" in binned.columns else "respondents"
    ax.set_xticks(pos, [f"{b}\n(n={n:,})" for b, n in zip(binned["bucket"], binned[size])])
    ax.set_xlabel("inbound contacts per month in the feature window")
    ax.set_ylabel(ylabel)
    if percent:
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(title)
    return ax
