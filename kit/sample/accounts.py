"""Strategic accounts: stakeholders and CSM touchpoints, with under-served, departed-decision-maker and
QBR-only accounts planted; the stakeholders table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import ParameterError

from .constants import (
    DAY,
    FIRST,
    HEALTHY_TOUCH_EXTRA,
    HEALTHY_TOUCH_MIN,
    LAST,
    N_DM_LEFT,
    N_QBR_ONLY,
    N_UNDER_SERVED,
    ROLE_CADENCE,
    ROLE_WEIGHT,
    STRATEGIC_MAX,
    STRATEGIC_MIN,
    UNDER_SERVED_MONTHS,
)
from .customers import INF, Customers
from .run import Run, day_ts

_OTHER_ROLES = np.array(["executive sponsor", "champion", "user"])
_QBR_ROLES = ("decision maker", "executive sponsor", "champion", "user")


@dataclass
class Accounts:
    """Strategic accounts (customer numbers), the planted groups, touchpoints and stakeholders."""

    strat: np.ndarray
    under: np.ndarray
    dm_left: np.ndarray
    qbr_only: np.ndarray
    us_since: int  # day index from which under-served accounts get 0-2 touches a month
    touch: pd.DataFrame  # cust, t, channel, topic, person_id
    people: pd.DataFrame  # cust, person_id, role, start, end (day indices; end None = still there)


def choose_accounts(run: Run, cu: Customers, churn: np.ndarray) -> tuple[np.ndarray, ...]:
    """Top enterprise customers by ARR, active at the end and a year old; the planted groups.

    Returns ``(strategic, under_served, decision_maker_left, qbr_only)`` customer numbers.
    """
    n_strat = int(np.clip(run.n // 500, STRATEGIC_MIN, STRATEGIC_MAX))
    elig = np.flatnonzero((cu.tier == 2) & (churn == INF) & (cu.signup <= run.n_days - 1 - 365))
    if len(elig) < n_strat:
        raise ParameterError(
            f"generate: only {len(elig)} enterprise customers qualify as strategic accounts "
            f"(need {n_strat}); increase customers."
        )
    strat = elig[np.argsort(-cu.arr[elig], kind="stable")[:n_strat]]
    perm = run.rng.permutation(n_strat)
    a, b, c = N_UNDER_SERVED, N_UNDER_SERVED + N_DM_LEFT, N_UNDER_SERVED + N_DM_LEFT + N_QBR_ONLY
    return strat, strat[perm[:a]], strat[perm[a:b]], strat[perm[b:c]]


def plant_accounts(run: Run, cu: Customers, churn: np.ndarray) -> Accounts:
    """Stakeholders and touchpoints of every strategic account (check-ins, quarterly QBRs)."""
    strat, under, dm_left, qbr_only = choose_accounts(run, cu, churn)
    us_start_month = len(run.ms) - UNDER_SERVED_MONTHS
    under_set, dm_set, qbr_set = set(under.tolist()), set(dm_left.tolist()), set(qbr_only.tolist())
    new_dm_for = dm_left[:1].tolist()  # the first one got a new decision maker, the others not
    sh_rows, t_rows, pid = [], [], 0
    for a in strat:
        a = int(a)
        people, pid = _people(run, int(cu.signup[a]), pid, a in dm_set, a in new_dm_for)
        s0 = max(int(cu.signup[a]), 0)
        cdays = _checkin_days(run, s0, a in under_set, us_start_month)
        qdays = _qbr_days(run, s0)
        t_rows.append(_touchpoints(run, a, people, cdays, qdays, qbr_only=a in qbr_set))
        sh_rows.extend({"cust": a, **p} for p in people)
    return Accounts(
        strat=strat,
        under=under,
        dm_left=dm_left,
        qbr_only=qbr_only,
        us_since=int(run.ms[max(us_start_month, 0)]),
        touch=pd.concat(t_rows, ignore_index=True),
        people=pd.DataFrame(sh_rows),
    )


def _people(run: Run, signup: int, pid: int, dm_leaves: bool, dm_replaced: bool) -> tuple[list, int]:
    """3-5 stakeholders (a decision maker and a champion first); a departed decision maker maybe replaced."""
    rng, nd = run.rng, run.n_days
    n_p = int(rng.integers(3, 6))
    roles = ["decision maker", "champion"] + list(rng.choice(_OTHER_ROLES, n_p - 2, p=[0.4, 0.2, 0.4]))
    people = []
    for role in roles:
        pid += 1
        people.append({"person_id": f"P{pid:05d}", "role": role, "start": signup, "end": None})
    if dm_leaves:
        people[0]["end"] = int(nd - 1 - 120 + rng.integers(-10, 11))
        if dm_replaced:
            pid += 1
            people.append(
                {
                    "person_id": f"P{pid:05d}",
                    "role": "decision maker",
                    "start": people[0]["end"] + int(rng.integers(20, 41)),
                    "end": None,
                }
            )
    return people, pid


def _checkin_days(run: Run, s0: int, under_served: bool, us_start_month: int) -> np.ndarray:
    """Check-in days on weekdays: 6 + Poisson(2) a month, 0-2 for under-served in the last months."""
    rng = run.rng
    weekday_days = np.flatnonzero(run.dow < 5)
    days = []
    for j, (ms, me) in enumerate(zip(run.ms, run.me)):
        lo = max(ms, s0)
        if me <= lo:
            continue
        if under_served and j >= us_start_month:
            k = int(rng.integers(0, 3))
        else:
            k = HEALTHY_TOUCH_MIN + int(rng.poisson(HEALTHY_TOUCH_EXTRA))
        pool = weekday_days[(weekday_days >= lo) & (weekday_days < me)]
        if len(pool) == 0:
            pool = np.arange(lo, me)
        days.append(rng.choice(pool, k))
    return np.sort(np.concatenate(days)) if days else np.zeros(0, np.int64)


def _qbr_days(run: Run, s0: int) -> np.ndarray:
    """One QBR per calendar quarter, 5..25 days into the quarter."""
    qdays = []
    for ms in run.ms:
        cal_month = (run.start + pd.Timedelta(days=int(ms))).month
        if (cal_month - 1) % 3 == 0:
            d = int(ms + run.rng.integers(5, 26))
            if s0 <= d < run.n_days:
                qdays.append(d)
    return np.array(qdays, dtype=np.int64)


class _Team:
    """The stakeholders of one account as arrays, to draw who a touchpoint reached."""

    def __init__(self, people: list, nd: int):
        self.pid = np.array([p["person_id"] for p in people])
        self.role = np.array([p["role"] for p in people])
        self.start = np.array([p["start"] for p in people])
        self.end = np.array([p["end"] if p["end"] is not None else nd + 1 for p in people])
        self.w = np.array([ROLE_WEIGHT[r] for r in self.role])
        self.is_dm = self.role == "decision maker"

    def active(self, days: np.ndarray) -> np.ndarray:
        return (self.start[None, :] <= days[:, None]) & (days[:, None] < self.end[None, :])

    def pick(self, rng, days: np.ndarray, exclude_dm) -> np.ndarray:
        """Person index per day, weighted by role among those active (decision makers maybe excluded)."""
        act = self.active(days)
        ww = act * self.w[None, :]
        if exclude_dm is not None:
            ww = np.where(exclude_dm[:, None] & self.is_dm[None, :], 0.0, ww)
        ww = np.where(ww.sum(1, keepdims=True) > 0, ww, act + 1e-9)
        cum = np.cumsum(ww, axis=1)
        u = rng.random(len(days))[:, None] * cum[:, -1:]
        return np.minimum((u > cum).sum(1), len(self.pid) - 1)

    def qbr_person(self, d: int) -> int:
        """The active decision maker, else the executive sponsor, champion, user; else the first."""
        act = (self.start <= d) & (d < self.end)
        for role in _QBR_ROLES:
            hit = np.flatnonzero(act & (self.role == role))
            if len(hit):
                return hit[0]
        return 0


def _ensure_dm_touch(run: Run, team: _Team, cdays: np.ndarray, cp: np.ndarray):
    """At least one non-QBR touch of an active decision maker in the last 90 days (when one exists)."""
    rng, nd = run.rng, run.n_days
    last90 = nd - 90
    dm_active = team.is_dm[None, :] & team.active(cdays)
    recent = cdays >= last90
    if np.any(recent & team.is_dm[cp] & dm_active[np.arange(len(cdays)), cp]):
        return cdays, cp
    cand = np.flatnonzero(recent & dm_active.any(1))
    if len(cand):
        i = int(rng.choice(cand))
        cp[i] = int(np.flatnonzero(dm_active[i])[0])
        return cdays, cp
    dm_now = np.flatnonzero(team.is_dm & (team.start <= nd - 30) & (team.end > nd - 1))
    if len(dm_now):
        d = int(rng.integers(max(last90, int(team.start[dm_now[0]])), nd))
        return np.r_[cdays, d], np.r_[cp, dm_now[0]]
    return cdays, cp


def _touchpoints(
    run: Run, a: int, people: list, cdays: np.ndarray, qdays: np.ndarray, *, qbr_only: bool
) -> pd.DataFrame:
    """Touchpoint rows of account ``a``; QBR-only accounts reach no decision maker otherwise lately."""
    rng = run.rng
    team = _Team(people, run.n_days)
    excl = (cdays >= run.n_days - 90) if qbr_only else None
    cp = team.pick(rng, cdays, excl)
    if not qbr_only:
        cdays, cp = _ensure_dm_touch(run, team, cdays, cp)
    qp = np.array([team.qbr_person(d) for d in qdays], dtype=np.int64)
    ch = rng.choice(np.array(["meeting", "email", "phone"]), len(cdays), p=[0.3, 0.45, 0.25])
    all_days = np.r_[cdays, qdays]
    secs = (rng.uniform(9.0, 17.0, len(all_days)) * 3600).astype(np.int64)
    return pd.DataFrame(
        {
            "cust": a,
            "t": all_days.astype(np.int64) * DAY + secs,
            "channel": np.r_[ch, np.full(len(qdays), "meeting")],
            "topic": np.r_[np.full(len(cdays), "check-in"), np.full(len(qdays), "qbr")],
            "person_id": team.pid[np.r_[cp, qp].astype(np.int64)],
        }
    )


def stakeholders_frame(run: Run, cid: np.ndarray, acc: Accounts) -> pd.DataFrame:
    """The stakeholders table (names drawn here, after the contacts)."""
    sh = acc.people
    first = run.rng.choice(FIRST, len(sh))
    last = run.rng.choice(LAST, len(sh))
    return pd.DataFrame(
        {
            "customer_id": cid[sh["cust"].to_numpy()],
            "person_id": sh["person_id"].to_numpy(dtype=object),
            "name": (pd.Series(first) + " " + pd.Series(last)).to_numpy(dtype=object),
            "role": sh["role"].to_numpy(dtype=object),
            "cadence_days": sh["role"].map(ROLE_CADENCE).to_numpy(dtype=np.int64),
            "start_date": day_ts(run.start, sh["start"].to_numpy(dtype=np.int64)),
            "end_date": pd.to_datetime(
                [None if pd.isna(e) else run.start + pd.Timedelta(days=int(e)) for e in sh["end"]]
            ).astype("datetime64[ns]"),
        }
    )
