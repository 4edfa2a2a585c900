"""Churn: a contact-driven monthly hazard, then the planted outcome of the driver-module design.

The churn/CSAT feature ``x`` (inbound contacts per month in the feature window) is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.config import DAYS_PER_MONTH

from .constants import (
    CHURN_OR,
    CHURN_TARGET,
    CHURN_TIER,
    DAY,
    HAZARD_BASE,
    HAZARD_CONTACT_COEF,
    HAZARD_TIER,
    TIERS,
    WINDOW,
)
from .contacts import Inbound, Primaries
from .customers import INF, Customers
from .orders import Orders
from .run import Run, expit, logit


@dataclass
class Churn:
    """Churn day per customer (:data:`INF` = never) and the planted outcome model."""

    day: np.ndarray
    x: np.ndarray  # feature: inbound contacts per month in the feature window
    pop: np.ndarray  # in the churn population
    pop_churned: np.ndarray  # churned in the outcome window (population only)
    intercept: float
    log_odds: float


def hazard_churn(run: Run, cu: Customers, pr: Primaries) -> np.ndarray:
    """Monthly churn from a logistic hazard in the trailing 90-day contact rate; day index or INF."""
    rng, n = run.rng, run.n
    churn = np.full(n, INF)
    alive = np.ones(n, dtype=bool)
    for j, ms in enumerate(run.ms):
        lo = np.maximum(pr.trail_lo[j], cu.signup)
        cover = ms - lo
        rate = np.where(cover >= 15, pr.trail[:, j] / np.maximum(cover, 1) * DAYS_PER_MONTH, cu.base_rate)
        z = logit(HAZARD_BASE) + HAZARD_TIER[cu.tier] + HAZARD_CONTACT_COEF * (rate - cu.base_rate)
        at_risk = alive & (cu.signup < ms)
        hit = at_risk & (rng.random(n) < expit(z))
        day = ms + rng.integers(0, run.me[j] - ms, n)
        churn[hit] = day[hit]
        alive &= ~hit
    return churn


def _before_churn(t: np.ndarray, churn_of_row: np.ndarray) -> np.ndarray:
    return t < np.where(churn_of_row == INF, INF, churn_of_row * DAY)


def _intercept(lin: np.ndarray) -> float:
    """Bisection: the intercept whose mean churn probability is the target."""
    lo_a, hi_a = -15.0, 5.0
    for _ in range(80):
        mid = 0.5 * (lo_a + hi_a)
        if expit(mid + lin).mean() > CHURN_TARGET:
            hi_a = mid
        else:
            lo_a = mid
    return 0.5 * (lo_a + hi_a)


def plant_churn(
    run: Run, cu: Customers, hazard: np.ndarray, pr: Primaries, orders: Orders, followups: tuple
) -> tuple[Churn, Inbound, Orders]:
    """Draw the population's churn from the feature; drop contacts and orders after churn.

    The population (signed up before the feature window, not churned before the cutoff) churns
    only through ``Bernoulli(expit(a + b x + tier effect))``.
    """
    rng, n = run.rng, run.n
    f_cust, f_t, f_topic = followups
    cust = np.concatenate([pr.cust, orders.issue_cust, f_cust])
    t = np.concatenate([pr.t, orders.issue_t, f_t])
    topic = np.concatenate([pr.topic, np.full(len(orders.issue_cust), "order issue", dtype=object), f_topic])
    kind = np.concatenate(
        [np.zeros(len(pr.cust), np.int8), np.ones(len(orders.issue_cust), np.int8), np.full(len(f_cust), 2, np.int8)]
    )
    pop = (cu.signup <= run.fstart) & (hazard >= run.cutoff)
    churn = np.where(pop, INF, hazard)
    keep = _before_churn(t, churn[cust])
    cust, t, topic, kind = cust[keep], t[keep], topic[keep], kind[keep]
    in_f = (t >= run.fstart * DAY) & (t < run.cutoff * DAY)
    x = np.bincount(cust[in_f], minlength=n) / (WINDOW / DAYS_PER_MONTH)
    b = float(np.log(CHURN_OR)) if run.effects else 0.0
    tier_eff = np.array([CHURN_TIER[t_] for t_ in TIERS])[cu.tier]
    lin = b * x[pop] + tier_eff[pop]
    a = _intercept(lin)
    pop_idx = np.flatnonzero(pop)
    y = rng.random(len(pop_idx)) < expit(a + lin)
    churn[pop_idx[y]] = run.cutoff + rng.integers(0, WINDOW, int(y.sum()))
    keep = _before_churn(t, churn[cust])
    pop_churned = np.zeros(n, dtype=bool)
    pop_churned[pop_idx[y]] = True
    okeep = _before_churn(orders.t, churn[orders.cust])
    return (
        Churn(day=churn, x=x, pop=pop, pop_churned=pop_churned, intercept=a, log_odds=b),
        Inbound(cust=cust[keep], t=t[keep], topic=topic[keep], kind=kind[keep]),
        Orders(cust=orders.cust[okeep], t=orders.t[okeep], issue_cust=orders.issue_cust, issue_t=orders.issue_t),
    )
