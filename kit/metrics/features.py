"""Customer-level features for driver models: one row per customer and cutoff.

The design (shared with :mod:`kit.sample`, which plants its effects in exactly this shape):

* ``obs_end`` is the day after the last local date with any data (a contact of any
  direction, a survey response or a churn date).
* The default ``cutoff`` is ``obs_end - window``: the latest date at which a whole
  outcome window is observed. Cutoffs are midnight in the business time zone.
* Population: usable customers who signed up on or before ``cutoff - window`` (so the
  whole feature window is observed) and had not churned before ``cutoff``.
* Features come only from ``[cutoff - window, cutoff)``: counted inbound contacts
  (follow-ups included), cases (contacts minus 48h follow-ups), the repeat-contact rate,
  the channel mix, tenure and segments. Nothing on or after the cutoff is read, so
  contacts after a churn can never leak into a feature.
* Outcomes come only from ``[cutoff + gap, cutoff + gap + window)``: churn, and CSAT responses.
  The ``gap`` (default 0 here; ``churn_effect`` uses 30 days) keeps the contacts customers make
  while leaving out of the features: customers who churn inside the gap are left out (noted).

All row-level work runs on the engine; only the per-customer table is fetched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from ..config import DAYS_PER_MONTH, DEFAULT_DEDUP_WINDOW, DEFAULT_TZ
from ..core import engine, periods
from ..core.asof import known_by
from ..core.dataset import TableSource, accepts_dataset
from ..core.ledger import SCOPE_PREFIX, Ledger
from ..core.prepare import (
    REASON,
    classify_contacts,
    classify_customers,
    customer_lookup,
    example_metrics,
    record_ledger,
    segment_label,
)
from ..core.results import Result
from ..core.sources import open_tables
from ..core.types import DateLike
from ..errors import DataError, ParameterError

DEFAULT_WINDOW = "90D"
#: Churn models leave this many days between the feature window and the outcome window.
DEFAULT_GAP = "30D"
_NO_GAP = pd.Timedelta(0)
#: Customer columns that are never offered as controls.
NOT_CONTROLS = ("customer_id", "signup_date", "churn_date", "name")
#: Rolling cutoffs stop when the feature window would start before the data.
MAX_ROLLING = 24


@dataclass(frozen=True, repr=False, eq=False)
class Features(Result):
    """The customer-level feature table and the design it was built with.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per population customer and cutoff (columns in :func:`customer_features`).
    cutoffs : tuple of pandas.Timestamp
        The cutoff(s), midnight in the business time zone.
    window_days : int
        Length of the feature window and of the outcome window.
    gap_days : int
        Days between the end of the feature window (the cutoff) and the outcome window.
    left_out_in_gap : int
        Customers left out because they churned inside the gap.
    obs_end, first_day : pandas.Timestamp
        The day after the last day with any data, and the first day with a usable contact.
    controls, numeric_controls : tuple of str
        Segment columns carried as controls, and those among them kept as numbers.
    ledger : Ledger
        Rows read, used and excluded by reason, per table.
    notes : tuple of str
        Caveats about the design (e.g. a feature window starting before the data).
    direction : str
        Which contacts were counted (``"inbound"``, ``"outbound"`` or ``"all"``).
    tz : str
        Business time zone.
    """

    frame: pd.DataFrame
    cutoffs: tuple = ()
    window_days: int = 90
    obs_end: pd.Timestamp | None = None
    first_day: pd.Timestamp | None = None
    controls: tuple = ()
    numeric_controls: tuple = ()
    ledger: Ledger = field(default_factory=Ledger)
    notes: tuple = ()
    direction: str = "inbound"
    tz: str = DEFAULT_TZ
    gap_days: int = 0
    left_out_in_gap: int = 0

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> pd.Index:
        """The frame's columns."""
        return self.frame.columns

    def replace(self, **changes) -> Features:
        """A copy with some fields changed, e.g. ``f.replace(frame=f.frame[mask])`` for a subset."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> str:
        cut = f"cutoff {self.cutoffs[0]:%Y-%m-%d}" if len(self.cutoffs) == 1 else f"{len(self.cutoffs)} cutoffs"
        return (
            f"{len(self.frame):,} customer rows at {cut}: {self.direction} contacts in the {self.window_days} "
            f"days before, outcomes in the {self.window_days} days after; controls "
            f"{', '.join(self.controls) or 'none'} (tenure always)."
        )

    def __repr__(self) -> str:
        return f"Features({self.describe()})"


def features_from_frame(
    frame: pd.DataFrame,
    *,
    cutoffs: Any = None,
    window_days: int = 90,
    controls: str | Sequence[str] = (),
    numeric_controls: str | Sequence[str] = (),
    direction: str = "inbound",
    notes: Sequence[str] = (),
) -> Features:
    """A :class:`Features` around a plain table, with its design given explicitly.

    ``cutoffs`` defaults to the distinct values of the frame's ``cutoff`` column (none without one).

    Examples
    --------
    >>> f = features_from_frame(pd.DataFrame({"cutoff": pd.to_datetime(["2026-01-01"] * 2)}), window_days=30)
    >>> f.cutoffs, f.window_days, f.controls
    ((Timestamp('2026-01-01 00:00:00'),), 30, ())
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"expected a feature table (DataFrame or Features), not {type(frame).__name__}")
    if cutoffs is None:
        cutoffs = sorted(pd.to_datetime(frame["cutoff"].dropna().unique())) if "cutoff" in frame.columns else ()
    elif not isinstance(cutoffs, (list, tuple, pd.Index, np.ndarray, pd.Series)):
        cutoffs = [cutoffs]
    return Features(
        frame=frame,
        cutoffs=tuple(pd.Timestamp(c) for c in cutoffs),
        window_days=int(window_days),
        controls=tuple([controls] if isinstance(controls, str) else controls),
        numeric_controls=tuple([numeric_controls] if isinstance(numeric_controls, str) else numeric_controls),
        direction=direction,
        notes=tuple(notes),
    )


def parse_model_window(window: str | pd.Timedelta) -> pd.Timedelta:
    """A feature/outcome window such as ``"90D"`` as whole days.

    Examples
    --------
    >>> parse_model_window("90D").days
    90
    """
    td = periods.parse_window(window)
    if td < pd.Timedelta(days=7) or td != pd.Timedelta(days=td.days):
        raise ParameterError(f"window {window!r} must be a whole number of days, at least 7 (e.g. '90D')")
    return td


def default_controls(columns: Sequence[str]) -> list[str]:
    """``["tier"]`` when the customers table has a tier column, else no segment control."""
    return ["tier"] if "tier" in columns else []


def _check_controls(controls, columns) -> list[str]:
    if controls is None:
        return default_controls(columns)
    controls = [controls] if isinstance(controls, str) else list(controls)
    offered = [c for c in columns if c not in NOT_CONTROLS]
    for col in controls:
        if col in ("tenure", "tenure_years"):
            raise ParameterError("tenure is always controlled for; list only segment columns in controls=")
        if col not in columns or col in NOT_CONTROLS:
            raise ParameterError(
                f"control {col!r} is not a customers column; choose from {', '.join(offered) or 'none'}"
            )
    return list(dict.fromkeys(controls))


def _safe_name(value: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_") or "blank"


@accepts_dataset
def customer_features(
    contacts: TableSource,
    customers: TableSource,
    *,
    surveys: TableSource = None,
    window: str | pd.Timedelta = DEFAULT_WINDOW,
    cutoff: Any = None,
    controls: str | Sequence[str] | None = None,
    direction: str = "inbound",
    tz: str | None = None,
    dedup_window: str | pd.Timedelta | int = DEFAULT_DEDUP_WINDOW,
    as_of: DateLike = None,
    gap: str | pd.Timedelta | int = 0,
    mapping: Any = None,
    con: Any = None,
) -> Features:
    """One row per population customer (and cutoff): contact features before, outcomes after.

    Parameters
    ----------
    contacts, customers, surveys
        Any source accepted by :func:`kit.core.sources.open_tables`. ``surveys`` is optional;
        with it, CSAT responses in the outcome window are summarised per customer.
    window : str
        Length of both the feature window (before ``cutoff``) and the outcome window
        (from ``cutoff``), in whole days. Default ``"90D"``.
    cutoff : date-like, list of dates, "rolling" or None
        ``None``: the latest cutoff with a fully observed outcome window. A list gives
        stacked rows (one per customer and cutoff); ``"rolling"`` steps back from the
        default by one window as long as the feature window lies inside the data.
    controls : list of str, optional
        Customer segment columns to carry as controls (default ``["tier"]`` when present).
        Numeric columns are kept as numbers, others as segment labels.
    direction : {"inbound", "outbound", "all"}
        Which contacts are counted (``"outbound"`` for CSM touchpoints).
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    gap : str, optional
        Days between the cutoff and the start of the outcome window (default 0). Customers who
        churn inside the gap are left out (``.left_out_in_gap``, and a note).
    as_of : date-like, optional
        Read only the data known at the end of this day (see :func:`kit.core.asof.known_by`): the
        default cutoff then has its outcome window end by ``as_of``, and a later cutoff is an error.

    Returns
    -------
    Features
        ``.frame``: ``customer_id, cutoff, <controls>, signup_date, churn_date, tenure_years,
        contacts, follow_ups, cases, contacts_per_month, cases_per_month, repeat_contact_rate,
        channel_<name>`` (shares of the customer's contacts), ``churned`` and, with surveys,
        ``surveys, csat_sum, csat_sumsq, csat_mean``. The design travels as fields:
        ``cutoffs``, ``window_days``, ``obs_end``, ``first_day``, ``controls``,
        ``numeric_controls``, ``ledger``, ``notes``, ``direction`` and ``tz``.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2025-01-01"] * 2,
    ...                           "churn_date": [None, "2025-06-15"]})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2, 3], "customer_id": ["a", "b", "b"],
    ...     "created_at": ["2025-05-10 09:00", "2025-05-20 09:00", "2025-07-05 09:00"],
    ...     "channel": "email"})
    >>> f = customer_features(contacts, customers, window="30D", cutoff="2025-06-01")
    >>> f.frame[["customer_id", "contacts", "churned"]].to_dict("records")
    [{'customer_id': 'a', 'contacts': 1, 'churned': False}, {'customer_id': 'b', 'contacts': 1, 'churned': True}]
    >>> f.cutoffs, f.window_days
    ((Timestamp('2025-06-01 00:00:00'),), 30)
    """
    if direction not in ("inbound", "outbound", "all"):
        raise ParameterError(f"direction must be inbound, outbound or all, not {direction!r}")
    width = parse_model_window(window)
    dedup = periods.parse_window(dedup_window)
    tables = open_tables(contacts=contacts, customers=customers, surveys=surveys, mapping=mapping, con=con, tz=tz)
    tables = known_by(tables, as_of)  # nothing after as_of: not even the data span that sets the default cutoff
    con = tables.con
    csrc, usrc, ssrc = tables["contacts"], tables["customers"], tables.get("surveys")
    controls = _check_controls(controls, usrc.columns)
    notes: list[str] = []

    ledger = Ledger()
    cust = classify_customers(usrc)
    cust_summary = engine.fetch(
        con,
        cust.group_by(REASON).aggregate(
            n=cust.count(), _last_churn=cust.churn.max(), **example_metrics(cust, usrc.name)
        ),
    )
    record_ledger(ledger, usrc, cust_summary)
    c = classify_contacts(csrc, customer_lookup(cust, []), direction=direction, dedup_seconds=dedup.total_seconds())
    # One pass over contacts: ledger counts, examples and the observed time span.
    summary = engine.fetch(
        con,
        c.group_by(REASON).aggregate(
            n=c.count(), _first=c.local_ts.min(), _last=c.local_ts.max(), **example_metrics(c, csrc.name)
        ),
    )
    record_ledger(ledger, csrc, summary)
    surv = _classify_surveys(ssrc) if ssrc is not None else None

    first_day, obs_end = _observed_span(con, summary, cust_summary, surv)
    gap_td = _parse_gap(gap)
    # The outcome window starts a gap after the cutoff, so it must end by obs_end - gap.
    cutoffs = _resolve_cutoffs(cutoff, width, first_day, obs_end - gap_td)
    if cutoffs[0] - width < first_day:
        notes.append(
            f"the feature window before {cutoffs[0]:%Y-%m-%d} starts before the first contact "
            f"({first_day:%Y-%m-%d}); early customers may look quieter than they were"
        )

    numeric = [col for col in controls if _is_numeric(usrc.table[col])]
    first = cust.filter(cust.cid.notnull() & (cust._rank == 0) & cust[REASON].isnull())
    base = first.select(
        customer_id=first.cid,
        _signup=first.signup,
        _churn=first.churn,
        **{col: (first[col].cast(dt.float64) if col in numeric else segment_label(first[col])) for col in controls},
    )
    built = [_features_at(con, base, c, surv, cut, width, controls, gap=gap_td) for cut in cutoffs]
    frames = [frame for frame, _ in built]
    in_gap = sum(n for _, n in built)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if gap_td:
        notes.append(
            f"outcomes start {gap_td.days} days after the cutoff, so contacts made while leaving do not count as "
            f"features; {in_gap:,} customer(s) who churned inside that gap were left out"
        )
    if out.empty:
        raise DataError(
            f"no customer is in the population at cutoff {cutoffs[0]:%Y-%m-%d} (signed up by "
            f"{cutoffs[0] - width:%Y-%m-%d} and not churned before the cutoff); choose a later cutoff or a shorter "
            "window"
        )
    return Features(
        frame=out,
        cutoffs=tuple(cutoffs),
        window_days=width.days,
        obs_end=obs_end,
        first_day=first_day,
        controls=tuple(controls),
        numeric_controls=tuple(numeric),
        ledger=ledger,
        notes=tuple(notes),
        direction=direction,
        tz=tz or DEFAULT_TZ,
        gap_days=gap_td.days,
        left_out_in_gap=in_gap,
    )


def _parse_gap(gap: str | pd.Timedelta | int) -> pd.Timedelta:
    """The gap between feature and outcome windows as whole days (0 allowed)."""
    if gap is None or (isinstance(gap, (int, np.integer)) and not isinstance(gap, bool) and gap == 0):
        return pd.Timedelta(0)
    td = periods.parse_window(gap)
    if td < pd.Timedelta(0) or td != pd.Timedelta(days=td.days):
        raise ParameterError(f"gap {gap!r} must be a whole number of days, 0 or more (e.g. '30D')")
    return td


def _is_numeric(col) -> bool:
    typ = col.type()
    return typ.is_numeric() and not typ.is_boolean()


def _classify_surveys(src):
    t = src.table
    responded = engine.parse_instant(t.responded_at)
    score = t.score.try_cast(dt.float64) if not t.score.type().is_numeric() else t.score.cast(dt.float64)
    t = t.mutate(
        _cust=engine.blank_to_null(engine.as_key(t.customer_id)), _local=engine.local_time(responded), _score=score
    )
    return t.filter(t._cust.notnull() & t._local.notnull() & t._score.notnull())


def _observed_span(con, summary, cust_summary, surv) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day with a usable contact, and the day after the last day with any data."""
    reason = summary[REASON]
    ok = summary[reason.isna() | reason.astype(str).str.startswith(SCOPE_PREFIX)]
    span = pd.DataFrame({"first": [ok["_first"].min()], "last": [ok["_last"].max()]})
    last = [span["last"].iloc[0], cust_summary.loc[cust_summary[REASON].isna(), "_last_churn"].max()]
    if surv is not None:
        last.append(engine.fetch(con, surv.aggregate(last=surv._local.max()))["last"].iloc[0])
    last = [pd.Timestamp(v) for v in last if v is not None and not pd.isna(v)]
    if pd.isna(span["first"].iloc[0]) or not last:
        raise DataError(
            "no usable contacts remain after exclusions; see the ledger (check customer ids and created_at)"
        )
    return pd.Timestamp(span["first"].iloc[0]).normalize(), max(last).normalize() + pd.Timedelta(days=1)


def _resolve_cutoffs(cutoff, width, first_day, obs_end) -> list[pd.Timestamp]:
    latest = obs_end - width
    if cutoff is None:
        return [latest]
    if isinstance(cutoff, str) and cutoff.strip().lower() == "rolling":
        cuts = [latest - k * width for k in range(MAX_ROLLING) if latest - (k + 1) * width >= first_day]
        if not cuts:
            last = obs_end - pd.Timedelta(days=1)
            raise DataError(
                f"the data span {first_day:%Y-%m-%d} to {last:%Y-%m-%d} is too short "
                f"for even one {width.days}-day feature window plus outcome window"
            )
        return sorted(cuts)
    raw = list(cutoff) if isinstance(cutoff, (list, tuple, pd.Index, np.ndarray, pd.Series)) else [cutoff]
    cuts = sorted({periods.parse_date(v).normalize() for v in raw})
    for cut in cuts:
        if cut + width > obs_end:
            raise ParameterError(
                f"cutoff {cut:%Y-%m-%d} leaves only {(obs_end - cut).days} of the {width.days} outcome days observed "
                f"(data end {obs_end - pd.Timedelta(days=1):%Y-%m-%d}); use a cutoff on or before {latest:%Y-%m-%d}"
            )
    return cuts


def _features_at(
    con, base, c, surv, cutoff: pd.Timestamp, width: pd.Timedelta, controls, *, gap: pd.Timedelta = _NO_GAP
) -> tuple[pd.DataFrame, int]:
    start, begin, stop = cutoff - width, cutoff + gap, cutoff + gap + width
    pop = base.filter((base._signup <= start.date()) & (base._churn.isnull() | (base._churn >= cutoff.date())))
    pop = pop.mutate(churned=(pop._churn.notnull() & (pop._churn < stop.date())))
    people = engine.fetch(con, pop)
    in_gap = 0
    if gap:
        # Churned inside the gap: neither a clean stayer nor an outcome-window churner.
        churn = pd.to_datetime(people["_churn"])
        leaving = (churn < begin).fillna(False).to_numpy(dtype=bool)
        in_gap = int(leaving.sum())
        people = people[~leaving].reset_index(drop=True)
        pop = pop.filter(pop._churn.isnull() | (pop._churn >= begin.date()))
    if people.empty:
        return pd.DataFrame()
    # Only rows strictly before the cutoff: this is the no-leakage line.
    win = c.filter(c[REASON].isnull() & (c.local_ts >= start.to_pydatetime()) & (c.local_ts < cutoff.to_pydatetime()))
    win = win.semi_join(pop, win._cust == pop.customer_id)
    counts = engine.fetch(
        con,
        win.group_by([win._cust.name("customer_id"), win.channel]).aggregate(
            contacts=win.count(), follow_ups=win.follow_up.cast("int64").sum()
        ),
    )
    months = width.days / DAYS_PER_MONTH
    out = people.rename(columns={"_signup": "signup_date", "_churn": "churn_date"})
    out.insert(1, "cutoff", cutoff)
    for col in ("signup_date", "churn_date"):
        out[col] = pd.to_datetime(out[col])
    out["tenure_years"] = (cutoff - out["signup_date"]).dt.days / 365.25
    totals = counts.groupby("customer_id")[["contacts", "follow_ups"]].sum()
    out = out.merge(totals, left_on="customer_id", right_index=True, how="left")
    out[["contacts", "follow_ups"]] = out[["contacts", "follow_ups"]].fillna(0).astype("int64")
    out["cases"] = out["contacts"] - out["follow_ups"]
    out["contacts_per_month"] = out["contacts"] / months
    out["cases_per_month"] = out["cases"] / months
    out["repeat_contact_rate"] = out["follow_ups"] / out["contacts"].where(out["contacts"] > 0)
    if len(counts):
        mix = counts.pivot_table(index="customer_id", columns="channel", values="contacts", aggfunc="sum", fill_value=0)
        mix = mix.div(mix.sum(axis=1), axis=0)
        mix.columns = [f"channel_{_safe_name(ch)}" for ch in mix.columns]
        out = out.merge(mix, left_on="customer_id", right_index=True, how="left")
    if surv is not None:
        s = surv.filter((surv._local >= begin.to_pydatetime()) & (surv._local < stop.to_pydatetime()))
        s = s.semi_join(pop, s._cust == pop.customer_id)
        agg = engine.fetch(
            con,
            s.group_by(s._cust.name("customer_id")).aggregate(
                surveys=s.count(), csat_sum=s._score.sum(), csat_sumsq=(s._score * s._score).sum()
            ),
        )
        out = out.merge(agg, on="customer_id", how="left")
        out["surveys"] = out["surveys"].fillna(0).astype("int64")
        out[["csat_sum", "csat_sumsq"]] = out[["csat_sum", "csat_sumsq"]].fillna(0.0)
        out["csat_mean"] = out["csat_sum"] / out["surveys"].where(out["surveys"] > 0)
    out["churned"] = out["churned"].astype(bool)
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    return out, in_gap
