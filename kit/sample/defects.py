"""Planted data-quality defects: unparseable timestamps, duplicate ids, unknown customers, churn before signup.

They are drawn from a separate random stream, so the clean rows do not depend on ``data_quality``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.errors import ParameterError

from .constants import (
    BAD_TIMESTAMPS,
    DQ_CHURN_BEFORE_SIGNUP,
    DQ_DUPLICATE,
    DQ_UNKNOWN,
    DQ_UNPARSEABLE,
    INDUSTRY_SAAS,
    REGIONS,
)
from .run import Run, ids, iso_seconds, names

PLACEMENT = (
    "inbound contacts of non-strategic customers before the churn/CSAT feature "
    "window, never on spike dates; duplicates are exact copies of a clean row; "
    "contacts.created_at is an ISO string column when data_quality=True"
)


def no_defects() -> dict:
    """The ``data_quality`` ground truth of a clean sample.

    Examples
    --------
    >>> no_defects()["customers"]
    {'churn before signup': 0}
    """
    return {
        "contacts": {"unparseable created_at": 0, "duplicate contact_id": 0, "unknown customer": 0},
        "customers": {"churn before signup": 0},
        "contact_ids": {"unparseable created_at": [], "duplicate contact_id": [], "unknown customer": []},
        "customer_ids": {"churn before signup": []},
    }


def _pool(run: Run, contacts: pd.DataFrame, strat_ids: set, spike_day: np.ndarray) -> np.ndarray:
    """Rows eligible as sources of bad rows (see :data:`PLACEMENT`)."""
    t = contacts["created_at"].to_numpy()
    fstart_ns = np.datetime64(run.start + pd.Timedelta(days=run.fstart), "ns")
    day = ((t - np.datetime64(run.start, "ns")) // np.timedelta64(1, "D")).astype(np.int64)
    bad_day = np.zeros(run.n_days + 1, dtype=bool)
    bad_day[spike_day] = True
    return np.flatnonzero(
        (contacts["direction"].to_numpy() == "inbound")
        & (t < fstart_ns)
        & ~bad_day[np.clip(day, 0, run.n_days)]
        & ~contacts["customer_id"].isin(strat_ids).to_numpy()
    )


def _bad_customers(run: Run, rng) -> pd.DataFrame:
    """Customers whose churn_date precedes their signup_date (they have no contacts)."""
    k = DQ_CHURN_BEFORE_SIGNUP
    sd = rng.integers(0, max(run.fstart - 30, 1), k)
    cd = sd - rng.integers(1, 91, k)
    return pd.DataFrame(
        {
            "customer_id": ids("C", np.arange(run.n + 1, run.n + 1 + k), 6),
            "name": names(rng, k),
            "signup_date": (run.start + pd.to_timedelta(sd, unit="D")).astype("datetime64[ns]"),
            "churn_date": (run.start + pd.to_timedelta(cd, unit="D")).astype("datetime64[ns]"),
            "tier": "basic",
            "region": rng.choice(REGIONS, k).astype(object),
            "industry": INDUSTRY_SAAS,
            "contract": "Monthly billing",
            "arr": np.round(rng.uniform(3000, 9000, k), 2),
            "strategic": False,
            "csm_owner": "",
        }
    )


def plant_defects(
    run: Run, contacts: pd.DataFrame, customers: pd.DataFrame, strat_ids: set, spike_day: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Add the bad rows; return ``(contacts, customers, ground truth)``.

    ``contacts.created_at`` becomes an ISO string column so that unparseable values can exist.
    """
    rng = np.random.default_rng([run.seed, 7919])
    pool = _pool(run, contacts, strat_ids, spike_day)
    need = DQ_UNPARSEABLE + DQ_DUPLICATE + DQ_UNKNOWN
    if len(pool) < need:
        raise ParameterError("generate: too few contacts to plant data-quality rows; increase customers.")
    src = rng.choice(pool, need, replace=False)
    s_dup = src[:DQ_DUPLICATE]
    s_unp = src[DQ_DUPLICATE : DQ_DUPLICATE + DQ_UNPARSEABLE]
    s_unk = src[DQ_DUPLICATE + DQ_UNPARSEABLE :]
    n0 = len(contacts)
    clean = contacts.copy()
    clean["created_at"] = iso_seconds(contacts["created_at"].to_numpy())
    dup = clean.iloc[s_dup].copy()
    unp = clean.iloc[s_unp].copy()
    unp["contact_id"] = ids("CT", np.arange(n0 + 1, n0 + 1 + len(unp)), 7)
    unp["created_at"] = rng.choice(BAD_TIMESTAMPS, len(unp))
    unk = clean.iloc[s_unk].copy()
    unk["contact_id"] = ids("CT", np.arange(n0 + 1 + len(unp), n0 + 1 + len(unp) + len(unk)), 7)
    unk["customer_id"] = ids("C999", rng.choice(1000, len(unk), replace=False), 3)
    bad = pd.concat([dup, unp, unk], ignore_index=True)
    key = np.r_[np.arange(n0, dtype=float), rng.uniform(0, n0, len(bad))]
    out = pd.concat([clean, bad], ignore_index=True).iloc[np.argsort(key, kind="stable")]
    out = out.reset_index(drop=True)
    bad_c = _bad_customers(run, rng)
    customers = pd.concat([customers, bad_c], ignore_index=True)
    gt = {
        "contacts": {
            "unparseable created_at": len(unp),
            "duplicate contact_id": len(dup),
            "unknown customer": len(unk),
        },
        "customers": {"churn before signup": len(bad_c)},
        "contact_ids": {
            "unparseable created_at": unp["contact_id"].tolist(),
            "duplicate contact_id": dup["contact_id"].tolist(),
            "unknown customer": unk["contact_id"].tolist(),
        },
        "customer_ids": {"churn before signup": bad_c["customer_id"].tolist()},
        "placement": PLACEMENT,
    }
    return out, customers, gt
