"""Strategic accounts: CSM outbound touchpoints per month against churn in the next window.

The expected sign is the opposite of inbound contacts: more touchpoints should go with less
churn. Accounts are placed in the touchpoint bands of :data:`kit.config.ACCOUNT_BANDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import ACCOUNT_BANDS
from ..core.dataset import TableSource, accepts_dataset
from ..core.results import Result
from ..core.types import Backend, DateLike, MappingSpec
from ..errors import AnalysisError, KitError
from ..metrics.features import DEFAULT_WINDOW, customer_features
from ..present import narrative as nv
from .churn import fit_churn
from .effects import ci_text, cutoff_text, p_text, wilson

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TRUE_WORDS = ("true", "1", "yes", "y", "t", "1.0")


@dataclass(frozen=True, repr=False, eq=False)
class TouchpointEffect(Result):
    """CSM outbound touchpoints per month of strategic accounts against churn in the next window.

    ``accounts``: one row per account (``customer_id, cutoff, tenure_years, touchpoints,
    touchpoints_per_month, band, churned``); ``by_band``: churn rate per band with Wilson
    intervals; the odds ratio per +1 touchpoint per month is NaN when not estimable.
    """

    accounts: pd.DataFrame
    by_band: pd.DataFrame
    odds_ratio: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    n_accounts: int = 0
    n_churned: int = 0
    cutoffs: tuple = ()
    window_days: int = 90
    notes: tuple = ()

    def describe(self) -> str:
        """Median touchpoints, the at-risk count and, when estimable, the odds ratio (never causal)."""
        low = self.by_band.loc[self.by_band["band"] == "at risk", "accounts"].sum()
        text = (
            f"{self.n_accounts} strategic accounts had a median of "
            f"{nv.num(float(self.accounts['touchpoints_per_month'].median()), 1)} CSM touchpoints per month "
            f"in the {self.window_days} days before {cutoff_text(self.cutoffs)}; {int(low)} were below 4 per "
            "month (at risk). "
        )
        if np.isfinite(self.odds_ratio):
            text += (
                f"Each additional touchpoint per month is associated with an odds ratio of churn of "
                f"{nv.num(self.odds_ratio)} ({ci_text(self.ci_low, self.ci_high)}, {p_text(self.p_value)}) "
                "(more touchpoints are expected to go with less churn)."
            )
        else:
            text += (
                f"{self.n_churned} of them churned in the following {self.window_days} days, so the link "
                "between touchpoints and renewal cannot be estimated from this data yet."
            )
        return text

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Touchpoints per month per strategic account (band shading), churned accounts marked; returns the Axes."""
        from ..present.plots import BAND_COLORS, new_axes

        _, ax = new_axes(ax)
        acc = self.accounts.sort_values("touchpoints_per_month").reset_index(drop=True)
        top = max(float(acc["touchpoints_per_month"].max()) * 1.1, 12)
        for name, lo, hi in ACCOUNT_BANDS:
            ax.axhspan(lo, min(hi, top), color=BAND_COLORS.get(name, "#dddddd"), alpha=0.12, lw=0)
            ax.text(len(acc) - 0.5, (lo + min(hi, top)) / 2, name, ha="right", va="center", fontsize=8)
        colors = np.where(acc["churned"], "#d55e00", "#0072b2")
        ax.scatter(np.arange(len(acc)), acc["touchpoints_per_month"], c=colors, zorder=3)
        ax.set_ylim(0, top)
        ax.set_xticks([])
        ax.set_xlabel(f"strategic accounts (orange: churned in the next {self.window_days} days)")
        ax.set_ylabel("CSM touchpoints per month")
        ax.set_title("Strategic accounts: touchpoints before the cutoff")
        return ax

    def __repr__(self) -> str:
        return f"TouchpointEffect({self.describe()})"


def band(x: float) -> str:
    """The touchpoint band of ``x`` touchpoints per month.

    Examples
    --------
    >>> band(2.0), band(100.0)
    ('at risk', 'possibly excessive')
    """
    for name, lo, hi in ACCOUNT_BANDS:
        if lo <= x < hi:
            return name
    return ACCOUNT_BANDS[-1][0]


def _by_band(acc: pd.DataFrame) -> pd.DataFrame:
    bands = pd.DataFrame({"band": [b[0] for b in ACCOUNT_BANDS]})
    by = acc.groupby("band").agg(accounts=("churned", "size"), churned=("churned", "sum")).reset_index()
    by = bands.merge(by, on="band", how="left").fillna({"accounts": 0, "churned": 0})
    by[["accounts", "churned"]] = by[["accounts", "churned"]].astype("int64")
    by["churn_rate"] = by["churned"] / by["accounts"].where(by["accounts"] > 0)
    by["ci_low"], by["ci_high"] = wilson(by["churned"], by["accounts"])
    return by


@accepts_dataset
def touchpoint_effect(
    contacts: TableSource,
    customers: TableSource,
    *,
    strategic: str = "strategic",
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    cutoff: Any = None,
    tz: str | None = None,
    as_of: DateLike = None,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> TouchpointEffect:
    """Outbound CSM touchpoints per month before ``cutoff`` vs churn after it, for strategic accounts.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables`, or a Dataset first.
    strategic : str
        Boolean-like customers column marking strategic accounts.
    window, cutoff
        As for :func:`kit.analysis.churn.churn_effect`.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    as_of : date-like, optional
        Read only the data known at the end of this day (see :func:`kit.core.asof.known_by`); the
        default cutoff then leaves its whole outcome window by ``as_of``.

    Returns
    -------
    TouchpointEffect
        ``accounts`` (one row per account: touchpoints per month, band, churned), ``by_band``
        (churn rate per band with Wilson intervals) and, when estimable, the odds ratio of churn
        per +1 touchpoint per month (the expected sign is below 1). When no account churned,
        or all did, the odds ratio is NaN and ``notes`` says why.

    Examples
    --------
    >>> import kit
    >>> t = touchpoint_effect(kit.load("data/sample"))  # doctest: +SKIP
    >>> t.by_band["band"].tolist()  # doctest: +SKIP
    ['at risk', 'healthy', 'optimal', 'possibly excessive']
    """
    f = customer_features(
        contacts,
        customers,
        window=window,
        cutoff=cutoff,
        controls=[strategic],
        direction="outbound",
        tz=tz,
        as_of=as_of,
        mapping=mapping,
        con=con,
    )
    flag = f.frame[strategic].astype(str).str.strip().str.lower().isin(TRUE_WORDS)
    acc = f.frame[flag].copy()
    notes = list(f.notes)
    if acc.empty:
        raise AnalysisError(
            f"no customer with {strategic} = true is in the population at the cutoff; "
            "mark strategic accounts in the customers table"
        )
    acc = acc.rename(columns={"contacts": "touchpoints", "contacts_per_month": "touchpoints_per_month"})
    acc["band"] = acc["touchpoints_per_month"].map(band)
    acc = acc[["customer_id", "cutoff", "tenure_years", "touchpoints", "touchpoints_per_month", "band", "churned"]]
    n, k = len(acc), int(acc["churned"].sum())
    est = dict(odds_ratio=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan)
    if k == 0 or k == n:
        notes.append(
            f"{'none' if k == 0 else 'all'} of the {n} strategic accounts churned in the outcome window; "
            "the touchpoint odds ratio is not estimable (renewals may fall after the data)"
        )
    else:
        try:
            r = fit_churn(f.replace(frame=f.frame[flag].copy(), controls=()), controls=[])
            est = dict(odds_ratio=r.odds_ratio, ci_low=r.ci_low, ci_high=r.ci_high, p_value=r.p_value)
            notes.extend(n_ for n_ in r.notes if n_ not in notes)
        except KitError as exc:
            notes.append(str(exc))
    return TouchpointEffect(
        accounts=acc.reset_index(drop=True),
        by_band=_by_band(acc),
        n_accounts=n,
        n_churned=k,
        cutoffs=f.cutoffs,
        window_days=f.window_days,
        notes=tuple(notes),
        **est,
    )
