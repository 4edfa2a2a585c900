"""Property tests: invariants that must hold for any input."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit

pytestmark = pytest.mark.filterwarnings("ignore:.*no active customers")
BASE = pd.Timestamp("2026-01-01")
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def datasets(draw):
    n_customers = draw(st.integers(1, 6))
    customers = []
    for i in range(n_customers):
        signup = BASE + pd.Timedelta(days=draw(st.integers(-60, 80)))
        churn = draw(st.one_of(st.none(), st.integers(-30, 120)))
        customers.append(
            dict(
                customer_id=f"c{i}",
                signup_date=signup.date().isoformat(),
                churn_date=None if churn is None else (signup + pd.Timedelta(days=churn)).date().isoformat(),
                tier=draw(st.sampled_from(["pro", "basic", "ent"])),
            )
        )
    n_contacts = draw(st.integers(0, 25))
    contacts = []
    for j in range(n_contacts):
        cust = f"c{draw(st.integers(0, n_customers))}"  # c{n_customers} is unknown
        hours = draw(st.integers(0, 24 * 100))
        contacts.append(
            dict(
                contact_id=f"k{draw(st.integers(0, n_contacts + 2))}",
                customer_id=cust,
                created_at=draw(st.sampled_from([str(BASE + pd.Timedelta(hours=hours)), "garbage"]))
                if j % 7 == 6
                else str(BASE + pd.Timedelta(hours=hours)),
                channel=draw(st.sampled_from(["chat", "phone", "email"])),
                topic=draw(st.sampled_from(["a", "b"])),
                direction=draw(st.sampled_from(["inbound", "inbound", "outbound"])),
            )
        )
    cols = ["contact_id", "customer_id", "created_at", "channel", "topic", "direction"]
    return pd.DataFrame(contacts, columns=cols), pd.DataFrame(customers)


def window_range(contacts):
    return dict(start="2025-11-01", end="2026-05-31")


@SETTINGS
@given(datasets(), st.sampled_from(["tier", "channel"]), st.sampled_from(["48h", "24h"]), st.booleans())
def test_segment_and_channel_sums_equal_totals(data, by, window, same_topic):
    contacts, customers = data
    opts = dict(dedup_window=window, same_topic=same_topic, **window_range(contacts))
    total = kit.contact_frequency(contacts, customers, **opts).frame.set_index("period")
    parts = kit.contact_frequency(contacts, customers, by=by, **opts).frame
    if parts.empty:  # no counted contact (no channel level) or no usable customer (no tier level)
        assert total["contacts"].sum() == 0
        assert by == "channel" or total["active_customers"].sum() == 0
        return
    sums = parts.groupby("period")[["contacts", "follow_ups", "cases", "contacting_customers"]].sum()
    pd.testing.assert_series_equal(sums["contacts"], total["contacts"], check_names=False)
    pd.testing.assert_series_equal(sums["follow_ups"], total["follow_ups"], check_names=False)
    if by == "tier":  # customer segments partition the customers and their actives
        actives = parts.groupby("period")["active_customers"].sum()
        pd.testing.assert_series_equal(actives, total["active_customers"], check_names=False)
        pd.testing.assert_series_equal(sums["contacting_customers"], total["contacting_customers"], check_names=False)
    else:  # contact attributes share the total denominator, so frequencies add up
        freq = parts.groupby("period")["frequency"].sum(min_count=1)
        pd.testing.assert_series_equal(freq, total["frequency"], check_names=False)


@SETTINGS
@given(datasets(), st.sampled_from(["48h", "1h", "7d"]))
def test_cases_never_exceed_contacts_and_ledger_balances(data, window):
    contacts, customers = data
    result = kit.contact_frequency(contacts, customers, dedup_window=window, **window_range(contacts))
    df = result.frame
    assert (df["cases"] <= df["contacts"]).all() and (df["cases"] >= 0).all()
    assert (df["contacting_customers"] <= df["active_customers"]).all()
    ledger = kit.ledger_of(result)
    assert ledger.balanced
    assert ledger.tables["contacts"].read == len(contacts)
    assert ledger.tables["customers"].read == len(customers)
    assert ledger.tables["contacts"].used == df["contacts"].sum()


@SETTINGS
@given(datasets())
def test_zero_window_means_every_contact_is_a_case(data):
    contacts, customers = data
    df = kit.contact_frequency(contacts, customers, dedup_window=0, **window_range(contacts)).frame
    assert (df["cases"] == df["contacts"]).all()
