"""CSAT surveys after inbound contacts, scored with the planted contact-frequency effect; the surveys table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.config import DAYS_PER_MONTH

from .constants import CSAT_P0, CSAT_SLOPE, DAY, SURVEY_HOURS, SURVEY_P, WINDOW
from .contacts import Inbound
from .run import Run, ts


@dataclass
class Surveys:
    """Responses: inbound row answered, customer, seconds, score 1..5."""

    contact_row: np.ndarray
    cust: np.ndarray
    t: np.ndarray
    score: np.ndarray


def draw_surveys(run: Run, inbound: Inbound, x: np.ndarray) -> Surveys:
    """30 % of inbound contacts get a response 1-8 h later: ``1 + Binomial(4, p0 + slope/4 * x)``.

    ``x`` is the churn feature in the outcome window, else the customer's trailing 90-day rate.
    """
    rng = run.rng
    pick = np.flatnonzero(rng.random(len(inbound.cust)) < SURVEY_P)
    r = inbound.t[pick] + (rng.uniform(*SURVEY_HOURS, len(pick)) * 3600).astype(np.int64)
    ok = r < run.n_days * DAY
    pick, r = pick[ok], r[ok]
    c = inbound.cust[pick]
    big = np.int64(10) ** 11
    keys = np.sort(inbound.cust.astype(np.int64) * big + inbound.t)
    hi = np.searchsorted(keys, c * big + r, side="left")
    lo = np.searchsorted(keys, c * big + r - WINDOW * DAY, side="left")
    trailing = (hi - lo) / (WINDOW / DAYS_PER_MONTH)
    in_out = (r >= run.cutoff * DAY) & (r < run.n_days * DAY)
    xx = np.where(in_out, x[c], trailing)
    slope = CSAT_SLOPE if run.effects else 0.0
    p = np.clip(CSAT_P0 + slope / 4.0 * xx, 0.0, 1.0)
    return Surveys(contact_row=pick, cust=c, t=r, score=1 + rng.binomial(4, p))


def surveys_frame(run: Run, cid: np.ndarray, contact_id: np.ndarray, sv: Surveys) -> pd.DataFrame:
    """The surveys table by response time (``contact_id`` in inbound-row order)."""
    return (
        pd.DataFrame(
            {
                "customer_id": cid[sv.cust],
                "responded_at": ts(run.start, sv.t),
                "score": sv.score.astype(np.int64),
                "contact_id": contact_id[sv.contact_row],
            }
        )
        .sort_values(["responded_at", "contact_id"], kind="stable")
        .reset_index(drop=True)
    )
