"""Customer Contact KPI: is every relationship a CSM must keep contacted on cadence?

For every required relationship (account x stakeholder role) :func:`coverage` gives the
last touch, days overdue against the cadence and on-cadence yes/no; account and portfolio
coverage; the warning cases of the domain material (decision maker left, only the business
review left) and over-contact. Row-level work runs on the engine; only per-stakeholder
aggregates are fetched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from ..core import engine
from ..core.asof import cut_source
from ..core.dataset import accepts_dataset
from ..core.ledger import SCOPE_PREFIX, Ledger
from ..core.prepare import REASON, classify_contacts, classify_customers, count_reasons, customer_lookup
from ..core.redact import redact_frame
from ..core.results import Result
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, MappingSpec, TableSource
from ..errors import DataError, ParameterError
from ..present.narrative import num, pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes
from .accounts import _as_of, _info_columns

__all__ = ["coverage", "Coverage"]


@dataclass(frozen=True, repr=False)
class Coverage(Result):
    """Customer Contact KPI: required relationships, their cadence status and warnings.

    Attributes
    ----------
    people : pandas.DataFrame
        One row per stakeholder record: ``customer_id, person_id, [person_name], role,
        cadence_days, start_date, end_date, active, last_touch, days_since_touch,
        days_overdue, on_cadence, touches_recent, over_contact_ratio, over_contact``.
    roles : pandas.DataFrame
        One row per required relationship (account x role): ``holders, cadence_days,
        last_touch, days_since_touch, days_overdue, on_cadence, status`` (on cadence /
        overdue / vacant).
    accounts : pandas.DataFrame
        One row per account: ``required, on_cadence, coverage, decision_maker_left,
        decision_maker_vacant, review_only, over_contacted, warning``.
    owners : pandas.DataFrame or None
        Portfolio coverage per CSM owner (when the customers table has the owner column).
    as_of : pandas.Timestamp
    notes : tuple of str
    ledger : Ledger

    ``describe()`` says it in sentences, ``plot(ax=)`` draws coverage by role,
    ``plot_owners(ax=)`` per CSM, ``to_dict()`` gives JSON-safe values.
    """

    people: pd.DataFrame
    roles: pd.DataFrame
    accounts: pd.DataFrame
    owners: pd.DataFrame | None
    as_of: pd.Timestamp
    notes: tuple = ()
    ledger: Ledger | None = None

    def __repr__(self) -> str:
        return f"Coverage({self.sentences()[0]})"

    @property
    def frame(self) -> pd.DataFrame:
        """The per-account table (:attr:`accounts`), for displays that show a result's frame."""
        return self.accounts

    @property
    def overdue(self) -> pd.DataFrame:
        """Required relationships not on cadence, most overdue first (vacant roles first)."""
        r = self.roles[~self.roles["on_cadence"]]
        return r.sort_values(
            ["status", "days_overdue"], ascending=[False, False], na_position="first", kind="stable"
        ).reset_index(drop=True)

    @property
    def over_contact(self) -> pd.DataFrame:
        """Active stakeholders touched far above their cadence."""
        return (
            self.people[self.people["over_contact"]]
            .sort_values("over_contact_ratio", ascending=False)
            .reset_index(drop=True)
        )

    @property
    def by_role(self) -> pd.DataFrame:
        """Coverage per role across all accounts: required, on cadence, share."""
        g = self.roles.groupby("role")
        out = pd.DataFrame({"required": g.size(), "on_cadence": g["on_cadence"].sum().astype("int64")})
        out["coverage"] = out["on_cadence"] / out["required"]
        return out.reset_index()

    def redact(self, *, salt: str | None = None) -> Coverage:
        """A copy with account and person names and ids replaced by stable pseudonyms."""
        r = lambda df: None if df is None else redact_frame(df, salt=salt)  # noqa: E731
        return dataclasses.replace(self, people=r(self.people), roles=r(self.roles), accounts=r(self.accounts))

    def describe(self) -> str:
        """Coverage, the weakest role, portfolio spread and the warning cases, in sentences."""
        return " ".join(self.sentences())

    def sentences(self) -> list[str]:
        """The sentences of :meth:`describe`, one per list item (for bullet lists)."""
        a, roles = self.accounts, self.roles
        key = "name" if "name" in a.columns else "customer_id"
        total_req, total_on = int(a["required"].sum()), int(a["on_cadence"].sum())
        lines = [
            f"As of {self.as_of:%Y-%m-%d}, {total_on} of {total_req} required relationships across "
            f"{len(a)} accounts are on cadence ({pct(total_on / total_req if total_req else float('nan'))})."
        ]
        br = self.by_role.sort_values("coverage")
        if len(br):
            worst = br.iloc[0]
            lines.append(
                f"The weakest role is {worst['role']}: {int(worst['on_cadence'])} of {int(worst['required'])} "
                f"on cadence ({pct(worst['coverage'])})."
            )
        if self.owners is not None and len(self.owners):
            o = self.owners.sort_values("coverage")
            lines.append(
                "Portfolio coverage by CSM ranges from "
                f"{pct(o['coverage'].iloc[0])} ({o.iloc[0, 0]}) to {pct(o['coverage'].iloc[-1])} ({o.iloc[-1, 0]})."
            )
        vac = roles[roles["status"] == "vacant"]
        if len(vac):
            lines.append(f"{len(vac)} required relationship(s) have nobody in the role.")
        for flag, text in (
            ("decision_maker_left", "the decision maker left"),
            ("review_only", "the decision maker is only met at the business review"),
        ):
            hit = a[a[flag]]
            if len(hit):
                lines.append(f"Warning: in {len(hit)} account(s) {text}: {', '.join(map(str, hit[key]))}.")
        oc = self.over_contact
        if len(oc):
            lines.append(
                f"{len(oc)} stakeholder(s) are touched far above their cadence "
                f"(up to {num(oc['over_contact_ratio'].max(), 1)}x); check their preferences."
            )
        return lines

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Bar chart of coverage by role; returns the Axes."""
        import seaborn as sns

        from ..present.plots import new_axes

        _, ax = new_axes(ax, figsize=(7, 3.2))
        sns.barplot(self.by_role, x="coverage", y="role", ax=ax, color="#0072b2")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of required relationships on cadence")
        ax.set_ylabel("")
        ax.set_title("Coverage by stakeholder role")
        return ax

    def plot_owners(self, *, ax: Axes | None = None) -> Axes:
        """Bar chart of portfolio coverage per CSM owner; returns the Axes."""
        import seaborn as sns

        from ..present.plots import new_axes

        if self.owners is None:
            raise DataError("no CSM owner column was available; pass customers with an owner column")
        _, ax = new_axes(ax, figsize=(7, max(2.5, 0.3 * len(self.owners) + 1)))
        col = self.owners.columns[0]
        sns.barplot(self.owners.sort_values("coverage"), x="coverage", y=col, ax=ax, color="#009e73")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of required relationships on cadence")
        ax.set_ylabel("")
        ax.set_title("Portfolio coverage by CSM")
        return ax


def _materialise(con, expr):
    """``expr`` as a temporary table on ``con`` (the expression itself where that is not possible)."""
    try:
        return con.create_table(ibis.util.gen_name("kit_touches"), expr, temp=True)
    except Exception:  # noqa: BLE001 - a backend without temp tables: recompute instead
        return expr


def _norm_role(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower().str.replace(r"[_\-\s]+", " ", regex=True)


def _stakeholder_frame(con, src, ledger) -> pd.DataFrame:
    """Typed, validated stakeholder records (a reference table: one row per person and role)."""
    t = src.table
    sel = dict(
        customer_id=engine.blank_to_null(engine.as_key(t.customer_id)),
        person_id=engine.blank_to_null(engine.as_key(t.person_id)),
        role=engine.blank_to_null(t.role.cast(dt.string)),
        cadence_days=t.cadence_days.try_cast(dt.float64)
        if not t.cadence_days.type().is_numeric()
        else t.cadence_days.cast(dt.float64),
    )
    for col in ("start_date", "end_date"):
        if col in t.columns:
            sel[col] = engine.local_date(t[col])
            sel[f"_{col}_bad"] = (
                engine.is_unparseable(t[col], sel[col]) if t[col].type().is_string() else ibis.literal(False)
            )
    if "name" in t.columns:
        sel["person_name"] = t.name.cast(dt.string)
    df = engine.fetch(con, t.select(**sel))
    for col in ("start_date", "end_date"):
        df[col] = pd.to_datetime(df[col]) if col in df.columns else pd.NaT
        df[f"_{col}_bad"] = df[f"_{col}_bad"].fillna(False).astype(bool) if f"_{col}_bad" in df.columns else False
    df["role"] = _norm_role(df["role"])
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    for cond, why in (
        (df["customer_id"].isna(), "missing customer_id"),
        (df["person_id"].isna(), "missing person_id"),
        (df["role"].isna(), "missing role"),
        (~(df["cadence_days"] > 0), "missing or non-positive cadence_days"),
        (df["_start_date_bad"], "unparseable start_date"),
        (df["_end_date_bad"], "unparseable end_date"),
        (df["end_date"] < df["start_date"], "end_date before start_date"),
    ):
        reason = reason.where(reason.notna() | ~cond.fillna(False).astype(bool), why)
    dup = reason.isna() & df.duplicated(["customer_id", "person_id", "role", "start_date", "end_date"])
    reason = reason.where(~dup, "duplicate stakeholder record")
    excluded = reason.dropna().value_counts().to_dict()
    examples = {r: df.loc[reason == r, "person_id"].astype(str).head(3).tolist() for r in excluded}
    ledger.record(
        src.name, src.label, read=len(df), used=int(reason.isna().sum()), excluded=excluded, examples=examples
    )
    df = df[reason.isna()].drop(columns=[c for c in df.columns if c.startswith("_")]).reset_index(drop=True)
    df["_row"] = np.arange(len(df), dtype="int64")
    return df


@accepts_dataset
def coverage(
    contacts: TableSource,
    stakeholders: TableSource,
    customers: TableSource = None,
    *,
    as_of: DateLike = None,
    owner: str = "csm_owner",
    direction: str = "outbound",
    decision_role: str = "decision maker",
    review_topics: Sequence[str] = ("qbr", "business review", "ebr"),
    recent_days: int = 90,
    left_within_days: int = 365,
    over_contact_factor: float = 4.0,
    over_contact_days: int = 90,
    tz: str | None = None,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> Coverage:
    """Customer Contact KPI: is every relationship the CSM must keep contacted on cadence?

    Follows the material's three steps: ``stakeholders`` defines where the
    relationships should exist (account, person, role) and how often each should
    be contacted (``cadence_days``); outbound contacts carrying ``person_id`` are
    the tracked touches.

    Rules (all dates in the business time zone, tenures inclusive):

    * A touch counts for a stakeholder record only inside its tenure
      ``[start_date, end_date]``; with overlapping records (a hand-over, or a person
      holding two roles) one touch counts for each record it falls in.
    * A person is active on ``as_of`` when ``start_date <= as_of <= end_date``.
      Their next touch is due ``cadence_days`` after the last touch (after the
      start date when never touched, so a new stakeholder gets one cadence of
      grace). ``days_overdue = max(0, as_of - due)``.
    * A required relationship is an (account, role) with an active holder, or
      whose last holder left within ``left_within_days`` (then it is "vacant" and
      not on cadence). It is on cadence when any active holder is.
    * ``decision_maker_left``: a ``decision_role`` holder's end date falls within
      ``left_within_days`` before ``as_of``. ``review_only``: in the last
      ``recent_days`` the active decision makers (or the whole account) were only
      touched by contacts whose topic is one of ``review_topics``.
    * Over-contact: an active person touched at least ``over_contact_factor`` times
      as often as their cadence implies over the last ``over_contact_days``.

    Parameters
    ----------
    contacts, stakeholders, customers
        Any source accepted by :func:`kit.core.sources.open_tables`, or a
        :class:`kit.core.dataset.Dataset` as the first argument. ``customers`` is
        optional; it supplies account names and the ``owner`` column.
    as_of : date-like, optional
        Default: the last day of data (latest contact date, any direction). When given, people
        and customers that start later are left out and later end dates are not known yet (see
        :func:`kit.core.asof.known_by`); later touches are out of scope in the ledger.
    owner : str
        Customers column holding the CSM owner, for portfolio coverage.
    direction : {"outbound", "inbound", "all"}
        Which contacts are touches.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).

    Returns
    -------
    Coverage
        ``.people``, ``.roles``, ``.accounts``, ``.owners``, ``.overdue``,
        ``.over_contact``, ``.by_role``, ``.describe()``, ``.plot()``, ``.redact()``.

    Examples
    --------
    >>> import pandas as pd
    >>> sh = pd.DataFrame({"customer_id": ["A", "A"], "person_id": ["p1", "p2"],
    ...                    "role": ["decision maker", "champion"], "cadence_days": [30, 14]})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2], "customer_id": ["A", "A"],
    ...     "created_at": ["2026-10-20 10:00", "2026-10-01 10:00"], "channel": "email",
    ...     "direction": "outbound", "person_id": ["p1", "p2"]})
    >>> cov = coverage(contacts, sh, as_of="2026-10-31")
    >>> cov.roles[["role", "days_overdue", "on_cadence"]].to_dict("records")
    [{'role': 'champion', 'days_overdue': 16.0, 'on_cadence': False}, {'role': 'decision maker',
    'days_overdue': 0.0, 'on_cadence': True}]
    >>> float(cov.accounts["coverage"].iloc[0])
    0.5
    >>> cov.describe()
    'As of 2026-10-31, 1 of 2 required relationships across 1 accounts are on cadence (50%). The weakest role
    is champion: 0 of 1 on cadence (0%).'
    """
    _check_options(
        direction,
        recent_days=recent_days,
        left_within_days=left_within_days,
        over_contact_days=over_contact_days,
        over_contact_factor=over_contact_factor,
    )
    tables = open_tables(
        contacts=contacts, stakeholders=stakeholders, customers=customers, mapping=mapping, con=con, tz=tz
    )
    con = tables.con
    csrc, ssrc, usrc = tables["contacts"], tables["stakeholders"], tables.get("customers")
    if as_of is not None:  # people who start later, later departures and later customers are not known yet
        ssrc = cut_source(ssrc, as_of)
        usrc = cut_source(usrc, as_of) if usrc is not None else None
    if "person_id" not in csrc.columns:
        raise ParameterError(
            f"contacts ({csrc.label}) have no person_id column; coverage needs the person each "
            "touch was with (map your column to person_id)"
        )
    notes: list[str] = []
    ledger = Ledger()
    people = _stakeholder_frame(con, ssrc, ledger)
    if people.empty:
        raise DataError(f"no usable stakeholder records in {ssrc.label}; see the ledger")
    info, lookup = _account_info(con, csrc, usrc, people, owner, ledger, notes)
    c = classify_contacts(csrc, lookup, direction=direction, dedup_seconds=0)
    as_of = _as_of(con, csrc, as_of)
    has_topic = "topic" in csrc.columns
    if not has_topic:
        notes.append("contacts have no topic column, so business-review-only relationships cannot be detected")
    touches = _touches(con, csrc, c, as_of, review_topics if has_topic else None, ledger)
    per, acct_recent = _per_record(
        con, touches, people, as_of, recent_days=int(recent_days), over_contact_days=int(over_contact_days), notes=notes
    )
    return _coverage_frames(
        people,
        per,
        acct_recent,
        info,
        as_of,
        owner=owner,
        decision_role=decision_role,
        recent_days=int(recent_days),
        left_within_days=int(left_within_days),
        factor=float(over_contact_factor),
        over_days=int(over_contact_days),
        has_topic=has_topic,
        notes=notes,
        ledger=ledger,
    )


def _check_options(direction, *, over_contact_factor, **days) -> None:
    if direction not in ("inbound", "outbound", "all"):
        raise ParameterError(f"direction must be inbound, outbound or all, not {direction!r}")
    for name, v in days.items():
        if int(v) < 1:
            raise ParameterError(f"{name} must be at least 1 day, not {v!r}")
    if not float(over_contact_factor) > 1:
        raise ParameterError(f"over_contact_factor must be above 1, not {over_contact_factor!r}")


def _account_info(con, csrc, usrc, people, owner, ledger, notes):
    """Per-account name/owner/arr columns (when there is a customers table) and the customer lookup."""
    info = pd.DataFrame({"customer_id": people["customer_id"].unique()})
    if usrc is None:
        # Without a customers table every contact's customer id is taken as known.
        ids = csrc.table.select(_cid=engine.blank_to_null(engine.as_key(csrc.table.customer_id))).distinct()
        return info, ids.mutate(_cust_ok=ibis.literal(True), _signup=ibis.null(dt.date), _churn=ibis.null(dt.date))
    cust = classify_customers(usrc)
    count_reasons(con, ledger, usrc, cust)
    lookup = customer_lookup(cust, [])
    cols = _info_columns(usrc.columns, owner)
    ok = cust.filter(cust[REASON].isnull())
    if cols:
        got = engine.fetch(
            con,
            ok.filter(ok.cid.isin(info["customer_id"].tolist())).select(customer_id=ok.cid, **{c: ok[c] for c in cols}),
        )
        info = info.merge(got, on="customer_id", how="left")
    if owner not in usrc.columns:
        notes.append(f"customers have no {owner!r} column, so there is no portfolio coverage per CSM")
    return info, lookup


def _touches(con, csrc, c, as_of, review_topics, ledger):
    """The used touches (with a person, up to ``as_of``) on the engine; the ledger counts the rest."""
    day = c.local_ts.date()
    pid = engine.blank_to_null(engine.as_key(c.person_id))
    reason = ibis.cases(
        (c[REASON].notnull(), c[REASON]),
        (pid.isnull(), ibis.literal(f"{SCOPE_PREFIX}no person_id")),
        (day > as_of.date(), ibis.literal(f"{SCOPE_PREFIX}after the as-of date")),
        else_=ibis.null(dt.string),
    )
    review = (
        c.topic.cast(dt.string).lower().strip().isin([str(t).lower() for t in review_topics]).fill_null(False)
        if review_topics is not None
        else ibis.literal(False)
    )
    c = c.mutate(**{REASON: reason}, _pid=pid, _day=day, _review=review)
    count_reasons(con, ledger, csrc, c)
    # The used touches are few (CSM activity): keep them on the engine so the queries below
    # do not repeat the classification's window pass over all contacts.
    return _materialise(con, c.filter(c[REASON].isnull()).select("_cust", "_pid", "_day", "_review", "_contact"))


def _per_record(con, touches, people, as_of, *, recent_days, over_contact_days, notes):
    """Per stakeholder record: touches inside the tenure (range join on the engine); per account: recent ones."""
    st = ibis.memtable(
        people[["_row", "customer_id", "person_id", "start_date", "end_date"]].assign(
            start_date=people["start_date"].dt.date, end_date=people["end_date"].dt.date
        )
    )
    st = st.mutate(start_date=st.start_date.cast(dt.date), end_date=st.end_date.cast(dt.date))
    j = touches.join(
        st,
        [
            touches._cust == st.customer_id,
            touches._pid == st.person_id,
            st.start_date.isnull() | (touches._day >= st.start_date),
            st.end_date.isnull() | (touches._day <= st.end_date),
        ],
    )
    recent_from = (as_of - pd.Timedelta(days=recent_days - 1)).date()
    over_from = (as_of - pd.Timedelta(days=over_contact_days - 1)).date()
    per = engine.fetch(
        con,
        j.group_by(j._row).aggregate(
            last_touch=j._day.max(),
            touches_recent=(j._day >= recent_from).cast("int64").sum(),
            review_recent=((j._day >= recent_from) & j._review).cast("int64").sum(),
            touches_over_window=(j._day >= over_from).cast("int64").sum(),
        ),
    )
    known = engine.fetch(con, touches.aggregate(n=touches._contact.nunique()))["n"].iloc[0]
    matched = engine.fetch(con, j.aggregate(k=j._contact.nunique()))
    unmatched = int(known) - int(matched["k"].iloc[0])
    if unmatched > 0:
        notes.append(
            f"{unmatched:,} touch(es) carry a person_id that is not a stakeholder of that account "
            "within their tenure, and were not counted"
        )
    rt = touches.filter(touches._day >= recent_from)
    return per, engine.fetch(
        con, rt.group_by(rt._cust).aggregate(n=rt.count(), n_review=rt._review.cast("int64").sum())
    )


def _coverage_frames(
    people,
    per,
    acct_recent,
    info,
    as_of,
    *,
    owner,
    decision_role,
    recent_days,
    left_within_days,
    factor,
    over_days,
    has_topic,
    notes,
    ledger,
) -> Coverage:
    p = _people_status(people, per, as_of, factor=factor, over_days=over_days, left_within_days=left_within_days)
    dm_role = _norm_role(pd.Series([decision_role])).iloc[0]
    roles = _roles_table(p, info, as_of)
    acc = _accounts_table(p, roles, acct_recent, info, dm_role, has_topic)
    owners = _owners_table(acc, owner) if owner in acc.columns else None
    pcols = [
        "customer_id",
        *[c for c in info.columns if c != "customer_id"],
        "person_id",
        *(["person_name"] if "person_name" in p.columns else []),
        "role",
        "cadence_days",
        "start_date",
        "end_date",
        "active",
        "last_touch",
        "days_since_touch",
        "days_overdue",
        "on_cadence",
        "touches_recent",
        "over_contact_ratio",
        "over_contact",
    ]
    p = (
        info.merge(p, on="customer_id", how="right")[pcols]
        .sort_values(["customer_id", "role", "person_id"], kind="stable")
        .reset_index(drop=True)
    )
    return Coverage(people=p, roles=roles, accounts=acc, owners=owners, as_of=as_of, notes=tuple(notes), ledger=ledger)


def _people_status(people, per, as_of, *, factor, over_days, left_within_days) -> pd.DataFrame:
    """Stakeholder records started by ``as_of`` with last touch, days overdue, over-contact, recent departure."""
    p = people.merge(per, on="_row", how="left")
    p["last_touch"] = pd.to_datetime(p["last_touch"])
    for col in ("touches_recent", "review_recent", "touches_over_window"):
        p[col] = p[col].fillna(0).astype("int64")
    started = p["start_date"].isna() | (p["start_date"] <= as_of)
    p = p[started].copy()  # future stakeholders are not required yet
    p["active"] = p["end_date"].isna() | (p["end_date"] >= as_of)
    p["days_since_touch"] = (as_of - p["last_touch"]).dt.days
    base = p["last_touch"].fillna(p["start_date"])
    due = base + pd.to_timedelta(p["cadence_days"], unit="D")
    p["days_overdue"] = (as_of - due).dt.days.clip(lower=0).astype(float)
    p["on_cadence"] = p["active"] & (p["days_overdue"] == 0)
    # Expected touches over the window, given the part of it the person was in the role.
    win_start = as_of - pd.Timedelta(days=over_days - 1)
    lo = p["start_date"].fillna(win_start).clip(lower=win_start)
    hi = p["end_date"].fillna(as_of).clip(upper=as_of)
    exposure = ((hi - lo).dt.days + 1).clip(lower=0)
    expected = exposure / p["cadence_days"]
    p["over_contact_ratio"] = (p["touches_over_window"] / expected.where(expected > 0)).astype(float)
    p["over_contact"] = p["active"] & (p["over_contact_ratio"] >= factor) & (p["touches_over_window"] >= 2)
    left_from = as_of - pd.Timedelta(days=left_within_days)
    departed = p["end_date"].notna() & (p["end_date"] < as_of)
    p["left_recently"] = departed & (p["end_date"] >= left_from)
    return p


def _roles_table(p, info, as_of) -> pd.DataFrame:
    """One row per required relationship (account x role): held, or vacated within the window."""
    act = p[p["active"]]
    g = act.groupby(["customer_id", "role"])
    roles = pd.DataFrame(
        {
            "holders": g.size(),
            "cadence_days": g["cadence_days"].min(),
            "last_touch": g["last_touch"].max(),
            "days_overdue": g["days_overdue"].min(),
            "on_cadence": g["on_cadence"].any(),
        }
    ).reset_index()
    vacated = p[p["left_recently"]][["customer_id", "role"]].drop_duplicates()
    vacated = vacated.merge(roles[["customer_id", "role"]], how="left", indicator=True)
    vacated = vacated[vacated["_merge"] == "left_only"].drop(columns="_merge")
    if len(vacated):
        vacated = vacated.assign(
            holders=0, cadence_days=np.nan, last_touch=pd.NaT, days_overdue=np.nan, on_cadence=False
        )
        roles = pd.concat([roles, vacated], ignore_index=True)
    roles["on_cadence"] = roles["on_cadence"].astype(bool)
    roles["days_since_touch"] = (as_of - roles["last_touch"]).dt.days
    roles["status"] = np.where(roles["holders"] == 0, "vacant", np.where(roles["on_cadence"], "on cadence", "overdue"))
    roles = info.merge(roles, on="customer_id", how="right")
    return roles.sort_values(["customer_id", "role"], kind="stable").reset_index(drop=True)


def _accounts_table(p, roles, acct_recent, info, dm_role, has_topic) -> pd.DataFrame:
    """One row per account: coverage and the warning cases."""
    is_dm = p["role"] == dm_role
    ga = roles.groupby("customer_id")
    acc = pd.DataFrame({"required": ga.size(), "on_cadence": ga["on_cadence"].sum().astype("int64")})
    acc["coverage"] = acc["on_cadence"] / acc["required"]
    dm_left = p[is_dm & p["left_recently"]].groupby("customer_id").size()
    acc["decision_maker_left"] = acc.index.isin(dm_left.index)
    acc["decision_maker_vacant"] = acc.index.isin(
        roles.loc[(roles["role"] == dm_role) & (roles["status"] == "vacant"), "customer_id"]
    )
    if has_topic:
        dm_act = p[is_dm & p["active"]].groupby("customer_id")[["touches_recent", "review_recent"]].sum()
        dm_review_only = dm_act[(dm_act["touches_recent"] > 0) & (dm_act["touches_recent"] == dm_act["review_recent"])]
        ar = acct_recent.set_index("_cust")
        acct_review_only = ar[(ar["n"] > 0) & (ar["n"] == ar["n_review"])]
        acc["review_only"] = acc.index.isin(dm_review_only.index) | acc.index.isin(acct_review_only.index)
    else:
        acc["review_only"] = False
    acc["over_contacted"] = p[p["over_contact"]].groupby("customer_id").size().reindex(acc.index, fill_value=0)

    def _warn(r) -> str:
        bits = []
        if r["decision_maker_left"]:
            bits.append(
                "decision maker left"
                + (
                    " and nobody replaced them"
                    if r["decision_maker_vacant"]
                    else "; build the relationship with the new one"
                )
            )
        if r["review_only"]:
            bits.append("decision maker only met at the business review")
        if r["over_contacted"]:
            bits.append(f"{int(r['over_contacted'])} person(s) touched far above cadence")
        return "; ".join(bits)

    acc["warning"] = acc.apply(_warn, axis=1) if len(acc) else pd.Series(dtype=str)
    acc = info.merge(acc.reset_index(), on="customer_id", how="right")
    return acc.sort_values(["coverage", "customer_id"], kind="stable").reset_index(drop=True)


def _owners_table(acc, owner) -> pd.DataFrame:
    """Portfolio coverage per CSM owner."""
    go = acc.groupby(acc[owner].fillna("(none)").replace("", "(none)"))
    owners = pd.DataFrame(
        {
            "accounts": go.size(),
            "required": go["required"].sum(),
            "on_cadence": go["on_cadence"].sum(),
            "accounts_fully_covered": go["coverage"].apply(lambda s: int((s == 1).sum())),
        }
    )
    owners["coverage"] = owners["on_cadence"] / owners["required"]
    return owners.reset_index().rename(columns={"index": owner})
