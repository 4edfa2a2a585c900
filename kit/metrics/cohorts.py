"""Signup cohorts: contacts per active cohort member in the periods 0, 1, 2... after signup.

The cohort of a customer is the period (default: month) of their signup. Cell (cohort c, age k)
is the contact frequency of cohort c's members in period c + k, computed by
:func:`kit.metrics.frequency.contact_frequency` with the cohort as a customer segment, so every
rule of the KPI holds: exclusions and the ledger, the direction filter, active customers
(churned members leave the denominator; a contact makes its customer active). Contacts before
signup (pre-sales) count in age 0. Cohorts that signed up before the data's first period are
left out (their early ages are not in the data), and so are partial periods.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..config import DEFAULT_DEDUP_WINDOW, DEFAULT_TZ
from ..core import engine
from ..core import periods as _periods
from ..core.dataset import accepts_dataset
from ..core.ledger import Ledger
from ..core.prepare import REASON, classify_customers
from ..core.results import Result
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, MappingSpec, TableSource, Window
from ..errors import DataError, KitWarning, ParameterError
from ..present import narrative
from .frequency import contact_frequency

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COHORT = "signup_cohort"
#: Ages compared by the sentence: the first three periods after signup against the seventh on.
EARLY, LATE_FROM = (0, 2), 6


def rate_ratio(c1: float, e1: float, c2: float, e2: float, *, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of two Poisson rates ``(c1/e1) / (c2/e2)`` with its exact conditional interval.

    Given ``c1 + c2``, ``c1`` is binomial with ``p = r e1 / (r e1 + e2)``; the Clopper-Pearson
    interval on ``p`` maps to one on the ratio ``r``. It treats contacts as Poisson counts, so
    it is too narrow when customers differ a lot in how often they write.

    Examples
    --------
    >>> r, lo, hi = rate_ratio(300, 100, 100, 100)
    >>> round(r, 2), round(lo, 2), round(hi, 2)
    (3.0, 2.38, 3.8)
    """
    if not (e1 > 0 and e2 > 0) or c1 + c2 == 0:
        return float("nan"), float("nan"), float("nan")
    alpha = 1 - level
    p_lo = stats.beta.ppf(alpha / 2, c1, c2 + 1) if c1 > 0 else 0.0
    p_hi = stats.beta.ppf(1 - alpha / 2, c1 + 1, c2) if c2 > 0 else 1.0
    k = e2 / e1
    ratio = (c1 / e1) / (c2 / e2) if c2 > 0 else float("inf")
    hi = p_hi / (1 - p_hi) * k if p_hi < 1 else float("inf")
    return float(ratio), float(p_lo / (1 - p_lo) * k), float(hi)


@dataclass(frozen=True, repr=False)
class Cohorts(Result):
    """Contacts per active cohort member by periods since signup.

    Attributes
    ----------
    frame : pandas.DataFrame
        The triangle: one row per cohort (its first day, column ``cohort``), one column per age
        ``0, 1, ...`` (periods since signup) holding the frequency; NaN where the data ends.
    cells : pandas.DataFrame
        One row per cohort and age: ``cohort, age, period, contacts, active_customers, frequency``.
    ratio, ci_low, ci_high : float
        Contacts per active member in ages 0-2 over ages 6+, pooled over cohorts, with a 95%
        Poisson interval (see :func:`rate_ratio`).
    """

    frame: pd.DataFrame
    cells: pd.DataFrame
    freq: str = "month"
    periods: int = 12
    ratio: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    ledger: Ledger = field(default_factory=Ledger)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """How much higher the first three periods after signup run than the seventh on."""
        unit = f"{self.freq}s"
        if self.cells.empty:
            return "No cohort signed up inside the data, so there is no cohort table."
        if not np.isfinite(self.ratio):
            return (
                f"{len(self.frame)} signup cohorts; too few {unit} {LATE_FROM}+ after signup in the data to compare "
                f"them with {unit} 0-2."
            )
        return (
            f"Across {len(self.frame)} signup cohorts, customers contact {narrative.num(self.ratio)} times as often in "
            f"their first three {unit} (0-2 after signup) as from {self.freq} {LATE_FROM} on "
            f"{narrative.interval(self.ci_low, self.ci_high)}."
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """The triangle as a heatmap: cohorts down, periods since signup across."""
        from ..present.plots import new_axes

        fig, ax = new_axes(ax, figsize=(9, max(3.0, 0.25 * len(self.frame) + 1.5)))
        values = self.frame.drop(columns="cohort").to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_xticks(range(values.shape[1]))
        ax.set_xticklabels([str(c) for c in self.frame.columns[1:]])
        labels = [_periods.label(c, self.freq) for c in self.frame["cohort"]]
        step = max(1, len(labels) // 24)
        ax.set_yticks(range(0, len(labels), step))
        ax.set_yticklabels(labels[::step])
        ax.set_xlabel(f"{self.freq}s since signup")
        ax.set_ylabel("signup cohort")
        fig.colorbar(image, ax=ax, label="contacts per active member")
        ax.grid(False)
        return ax

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["frame"] = [{str(k): v for k, v in row.items()} for row in out["frame"]]  # ages as text keys, for JSON
        out["describe"] = self.describe()
        return out


def _age(period: pd.Series, cohort: pd.Series, freq: str) -> pd.Series:
    """Whole periods from ``cohort`` to ``period`` (both period starts)."""
    if freq in ("month", "quarter", "year"):
        months = (period.dt.year - cohort.dt.year) * 12 + (period.dt.month - cohort.dt.month)
        return months // {"month": 1, "quarter": 3, "year": 12}[freq]
    days = (period - cohort).dt.days
    return days // (7 if freq == "week" else 1)


@accepts_dataset
def cohorts(
    contacts: TableSource,
    customers: TableSource,
    *,
    freq: str = "month",
    periods: int = 12,
    tz: str | None = None,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    direction: str = "inbound",
    start: DateLike = None,
    end: DateLike = None,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> Cohorts:
    """Signup-cohort table: contacts per active cohort member in periods 0, 1, 2... since signup.

    Parameters
    ----------
    contacts, customers
        Any source :func:`kit.contact_frequency` accepts (or a :class:`~kit.Dataset`).
    freq : {"week", "month", "quarter"}
        Cohort grain and age unit: customers who signed up in the same period form a cohort.
    periods : int
        Ages shown: ``0 .. periods - 1``.
    tz, dedup_window, direction, start, end, mapping, con
        As in :func:`kit.contact_frequency`; ``start``/``end`` bound the periods read.

    Returns
    -------
    Cohorts
        ``.frame`` (the triangle), ``.cells`` (long form), ``.ratio`` with ``.ci_low``/``.ci_high``,
        ``.describe()``, ``.plot(ax=)`` (heatmap), ``.to_dict()``, ``.ledger`` and ``.notes``.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2026-01-10", "2026-02-03"]})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2, 3, 4], "customer_id": ["a", "a", "b", "a"],
    ...     "created_at": ["2026-01-01", "2026-01-20", "2026-02-05", "2026-03-31"], "channel": "email"})
    >>> result = cohorts(contacts, customers, periods=3, dedup_window=0)
    >>> result.frame
          cohort    0    1    2
    0 2026-01-01  2.0  0.0  1.0
    1 2026-02-01  1.0  0.0  NaN
    """
    if freq not in ("day", "week", "month", "quarter", "year"):
        raise ParameterError(f"freq must be week, month or quarter (or day, year), not {freq!r}")
    if not isinstance(periods, int) or periods < 1:
        raise ParameterError(f"periods must be a whole number of periods, at least 1, not {periods!r}")
    grain = freq
    unit = _unit(grain)
    if customers is None:  # contacts only: no signup dates (a first-contact signup puts a contact in every age 0)
        raise ParameterError("signup cohorts need a customers table with signup dates; this data has only contacts")
    tables = open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con)
    engine.set_session_tz(tables.con, tz or DEFAULT_TZ)
    src = tables["customers"]
    classified = classify_customers(src)
    helper = [c for c in ("cid", "signup", "churn", "_pre", "_rank", REASON) if c not in src.table.columns]
    # The cohort is a customer segment: its label is the first day of the signup period, as text.
    with_cohort = classified.mutate(
        **{COHORT: engine.period_start(classified.signup, unit).cast("string").fill_null(ibis.literal("(none)"))}
    ).drop(*helper)
    with warnings.catch_warnings():  # a cohort has no members before its signup period: no warning for that
        warnings.simplefilter("ignore", KitWarning)
        result = contact_frequency(
            tables["contacts"],  # the Source, whose prepared tables are cached (kit.core.prepare)
            with_cohort,
            freq=grain,
            by=COHORT,
            tz=tz or DEFAULT_TZ,
            dedup_window=dedup_window,
            direction=direction,
            start=start,
            end=end,
            con=tables.con,
        )
    df = result.frame
    notes = [n for n in result.notes if "no active customers" not in n]
    if "complete" in df.columns:
        df = df[df["complete"].astype(bool)]
    df = df[df[COHORT] != "(none)"].copy()
    cols = ["cohort", "age", "period", "contacts", "active_customers", "frequency"]
    if df.empty:
        empty = pd.DataFrame(columns=cols)
        return Cohorts(pd.DataFrame(columns=["cohort", *range(periods)]), empty, grain, periods, ledger=result.ledger)
    df["cohort"] = pd.to_datetime(df[COHORT])
    df["period"] = pd.to_datetime(df["period"])
    first_period = df["period"].min()
    df = df[df["cohort"] >= first_period]  # earlier cohorts' first ages are not in the data
    df["age"] = _age(df["period"], df["cohort"], grain)
    # Pre-sales contacts (before the signup period) count in age 0, whose members are all active.
    early = df[df["age"] < 0].groupby("cohort")["contacts"].sum()
    df = df[(df["age"] >= 0) & (df["age"] < periods)].copy()
    at0 = df["age"] == 0
    df.loc[at0, "contacts"] = df.loc[at0, "contacts"] + df.loc[at0, "cohort"].map(early).fillna(0).astype("int64")
    df["frequency"] = df["contacts"] / df["active_customers"].where(df["active_customers"] > 0)
    cells = df[cols].sort_values(["cohort", "age"]).reset_index(drop=True)
    triangle = cells.pivot(index="cohort", columns="age", values="frequency").reindex(columns=range(periods))
    triangle = triangle.rename_axis(columns=None).reset_index()
    lo_ages = cells["age"].between(*EARLY)
    hi_ages = cells["age"] >= LATE_FROM
    ratio = rate_ratio(
        cells.loc[lo_ages, "contacts"].sum(),
        cells.loc[lo_ages, "active_customers"].sum(),
        cells.loc[hi_ages, "contacts"].sum(),
        cells.loc[hi_ages, "active_customers"].sum(),
    )
    if periods <= LATE_FROM:
        notes.append(f"with periods={periods} there are no ages {LATE_FROM}+ to compare with ages 0-2")
    return Cohorts(triangle, cells, grain, periods, *ratio, ledger=result.ledger, notes=tuple(notes))


def _unit(grain: str) -> str:
    try:
        return _periods.GRAINS[grain][0]
    except KeyError:
        raise DataError(f"unknown grain {grain!r}") from None
