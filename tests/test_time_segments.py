"""new_vs_existing and tenure: hand-worked window and band edges, additivity, a brute-force check
on random customers, combinations with segments and channel, and the sample's planted onboarding
effect recovered through new_vs_existing."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from kit.errors import ParameterError
from kit.metrics.frequency import contact_frequency
from kit.metrics.timesegments import bands, tenure_labels


def _contacts(rows, channel="email"):
    return pd.DataFrame(
        {
            "contact_id": range(len(rows)),
            "customer_id": [r[0] for r in rows],
            "created_at": [f"{r[1]} 10:00" for r in rows],
            "channel": [r[2] if len(r) > 2 else channel for r in rows],
        }
    )


def _freq(contacts, customers, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return contact_frequency(contacts, customers, dedup_window=0, **kw).frame


# ------------------------------------------------------------------ window edges by hand
# April 2026 starts on Apr 1; Apr 1 - 90 days = Jan 1 (31 + 28 + 31 days back).
EDGE_CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        # a: exactly new_window before April's start -> existing; b: a day later -> new;
        # c: signs up inside April -> new; d: signs up after April, wrote before (pre-sales) -> new in April;
        # e: a long-standing customer -> existing
        "signup_date": ["2026-01-01", "2026-01-02", "2026-04-15", "2026-05-10", "2025-01-01"],
        "tier": ["x", "y", "x", "y", "x"],
    }
)
EDGE_CONTACTS = _contacts(
    [
        ("a", "2026-03-05"),
        ("a", "2026-04-03"),
        ("b", "2026-04-04", "chat"),
        ("b", "2026-04-10"),
        ("c", "2026-04-20", "chat"),
        ("d", "2026-04-20"),
        ("e", "2026-04-05"),
        ("e", "2026-04-12", "chat"),
        ("e", "2026-04-25"),
        ("d", "2026-05-20"),
    ]
)


def test_window_edges_worked_by_hand():
    f = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS, by="new_vs_existing").set_index(["period", "new_vs_existing"])
    got = f[["contacts", "active_customers"]].astype(int).to_dict("index")
    want = {
        # March: Mar 1 - 90 days = Dec 1, so a and b (January signups) are new; e is existing.
        ("2026-03-01", "new"): (1, 2),
        ("2026-03-01", "existing"): (0, 1),
        # April: new = b (2 contacts), c (1), d (1 pre-sales contact, active through it); existing = a (1), e (3)
        ("2026-04-01", "new"): (4, 3),
        ("2026-04-01", "existing"): (4, 2),
        # May: May 1 - 90 days = Jan 31: a and b are existing now; c and d (signed up May 10) are new
        ("2026-05-01", "new"): (1, 2),
        ("2026-05-01", "existing"): (0, 3),
    }
    assert {(str(p.date()), g): (v["contacts"], v["active_customers"]) for (p, g), v in got.items()} == want
    april = f.loc[pd.Timestamp("2026-04-01")]
    assert april.loc["new", "frequency"] == pytest.approx(4 / 3)
    assert april.loc["existing", "frequency"] == pytest.approx(2.0)


def test_groups_add_up_to_the_total_in_contacts_and_active_customers():
    total = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS).set_index("period")
    split = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS, by="new_vs_existing").groupby("period")
    assert split["contacts"].sum().tolist() == total["contacts"].tolist()
    assert split["active_customers"].sum().tolist() == total["active_customers"].tolist()


def test_new_window_parameter_moves_the_edge():
    # 91 days: Apr 1 - 91 days = Dec 31, so a (Jan 1) is new in April too
    f = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS, by="new_vs_existing", new_window="91D", start="2026-04", end="2026-04")
    assert f.set_index("new_vs_existing")["active_customers"].to_dict() == {"new": 4, "existing": 1}
    # signup dates are days: 36 hours reads as 2 days (a fraction rounds up)
    assert bands("new_vs_existing", new_window="36h").edges == (("days", 2),)
    with pytest.raises(ParameterError, match="at least one day"):
        bands("new_vs_existing", new_window="0D")


def test_new_vs_existing_with_tier_and_channel():
    f = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS, by=["new_vs_existing", "tier"], start="2026-04", end="2026-04")
    got = f.set_index(["new_vs_existing", "tier"])[["contacts", "active_customers"]].astype(int)
    # new: b (y, 2), c (x, 1), d (y, 1); existing: a (x, 1), e (x, 3)
    assert got.to_dict("index") == {
        ("new", "x"): {"contacts": 1, "active_customers": 1},
        ("new", "y"): {"contacts": 3, "active_customers": 2},
        ("existing", "x"): {"contacts": 4, "active_customers": 2},
        ("existing", "y"): {"contacts": 0, "active_customers": 0},
    }
    f = _freq(EDGE_CONTACTS, EDGE_CUSTOMERS, by=["new_vs_existing", "channel"], start="2026-04", end="2026-04")
    got = f.set_index(["new_vs_existing", "channel"])
    # channels share their group's denominator, so they add up to the group's frequency
    assert got.loc[("new", "chat"), "contacts"] == 2 and got.loc[("new", "chat"), "active_customers"] == 3
    assert got.loc[("existing", "chat"), "contacts"] == 1 and got.loc[("existing", "email"), "contacts"] == 3
    assert got.xs("new", level=0)["frequency"].sum() == pytest.approx(4 / 3)


# ------------------------------------------------------------------ tenure band edges
def test_tenure_band_edges_worked_by_hand():
    # July 2026 starts on Jul 1. Each pair sits on a band edge and a day inside the band below it.
    customers = pd.DataFrame(
        {
            "customer_id": ["t3", "t3b", "t12", "t12b", "t24", "t24b", "late"],
            "signup_date": [
                "2026-04-01",  # exactly 3 months -> 3-12 months
                "2026-04-02",  # a day short -> 0-3 months
                "2025-07-01",  # exactly 12 months -> 1-2 years
                "2025-07-02",  # -> 3-12 months
                "2024-07-01",  # exactly 24 months -> 2+ years
                "2024-07-02",  # -> 1-2 years
                "2026-07-20",  # signs up inside July: negative tenure -> 0-3 months
            ],
        }
    )
    contacts = _contacts([(c, "2026-07-10") for c in customers["customer_id"]])
    f = _freq(contacts, customers, by="tenure", start="2026-07", end="2026-07")
    got = f.set_index("tenure")["active_customers"].to_dict()
    assert list(f["tenure"]) == ["0–3 months", "3–12 months", "1–2 years", "2+ years"]  # band order, not alphabetical
    assert got == {"0–3 months": 2, "3–12 months": 2, "1–2 years": 2, "2+ years": 1}
    assert f["contacts"].tolist() == [2, 2, 2, 1]


def test_tenure_month_end_signup_and_quarters():
    # Jan 31 + 3 months is Apr 30 (the month's last day): 0-3 months in April, 3-12 months from May
    customers = pd.DataFrame({"customer_id": ["m"], "signup_date": ["2026-01-31"]})
    contacts = _contacts([("m", "2026-04-30"), ("m", "2026-05-01")])
    f = _freq(contacts, customers, by="tenure", start="2026-04", end="2026-05")
    active = f[f["active_customers"] > 0].set_index("period")["tenure"]
    assert active.to_dict() == {pd.Timestamp("2026-04-01"): "0–3 months", pd.Timestamp("2026-05-01"): "3–12 months"}
    # quarters: on Apr 1 the customer has 2 months of tenure -> 0-3 months for the whole of Q2
    f = _freq(contacts, customers, by="tenure", freq="quarter", start="2026-04", end="2026-06")
    assert f.set_index("tenure").loc["0–3 months", "contacts"] == 2


def test_tenure_bands_are_configurable():
    assert tenure_labels([6, 18]) == ("0–6 months", "6–18 months", "18+ months")
    assert tenure_labels([12, 36]) == ("0–12 months", "1–3 years", "3+ years")
    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2026-01-01", "2025-01-01"]})
    contacts = _contacts([("a", "2026-07-10"), ("b", "2026-07-11")])
    f = _freq(contacts, customers, by="tenure", tenure_bands=[6, 18], start="2026-07", end="2026-07")
    # on Jul 1, 2026, a has exactly 6 months of tenure and b exactly 18: each is on its band's lower edge
    assert f.set_index("tenure")["active_customers"].to_dict() == {"0–6 months": 0, "6–18 months": 1, "18+ months": 1}
    for bad in ([12, 3], [0, 3], ["x"]):
        with pytest.raises(ParameterError, match="tenure_bands"):
            _freq(contacts, customers, by="tenure", tenure_bands=bad)
    with pytest.raises(ParameterError, match="one of"):
        _freq(contacts, customers, by=["tenure", "new_vs_existing"])


# ------------------------------------------------------------------ brute force on random customers
def _brute_force(contacts, customers, freq, spec_name, new_days, edges):
    """Per customer and period, in plain pandas: active, its group, its contacts (no engine code)."""
    step = {"week": "W-MON", "month": "MS", "quarter": "QS"}[freq]
    ts = pd.to_datetime(contacts["created_at"])
    cper = ts.dt.to_period({"week": "W-SUN", "month": "M", "quarter": "Q"}[freq]).dt.start_time
    spine = pd.date_range(cper.min(), cper.max(), freq=step)
    rows = []
    for c in customers.itertuples():
        signup = pd.Timestamp(c.signup_date)
        churn = pd.Timestamp(c.churn_date) if isinstance(c.churn_date, str) else None
        mine = cper[contacts["customer_id"] == c.customer_id]
        for p in spine:
            p_end = p + pd.tseries.frequencies.to_offset(step) - pd.Timedelta(days=1)
            n = int((mine == p).sum())
            active = (signup <= p_end and (churn is None or churn >= p)) or n > 0
            if not active:
                continue
            if spec_name == "new_vs_existing":
                group = "new" if signup > p - pd.Timedelta(days=new_days) else "existing"
            else:
                band = sum(p >= signup + pd.DateOffset(months=m) for m in edges)
                group = tenure_labels(edges)[band]
            rows.append((p, group, n))
    df = pd.DataFrame(rows, columns=["period", "group", "contacts"])
    return df.groupby(["period", "group"]).agg(contacts=("contacts", "sum"), active_customers=("contacts", "size"))


@pytest.mark.parametrize(
    "freq, spec, new_days, edges",
    [
        ("month", "new_vs_existing", 90, None),
        ("week", "new_vs_existing", 30, None),
        ("quarter", "tenure", None, [3, 12, 24]),
        ("month", "tenure", None, [2, 5]),
    ],
)
def test_matches_a_brute_force_count_on_random_customers(freq, spec, new_days, edges):
    rng = np.random.default_rng(20)
    n = 60
    base = pd.Timestamp("2024-01-01")
    signup = base + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    churn = [
        (s + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") if rng.random() < 0.4 else None
        for s, d in zip(signup, rng.integers(0, 400, n))
    ]
    customers = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(n)], "signup_date": signup.strftime("%Y-%m-%d"), "churn_date": churn}
    )
    # contacts anywhere from 60 days before signup (pre-sales) to after churn
    who = rng.integers(0, n, 500)
    when = signup[who] + pd.to_timedelta(rng.integers(-60, 500, 500), unit="D")
    contacts = _contacts([(f"c{w}", t.strftime("%Y-%m-%d")) for w, t in zip(who, when)])
    want = _brute_force(contacts, customers, freq, spec, new_days, edges)
    kw = {"new_window": f"{new_days}D"} if new_days else {"tenure_bands": edges}
    got = _freq(contacts, customers, freq=freq, by=spec, **kw)
    got = got[got["active_customers"] > 0].rename(columns={spec: "group"}).set_index(["period", "group"])
    got = got[["contacts", "active_customers"]].astype("int64").sort_index()
    assert got.to_dict("index") == want.astype("int64").sort_index().to_dict("index")


# ------------------------------------------------------------------ the planted onboarding effect
def test_sample_onboarding_effect_recovered_through_new_vs_existing():
    """The sample triples a customer's contact rate in the 14 days from signup (kit/sample/constants.py).

    Daily periods with ``new_window="14D"`` make "new" exactly those 14 days (new on day P when
    signup > P - 14 days). Within one tier and industry (the rate differs by both; E-commerce adds
    order-issue contacts, which are not tripled), with seasonality and the churn effects off, new
    customers' frequency over existing customers' is the planted factor, 3, up to the follow-ups of
    day-13 contacts that land after the window (about 1% lower).
    """
    from kit.sample import generate

    s = generate(customers=6000, months=12, seasonality=False, effects=False, data_quality=False)
    assert s.ground_truth["onboarding"] == {"factor": 3.0, "days": 14}
    f = _freq(s.contacts, s.customers, freq="day", by=["new_vs_existing", "tier", "industry"], new_window="14D")
    f = f[(f["tier"] == "basic") & (f["industry"] == "SaaS (B2B)")]
    pooled = f.groupby("new_vs_existing")[["contacts", "active_customers"]].sum()  # customer-days
    c1, e1 = pooled.loc["new"]
    c2, e2 = pooled.loc["existing"]
    ratio = (c1 / e1) / (c2 / e2)
    # exact conditional interval for a ratio of Poisson rates, from scipy's Clopper-Pearson interval
    ci = binomtest(int(c1), int(c1 + c2)).proportion_ci(0.95, method="exact")
    lo, hi = (ci.low / (1 - ci.low)) * e2 / e1, (ci.high / (1 - ci.high)) * e2 / e1
    assert lo < 3.0 < hi, (ratio, lo, hi)
    assert lo > 2.0  # the effect is found, not just not excluded
    from kit.metrics.cohorts import rate_ratio

    assert rate_ratio(c1, e1, c2, e2) == pytest.approx((ratio, lo, hi))


# ------------------------------------------------------------------ the same on Spark and PostgreSQL
# The engines and the small sample loaded into them come from tests/test_backends.py (markers spark/postgres).
import test_backends as _backends  # noqa: E402

assert_same = _backends.assert_same
# pytest finds fixtures by module attribute: the engines' fixtures, shared with tests/test_backends.py
spark, postgres = _backends.spark, _backends.postgres
spark_tables, postgres_tables, duckdb_tables = (
    _backends.spark_tables,
    _backends.postgres_tables,
    _backends.duckdb_tables,
)
engine_tables = _backends.engine_tables

ENGINE_CASES = {
    "new_by_tier": dict(freq="month", by=["new_vs_existing", "tier"], start="2025-06", end="2026-03"),
    "tenure_by_channel_weeks": dict(
        freq="week", tz="Europe/Berlin", by=["tenure", "channel"], start="2025-09-01", end="2025-12-31"
    ),
}


@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_time_segments_match_duckdb(engine_tables, duckdb_tables, case):
    name, tables = engine_tables
    kwargs = ENGINE_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = contact_frequency(duckdb_tables["contacts"], duckdb_tables["customers"], **kwargs)
        got = contact_frequency(tables["contacts"], tables["customers"], **kwargs)
    assert got.notes == want.notes
    assert_same(got.frame, want.frame, ["period", *want.by])


def test_cohorts_match_duckdb(engine_tables, duckdb_tables):
    from kit.metrics.cohorts import cohorts

    name, tables = engine_tables
    want = cohorts(duckdb_tables["contacts"], duckdb_tables["customers"], periods=8)
    got = cohorts(tables["contacts"], tables["customers"], periods=8)
    assert np.isfinite(want.ratio) and want.ratio > 1  # the sample's onboarding shows in the early months
    assert_same(got.cells, want.cells, ["cohort", "age"])
    assert (got.ratio, got.ci_low, got.ci_high) == pytest.approx((want.ratio, want.ci_low, want.ci_high), rel=1e-12)


def test_command_line_by_new_vs_existing_with_new_window(tmp_path, capsys):
    from kit.cli import main

    EDGE_CONTACTS.to_csv(tmp_path / "contacts.csv", index=False)
    EDGE_CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    args = ["frequency", "--contacts", tmp_path / "contacts.csv", "--customers", tmp_path / "customers.csv"]
    args += ["--by", "new_vs_existing", "--new-window", "91D", "--dedup-window", "0", "--start", "2026-04"]
    args += ["--end", "2026-04"]
    assert main([str(a) for a in args]) == 0
    out = capsys.readouterr()
    rows = [line.split(",") for line in out.out.strip().splitlines()]
    col = {name: i for i, name in enumerate(rows[0])}
    got = {r[col["new_vs_existing"]]: int(r[col["active_customers"]]) for r in rows[1:]}
    assert got == {"new": 4, "existing": 1}  # 91 days: a (signed up Jan 1) is new in April too
    assert "new_vs_existing: a customer is new" in out.err
