"""kit.analysis.decompose, anomalies, compare and forecast (formerly kit.analysis.seasonality).

Expected values come from hand-made series, scipy, or the sample's planted truth.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kit.analysis.anomalies import anomalies
from kit.analysis.compare import compare_periods, poisson_rate_test
from kit.analysis.decompose import decompose, decompose_by, robust_z
from kit.analysis.forecast import backtest, forecast
from kit.analysis.seasonal_summary import summary
from kit.errors import AnalysisError, DataError, KitDeprecationWarning, ParameterError, SeasonalityWarning
from kit.metrics.frequency import contact_frequency


# --------------------------------------------------------------------------- sample-based fixtures
@pytest.fixture(scope="module")
def monthly(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return contact_frequency(sample.contacts, sample.customers, freq="month").frame


@pytest.fixture(scope="module")
def daily(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return contact_frequency(sample.contacts, sample.customers, freq="day").frame


def _months(n, start="2023-01-01"):
    return pd.date_range(start, periods=n, freq="MS", name="period")


# --------------------------------------------------------------------------- must-show (planted truth)
def test_yearly_amplitude_of_monthly_frequency_matches_planted(sample, monthly):
    truth = sample.ground_truth["seasonality"]
    res = decompose(monthly.set_index("period")["frequency"])
    # relative amplitude = (max - min)/2 of the monthly seasonal profile / mean level;
    # for level * (1 + A cos(...)) that is A.
    assert res.amplitude() == pytest.approx(truth["yearly_amplitude"], rel=0.15)
    assert int(res.profile().idxmax()) == truth["peak_month"]
    assert res.strength > 0.8


def test_seasonality_strength_low_when_switched_off():
    from kit.sample import generate

    # Five cycles: with only three, even white noise gives a WSH strength near 1/3,
    # because the seasonal fit has 11 free values for 36 points.
    s = generate(customers=4000, months=60, seasonality=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = contact_frequency(s.contacts, s.customers).frame
    res = decompose(df.set_index("period")["frequency"])
    assert s.ground_truth["seasonality"]["yearly_amplitude"] == 0
    assert res.strength < 0.3
    assert res.amplitude() < 0.1


def test_planted_spikes_flagged_on_daily_data_and_matched_to_events(sample, daily):
    spikes = {pd.Timestamp(s["date"]): s["label"] for s in sample.ground_truth["spikes"]}
    res = decompose(daily.set_index("period")["frequency"])
    assert set(res.periods) == {"weekly", "yearly"}
    table = anomalies(res, events=sample.events).frame
    flagged = set(table["period"])
    hits = flagged & set(spikes)
    assert len(hits) / len(spikes) >= 0.8
    assert len(hits) / len(flagged) >= 0.8
    for _, row in table[table["period"].isin(spikes)].iterrows():
        assert row["event"] == spikes[row["period"]]
        assert row["explanation"] == f"explained by: {spikes[row['period']]}"
        assert row["direction"] == "spike"
    # events that caused no spike are not reported as explanations of planted spikes
    quiet = {e["label"] for e in sample.ground_truth["events_without_spike"]}
    assert not quiet & set(table.loc[table["period"].isin(spikes), "event"])


@pytest.fixture(scope="module")
def kpi_backtests(sample, monthly):
    """Backtests (horizon 3, 8 folds) of every monthly series the report shows: frequency
    and contacts, in total and per tier and region (16 series, 384 forecasts)."""
    frames = {"total": monthly}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for by in ("tier", "region"):
            frames[by] = contact_frequency(sample.contacts, sample.customers, freq="month", by=by).frame
    out = {}
    for by, frame in frames.items():
        groups = [("total", frame)] if by == "total" else frame.groupby(by)
        for key, part in groups:
            for col in ("frequency", "contacts"):
                out[(by, key, col)] = backtest(part.set_index("period")[col], horizon=3, folds=8)
    return out


def test_backtest_mase_on_a_hand_worked_series():
    # y = 10 + 0.5 t + s(month): repeating last year misses by exactly 12 x 0.5 = 6 at every horizon up to 12,
    # and the in-sample seasonal-naive error (the MASE scale) is also 6, so the naive MASE is exactly 1.
    # ETS with a trend and season follows this noise-free series far better than the naive forecast.
    idx = pd.date_range("2020-01-01", periods=60, freq="MS")
    season = np.tile([3.0, -1.0, 0.0, 2.0, -2.0, 1.0, 4.0, -3.0, 0.5, -0.5, -2.0, -2.0], 5)
    y = pd.Series(10 + 0.5 * np.arange(60) + season, index=idx)
    bt = backtest(y, horizon=3, folds=4)
    assert bt.naive_mase == pytest.approx(1.0, abs=1e-9)
    assert bt.mase < 0.5  # well below repeating last year (the model may damp the trend or fit on a log scale)


@pytest.mark.slow  # the kpi_backtests fixture fits 128 models (about a minute)
def test_forecast_backtest_beats_seasonal_naive(kpi_backtests):
    bt = kpi_backtests[("total", "total", "frequency")]
    assert bt.folds == 8 and len(bt.errors) == 24
    assert bt.mase < 1.0
    assert bt.mase < bt.naive_mase
    # across all KPI series the model also beats repeating last year
    assert np.mean([b.mase for b in kpi_backtests.values()]) < np.mean([b.naive_mase for b in kpi_backtests.values()])


@pytest.mark.slow
def test_forecast_95_interval_coverage_between_85_and_99_percent(kpi_backtests):
    # One 36-month series gives 24 overlapping points (24/24 inside happens 3 times in 10
    # for a calibrated 95% interval), so coverage is judged pooled over the 16 series.
    errs = pd.concat([b.errors for b in kpi_backtests.values()])
    assert len(errs) == 16 * 24
    inside = lambda lv: ((errs[f"lo_{lv}"] <= errs["actual"]) & (errs["actual"] <= errs[f"hi_{lv}"])).mean()  # noqa: E731
    assert 0.85 <= inside(95) <= 0.99
    # the 80% interval is narrower and must cover less, but not absurdly little
    assert 0.65 <= inside(80) < inside(95)
    # Backtest.coverage is the same share per series
    for b in kpi_backtests.values():
        e = b.errors
        assert b.coverage[0.95] == pytest.approx(((e["lo_95"] <= e["actual"]) & (e["actual"] <= e["hi_95"])).mean())


def test_forecast_intervals_are_lognormal_bands_of_the_log_scale_model():
    # Yearly data has no season. On the log scale the forecast is Gaussian N(mu, sd^2) from
    # the local-level (or local-trend) Kalman filter; on the raw scale the 95% band is
    # exp(mu +- 1.96 sd) and the mean is the lognormal mean exp(mu + sd^2 / 2). mu and sd
    # come from statsmodels' own structural model fitted to log(y / mean|y|).
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    rng = np.random.default_rng(11)
    idx = pd.date_range("1980-01-01", periods=40, freq="YS", name="period")
    y = pd.Series(np.exp(np.cumsum(rng.normal(0, 0.05, 40))) * 50, index=idx, name="contacts")
    fc = forecast(y, horizon=3)
    assert fc.model.startswith("ETS(A,") and fc.model.endswith("log scale") and "m=" not in fc.model
    unit = y.abs().mean()
    level = "lltrend" if fc.model.startswith("ETS(A,A") else "llevel"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = UnobservedComponents(np.log(y.to_numpy() / unit), level=level).fit(disp=False).get_forecast(3)
    mu, sd = np.asarray(ref.predicted_mean), np.sqrt(np.asarray(ref.var_pred_mean))
    z80, z95 = stats.norm.ppf(0.9), stats.norm.ppf(0.975)
    t = fc.table
    np.testing.assert_allclose(t["lo_95"], unit * np.exp(mu - z95 * sd), rtol=0.01)
    np.testing.assert_allclose(t["hi_95"], unit * np.exp(mu + z95 * sd), rtol=0.01)
    np.testing.assert_allclose(t["hi_80"], unit * np.exp(mu + z80 * sd), rtol=0.01)
    np.testing.assert_allclose(t["mean"], unit * np.exp(mu + sd**2 / 2), rtol=0.01)
    # asymmetric on the raw scale (the upper arm is longer) and wider at longer horizons
    assert ((t["hi_95"] - t["mean"]) > (t["mean"] - t["lo_95"])).all()
    assert (np.diff(t["hi_95"] - t["lo_95"]) > 0).all()


def test_series_with_zeros_is_forecast_on_the_raw_scale():
    idx = _months(36)
    y = pd.Series(np.where(idx.month == 7, 0.0, 5 + np.cos(2 * np.pi * idx.month / 12)), index=idx)
    with pytest.warns(SeasonalityWarning, match="zero values"):
        fc = forecast(y, horizon=2)
    assert "log" not in fc.model
    assert any("zero" in n for n in fc.notes)
    assert (fc.table[["lo_95", "lo_80"]] >= 0).all().all()


# --------------------------------------------------------------------------- decomposition by hand
def test_pure_cosine_recovers_amplitude_peak_and_full_strength():
    idx = _months(48)
    y = pd.Series(2.0 * (1 + 0.25 * np.cos(2 * np.pi * (idx.month - 7) / 12)), index=idx, name="frequency")
    res = decompose(y)
    assert res.periods == {"yearly": 12}
    assert res.amplitude() == pytest.approx(0.25, abs=0.01)
    assert int(res.profile().idxmax()) == 7
    np.testing.assert_allclose(res.observed, res.trend + res.seasonal.sum(axis=1) + res.resid, atol=1e-9)
    np.testing.assert_allclose(res.adjusted, res.observed - res.seasonal["yearly"], atol=1e-12)
    assert res.strength > 0.99


def test_strength_is_wang_smith_hyndman_formula():
    rng = np.random.default_rng(3)
    idx = _months(60)
    y = pd.Series(10 + np.sin(2 * np.pi * idx.month / 12) + rng.normal(0, 0.5, 60) + 0.05 * np.arange(60), index=idx)
    res = decompose(y)
    r, s, t = res.resid.to_numpy(), res.seasonal["yearly"].to_numpy(), res.trend.to_numpy()
    assert res.seasonal_strength["yearly"] == pytest.approx(max(0, 1 - np.var(r) / np.var(s + r)))
    assert res.trend_strength == pytest.approx(max(0, 1 - np.var(r) / np.var(t + r)))


def test_period_inferred_from_grain():
    idx = pd.date_range("2024-01-01", periods=10, freq="QS")
    res = decompose(pd.Series(np.arange(10.0), index=idx))
    assert res.grain == "quarter" and res.periods == {"yearly": 4}
    wk = pd.date_range("2024-01-01", periods=120, freq="W-MON")
    assert decompose(pd.Series(np.ones(120), index=wk)).periods == {"yearly": 52}


def test_short_series_is_trend_only_with_a_warning_that_says_how_many_more():
    y = pd.Series(np.linspace(1, 2, 14), index=_months(14))
    with pytest.warns(SeasonalityWarning, match="10 more"):
        res = decompose(y)
    assert (res.seasonal["yearly"] == 0).all()
    assert math.isnan(res.strength)
    assert any("10 more" in n for n in res.notes)
    assert "too short" in res.describe() or "trend" in res.describe()


def test_constant_and_all_zero_series_have_no_seasonality_and_no_anomalies():
    for level in (0.7, 0.0):
        y = pd.Series(level, index=_months(36))
        res = decompose(y)
        assert res.strength == 0.0 and res.trend_strength == 0.0
        assert (res.resid == 0).all()
        assert anomalies(res).empty
        fc = forecast(y, horizon=2)
        assert (fc.table["mean"] == level).all()
        assert (fc.table["lo_95"] == fc.table["hi_95"]).all()


def test_nan_gaps_are_interpolated_and_flagged_missing_periods_are_zero():
    idx = _months(36)
    y = pd.Series(1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12), index=idx)
    y.iloc[5] = np.nan
    y = y.drop(idx[20])
    res = decompose(y)
    assert res.interpolated.sum() == 1 and res.interpolated.iloc[5]
    assert res.observed.iloc[5] == pytest.approx((y.iloc[4] + y.iloc[6]) / 2)
    assert res.filled.sum() == 1 and res.observed.iloc[20] == 0.0
    table = anomalies(res).frame
    assert idx[5] not in set(table["period"])  # interpolated values are never flagged
    assert idx[20] in set(table["period"])  # a zero-contact month is a real dip
    assert y.isna().sum() == 1  # caller's series untouched


@pytest.mark.parametrize(
    "bad, err",
    [
        (pd.Series([], dtype=float, index=pd.DatetimeIndex([])), DataError),
        (pd.Series([np.nan] * 5, index=_months(5)), DataError),
        (pd.Series(["a", "b"], index=_months(2)), ParameterError),
        ([1, 2, 3], ParameterError),
        (pd.Series([1.0, 2.0], index=[pd.Timestamp("2024-01-01")] * 2), ParameterError),
    ],
)
def test_bad_series_give_kit_errors(bad, err):
    with pytest.raises(err):
        decompose(bad)


def test_decompose_by_returns_one_result_per_group():
    idx = _months(36)
    wave = 1 + 0.2 * np.cos(2 * np.pi * idx.month / 12)
    frame = pd.concat(
        [pd.DataFrame({"period": idx, "tier": t, "frequency": k * wave}) for t, k in (("basic", 1.0), ("pro", 2.0))]
    )
    out = decompose_by(frame, by="tier")
    assert sorted(out) == ["basic", "pro"]
    assert out["pro"].amplitude() == pytest.approx(0.2, abs=0.01)
    with pytest.raises(ParameterError):
        decompose_by(frame, by="region")


# --------------------------------------------------------------------------- anomalies by hand
def test_robust_z_matches_hand_computation():
    r = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, |r - 3| = 2,1,0,1,97 -> MAD 1; z = 0.6745 (r - 3)
    np.testing.assert_allclose(robust_z(r), 0.6745 * (r - 3))
    # MAD = 0 (most values equal): mean absolute deviation fallback, 1.2533 * mean|r - med|
    r2 = np.array([0.0, 0.0, 0.0, 0.0, 5.0])
    np.testing.assert_allclose(robust_z(r2), r2 / (1.253314 * 1.0))


def test_anomaly_direction_size_and_event_match_from_csv(tmp_path):
    idx = pd.date_range("2026-01-05", periods=56, freq="D")
    base = np.where(idx.dayofweek < 5, 200.0, 80.0)
    rng = np.random.default_rng(1)
    y = pd.Series(rng.poisson(base).astype(float), index=idx, name="contacts")
    y.iloc[30] = base[30] * 2.5
    y.iloc[44] = base[44] * 0.2
    path = tmp_path / "events.csv"
    pd.DataFrame(
        {"date": [str(idx[29].date()), "2026-01-20"], "label": ["release 4.2", "quiet"], "kind": ["release", "billing"]}
    ).to_csv(path, index=False)
    table = anomalies(decompose(y, period=7), events=str(path)).frame.set_index("period")
    assert {idx[30], idx[44]} <= set(table.index)
    spike, dip = table.loc[idx[30]], table.loc[idx[44]]
    assert spike["direction"] == "spike" and spike["size"] == pytest.approx(1.5, abs=0.3)
    assert spike["explanation"] == "explained by: release 4.2"  # event the day before, tolerance 1
    assert dip["direction"] == "dip" and dip["explanation"] == "unexplained"
    strict = anomalies(decompose(y, period=7), events=str(path), tolerance=0).frame.set_index("period")
    assert strict.loc[idx[30], "explanation"] == "unexplained"


def test_anomalies_reject_bad_options():
    res = decompose(pd.Series(np.arange(30.0), index=_months(30)))
    with pytest.raises(ParameterError):
        anomalies(res, threshold=-1)
    with pytest.raises(ParameterError):
        anomalies("not a result")


# --------------------------------------------------------------------------- period comparisons
def test_poisson_rate_test_matches_hand_binomial():
    # n1=10, n2=2, equal exposures: under H0 n1 ~ Bin(12, 1/2);
    # two-sided p = 2 * P(X >= 10) = 2 * (C(12,10) + C(12,11) + C(12,12)) / 2**12
    r = poisson_rate_test(10, 100, 2, 100)
    assert r["p_value"] == pytest.approx(2 * (66 + 12 + 1) / 4096)
    assert r["rate_ratio"] == pytest.approx(5.0)
    # unequal exposures: p0 = e1 / (e1 + e2), compared with scipy directly
    r = poisson_rate_test(130, 1500, 90, 1400)
    assert r["p_value"] == pytest.approx(stats.binomtest(130, 220, 1500 / 2900).pvalue)
    ci = stats.binomtest(130, 220, 1500 / 2900).proportion_ci(method="exact")
    assert r["ratio_low"] == pytest.approx(ci.low / (1 - ci.low) * 1400 / 1500)
    assert r["ratio_low"] < r["rate_ratio"] < r["ratio_high"]


def test_compare_periods_small_segment_not_flagged_large_one_is():
    periods_ = pd.to_datetime(["2025-10-01", "2026-09-01", "2026-10-01"])
    frame = pd.DataFrame(
        {
            "period": list(periods_) * 2,
            "tier": ["small"] * 3 + ["large"] * 3,
            # both rise 30% against last year; only the large segment has the counts to show it
            "contacts": [10, 11, 13, 10_000, 11_000, 13_000],
            "active_customers": [20, 20, 20, 20_000, 20_000, 20_000],
        }
    )
    result = compare_periods(frame, "2026-10", by="tier")
    out = result.frame
    yoy = out[out["comparison"] == "same period last year"].set_index("tier")
    assert yoy.loc["small", "change"] == pytest.approx(0.3)
    assert yoy.loc["large", "change"] == pytest.approx(0.3)
    assert not yoy.loc["small", "significant"]
    assert yoy.loc["large", "significant"]
    assert yoy.loc["small", "p_value"] == pytest.approx(stats.binomtest(13, 23, 0.5).pvalue)
    assert "unlikely to be noise" in result.describe()  # the test allows for dispersion, not Poisson alone
    with pytest.raises(ParameterError, match="not in the data"):
        compare_periods(frame, "2027-01", by="tier")


def test_compare_periods_on_engine_output(monthly):
    out = compare_periods(monthly, "2026-10").frame
    assert list(out["comparison"]) == ["previous period", "same period last year"]
    row = out.iloc[1]
    assert row["base_period"] == pd.Timestamp("2025-10-01")
    m = monthly.set_index("period")
    assert row["rate"] == pytest.approx(m.loc["2026-10-01", "frequency"])
    assert row["base_rate"] == pytest.approx(m.loc["2025-10-01", "frequency"])


# --------------------------------------------------------------------------- forecasts
def test_forecast_of_seasonal_series_tracks_pattern_and_nests_intervals():
    idx = _months(48)
    rng = np.random.default_rng(7)
    y = pd.Series(
        100 * (1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12)) + rng.normal(0, 2, 48), index=idx, name="contacts"
    )
    fc = forecast(y, horizon=3)
    t = fc.table
    assert list(t.index) == list(pd.date_range("2027-01-01", periods=3, freq="MS"))
    truth = 100 * (1 + 0.3 * np.cos(2 * np.pi * (t.index.month - 12) / 12))
    np.testing.assert_allclose(t["mean"], truth, rtol=0.06)
    assert (t["lo_95"] <= t["lo_80"]).all() and (t["lo_80"] <= t["mean"]).all()
    assert (t["mean"] <= t["hi_80"]).all() and (t["hi_80"] <= t["hi_95"]).all()
    sarimax = forecast(y, horizon=3, method="sarimax")
    np.testing.assert_allclose(sarimax.table["mean"], truth, rtol=0.08)
    json.dumps(fc.to_dict())


def test_forecast_edge_cases():
    with pytest.raises(AnalysisError, match="at least"):
        forecast(pd.Series([1.0, 2.0, 3.0], index=_months(3)))
    with pytest.raises(ParameterError):
        forecast(pd.Series(np.ones(30), index=_months(30)), method="prophet")
    with pytest.raises(ParameterError):
        forecast(pd.Series(np.ones(30), index=_months(30)), horizon=0)
    with pytest.warns(SeasonalityWarning, match="two full seasons"):
        fc = forecast(pd.Series(np.linspace(1, 2, 15), index=_months(15)), horizon=2)
    assert fc.model.startswith("ETS") and "m=" not in fc.model
    with pytest.raises(AnalysisError, match="needs at least"):
        backtest(pd.Series(np.ones(20), index=_months(20)), horizon=3)


def test_results_describe_themselves_and_serialise_to_json(sample, monthly):
    freq = monthly.set_index("period")["frequency"]
    res = decompose(freq)
    found = anomalies(res, events=sample.events)
    fc = forecast(freq, horizon=3)
    compared = compare_periods(monthly, "2026-10")
    bt = backtest(freq, horizon=3, folds=2)
    for result in (res, found, fc, compared, bt):
        json.dumps(result.to_dict())
    out = fc.to_dict()
    assert out["next_period"] == "2026-11"
    assert out["lo_95"] <= out["mean"] <= out["hi_95"]
    assert [h["period"] for h in out["horizon"]] == ["2026-11", "2026-12", "2027-01"]
    assert bt.to_dict()["points"] == 6 and bt.to_dict()["folds"] == 2 and bt.to_dict()["season"] == 12
    assert len(found.to_dict()["flagged"]) == len(found.frame)
    sentence = res.describe()
    assert sentence.startswith("December runs")
    assert "year over year" in sentence
    assert fc.describe().startswith("Frequency for 2026-11")
    assert bt.describe().startswith("In 2 rolling tests 3 months ahead")
    text = summary(res, None, found, fc)
    assert text.startswith("December runs") and "Frequency for 2026-11" in text
    assert text.index("December runs") < text.index("stand") < text.index("Frequency for")
    assert summary() == ""
    with pytest.raises(ParameterError):
        summary(monthly)


def test_anomalies_result_fields_and_sentence():
    idx = pd.date_range("2026-01-01", periods=28, freq="D")
    y = pd.Series(100 + 10 * (idx.dayofweek < 5) + np.tile([1, -1], 14), index=idx, name="contacts")
    y.iloc[17] = 250
    ev = pd.DataFrame({"date": ["2026-01-18", None], "label": ["release 4.2", "undated"]})
    found = anomalies(decompose(y, period=7), events=ev)
    assert (found.threshold, found.tolerance, found.scale) == (3.5, 1, "poisson")
    assert (found.freq, found.n_periods) == ("day", 28)
    assert len(found) == 1 and list(found.frame["period"]) == [pd.Timestamp("2026-01-18")]
    assert found.notes == ("1 event row(s) without a usable date were ignored",)
    text = found.describe()
    assert text.startswith("1 day stands out from the expected pattern; 1 of them is explained by a known event.")
    assert text.endswith("above expected on 2026-01-18 (release 4.2).")
    quiet = anomalies(decompose(pd.Series(np.tile([10.0, 12.0], 14), index=idx), period=7))
    assert quiet.empty
    assert quiet.describe() == "No day stands out from the expected pattern in 28 days (calibrated z above 3.5)."


def test_comparison_sentence_matches_scipy_p_values():
    df = pd.DataFrame(
        {
            "period": pd.to_datetime(["2025-10-01", "2026-09-01", "2026-10-01"]),
            "contacts": [100, 120, 150],
            "active_customers": [1000, 1000, 1000],
        }
    )
    result = compare_periods(df, "2026-10")
    assert result.freq == "month" and result.by == () and result.alpha == 0.05
    p_prev, p_year = stats.binomtest(150, 270, 0.5).pvalue, stats.binomtest(150, 250, 0.5).pvalue
    assert p_prev > 0.05 and 0.001 < p_year < 0.05
    assert result.describe() == (
        "In 2026-10 the rate rose 25% against the previous period (2026-09, within normal variation); "
        "rose 50% against the same period last year (2025-10, a change this large is unlikely to be noise)."
    )
    note = result.method_note()  # the p-values live in the method notes, not the main text
    assert f"previous period (2026-09): p = {p_prev:.3f}" in note
    assert f"same period last year (2025-10): p = {p_year:.3f}" in note


def test_grain_is_a_deprecated_name_for_freq():
    idx = pd.date_range("2024-01-01", periods=10, freq="QS")
    y = pd.Series(np.arange(1.0, 11.0), index=idx)
    with pytest.warns(KitDeprecationWarning, match="use freq="):
        res = decompose(y, grain="month")
    # ten quarter starts on a monthly spine: 28 months, 18 of them filled with zero
    assert res.freq == "month" and len(res.observed) == 28 and int(res.filled.sum()) == 18
    assert decompose(y, freq="month").filled.sum() == 18
    with pytest.warns(KitDeprecationWarning):
        assert forecast(y, grain="quarter", horizon=1).table.index[0] == pd.Timestamp("2026-07-01")
    with pytest.raises(ParameterError, match="freq= only"):
        decompose(y, grain="month", freq="month")


def test_results_of_contact_frequency_are_accepted(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_tier = contact_frequency(sample.contacts, sample.customers, freq="month", by="tier")
        total = contact_frequency(sample.contacts, sample.customers, freq="quarter")
        out = decompose_by(by_tier)  # by and freq come from the result's params
        whole = decompose(total, value="contacts")
    assert sorted(out) == sorted(by_tier.frame["tier"].unique())
    assert all(r.grain == "month" for r in out.values())
    assert {r.name for r in out.values()} == {f"frequency ({t})" for t in out}
    assert whole.grain == "quarter" and whole.name == "contacts"
    # The sample runs from 2023-11-01 to 2026-10-31: its first quarter holds only Nov-Dec and its
    # last only October, so both are partial and left out (issue 14); the 11 between are whole.
    assert total.frame["complete"].tolist() == [False] + [True] * 11 + [False]
    assert whole.observed.sum() == total.frame["contacts"].iloc[1:-1].sum()
    compared = compare_periods(by_tier, "2026-10")
    assert compared.by == ("tier",)
    assert len(compared.frame) == 2 * len(out)


def test_plots_return_axes(monthly):
    import matplotlib.pyplot as plt

    freq = monthly.set_index("period")["frequency"]
    res = decompose(freq)
    panels = res.plot_components()
    assert [ax.get_ylabel() for ax in panels] == ["observed", "trend", "seasonal (yearly)", "remainder"]
    yoy = res.plot_yoy()
    assert sorted(line.get_label() for line in yoy.get_lines()) == sorted({str(y) for y in freq.index.year})
    _, given = plt.subplots()
    assert res.plot(ax=given) is given
    assert [line.get_label() for line in given.get_lines()] == ["observed", "seasonally adjusted", "trend"]
    fan = forecast(freq).plot()
    assert fan.get_title() == "frequency: forecast"  # the model name is in the method notes (fc.method_note())
    plt.close("all")
