"""Churn and contact frequency: odds ratio per +1 contact per month, overall and per segment.

:func:`churn_effect` fits a logistic regression of churn in the outcome window on contacts per
month in the feature window before a cutoff, with segment and tenure controls; features come
from :func:`kit.metrics.features.customer_features` (time runs forward only). It reports an
association, never a cause.

Examples
--------
>>> from kit.sample import generate
>>> s = generate(customers=3000, months=12)
>>> r = churn_effect(s.contacts, s.customers, gap=0)  # the sample plants 1.35 in the no-gap design
>>> r.ci_low < 1.35 < r.ci_high
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..core.dataset import TableSource, accepts_dataset
from ..core.results import Result, frame_of
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, MappingSpec
from ..errors import AnalysisError, KitError, ParameterError
from ..metrics.features import DEFAULT_GAP, DEFAULT_WINDOW, Features, customer_features, default_controls
from ..present import narrative as nv
from .effects import (
    DEFAULT_BINS,
    EVENTS_PER_TERM,
    MIN_CUSTOMERS,
    MIN_EVENTS,
    Effect,
    X,
    as_features,
    as_list,
    bucketize,
    ci_text,
    coef_table,
    controls_text,
    cutoff_text,
    design,
    evidence_text,
    fit,
    plot_binned,
    wilson,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class ChurnEffect(Effect):
    """Odds ratio of churn per +1 contact per month, from a logistic regression.

    ``table`` is the full coefficient table (log-odds and odds ratios); ``binned`` the churn
    rate per contact-frequency bucket with Wilson intervals.
    """

    odds_ratio: float
    n_churned: int = 0
    feature: str = "inbound contact per month"
    gap_days: int = 0
    left_out_in_gap: int = 0

    def describe(self) -> str:
        """A plain-language sentence with the effect, its interval and the controls (never causal)."""
        change = self.odds_ratio - 1
        direction = "higher" if change >= 0 else "lower"
        later = (
            f"in the {self.window_days} days starting {self.gap_days} days later"
            if self.gap_days
            else f"in the following {self.window_days} days"
        )
        text = (
            f"Among {self.n_customers:,} customers ({self.n_churned:,} churned), each additional {self.feature} "
            f"in the {self.window_days} days before {cutoff_text(self.cutoffs)} is associated with "
            f"{nv.pct(abs(change))} {direction} odds of churning {later} "
            f"(odds ratio {nv.num(self.odds_ratio)}, {ci_text(self.ci_low, self.ci_high)}, "
            f"{evidence_text(self.p_value)}), controlling for {controls_text(self.controls)}."
        )
        if self.gap_days:
            text += (
                f" The {self.gap_days}-day gap keeps the contacts customers make while leaving out of the features "
                f"({self.left_out_in_gap:,} customer(s) who churned inside it were left out)."
            )
        if self.ci_low <= 1 <= self.ci_high:
            text += " The interval includes 1, so the data are consistent with no association."
        text += (
            f" One {self.window_days}-day window is a noisy measure of a customer's usual contact rate, so the odds "
            "ratio understates the underlying association (in simulations a true 1.2 reads about 1.13)."
        )
        return text + " This is an association, not proof that contacts cause churn."

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Churn rate per contact-frequency bucket with 95% Wilson intervals; returns the Axes."""
        return plot_binned(
            self.binned,
            y="churn_rate",
            lo="ci_low",
            hi="ci_high",
            ax=ax,
            ylabel=f"churn rate in the next {self.window_days} days",
            percent=True,
            title="Churn rate by contact frequency",
        )


@dataclass(frozen=True, repr=False, eq=False)
class ChurnBySegment(Result):
    """Odds ratio per +1 contact per month, pooled (first row, ``level == "all"``) and per level of ``segment``.

    ``frame``: ``segment, level, customers, churned, odds_ratio, ci_low, ci_high, p_value, note``.
    """

    frame: pd.DataFrame
    segment: str = ""

    def describe(self) -> str:
        seg = self.frame.iloc[1:]
        ok = seg[seg["odds_ratio"].notna()]
        if not len(ok):
            return f"The churn odds ratio could not be estimated within any {self.segment} level."
        lo, hi = ok.loc[ok["odds_ratio"].idxmin()], ok.loc[ok["odds_ratio"].idxmax()]
        return (
            f"Fitted separately by {self.segment}, the odds ratio ranges from {nv.num(lo['odds_ratio'])} "
            f"({lo['level']}) to {nv.num(hi['odds_ratio'])} ({hi['level']}); "
            "overlapping intervals mean the segments are not clearly different."
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Forest plot: odds ratio with 95% CI, pooled and per level (log scale); returns the Axes."""
        from ..present.plots import new_axes, ratio_axis

        d = self.frame.reset_index(drop=True)
        _, ax = new_axes(ax, figsize=(8, 0.5 * len(d) + 1.5))
        pos = np.arange(len(d))[::-1]
        ok = d["odds_ratio"].notna().to_numpy()
        est = d.loc[ok, "odds_ratio"]
        ax.errorbar(est, pos[ok], xerr=[est - d.loc[ok, "ci_low"], d.loc[ok, "ci_high"] - est], fmt="s", capsize=4)
        ax.axvline(1.0, color="grey", lw=1, ls="--")
        ratio_axis(ax)  # log scale with plain ratio ticks (matplotlib's minor labels overlap on a narrow range)
        labels = [
            f"{lvl} (n={n:,}, churned {k:,})" + ("" if has else " — not estimable")
            for lvl, n, k, has in zip(d["level"], d["customers"], d["churned"], ok)
        ]
        ax.set_yticks(pos, labels)
        ax.set_xlabel("odds ratio of churn per +1 contact per month (1 = no association)")
        ax.set_title(f"Churn odds ratio by {self.segment}" if len(d) else "Churn odds ratio")
        return ax

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"ChurnBySegment({len(self.frame)} rows by {self.segment})"


def binned_churn(
    features: Features | pd.DataFrame, *, bins: Sequence[float] = DEFAULT_BINS, x: str = X
) -> pd.DataFrame:
    """Churn rate per contact-frequency bucket with 95% Wilson intervals.

    Examples
    --------
    >>> f = pd.DataFrame({"contacts_per_month": [0, 0, 1.5, 1.5], "churned": [False, True, True, True]})
    >>> binned_churn(f)[["bucket", "customers", "churned", "churn_rate"]].to_dict("list")
    {'bucket': ['0', '1–2'], 'customers': [2, 2], 'churned': [1, 2], 'churn_rate': [0.5, 1.0]}
    """
    frame = frame_of(features)
    b = bucketize(frame[x], bins)
    g = frame.assign(bucket=b).groupby("bucket", observed=True)
    out = g.agg(
        customers=("churned", "size"), churned=("churned", "sum"), mean_contacts_per_month=(x, "mean")
    ).reset_index()
    out["bucket"] = out["bucket"].astype(str)
    out["churned"] = out["churned"].astype("int64")
    out["churn_rate"] = out["churned"] / out["customers"]
    out["ci_low"], out["ci_high"] = wilson(out["churned"], out["customers"])
    return out


def _check_events(n: int, events: int, when: str) -> None:
    if n < MIN_CUSTOMERS:
        raise AnalysisError(
            f"only {n} customer(s) are in the population {when}; the churn model needs at least "
            f"{MIN_CUSTOMERS}. Use more data, an earlier cutoff or a shorter window"
        )
    if events < MIN_EVENTS or n - events < MIN_EVENTS:
        what = "churned" if events < MIN_EVENTS else "stayed"
        raise AnalysisError(
            f"only {min(events, n - events)} of {n} customers {what} in the outcome window {when}; "
            f"the churn model needs at least {MIN_EVENTS}. Use rolling cutoffs or a longer window"
        )


def _check_separation(xs: np.ndarray, y: np.ndarray) -> None:
    if np.ptp(xs) == 0:
        raise AnalysisError(
            f"every customer in the model has the same contacts per month ({xs[0]:.2f}); the effect cannot be estimated"
        )
    if y.min() == y.max():
        raise AnalysisError(
            "after leaving out segments without churners every remaining customer has the same "
            "outcome; the churn model cannot be fitted"
        )
    x1, x0 = xs[y == 1], xs[y == 0]
    if x1.min() >= x0.max() or x1.max() <= x0.min():
        side = "more" if x1.min() >= x0.max() else "fewer"
        raise AnalysisError(
            f"churn is perfectly separated by contacts per month: every churner had as many or "
            f"{side} contacts than every stayer, so the odds ratio is infinite. Read the binned "
            "view instead, or use more customers or a longer window"
        )


def fit_churn(
    features: Features | pd.DataFrame,
    *,
    controls: str | Sequence[str] | None = None,
    bins: Sequence[float] = DEFAULT_BINS,
    cutoffs: Any = None,
    window_days: int | None = None,
    numeric_controls: str | Sequence[str] | None = None,
    direction: str | None = None,
) -> ChurnEffect:
    """Logistic regression of ``churned`` on contacts per month, segment controls and tenure.

    Parameters
    ----------
    features : Features or pandas.DataFrame
        From :func:`kit.metrics.features.customer_features`. A plain table takes its design
        from the keywords below (cutoffs default to its ``cutoff`` column). With several
        cutoffs (rolling), standard errors are clustered by customer.
    controls : list of str, optional
        Segment columns to control for (default: those the features were built with; none
        for a plain table). Tenure is always a control.
    cutoffs, window_days, numeric_controls, direction
        Override (or, for a plain table, give) the design of the features.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.poisson(2, 400) / 3
    >>> f = pd.DataFrame({"customer_id": range(400), "contacts_per_month": x, "tenure_years": rng.uniform(1, 5, 400),
    ...                   "churned": rng.random(400) < 1 / (1 + np.exp(2 - 0.5 * x))})
    >>> r = fit_churn(f, window_days=90)
    >>> bool(r.ci_low < np.exp(0.5) < r.ci_high), r.controls
    (True, ('tenure',))
    """
    feats = as_features(
        features, cutoffs=cutoffs, window_days=window_days, numeric_controls=numeric_controls, direction=direction
    )
    frame = feats.frame
    controls = list(feats.controls) if controls is None else as_list(controls)
    missing = [c for c in controls if c not in frame.columns]
    if missing:
        raise ParameterError(f"control(s) {', '.join(missing)} are not in the feature table; rebuild it with controls=")
    cutoffs = feats.cutoffs
    when = f"at cutoff {cutoffs[0]:%Y-%m-%d}" if len(cutoffs) == 1 else f"over {len(cutoffs)} cutoffs"
    _check_events(len(frame), int(frame["churned"].sum()), when)
    df, exog, used, notes = design(frame, controls, list(feats.numeric_controls), "churned")
    y = df["churned"].to_numpy(dtype=float)
    _check_separation(exog[X].to_numpy(), y)
    events_used = int(y.sum())
    if min(events_used, len(y) - events_used) < EVENTS_PER_TERM * exog.shape[1]:
        notes.append(
            f"only {min(events_used, len(y) - events_used)} churners for {exog.shape[1]} model terms; "
            "the estimate is weak and its interval approximate"
        )
    groups = None
    if len(cutoffs) > 1:
        groups = pd.factorize(df["customer_id"])[0]
        notes.append(f"{len(cutoffs)} rolling cutoffs are stacked; standard errors are clustered by customer")
    res = fit("logit", y, exog, groups)
    table = coef_table(res.params, res.bse, list(exog.columns), exp=True)
    row = table.set_index("term").loc[X]
    return ChurnEffect(
        odds_ratio=float(row["odds_ratio"]),
        ci_low=float(row["or_ci_low"]),
        ci_high=float(row["or_ci_high"]),
        p_value=float(row["p_value"]),
        table=table,
        binned=binned_churn(frame, bins=bins),
        n_customers=int(len(y)),
        n_churned=events_used,
        cutoffs=cutoffs,
        window_days=int(feats.window_days),
        controls=tuple(used),
        feature=f"{feats.direction} contact per month",
        gap_days=int(getattr(feats, "gap_days", 0)),
        left_out_in_gap=int(getattr(feats, "left_out_in_gap", 0)),
        notes=tuple(list(feats.notes) + notes),
        features=feats,
    )


@accepts_dataset
def churn_effect(
    contacts: TableSource,
    customers: TableSource,
    *,
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    cutoff: Any = None,
    controls: str | Sequence[str] | None = None,
    bins: Sequence[float] = DEFAULT_BINS,
    tz: str | None = None,
    as_of: DateLike = None,
    gap: str | pd.Timedelta | int = DEFAULT_GAP,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> ChurnEffect:
    """Odds ratio of churn in the window after ``cutoff`` per +1 inbound contact per month before it.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables`, or a Dataset first.
    window : str
        Feature and outcome window, whole days (default ``"90D"``).
    cutoff : date-like, list, "rolling" or None
        ``None``: the latest date with a fully observed outcome window.
    controls : list of str, optional
        Segment columns to control for (default ``["tier"]`` when present); tenure is always
        a control.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    as_of : date-like, optional
        Read only the data known at the end of this day (see :func:`kit.core.asof.known_by`); the
        default cutoff then leaves its whole outcome window by ``as_of``.
    gap : str
        Days between the feature window's end (the cutoff) and the outcome window's start
        (default ``"30D"``; ``0`` for none). Customers about to churn contact support in their
        last weeks; without a gap those contacts predict the churn they come from (in
        ``benchmarks/calibration.py``'s generator with no effect, 15 of 15 seeds significant at 5%
        without the gap, 1 of 15 with it). Customers who churn inside the gap are left out and counted.

    Returns
    -------
    ChurnEffect
        ``odds_ratio, ci_low, ci_high, p_value`` for ``contacts_per_month``, ``table`` (all
        coefficients), ``binned`` (churn rate per bucket, Wilson intervals), counts and notes.

    Examples
    --------
    >>> from kit.sample import generate
    >>> s = generate(customers=3000, months=12)
    >>> r = churn_effect(s.contacts, s.customers, gap=0)
    >>> r.odds_ratio > 1, r.controls
    (True, ('tier', 'tenure'))
    """
    f = customer_features(
        contacts,
        customers,
        window=window,
        cutoff=cutoff,
        controls=controls,
        tz=tz,
        as_of=as_of,
        gap=gap,
        mapping=mapping,
        con=con,
    )
    return fit_churn(f, bins=bins)


@accepts_dataset
def churn_effect_by(
    contacts: TableSource,
    customers: TableSource,
    *,
    by: str = "tier",
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    cutoff: Any = None,
    controls: str | Sequence[str] | None = None,
    tz: str | None = None,
    as_of: DateLike = None,
    gap: str | pd.Timedelta | int = DEFAULT_GAP,
    mapping: MappingSpec = None,
    con: Backend = None,
    features: Features | pd.DataFrame | None = None,
) -> ChurnBySegment:
    """Odds ratio per +1 contact per month fitted separately in each level of ``by`` (for a forest plot).

    Levels where the model cannot be fitted keep a row with NaN estimates and the reason in ``note``.
    The first row (``level == "all"``) is the pooled model. Pass ``features=`` (built with
    ``by`` among its controls) to reuse a feature table; the tables are then not read.

    Examples
    --------
    >>> from kit.sample import generate
    >>> s = generate(customers=3000, months=12)
    >>> list(churn_effect_by(s.contacts, s.customers, by="tier").frame["level"])[:1]
    ['all']
    """
    if features is None:
        tables = open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con, tz=tz)
        base = as_list(controls) if controls is not None else default_controls(tables["customers"].columns)
        features = customer_features(
            tables["contacts"],
            tables["customers"],
            window=window,
            cutoff=cutoff,
            controls=list(dict.fromkeys(base + [by])),
            tz=tz,
            as_of=as_of,
            gap=gap,
            con=tables.con,
        )
    feats = as_features(features)
    if by not in feats.columns:
        raise ParameterError(f"cannot split by {by!r}: it is not a segment column of the feature table")
    if controls is None:
        controls = default_controls(feats.columns)
    base_controls = [c for c in as_list(controls) if c != by]
    rows = []
    parts = [("all", feats.frame)] + [
        (str(level), part) for level, part in sorted(feats.frame.groupby(by, observed=True), key=lambda kv: str(kv[0]))
    ]
    for level, part in parts:
        use = base_controls + ([by] if level == "all" else [])
        row = {"segment": by, "level": level, "customers": len(part), "churned": int(part["churned"].sum())}
        try:
            r = fit_churn(feats.replace(frame=part.copy()), controls=use)
            row.update(odds_ratio=r.odds_ratio, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value, note="")
        except KitError as exc:
            row.update(odds_ratio=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan, note=str(exc))
        rows.append(row)
    return ChurnBySegment(frame=pd.DataFrame(rows), segment=by)
