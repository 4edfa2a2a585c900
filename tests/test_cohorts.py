"""The signup-cohort triangle, worked by hand, and the early-vs-late sentence with its interval."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

import kit
from kit.metrics.cohorts import cohorts, rate_ratio


def _contacts(rows):
    return pd.DataFrame(
        {
            "contact_id": range(len(rows)),
            "customer_id": [r[0] for r in rows],
            "created_at": [f"{r[1]} 10:00" for r in rows],
            "channel": "email",
        }
    )


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "signup_date": ["2026-01-05", "2026-01-20", "2026-02-14", "2025-06-01", "2026-03-03"],
        "churn_date": [None, "2026-02-10", None, None, None],
    }
)
CONTACTS = _contacts(
    [
        ("a", "2026-01-01"),  # before a's signup, same month: age 0
        ("a", "2026-01-10"),
        ("a", "2026-03-15"),
        ("b", "2026-01-25"),
        ("b", "2026-02-05"),
        ("b", "2026-03-20"),  # after b churned: b is active in March through it
        ("c", "2026-01-30"),  # pre-sales, a month before c's signup: counts in c's age 0
        ("c", "2026-02-20"),
        ("c", "2026-04-30"),
        ("d", "2026-02-01"),  # d signed up before the data: its cohort is left out
        ("e", "2026-03-05"),
        ("e", "2026-03-06"),
    ]
)


def test_cohort_triangle_worked_by_hand():
    r = cohorts(CONTACTS, CUSTOMERS, periods=4, dedup_window=0)
    nan = float("nan")
    want = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
            # January (a, b): Jan 3 contacts / 2; Feb 1 / 2 (b churns Feb 10, still active);
            # Mar 2 / 2 (b active through its contact); Apr 0 / 1
            0: [3 / 2, 2 / 1, 2 / 1],  # February (c): its Feb contact and its January pre-sales one
            1: [1 / 2, 0 / 1, 0 / 1],
            2: [2 / 2, 1 / 1, nan],
            3: [0 / 1, nan, nan],
        }
    )
    pd.testing.assert_frame_equal(r.frame, want, check_dtype=False)
    cell = r.cells.set_index(["cohort", "age"]).loc[(pd.Timestamp("2026-01-01"), 2)]
    assert (cell["contacts"], cell["active_customers"]) == (2, 2)
    # no ages 6+ with four periods: the sentence says so instead of inventing a ratio
    assert np.isnan(r.ratio) and "too few" in r.describe()


def _steady_cohorts():
    """Customers signing up on the 1st of each month of 2025 writing 3 contacts a month in months 0-2,
    2 in months 3-5 and 1 from month 6 on, through December 2025 (my own generator)."""
    customers, rows = [], []
    for m in range(1, 13):
        for k in range(2):
            cid = f"m{m}_{k}"
            customers.append((cid, f"2025-{m:02d}-01"))
            for month in range(m, 13):
                age = month - m
                n = 3 if age <= 2 else 2 if age <= 5 else 1
                rows += [(cid, f"2025-{month:02d}-{day:02d}") for day in (1, 10, 28)[:n]]
    rows.append(("m12_0", "2025-12-31"))  # the data reach the last day of December
    return _contacts(rows), pd.DataFrame(customers, columns=["customer_id", "signup_date"])


def test_early_months_against_months_six_on_with_interval():
    contacts, customers = _steady_cohorts()
    r = cohorts(contacts, customers, periods=12, dedup_window=0)
    assert len(r.frame) == 12 and r.frame.loc[0, 0] == 3.0 and r.frame.loc[0, 6] == 1.0
    assert np.isnan(r.frame.loc[11, 1])  # the December cohort has only its month 0
    # By hand: ages 0-2 are reached by the cohorts Jan..Oct fully (3 ages), Nov (2), Dec (1):
    # 10*3 + 2 + 1 = 33 cohort-months, 2 members each, 3 contacts a month (plus December's extra one).
    e1, c1 = 33 * 2, 33 * 2 * 3 + 1
    # ages 6+: cohort m reaches ages 6..12-m for m <= 6: 6+5+4+3+2+1 = 21 cohort-months, 1 contact each
    e2, c2 = 21 * 2, 21 * 2
    ci = binomtest(c1, c1 + c2).proportion_ci(0.95, method="exact")
    lo, hi = ci.low / (1 - ci.low) * e2 / e1, ci.high / (1 - ci.high) * e2 / e1
    assert (r.ratio, r.ci_low, r.ci_high) == pytest.approx(((c1 / e1) / (c2 / e2), lo, hi))
    text = r.describe()
    assert "12 signup cohorts" in text and "3.02 times" in text and "95% CI" in text
    json.dumps(r.to_dict())
    ax = r.plot()
    assert ax.get_xlabel() == "months since signup"
    assert kit.cohorts is cohorts  # exported lazily from the kit


def test_rate_ratio_edge_cases():
    assert all(np.isnan(rate_ratio(0, 10, 0, 10)))
    assert all(np.isnan(rate_ratio(5, 0, 3, 10)))
    r, lo, hi = rate_ratio(0, 10, 4, 10)
    p = 1 - 0.025 ** (1 / 4)  # Clopper-Pearson upper bound for 0 successes in 4 trials, in closed form
    assert r == 0 and lo == 0 and hi == pytest.approx(p / (1 - p))
