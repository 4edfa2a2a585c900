"""kit.analysis churn/csat/touchpoints/correlation/drivers and kit.metrics.features.

Planted effects recovered, calibrated nulls, no leakage, clear errors.

Expected values come from the sample's planted ground truth, from hand-built fixtures, or
from statsmodels/scipy fitted independently in the test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from kit.analysis import churn, csat, drivers, touchpoints
from kit.analysis.correlation import period_correlation
from kit.config import DAYS_PER_MONTH
from kit.errors import AnalysisError, KitDeprecationWarning, KitError, ParameterError
from kit.metrics.features import customer_features


# --------------------------------------------------------------------------- sample-based
@pytest.fixture(scope="module")
def sample_features(sample):
    return customer_features(sample.contacts, sample.customers, surveys=sample.surveys)


def test_default_design_matches_the_sample(sample, sample_features):
    gt = sample.ground_truth["churn"]
    assert sample_features.cutoffs == (pd.Timestamp(gt["cutoff"]),)
    assert sample_features.window_days == 90 and sample_features.direction == "inbound"
    assert len(sample_features) == gt["population_size"]
    assert int(sample_features.frame["churned"].sum()) == gt["churned_in_window"]


def test_planted_churn_odds_ratio_inside_ci(sample):
    # The sample plants its odds ratio in the no-gap design (outcome window right after the cutoff).
    r = churn.churn_effect(sample.contacts, sample.customers, gap=0)
    planted = sample.ground_truth["churn"]["odds_ratio_per_contact_per_month"]
    assert r.ci_low < planted < r.ci_high
    assert r.p_value < 0.05 and r.controls == ("tier", "tenure")
    assert set(r.table["term"]) >= {"const", "contacts_per_month", "tenure_years"}
    text = r.describe()
    assert "associated with" in text and "controlling for tier and tenure" in text
    for word in ("causes", "drives", "leads to", "because"):
        assert word not in text.replace("not proof that contacts cause", "")


def test_planted_csat_slope_sign_and_ci(sample):
    r = csat.csat_effect(sample.contacts, sample.customers, sample.surveys)
    planted = sample.ground_truth["csat"]["slope_per_contact_per_month"]
    assert r.slope < 0 and r.ci_low < planted < r.ci_high
    assert r.spearman["r"] < 0
    assert "associated with" in r.describe()


def test_touchpoints_flag_under_served_accounts(sample, sample_features):
    t = touchpoints.touchpoint_effect(sample.contacts, sample.customers)
    acc = sample.ground_truth["accounts"]
    assert t.n_accounts == len(acc["strategic"])
    at_risk = set(t.accounts.loc[t.accounts["band"] == "at risk", "customer_id"])
    assert set(acc["under_served"]) <= at_risk
    # Strategic accounts are all active at the end of the sample: nothing to estimate, said plainly.
    assert t.n_churned == 0 and math.isnan(t.odds_ratio)
    assert any("not estimable" in n for n in t.notes)


def test_binned_churn_uses_wilson_intervals(sample_features):
    b = churn.binned_churn(sample_features)
    lo, hi = proportion_confint(b["churned"], b["customers"], method="wilson")
    np.testing.assert_allclose(b["ci_low"], lo, atol=1e-12)
    np.testing.assert_allclose(b["ci_high"], hi, atol=1e-12)
    assert b["customers"].sum() == len(sample_features)


@pytest.mark.slow
def test_null_effects_false_positive_rate():
    """With effects switched off, p < 0.05 in at most 10% of 40 small samples (churn and CSAT).

    Both use the sample's own null outcomes (churn from the tier-only hazard, CSAT scores iid
    1 + Binomial(4, p0)), so this checks the whole path from generated tables to p-values.
    The former CSAT errors (CR1, normal reference) gave 5/40 here and 10% over 340 seeds.
    """
    from kit.sample import generate

    churn_hits = csat_hits = 0
    seeds = range(1000, 1040)
    for seed in seeds:
        s = generate(customers=600, months=12, seed=seed, effects=False)
        f = customer_features(s.contacts, s.customers, surveys=s.surveys)
        churn_hits += churn.fit_churn(f).p_value < 0.05
        csat_hits += csat.fit_csat(f).p_value < 0.05
    assert churn_hits / len(seeds) <= 0.10
    assert csat_hits / len(seeds) <= 0.10


# --------------------------------------------------------------------------- hand fixtures
def _population(n=200, seed=0, *, effect=0.0, churn_rate=0.2, cutoff="2025-07-01"):
    """Customers signed up long ago, Poisson contacts in the 90 days before the cutoff, churn after it."""
    rng = np.random.default_rng(seed)
    cut = pd.Timestamp(cutoff)
    ids = [f"c{i:04d}" for i in range(n)]
    tier = rng.choice(["basic", "pro"], n)
    k = rng.poisson(1.5, n)
    x = k / (90 / DAYS_PER_MONTH)
    p = 1 / (1 + np.exp(-(np.log(churn_rate / (1 - churn_rate)) + effect * (x - x.mean()))))
    churned = rng.random(n) < p
    churn_day = rng.integers(0, 90, n)
    rows = []
    for cid, kk in zip(ids, k):
        for _ in range(kk):
            rows.append((cid, cut - pd.Timedelta(days=int(rng.integers(1, 90))) + pd.Timedelta(hours=10)))
    contacts = pd.DataFrame(rows, columns=["customer_id", "created_at"])
    contacts["contact_id"] = [f"t{i}" for i in range(len(contacts))]
    contacts["channel"] = "email"
    contacts["direction"] = "inbound"
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": [cut - pd.Timedelta(days=400 + 7 * i) for i in range(n)],
            "churn_date": [cut + pd.Timedelta(days=int(d)) if c else pd.NaT for c, d in zip(churned, churn_day)],
            "tier": tier,
        }
    )
    # keep data running to cutoff + 90 days so the outcome window is complete
    tail = pd.DataFrame(
        {
            "customer_id": ids[0],
            "created_at": [cut + pd.Timedelta(days=89, hours=12)],
            "contact_id": ["tail"],
            "channel": "email",
            "direction": "inbound",
        }
    )
    contacts = pd.concat([contacts, tail], ignore_index=True)
    return contacts, customers, pd.DataFrame({"customer_id": ids, "x": x, "k": k, "churned": churned, "tier": tier})


def test_features_by_hand_and_no_leakage():
    cut = pd.Timestamp("2025-07-01")
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "new", "gone"],
            "signup_date": ["2024-01-01", "2024-01-01", "2025-05-01", "2024-01-01"],
            "churn_date": [None, "2025-07-11", None, "2025-06-20"],
            "tier": ["basic", "pro", "basic", "basic"],
        }
    )
    ts = [
        ("a", "2025-03-30 23:59:59", "inbound"),  # before the feature window (it starts 2025-04-02)
        ("a", "2025-04-02 00:00:00", "inbound"),  # first instant of the window: counts
        ("a", "2025-05-10 09:00:00", "inbound"),
        ("a", "2025-05-10 10:00:00", "inbound"),  # follow-up (within 48h)
        ("a", "2025-06-01 09:00:00", "outbound"),  # not inbound
        ("a", "2025-07-01 00:00:00", "inbound"),  # at the cutoff: outcome side, never a feature
        ("b", "2025-06-30 23:59:59", "inbound"),  # last instant before the cutoff: counts
        ("b", "2025-07-05 09:00:00", "inbound"),  # after the cutoff, before churn
        ("b", "2025-07-20 09:00:00", "inbound"),  # after b churned on 2025-07-11: must not count
        ("b", "2025-08-01 09:00:00", "inbound"),
        ("new", "2025-06-01 09:00:00", "inbound"),  # signed up inside the feature window: not in population
        ("gone", "2025-06-01 09:00:00", "inbound"),  # churned before the cutoff: not in population
        ("a", "2025-09-28 12:00:00", "inbound"),  # last data day -> obs_end 2025-09-29
    ]
    contacts = pd.DataFrame(ts, columns=["customer_id", "created_at", "direction"])
    contacts["contact_id"] = [f"t{i}" for i in range(len(contacts))]
    contacts["channel"] = [
        "chat",
        "chat",
        "email",
        "email",
        "meeting",
        "chat",
        "phone",
        "phone",
        "phone",
        "phone",
        "chat",
        "chat",
        "chat",
    ]
    f = customer_features(contacts, customers, window="90D", cutoff=cut).frame.set_index("customer_id")
    assert list(f.index) == ["a", "b"]
    months = 90 / DAYS_PER_MONTH
    assert f.loc["a", "contacts"] == 3 and f.loc["a", "follow_ups"] == 1 and f.loc["a", "cases"] == 2
    assert f.loc["a", "contacts_per_month"] == pytest.approx(3 / months)
    assert f.loc["a", "repeat_contact_rate"] == pytest.approx(1 / 3)
    assert f.loc["a", "channel_chat"] == pytest.approx(1 / 3) and f.loc["a", "channel_email"] == pytest.approx(2 / 3)
    assert f.loc["b", "contacts"] == 1 and bool(f.loc["b", "churned"]) and not bool(f.loc["a", "churned"])
    assert f.loc["a", "tenure_years"] == pytest.approx((cut - pd.Timestamp("2024-01-01")).days / 365.25)
    # Removing every contact on or after the cutoff (except the last one, which fixes the data end) changes no feature.
    before = contacts[(pd.to_datetime(contacts["created_at"]) < cut) | (contacts["contact_id"] == "t12")]
    g = customer_features(before, customers, window="90D", cutoff=cut).frame.set_index("customer_id")
    pd.testing.assert_series_equal(f["contacts"], g["contacts"])
    # Default cutoff: last data day 2025-09-28 -> obs_end 2025-09-29 -> cutoff 2025-07-01.
    assert customer_features(contacts, customers, window="90D").cutoffs == (cut,)
    with pytest.raises(ParameterError, match="on or before 2025-07-01"):
        customer_features(contacts, customers, window="90D", cutoff="2025-07-15")


def test_logit_matches_statsmodels_formula():
    contacts, customers, truth = _population(n=400, seed=3, effect=0.5)
    r = churn.churn_effect(contacts, customers, cutoff="2025-07-01", gap=0)
    truth["tenure_years"] = ((pd.Timestamp("2025-07-01") - customers["signup_date"]).dt.days / 365.25).to_numpy()
    ref = smf.logit(
        "churned ~ x + C(tier, Treatment('basic')) + tenure_years", truth.assign(churned=truth["churned"].astype(int))
    ).fit(disp=0)
    # the reference level is the largest tier; compare only the contact term, which does not depend on it
    assert r.odds_ratio == pytest.approx(math.exp(ref.params["x"]), rel=1e-6)
    lo, hi = np.exp(ref.conf_int().loc["x"])
    assert (r.ci_low, r.ci_high) == (pytest.approx(lo, rel=1e-5), pytest.approx(hi, rel=1e-5))
    assert r.p_value == pytest.approx(ref.pvalues["x"], rel=1e-4)


def _survey_level_cr2(xs: np.ndarray, e: np.ndarray, groups: np.ndarray, j: int):
    """CR2 variance and Bell-McCaffrey df of coefficient j, by brute force on survey rows.

    Textbook form (Bell & McCaffrey 2002; Imbens & Kolesar 2016): explicit n x n hat matrix,
    (I - H_gg)^(-1/2) by scipy's matrix square root, df from the eigenvalues of G'G.
    """
    from scipy import linalg

    xtxi = np.linalg.inv(xs.T @ xs)
    hat = xs @ xtxi @ xs.T
    m = np.eye(len(xs)) - hat
    meat = np.zeros((xs.shape[1], xs.shape[1]))
    gcols = []
    for g in np.unique(groups):
        i = np.flatnonzero(groups == g)
        adj = np.real(linalg.inv(linalg.sqrtm(m[np.ix_(i, i)])))
        sg = xs[i].T @ adj @ e[i]
        meat += np.outer(sg, sg)
        gcols.append(m[:, i] @ adj @ (xs[i] @ xtxi[:, j]))
    se = math.sqrt((xtxi @ meat @ xtxi)[j, j])
    lam = np.linalg.eigvalsh(np.column_stack(gcols).T @ np.column_stack(gcols))
    return se, lam.sum() ** 2 / (lam**2).sum()


def test_csat_is_wls_of_customer_means_with_cr2_and_bell_mccaffrey_df():
    contacts, customers, truth = _population(n=120, seed=5)
    rng = np.random.default_rng(9)
    cut = pd.Timestamp("2025-07-01")
    rows = []
    for cid, x in zip(truth["customer_id"], truth["x"]):
        for _ in range(rng.poisson(0.4 + 0.8 * x)):  # more contacts, more surveys: uneven leverage
            rows.append(
                (
                    cid,
                    cut + pd.Timedelta(days=int(rng.integers(0, 89)), hours=11),
                    int(np.clip(round(4.2 - 0.3 * x + rng.normal(0, 0.8)), 1, 5)),
                )
            )
    surveys = pd.DataFrame(rows, columns=["customer_id", "responded_at", "score"])
    r = csat.csat_effect(contacts, customers, surveys, cutoff=cut, controls=[])
    tenure = ((cut - customers["signup_date"]).dt.days / 365.25).set_axis(customers["customer_id"])
    # 1) statsmodels: WLS of each customer's mean score, weights = surveys, HC2 errors.
    per = surveys.groupby("customer_id")["score"].agg(["mean", "size"]).reset_index().merge(truth, on="customer_id")
    per["tenure_years"] = per["customer_id"].map(tenure)
    ref = smf.wls("mean ~ x + tenure_years", per, weights=per["size"]).fit(cov_type="HC2")
    assert r.slope == pytest.approx(ref.params["x"], rel=1e-8)
    # ... which is the survey-level OLS slope
    s = surveys.merge(truth, on="customer_id")
    s["tenure_years"] = s["customer_id"].map(tenure)
    ols = sm.OLS(s["score"], sm.add_constant(s[["x", "tenure_years"]])).fit()
    assert r.slope == pytest.approx(ols.params["x"], rel=1e-8)
    row = r.table.set_index("term").loc["contacts_per_month"]
    assert row["std_err"] == pytest.approx(ref.bse["x"], rel=1e-6)
    # 2) brute force on survey rows clustered by customer: same SE (CR2 = HC2 of the means), and the df.
    xs = sm.add_constant(s[["x", "tenure_years"]]).to_numpy(float)
    se, dof = _survey_level_cr2(xs, ols.resid.to_numpy(), s["customer_id"].to_numpy(), 1)
    assert se == pytest.approx(ref.bse["x"], rel=1e-6)
    assert row["df"] == pytest.approx(dof, rel=1e-6) and dof < len(per) - 3
    crit = stats.t.ppf(0.975, dof)
    assert r.ci_low == pytest.approx(ref.params["x"] - crit * se, rel=1e-6)
    assert r.ci_high == pytest.approx(ref.params["x"] + crit * se, rel=1e-6)
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(ref.params["x"] / se), dof), rel=1e-6)
    assert r.n_surveys == len(surveys)
    # 3) several rows per cluster (as with stacked cutoffs): the survey rows themselves, clustered by customer.
    _, se_rows, df_rows = csat._cr2(xs, s["score"].to_numpy(float), np.ones(len(s)), s["customer_id"].to_numpy())
    assert se_rows[1] == pytest.approx(se, rel=1e-6) and df_rows[1] == pytest.approx(dof, rel=1e-6)


# --------------------------------------------------------------------------- clear failures
def test_perfect_separation_is_a_clear_error():
    contacts, customers, truth = _population(n=100, seed=1)
    # churners are exactly the customers with 3+ contacts
    churners = truth["k"] >= 3
    customers["churn_date"] = [pd.Timestamp("2025-07-20") if c else pd.NaT for c in churners]
    with pytest.raises(AnalysisError, match="perfectly separated"):
        churn.churn_effect(contacts, customers, cutoff="2025-07-01", gap=0)


def test_segment_without_churners_is_left_out_with_a_note():
    contacts, customers, truth = _population(n=300, seed=2, churn_rate=0.3)
    customers.loc[customers["tier"] == "pro", "churn_date"] = pd.NaT
    r = churn.churn_effect(contacts, customers, cutoff="2025-07-01", gap=0)
    assert any("tier = pro has no churners" in n for n in r.notes)
    basic = truth[truth["tier"] == "basic"].copy()
    basic["tenure_years"] = basic["customer_id"].map(
        ((pd.Timestamp("2025-07-01") - customers["signup_date"]).dt.days / 365.25).set_axis(customers["customer_id"])
    )
    ref = smf.logit("churned ~ x + tenure_years", basic.assign(churned=basic["churned"].astype(int))).fit(disp=0)
    assert r.odds_ratio == pytest.approx(math.exp(ref.params["x"]), rel=1e-6)


def test_constant_csat_and_too_few_customers_are_clear_errors():
    contacts, customers, truth = _population(n=100, seed=4)
    surveys = pd.DataFrame(
        {"customer_id": truth["customer_id"], "score": 5, "responded_at": pd.Timestamp("2025-07-10 12:00")}
    )
    with pytest.raises(AnalysisError, match="every CSAT score .* is 5"):
        csat.csat_effect(contacts, customers, surveys, cutoff="2025-07-01")
    few_ids = truth["customer_id"].iloc[:12]
    with pytest.raises(AnalysisError, match="only 12 customer"):
        churn.churn_effect(
            contacts[contacts["customer_id"].isin(few_ids) | (contacts["contact_id"] == "tail")],
            customers[customers["customer_id"].isin(few_ids)],
            cutoff="2025-07-01",
            gap=0,
        )
    with pytest.raises(ParameterError, match="not a customers column"):
        churn.churn_effect(contacts, customers, controls=["nope"])
    with pytest.raises(AnalysisError, match="no churners|churned in the outcome window"):
        churn.churn_effect(contacts, customers.assign(churn_date=pd.NaT), cutoff="2025-07-01", gap=0)


def test_errors_are_kit_errors_not_tracebacks():
    contacts, customers, truth = _population(n=100, seed=6)
    with pytest.raises(KitError):
        churn.churn_effect(contacts, customers, window="2h")
    with pytest.raises(ParameterError):
        csat.csat_effect(contacts, customers, None) if False else csat.fit_csat(
            customer_features(contacts, customers, cutoff="2025-07-01")
        )


# --------------------------------------------------------------------------- period level
def _series(values: dict, n: int) -> pd.DataFrame:
    return pd.DataFrame({"period": pd.date_range("2023-01-01", periods=n, freq="MS"), **values})


def test_period_correlation_fisher_interval_by_hand():
    rng = np.random.default_rng(0)
    n = 30
    f = np.cumsum(rng.normal(size=n))
    csat = 4 - 0.5 * f + np.cumsum(rng.normal(size=n))
    out = period_correlation(None, None, series=_series({"frequency": f, "csat": csat}, n), adjust="difference", lags=2)
    row = out.frame[(out.frame["outcome"] == "csat") & (out.frame["lag"] == 0)].iloc[0]
    dx, dy = np.diff(f), np.diff(csat)
    r = np.corrcoef(dx, dy)[0, 1]
    # First differences: Fisher z on Bartlett's effective n = n / (1 + 2 sum_k acf_x(k) acf_y(k)), k = 1..n/4,
    # never above n (the correction only widens).
    a, b = dx - dx.mean(), dy - dy.mean()
    acf = lambda v, k: np.dot(v[:-k], v[k:]) / np.dot(v, v)  # noqa: E731
    n_eff = len(dx) / max(1.0, 1 + 2 * sum(acf(a, k) * acf(b, k) for k in range(1, len(dx) // 4 + 1)))
    z, se = math.atanh(r), 1 / math.sqrt(n_eff - 3)
    assert row["n"] == n - 1 and row["pearson"] == pytest.approx(r)
    assert row["pearson_ci_low"] == pytest.approx(math.tanh(z - 1.959964 * se), rel=1e-5)
    assert row["pearson_ci_high"] == pytest.approx(math.tanh(z + 1.959964 * se), rel=1e-5)
    lag1 = out.frame[(out.frame["outcome"] == "csat") & (out.frame["lag"] == 1)].iloc[0]
    assert lag1["n"] == n - 2 and lag1["pearson"] == pytest.approx(np.corrcoef(dx[:-1], dy[1:])[0, 1])
    assert not out.frame["weak"].any()


def test_period_correlation_regression_fisher_interval_by_hand():
    # The default adjustment: residuals of a regression on 1, t, t^2 and 11 month dummies; the
    # interval and p-value are a partial correlation's (13 fitted terms besides the intercept).
    rng = np.random.default_rng(0)
    n = 36
    pos = np.arange(n) % 12
    season = np.cos(2 * np.pi * pos / 12)
    f = 1 + 0.3 * season + 0.01 * np.arange(n) + rng.normal(0, 0.1, n)
    csat = 4 + 0.5 * season - 0.5 * f + rng.normal(0, 0.1, n)
    out = period_correlation(None, None, series=_series({"frequency": f, "csat": csat}, n), lags=2)
    row = out.frame[out.frame["lag"] == 0].iloc[0]
    t = np.arange(n) / (n - 1)
    design = np.column_stack([np.ones(n), t, t**2] + [(pos == k).astype(float) for k in range(1, 12)])
    resid = lambda v: v - design @ np.linalg.lstsq(design, v, rcond=None)[0]  # noqa: E731
    r = np.corrcoef(resid(f), resid(csat))[0, 1]
    z, se = math.atanh(r), 1 / math.sqrt(n - 3 - 13)
    assert row["adjustment"] == "seasonally adjusted and detrended" and row["n"] == n
    assert row["pearson"] == pytest.approx(r)
    assert row["pearson_ci_low"] == pytest.approx(math.tanh(z - 1.959964 * se), rel=1e-5)
    assert row["pearson_ci_high"] == pytest.approx(math.tanh(z + 1.959964 * se), rel=1e-5)
    # Frisch-Waugh: the partial correlation's p is the OLS t-test of frequency alongside the design.
    ols = sm.OLS(csat, np.column_stack([f, design])).fit()
    assert row["pearson_p"] == pytest.approx(ols.pvalues[0], rel=1e-6)
    ps = out.frame["pearson_p"].to_numpy()
    assert row["pearson_p"] == ps.min() and row["p_adjusted"] == pytest.approx(3 * ps.min())  # Holm over 3 lags
    assert bool(row["survives"]) == (3 * ps.min() < 0.05)


def test_shared_seasonality_is_not_reported_as_a_link():
    rng = np.random.default_rng(1)
    n = 48
    season = np.cos(2 * np.pi * (np.arange(n) % 12) / 12)
    f = 1 + 0.3 * season + rng.normal(0, 0.02, n)
    csat = 4 + 0.5 * season + rng.normal(0, 0.03, n)
    assert np.corrcoef(f, csat)[0, 1] > 0.9  # raw levels look strongly linked
    out = period_correlation(None, None, series=_series({"frequency": f, "csat": csat}, n))
    row = out.frame[out.frame["lag"] == 0].iloc[0]
    assert "seasonally adjusted" in row["adjustment"]
    assert abs(row["pearson"]) < 0.5 and row["pearson_ci_low"] < 0 < row["pearson_ci_high"]


def test_short_series_is_flagged_weak():
    n = 8
    out = period_correlation(
        None,
        None,
        series=_series(
            {"frequency": np.arange(n, dtype=float) ** 1.5, "churn_rate": np.linspace(0.01, 0.02, n) ** 2}, n
        ),
    )
    assert out.frame["weak"].all()
    assert any("weak" in note for note in out.notes)
    assert any("first differences" in note for note in out.notes)
    assert "weak" in out.describe()


def test_rolling_cutoffs_stack_and_cluster(small_sample):
    f = customer_features(small_sample.contacts, small_sample.customers, cutoff="rolling")
    assert len(f.cutoffs) >= 3 and f.frame["cutoff"].nunique() == len(f.cutoffs)
    r = churn.fit_churn(f)
    assert len(r.cutoffs) == len(f.cutoffs) and any("clustered by customer" in n for n in r.notes)


# --------------------------------------------------------------------------- design travels as fields, not attrs
def test_plain_frame_takes_its_design_from_keywords_never_from_attrs():
    contacts, customers, truth = _population(n=400, seed=3, effect=0.5)
    frame = truth.rename(columns={"x": "contacts_per_month"})
    frame["tenure_years"] = ((pd.Timestamp("2025-07-01") - customers["signup_date"]).dt.days / 365.25).to_numpy()
    frame.attrs.update(
        cutoffs=[pd.Timestamp("2025-01-01"), pd.Timestamp("2025-04-01")],
        window_days=7,
        controls=["tier"],
        direction="outbound",
    )
    r = churn.fit_churn(frame, window_days=60)
    ref = smf.logit(
        "churned ~ x + tenure_years",
        truth.assign(churned=truth["churned"].astype(int), tenure_years=frame["tenure_years"]),
    ).fit(disp=0)
    assert r.odds_ratio == pytest.approx(math.exp(ref.params["x"]), rel=1e-6)
    assert r.controls == ("tenure",) and r.cutoffs == () and r.window_days == 60
    assert r.feature == "inbound contact per month"
    assert not any("clustered" in n for n in r.notes)
    with pytest.raises(ParameterError, match="not in the feature table"):
        churn.fit_churn(frame, controls=["region"])


def test_churn_by_segment_fits_each_level_with_the_design(monkeypatch):
    contacts, customers, truth = _population(n=400, seed=7, effect=0.5, churn_rate=0.3)
    by = churn.churn_effect_by(contacts, customers, by="tier", cutoff="2025-07-01", gap=0)
    assert list(by.frame["level"]) == ["all", "basic", "pro"] and by.segment == "tier"
    truth["tenure_years"] = ((pd.Timestamp("2025-07-01") - customers["signup_date"]).dt.days / 365.25).to_numpy()
    truth["churned"] = truth["churned"].astype(int)
    pooled = smf.logit("churned ~ x + C(tier) + tenure_years", truth).fit(disp=0)
    basic = smf.logit("churned ~ x + tenure_years", truth[truth["tier"] == "basic"]).fit(disp=0)
    rows = by.frame.set_index("level")
    assert rows.loc["all", "odds_ratio"] == pytest.approx(math.exp(pooled.params["x"]), rel=1e-6)
    assert rows.loc["basic", "odds_ratio"] == pytest.approx(math.exp(basic.params["x"]), rel=1e-6)
    assert rows.loc["basic", "customers"] == (truth["tier"] == "basic").sum()
    assert "Fitted separately by tier" in by.describe()
    ax = by.plot()
    assert len(ax.get_yticklabels()) == 3


def test_renamed_grain_and_dataset_first_argument(small_sample_dir):
    import kit

    n = 20
    s = _series({"frequency": np.arange(n, dtype=float) ** 1.5, "csat": np.sqrt(np.arange(n) + 1.0)}, n)
    with pytest.warns(KitDeprecationWarning, match="use freq="):
        out = period_correlation(None, None, series=s, grain="month", adjust="difference", lags=0)
    assert out.freq == "month" and out.frame["n"].tolist() == [n - 1]
    ds = kit.load(small_sample_dir, tz="America/New_York")
    f = customer_features(ds, window="60D")
    assert f.tz == "America/New_York" and f.window_days == 60 and f.controls == ("tier",)
    assert f.obs_end - f.cutoffs[0] == pd.Timedelta(days=60)


@pytest.mark.slow
def test_driver_report_describes_and_plots(small_sample):
    rep = drivers.analyze(small_sample.contacts, small_sample.customers, small_sample.surveys)
    lines = rep.describe().splitlines()
    assert lines == rep.sentences() and lines[-1].startswith("These figures describe associations")
    assert "associated with" in lines[0] and "odds ratio" in lines[0]
    assert not any("cause churn" in line and "not" not in line for line in lines)
    ax = rep.churn.plot()
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == list(rep.churn.binned["bucket"])
    assert rep.periods.plot().get_ylim() == (-1.0, 1.0)
    # Two complete years: each series is a regression residual (no period lost to differencing,
    # partial periods already left out of the series), so lag k pairs all periods but the last k.
    series, corr = rep.periods.series.frame, rep.periods.frame
    assert series["complete"].all()
    assert (corr["adjustment"] == "seasonally adjusted and detrended").all()
    assert corr["n"].tolist() == [len(series) - k for k in corr["lag"]]
