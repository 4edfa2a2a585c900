"""Tests for kit.sample: schema, determinism, planted effects, data quality, write()."""

from __future__ import annotations

import doctest
import importlib
import json

import numpy as np
import pandas as pd
import pytest

from kit.config import DAYS_PER_MONTH
from kit.errors import ParameterError
from kit.sample import Sample, generate

SCHEMA = {
    "customers": [
        "customer_id",
        "name",
        "signup_date",
        "churn_date",
        "tier",
        "region",
        "industry",
        "contract",
        "arr",
        "strategic",
        "csm_owner",
    ],
    "contacts": [
        "contact_id",
        "customer_id",
        "created_at",
        "channel",
        "direction",
        "topic",
        "handle_time",
        "person_id",
    ],
    "surveys": ["customer_id", "responded_at", "score", "contact_id"],
    "orders": ["order_id", "customer_id", "ordered_at"],
    "stakeholders": ["customer_id", "person_id", "name", "role", "cadence_days", "start_date", "end_date"],
    "events": ["date", "label", "kind"],
}
SMALL = dict(customers=500, months=12)


@pytest.fixture(scope="module")
def small() -> Sample:
    return generate(**SMALL, seed=3)


@pytest.fixture(scope="module")
def small_clean() -> Sample:
    return generate(**SMALL, seed=3, data_quality=False)


@pytest.fixture(scope="module")
def big() -> Sample:
    """The default-size sample (20k customers, 36 months), generated once."""
    return generate(data_quality=False)


def _clean_contacts(s: Sample) -> pd.DataFrame:
    """Contacts without the planted bad rows, created_at parsed."""
    c = s.contacts.copy()
    c["created_at"] = pd.to_datetime(c["created_at"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    c = c[c["created_at"].notna()].drop_duplicates("contact_id")
    return c[c["customer_id"].isin(s.customers["customer_id"])]


# ----------------------------------------------------------------------------- schema
def test_schema(small):
    assert list(small.tables()) == list(SCHEMA)
    for name, cols in SCHEMA.items():
        assert list(getattr(small, name).columns) == cols, name
    cu = small.customers
    assert cu["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert set(cu["tier"]) == {"basic", "pro", "enterprise"}
    assert set(cu["region"]) <= {"NA", "EMEA", "APAC", "LATAM"}
    assert set(cu["industry"]) == {"SaaS (B2B)", "E-commerce"}
    assert set(cu["contract"]) == {"Monthly billing", "Annual contracts"}
    assert cu["strategic"].dtype == bool
    for col in ("signup_date", "churn_date"):
        assert pd.api.types.is_datetime64_any_dtype(cu[col])
    strat = cu[cu["strategic"]]
    assert (strat["tier"] == "enterprise").all() and strat["csm_owner"].str.match(r"csm_\d\d").all()
    assert (cu.loc[~cu["strategic"], "csm_owner"] == "").all()
    co = small.contacts
    inbound, outbound = co[co["direction"] == "inbound"], co[co["direction"] == "outbound"]
    assert set(co["direction"]) == {"inbound", "outbound"}
    assert set(inbound["channel"]) == {"phone", "email", "chat"}
    assert set(outbound["channel"]) <= {"meeting", "email", "phone"}
    assert set(outbound["topic"]) == {"check-in", "qbr"}
    assert "order issue" in set(inbound["topic"])
    assert (inbound["person_id"] == "").all() and (outbound["person_id"] != "").all()
    assert (co["handle_time"] > 0).all()
    sv = small.surveys
    assert sv["score"].between(1, 5).all() and pd.api.types.is_integer_dtype(sv["score"])
    assert pd.api.types.is_datetime64_any_dtype(sv["responded_at"])
    assert sv["contact_id"].isin(co.loc[co["direction"] == "inbound", "contact_id"]).all()
    sh = small.stakeholders
    assert set(sh["role"]) <= {"executive sponsor", "decision maker", "champion", "user"}
    assert set(sh["customer_id"]) == set(strat["customer_id"])
    per = sh.groupby("customer_id")
    assert per.size().between(3, 6).all()
    assert per["role"].apply(lambda r: "decision maker" in set(r)).all()
    ev = small.events
    assert set(ev["kind"]) <= {"release", "outage", "billing"}
    orders_cust = set(small.orders["customer_id"])
    assert orders_cust <= set(cu.loc[cu["industry"] == "E-commerce", "customer_id"])


def test_created_at_dtype_follows_data_quality(small, small_clean):
    assert not pd.api.types.is_datetime64_any_dtype(small.contacts["created_at"])
    assert pd.api.types.is_datetime64_any_dtype(small_clean.contacts["created_at"])


# ----------------------------------------------------------------------------- determinism
def test_deterministic(small):
    again = generate(**SMALL, seed=3)
    for name, df in small.tables().items():
        pd.testing.assert_frame_equal(df, again.tables()[name], obj=name)
    assert json.dumps(small.ground_truth) == json.dumps(again.ground_truth)
    other = generate(**SMALL, seed=4)
    assert not small.contacts.equals(other.contacts)
    assert not small.customers.equals(other.customers)


def test_data_quality_flag_only_adds_bad_rows(small, small_clean):
    clean = small.contacts.copy()
    clean["created_at"] = pd.to_datetime(clean["created_at"], format="%Y-%m-%d %H:%M:%S", errors="coerce").astype(
        "datetime64[ns]"
    )
    ids = small.ground_truth["data_quality"]["contact_ids"]
    bad_new = set(ids["unparseable created_at"]) | set(ids["unknown customer"])
    clean = clean[~clean["contact_id"].isin(bad_new)].drop_duplicates().sort_values("contact_id")
    pd.testing.assert_frame_equal(clean.reset_index(drop=True), small_clean.contacts)
    n_bad_c = small.ground_truth["data_quality"]["customers"]["churn before signup"]
    pd.testing.assert_frame_equal(small.customers.iloc[:-n_bad_c], small_clean.customers)


# ----------------------------------------------------------------------------- activity / follow-ups
def test_contacts_only_while_active(small):
    co = _clean_contacts(small).merge(small.customers[["customer_id", "signup_date", "churn_date"]], on="customer_id")
    after_churn = co["churn_date"].notna() & (co["created_at"] >= co["churn_date"])
    assert not (co["created_at"] < co["signup_date"]).any()
    assert not after_churn.any()


def test_followup_share(small):
    gt = small.ground_truth["followups"]
    inb = _clean_contacts(small)
    inb = inb[(inb["direction"] == "inbound") & (inb["topic"] != "order issue")]
    inb = inb.sort_values(["customer_id", "topic", "created_at"])
    gap = inb.groupby(["customer_id", "topic"])["created_at"].diff()
    share = (gap <= pd.Timedelta(hours=40)).mean()
    # follow-ups plus the odd chance coincidence of two independent contacts
    assert gt["share_of_inbound"] == pytest.approx(0.17, abs=0.03)
    assert gt["share_of_inbound"] - 0.01 < share < gt["share_of_inbound"] + 0.05


# ----------------------------------------------------------------------------- data quality
def test_data_quality_counts(small):
    dq = small.ground_truth["data_quality"]
    co, cu = small.contacts, small.customers
    parsed = pd.to_datetime(co["created_at"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    mixed = pd.to_datetime(co["created_at"], format="mixed", errors="coerce")
    assert parsed.isna().sum() == mixed.isna().sum() == dq["contacts"]["unparseable created_at"] > 0
    assert co["contact_id"].duplicated().sum() == dq["contacts"]["duplicate contact_id"] > 0
    assert co.duplicated().sum() == dq["contacts"]["duplicate contact_id"]  # exact copies
    unknown = ~co["customer_id"].isin(cu["customer_id"])
    assert unknown.sum() == dq["contacts"]["unknown customer"] > 0
    assert co.loc[unknown, "customer_id"].str.fullmatch(r"C999\d{3}").all()
    bad_c = cu["churn_date"] < cu["signup_date"]
    assert bad_c.sum() == dq["customers"]["churn before signup"] == 2
    assert not co["customer_id"].isin(cu.loc[bad_c, "customer_id"]).any()
    # bad rows stay out of strategic accounts, spike dates and the churn/CSAT windows
    bad_ids = [i for v in dq["contact_ids"].values() for i in v]
    bad_rows = co[co["contact_id"].isin(bad_ids)]
    assert (bad_rows["direction"] == "inbound").all()
    assert not bad_rows["customer_id"].isin(cu.loc[cu["strategic"], "customer_id"]).any()
    ts = pd.to_datetime(bad_rows["created_at"], format="%Y-%m-%d %H:%M:%S", errors="coerce").dropna()
    fstart = pd.Timestamp(small.ground_truth["churn"]["feature_window"][0])
    assert (ts < fstart).all()
    spikes = {s["date"] for s in small.ground_truth["spikes"]}
    assert not set(ts.dt.strftime("%Y-%m-%d")) & spikes


def test_no_data_quality(small_clean):
    dq = small_clean.ground_truth["data_quality"]
    assert all(v == 0 for v in dq["contacts"].values())
    assert not small_clean.contacts["contact_id"].duplicated().any()
    assert small_clean.contacts["customer_id"].isin(small_clean.customers["customer_id"]).all()
    assert len(small_clean.customers) == SMALL["customers"]


# ----------------------------------------------------------------------------- ground truth / flags
def test_ground_truth_structure(small):
    gt = small.ground_truth
    assert gt["generated_with"] == "kit.sample"
    assert gt["params"] == {
        "seed": 3,
        **SMALL,
        "end": "2026-10-31",
        "seasonality": True,
        "effects": True,
        "data_quality": True,
    }
    assert gt["seasonality"]["yearly_amplitude"] == 0.3 and gt["seasonality"]["peak_month"] == 12
    assert gt["onboarding"] == {"factor": 3.0, "days": 14}
    assert gt["churn"]["cutoff"] == "2026-08-03" and gt["churn"]["window_days"] == 90
    assert gt["churn"]["log_odds"] == pytest.approx(np.log(1.35))
    assert gt["csat"]["slope_per_contact_per_month"] == -0.12
    acc = gt["accounts"]
    special = acc["under_served"] + acc["decision_maker_left"] + acc["qbr_only"]
    assert len(set(special)) == len(special) == 11 and set(special) <= set(acc["strategic"])
    assert gt["orders"]["segment"] == "E-commerce"
    days = pd.to_datetime([s["date"] for s in gt["spikes"]])
    assert len(days) >= 4 and (np.diff(days.values) >= np.timedelta64(30, "D")).all()
    start, end = pd.Timestamp(gt["window"]["start"]), pd.Timestamp(gt["window"]["end"])
    assert (days >= start + pd.Timedelta(days=60)).all() and (days <= end - pd.Timedelta(days=60)).all()
    assert all(2.0 <= s["factor"] <= 2.5 for s in gt["spikes"])
    ev = set(small.events["date"].dt.strftime("%Y-%m-%d"))
    assert {s["date"] for s in gt["spikes"]} <= ev
    assert len(small.events) > len(gt["spikes"])  # events without a spike exist
    json.dumps(gt)


def test_switches():
    s = generate(**SMALL, seed=5, seasonality=False, effects=False, data_quality=False)
    gt = s.ground_truth
    assert gt["seasonality"]["yearly_amplitude"] == 0.0
    assert set(gt["seasonality"]["weekly"]["weights"].values()) == {1.0}
    assert gt["churn"]["log_odds"] == 0.0 and gt["csat"]["slope_per_contact_per_month"] == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"customers": 10},
        {"customers": 500.0},
        {"months": 3},
        {"seed": -1},
        {"end": "not a date"},
        {"effects": "yes"},
    ],
)
def test_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        generate(**{**SMALL, **kwargs})


def test_keyword_only():
    with pytest.raises(TypeError):
        generate(500)  # type: ignore[misc]


# ----------------------------------------------------------------------------- write()
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_round_trip(small, tmp_path, fmt):
    out = tmp_path / "sample"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    assert small.write(out, fmt=fmt) == out
    assert not (out / "stale.txt").exists()  # replaced as a whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]  # no temp dirs left
    gt = json.loads((out / "ground_truth.json").read_text())
    assert gt == json.loads(json.dumps(small.ground_truth))
    for name, df in small.tables().items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            back = pd.read_parquet(path)
            for col in back.select_dtypes("datetime").columns:  # written in microseconds, which Spark reads
                back[col] = back[col].astype(df[col].dtype)
            pd.testing.assert_frame_equal(back, df, check_dtype=False, obj=name)
        else:
            back = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert list(back.columns) == list(df.columns) and len(back) == len(df)
    cu = pd.read_csv(out / "customers.csv", dtype=str, keep_default_na=False) if fmt == "csv" else None
    if cu is not None:
        assert cu["signup_date"].str.fullmatch(r"\d{4}-\d\d-\d\d").all()
        assert cu["churn_date"].str.fullmatch(r"(\d{4}-\d\d-\d\d)?").all()
        sv = pd.read_csv(out / "surveys.csv", dtype=str)
        assert sv["responded_at"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
        co = pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False)
        assert (co["contact_id"] == small.contacts["contact_id"]).all()
        assert (co["created_at"] == small.contacts["created_at"]).all()


def test_write_rejects(small, tmp_path):
    with pytest.raises(ParameterError):
        small.write(tmp_path / "x", fmt="xlsx")
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(ParameterError):
        small.write(f)


SAMPLE_MODULES = (
    "kit.sample",
    "kit.sample.sample",
    "kit.sample.run",
    "kit.sample.customers",
    "kit.sample.events",
    "kit.sample.contacts",
    "kit.sample.orders",
    "kit.sample.defects",
)


@pytest.mark.parametrize("name", SAMPLE_MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ----------------------------------------------------------------------------- planted effects (20k)
def test_seasonality_amplitude(big):
    """Monthly inbound contacts per active customer ~ c * (1 + 0.3 cos(2 pi (month - 12) / 12))."""
    gt = big.ground_truth
    cu, co = big.customers, big.contacts
    inb = co[co["direction"] == "inbound"]
    months = pd.period_range(gt["window"]["start"], gt["window"]["end"], freq="M")
    counts = inb.groupby(inb["created_at"].dt.to_period("M")).size().reindex(months, fill_value=0)
    active = np.array(
        [
            ((cu["signup_date"] <= m.end_time) & (cu["churn_date"].isna() | (cu["churn_date"] > m.start_time))).sum()
            for m in months
        ]
    )
    y = counts.to_numpy() / active
    X = np.column_stack([np.ones(len(months)), np.cos(2 * np.pi * (months.month.to_numpy() - 12) / 12)])
    (c, d), *_ = np.linalg.lstsq(X, y, rcond=None)
    assert d / c == pytest.approx(0.3, abs=0.05)


def test_churn_odds_ratio(big):
    sm = pytest.importorskip("statsmodels.api")
    gt = big.ground_truth["churn"]
    cu, co = big.customers, big.contacts
    cutoff, w = pd.Timestamp(gt["cutoff"]), pd.Timedelta(days=gt["window_days"])
    pop = cu[(cu["signup_date"] <= cutoff - w) & (cu["churn_date"].isna() | (cu["churn_date"] >= cutoff))]
    inb = co[(co["direction"] == "inbound") & (co["created_at"] >= cutoff - w) & (co["created_at"] < cutoff)]
    x = pop["customer_id"].map(inb.groupby("customer_id").size()).fillna(0) / (90 / DAYS_PER_MONTH)
    y = ((pop["churn_date"] >= cutoff) & (pop["churn_date"] < cutoff + w)).astype(float)
    X = pd.DataFrame(
        {
            "const": 1.0,
            "pro": (pop["tier"] == "pro").astype(float),
            "enterprise": (pop["tier"] == "enterprise").astype(float),
            "x": x,
        }
    )
    fit = sm.Logit(y, X).fit(disp=0)
    lo, hi = np.exp(fit.conf_int().loc["x"])
    assert lo < 1.35 < hi
    assert len(pop) == gt["population_size"] and int(y.sum()) == gt["churned_in_window"]
    assert 0.08 <= y.mean() <= 0.12
    # no other churn for the population before the end of the data
    assert not (pop["churn_date"] >= cutoff + w).any()


def test_accounts_flag_rule(big):
    gt = big.ground_truth["accounts"]
    co = big.contacts
    end = pd.Timestamp(big.ground_truth["window"]["end"])
    out = co[(co["direction"] == "outbound")]
    last3 = out[out["created_at"] >= (end.to_period("M") - 2).to_timestamp()]
    per_month = last3.groupby("customer_id").size().reindex(gt["strategic"], fill_value=0) / 3
    recent = out[out["created_at"] >= end + pd.Timedelta(days=1) - pd.Timedelta(days=30)]
    touched = recent.groupby("customer_id").size().reindex(gt["strategic"], fill_value=0)
    flagged = set(per_month.index[(per_month < 4) | (touched == 0)])
    assert flagged == set(gt["under_served"])
    assert len(gt["strategic"]) == 40 and len(gt["under_served"]) == 6
    # QBR-only: decision makers touched only by a QBR in the last 90 days
    sh = big.stakeholders
    dms = set(sh.loc[sh["role"] == "decision maker", "person_id"])
    l90 = out[(out["created_at"] >= end + pd.Timedelta(days=1) - pd.Timedelta(days=90)) & out["person_id"].isin(dms)]
    topics = l90.groupby("customer_id")["topic"].agg(set)
    assert set(topics.index[topics.apply(lambda t: t == {"qbr"})]) == set(gt["qbr_only"])
    left = sh[(sh["role"] == "decision maker") & sh["end_date"].notna()]
    assert set(left["customer_id"]) == set(gt["decision_maker_left"])
