"""Warm calls: typed customer ids through the window and joins, and the per-source caches
(what the data alone determines is prepared once; a changed file or frame is never served stale)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import kit
from kit.core import engine, prepare, sources
from kit.metrics import frequency


def customers(ids):
    # customer 3 churns on 31 January: active in January only
    return pd.DataFrame(
        {
            "customer_id": ids,
            "signup_date": ["2026-01-01"] * 3,
            "churn_date": [None, None, "2026-01-31"],
            "tier": ["gold", "gold", "basic"],
        }
    )


def contacts(ids):
    return pd.DataFrame(
        {
            "contact_id": ["k1", "k2", "k3", "k4", "k5"],
            "customer_id": ids,
            "created_at": [
                "2026-01-05 10:00",
                "2026-01-06 09:00",  # 23 h after k1: a follow-up under the 48 h window
                "2026-01-10 08:00",
                "2026-02-20 08:00",
                "2026-01-15 12:00",  # customer 4 is unknown
            ],
            "channel": ["chat", "chat", "email", "email", "chat"],
            "topic": ["billing", "billing", "login", "login", "billing"],
        }
    )


# Worked by hand: January has 3 counted contacts (k1, k2, k3), one follow-up (k2), 3 active
# customers (3 churns on the 31st); February has k4 over customers 1 and 2.
EXPECTED = {
    "2026-01-01": dict(contacts=3, follow_ups=1, active_customers=3, frequency=1.0),
    "2026-02-01": dict(contacts=1, follow_ups=0, active_customers=2, frequency=0.5),
}

ID_TYPES = {
    "bigint": lambda v: pd.Series(v, dtype="int64"),
    "int32": lambda v: pd.Series(v, dtype="int32"),
    "string": lambda v: pd.Series([str(x) for x in v], dtype=object),
}


def check(result):
    frame = result.frame.set_index(result.frame["period"].dt.strftime("%Y-%m-%d"))
    for period, want in EXPECTED.items():
        for col, value in want.items():
            assert frame.loc[period, col] == pytest.approx(value), (period, col)
    assert result.ledger.excluded("contacts").get("unknown customer") == 1
    assert result.ledger.balanced


@pytest.mark.parametrize("contact_ids", list(ID_TYPES))
@pytest.mark.parametrize("customer_ids", list(ID_TYPES))
def test_same_answer_for_every_id_type(contact_ids, customer_ids):
    result = kit.contact_frequency(
        contacts(ID_TYPES[contact_ids]([1, 1, 2, 2, 4])), customers(ID_TYPES[customer_ids]([1, 2, 3]))
    )
    check(result)


def window_partitions(sql: str) -> list[str]:
    return re.findall(r"PARTITION BY ([^\n]*)", sql)


@pytest.mark.parametrize("contact_ids", ["bigint", "int32"])
def test_integer_ids_are_not_cast_to_text(contact_ids):
    con = engine.default_connection()
    with engine.capture_sql() as log:
        result = kit.contact_frequency(
            contacts(ID_TYPES[contact_ids]([1, 1, 2, 2, 4])),
            customers(ID_TYPES["bigint"]([1, 2, 3])),
            same_topic=True,
            con=con,
        )
    check(result)
    sql = "\n".join(log)
    assert window_partitions(sql), "the follow-up window is in the query"
    assert not re.search(r"CAST\([^()]*customer_id[^()]*AS TEXT\)", sql)
    for part in window_partitions(sql):
        assert "TEXT" not in part and "TRIM" not in part  # typed id and raw topic: no cast or trim per row


def test_mixed_id_types_compare_as_text():
    # 1 and "1" are the same customer across the two tables
    check(kit.contact_frequency(contacts(ID_TYPES["bigint"]([1, 1, 2, 2, 4])), customers(["1", "2", "3"])))


def test_padded_text_ids_and_topics_still_trimmed():
    c = contacts([" 1", "1 ", "2", "2", "4"])
    c["topic"] = ["billing ", " billing", "login", "login", "billing"]
    check(kit.contact_frequency(c, customers(["1", "2", "3"]), same_topic=True))


@pytest.mark.filterwarnings("ignore:1 period-group row")
def test_repeated_calls_with_changed_options_match_fresh_answers(tmp_path):
    for name, frame in (("contacts", contacts([1, 1, 2, 2, 4])), ("customers", customers([1, 2, 3]))):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    con = engine.default_connection()
    ds = kit.load(tmp_path, con=con)  # files: never memoised, so each call runs its (smaller) query
    check(kit.contact_frequency(ds))
    assert prepare.PREPARED.entries(con) == 2  # contacts and customers, prepared once
    assert frequency.FACTS.entries(con) > 0  # the data-only parts, fetched once
    # no follow-ups without a window; by tier: gold has customers 1 and 2, basic customer 3
    assert kit.contact_frequency(ds, dedup_window="0").frame["follow_ups"].sum() == 0
    tier = kit.contact_frequency(ds, by="tier")
    jan = tier.frame[tier.frame["period"] == "2026-01-01"].set_index("tier")
    assert jan.loc["gold", "contacts"] == 3 and jan.loc["gold", "active_customers"] == 2
    assert jan.loc["basic", "contacts"] == 0 and jan.loc["basic", "active_customers"] == 1
    assert tier.ledger.excluded("contacts") == {"unknown customer": 1}
    again = kit.contact_frequency(ds)  # back to the first options: the same numbers and columns
    check(again)
    fresh = kit.contact_frequency(kit.load(tmp_path, con=engine.default_connection()))
    pd.testing.assert_frame_equal(again.frame, fresh.frame)
    pd.testing.assert_frame_equal(again.ledger.frame(), fresh.ledger.frame())


def test_small_frame_results_are_memoised_by_content():
    con = engine.default_connection()
    first = kit.contact_frequency(contacts([1, 1, 2, 2, 4]), customers([1, 2, 3]), con=con)
    with engine.capture_sql() as log:
        second = kit.contact_frequency(contacts([1, 1, 2, 2, 4]), customers([1, 2, 3]), con=con)  # new, equal frames
    assert log == []  # no query at all
    check(second)
    second.frame.loc[0, "contacts"] = 99  # a copy: the caller cannot spoil the stored result
    pd.testing.assert_frame_equal(
        kit.contact_frequency(contacts([1, 1, 2, 2, 4]), customers([1, 2, 3]), con=con).frame, first.frame
    )


def test_mutated_frame_is_not_served_stale():
    con = engine.default_connection()
    c, u = contacts([1, 1, 2, 2, 4]), customers([1, 2, 3])
    check(kit.contact_frequency(c, u, con=con))
    c.loc[c["contact_id"] == "k4", "created_at"] = "2026-01-21 08:00"  # February's contact moves to January
    frame = kit.contact_frequency(c, u, con=con).frame
    assert frame["contacts"].tolist() == [4]
    ds = kit.load({"contacts": c, "customers": u}, con=con)
    assert kit.contact_frequency(ds).frame["contacts"].tolist() == [4]
    c.loc[c["contact_id"] == "k4", "created_at"] = "2026-03-02 08:00"  # the Dataset's frame changes too
    assert kit.contact_frequency(ds).frame["contacts"].tolist() == [3, 0, 1]


def test_rewritten_file_is_not_served_stale(tmp_path):
    path = tmp_path / "contacts.parquet"
    contacts([1, 1, 2, 2, 4]).to_parquet(path)
    u = customers([1, 2, 3])
    ds = kit.load({"contacts": path, "customers": u})
    check(kit.contact_frequency(ds))
    changed = contacts([1, 1, 2, 2, 4])
    changed["customer_id"] = [1, 1, 2, 2, 2]  # the unknown customer's contact becomes customer 2's
    changed.to_parquet(path)
    frame = kit.contact_frequency(ds).frame
    assert frame["contacts"].tolist() == [4, 1]


def test_csv_and_prepared_caches_are_bounded(tmp_path):
    con = engine.default_connection()
    size = sources._CSV_CACHE.size
    for i in range(size + 2):
        c = contacts([1, 1, 2, 2, 4])
        c["contact_id"] = [f"k{i}-{j}" for j in range(5)]
        path = tmp_path / f"contacts{i}.csv"
        c.to_csv(path, index=False)
        src = sources.open_tables(contacts=str(path), con=con)["contacts"]
        prepared = prepare.prepared_contacts(src, con, tz="UTC")
        assert prepared.table.count().execute() == 5
    assert sources._CSV_CACHE.entries(con) == size
    assert prepare.PREPARED.entries(con) == prepare.PREPARED.size
    # the newest entries still answer; an evicted CSV table is read again when asked for
    check(kit.contact_frequency(str(path), customers([1, 2, 3]), con=con))
    check(kit.contact_frequency(str(tmp_path / "contacts0.csv"), customers([1, 2, 3]), con=con))


def test_cached_and_uncached_answers_are_identical(monkeypatch):
    c = contacts([1, 1, 2, 2, 4])
    c.loc[4, "created_at"] = "not a date"  # an unparseable row, with its example in the ledger
    u = customers([1, 2, 3])
    options = dict(by="channel", same_topic=True, as_of="2026-02-28")
    con = engine.default_connection()
    monkeypatch.setattr(prepare, "PREPARE_AT_ONCE_ROWS", 0)  # first call: uncached; second: prepared
    monkeypatch.setattr(prepare, "PREPARE_TEXT_TIMES", False)  # (text times would be prepared at once)
    monkeypatch.setattr(frequency, "MEMO_ROWS", 0)  # no memoised result: both calls compute
    first = kit.contact_frequency(c, u, con=con, **options)
    assert not prepare.PREPARED.entries(con)
    second = kit.contact_frequency(c, u, con=con, **options)
    assert prepare.PREPARED.entries(con)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    pd.testing.assert_frame_equal(first.ledger.frame(), second.ledger.frame())
    assert first.ledger.excluded("contacts") == {"unparseable created_at": 1}


def test_csv_rewritten_after_loading_keys_neither_copy_as_the_other(tmp_path):
    """A CSV is copied when loaded: a source loaded before the file was rewritten counts the old rows
    (3), a fresh call the new ones (6), in either order (the review found a fresh call served the old copy)."""

    def write(n):
        days = [f"2026-01-{i + 1:02d} 10:00" for i in range(n)]
        frame = pd.DataFrame({"contact_id": [f"t{i}" for i in range(n)], "customer_id": "a", "created_at": days})
        frame.assign(channel="chat").to_csv(tmp_path / "co.csv", index=False)

    write(3)
    cust = pd.DataFrame({"customer_id": ["a"], "signup_date": ["2025-01-01"], "churn_date": [None], "tier": ["x"]})
    cust.to_csv(tmp_path / "cu.csv", index=False)
    old = kit.open_tables(contacts=tmp_path / "co.csv", customers=tmp_path / "cu.csv")
    write(6)
    assert kit.contact_frequency(old.contacts, old.customers).frame["contacts"].sum() == 3
    assert kit.contact_frequency(tmp_path / "co.csv", tmp_path / "cu.csv").frame["contacts"].sum() == 6
    assert kit.contact_frequency(old.contacts, old.customers).frame["contacts"].sum() == 3


def test_customers_ledger_is_keyed_by_time_zone():
    """A customer signing up at 2026-02-01 03:00 UTC signed up after an as_of of 31 January in UTC, but
    on 1 February in Tokyo (UTC+9) too: both ledgers have the row, and in Honolulu (UTC-10) it is still
    31 January, so the row is not there. The cache must not carry one zone's ledger into another's."""
    cust = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": pd.to_datetime(["2025-01-01", "2026-02-01 03:00"], utc=True, format="ISO8601"),
        }
    )
    cont = pd.DataFrame(
        {
            "contact_id": ["k1"],
            "customer_id": ["a"],
            "created_at": pd.to_datetime(["2026-01-10"], utc=True),
            "channel": "chat",
        }
    )

    def after_as_of(tz):
        excluded = kit.contact_frequency(cont, cust, tz=tz, as_of="2026-01-31").ledger.excluded("customers")
        return excluded.get("out of scope: signed up after as_of", 0)

    assert after_as_of("UTC") and after_as_of("Asia/Tokyo")
    assert not after_as_of("Pacific/Honolulu")
    assert after_as_of("UTC")


def test_object_columns_of_numbers_and_of_text_are_different_data():
    # pandas hashes an object column's 1 and "1" alike; the cache key must still tell them apart
    from kit.core.sources import data_key_of

    numbers = pd.DataFrame({"customer_id": pd.Series([1, 2], dtype=object), "x": [0, 0]})
    text = pd.DataFrame({"customer_id": pd.Series(["1", "2"], dtype=object), "x": [0, 0]})
    assert pd.util.hash_pandas_object(numbers).equals(pd.util.hash_pandas_object(text))
    assert data_key_of(numbers, "customers") != data_key_of(text, "customers")
    assert data_key_of(text, "customers") == data_key_of(text.copy(), "customers")
    repeated = pd.DataFrame([[1, "a"]], columns=["x", "x"])  # repeated names are keyed by position
    assert data_key_of(repeated, "customers") is not None


def test_text_times_are_prepared_at_the_first_call_whatever_the_size(monkeypatch):
    # unprepared, text times are parsed in every scan of the query: 95 s instead of 15 s at 10M contacts
    monkeypatch.setattr(prepare, "PREPARE_AT_ONCE_ROWS", 0)  # any other source counts as too large
    monkeypatch.setattr(prepare, "PREPARE_MAX_ROWS", 0)
    monkeypatch.setattr(frequency, "MEMO_ROWS", 0)
    con = engine.default_connection()
    prepare.PREPARED.clear()
    typed = contacts([1, 1, 2, 2, 4])
    typed["created_at"] = pd.to_datetime(typed["created_at"])
    check(kit.contact_frequency(typed, customers([1, 2, 3]), con=con))
    assert not prepare.PREPARED.entries(con)
    check(kit.contact_frequency(contacts([1, 1, 2, 2, 4]), customers([1, 2, 3]), con=con))
    assert prepare.PREPARED.entries(con)


def test_float_text_ids_are_checked_once_per_data(tmp_path, monkeypatch):
    """Whether text ids are all "123.0" is asked once per loaded data, and again when the file changes."""
    asked = []
    real = sources._all_float_text
    monkeypatch.setattr(sources, "_all_float_text", lambda t, con: asked.append(1) or real(t, con))
    path = tmp_path / "contacts.csv"
    rows = "contact_id,customer_id,created_at,channel\n1,{a},2026-01-05,x\n2,{b},2026-01-06,x\n"
    u = customers([1, 2, 3])
    path.write_text(rows.format(a="1", b="2"))
    assert kit.contact_frequency(path, u).frame["contacts"].tolist() == [2]
    n = len(asked)
    assert kit.contact_frequency(path, u, freq="week").frame["contacts"].sum() == 2
    assert n >= 1 and len(asked) == n  # the warm call asked nothing
    path.write_text(rows.format(a="1.0", b="2.0"))  # as pandas writes ids with gaps: asked again, and rewritten
    assert kit.contact_frequency(path, u, freq="week").frame["contacts"].sum() == 2
    assert len(asked) > n


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_single_use_parses_text_times_in_views_it_drops(tz, monkeypatch):
    """The CLI's one call reads text times through views (no copy): the same numbers and ledger as the
    prepared copy, and nothing left on the connection or in the cache afterwards."""
    monkeypatch.setattr(frequency, "MEMO_ROWS", 0)
    c = pd.concat([contacts([" 1", "1", "2", "2 ", "4"]), contacts([1, 1, 2, 2, 2])], ignore_index=True)
    c["contact_id"] = [f"k{i}" for i in range(len(c))]
    c["channel"] = [" chat", "chat", "email ", "email", "chat"] * 2
    c["direction"] = [" Inbound", "inbound", "INBOUND", "inbound", "outbound"] * 2
    c.loc[4, "direction"] = "inbound"  # customer 4 is unknown
    c.loc[5, "created_at"] = "not a date"
    c.loc[6, "created_at"] = "1900-01-01 00:00"  # outside the plausible range
    c.loc[7, "created_at"] = "   "  # blank: missing
    c.loc[8, "created_at"] = "2026-01-20T10:00:00+09:00"  # an offset: the cast, not strptime
    options = dict(by="channel", tz=tz, as_of="2026-02-28")

    def views(con):
        return sorted(n for (n,) in con.raw_sql("SELECT view_name FROM duckdb_views()").fetchall() if "kit_" in n)

    con = engine.default_connection()
    prepare.PREPARED.clear()
    copied = kit.contact_frequency(c, customers(["1", "2", "3"]), con=con, **options)
    assert prepare.PREPARED.entries(con)  # text times: prepared at the first call
    con = engine.default_connection()
    before = views(con)
    with prepare.single_use():
        single = kit.contact_frequency(c, customers(["1", "2", "3"]), con=con, **options)
        assert any("kit_parse" in v for v in views(con))
    assert views(con) == before and not prepare.PREPARED.entries(con)
    pd.testing.assert_frame_equal(copied.frame, single.frame)
    pd.testing.assert_frame_equal(copied.ledger.frame(), single.ledger.frame())
    excluded = single.ledger.excluded("contacts")
    assert excluded["unparseable created_at"] == 1 and excluded["implausible created_at"] == 1
    assert excluded["missing created_at"] == 1 and excluded["unknown customer"] == 1
    assert excluded["out of scope: direction is not inbound"] == 1  # k9; " Inbound" and "INBOUND" are inbound
    assert single.frame["contacts"].sum() == 5  # k0-k3 (padded ids trimmed) and k8 (an offset)


def _defective_contacts() -> pd.DataFrame:
    """Text times with every row-level defect, some rows with two (the first reason wins), a duplicate and an
    unknown customer."""
    rows = [  # contact_id, customer_id, created_at, direction, channel, topic, weight
        ("k1", "1", "2026-01-05 10:00", "inbound", "chat", "billing", "2"),
        ("k2", "1", "2026-01-06 09:00", "inbound", "chat", "billing", "1"),  # 23 h after k1: a follow-up
        ("k2", "1", "2026-01-06 09:00", "inbound", "chat", "billing", "1"),  # an exact duplicate
        ("k3", "1", "2026-01-05 20:00", "outbound", "email", "login", "1"),
        ("k4", "2", "not a date", "outbound", "chat", "login", "1"),  # unparseable before out of scope
        ("k5", "2", "not a date", "inbound", "chat", "login", "1"),
        ("k6", "2", "1900-01-01 00:00", "inbound", "chat", "login", "1"),
        ("k7", "2", "  ", "inbound", "chat", "login", "1"),
        ("k8", None, "2026-01-09 08:00", "inbound", "chat", "login", "1"),
        ("k9", " ", "garbage", "outbound", "chat", "login", "1"),  # missing customer_id before the rest
        ("k10", "4", "2026-01-15 12:00", "inbound", "chat", "billing", "1"),  # customer 4 is unknown
        ("k11", "3", "2026-03-02 08:00", "inbound", "email", "login", "3"),  # after customer 3's churn
        ("k12", "1", "2026-03-03 10:00", "inbound", "email", "billing", "x"),
        ("k13", "3", "9999-12-31 00:00", "outbound", "chat", "login", "1"),  # implausible before out of scope
    ]
    return pd.DataFrame(rows, columns=["contact_id", "customer_id", "created_at", "direction", "channel", "topic", "w"])


OPTIONS = [
    {},
    dict(by="tier"),
    dict(by=["tier", "channel"]),
    dict(by="channel", same_topic=True),
    dict(direction="all"),
    dict(start="2026-01-01", end="2026-01-31"),
    dict(as_of="2026-02-28"),
    dict(weight="w"),
    dict(freq="week", dedup_window="0h"),
]


@pytest.mark.parametrize("dirty", [True, False])
def test_screened_rejected_rows_give_the_same_answer(monkeypatch, dirty):
    """Where every read parses text times (the CLI's view), the rejected rows are read in two steps: those a
    check without times rejects, then the rest only when the row counts do not add up. Forced on every
    source, that gives the single read's frame, ledger (examples included) and notes under every option;
    clean data skip the second step, and dirty data get the counts worked out by hand."""
    monkeypatch.setattr(frequency, "MEMO_ROWS", 0)
    c, u = _defective_contacts(), customers(["1", "2", "3"])
    if not dirty:  # only rows a check without times rejects
        c = c[c["contact_id"].isin(["k1", "k2", "k3", "k8", "k10", "k11", "k12"])]
    screens = []
    real = frequency._rejected_counts
    monkeypatch.setattr(frequency, "_rejected_counts", lambda *a, **k: screens.append(k.get("screen")) or real(*a, **k))
    for options in OPTIONS:
        results = {}
        for screened in (False, True):
            monkeypatch.setattr(sources.Source, "reads_parse", property(lambda self, on=screened: on))
            prepare.PREPARED.clear()
            frequency.FACTS.clear()
            screens.clear()
            results[screened] = kit.contact_frequency(c, u, con=engine.default_connection(), **options)
        off, on = results[False], results[True]
        pd.testing.assert_frame_equal(off.frame, on.frame, obj=str(options))
        pd.testing.assert_frame_equal(off.ledger.frame(), on.ledger.frame(), obj=str(options))
        assert off.notes == on.notes, options
        if "as_of" not in options:  # after as_of needs every time: one read, as before
            assert ("timed" in screens) == dirty, (options, screens)
    if dirty:
        r = results[True]  # the last options: weekly, no follow-up window
        assert r.ledger.excluded("contacts") == {
            "missing customer_id": 2,  # k8, k9
            "missing created_at": 1,  # k7
            "unparseable created_at": 2,  # k4, k5
            "implausible created_at": 2,  # k6, k13
            "out of scope: direction is not inbound": 1,  # k3
            "unknown customer": 1,
            "duplicate contact_id": 1,
        }
        assert r.frame["contacts"].sum() == 4 and r.frame["follow_ups"].sum() == 0  # k1, k2, k11, k12
        examples = r.ledger.frame().set_index("reason")["examples"]
        assert examples["unparseable created_at"] == "not a date"
        assert examples["implausible created_at"] == "1900-01-01 00:00, 9999-12-31 00:00"
