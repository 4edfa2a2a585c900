"""Contacts per order: hand fixtures, zero orders, and the planted order-issue rate."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import kit
from kit.errors import KitWarning, ParameterError
from kit.metrics.rates import contacts_per_order

matplotlib.use("Agg")


def _fixture():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["a", "a", "b", "b", "c"],
            "ordered_at": [
                "2026-03-01 10:00",
                "2026-03-20 10:00",
                "2026-03-02 09:00",
                "2026-03-25 09:00",
                "2026-04-03 08:00",
            ],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5, 6],
            "customer_id": ["a", "a", "b", "z", "a", "c"],
            "created_at": [
                "2026-03-03 10:00",  # a: 2 days after o1 -> o1 has a contact within 7 days
                "2026-03-03 12:00",  # a: follow-up 2h later (net drops it)
                "2026-04-05 09:00",  # b: 11 days after o4 -> outside 7 days, counted in April
                "2026-03-04 09:00",  # z placed no order: out of scope
                "2026-03-08 11:00",  # a: 7 days + 1h after o1 -> outside the 7 days
                "2026-04-10 08:00",
            ],  # c: exactly 7 days after o5 -> inside (<= 7 days)
            "channel": "email",
            "topic": ["order issue", "order issue", "billing", "order issue", "how-to", "order issue"],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "z"], "signup_date": "2026-01-01", "region": ["EU", "EU", "US", "US"]}
    )
    return contacts, orders, customers


def test_hand_computed_gross_net_and_within_days():
    contacts, orders, customers = _fixture()
    res = contacts_per_order(contacts, orders, customers)
    df = res.frame
    march, april = df.iloc[0], df.iloc[1]
    # March: 4 orders; contacts of ordering customers: a x3 (one follow-up) -> gross 75%, net 50%
    assert (march["orders"], march["contacts"], march["cases"]) == (4, 3, 2)
    assert march["contacts_per_order_pct"] == pytest.approx(75.0)
    assert march["net_contacts_per_order_pct"] == pytest.approx(50.0)
    # o1 has a contact within 7 days; o2, o3, o4 do not (b's contact is 11 days after o4)
    assert march["orders_with_contact"] == 1 and march["orders_with_contact_pct"] == pytest.approx(25.0)
    # April: 1 order (o5), contacts b and c -> 200%; o5's contact is exactly 7 days later -> counted
    assert (april["orders"], april["contacts"], april["orders_with_contact"]) == (1, 2, 1)
    assert res.params["denominator"] == "orders" and res.params["within_days"] == 7
    led = res.ledger
    assert led.excluded("contacts") == {"out of scope: customer placed no order": 1} and led.balanced
    # totals: 5 orders, 5 contacts, 4 cases; o1 and o5 followed by a contact
    tot = res.total()
    assert (tot["orders"], tot["contacts"], tot["cases"]) == (5, 5, 4)
    assert tot["contacts_per_order_pct"] == pytest.approx(100.0)
    assert tot["orders_with_contact_pct"] == pytest.approx(40.0)
    assert res.describe() == (
        "5 orders and 5 contacts in 2026-03 to 2026-04: 100 contacts per 100 orders, "
        "80.0 net of follow-ups; 40.0% of orders were followed by a contact within 7 days."
    )


def test_plot_draws_gross_and_net_for_one_period():
    contacts, orders, customers = _fixture()
    with pytest.warns(KitWarning, match="no orders"):
        res = contacts_per_order(contacts, orders, customers, by="region")
    ax = res.plot(period="2026-03")
    assert ax.get_title() == "Contacts per order, 2026-03"
    # EU in March: 3 contacts, 2 cases on 4 orders; US in March: no orders (NaN bars)
    assert sorted(round(w, 6) for w in (p.get_width() for p in ax.patches) if w == w) == [50.0, 75.0]
    with pytest.raises(ParameterError):
        res.plot(period="2025-01")


def test_accepts_a_dataset():
    contacts, orders, customers = _fixture()
    ds = kit.load({"contacts": contacts, "orders": orders, "customers": customers})
    res = contacts_per_order(ds, end="2026-03")
    assert res.frame[["orders", "contacts", "cases"]].values.tolist() == [[4, 3, 2]]
    assert res.params["freq"] == "month"


def test_by_segment_and_topics():
    contacts, orders, customers = _fixture()
    df = contacts_per_order(
        contacts, orders, customers, by="region", topics=["order issue"], start="2026-03", end="2026-03"
    ).frame
    eu = df.set_index("region").loc["EU"]
    # EU in March: orders o1-o4; order-issue contacts of a: 2 (second is a follow-up within the topic)
    assert (eu["orders"], eu["contacts"], eu["cases"]) == (4, 2, 1)
    us = df.set_index("region").loc["US"]
    assert us["orders"] == 0 and np.isnan(us["contacts_per_order_pct"])


def test_zero_orders_gives_nan_and_a_note():
    contacts, orders, customers = _fixture()
    with pytest.warns(KitWarning, match="no orders"):
        res = contacts_per_order(contacts, orders, customers, start="2026-03", end="2026-05")
    may = res.frame.iloc[-1]
    assert (
        may["orders"] == 0 and np.isnan(may["contacts_per_order_pct"]) and np.isnan(may["net_contacts_per_order_pct"])
    )
    assert any("no orders" in n and "NaN" in n for n in res.notes)
    assert np.isnan(res.replace(frame=res.frame.iloc[[-1]]).total()["contacts_per_order_pct"])


def test_bad_options():
    contacts, orders, customers = _fixture()
    with pytest.raises(ParameterError, match="customers"):
        contacts_per_order(contacts, orders, by="region")
    with pytest.raises(ParameterError):
        contacts_per_order(contacts, orders, within_days=0)


def test_sample_order_issue_rate_is_recovered(sample_dir, sample):
    gt = sample.ground_truth["orders"]
    res = contacts_per_order(
        sample_dir / "contacts.parquet",
        sample_dir / "orders.parquet",
        sample_dir / "customers.parquet",
        topics=["order issue"],
    )
    tot = res.total()
    assert tot["orders"] == gt["realized_orders"]
    assert tot["contacts"] == gt["realized_order_issue_contacts"]
    assert tot["contacts_per_order_pct"] == pytest.approx(gt["realized_contacts_per_order_pct"])
    assert tot["contacts_per_order_pct"] == pytest.approx(gt["contacts_per_order_pct"], abs=0.3)
