"""Inbound contacts (primaries with seasonality, onboarding and spikes; follow-ups); the contacts table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .constants import (
    DAY,
    FOLLOWUP_HOURS,
    FOLLOWUP_P,
    HANDLE,
    INBOUND_CHANNEL_P,
    INBOUND_CHANNELS,
    INBOUND_TOPIC_P,
    INBOUND_TOPICS,
    ONBOARD_DAYS,
    ONBOARD_FACTOR,
    ORDER_ISSUE_P,
    ORDERS_PER_MONTH,
    WINDOW,
)
from .customers import Customers
from .events import Events
from .run import Run, ids, lognormal, ts


@dataclass
class Primaries:
    """Primary inbound contacts (customer, seconds, topic), trailing-90-day counts at month starts."""

    cust: np.ndarray
    t: np.ndarray
    topic: np.ndarray
    spike_f: np.ndarray  # primary spike factor of the contact's day (1 off spike days)
    spike_primary: np.ndarray  # per spike: factor applied to primaries
    trail: np.ndarray  # customers x months
    trail_lo: np.ndarray  # window start (day index) per month


@dataclass
class Inbound:
    """All inbound contacts after churn; ``kind`` 0 primary, 1 order issue, 2 follow-up."""

    cust: np.ndarray
    t: np.ndarray
    topic: np.ndarray
    kind: np.ndarray


def spike_primary_factors(cu: Customers, ev: Events) -> np.ndarray:
    """Factor on primaries so that the day's *total* inbound (with follow-ups, order issues) is ``factor``.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> spike_primary_factors(NS(rate=np.ones(10), ecom=np.zeros(10, bool)), NS(spike_factor=np.array([2.0])))
    array([2.21])
    """
    exp_primary = float(np.sum(cu.rate))
    exp_orders = float(np.sum(cu.ecom) * ORDERS_PER_MONTH * ORDER_ISSUE_P)
    o = exp_orders / exp_primary
    return 1.0 + (ev.spike_factor - 1.0) * (1.0 + FOLLOWUP_P + o)


def draw_primaries(run: Run, cu: Customers, ev: Events) -> Primaries:
    """Poisson primaries per customer and day; spike days' extra contacts are about the event."""
    rng, n, nd = run.rng, run.n, run.n_days
    spike_primary = spike_primary_factors(cu, ev)
    dayfac = run.dayfac.copy()
    dayfac[ev.spike_day] *= spike_primary
    days = np.arange(nd)
    cust, day, cnt = [], [], []
    # trailing-90-day counts at each month start, for the churn hazard
    trail = np.zeros((n, len(run.ms)))
    lo_idx = np.maximum(run.ms - WINDOW, 0)
    chunk = 2048
    for c0 in range(0, n, chunk):
        c1 = min(c0 + chunk, n)
        lam = cu.rate[c0:c1, None] * dayfac[None, :]
        rel = days[None, :] - cu.signup[c0:c1, None]
        lam = np.where(rel < 0, 0.0, np.where(rel < ONBOARD_DAYS, lam * ONBOARD_FACTOR, lam))
        k = rng.poisson(lam)
        cs = np.zeros((c1 - c0, nd + 1), dtype=np.int32)
        np.cumsum(k, axis=1, out=cs[:, 1:])
        trail[c0:c1] = cs[:, run.ms] - cs[:, lo_idx]
        ci, di = np.nonzero(k)
        cust.append(ci + c0)
        day.append(di)
        cnt.append(k[ci, di])
    ci, di, kk = np.concatenate(cust), np.concatenate(day), np.concatenate(cnt)
    ci, di = np.repeat(ci, kk), np.repeat(di, kk)
    secs = time_of_day(rng, len(ci))
    t = di.astype(np.int64) * DAY + secs
    topic = rng.choice(INBOUND_TOPICS, len(ci), p=INBOUND_TOPIC_P).astype(object)
    spike_idx = np.full(nd, -1)
    spike_idx[ev.spike_day] = np.arange(len(ev.spike_day))
    si = spike_idx[di]
    on = si >= 0
    share = np.zeros(len(ci))
    share[on] = 1.0 - 1.0 / spike_primary[si[on]]
    about = on & (rng.random(len(ci)) < share)
    topic[about] = ev.spike_topic[si[about]]
    return Primaries(
        cust=ci.astype(np.int64),
        t=t,
        topic=topic,
        spike_f=np.where(on, spike_primary[np.maximum(si, 0)], 1.0),
        spike_primary=spike_primary,
        trail=trail,
        trail_lo=lo_idx,
    )


def time_of_day(rng: np.random.Generator, k: int) -> np.ndarray:
    """Seconds after midnight: mostly business hours around 13:30, 12 % any time."""
    hours = np.clip(rng.normal(13.5, 2.7, k), 6.0, 21.9)
    night = rng.random(k) < 0.12
    hours[night] = rng.uniform(0.0, 24.0, int(night.sum()))
    return np.minimum((hours * 3600).astype(np.int64), DAY - 1)


def draw_followups(run: Run, pr: Primaries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follow-ups of primaries (same topic, 1-40 h later), thinned on spike days; ``(cust, t, topic)``."""
    p = FOLLOWUP_P / pr.spike_f
    has = run.rng.random(len(pr.cust)) < p
    delay = (run.rng.uniform(*FOLLOWUP_HOURS, int(has.sum())) * 3600).astype(np.int64)
    ft = pr.t[has] + delay
    keep = ft < run.n_days * DAY
    return pr.cust[has][keep], ft[keep], pr.topic[has][keep]


def contacts_frame(
    run: Run, cid: np.ndarray, inbound: Inbound, touch: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The contacts table (inbound and CSM touchpoints, ids by time).

    Also returns the contact ids in input order (inbound rows first, for the surveys) and the
    number of follow-ups.
    """
    rng = run.rng
    n_in = len(inbound.cust)
    ch_in = rng.choice(INBOUND_CHANNELS, n_in, p=INBOUND_CHANNEL_P).astype(object)
    cust_all = np.r_[inbound.cust, touch["cust"].to_numpy()]
    t_all = np.r_[inbound.t, touch["t"].to_numpy()]
    direction = np.r_[np.full(n_in, "inbound", dtype=object), np.full(len(touch), "outbound", dtype=object)]
    channel = np.r_[ch_in, touch["channel"].to_numpy(dtype=object)]
    med = np.empty(len(t_all))
    sig = np.empty(len(t_all))
    for (d, c), (mu, s) in HANDLE.items():
        sel = (direction == d) & (channel == c)
        med[sel], sig[sel] = mu, s
    handle = lognormal(rng, med, sig)
    corder = np.lexsort((cust_all, t_all))
    inv = np.empty(len(corder), dtype=np.int64)
    inv[corder] = np.arange(len(corder))
    contact_id = ids("CT", inv + 1, 7)
    contacts = (
        pd.DataFrame(
            {
                "contact_id": contact_id,
                "customer_id": cid[cust_all],
                "created_at": ts(run.start, t_all),
                "channel": channel,
                "direction": direction,
                "topic": np.r_[inbound.topic, touch["topic"].to_numpy(dtype=object)],
                "handle_time": handle,
                "person_id": np.r_[np.full(n_in, "", dtype=object), touch["person_id"].to_numpy(dtype=object)],
            }
        )
        .iloc[corder]
        .reset_index(drop=True)
    )
    return contacts, contact_id, int(np.sum(inbound.kind == 2))
