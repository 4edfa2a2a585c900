"""How strongly is contact frequency associated with churn and CSAT? With honest uncertainty.

Three levels, all reported as associations (never causes):

* **Customer level** (the main analysis): :func:`churn_effect` fits a logistic regression of
  churn in the outcome window on contacts per month in the feature window before a cutoff,
  with segment and tenure controls; :func:`csat_effect` regresses CSAT scores in the
  outcome window on the same feature with small-sample-corrected (CR2)
  customer-clustered standard errors.
  Features are built by :func:`kit.metrics.features.customer_features` (time runs forward only).
* **Period level**: :func:`period_correlation` correlates the frequency series with mean
  CSAT (and NPS) and the churn rate after removing seasonality and trend, never on raw levels.
* **Account level**: :func:`touchpoint_effect` relates CSM outbound touchpoints of
  strategic accounts to churn (the expected sign is the opposite of inbound contacts).

Examples
--------
>>> from kit.sample.generator import generate
>>> s = generate(customers=3000, months=12)
>>> r = churn_effect(s.contacts, s.customers)
>>> r.ci_low < 1.35 < r.ci_high
True
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..present import narrative as nv
from ..config import ACCOUNT_BANDS, DEFAULT_TZ
from ..errors import AnalysisError, KitError, ParameterError
from ..metrics.features import DEFAULT_WINDOW, customer_features

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


# --------------------------------------------------------------------------- small helpers
def wilson(count, nobs, *, level: float = 0.95):
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


def correlation(x, y, *, method: str = "pearson", level: float = 0.95) -> dict:
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


def _p_text(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def bucket_labels(bins=DEFAULT_BINS) -> list[str]:
    """Labels of the contact-frequency buckets: '0', '0–1', '1–2', ..., '5+'."""
    edges = list(bins)
    labels = ["0"]
    for lo, hi in zip(edges, edges[1:]):
        labels.append(f"{nv.num(lo, 0) if float(lo).is_integer() else lo}–{nv.num(hi, 0) if float(hi).is_integer() else hi}")
    last = edges[-1]
    labels.append(f"{nv.num(last, 0) if float(last).is_integer() else last}+")
    return labels


def bucketize(x: pd.Series, bins=DEFAULT_BINS) -> pd.Categorical:
    """Contacts per month as buckets: exactly zero, then ``[lo, hi)`` ranges, then the last edge and above."""
    edges = [float(b) for b in bins]
    if edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ParameterError(f"bins must start at 0 and increase, got {list(bins)}")
    labels = bucket_labels(edges)
    codes = np.searchsorted(np.array(edges[1:]), np.asarray(x, dtype=float), side="right") + 1
    codes = np.where(np.asarray(x, dtype=float) <= 0, 0, codes)
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


# --------------------------------------------------------------------------- design matrix
def _design(features: pd.DataFrame, controls, numeric, outcome: str | None):
    """Model matrix (const, x, segment dummies, numeric controls, tenure) and notes.

    Segment levels in which every customer has the same outcome carry no information
    about the other coefficients (their own coefficient runs to infinity), so their
    customers are set aside with a note instead of breaking the fit.
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
                notes.append(f"{col} = {level} has {what} among its {int(row['size'])} customers, so its churn odds "
                             f"cannot be estimated; those customers are left out of the model")
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


def _fit(kind: str, y, exog: pd.DataFrame, groups, weights=None):
    """Fit with statsmodels, turning separation/convergence trouble into AnalysisError."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (ConvergenceWarning, PerfectSeparationError,
                                                 PerfectSeparationWarning)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if kind == "logit":
                model = sm.GLM(y, exog, family=sm.families.Binomial())
                res = (model.fit(cov_type="cluster", cov_kwds={"groups": groups}) if groups is not None
                       else model.fit())
            else:
                res = sm.WLS(y, exog, weights=weights).fit(cov_type="HC0")
        except PerfectSeparationError:
            raise AnalysisError("churn is perfectly predicted by the features (separation); the odds ratio is "
                                "infinite. Use the binned view, a longer window or more customers") from None
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise AnalysisError(f"the model could not be fitted ({str(exc).splitlines()[0]}); "
                                "remove controls that duplicate each other or use more customers") from None
    bad = [w for w in caught if issubclass(w.category, (PerfectSeparationWarning, ConvergenceWarning))]
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    if bad or not np.all(np.isfinite(bse)) or (kind == "logit" and (np.any(np.abs(params) > 25) or np.any(bse > 100))):
        raise AnalysisError("the churn model did not converge: churn is (almost) perfectly separated by contacts "
                            "per month or a control; the odds ratio is not estimable. Use the binned view, fewer "
                            "controls, a longer window or more customers")
    return res


def _coef_table(res, names, *, exp: bool, df_resid=None, level=0.95) -> pd.DataFrame:
    params, se = np.asarray(res.params, dtype=float), np.asarray(res.bse, dtype=float)
    stat = params / se
    if df_resid is None:
        crit = stats.norm.ppf(0.5 + level / 2)
        p = 2 * stats.norm.sf(np.abs(stat))
    else:
        crit = stats.t.ppf(0.5 + level / 2, df_resid)
        p = 2 * stats.t.sf(np.abs(stat), df_resid)
    table = pd.DataFrame({"term": names, "coef": params, "std_err": se, "stat": stat, "p_value": p,
                          "ci_low": params - crit * se, "ci_high": params + crit * se})
    if exp:
        table["odds_ratio"] = np.exp(table["coef"])
        table["or_ci_low"] = np.exp(table["ci_low"])
        table["or_ci_high"] = np.exp(table["ci_high"])
    return table


def _ci(lo, hi, digits: int = 2) -> str:
    """'95% CI 1.23 to 1.48' (reads well with negative bounds, unlike a dash)."""
    return f"95% CI {nv.num(lo, digits)} to {nv.num(hi, digits)}"


def _controls_text(used) -> str:
    return nv.join(used) if used else "no other variables"


# --------------------------------------------------------------------------- churn
@dataclass(frozen=True, eq=False, kw_only=True)
class _Effect:
    """What every customer-level effect reports: interval, p-value, tables and the design used."""

    ci_low: float
    ci_high: float
    p_value: float
    table: pd.DataFrame = field(repr=False)
    binned: pd.DataFrame = field(repr=False)
    n_customers: int = 0
    cutoffs: tuple = ()
    window_days: int = 90
    controls: tuple = ()
    notes: tuple = ()
    features: pd.DataFrame = field(default=None, repr=False)

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 0.05)


@dataclass(frozen=True, eq=False, kw_only=True)
class ChurnEffect(_Effect):
    """Odds ratio of churn per +1 contact per month, from a logistic regression.

    ``table`` is the full coefficient table (log-odds and odds ratios); ``binned`` the churn
    rate per contact-frequency bucket with Wilson intervals.
    """

    odds_ratio: float
    n_churned: int = 0
    feature: str = "inbound contact per month"

    def sentence(self) -> str:
        """A plain-language sentence with the effect, its interval and the controls."""
        return churn_sentence(self)

    def plot(self, ax=None):
        """Churn rate per contact-frequency bucket with 95% Wilson intervals."""
        return plot_binned(self.binned, y="churn_rate", lo="ci_low", hi="ci_high", ax=ax,
                           ylabel=f"churn rate in the next {self.window_days} days", percent=True,
                           title="Churn rate by contact frequency")


def binned_churn(features: pd.DataFrame, *, bins=DEFAULT_BINS, x: str = X) -> pd.DataFrame:
    """Churn rate per contact-frequency bucket with 95% Wilson intervals.

    Examples
    --------
    >>> f = pd.DataFrame({"contacts_per_month": [0, 0, 1.5, 1.5], "churned": [False, True, True, True]})
    >>> binned_churn(f)[["bucket", "customers", "churned", "churn_rate"]].to_dict("records")
    [{'bucket': '0', 'customers': 2, 'churned': 1, 'churn_rate': 0.5}, {'bucket': '1–2', 'customers': 2, 'churned': 2, 'churn_rate': 1.0}]
    """
    b = bucketize(features[x], bins)
    g = features.assign(bucket=b).groupby("bucket", observed=True)
    out = g.agg(customers=("churned", "size"), churned=("churned", "sum"),
                mean_contacts_per_month=(x, "mean")).reset_index()
    out["bucket"] = out["bucket"].astype(str)
    out["churned"] = out["churned"].astype("int64")
    out["churn_rate"] = out["churned"] / out["customers"]
    out["ci_low"], out["ci_high"] = wilson(out["churned"], out["customers"])
    return out


def fit_churn(features: pd.DataFrame, *, controls=None, bins=DEFAULT_BINS) -> ChurnEffect:
    """Logistic regression of ``churned`` on contacts per month, segment controls and tenure.

    ``features`` is a table from :func:`kit.metrics.features.customer_features`. With several
    cutoffs (rolling), standard errors are clustered by customer.
    """
    attrs = features.attrs
    controls = list(attrs.get("controls", [])) if controls is None else list(controls)
    numeric = list(attrs.get("numeric_controls", []))
    missing = [c for c in controls if c not in features.columns]
    if missing:
        raise ParameterError(f"control(s) {', '.join(missing)} are not in the feature table; rebuild it with controls=")
    cutoffs = tuple(attrs.get("cutoffs", ()))
    when = f"at cutoff {cutoffs[0]:%Y-%m-%d}" if len(cutoffs) == 1 else f"over {len(cutoffs)} cutoffs"
    n, events = len(features), int(features["churned"].sum())
    if n < MIN_CUSTOMERS:
        raise AnalysisError(f"only {n} customer(s) are in the population {when}; the churn model needs at least "
                            f"{MIN_CUSTOMERS}. Use more data, an earlier cutoff or a shorter window")
    if events < MIN_EVENTS or n - events < MIN_EVENTS:
        what = "churned" if events < MIN_EVENTS else "stayed"
        raise AnalysisError(f"only {min(events, n - events)} of {n} customers {what} in the outcome window {when}; "
                            f"the churn model needs at least {MIN_EVENTS}. Use rolling cutoffs or a longer window")
    df, exog, used, notes = _design(features, controls, numeric, "churned")
    y = df["churned"].to_numpy(dtype=float)
    xs = exog[X].to_numpy()
    if np.ptp(xs) == 0:
        raise AnalysisError(f"every customer in the model has the same contacts per month ({xs[0]:.2f}); "
                            "the effect cannot be estimated")
    if y.min() == y.max():
        raise AnalysisError("after leaving out segments without churners every remaining customer has the same "
                            "outcome; the churn model cannot be fitted")
    x1, x0 = xs[y == 1], xs[y == 0]
    if x1.min() >= x0.max() or x1.max() <= x0.min():
        side = "more" if x1.min() >= x0.max() else "fewer"
        raise AnalysisError(f"churn is perfectly separated by contacts per month: every churner had as many or "
                            f"{side} contacts than every stayer, so the odds ratio is infinite. Read the binned "
                            "view instead, or use more customers or a longer window")
    events_used = int(y.sum())
    if min(events_used, len(y) - events_used) < EVENTS_PER_TERM * exog.shape[1]:
        notes.append(f"only {min(events_used, len(y) - events_used)} churners for {exog.shape[1]} model terms; "
                     "the estimate is weak and its interval approximate")
    groups = None
    if len(cutoffs) > 1:
        groups = pd.factorize(df["customer_id"])[0]
        notes.append(f"{len(cutoffs)} rolling cutoffs are stacked; standard errors are clustered by customer")
    res = _fit("logit", y, exog, groups)
    table = _coef_table(res, list(exog.columns), exp=True)
    row = table.set_index("term").loc[X]
    return ChurnEffect(
        odds_ratio=float(row["odds_ratio"]), ci_low=float(row["or_ci_low"]), ci_high=float(row["or_ci_high"]),
        p_value=float(row["p_value"]), table=table, binned=binned_churn(features, bins=bins),
        n_customers=int(len(y)), n_churned=events_used, cutoffs=cutoffs,
        window_days=int(attrs.get("window_days", 90)), controls=tuple(used),
        feature=f"{attrs.get('direction', 'inbound')} contact per month",
        notes=tuple(list(attrs.get("notes", [])) + notes), features=features,
    )


def churn_effect(contacts, customers, *, window=DEFAULT_WINDOW, cutoff=None, controls=None, bins=DEFAULT_BINS,
                 tz: str = DEFAULT_TZ, mapping=None, con=None) -> ChurnEffect:
    """Odds ratio of churn in the window after ``cutoff`` per +1 inbound contact per month before it.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables`.
    window : str
        Feature and outcome window, whole days (default ``"90D"``).
    cutoff : date-like, list, "rolling" or None
        ``None``: the latest date with a fully observed outcome window.
    controls : list of str, optional
        Segment columns to control for (default ``["tier"]`` when present); tenure is always
        a control.

    Returns
    -------
    ChurnEffect
        ``odds_ratio, ci_low, ci_high, p_value`` for ``contacts_per_month``, ``table`` (all
        coefficients), ``binned`` (churn rate per bucket, Wilson intervals), counts and notes.

    Examples
    --------
    >>> from kit.sample.generator import generate
    >>> s = generate(customers=3000, months=12)
    >>> r = churn_effect(s.contacts, s.customers)
    >>> r.odds_ratio > 1, r.controls
    (True, ('tier', 'tenure'))
    """
    f = customer_features(contacts, customers, window=window, cutoff=cutoff, controls=controls, tz=tz,
                          mapping=mapping, con=con)
    return fit_churn(f, bins=bins)


def churn_effect_by(contacts, customers, *, by="tier", window=DEFAULT_WINDOW, cutoff=None, controls=None,
                    tz: str = DEFAULT_TZ, mapping=None, con=None, features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Odds ratio per +1 contact per month fitted separately in each level of ``by`` (for a forest plot).

    Levels where the model cannot be fitted keep a row with NaN estimates and the reason in ``note``.
    The first row (``level == "all"``) is the pooled model.
    """
    if features is None:
        from ..metrics.features import default_controls
        from ..core.sources import open_tables

        tables = open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con)
        base = _check_list(controls) if controls is not None else default_controls(tables["customers"].columns)
        features = customer_features(tables["contacts"], tables["customers"], window=window, cutoff=cutoff,
                                     controls=list(dict.fromkeys(base + [by])), tz=tz, con=tables.con)
    if by not in features.columns:
        raise ParameterError(f"cannot split by {by!r}: it is not a segment column of the feature table")
    if controls is None:
        from ..metrics.features import default_controls

        controls = default_controls(features.columns)
    base_controls = [c for c in _check_list(controls) if c != by]
    rows = []
    parts = [("all", features)] + [(str(level), part) for level, part in
                                   sorted(features.groupby(by, observed=True), key=lambda kv: str(kv[0]))]
    for level, part in parts:
        part = part.copy()
        part.attrs = dict(features.attrs)
        use = base_controls + ([by] if level == "all" else [])
        row = {"segment": by, "level": level, "customers": len(part), "churned": int(part["churned"].sum())}
        try:
            r = fit_churn(part, controls=use)
            row.update(odds_ratio=r.odds_ratio, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value, note="")
        except KitError as exc:
            row.update(odds_ratio=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan, note=str(exc))
        rows.append(row)
    return pd.DataFrame(rows)


def _check_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def churn_sentence(r: ChurnEffect) -> str:
    cut = f"{r.cutoffs[0]:%Y-%m-%d}" if len(r.cutoffs) == 1 else f"{len(r.cutoffs)} cutoffs"
    pct_change = r.odds_ratio - 1
    direction = "higher" if pct_change >= 0 else "lower"
    text = (f"Among {r.n_customers:,} customers ({r.n_churned:,} churned), each additional {r.feature} in the "
            f"{r.window_days} days before {cut} is associated with {nv.pct(abs(pct_change))} {direction} odds of "
            f"churning in the following {r.window_days} days (odds ratio {nv.num(r.odds_ratio)}, "
            f"{_ci(r.ci_low, r.ci_high)}, {_p_text(r.p_value)}), controlling for {_controls_text(r.controls)}.")
    if r.ci_low <= 1 <= r.ci_high:
        text += " The interval includes 1, so the data are consistent with no association."
    return text + " This is an association, not proof that contacts cause churn."


# --------------------------------------------------------------------------- CSAT
@dataclass(frozen=True, eq=False, kw_only=True)
class CsatEffect(_Effect):
    """Change in mean CSAT score per +1 contact per month (survey-level OLS slope, CR2 errors by customer).

    ``table`` has one row per model term with ``df``, the Bell-McCaffrey degrees of freedom
    of its t reference distribution.
    """

    slope: float
    spearman: dict = field(default_factory=dict)
    n_surveys: int = 0

    def sentence(self) -> str:
        return csat_sentence(self)

    def plot(self, ax=None):
        """Mean CSAT per contact-frequency bucket with 95% intervals (clustered by customer)."""
        return plot_binned(self.binned, y="mean_score", lo="ci_low", hi="ci_high", ax=ax,
                           ylabel=f"mean CSAT in the next {self.window_days} days", percent=False,
                           title="CSAT by contact frequency")


def binned_csat(features: pd.DataFrame, *, bins=DEFAULT_BINS, x: str = X, level: float = 0.95) -> pd.DataFrame:
    """Mean survey score per contact-frequency bucket; intervals treat each customer as a cluster.

    Examples
    --------
    >>> f = pd.DataFrame({"contacts_per_month": [0, 0], "surveys": [1, 2], "csat_sum": [5.0, 6.0]})
    >>> binned_csat(f)[["bucket", "respondents", "surveys", "mean_score"]].to_dict("records")
    [{'bucket': '0', 'respondents': 2, 'surveys': 3, 'mean_score': 3.6666666666666665}]
    """
    f = features[features["surveys"] > 0]
    f = f.assign(bucket=bucketize(f[x], bins).astype(str))
    rows = []
    for bucket, part in f.groupby("bucket", sort=False):
        g, n = len(part), part["surveys"].sum()
        mean = part["csat_sum"].sum() / n
        resid = part["csat_sum"] - mean * part["surveys"]
        se = math.sqrt(g / (g - 1) * float((resid**2).sum())) / n if g > 1 else np.nan
        crit = stats.t.ppf(0.5 + level / 2, g - 1) if g > 1 else np.nan
        rows.append({"bucket": bucket, "respondents": g, "surveys": int(n), "mean_score": float(mean),
                     "ci_low": mean - crit * se, "ci_high": mean + crit * se,
                     "mean_contacts_per_month": float(part[x].mean())})
    order = {b: i for i, b in enumerate(bucket_labels(bins))}
    out = pd.DataFrame(rows, columns=["bucket", "respondents", "surveys", "mean_score", "ci_low", "ci_high",
                                      "mean_contacts_per_month"])
    return out.sort_values("bucket", key=lambda s: s.map(order)).reset_index(drop=True)


def _cr2(exog: np.ndarray, y: np.ndarray, w: np.ndarray, clusters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WLS coefficients, CR2 standard errors and Bell-McCaffrey degrees of freedom per term.

    CR2 (Bell & McCaffrey 2002) scales each cluster's whitened residuals by
    ``(I - H_gg)^(-1/2)``, which undoes the shrinkage of residuals at high-leverage
    clusters; with one row per cluster it is exactly HC2. The reference distribution is
    Student t with the Satterthwaite degrees of freedom of that variance estimate under
    iid errors, ``tr(B)^2 / tr(B^2)``, which is small when a few clusters dominate the slope
    (Imbens & Kolesar 2016). Traces are computed in O(n k^2), without n x n matrices.
    Rows of a cluster with leverage 1 get weight 0 (pseudo-inverse), as in clubSandwich.
    """
    sw = np.sqrt(w)
    xw, yw = exog * sw[:, None], y * sw
    q, r = np.linalg.qr(xw)
    if np.min(np.abs(np.diag(r))) < 1e-10 * max(np.max(np.abs(np.diag(r))), 1e-300):
        raise AnalysisError("the CSAT model terms duplicate each other (a control is constant or collinear with "
                            "contacts per month among surveyed customers); use fewer controls or more customers")
    beta = np.linalg.solve(r, q.T @ yw)
    e = yw - xw @ beta
    a = q @ np.linalg.inv(r).T  # row i: x_i' (X'X)^-1 in whitened units
    codes, _ = pd.factorize(pd.Series(clusters).to_numpy())
    sizes = np.bincount(codes)
    et, at = e.copy(), a.copy()  # (I - H_gg)^(-1/2) applied per cluster
    single = sizes[codes] == 1
    h = np.einsum("ij,ij->i", q, q)
    s = np.where(1 - h > 1e-10, 1 / np.sqrt(np.clip(1 - h, 1e-10, None)), 0.0)
    et[single], at[single] = e[single] * s[single], a[single] * s[single, None]
    for m in np.unique(sizes[sizes > 1]):
        rows = np.flatnonzero(sizes[codes] == m)
        idx = rows[np.argsort(codes[rows], kind="stable")].reshape(-1, m)
        qg = q[idx]
        lam, vec = np.linalg.eigh(np.eye(m) - qg @ qg.transpose(0, 2, 1))
        inv = np.where(lam > 1e-10, 1 / np.sqrt(np.clip(lam, 1e-10, None)), 0.0)
        sg = (vec * inv[:, None, :]) @ vec.transpose(0, 2, 1)
        et[idx] = np.einsum("gij,gj->gi", sg, e[idx])
        at[idx] = sg @ a[idx]
    g = len(sizes)
    score = np.zeros((g, a.shape[1]))
    np.add.at(score, codes, a * et[:, None])  # x_g' (X'X)^-1 A_g e_g
    cov = score.T @ score
    dof = np.empty(a.shape[1])
    for j in range(a.shape[1]):
        u = at[:, j]
        d = np.bincount(codes, weights=u**2, minlength=g)
        mt = np.zeros((g, q.shape[1]))
        np.add.at(mt, codes, q * u[:, None])  # column g of Q'U
        m2 = np.einsum("gk,gk->g", mt, mt)
        tr_b = d.sum() - m2.sum()
        tr_b2 = (d**2).sum() - 2 * (d * m2).sum() + np.sum((mt.T @ mt) ** 2)
        dof[j] = tr_b**2 / tr_b2 if tr_b2 > 0 else np.nan
    return beta, np.sqrt(np.clip(np.diag(cov), 0, None)), dof


def fit_csat(features: pd.DataFrame, *, controls=None, bins=DEFAULT_BINS) -> CsatEffect:
    """Survey score on contacts per month: WLS of customer means, CR2 errors, Bell-McCaffrey t.

    Uses the per-customer sums from :func:`kit.metrics.features.customer_features`: weighted least
    squares of each customer's mean score (weights = number of surveys) gives exactly the
    survey-level OLS slope. Standard errors are cluster-robust by customer with the CR2
    small-sample correction, and p-values and intervals use Student t with Bell-McCaffrey
    degrees of freedom (see :func:`_cr2`). With one cutoff this is WLS with HC2 errors.

    Why not the usual clustered (CR1, normal) errors: surveys are sent after contacts, so
    the customers who contact most also answer most surveys and dominate the slope; with a
    few such high-leverage customers CR1 is too small. On 340 samples without any planted
    effect (600 customers, 12 months, ~150 surveyed customers) CR1 called the slope
    significant at 5% in 10.0% of them (8.0% over 3,400 redrawn null score sets on the same
    designs); HC3 with t(n - k) in 7.9% (5.7%); CR2 with Bell-McCaffrey t in 6.5% (5.2%),
    so this is the estimator used. Its degrees of freedom (often 10-30 in such samples,
    hundreds on the default sample) widen the interval exactly when few customers carry it.
    """
    if "surveys" not in features.columns:
        raise ParameterError("the feature table has no survey columns; pass surveys= when building it")
    attrs = features.attrs
    controls = list(attrs.get("controls", [])) if controls is None else list(controls)
    numeric = list(attrs.get("numeric_controls", []))
    resp = features[features["surveys"] > 0]
    g, n_surveys = len(resp), int(resp["surveys"].sum())
    cutoffs = tuple(attrs.get("cutoffs", ()))
    if g < MIN_RESPONDENTS:
        raise AnalysisError(f"only {g} customer(s) in the population answered a survey in the outcome window; "
                            f"the CSAT model needs at least {MIN_RESPONDENTS}. Use a longer window or rolling cutoffs")
    scores_sd = np.sqrt(np.maximum(resp["csat_sumsq"].sum() / n_surveys - (resp["csat_sum"].sum() / n_surveys) ** 2, 0))
    if scores_sd < 1e-12:
        raise AnalysisError(f"every CSAT score in the outcome window is {resp['csat_sum'].sum() / n_surveys:g}; "
                            "a constant score has no relation to estimate")
    if np.ptp(resp[X].to_numpy(dtype=float)) == 0:
        raise AnalysisError("every surveyed customer has the same contacts per month; the CSAT slope cannot be estimated")
    df, exog, used, notes = _design(resp, controls, numeric, None)
    y = (df["csat_sum"] / df["surveys"]).to_numpy(dtype=float)
    w = df["surveys"].to_numpy(dtype=float)
    k = exog.shape[1]
    clusters = df["customer_id"].to_numpy() if "customer_id" in df.columns else np.arange(len(df))
    params, bse, dof = _cr2(exog.to_numpy(dtype=float), y, w, clusters)
    if len(cutoffs) > 1:
        notes.append("rolling cutoffs are stacked; standard errors are clustered by customer across cutoffs")

    class _R:  # the coefficient table only needs params and bse
        pass

    _R.params, _R.bse = params, bse
    table = _coef_table(_R, list(exog.columns), exp=False, df_resid=dof)
    table.insert(table.columns.get_loc("p_value"), "df", dof)
    row = table.set_index("term").loc[X]
    if not np.isfinite(row["std_err"]) or not np.isfinite(row["df"]) or row["std_err"] <= 0:
        raise AnalysisError("the CSAT slope's standard error cannot be estimated (a single customer carries it); "
                            "use a longer window, rolling cutoffs or more customers")
    rho = correlation(resp[X], resp["csat_sum"] / resp["surveys"], method="spearman")
    if g < EVENTS_PER_TERM * k:
        notes.append(f"only {g} surveyed customers for {k} model terms; the estimate is weak")
    if row["df"] < 10:
        notes.append(f"the slope rests on few customers (about {row['df']:.0f} effective degrees of freedom), "
                     "so its interval is wide")
    return CsatEffect(
        slope=float(row["coef"]), ci_low=float(row["ci_low"]), ci_high=float(row["ci_high"]),
        p_value=float(row["p_value"]), table=table, binned=binned_csat(features, bins=bins), spearman=rho,
        n_customers=g, n_surveys=n_surveys, cutoffs=cutoffs, window_days=int(attrs.get("window_days", 90)),
        controls=tuple(used), notes=tuple(list(attrs.get("notes", [])) + notes), features=features,
    )


def csat_effect(contacts, customers, surveys, *, window=DEFAULT_WINDOW, cutoff=None, controls=None,
                bins=DEFAULT_BINS, tz: str = DEFAULT_TZ, mapping=None, con=None) -> CsatEffect:
    """Change in CSAT (responses in the window after ``cutoff``) per +1 contact per month before it.

    Returns
    -------
    CsatEffect
        ``slope, ci_low, ci_high, p_value`` (score points per +1 contact per month,
        customer-clustered), ``table``, ``binned`` (mean score per bucket), ``spearman``
        (per-customer mean score vs contacts per month, with a Fisher interval).

    Examples
    --------
    >>> from kit.sample.generator import generate
    >>> s = generate(customers=3000, months=12)
    >>> r = csat_effect(s.contacts, s.customers, s.surveys)
    >>> r.slope < 0
    True
    """
    f = customer_features(contacts, customers, surveys=surveys, window=window, cutoff=cutoff, controls=controls,
                          tz=tz, mapping=mapping, con=con)
    return fit_csat(f, bins=bins)


def csat_sentence(r: CsatEffect) -> str:
    cut = f"{r.cutoffs[0]:%Y-%m-%d}" if len(r.cutoffs) == 1 else f"{len(r.cutoffs)} cutoffs"
    word = "lower" if r.slope < 0 else "higher"
    text = (f"Across {r.n_surveys:,} survey responses from {r.n_customers:,} customers, each additional inbound "
            f"contact per month in the {r.window_days} days before {cut} is associated with a CSAT score "
            f"{nv.num(abs(r.slope))} points {word} in the following {r.window_days} days "
            f"({_ci(r.ci_low, r.ci_high)}, {_p_text(r.p_value)}), controlling for {_controls_text(r.controls)}")
    rho = r.spearman or {}
    if np.isfinite(rho.get("r", np.nan)):
        text += f"; Spearman rank correlation {nv.num(rho['r'])} ({_ci(rho['ci_low'], rho['ci_high'])})"
    text += "."
    if r.ci_low <= 0 <= r.ci_high:
        text += " The interval includes 0, so the data are consistent with no association."
    return text


# --------------------------------------------------------------------------- accounts
@dataclass(frozen=True, eq=False)
class TouchpointEffect:
    """CSM outbound touchpoints per month of strategic accounts against churn in the next window."""

    accounts: pd.DataFrame = field(repr=False)
    by_band: pd.DataFrame = field(repr=False)
    odds_ratio: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    n_accounts: int = 0
    n_churned: int = 0
    cutoffs: tuple = ()
    window_days: int = 90
    notes: tuple = ()

    def sentence(self) -> str:
        cut = f"{self.cutoffs[0]:%Y-%m-%d}" if len(self.cutoffs) == 1 else f"{len(self.cutoffs)} cutoffs"
        low = self.by_band.loc[self.by_band["band"] == "at risk", "accounts"].sum()
        text = (f"{self.n_accounts} strategic accounts had a median of "
                f"{nv.num(float(self.accounts['touchpoints_per_month'].median()), 1)} CSM touchpoints per month "
                f"in the {self.window_days} days before {cut}; {int(low)} were below 4 per month (at risk). ")
        if np.isfinite(self.odds_ratio):
            text += (f"Each additional touchpoint per month is associated with an odds ratio of churn of "
                     f"{nv.num(self.odds_ratio)} ({_ci(self.ci_low, self.ci_high)}, {_p_text(self.p_value)}) "
                     "(more touchpoints are expected to go with less churn).")
        else:
            text += (f"{self.n_churned} of them churned in the following {self.window_days} days, so the link "
                     "between touchpoints and renewal cannot be estimated from this data yet.")
        return text

    def plot(self, ax=None):
        return plot_touchpoints(self, ax=ax)


def _band(x: float) -> str:
    for name, lo, hi in ACCOUNT_BANDS:
        if lo <= x < hi:
            return name
    return ACCOUNT_BANDS[-1][0]


def touchpoint_effect(contacts, customers, *, strategic: str = "strategic", window=DEFAULT_WINDOW, cutoff=None,
                      tz: str = DEFAULT_TZ, mapping=None, con=None) -> TouchpointEffect:
    """Outbound CSM touchpoints per month before ``cutoff`` vs churn after it, for strategic accounts.

    Parameters
    ----------
    strategic : str
        Boolean-like customers column marking strategic accounts.

    Returns
    -------
    TouchpointEffect
        ``accounts`` (one row per account: touchpoints per month, band, churned), ``by_band``
        (churn rate per band with Wilson intervals) and, when estimable, the odds ratio of churn
        per +1 touchpoint per month (the expected sign is below 1). When no account churned,
        or all did, the odds ratio is NaN and ``notes`` says why.
    """
    f = customer_features(contacts, customers, window=window, cutoff=cutoff, controls=[strategic],
                          direction="outbound", tz=tz, mapping=mapping, con=con)
    flag = f[strategic].astype(str).str.strip().str.lower().isin(["true", "1", "yes", "y", "t", "1.0"])
    acc = f[flag].copy()
    notes = list(f.attrs.get("notes", []))
    if acc.empty:
        raise AnalysisError(f"no customer with {strategic} = true is in the population at the cutoff; "
                            "mark strategic accounts in the customers table")
    acc = acc.rename(columns={"contacts": "touchpoints", "contacts_per_month": "touchpoints_per_month"})
    acc["band"] = acc["touchpoints_per_month"].map(_band)
    acc = acc[["customer_id", "cutoff", "tenure_years", "touchpoints", "touchpoints_per_month", "band", "churned"]]
    bands = pd.DataFrame({"band": [b[0] for b in ACCOUNT_BANDS]})
    by = acc.groupby("band").agg(accounts=("churned", "size"), churned=("churned", "sum")).reset_index()
    by = bands.merge(by, on="band", how="left").fillna({"accounts": 0, "churned": 0})
    by[["accounts", "churned"]] = by[["accounts", "churned"]].astype("int64")
    by["churn_rate"] = by["churned"] / by["accounts"].where(by["accounts"] > 0)
    by["ci_low"], by["ci_high"] = wilson(by["churned"], by["accounts"])
    n, k = len(acc), int(acc["churned"].sum())
    est = dict(odds_ratio=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan)
    if k == 0 or k == n:
        notes.append(f"{'none' if k == 0 else 'all'} of the {n} strategic accounts churned in the outcome window; "
                     "the touchpoint odds ratio is not estimable (renewals may fall after the data)")
    else:
        sub = f[flag].copy()
        sub["contacts_per_month"] = sub["contacts_per_month"]
        sub.attrs = dict(f.attrs, controls=[], direction="outbound")
        try:
            r = fit_churn(sub, controls=[])
            est = dict(odds_ratio=r.odds_ratio, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value)
            notes.extend(n_ for n_ in r.notes if n_ not in notes)
        except KitError as exc:
            notes.append(str(exc))
    return TouchpointEffect(accounts=acc.reset_index(drop=True), by_band=by, n_accounts=n, n_churned=k,
                            cutoffs=tuple(f.attrs["cutoffs"]), window_days=f.attrs["window_days"],
                            notes=tuple(notes), **est)


# --------------------------------------------------------------------------- period level
def period_series(contacts, customers, surveys=None, *, freq: str = "month", tz: str = DEFAULT_TZ,
                  mapping=None, con=None) -> pd.DataFrame:
    """Per complete period: contact frequency, mean CSAT (and NPS), churned customers and churn rate.

    Partial first and last periods are dropped so that a short period never looks quiet.
    """
    from ..core import engine
    from ..core import periods
    from ..metrics.frequency import contact_frequency
    from ..core.prepare import REASON, classify_customers
    from ..core.sources import open_tables
    import ibis

    tables = open_tables(contacts=contacts, customers=customers, surveys=surveys, mapping=mapping, con=con)
    con = tables.con
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    fr = contact_frequency(tables["contacts"], tables["customers"], freq=grain, tz=tz, con=con)
    if fr.empty:
        raise AnalysisError("no contacts remain after exclusions; the period series is empty")
    out = fr[["period", "frequency", "contacts", "active_customers"]].copy()
    cust = classify_customers(tables["customers"])
    ok = cust.filter(cust[REASON].isnull() & cust.churn.notnull())
    churn = engine.fetch(con, ok.group_by(ok.churn.truncate(unit).cast("date").name("period"))
                         .aggregate(churned=ok.count()))
    churn["period"] = pd.to_datetime(churn["period"])
    out = out.merge(churn, on="period", how="left")
    out["churned"] = out["churned"].fillna(0).astype("int64")
    out["churn_rate"] = out["churned"] / out["active_customers"].where(out["active_customers"] > 0)
    last_day = pd.Timestamp(fr["period"].max())
    if tables.get("surveys") is not None:
        s = tables["surveys"].table
        local = engine.local_time(engine.parse_instant(s.responded_at))
        score = s.score.cast("float64") if s.score.type().is_numeric() else s.score.try_cast("float64")
        s = s.mutate(_local=local, _score=score)
        s = s.filter(s._local.notnull() & s._score.notnull())
        aggs = dict(responses=s.count(), csat=s._score.mean())
        if "nps" in s.columns:
            nps = s.nps.cast("float64") if s.nps.type().is_numeric() else s.nps.try_cast("float64")
            aggs.update(_nps_n=nps.count(), _prom=(nps >= 9).sum(), _detr=(nps <= 6).sum())
        sv = engine.fetch(con, s.group_by(s._local.truncate(unit).cast("date").name("period")).aggregate(**aggs))
        sv["period"] = pd.to_datetime(sv["period"])
        if "_nps_n" in sv.columns:
            sv["nps"] = 100 * (sv["_prom"] - sv["_detr"]) / sv["_nps_n"].where(sv["_nps_n"] > 0)
            sv = sv.drop(columns=["_nps_n", "_prom", "_detr"])
        out = out.merge(sv, on="period", how="left")
        last_day = max(last_day, sv["period"].max()) if len(sv) else last_day
    # Completeness: the data must cover the whole first and last period.
    c = tables["contacts"].table
    span = engine.fetch(con, c.aggregate(first=engine.local_time(engine.parse_instant(c.created_at)).min(),
                                         last=engine.local_time(engine.parse_instant(c.created_at)).max()))
    first_ts, last_ts = pd.Timestamp(span["first"].iloc[0]).normalize(), pd.Timestamp(span["last"].iloc[0]).normalize()
    keep = (out["period"] >= first_ts) & (out["period"].map(lambda p: periods.period_end(p, grain)) <= last_ts)
    dropped = int((~keep).sum())
    out = out[keep].reset_index(drop=True)
    out.attrs.update(freq=grain, dropped_partial=dropped, ledger=fr.attrs.get("ledger"))
    _ = ibis  # the engine work above is expressed in Ibis
    return out


def _seasonally_adjust(series: pd.Series, grain: str):
    """Seasonally adjusted series from kit.analysis.seasonality when it can, else (None, reason)."""
    from ..core import periods

    per_year = int(round(periods.GRAINS[grain][2]))
    if per_year < 2:
        return None, "yearly data has no seasonality to remove"
    if len(series.dropna()) < 2 * per_year:
        return None, f"fewer than {2 * per_year} periods, too short to estimate seasonality"
    try:
        from . import seasonality
    except ImportError:
        return None, "kit.analysis.seasonality is not available"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = seasonality.decompose(series, period=per_year, grain=grain)
    except KitError as exc:
        return None, f"seasonal decomposition failed ({exc})"
    except Exception as exc:  # noqa: BLE001 - a sibling module; never let it break the driver report
        return None, f"seasonal decomposition failed ({type(exc).__name__})"
    for name in ("adjusted", "seasonally_adjusted", "deseasonalized", "sa"):
        val = getattr(res, name, None)
        if val is None and isinstance(res, pd.DataFrame) and name in res.columns:
            val = res[name]
        if val is not None:
            if isinstance(val, pd.Series) and len(val) != len(series):
                val = val.reindex(series.index)
            val = pd.Series(np.asarray(val, dtype=float), index=series.index).where(series.notna())
            return val, "seasonally adjusted"
    if hasattr(res, "seasonal"):
        return series - pd.Series(np.asarray(res.seasonal, dtype=float), index=series.index), "seasonally adjusted"
    return None, "kit.analysis.seasonality.decompose returned no adjusted series"


def period_correlation(contacts, customers, surveys=None, *, freq: str = "month", lags: int = 3,
                       adjust: str = "auto", tz: str = DEFAULT_TZ, mapping=None, con=None,
                       series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Correlation of period contact frequency with CSAT, NPS and churn rate, at lags 0..``lags``.

    Raw levels of two seasonal series correlate for no reason, so each series is first
    seasonally adjusted (:func:`kit.analysis.seasonality.decompose`) and then first-differenced
    (``adjust="auto"``; it falls back to first differences alone when decomposition is not
    possible). ``"difference"`` forces first differences only, ``"seasonal"`` seasonal
    adjustment only. Lag ``k`` pairs frequency in period ``t`` with the outcome in ``t + k``.

    Returns
    -------
    pandas.DataFrame
        One row per outcome and lag: ``outcome, lag, n, pearson, pearson_ci_low,
        pearson_ci_high, pearson_p, spearman, spearman_ci_low, spearman_ci_high, spearman_p,
        adjustment, weak``. ``attrs["notes"]`` explains the adjustment and weak estimates;
        ``attrs["series"]`` holds the period series used.
    """
    if adjust not in ("auto", "difference", "seasonal"):
        raise ParameterError(f"adjust must be auto, difference or seasonal, not {adjust!r}")
    if not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ParameterError(f"lags must be a non-negative integer, not {lags!r}")
    data = series if series is not None else period_series(contacts, customers, surveys, freq=freq, tz=tz,
                                                           mapping=mapping, con=con)
    grain = data.attrs.get("freq", freq)
    outcomes = [c for c in ("csat", "nps", "churn_rate") if c in data.columns and data[c].notna().sum() > 0]
    notes: list[str] = []
    adjusted = {}
    how = {}
    for col in ["frequency", *outcomes]:
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
                notes.append(f"{col}: {why}; used first differences, which remove trend but not a shared "
                             "seasonal pattern")
    rows = []
    x = adjusted["frequency"]
    for col in outcomes:
        for k in range(lags + 1):
            y = adjusted[col].shift(-k)
            p = correlation(x, y, method="pearson")
            s_ = correlation(x, y, method="spearman")
            rows.append({"outcome": col, "lag": k, "n": p["n"], "pearson": p["r"], "pearson_ci_low": p["ci_low"],
                         "pearson_ci_high": p["ci_high"], "pearson_p": p["p_value"], "spearman": s_["r"],
                         "spearman_ci_low": s_["ci_low"], "spearman_ci_high": s_["ci_high"],
                         "spearman_p": s_["p_value"], "adjustment": how[col], "weak": p["n"] < WEAK_PERIODS})
    out = pd.DataFrame(rows, columns=["outcome", "lag", "n", "pearson", "pearson_ci_low", "pearson_ci_high",
                                      "pearson_p", "spearman", "spearman_ci_low", "spearman_ci_high", "spearman_p",
                                      "adjustment", "weak"])
    if "churn_rate" in outcomes:
        notes.append("customers who churn count as active in their last period but contact less in it, which "
                     "pulls the same-period (lag 0) correlation with the churn rate down; read lags 1-3 too")
    if not outcomes:
        notes.append("no CSAT, NPS or churn series is available to correlate with")
    elif out["weak"].any():
        notes.append(f"only {int(out['n'].min())} usable periods: with fewer than about {WEAK_PERIODS}, "
                     "period-level correlations are weak estimates; rely on the customer-level analysis")
    out.attrs.update(notes=notes, series=data, freq=grain)
    return out


def period_sentence(corr: pd.DataFrame) -> str:
    if corr.empty:
        return "No period-level outcome series was available."
    parts = []
    names = {"csat": "mean CSAT", "nps": "NPS", "churn_rate": "the churn rate"}
    for outcome, g in corr.groupby("outcome", sort=False):
        r0 = g[g["lag"] == 0].iloc[0]
        parts.append(f"{names.get(outcome, outcome)} (r = {nv.num(r0['pearson'])}, "
                     f"{_ci(r0['pearson_ci_low'], r0['pearson_ci_high'])})")
    g0 = corr.iloc[0]
    text = (f"Period to period ({g0['adjustment']} series, {int(g0['n'])} periods), contact frequency is "
            f"correlated with {nv.join(parts)} in the same period.")
    if corr["weak"].any():
        text += " With this few periods these are weak estimates."
    return text


# --------------------------------------------------------------------------- one-call report
@dataclass(frozen=True, eq=False)
class DriverReport:
    """Everything the CSAT/churn notebook shows, computed once."""

    churn: ChurnEffect | None
    csat: CsatEffect | None
    by_segment: pd.DataFrame | None
    periods: pd.DataFrame | None
    touchpoints: TouchpointEffect | None
    problems: dict = field(default_factory=dict)

    def narrative(self) -> list[str]:
        return narrative(self)


def analyze(contacts, customers, surveys=None, *, window=DEFAULT_WINDOW, cutoff=None, controls=None,
            segment: str | None = "tier", freq: str = "month", strategic: str = "strategic",
            tz: str = DEFAULT_TZ, mapping=None, con=None) -> DriverReport:
    """Run every driver analysis once; a part that cannot be computed is ``None`` with its reason in ``problems``.

    Examples
    --------
    >>> from kit.sample.generator import generate
    >>> s = generate(customers=3000, months=12)
    >>> rep = analyze(s.contacts, s.customers, s.surveys)
    >>> "associated with" in rep.narrative()[0]
    True
    """
    from ..core.sources import open_tables

    tables = open_tables(contacts=contacts, customers=customers, surveys=surveys, mapping=mapping, con=con)
    c, u, s, con = tables["contacts"], tables["customers"], tables.get("surveys"), tables.con
    problems: dict[str, str] = {}
    ctrl = _check_list(controls) if controls is not None else None
    wanted = None
    if segment:
        if segment not in u.columns:
            problems["by_segment"] = f"customers have no {segment!r} column"
            segment = None
        else:
            base = ctrl if ctrl is not None else (["tier"] if "tier" in u.columns else [])
            wanted = list(dict.fromkeys(base + [segment]))
    feats = churn = csat = by = per = touch = None
    try:
        feats = customer_features(c, u, surveys=s, window=window, cutoff=cutoff,
                                  controls=wanted if wanted is not None else ctrl, tz=tz, con=con)
    except KitError as exc:
        problems["features"] = str(exc)
    model_controls = ctrl if ctrl is not None else (["tier"] if "tier" in u.columns else [])
    if feats is not None:
        try:
            churn = fit_churn(feats, controls=model_controls)
        except KitError as exc:
            problems["churn"] = str(exc)
        if s is not None:
            try:
                csat = fit_csat(feats, controls=model_controls)
            except KitError as exc:
                problems["csat"] = str(exc)
        else:
            problems["csat"] = "no surveys table was given"
        if segment:
            by = churn_effect_by(None, None, by=segment, controls=model_controls, features=feats)
    try:
        per = period_correlation(c, u, s, freq=freq, tz=tz, con=con)
    except KitError as exc:
        problems["periods"] = str(exc)
    if strategic in u.columns:
        try:
            touch = touchpoint_effect(c, u, strategic=strategic, window=window, cutoff=cutoff, tz=tz, con=con)
        except KitError as exc:
            problems["touchpoints"] = str(exc)
    else:
        problems["touchpoints"] = f"customers have no {strategic!r} column marking strategic accounts"
    return DriverReport(churn=churn, csat=csat, by_segment=by, periods=per, touchpoints=touch, problems=problems)


def narrative(report: DriverReport) -> list[str]:
    """Plain-language sentences with effect sizes, intervals and the controls used (never causal)."""
    out = []
    if report.churn is not None:
        out.append(report.churn.sentence())
    if report.csat is not None:
        out.append(report.csat.sentence())
    if report.by_segment is not None and len(report.by_segment) > 1:
        seg = report.by_segment.iloc[1:]
        ok = seg[seg["odds_ratio"].notna()]
        if len(ok):
            lo, hi = ok.loc[ok["odds_ratio"].idxmin()], ok.loc[ok["odds_ratio"].idxmax()]
            out.append(f"Fitted separately by {seg['segment'].iloc[0]}, the odds ratio ranges from "
                       f"{nv.num(lo['odds_ratio'])} ({lo['level']}) to {nv.num(hi['odds_ratio'])} ({hi['level']}); "
                       "overlapping intervals mean the segments are not clearly different.")
    if report.periods is not None:
        out.append(period_sentence(report.periods))
    if report.touchpoints is not None:
        out.append(report.touchpoints.sentence())
    for part, why in report.problems.items():
        out.append(f"The {part.replace('_', ' ')} analysis was not possible: {why}.")
    out.append("These figures describe associations in this data; they do not show that contacts cause churn "
               "or dissatisfaction (both may share causes such as product problems).")
    return out


# --------------------------------------------------------------------------- figures
def plot_binned(binned: pd.DataFrame, *, y: str, lo: str, hi: str, ax=None, ylabel: str = "", percent: bool = False,
                title: str = ""):
    """Point and 95% interval per contact-frequency bucket; bucket sizes under the labels."""
    from ..present.plots import new_axes

    fig, ax = new_axes(ax)
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
    return fig


def plot_forest(by_segment: pd.DataFrame, ax=None):
    """Odds ratio per +1 contact per month with 95% CI, pooled and per segment level (log scale)."""
    from ..present.plots import new_axes

    fig, ax = new_axes(ax, figsize=(8, 0.5 * len(by_segment) + 1.5))
    d = by_segment.reset_index(drop=True)
    pos = np.arange(len(d))[::-1]
    ok = d["odds_ratio"].notna().to_numpy()
    ax.errorbar(d.loc[ok, "odds_ratio"], pos[ok],
                xerr=[d.loc[ok, "odds_ratio"] - d.loc[ok, "ci_low"], d.loc[ok, "ci_high"] - d.loc[ok, "odds_ratio"]],
                fmt="s", capsize=4)
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log")
    labels = [f"{lvl} (n={n:,}, churned {k:,})" + ("" if has else " — not estimable")
              for lvl, n, k, has in zip(d["level"], d["customers"], d["churned"], ok)]
    ax.set_yticks(pos, labels)
    ax.set_xlabel("odds ratio of churn per +1 contact per month (log scale)")
    ax.set_title(f"Churn odds ratio by {d['segment'].iloc[0]}" if len(d) else "Churn odds ratio")
    return fig


def plot_lags(corr: pd.DataFrame, ax=None):
    """Pearson correlation (95% CI) of adjusted frequency with each outcome at lags 0..k."""
    from ..present.plots import new_axes

    fig, ax = new_axes(ax)
    outcomes = list(dict.fromkeys(corr["outcome"]))
    width = 0.8 / max(len(outcomes), 1)
    for i, outcome in enumerate(outcomes):
        g = corr[corr["outcome"] == outcome]
        pos = g["lag"].to_numpy() + (i - (len(outcomes) - 1) / 2) * width
        ax.bar(pos, g["pearson"], width=width * 0.9, label=outcome)
        ax.errorbar(pos, g["pearson"], yerr=np.nan_to_num(np.vstack([g["pearson"] - g["pearson_ci_low"],
                                                                      g["pearson_ci_high"] - g["pearson"]])),
                    fmt="none", ecolor="black", capsize=3)
    ax.axhline(0, color="grey", lw=1)
    ax.set_ylim(-1, 1)
    ax.set_xticks(sorted(corr["lag"].unique()))
    ax.set_xlabel("lag (outcome k periods after frequency)")
    ax.set_ylabel("correlation (adjusted series)")
    ax.set_title("Lagged correlation of contact frequency with outcomes")
    if outcomes:
        ax.legend()
    return fig


def plot_touchpoints(effect: TouchpointEffect, ax=None):
    """Strategic accounts: CSM touchpoints per month (band shading), churned accounts marked."""
    from ..present.plots import BAND_COLORS, new_axes

    fig, ax = new_axes(ax)
    acc = effect.accounts.sort_values("touchpoints_per_month").reset_index(drop=True)
    top = max(float(acc["touchpoints_per_month"].max()) * 1.1, 12)
    for name, lo, hi in ACCOUNT_BANDS:
        ax.axhspan(lo, min(hi, top), color=BAND_COLORS.get(name, "#dddddd"), alpha=0.12, lw=0)
        ax.text(len(acc) - 0.5, (lo + min(hi, top)) / 2, name, ha="right", va="center", fontsize=8)
    colors = np.where(acc["churned"], "#d55e00", "#0072b2")
    ax.scatter(np.arange(len(acc)), acc["touchpoints_per_month"], c=colors, zorder=3)
    ax.set_ylim(0, top)
    ax.set_xticks([])
    ax.set_xlabel(f"strategic accounts (orange: churned in the next {effect.window_days} days)")
    ax.set_ylabel("CSM touchpoints per month")
    ax.set_title("Strategic accounts: touchpoints before the cutoff")
    return fig
