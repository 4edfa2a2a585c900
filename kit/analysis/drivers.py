"""How strongly is contact frequency associated with churn and CSAT? With honest uncertainty.

:func:`analyze` runs every driver analysis once and returns a :class:`DriverReport`; the
analyses themselves live in focused modules, all reported as associations (never causes):

* **Customer level** (the main analysis): :func:`kit.analysis.churn.churn_effect` (logistic
  regression of churn on contacts per month before a cutoff, segment and tenure controls) and
  :func:`kit.analysis.csat.csat_effect` (CSAT on the same feature, CR2 customer-clustered
  errors), on features from :func:`kit.metrics.features.customer_features`.
* **Period level**: :func:`kit.analysis.correlation.period_correlation` on seasonally adjusted,
  differenced series, never on raw levels.
* **Account level**: :func:`kit.analysis.touchpoints.touchpoint_effect` relates CSM outbound
  touchpoints of strategic accounts to churn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..config import DEFAULT_DEDUP_WINDOW
from ..core import engine
from ..core.asof import known_by
from ..core.dataset import TableSource, accepts_dataset
from ..core.results import Result
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, MappingSpec, Window
from ..errors import KitError, renamed_parameters
from ..metrics.features import DEFAULT_GAP, DEFAULT_WINDOW, customer_features
from .churn import ChurnBySegment, ChurnEffect, churn_effect_by, fit_churn
from .correlation import PeriodCorrelation, period_correlation
from .csat import CsatEffect, fit_csat
from .effects import as_list
from .touchpoints import TouchpointEffect, touchpoint_effect

CAVEAT = (
    "These figures describe associations in this data; they do not show that contacts cause churn "
    "or dissatisfaction (both may share causes such as product problems)."
)


@dataclass(frozen=True, repr=False, eq=False)
class DriverReport(Result):
    """Everything the CSAT/churn notebook shows, computed once.

    A part that could not be computed is None, with its reason in ``problems``.
    """

    churn: ChurnEffect | None
    csat: CsatEffect | None
    by_segment: ChurnBySegment | None
    periods: PeriodCorrelation | None
    touchpoints: TouchpointEffect | None
    problems: dict = field(default_factory=dict)

    def sentences(self) -> list[str]:
        """One plain-language sentence (or short paragraph) per part, then the problems and the caveat."""
        out = [part.describe() for part in (self.churn, self.csat) if part is not None]
        if self.by_segment is not None and len(self.by_segment) > 1:
            if self.by_segment.frame.iloc[1:]["odds_ratio"].notna().any():
                out.append(self.by_segment.describe())
        out.extend(part.describe() for part in (self.periods, self.touchpoints) if part is not None)
        for part, why in self.problems.items():
            out.append(f"The {part.replace('_', ' ')} analysis was not possible: {why}.")
        out.append(CAVEAT)
        return out

    def describe(self) -> str:
        """The sentences of :meth:`sentences`, one per line (effect sizes, intervals, controls; never causal)."""
        return "\n".join(self.sentences())

    def __repr__(self) -> str:
        names = ("churn", "csat", "by_segment", "periods", "touchpoints")
        parts = [name for name in names if getattr(self, name) is not None]
        return f"DriverReport(parts: {', '.join(parts) or 'none'}; problems: {', '.join(self.problems) or 'none'})"


@accepts_dataset
@renamed_parameters(grain="freq")
def analyze(
    contacts: TableSource,
    customers: TableSource,
    surveys: TableSource = None,
    *,
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    cutoff: Any = None,
    controls: str | Sequence[str] | None = None,
    segment: str | None = "tier",
    freq: str = "month",
    strategic: str = "strategic",
    tz: str | None = None,
    as_of: DateLike = None,
    gap: str | pd.Timedelta | int = DEFAULT_GAP,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> DriverReport:
    """Run every driver analysis once; a part that cannot be computed is ``None`` with its reason in ``problems``.

    Parameters
    ----------
    contacts, customers, surveys
        Any source accepted by :func:`kit.core.sources.open_tables`, or a Dataset first.
        ``customers=None`` (contacts only): churn, segments, strategic accounts and the period-level
        correlation need a customers table and are listed in ``problems``; the CSAT analysis runs on
        customers derived from the contacts (signup = first contact, tenure counted from it).
    window, cutoff, controls, gap
        As for :func:`kit.analysis.churn.churn_effect` (the gap applies to the CSAT outcome window too).
    segment : str or None
        Customers column for the per-segment odds ratios (None: skip).
    freq : str
        Period grain of the period-level correlation.
    strategic : str
        Boolean-like customers column marking strategic accounts.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    as_of : date-like, optional
        Read only the data known at the end of this day (see :func:`kit.core.asof.known_by`), for
        every part: the default cutoff leaves its whole outcome window by ``as_of`` (a report for a
        past period gives the same answer whatever data arrived since).
    dedup_window : str
        Follow-up window of the customer features' cases and repeat-contact rate (default ``"48h"``).

    Examples
    --------
    >>> from kit.sample import generate
    >>> s = generate(customers=3000, months=12)
    >>> rep = analyze(s.contacts, s.customers, s.surveys)
    >>> "associated with" in rep.sentences()[0]
    True
    """
    tables = open_tables(contacts=contacts, customers=customers, surveys=surveys, mapping=mapping, con=con, tz=tz)
    tables = known_by(tables, as_of)  # once, for every part below
    c, u, s, con = tables["contacts"], tables.get("customers"), tables.get("surveys"), tables.con
    problems: dict[str, str] = {}
    contacts_only = u is None
    if contacts_only:  # one plain line per part that needs customer data; CSAT runs on derived customers
        problems["churn"] = f"it needs a customers table with churn dates; {_ONLY_CONTACTS}"
        u, segment = _derived_customers(c), None
    ctrl = as_list(controls) if controls is not None else None
    model_controls = ctrl if ctrl is not None else (["tier"] if "tier" in u.columns else [])
    wanted = ctrl
    if segment:
        if segment not in u.columns:
            problems["by_segment"] = f"customers have no {segment!r} column"
            segment = None
        else:
            wanted = list(dict.fromkeys(model_controls + [segment]))
    feats = churn = csat = by = per = touch = None
    try:
        feats = customer_features(
            c,
            u,
            surveys=s,
            window=window,
            cutoff=cutoff,
            controls=wanted,
            tz=tz,
            gap=gap,
            dedup_window=dedup_window,
            con=con,
        )
    except KitError as exc:
        problems["features"] = str(exc)
    if feats is not None and not contacts_only:
        try:
            churn = fit_churn(feats, controls=model_controls)
        except KitError as exc:
            problems["churn"] = str(exc)
    if feats is not None:
        if s is not None:
            try:
                csat = fit_csat(feats, controls=model_controls)
            except KitError as exc:
                problems["csat"] = str(exc)
        else:
            problems["csat"] = "no surveys table was given"
        if segment:
            by = churn_effect_by(None, None, by=segment, controls=model_controls, features=feats)
    if contacts_only:
        problems["periods"] = f"it needs a customers table (churn rate per period); {_ONLY_CONTACTS}"
    else:
        try:
            per = period_correlation(c, u, s, freq=freq, tz=tz, con=con)
        except KitError as exc:
            problems["periods"] = str(exc)
    if contacts_only:
        problems["touchpoints"] = f"it needs a customers table that flags strategic accounts; {_ONLY_CONTACTS}"
    elif strategic in u.columns:
        try:
            touch = touchpoint_effect(c, u, strategic=strategic, window=window, cutoff=cutoff, tz=tz, con=con)
        except KitError as exc:
            problems["touchpoints"] = str(exc)
    else:
        problems["touchpoints"] = f"customers have no {strategic!r} column marking strategic accounts"
    return DriverReport(churn=churn, csat=csat, by_segment=by, periods=per, touchpoints=touch, problems=problems)


_ONLY_CONTACTS = "this data has only contacts"


def _derived_customers(contacts):
    """Customers derived from the contacts: one per customer id, signed up at their first contact, never churned."""
    t = contacts.table
    t = t.mutate(_at=engine.parse_instant(t.created_at))
    t = t.filter(t.customer_id.notnull() & t._at.notnull())
    return t.group_by("customer_id").aggregate(signup_date=t._at.min())
