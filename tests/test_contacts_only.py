"""No customers table (issue 14): customers derived from the contacts, active = a counted contact in the
lookback window. Every expected number below is worked out by hand in the comments (or, for the random
case, by a plain Python loop over customers and periods), never copied from the kit's output.
"""

from __future__ import annotations

import io
import random
import warnings

import pandas as pd
import pytest

import kit
from kit.cli import main
from kit.errors import KitWarning, ParameterError
from kit.metrics.frequency import REUSED_CONTACT_ID

# Monthly, lookback 365D, periods 2026-01..2026-04. 2025-03-01 -> 2026-03-01 is exactly 365 days.
#   edge: 2025-03-01 00:00:00, exactly the lookback before March's start: active 2025-03 .. 2026-03
#   out:  2025-02-28 23:59:59, one second further back: active 2025-02 .. 2026-02
#   first: 2026-03-01 00:00:00 (first second of March), plus an exact duplicate row: active from March
#   last: 2026-03-31 23:59:59 (last second of March): active from March, not in February
#   feb: 2026-02-10 09:00 and 2026-02-11 10:00 (a follow-up within 48h): active from February
#   outb: one outbound contact only: never counted, so never a customer
MONTHLY = pd.DataFrame(
    {
        "contact_id": [1, 2, 3, 3, 4, 5, 6, 7],
        "customer_id": ["edge", "out", "first", "first", "last", "feb", "feb", "outb"],
        "created_at": [
            "2025-03-01 00:00:00",
            "2025-02-28 23:59:59",
            "2026-03-01 00:00:00",
            "2026-03-01 00:00:00",
            "2026-03-31 23:59:59",
            "2026-02-10 09:00:00",
            "2026-02-11 10:00:00",
            "2026-01-15 12:00:00",
        ],
        "channel": ["email", "chat", "chat", "chat", "phone", "chat", "chat", "email"],
        "direction": ["inbound"] * 7 + ["outbound"],
    }
)


def test_monthly_period_and_lookback_edges():
    r = kit.contact_frequency(MONTHLY, None, start="2026-01", end="2026-04")
    got = r.frame.set_index(r.frame["period"].dt.strftime("%Y-%m"))
    # Jan: edge, out | Feb: edge, out, feb | Mar: edge, first, last, feb | Apr: first, last, feb
    assert got["active_customers"].to_dict() == {"2026-01": 2, "2026-02": 3, "2026-03": 4, "2026-04": 3}
    assert got["contacts"].to_dict() == {"2026-01": 0, "2026-02": 2, "2026-03": 2, "2026-04": 0}
    assert got["follow_ups"].to_dict() == {"2026-01": 0, "2026-02": 1, "2026-03": 0, "2026-04": 0}
    assert got["frequency"].to_dict() == pytest.approx({"2026-01": 0.0, "2026-02": 2 / 3, "2026-03": 0.5, "2026-04": 0})
    assert r.params["customers"] == "derived from contacts" and r.params["active_lookback"] == "365D"
    assert any("no customers table" in n and "365 days" in n for n in r.notes)
    # Five derived customers (outb has no counted contact); contacts: 8 read, 4 used.
    led = r.ledger.tables
    assert (led["customers"].read, led["customers"].used) == (5, 5)
    assert "derived from" in led["customers"].source and "365 days before the period start" in led["customers"].source
    assert (led["contacts"].read, led["contacts"].used) == (8, 4)
    assert led["contacts"].excluded == {
        "out of scope: outside the requested periods": 2,
        "duplicate contact_id": 1,
        "out of scope: direction is not inbound": 1,
    }
    assert r.ledger.balanced
    assert any("derived from" in line and "365 days" in line for line in r.ledger.lines())


def test_the_lookback_moves_the_edge():
    # 366D: "out" (one second outside 365D) now reaches March too.
    r = kit.contact_frequency(MONTHLY, None, start="2026-03", end="2026-03", active_lookback="366D")
    assert r.frame["active_customers"].tolist() == [5]
    assert r.params["active_lookback"] == "366D"


def test_direction_all_makes_outbound_contacts_count():
    # outb's outbound contact in January now counts: active 2026-01 onwards.
    r = kit.contact_frequency(MONTHLY, None, start="2026-01", end="2026-04", direction="all")
    assert r.frame["active_customers"].tolist() == [3, 4, 5, 4]
    assert r.ledger.tables["customers"].read == 6


# Weekly (ISO weeks from Monday), lookback 7D, weeks of 2026-03-02, 03-09, 03-16, by channel.
#   A: email 2026-03-02 00:00:00, first second of week 03-02 and exactly 7D before week 03-09: weeks 03-02, 03-09
#   B: chat 2026-03-01 23:59:59, last second of week 02-23: weeks 02-23, 03-02 (not 03-09: a second outside)
#   C: chat 2026-03-15 23:59:59 (last second of week 03-09), phone 2026-03-16 00:00:00 (first second of
#      week 03-16, a follow-up): weeks 03-09, 03-16, 03-23
WEEKLY = pd.DataFrame(
    {
        "contact_id": ["a1", "b1", "c1", "c2"],
        "customer_id": ["A", "B", "C", "C"],
        "created_at": ["2026-03-02 00:00:00", "2026-03-01 23:59:59", "2026-03-15 23:59:59", "2026-03-16 00:00:00"],
        "channel": ["email", "chat", "chat", "phone"],
    }
)


def test_weekly_by_channel_edges():
    r = kit.contact_frequency(
        WEEKLY, None, freq="week", by="channel", active_lookback="7D", start="2026-03-02", end="2026-03-16"
    )
    f = r.frame.assign(week=r.frame["period"].dt.strftime("%m-%d")).set_index(["week", "channel"])
    # Active per week: 03-02 {A, B}, 03-09 {A, C}, 03-16 {C}; every channel shares its week's denominator.
    assert f["active_customers"].groupby("week").unique().map(list).to_dict() == {
        "03-02": [2],
        "03-09": [2],
        "03-16": [1],
    }
    assert f["frequency"].to_dict() == pytest.approx(
        {
            ("03-02", "chat"): 0.0,
            ("03-02", "email"): 0.5,
            ("03-02", "phone"): 0.0,
            ("03-09", "chat"): 0.5,
            ("03-09", "email"): 0.0,
            ("03-09", "phone"): 0.0,
            ("03-16", "chat"): 0.0,
            ("03-16", "email"): 0.0,
            ("03-16", "phone"): 1.0,
        }
    )
    assert f.loc[("03-16", "phone"), "follow_ups"] == 1 and f.loc[("03-16", "phone"), "cases"] == 0


# Gaps and overlaps, monthly, 30D:
#   D: 2026-01-10 (active Jan, Feb: Feb 1 - 30D = Jan 2 <= Jan 10; Mar 1 - 30D = Jan 30 > Jan 10),
#      2026-05-10 (active May, Jun): nobody's window covers April for D
#   E: 2026-01-10, 2026-01-20, 2026-02-05 (overlapping windows: active Jan, Feb, Mar; Mar 1 - 30D = Jan 30 <= Feb 5)
GAPS = pd.DataFrame(
    {
        "contact_id": range(5),
        "customer_id": ["D", "D", "E", "E", "E"],
        "created_at": ["2026-01-10", "2026-05-10", "2026-01-10", "2026-01-20", "2026-02-05"],
        "channel": "chat",
    }
)


def test_gaps_between_windows_and_a_period_without_active_customers():
    with pytest.warns(KitWarning, match="no active customers"):
        r = kit.contact_frequency(GAPS, None, active_lookback="30D", dedup_window=0, end="2026-06")
    f = r.frame.set_index(r.frame["period"].dt.strftime("%m"))
    assert f["active_customers"].to_dict() == {"01": 2, "02": 2, "03": 1, "04": 0, "05": 1, "06": 1}
    assert f["contacts"].to_dict() == {"01": 3, "02": 1, "03": 0, "04": 0, "05": 1, "06": 0}
    assert pd.isna(f.loc["04", "frequency"]) and f.loc["01", "frequency"] == 1.5


@pytest.mark.filterwarnings("ignore::kit.errors.KitWarning")  # periods without active customers
def test_zero_lookback_is_the_contacting_customers():
    r = kit.contact_frequency(GAPS, None, active_lookback="0")
    assert (r.frame["active_customers"] == r.frame["contacting_customers"]).all()


def _brute_force_active(df: pd.DataFrame, freq: str, lookback: pd.Timedelta, spine) -> list[int]:
    """Per period: customers with a contact t such that start - lookback <= t < next start (plain loops)."""
    step = {"week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1), "quarter": pd.DateOffset(months=3)}
    times = pd.to_datetime(df["created_at"])
    out = []
    for p in spine:
        lo, hi = p - lookback, p + step[freq]
        out.append(len({c for c, t in zip(df["customer_id"], times) if lo <= t < hi}))
    return out


@pytest.mark.filterwarnings("ignore::kit.errors.KitWarning")  # periods without active customers
@pytest.mark.parametrize(("freq", "lookback"), [("month", "45D"), ("week", "10D"), ("quarter", "365D")])
def test_random_contacts_match_a_brute_force_count(freq, lookback):
    rng = random.Random(7)
    base = pd.Timestamp("2025-01-01")
    rows = [(i, f"c{rng.randrange(12)}", base + pd.Timedelta(seconds=rng.randrange(0, 420 * 86400))) for i in range(80)]
    df = pd.DataFrame(rows, columns=["contact_id", "customer_id", "created_at"]).assign(channel="chat")
    df["created_at"] = df["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    r = kit.contact_frequency(df, None, freq=freq, active_lookback=lookback)
    spine = list(r.frame["period"])
    assert r.frame["active_customers"].tolist() == _brute_force_active(df, freq, pd.Timedelta(lookback), spine)


def test_load_without_customers_file_and_dataset(tmp_path):
    MONTHLY.to_csv(tmp_path / "contacts.csv", index=False)
    ds = kit.load(tmp_path)
    assert ds.customers is None
    r = kit.contact_frequency(ds, start="2026-03", end="2026-03")
    assert r.frame["active_customers"].tolist() == [4]
    assert r.params["customers"] == "derived from contacts"


def test_customer_segments_need_a_customers_table():
    with pytest.raises(ParameterError, match="without a customers table"):
        kit.contact_frequency(MONTHLY, None, by="tier")


def test_lookback_is_ignored_with_a_customers_table_and_says_so():
    customers = pd.DataFrame({"customer_id": ["A", "B", "C"], "signup_date": "2026-01-01"})
    r = kit.contact_frequency(WEEKLY, customers, active_lookback="7D")
    assert r.params["customers"] == "table" and r.params["active_lookback"] is None
    assert any("active_lookback applies only without a customers table" in n for n in r.notes)


# ---------------------------------------------------------------- a contact_id reused by different customers


def test_reused_contact_id_is_a_warning_and_the_rows_count():
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "signup_date": "2026-01-01"})
    contacts = pd.DataFrame(
        {
            "contact_id": [7, 7, 7, 8, 9, 9],  # 7: three rows of two customers; 9: twice for c (same id, same customer)
            "customer_id": ["a", "b", "b", "a", "c", "c"],
            "created_at": ["2026-01-05", "2026-01-06", "2026-01-20", "2026-01-07", "2026-01-08", "2026-01-25"],
            "channel": "chat",
        }
    )
    r = kit.contact_frequency(contacts, customers, dedup_window=0)
    assert r.frame["contacts"].tolist() == [6]  # kept and counted
    assert r.ledger.tables["contacts"].warnings == {REUSED_CONTACT_ID: 3}
    assert r.ledger.tables["contacts"].used == 6 and r.ledger.balanced
    line = [x for x in r.ledger.lines() if REUSED_CONTACT_ID in x]
    assert line == [f"  ! warning: {REUSED_CONTACT_ID}: 3 rows, kept and counted (e.g. 7)"]
    frame = r.ledger.frame()
    assert frame[frame["kind"] == "warning"][["reason", "rows"]].values.tolist() == [[REUSED_CONTACT_ID, 3]]


@pytest.mark.parametrize("id_type", ["int", "text"])
def test_reused_contact_ids_counted_as_pandas_counts_them(id_type):
    """Thousands of ids, a few planted reuses (across customers, and within one customer, which is not
    reuse): the kit's hashed check finds exactly the rows pandas finds."""
    rng = random.Random(7)
    n = 5000
    ids = list(range(n))
    owners = [f"c{rng.randrange(300)}" for _ in range(n)]
    for i in rng.sample(range(n), 40):  # a second row with the same id: another customer or the same one
        ids.append(ids[i])
        owners.append(owners[i] if rng.random() < 0.3 else f"c{rng.randrange(300)}")
    contacts = pd.DataFrame(
        {
            "contact_id": ids if id_type == "int" else [f"T-{i}" for i in ids],
            "customer_id": owners,
            "created_at": [f"2026-01-{1 + rng.randrange(28):02d} 10:00" for _ in ids],
            "channel": "chat",
        }
    )
    per_id = contacts.groupby("contact_id")["customer_id"].transform("nunique")
    expected = int((per_id > 1).sum())
    assert 20 < expected < 80  # the plant took
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)], "signup_date": "2025-01-01"})
    r = kit.contact_frequency(contacts, customers, dedup_window=0)
    assert r.ledger.tables["contacts"].warnings == {REUSED_CONTACT_ID: expected}


def test_no_warning_without_reuse():
    r = kit.contact_frequency(WEEKLY, None)
    assert all(not a.warnings for a in r.ledger.tables.values())
    assert not any("warning" in x for x in r.ledger.lines())


# ---------------------------------------------------------------- the command line


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_without_customers(tmp_path, capsys):
    MONTHLY.to_csv(tmp_path / "contacts.csv", index=False)
    code, out, err = _run(
        ["frequency", "--contacts", tmp_path / "contacts.csv", "--start", "2026-01", "--end", "2026-04"], capsys
    )
    assert code == 0
    assert pd.read_csv(io.StringIO(out))["active_customers"].tolist() == [2, 3, 4, 3]
    assert "customers (derived from" in err and "365 days before the period start" in err
    assert "note: no customers table" in err
    code, out, err = _run(
        ["frequency", "--contacts", tmp_path / "contacts.csv", "--start", "2026-03", "--end", "2026-03"]
        + ["--active-lookback", "366D"],
        capsys,
    )
    assert code == 0 and pd.read_csv(io.StringIO(out))["active_customers"].tolist() == [5]
    assert "366 days before" in err


def test_cli_prints_a_segment_without_active_customers_once(tmp_path, capsys):
    customers = pd.DataFrame(
        {"customer_id": ["A", "B", "C", "Z"], "signup_date": ["2026-01-01"] * 3 + ["2027-01-01"], "tier": list("xxyz")}
    )
    WEEKLY.to_csv(tmp_path / "contacts.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KitWarning)  # no KitWarning may leak out of the CLI
        code, out, err = _run(
            ["frequency", "--contacts", tmp_path / "contacts.csv", "--customers", tmp_path / "customers.csv"]
            + ["--by", "tier", "--freq", "month"],
            capsys,
        )
    assert code == 0
    lines = [x for x in err.splitlines() if "no active customers" in x]
    assert len(lines) == 1 and lines[0].startswith("note: ")
    assert "Warning" not in err and ".py:" not in err


def test_new_vs_existing_without_customers_table_takes_first_contact_as_signup():
    # By hand, March 2026, new_window 90D (new: first contact after 2025-12-01), lookback 365D
    # (active: a contact on or after 2025-03-01). A: first contact 2026-01-10 -> new, 1 March contact.
    # B: first contact 2025-06-01 -> existing, 1 March contact. C: only 2025-02-20 -> not active.
    # D: only 2025-12-02 -> new and active, no March contact. New 1/2, existing 1/1, total 2/3.
    df = pd.DataFrame(
        {
            "contact_id": range(6),
            "customer_id": ["A", "A", "B", "B", "C", "D"],
            "created_at": [
                "2026-01-10 09:00",
                "2026-03-05 09:00",
                "2025-06-01 09:00",
                "2026-03-10 09:00",
                "2025-02-20 09:00",
                "2025-12-02 09:00",
            ],
            "channel": "email",
        }
    )
    r = kit.contact_frequency(df, None, by="new_vs_existing", new_window="90D", start="2026-03", end="2026-03")
    got = r.frame.set_index("new_vs_existing")[["contacts", "active_customers"]].to_dict("index")
    assert got == {"new": {"contacts": 1, "active_customers": 2}, "existing": {"contacts": 1, "active_customers": 1}}
    assert any("signup is their first contact" in n for n in r.notes)
    total = kit.contact_frequency(df, None, start="2026-03", end="2026-03").frame
    assert total[["contacts", "active_customers"]].values.tolist() == [[2, 3]]


@pytest.mark.parametrize("as_ids", [str, int], ids=["text ids (distinct count)", "integer ids (bitmap)"])
def test_the_reuse_grouping_runs_only_when_an_id_repeats(as_ids):
    # A screen counts repeated ids first (kit.metrics.frequency._reused_contact_ids): unique ids
    # never pay for the per-id grouping; a repeated id (here the same customer's, not reuse) does.
    from kit.core import engine

    customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": "2026-01-01"})
    contacts = pd.DataFrame(
        {
            "contact_id": ["x1", "x2", "x3"],
            "customer_id": ["a", "b", "a"],
            "created_at": ["2026-01-05", "2026-01-06", "2026-01-20"],
            "channel": "chat",
        }
    )
    for ids, grouped in (([11, 12, 13], False), ([11, 12, 11], True)):
        with engine.capture_sql() as log:
            r = kit.contact_frequency(contacts.assign(contact_id=[as_ids(i) for i in ids]), customers, dedup_window=0)
        assert any("BITSTRING_AGG" in sql for sql in log) == (as_ids is int)
        assert any('"_hlo"' in sql for sql in log) == grouped
        assert not r.ledger.tables["contacts"].warnings and r.frame["contacts"].tolist() == [3]
