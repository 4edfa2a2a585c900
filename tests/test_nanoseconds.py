"""pandas frames with nanosecond timestamps (issue 14): every public function that takes tables reads them.

Timestamps built as ``pd.Timestamp + pd.Timedelta(days=float)`` carry nanoseconds, which Arrow refused
to drop ("would lose data"). The kit truncates them to microseconds on the way in, so each function
must give exactly what it gives on the same frames truncated beforehand (the reference), and must
leave the caller's frames as they were.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kit
from kit.analysis.events import load_events
from kit.metrics.cohorts import cohorts
from kit.report.onboarding import onboarding_curve
from kit.report.overview import data_range, events_between, trend
from kit.report.rankings import rankings

T0 = pd.Timestamp("2025-01-01")


def _days(rng, n, lo, hi):
    return [T0 + pd.Timedelta(days=float(d)) for d in rng.uniform(lo, hi, n)]


def make_tables() -> dict[str, pd.DataFrame]:
    """A tiny seeded dataset over 2025-2026 whose every timestamp has nanoseconds (contacts' zoned, the rest naive)."""
    rng = np.random.default_rng(7)
    n_cust, n_contacts = 80, 800
    ids = [f"C{i:02d}" for i in range(n_cust)]
    signup = _days(rng, n_cust, 0, 120)
    churned = rng.random(n_cust) < 0.4
    churn = [
        s + pd.Timedelta(days=float(d)) if c else pd.NaT
        for s, c, d in zip(signup, churned, rng.uniform(200, 700, n_cust))
    ]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": signup,
            "churn_date": pd.to_datetime(churn),
            "tier": rng.choice(["gold", "silver"], n_cust),
            "region": rng.choice(["EU", "US"], n_cust),
            "industry": rng.choice(["retail", "saas"], n_cust),
            "strategic": rng.random(n_cust) < 0.3,
            "csm_owner": rng.choice(["ann", "bob"], n_cust),
        }
    )
    who = rng.integers(0, n_cust, n_contacts)
    created = [signup[w] + pd.Timedelta(days=float(d)) for w, d in zip(who, rng.uniform(0, 600, n_contacts))]
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(n_contacts),
            "customer_id": [ids[w] for w in who],
            "created_at": pd.to_datetime(created),
            "channel": rng.choice(["email", "phone", "chat"], n_contacts),
            "direction": rng.choice(["inbound", "inbound", "outbound"], n_contacts),
            "topic": rng.choice(["billing", "qbr", "bug"], n_contacts),
            "handle_time": rng.uniform(1, 30, n_contacts),
            "person_id": [f"P{w}" for w in who],
        }
    )
    contacts["created_at"] = contacts["created_at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    surveyed = rng.choice(n_contacts, 500, replace=False)
    surveys = pd.DataFrame(
        {
            "customer_id": contacts["customer_id"].iloc[surveyed].to_numpy(),
            "responded_at": contacts["created_at"].iloc[surveyed].to_numpy() + pd.Timedelta(days=0.5123456789),
            "score": rng.integers(1, 6, 500),
            "contact_id": contacts["contact_id"].iloc[surveyed].to_numpy(),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(300),
            "customer_id": rng.choice(ids, 300),
            "ordered_at": pd.to_datetime(_days(rng, 300, 0, 700)),
        }
    )
    stakeholders = pd.DataFrame(
        {
            "customer_id": ids,
            "person_id": [f"P{i}" for i in range(n_cust)],
            "role": rng.choice(["decision maker", "user"], n_cust),
            "cadence_days": 30,
            "start_date": pd.to_datetime(signup),
            "end_date": pd.to_datetime([pd.NaT] * n_cust),
        }
    )
    events = pd.DataFrame(
        {"date": pd.to_datetime(_days(rng, 3, 100, 600)), "label": ["launch", "outage", "price"], "kind": "note"}
    )
    return dict(
        contacts=contacts, customers=customers, surveys=surveys, orders=orders, stakeholders=stakeholders, events=events
    )


def truncated(tables):
    """The reference: the same frames with every timestamp truncated to microseconds beforehand."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        for col in df.columns:
            if df[col].dtype.kind == "M":
                tz = getattr(df[col].dtype, "tz", None)
                df[col] = df[col].astype(f"datetime64[us, {tz}]" if tz else "datetime64[us]")
        out[name] = df
    return out


#: Each public function that takes tables, called on a dict of frames (keyword tables, tiny options).
CALLS = {
    "contact_frequency": lambda t: kit.contact_frequency(t["contacts"], t["customers"], freq="quarter"),
    "contacts_per_order": lambda t: kit.contacts_per_order(t["contacts"], t["orders"], t["customers"], freq="quarter"),
    "account_frequency": lambda t: kit.account_frequency(t["contacts"], t["customers"], as_of="2026-06-30"),
    "coverage": lambda t: kit.coverage(t["contacts"], t["stakeholders"], t["customers"], as_of="2026-06-30"),
    "cohorts": lambda t: cohorts(t["contacts"], t["customers"], periods=3, freq="quarter"),
    "customer_features": lambda t: kit.customer_features(t["contacts"], t["customers"], surveys=t["surveys"]),
    "churn_effect": lambda t: kit.churn_effect(t["contacts"], t["customers"]),
    "churn_effect_by": lambda t: __import__("kit.analysis.churn", fromlist=["x"]).churn_effect_by(
        t["contacts"], t["customers"], by="tier"
    ),
    "csat_effect": lambda t: kit.csat_effect(t["contacts"], t["customers"], t["surveys"]),
    "touchpoint_effect": lambda t: kit.touchpoint_effect(t["contacts"], t["customers"]),
    "analyze": lambda t: kit.analyze(t["contacts"], t["customers"], t["surveys"]),
    "trend": lambda t: trend(t["contacts"], t["customers"], period="2026-03", periods_shown=6),
    "rankings": lambda t: rankings(t["contacts"], t["customers"], period="2026-03", min_customers=1),
    "onboarding_curve": lambda t: onboarding_curve(t["contacts"], t["customers"], weeks=8),
    "data_range": lambda t: data_range(t["contacts"]),
    "events_between": lambda t: events_between(t["events"], start="2025-01-01", end="2026-12-31"),
    "load_events": lambda t: load_events(t["events"]),
    "load": lambda t: kit.contact_frequency(kit.load(t), freq="quarter"),
}


@pytest.fixture(scope="module")
def frames():
    tables = make_tables()
    assert tables["contacts"]["created_at"].iloc[0].nanosecond != 0  # the frames really hold nanoseconds
    assert str(tables["contacts"]["created_at"].dtype) == "datetime64[ns, Europe/Berlin]"
    assert tables["customers"]["signup_date"].dtype == "datetime64[ns]"
    return tables


@pytest.mark.parametrize("name", list(CALLS))
def test_nanosecond_frames(frames, name):
    before = {k: df.copy() for k, df in frames.items()}
    result = CALLS[name](frames)  # raised pyarrow's ArrowInvalid ("would lose data") before
    assert result is not None
    for k, df in frames.items():  # the caller's frames are untouched (nanoseconds and all)
        pd.testing.assert_frame_equal(df, before[k])


def test_nanoseconds_only_truncated(frames):
    """The result on nanosecond frames equals the result on the same frames truncated beforehand."""
    got = kit.contact_frequency(frames["contacts"], frames["customers"], freq="month", by="tier").frame
    ref = kit.contact_frequency(*(truncated(frames)[k] for k in ("contacts", "customers")), freq="month", by="tier")
    pd.testing.assert_frame_equal(got, ref.frame)
    # and the first and last contact days, worked out in pandas (local days in UTC, the default tz)
    days = frames["contacts"]["created_at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d")
    assert data_range(frames["contacts"]) == (days.min(), days.max())


def test_truncation_keeps_microseconds():
    from kit.core.sources import _arrow_safe

    df = pd.DataFrame({"t": [pd.Timestamp("2026-01-05") + pd.Timedelta(days=0.123456789), pd.NaT]})
    out = _arrow_safe(df)
    # 0.123456789 days = 10666.6665696 s: 02:57:46.666569600, truncated to .666569
    assert out["t"].iloc[0] == pd.Timestamp("2026-01-05 02:57:46.666569")
    assert pd.isna(out["t"].iloc[1])
    assert df["t"].dtype == "datetime64[ns]" and df["t"].iloc[0].nanosecond == 600
