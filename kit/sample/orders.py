"""E-commerce orders and the "order issue" contacts after a share of them; the orders table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .constants import DAY, ORDER_ISSUE_MAX_DAYS, ORDER_ISSUE_P, ORDERS_PER_MONTH
from .customers import Customers
from .run import Run, ids, ts


@dataclass
class Orders:
    """Orders (customer, seconds) and order-issue contacts (customer, seconds)."""

    cust: np.ndarray
    t: np.ndarray
    issue_cust: np.ndarray
    issue_t: np.ndarray


def draw_orders(run: Run, cu: Customers) -> Orders:
    """Poisson orders per E-commerce customer and month (seasonal); 8 % raise a contact within 7 days.

    Examples
    --------
    >>> from kit.sample.customers import draw_customers
    >>> run = Run(500, 12, 1, pd.Timestamp("2026-10-31"), True, True, True)
    >>> o = draw_orders(run, draw_customers(run))
    >>> bool(np.isin(o.issue_cust, o.cust).all())
    True
    """
    rng = run.rng
    e = np.flatnonzero(cu.ecom)
    n_m = len(run.ms)
    ee = np.repeat(e, n_m)
    jj = np.tile(np.arange(n_m), len(e))
    lo = np.maximum(run.ms[jj], cu.signup[ee])
    hi = run.me[jj]
    ok = hi > lo
    ee, jj, lo, hi = ee[ok], jj[ok], lo[ok], hi[ok]
    m = run.month_m[jj] if run.seasonality else np.ones(len(jj))
    lam = ORDERS_PER_MONTH * m * (hi - lo) / run.month_len[jj]
    k = rng.poisson(lam)
    oc = np.repeat(ee, k)
    olo, ohi = np.repeat(lo, k), np.repeat(hi, k)
    ot = (olo * DAY + rng.random(len(oc)) * (ohi - olo) * DAY).astype(np.int64)
    issue = rng.random(len(oc)) < ORDER_ISSUE_P
    delay = rng.integers(1800, ORDER_ISSUE_MAX_DAYS * DAY, int(issue.sum()))
    it = ot[issue] + delay
    keep = it < run.n_days * DAY
    return Orders(cust=oc, t=ot, issue_cust=oc[issue][keep], issue_t=it[keep])


def orders_frame(run: Run, cid: np.ndarray, o: Orders) -> pd.DataFrame:
    """The orders table, ids by time."""
    oo = np.lexsort((o.cust, o.t))
    return pd.DataFrame(
        {
            "order_id": ids("O", np.arange(1, len(oo) + 1), 7),
            "customer_id": cid[o.cust[oo]],
            "ordered_at": ts(run.start, o.t[oo]),
        }
    )
