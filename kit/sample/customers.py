"""Customers: signup, tier, segment, region, contract, ARR, contact-rate frailty; the customers table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .constants import (
    ECOM_RATE_MULT,
    ECOM_SHARE,
    EXISTING_SHARE,
    EXISTING_SPREAD_DAYS,
    FRAILTY_SHAPE,
    INDUSTRY_ECOM,
    INDUSTRY_SAAS,
    REGION_P,
    REGIONS,
    TIER_P,
    TIER_RATE,
    TIERS,
)
from .run import Run, day_ts, ids, names

INF = np.iinfo(np.int64).max  # "never" for churn day indices


@dataclass
class Customers:
    """Per-customer arrays (index = internal customer number; days since ``Run.start``)."""

    signup: np.ndarray
    tier: np.ndarray
    ecom: np.ndarray
    region: np.ndarray
    contract: np.ndarray
    arr: np.ndarray
    names: np.ndarray
    frailty: np.ndarray
    base_rate: np.ndarray
    rate: np.ndarray


def draw_customers(run: Run) -> Customers:
    """Draw the clean customers: 55 % existing at the start, the rest signing up during the data.

    Examples
    --------
    >>> import pandas as pd
    >>> cu = draw_customers(Run(1000, 12, 1, pd.Timestamp("2026-10-31"), True, True, True))
    >>> int((cu.signup < 0).sum()), sorted(set(cu.tier.tolist()))
    (550, [0, 1, 2])
    """
    rng, n = run.rng, run.n
    n_exist = int(round(EXISTING_SHARE * n))
    signup = np.empty(n, dtype=np.int64)
    signup[:n_exist] = -rng.integers(1, EXISTING_SPREAD_DAYS + 1, n_exist)
    signup[n_exist:] = rng.integers(0, run.n_days, n - n_exist)
    tier = rng.choice(3, n, p=TIER_P)
    ecom = rng.random(n) < ECOM_SHARE
    region = rng.choice(REGIONS, n, p=REGION_P)
    annual_p = np.array([0.25, 0.45, 0.8])[tier]
    contract = np.where(rng.random(n) < annual_p, "Annual contracts", "Monthly billing")
    arr_median = np.array([6_000.0, 24_000.0, 120_000.0])[tier]
    arr = np.round(arr_median * np.exp(0.6 * rng.standard_normal(n)), 2)
    nm = names(rng, n)
    frailty = rng.gamma(FRAILTY_SHAPE, 1.0 / FRAILTY_SHAPE, n)
    base_rate = TIER_RATE[tier] * np.where(ecom, ECOM_RATE_MULT, 1.0)
    return Customers(
        signup=signup,
        tier=tier,
        ecom=ecom,
        region=region,
        contract=contract,
        arr=arr,
        names=nm,
        frailty=frailty,
        base_rate=base_rate,
        rate=base_rate * frailty,
    )


def customer_ids(signup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Public ids ``C000001...`` numbered by signup order; returns ``(ids, signup order)``.

    Examples
    --------
    >>> cid, order = customer_ids(np.array([5, -3, 0]))
    >>> cid.tolist(), order.tolist()
    (['C000003', 'C000001', 'C000002'], [1, 2, 0])
    """
    order = np.argsort(signup, kind="stable")
    rank = np.empty(len(signup), dtype=np.int64)
    rank[order] = np.arange(len(signup))
    return ids("C", rank + 1, 6), order


def customers_frame(
    run: Run, cu: Customers, cid: np.ndarray, order: np.ndarray, churn: np.ndarray, strat: np.ndarray
) -> pd.DataFrame:
    """The customers table in signup order (``churn`` = day index or :data:`INF`)."""
    n = len(cid)
    strategic = np.zeros(n, dtype=bool)
    strategic[strat] = True
    csm = np.full(n, "", dtype=object)
    csm[strat] = [f"csm_{i % 8 + 1:02d}" for i in range(len(strat))]
    churn_dt = np.where(churn == INF, np.datetime64("NaT", "ns"), day_ts(run.start, np.where(churn == INF, 0, churn)))
    return (
        pd.DataFrame(
            {
                "customer_id": cid,
                "name": cu.names,
                "signup_date": day_ts(run.start, cu.signup),
                "churn_date": churn_dt.astype("datetime64[ns]"),
                "tier": TIERS[cu.tier].astype(object),
                "region": cu.region.astype(object),
                "industry": np.where(cu.ecom, INDUSTRY_ECOM, INDUSTRY_SAAS).astype(object),
                "contract": cu.contract.astype(object),
                "arr": cu.arr,
                "strategic": strategic,
                "csm_owner": csm,
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
