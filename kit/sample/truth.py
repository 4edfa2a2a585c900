"""The ground truth: a JSON-serialisable statement of every effect planted in a sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.config import DAYS_PER_MONTH

from . import constants as k
from .accounts import Accounts
from .churn import Churn
from .contacts import Inbound
from .events import Events
from .run import Run

_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class Planted:
    """Everything the ground truth reports about one run."""

    run: Run
    cid: np.ndarray
    events: Events
    spike_primary: np.ndarray
    churn: Churn
    accounts: Accounts
    inbound: Inbound
    n_orders: int
    n_followups: int


def ground_truth(p: Planted, tables: dict[str, pd.DataFrame], dq: dict) -> dict:
    """The ground-truth dictionary of :class:`kit.sample.Sample` (keys listed in ``generate``)."""
    run = p.run
    n_in_clean = len(p.inbound.cust)
    return {
        "generated_with": "kit.sample",
        "params": {
            "seed": run.seed,
            "customers": run.n,
            "months": run.months,
            "end": run.end.strftime("%Y-%m-%d"),
            "seasonality": run.seasonality,
            "effects": run.effects,
            "data_quality": run.data_quality,
        },
        "window": {
            "start": run.start.strftime("%Y-%m-%d"),
            "end": run.end.strftime("%Y-%m-%d"),
            "obs_end_exclusive": run.obs_end.strftime("%Y-%m-%d"),
            "days": run.n_days,
            "timezone": "UTC",
            "days_per_month": DAYS_PER_MONTH,
        },
        "rates": _rates(),
        "seasonality": _seasonality(run),
        "onboarding": {"factor": k.ONBOARD_FACTOR, "days": k.ONBOARD_DAYS},
        "followups": {
            "probability": k.FOLLOWUP_P,
            "hours": list(k.FOLLOWUP_HOURS),
            "same_topic": True,
            "count": p.n_followups,
            "share_of_inbound": p.n_followups / max(n_in_clean, 1),
            "note": "follow-ups are generated for regular primary contacts (not order "
            "issues, not follow-ups); on spike days the probability is divided by "
            "the primary spike factor so the next day is not raised",
        },
        "spikes": [
            {"date": run.day(day), "label": lab, "factor": float(f), "kind": kd, "primary_factor": float(pf)}
            for day, lab, f, kd, pf in zip(
                p.events.spike_day, p.events.spike_label, p.events.spike_factor, p.events.spike_kind, p.spike_primary
            )
        ],
        "events_without_spike": [{"date": run.day(q[0]), "label": q[1], "kind": q[2]} for q in p.events.quiet],
        "churn": _churn(run, p.churn),
        "csat": {
            "slope_per_contact_per_month": k.CSAT_SLOPE if run.effects else 0.0,
            "window_days": k.WINDOW,
            "cutoff": run.day(run.cutoff),
            "p0": k.CSAT_P0,
            "intercept": 1.0 + 4.0 * k.CSAT_P0,
            "model": "score = 1 + Binomial(4, clip(p0 + slope/4 * x, 0, 1))",
            "x_in_outcome_window": "the churn feature x of the customer (any customer, "
            "population or not) for surveys responded in [cutoff, cutoff+90d)",
            "x_elsewhere": "customer's inbound contacts in the 90 days before responded_at per month",
            "response_probability": k.SURVEY_P,
        },
        "accounts": _accounts(run, p.cid, p.accounts),
        "orders": _orders(p),
        "data_quality": dq,
        "counts": {name: int(len(tables[name])) for name in ("customers", "contacts", "surveys", "orders")},
    }


def _rates() -> dict:
    return {
        "primary_inbound_per_month_by_tier": dict(zip(k.TIERS.tolist(), k.TIER_RATE.tolist())),
        "ecommerce_multiplier": k.ECOM_RATE_MULT,
        "customer_frailty": {"distribution": "gamma", "mean": 1.0, "variance": 1.0 / k.FRAILTY_SHAPE},
        "existing_share_at_start": k.EXISTING_SHARE,
        "baseline_monthly_churn_hazard": k.HAZARD_BASE,
        "hazard_log_odds_per_trailing_contact_per_month": k.HAZARD_CONTACT_COEF,
        "hazard_tier_log_odds": dict(zip(k.TIERS.tolist(), k.HAZARD_TIER.tolist())),
    }


def _seasonality(run: Run) -> dict:
    wk = k.WEEKDAY_W if run.seasonality else np.ones(7)
    return {
        "yearly_amplitude": float(run.amp),
        "peak_month": k.PEAK_MONTH,
        "formula": "m(month) = 1 + yearly_amplitude * cos(2*pi*(month - peak_month)/12)",
        "monthly_multiplier": {str(i + 1): float(v) for i, v in enumerate(run.m_of_month)},
        "weekly": {"weights": dict(zip(_WEEKDAYS, [float(v) for v in wk])), "normalised_within": "calendar month"},
    }


def _churn(run: Run, ch: Churn) -> dict:
    tier_eff = {key: (float(v) if v else 0.0) for key, v in k.CHURN_TIER.items()}
    return {
        "window_days": k.WINDOW,
        "cutoff": run.day(run.cutoff),
        "feature_window": [run.day(run.fstart), run.day(run.cutoff)],
        "outcome_window": [run.day(run.cutoff), run.obs_end.strftime("%Y-%m-%d")],
        "population": "signup_date <= cutoff - 90 days and (churn_date is missing or >= cutoff)",
        "feature": "inbound contacts (follow-ups included) in the feature window / (90 / DAYS_PER_MONTH)",
        "odds_ratio_per_contact_per_month": k.CHURN_OR if run.effects else 1.0,
        "log_odds": float(ch.log_odds),
        "controls": ["tier"],
        "tier_effects": tier_eff,
        "intercept": float(ch.intercept),
        "population_size": int(ch.pop.sum()),
        "churned_in_window": int(ch.pop_churned.sum()),
        "target_churn_rate": k.CHURN_TARGET,
    }


def _accounts(run: Run, cid: np.ndarray, acc: Accounts) -> dict:
    return {
        "strategic": sorted(cid[acc.strat].tolist()),
        "under_served": sorted(cid[acc.under].tolist()),
        "decision_maker_left": sorted(cid[acc.dm_left].tolist()),
        "decision_maker_replaced": sorted(cid[acc.dm_left[:1]].tolist()),
        "qbr_only": sorted(cid[acc.qbr_only].tolist()),
        "touchpoints_per_month_healthy": 8,
        "touchpoints_per_month_under_served": 1,
        "under_served_since": run.day(acc.us_since),
        "flag_rule": "mean touchpoints/month over the last 3 complete months < 4 or no touch in the last 30 days",
        "healthy_model": "6 + Poisson(2) check-ins per month (never below 6) plus one QBR per quarter",
        "renewal_effect": {
            "under_served_log_odds": k.RENEWAL_UNDER_SERVED_LOG_ODDS,
            "note": "under-served strategic accounts are at higher risk at their next renewal "
            "(opposite sign to inbound contacts). Strategic accounts are chosen among "
            "customers active at the end of the data, so this renewal churn falls after "
            "the sample and is not observable in it.",
        },
    }


def _orders(p: Planted) -> dict:
    n_oi = int(np.sum(p.inbound.kind == 1))
    return {
        "contacts_per_order_pct": 100.0 * k.ORDER_ISSUE_P,
        "segment": k.INDUSTRY_ECOM,
        "orders_per_month": k.ORDERS_PER_MONTH,
        "max_days_after_order": k.ORDER_ISSUE_MAX_DAYS,
        "realized_orders": p.n_orders,
        "realized_order_issue_contacts": n_oi,
        "realized_contacts_per_order_pct": 100.0 * n_oi / max(p.n_orders, 1),
    }
