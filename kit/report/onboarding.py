"""The onboarding load: contacts per customer by week since signup, for customers who signed up inside the data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd

from ..core import engine
from ..core.asof import known_by
from ..core.dataset import TableSource, accepts_dataset
from ..core.prepare import REASON, classify_contacts, classify_customers, customer_lookup
from ..core.results import MetricResult
from ..core.sources import open_tables
from ..errors import DataError, ParameterError
from ..metrics.frequency import poisson_ci
from ..present import narrative
from ..present.plots import legend_outside, new_axes

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from matplotlib.axes import Axes

    from ..core.types import DateLike, MappingSpec


ONBOARDING_WEEKS = 12
#: The onboarding section's one line without a customers table.
NO_SIGNUPS = (
    "The onboarding load needs a customers table with signup dates; this data has only contacts, and taking "
    "each customer's first contact as their signup would put a contact in every customer's first week by construction."
)


# --------------------------------------------------------------------------- onboarding
@dataclass(frozen=True, repr=False)
class OnboardingCurve(MetricResult):
    """Contacts per customer by week since signup (``.frame``), with the onboarding ratio.

    Attributes
    ----------
    onboarding_ratio : float
        Contacts per customer-week in weeks 0-1 over weeks 2 and later (NaN without later contacts).
    new_customers : int
        Customers who signed up inside the data and were observed at least one whole week.
    data_start, data_end : str
        The usable contacts' date range.
    unavailable : str
        Why there is no curve ("" when there is one): without a customers table there are no signup dates.
    """

    onboarding_ratio: float = float("nan")
    new_customers: int = 0
    data_start: str | None = None
    data_end: str | None = None
    unavailable: str = ""

    @property
    def available(self) -> bool:
        """False when the data cannot give a curve (see ``unavailable``)."""
        return not self.unavailable

    def describe(self) -> str:
        """One sentence on the onboarding load."""
        if self.unavailable:
            return self.unavailable
        if not np.isfinite(self.onboarding_ratio):
            return "Too few new customers in the data to measure the onboarding load."
        return (
            f"Across {self.new_customers:,} customers who signed up between {self.data_start} and "
            f"{self.data_end}, the first two weeks after signup bring {narrative.num(self.onboarding_ratio, 1)} "
            f"times the contacts per customer of weeks 2–{int(self.frame['week'].max())}."
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Contacts per customer by week since signup, with 95% CIs; returns the Axes."""
        curve = self.frame
        _, ax = new_axes(ax, figsize=(9, 3.5))
        ax.errorbar(
            curve["week"],
            curve["contacts_per_customer"],
            yerr=np.vstack(
                [curve["contacts_per_customer"] - curve["ci_low"], curve["ci_high"] - curve["contacts_per_customer"]]
            ).clip(min=0),
            marker="o",
            capsize=3,
        )
        ax.axvspan(-0.5, 1.5, color="C1", alpha=0.12, label="first two weeks")
        ax.set_xlabel("weeks since signup")
        ax.set_ylabel("contacts per customer per week")
        ax.set_title("Onboarding load: contacts per customer by week since signup")
        legend_outside(ax)
        return ax


@accepts_dataset
def onboarding_curve(
    contacts: TableSource,
    customers: TableSource,
    *,
    weeks: int = ONBOARDING_WEEKS,
    tz: str | None = None,
    direction: str = "inbound",
    as_of: DateLike = None,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
) -> OnboardingCurve:
    """Contacts per customer by week since signup, for customers who signed up inside the data.

    Week ``w`` covers days ``7w .. 7w+6`` after signup. A customer counts in the
    denominator of week ``w`` only when the whole week is observed: it ends on or
    before the last contact date of the data and before the customer's churn date;
    contacts in partly observed weeks are left out too, so every week is a fair rate.
    Everything runs on the engine; only one row per week comes back. With ``as_of``, only the
    data known at the end of that day is read (:func:`kit.core.asof.known_by`): signups, contacts
    and churn dates after it do not exist yet, so the data ends on or before ``as_of``.

    Without a customers table (``customers=None``) there is no curve (``.available`` False,
    ``.describe()`` says why): a signup date taken from the first contact would put that contact
    in week 0 of every customer by construction, so the curve would show an onboarding load that
    is only an artefact of the proxy.

    Returns
    -------
    OnboardingCurve
        ``.frame``: ``week, contacts, customers, contacts_per_customer, ci_low, ci_high``;
        ``.onboarding_ratio`` is the rate of weeks 0-1 over weeks 2..``weeks``,
        ``.data_start``/``.data_end`` the contact date range.

    Examples
    --------
    >>> curve = onboarding_curve("data/sample/contacts.parquet", "data/sample/customers.parquet")  # doctest: +SKIP
    >>> round(curve.onboarding_ratio, 1)  # doctest: +SKIP
    2.9
    """
    if int(weeks) < 2:
        raise ParameterError("weeks must be at least 2 to compare the first two weeks with later ones")
    if customers is None:
        return OnboardingCurve(
            frame=pd.DataFrame(columns=["week", "contacts", "customers", "contacts_per_customer", "ci_low", "ci_high"]),
            params={"weeks": int(weeks), "tz": tz, "direction": direction},
            unavailable=NO_SIGNUPS,
        )
    tables = known_by(open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con, tz=tz), as_of)
    con = tables.con
    lookup = customer_lookup(classify_customers(tables["customers"]), [])
    c = classify_contacts(tables["contacts"], lookup, direction=direction, dedup_seconds=0)
    used = c.filter(c[REASON].isnull())
    bounds = engine.fetch(con, used.aggregate(first=used.local_ts.min(), last=used.local_ts.max()))
    if bounds.empty or pd.isna(bounds["first"].iloc[0]):
        raise DataError("no usable contacts, so there is no onboarding curve; see the ledger")
    first = pd.Timestamp(bounds["first"].iloc[0]).date()
    last = pd.Timestamp(bounds["last"].iloc[0]).date()
    lit_first, lit_last = ibis.literal(first), ibis.literal(last)

    def full_weeks(t):
        # whole weeks observed after signup: up to the data end, and before churn
        stop = ibis.least(lit_last, (t._churn - ibis.interval(days=1)).fill_null(lit_last))
        return (stop.delta(t._signup, unit="day") + 1) // 7

    new = lookup.filter(lookup._cust_ok & (lookup._signup >= lit_first))
    exposure = engine.fetch(con, new.group_by(w=ibis.least(full_weeks(new), weeks + 1)).aggregate(n=new.count()))
    u = used.filter(used._signup >= lit_first)
    u = u.mutate(_week=u.local_ts.date().delta(u._signup, unit="day") // 7, _full=full_weeks(u))
    u = u.filter((u._week >= 0) & (u._week <= weeks) & (u._week < u._full))
    counts = engine.fetch(con, u.group_by(week=u._week).aggregate(contacts=u.count()))

    grid = pd.DataFrame({"week": np.arange(weeks + 1)})
    observed = exposure.groupby("w")["n"].sum()
    # customers observed for week w = customers with more than w full weeks
    grid["customers"] = [int(observed[observed.index > w].sum()) for w in grid["week"]]
    grid = grid.merge(counts, on="week", how="left")
    grid["contacts"] = grid["contacts"].fillna(0).astype("int64")
    denom = grid["customers"].where(grid["customers"] > 0)
    grid["contacts_per_customer"] = grid["contacts"] / denom
    grid["ci_low"], grid["ci_high"] = poisson_ci(grid["contacts"], grid["customers"])
    out = grid[["week", "contacts", "customers", "contacts_per_customer", "ci_low", "ci_high"]]
    early, late = out[out["week"] < 2], out[out["week"] >= 2]
    late_rate = late["contacts"].sum() / max(late["customers"].sum(), 1)
    early_rate = early["contacts"].sum() / max(early["customers"].sum(), 1)
    return OnboardingCurve(
        frame=out,
        params={"weeks": int(weeks), "tz": tz, "direction": direction},
        onboarding_ratio=float(early_rate / late_rate) if late_rate > 0 else float("nan"),
        data_start=str(first),
        data_end=str(last),
        new_customers=int(observed.sum()),
    )
