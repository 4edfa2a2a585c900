"""Sparse and short series (issue 14) and the hand-checkable parts of issue 16's statistics.

Every expected value is worked out by hand in the comments (or from a reference formula), on
tiny hand-made series: no kit.sample.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kit.analysis.anomalies import anomalies
from kit.analysis.compare import compare_periods, poisson_rate_test
from kit.analysis.decompose import decompose
from kit.analysis.forecast import Backtest
from kit.metrics.features import customer_features
from kit.metrics.frequency import contact_frequency, dispersion, poisson_ci


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _mostly_zero(kind: str) -> pd.Series:
    """52 months: zero except six low values (counts, or those counts over four customers)."""
    idx = pd.date_range("2022-01-01", periods=52, freq="MS")
    counts = np.zeros(52)
    counts[[3, 11, 20, 30, 41, 50]] = [1, 2, 1, 1, 3, 1]
    return pd.Series(counts if kind == "counts" else counts / 4, index=idx, name=kind)


@pytest.mark.parametrize("kind", ["counts", "frequency"])
def test_mostly_zero_series_gets_no_absurd_z(kind):
    # The old code divided by a spread of ~1e-8 and flagged 20 of 52 months with z up to 7e7.
    found = anomalies(decompose(_mostly_zero(kind)))
    assert len(found) <= 2
    if len(found):
        assert found.frame["z"].abs().max() < 10
    if kind == "counts":
        # Low counts are scored by a Poisson tail: P(X >= 3 | mu >= 0.25 * mean) is no 7e7-sigma event.
        assert found.scale == "counts"


def test_count_z_matches_the_poisson_tail():
    # A flat count series at 10 with one 30: P(X >= 30 | 10) = 7.1e-7 -> z = 4.82 (scipy reference).
    idx = pd.date_range("2023-01-01", periods=36, freq="MS")
    y = pd.Series(10.0, index=idx)
    y.iloc[::2] = 9.0
    y.iloc[20] = 30.0
    found = anomalies(decompose(y))
    assert found.scale == "counts"
    top = found.frame.iloc[0]
    assert top["period"] == idx[20]
    expected_z = stats.norm.isf(stats.poisson.sf(29, top["expected"]))
    assert top["z"] == pytest.approx(expected_z, rel=1e-6)


def test_no_year_over_year_fall_against_a_tiny_base():
    # One contact from four customers last year, then none: no "100%"/"75% fall" sentence.
    text = decompose(_mostly_zero("frequency")).describe()
    assert "fell" not in text and "75%" not in text
    assert "too sparse" in text


def test_period_change_below_the_minimum_base_is_not_worded():
    df = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-10-01", "2026-09-01", "2026-10-01"]),
            "contacts": [4, 4, 1],
            "active_customers": [4, 4, 4],
        }
    )
    text = compare_periods(df, "2026-10").describe()
    assert "75%" not in text
    assert "minimum base of 20" in text


def test_short_daily_series_reports_its_weekly_pattern():
    # 92 days with Mondays 50% busier: the weekly pattern is estimated, so it is described
    # (the old sentence said "too short to estimate seasonality" because the yearly strength was NaN).
    idx = pd.date_range("2026-01-05", periods=92, freq="D")
    rng = np.random.default_rng(0)
    y = pd.Series(100 * (1 + 0.5 * (idx.dayofweek == 0)) + rng.normal(0, 3, 92), index=idx)
    text = decompose(y).describe()
    assert "Monday runs" in text
    assert "too short" not in text


def test_seasonal_pattern_on_noise_is_not_described():
    # 36 months of white noise: no "runs X% above the yearly average".
    idx = pd.date_range("2023-01-01", periods=36, freq="MS")
    y = pd.Series(1 + np.random.default_rng(3).normal(0, 0.05, 36), index=idx)
    assert " runs " not in decompose(y).describe()


def test_log_scale_year_over_year_is_exact_on_a_multiplicative_series():
    # y = 1.2 * 1.127^(t/12) * (1 + 0.3 cos): true seasonally adjusted YoY +12.7% at every end month.
    for n in (36, 42):
        idx = pd.date_range("2022-01-01", periods=n, freq="MS")
        t = np.arange(n)
        y = pd.Series(1.2 * 1.127 ** (t / 12) * (1 + 0.3 * np.cos(2 * np.pi * (idx.month - 1) / 12)), index=idx)
        found = decompose(y).yoy()
        assert found["change"] == pytest.approx(0.127, abs=0.01)


def test_backtest_words_its_baseline_for_the_grain():
    common = dict(errors=pd.DataFrame(), mase=0.8, naive_mase=1.0, coverage={0.8: 0.8, 0.95: 0.95}, horizon=3)
    daily = Backtest(**common, folds=8, season=7, method="ets", grain="day")
    monthly = Backtest(**common, folds=8, season=12, method="ets", grain="month")
    assert "repeating last week" in daily.describe() and "year" not in daily.describe()
    assert "repeating the same month last year" in monthly.describe()


def test_dispersion_and_interval_from_the_engine_by_hand():
    # One month; customers a, b, c with 3, 1 and 0 contacts (hours apart, no follow-up merging).
    # sum of squares 9 + 1 = 10; C = 4, N = 3: s^2 = (10 - 16/3) / 2 = 7/3, mean 4/3, dispersion 1.75.
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "signup_date": ["2026-01-01"] * 3})
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4],
            "customer_id": ["a", "a", "a", "b"],
            "created_at": ["2026-03-02 09:00", "2026-03-10 09:00", "2026-03-20 09:00", "2026-03-05 09:00"],
            "channel": "email",
        }
    )
    row = contact_frequency(contacts, customers, dedup_window="0").frame.iloc[0]
    assert row["dispersion"] == pytest.approx(1.75)
    # Garwood interval of the effective count 4 / 1.75 over 3 / 1.75 customers.
    c, n = 4 / 1.75, 3 / 1.75
    assert row["frequency_ci_low"] == pytest.approx(stats.chi2.ppf(0.025, 2 * c) / 2 / n)
    assert row["frequency_ci_high"] == pytest.approx(stats.chi2.ppf(0.975, 2 * c + 2) / 2 / n)


def test_poisson_interval_is_the_floor():
    # Dispersion below 1 (customers contact at most once) never narrows the exact interval.
    lo, hi = poisson_ci([5], [10])
    lo2, hi2 = poisson_ci([5], [10], dispersion=[0.4])
    assert (lo2[0], hi2[0]) == (lo[0], hi[0])
    assert dispersion([4], [4], [10])[0] == pytest.approx((4 - 16 / 10) / 9 / 0.4)


def test_rate_test_widens_with_dispersion():
    # z = log(1.2) / sqrt(3/600 + 3/500) = 0.1823 / 0.1049 = 1.739 -> p = 0.082 (Poisson alone: p < 0.01).
    plain = poisson_rate_test(600, 1000, 500, 1000)
    wide = poisson_rate_test(600, 1000, 500, 1000, d1=3, d2=3)
    assert plain["p_value"] < 0.01
    z = math.log(1.2) / math.sqrt(3 / 600 + 3 / 500)
    assert wide["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert wide["ratio_low"] < plain["ratio_low"] and wide["ratio_high"] > plain["ratio_high"]


def test_churn_gap_leaves_out_customers_who_churn_inside_it():
    # Cutoff 2025-06-01, 30-day windows, 10-day gap: outcome window 2025-06-11..2025-07-10.
    # c churns on 2025-06-05 (inside the gap: left out), b on 2025-06-20 (churned), a stays.
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": ["2025-01-01"] * 3,
            "churn_date": [None, "2025-06-20", "2025-06-05"],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4],
            "customer_id": ["a", "b", "c", "a"],
            "created_at": ["2025-05-10 09:00", "2025-05-20 09:00", "2025-05-25 09:00", "2025-07-15 09:00"],
            "channel": "email",
        }
    )
    f = customer_features(contacts, customers, window="30D", cutoff="2025-06-01", gap="10D")
    assert f.frame[["customer_id", "churned"]].to_dict("records") == [
        {"customer_id": "a", "churned": False},
        {"customer_id": "b", "churned": True},
    ]
    assert f.left_out_in_gap == 1 and f.gap_days == 10
    assert any("inside that gap" in n for n in f.notes)
