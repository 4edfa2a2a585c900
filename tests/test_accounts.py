"""Strategic account bands and flags, and stakeholder coverage: hand fixtures plus the planted sample."""

from __future__ import annotations

import json

import matplotlib
import pandas as pd
import pytest

import kit
from kit.errors import KitError, ParameterError
from kit.metrics.accounts import account_frequency, band, top_n
from kit.metrics.coverage import coverage

matplotlib.use("Agg")


# ------------------------------------------------------------------ bands
@pytest.mark.parametrize(
    "value, expected",
    [
        (3, "at risk"),
        (4, "healthy"),
        (6, "healthy"),
        (7, "optimal"),
        (10, "optimal"),
        (11, "possibly excessive"),
        # fractional averages keep the band they have reached (documented choice)
        (3.99, "at risk"),
        (6.5, "healthy"),
        (10.5, "optimal"),
        (0, "at risk"),
    ],
)
def test_band_edges_follow_the_material(value, expected):
    assert band([value]).tolist() == [expected]


def test_bands_are_configurable_and_validated():
    custom = [("low", 0, 2), ("ok", 2, float("inf"))]
    assert band([1.9, 2], bands=custom).tolist() == ["low", "ok"]
    with pytest.raises(ParameterError):
        band([1], bands=[("a", 0, 2), ("b", 3, float("inf"))])  # gap
    with pytest.raises(ParameterError):
        band([1], bands=[("a", 1, float("inf"))])  # does not start at 0


def _touches(counts: dict, month="2026-09") -> pd.DataFrame:
    rows = []
    for acct, n in counts.items():
        for i in range(n):
            rows.append({"customer_id": acct, "created_at": f"{month}-{i + 1:02d} 10:00"})
    df = pd.DataFrame(rows)
    df["contact_id"] = range(len(df))
    df["channel"] = "meeting"
    df["direction"] = "outbound"
    return df


def _customers(ids, **extra):
    return pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": "2025-01-01",
            "strategic": True,
            "name": [f"Acme {i}" for i in ids],
            **extra,
        }
    )


def test_account_frequency_edges_hand_computed():
    counts = {"A4": 4, "A6": 6, "A7": 7, "A10": 10, "A11": 11, "A3": 3}
    contacts = _touches(counts)
    res = account_frequency(contacts, _customers(list(counts)), as_of="2026-09-30", n_periods=1)
    got = res.table.set_index("customer_id")
    assert got["touchpoints"].to_dict() == counts
    assert got["band"].astype(str).to_dict() == {
        "A4": "healthy",
        "A6": "healthy",
        "A7": "optimal",
        "A10": "optimal",
        "A11": "possibly excessive",
        "A3": "at risk",
    }
    assert res.flagged == ["A3"]
    assert res.ledger.balanced


def test_partial_period_is_not_banded_and_inbound_is_not_a_touch():
    contacts = _touches({"A": 2}, month="2026-10")
    contacts.loc[len(contacts)] = {
        "customer_id": "A",
        "created_at": "2026-10-05 11:00",
        "contact_id": 99,
        "channel": "email",
        "direction": "inbound",
    }
    res = account_frequency(contacts, _customers(["A"]), as_of="2026-10-15")
    row = res.table.iloc[-1]
    assert row["touchpoints"] == 2 and not row["complete"] and pd.isna(row["band"])
    assert res.ledger.excluded("contacts") == {"out of scope: direction is not outbound": 1}


def test_quarterly_counts_are_converted_to_per_month_before_banding():
    # 12 touches in Q3 = 4 per month = healthy; 11 = 3.67 per month = at risk
    a = _touches({"A": 12}, month="2026-07")
    b = _touches({"B": 11}, month="2026-08")
    contacts = pd.concat([a, b], ignore_index=True).assign(contact_id=lambda d: range(len(d)))
    res = account_frequency(contacts, _customers(["A", "B"]), freq="quarter", as_of="2026-09-30", n_periods=1)
    got = res.table.set_index("customer_id")
    assert got.loc["A", "per_month"] == pytest.approx(4.0)
    assert got["band"].astype(str).to_dict() == {"A": "healthy", "B": "at risk"}


def test_quiet_rule_counts_as_of_day():
    # 12 touches in September keep both optimal; their last touch decides quietness.
    a = _touches({"A": 12})  # last touch 2026-09-12
    contacts = a.assign(contact_id=range(len(a)))
    res = account_frequency(contacts, _customers(["A"]), as_of="2026-10-12", n_periods=1, quiet_days=30)
    acc = res.accounts.iloc[0]
    assert acc["days_since_touch"] == 30 and acc["quiet"] and acc["flagged"]
    res = account_frequency(contacts, _customers(["A"]), as_of="2026-10-11", n_periods=1, quiet_days=30)
    assert not res.accounts.iloc[0]["quiet"]


def test_strategic_by_list_and_top_n():
    counts = {"A": 5, "B": 8, "C": 1}
    contacts = _touches(counts)
    cust = _customers(list(counts), arr=[10.0, 30.0, 20.0]).assign(strategic=False)
    res = account_frequency(contacts, cust, strategic=["A", "C"], as_of="2026-09-30", n_periods=1)
    assert sorted(res.accounts["customer_id"]) == ["A", "C"]
    res = account_frequency(contacts, cust, strategic=top_n(2, by="arr"), as_of="2026-09-30", n_periods=1)
    assert sorted(res.accounts["customer_id"]) == ["B", "C"]
    res = account_frequency(contacts, cust, strategic="top 1 by arr", as_of="2026-09-30", n_periods=1)
    assert res.accounts["customer_id"].tolist() == ["B"]
    with pytest.raises(ParameterError):
        account_frequency(contacts, cust, strategic="no_such_column")


def test_redaction_hides_names_and_ids():
    res = account_frequency(_touches({"A": 5}), _customers(["A"]), as_of="2026-09-30", n_periods=1)
    red = res.redact(salt="test")
    text = red.table.to_string() + red.accounts.to_string() + red.describe()
    assert "Acme" not in text and "Account-" in text
    assert red.accounts["customer_id"].iloc[0] == res.redact(salt="test").accounts["customer_id"].iloc[0]


# ------------------------------------------------------------------ coverage
def _coverage_fixture():
    sh = pd.DataFrame(
        [
            # account A: decision makers overlap during a hand-over (DM1 leaves 09-15, DM2 starts 09-01)
            ("A", "dm1", "decision maker", 30, "2026-01-01", "2026-09-15"),
            ("A", "dm2", "Decision Maker", 30, "2026-09-01", None),
            ("A", "ch", "champion", 14, None, None),
            # account B: the decision maker left and nobody replaced them
            ("B", "bdm", "decision maker", 30, "2025-01-01", "2026-08-01"),
            ("B", "bch", "champion", 14, None, None),
            # account C: the decision maker is only met at the QBR
            ("C", "cdm", "decision maker", 30, None, None),
            ("C", "cch", "champion", 14, None, None),
        ],
        columns=["customer_id", "person_id", "role", "cadence_days", "start_date", "end_date"],
    )
    contacts = pd.DataFrame(
        [
            ("A", "dm1", "2026-09-10 10:00", "check-in"),  # inside both DM tenures' overlap
            ("A", "dm1", "2026-10-20 10:00", "check-in"),  # after dm1 left: not counted for the record
            ("A", "dm2", "2026-10-05 10:00", "check-in"),
            ("A", "ch", "2026-10-01 10:00", "check-in"),
            ("B", "bch", "2026-10-25 10:00", "check-in"),
            ("C", "cdm", "2026-10-10 10:00", "qbr"),
            ("C", "cch", "2026-10-28 10:00", "check-in"),
        ],
        columns=["customer_id", "person_id", "created_at", "topic"],
    )
    contacts["contact_id"] = range(len(contacts))
    contacts["channel"] = "meeting"
    contacts["direction"] = "outbound"
    customers = pd.DataFrame(
        {"customer_id": ["A", "B", "C"], "signup_date": "2024-01-01", "csm_owner": ["ann", "ann", "bob"]}
    )
    return contacts, sh, customers


def test_coverage_hand_computed():
    contacts, sh, customers = _coverage_fixture()
    cov = coverage(contacts, sh, customers, as_of="2026-10-31")
    people = cov.people.set_index("person_id")
    # dm1's last touch inside their tenure is 09-10; the 10-20 touch falls after they left
    assert people.loc["dm1", "last_touch"] == pd.Timestamp("2026-09-10")
    assert not people.loc["dm1", "active"]
    roles = cov.roles.set_index(["customer_id", "role"])
    # A/decision maker: dm2 touched 10-05, 26 days before as-of, cadence 30 -> on cadence
    assert roles.loc[("A", "decision maker"), "on_cadence"]
    assert roles.loc[("A", "decision maker"), "holders"] == 1
    # A/champion: touched 10-01, 30 days ago, cadence 14 -> 16 days overdue
    assert roles.loc[("A", "champion"), "days_overdue"] == 16
    assert not roles.loc[("A", "champion"), "on_cadence"]
    # B/decision maker: vacant
    assert roles.loc[("B", "decision maker"), "status"] == "vacant"
    # C/champion touched 10-28 (3 days): on cadence; C/dm touched 10-10 (21 days): on cadence
    acc = cov.accounts.set_index("customer_id")
    assert acc["coverage"].to_dict() == {"A": 0.5, "B": 0.5, "C": 1.0}
    assert acc["decision_maker_left"].to_dict() == {"A": True, "B": True, "C": False}
    assert acc["decision_maker_vacant"].to_dict() == {"A": False, "B": True, "C": False}
    assert acc["review_only"].to_dict() == {"A": False, "B": False, "C": True}
    owners = cov.owners.set_index("csm_owner")
    assert owners.loc["ann", "required"] == 4 and owners.loc["ann", "on_cadence"] == 2
    assert owners.loc["bob", "coverage"] == 1.0
    # overdue list: the vacant role first, then the most overdue
    assert cov.overdue[["customer_id", "role"]].values.tolist()[:2] == [["B", "decision maker"], ["A", "champion"]]
    assert cov.ledger.balanced
    # on cadence: A/dm, B/champion (6 days, cadence 14), C/dm, C/champion; A/champion overdue, B/dm vacant
    assert cov.describe() == (
        "As of 2026-10-31, 4 of 6 required relationships across 3 accounts are on cadence (67%). "
        "The weakest role is champion: 2 of 3 on cadence (67%). "
        "Portfolio coverage by CSM ranges from 50% (ann) to 100% (bob). "
        "1 required relationship(s) have nobody in the role. "
        "Warning: in 2 account(s) the decision maker left: A, B. "
        "Warning: in 1 account(s) the decision maker is only met at the business review: C."
    )


def test_results_speak_the_shared_vocabulary():
    res = account_frequency(_touches({"A4": 4, "A3": 3}), _customers(["A4", "A3"]), as_of="2026-09-30", n_periods=1)
    text = res.describe()
    assert "2 strategic accounts" in text and "1 at risk, 1 healthy" in text and "Acme A3" in text
    d = json.loads(json.dumps(res.to_dict()))
    assert [r["touchpoints"] for r in d["table"]] == [3, 4] and d["freq"] == "month"
    ax = res.plot()
    assert ax.get_title().startswith("Strategic account touchpoints per month")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Acme A3", "Acme A4"]  # flagged first
    contacts, sh, customers = _coverage_fixture()
    cov = coverage(contacts, sh, customers, as_of="2026-10-31")
    d = json.loads(json.dumps(cov.to_dict()))
    assert {r["customer_id"]: r["coverage"] for r in d["accounts"]} == {"A": 0.5, "B": 0.5, "C": 1.0}
    ax = cov.plot()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["champion", "decision maker"]
    assert cov.plot_owners().get_title() == "Portfolio coverage by CSM"


def test_accepts_a_dataset_and_its_time_zone():
    # 23:30 UTC on 30 Sep is 1 Oct in Berlin: the touch moves to October with the Dataset's tz.
    contacts = _touches({"A": 1}).assign(created_at="2026-09-30 23:30:00+00:00")
    ds = kit.load({"contacts": contacts, "customers": _customers(["A"])}, tz="Europe/Berlin")
    res = account_frequency(ds, as_of="2026-10-31", n_periods=1)
    assert res.table.set_index("label")["touchpoints"].to_dict() == {"2026-10": 1}
    res = account_frequency(contacts, _customers(["A"]), as_of="2026-10-31", n_periods=1)
    assert res.table.set_index("label")["touchpoints"].to_dict() == {"2026-09": 1, "2026-10": 0}


def test_over_contact_flag():
    sh = pd.DataFrame({"customer_id": ["A"], "person_id": ["p"], "role": ["executive sponsor"], "cadence_days": [90]})
    days = pd.date_range("2026-08-05", periods=5, freq="7D").strftime("%Y-%m-%d 10:00")
    contacts = pd.DataFrame(
        {
            "contact_id": range(5),
            "customer_id": "A",
            "created_at": days,
            "channel": "email",
            "direction": "outbound",
            "person_id": "p",
        }
    )
    cov = coverage(contacts, sh, as_of="2026-10-31", over_contact_factor=4)
    # 5 touches in 90 days against 1 expected: 5x
    assert cov.people["over_contact_ratio"].iloc[0] == pytest.approx(5.0)
    assert cov.over_contact["person_id"].tolist() == ["p"]


def test_coverage_needs_person_id():
    contacts, sh, _ = _coverage_fixture()
    with pytest.raises(KitError, match="person_id"):
        coverage(contacts.drop(columns="person_id"), sh)


# ------------------------------------------------------------------ the planted sample
def test_sample_under_served_accounts_are_the_flagged_ones(sample_dir, sample):
    truth = set(sample.ground_truth["accounts"]["under_served"])
    res = account_frequency(sample_dir / "contacts.parquet", sample_dir / "customers.parquet")
    flagged = set(res.flagged)
    tp = len(flagged & truth)
    assert tp / len(flagged) == 1.0 and tp / len(truth) == 1.0  # precision and recall
    assert set(res.accounts["customer_id"]) == set(sample.ground_truth["accounts"]["strategic"])
    assert res.as_of == pd.Timestamp("2026-10-31") and res.window == ("2026-08", "2026-09", "2026-10")


def test_sample_coverage_warnings_match_the_planted_cases(sample_dir, sample):
    gt = sample.ground_truth["accounts"]
    cov = coverage(
        sample_dir / "contacts.parquet", sample_dir / "stakeholders.parquet", sample_dir / "customers.parquet"
    )
    acc = cov.accounts.set_index("customer_id")
    assert sorted(acc.index[acc["decision_maker_left"]]) == gt["decision_maker_left"]
    replaced = set(gt["decision_maker_replaced"])
    assert sorted(acc.index[acc["decision_maker_vacant"]]) == sorted(set(gt["decision_maker_left"]) - replaced)
    assert sorted(acc.index[acc["review_only"]]) == gt["qbr_only"]
    assert cov.owners is not None and len(cov.owners) == 8
