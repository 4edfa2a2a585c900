"""Contact-frequency semantics, pinned by small hand-computed fixtures."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
from kit.core import engine
from kit.errors import MissingColumnError, ParameterError


def customers_frame(ids, signup="2025-12-01", churn=None, **segments):
    df = pd.DataFrame({"customer_id": ids, "signup_date": signup, "churn_date": churn})
    for name, values in segments.items():
        df[name] = values
    return df


def contacts_frame(rows):
    """rows: (customer_id, created_at, channel[, topic[, direction]])"""
    out = []
    for i, row in enumerate(rows):
        cust, ts, channel, *rest = row
        out.append(
            dict(
                contact_id=f"k{i}",
                customer_id=cust,
                created_at=ts,
                channel=channel,
                topic=rest[0] if rest else "general",
                direction=rest[1] if len(rest) > 1 else "inbound",
            )
        )
    return pd.DataFrame(out)


def one(df, **where):
    df = getattr(df, "frame", df)
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == (pd.Timestamp(v) if k == "period" else v)).to_numpy()
    assert mask.sum() == 1, f"expected one row for {where}, got {mask.sum()}"
    return df[mask].iloc[0]


def test_worked_example_from_domain_material():
    # 2,400 contacts (800 phone, 1,200 email, 400 chat) from 1,000 active customers in Q1.
    customers = customers_frame([f"c{i}" for i in range(1000)])
    channels = ["phone"] * 800 + ["email"] * 1200 + ["chat"] * 400
    # Spread over the quarter, 3 days apart per customer so nothing is a follow-up.
    stamps = pd.Timestamp("2026-01-02 09:00") + pd.to_timedelta(np.arange(2400) // 1000 * 3, unit="D")
    contacts = pd.DataFrame(
        {
            "contact_id": range(2400),
            "customer_id": [f"c{i % 1000}" for i in range(2400)],
            "created_at": stamps,
            "channel": channels,
        }
    )
    total = kit.contact_frequency(contacts, customers, freq="quarter")
    row = one(total, period="2026-01-01")
    assert (row.contacts, row.active_customers) == (2400, 1000)
    assert row.frequency == pytest.approx(2.4)
    by_channel = kit.contact_frequency(contacts, customers, freq="quarter", by="channel")
    got = by_channel.frame.set_index("channel")["frequency"].to_dict()
    assert got == pytest.approx({"phone": 0.8, "email": 1.2, "chat": 0.4})
    assert by_channel.frame["frequency"].sum() == pytest.approx(2.4)  # per-channel adds up to the total
    assert set(by_channel.frame["active_customers"]) == {1000}


def test_poisson_interval_matches_exact_definition():
    from scipy import stats

    lo, hi = kit.poisson_ci([2400, 0], [1000, 50])
    assert lo[0] == pytest.approx(stats.chi2.ppf(0.025, 4800) / 2 / 1000)
    assert hi[0] == pytest.approx(stats.chi2.ppf(0.975, 4802) / 2 / 1000)
    assert lo[1] == 0 and hi[1] == pytest.approx(3.6888794541139363 / 50)  # 0 events: upper = -ln(0.025)


def test_period_edges_in_business_time_zone():
    customers = customers_frame(["a"])
    contacts = contacts_frame(
        [
            ("a", "2026-02-01T03:30:00Z", "chat"),  # 22:30 on Jan 31 in New York
            ("a", "2026-02-01 00:30:00", "chat"),  # naive: taken in the business tz
            ("a", "2026-02-10T12:00:00+01:00", "email"),
        ]
    )
    ny = kit.contact_frequency(contacts, customers, tz="America/New_York", dedup_window=0)
    assert one(ny, period="2026-01-01").contacts == 1
    assert one(ny, period="2026-02-01").contacts == 2
    utc = kit.contact_frequency(contacts, customers, tz="UTC", dedup_window=0)
    assert list(utc.frame["contacts"]) == [3]


def test_week_grain_is_iso_monday_start():
    customers = customers_frame(["a"])
    contacts = contacts_frame([("a", "2026-11-22 23:00", "chat"), ("a", "2026-11-23 01:00", "chat")])  # Sun, Mon
    df = kit.contact_frequency(contacts, customers, freq="week", dedup_window=0)
    assert list(df.frame["period"]) == [pd.Timestamp("2026-11-16"), pd.Timestamp("2026-11-23")]
    assert list(df.frame["contacts"]) == [1, 1]


def test_active_customers_churn_mid_period_and_signup_mid_period():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "signup_date": ["2025-01-01", "2026-02-20", "2025-06-01", "2025-06-01"],
            "churn_date": [None, None, "2026-02-15", "2026-01-31"],
        }
    )
    contacts = contacts_frame([("a", "2026-01-10", "chat"), ("a", "2026-03-10", "chat")])
    df = kit.contact_frequency(contacts, customers, start="2026-01-01", end="2026-03-31").frame.set_index("period")
    # Jan: a, c, d (d churns on Jan 31, still active that month); Feb: a, b (signs up Feb 20), c (churns Feb 15);
    # Mar: a, b.
    assert df["active_customers"].tolist() == [3, 3, 2]
    assert df["contacts"].tolist() == [1, 0, 1]
    assert df.loc["2026-02-01", "frequency"] == 0  # a period with no contacts is a row with 0


def test_contact_before_signup_counts_and_makes_customer_active():
    customers = customers_frame(["a", "b"], signup=["2026-01-01", "2026-03-05"])
    contacts = contacts_frame([("b", "2026-02-20 10:00", "phone")])  # pre-sales question
    df = kit.contact_frequency(contacts, customers, start="2026-02-01", end="2026-02-28")
    row = one(df, period="2026-02-01")
    assert (row.contacts, row.active_customers, row.frequency) == (1, 2, 0.5)


def test_follow_up_chain_and_window_edge():
    customers = customers_frame(["a", "b"])
    contacts = contacts_frame(
        [
            ("a", "2026-01-01 00:00", "chat"),
            ("a", "2026-01-02 06:00", "chat"),  # 30 h after the previous: follow-up
            ("a", "2026-01-03 18:00", "email"),  # 36 h after the previous (66 h after the first): chained follow-up
            ("b", "2026-01-01 00:00", "chat"),
            ("b", "2026-01-03 00:00", "chat"),  # exactly 48 h: not less than the window, a new case
            ("b", "2026-01-05 00:59", "chat"),  # 48 h 59 min: new case
        ]
    )
    row = kit.contact_frequency(contacts, customers).frame.iloc[0]
    assert (row.contacts, row.follow_ups, row.cases) == (6, 2, 4)
    assert row.repeat_contact_rate == pytest.approx(2 / 6)
    assert row.case_frequency == pytest.approx(4 / 2)
    assert row.contacts_per_contacting_customer == pytest.approx(3.0)
    row24 = kit.contact_frequency(contacts, customers, dedup_window="24h").frame.iloc[0]
    assert row24.follow_ups == 0


def test_same_topic_compares_with_previous_contact_of_that_topic():
    customers = customers_frame(["a"])
    contacts = contacts_frame(
        [
            ("a", "2026-01-01 09:00", "chat", "billing"),
            ("a", "2026-01-01 10:00", "chat", "login"),
            ("a", "2026-01-01 11:00", "chat", "billing"),
        ]
    )
    assert kit.contact_frequency(contacts, customers).frame.iloc[0].follow_ups == 2
    assert kit.contact_frequency(contacts, customers, same_topic=True).frame.iloc[0].follow_ups == 1


def test_48h_is_elapsed_time_across_daylight_saving_change():
    customers = customers_frame(["a"])
    # New York springs forward on 2026-03-08: 47.5 h elapsed, 48.5 h on the wall clock.
    contacts = contacts_frame([("a", "2026-03-07 12:00", "chat"), ("a", "2026-03-09 12:30", "chat")])
    assert kit.contact_frequency(contacts, customers, tz="America/New_York").frame.iloc[0].follow_ups == 1
    assert kit.contact_frequency(contacts, customers, tz="UTC").frame.iloc[0].follow_ups == 0


def test_exclusions_are_counted_by_reason_and_balance():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "x", "a", None],
            "signup_date": ["2025-01-01", "2025-01-01", "2025-05-01", "2025-02-01", "2025-01-01"],
            "churn_date": [None, None, "2025-03-01", None, None],  # x churns before signing up
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["1", "2", "2", "3", "4", "5", "6", "7"],
            "customer_id": ["a", "b", "b", "zzz", "x", "a", "a", "a"],
            "created_at": [
                "2026-01-05 10:00",
                "2026-01-06 10:00",
                "2026-01-06 10:00",
                "2026-01-07",
                "2026-01-07",
                "not a date",
                "2026-01-09",
                None,
            ],
            "channel": "email",
            "direction": ["inbound"] * 6 + ["outbound", "inbound"],
        }
    )
    df = kit.contact_frequency(contacts, customers)
    ledger = kit.ledger_of(df)
    assert ledger.balanced
    assert ledger.excluded("customers") == {
        "duplicate customer_id": 1,
        "churn before signup": 1,
        "missing customer_id": 1,
    }
    assert ledger.excluded("contacts") == {
        "duplicate contact_id": 1,
        "unknown customer": 1,
        "customer excluded": 1,
        "unparseable created_at": 1,
        "missing created_at": 1,
        "out of scope: direction is not inbound": 1,
    }
    assert ledger.tables["contacts"].read == 8 and ledger.tables["contacts"].used == 2
    assert ledger.tables["contacts"].examples["unparseable created_at"] == ["not a date"]
    assert ledger.tables["contacts"].examples["unknown customer"] == ["zzz"]
    assert df.frame["contacts"].sum() == 2
    frame = ledger.frame()
    assert set(frame["kind"]) == {"read", "used", "quality", "scope"}


def test_out_of_scope_comes_before_customer_reasons_in_every_metric(tmp_path):
    # An outbound contact is out of scope for an inbound metric whoever its customer is; a row's own
    # defect (no timestamp) still comes first. By hand: 1 counted, 1 unknown (inbound ghost),
    # 2 out of scope (outbound ghost, outbound a), 1 missing created_at (outbound, no time).
    from kit.core import prepare
    from kit.core.ledger import Ledger

    customers = pd.DataFrame({"customer_id": ["a"], "signup_date": ["2026-01-01"]})
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5],
            "customer_id": ["a", "ghost", "ghost", "a", "ghost"],
            "created_at": pd.to_datetime(
                ["2026-01-05 10:00", "2026-01-06 10:00", "2026-01-07 10:00", "2026-01-08 10:00", None]
            ),
            "channel": "email",
            "direction": ["inbound", "inbound", "outbound", "outbound", "outbound"],
        }
    )
    expected = {"unknown customer": 1, "out of scope: direction is not inbound": 2, "missing created_at": 1}
    for source in (contacts, tmp_path / "c.parquet"):  # typed timestamps: one read per reason
        contacts.to_parquet(tmp_path / "c.parquet")
        ledger = kit.ledger_of(kit.contact_frequency(source, customers))
        assert ledger.balanced and ledger.excluded("contacts") == expected
        assert ledger.tables["contacts"].used == 1
    # The row-level classification the other metrics share gives the same reasons.
    begun = prepare.start(contacts, customers, tz="UTC", direction="inbound")
    rows = prepare.classify_contacts(begun.tables["contacts"], prepare.customer_lookup(begun.customers, []))
    other = Ledger()
    prepare.count_reasons(begun.con, other, begun.tables["contacts"], rows)
    assert other.excluded("contacts") == expected


@pytest.mark.parametrize("source", ["frame", "parquet"])
def test_padded_and_blank_ids_are_trimmed_on_both_sides(tmp_path, source):
    # Ids are compared after trimming blanks: " a", "a " and "a\t" are customer a, " c " in the
    # customers file is c, and an all-blank id is a missing one. The same contacts with clean ids
    # must give the same numbers (the kit first tries the ids as stored, then trims).
    customers = customers_frame(["a", "b", " c "], tier=["pro", "basic", "pro"])
    ids = [" a", "a ", "a\t", "b", "\nb", "c", "  ", "", "zz "]
    contacts = pd.DataFrame(
        {
            "contact_id": range(len(ids)),
            "customer_id": ids,
            "channel": "chat",
            "created_at": [
                "2026-01-01 09:00",
                "2026-01-10 09:00",
                "2026-01-11 08:00",
                "2026-01-02 09:00",
                "2026-02-02 09:00",
                "2026-02-03 09:00",
                "2026-01-04 09:00",
                "2026-01-04 10:00",
                "2026-01-05 09:00",
            ],
        }
    )
    if source == "parquet":
        contacts.to_parquet(tmp_path / "contacts.parquet")
        customers.to_parquet(tmp_path / "customers.parquet")
        contacts, customers = tmp_path / "contacts.parquet", tmp_path / "customers.parquet"
    df = kit.contact_frequency(contacts, customers, by="tier")
    assert one(df, period="2026-01-01", tier="pro")[["contacts", "follow_ups", "contacting_customers"]].tolist() == [
        3,
        1,
        1,
    ]
    assert one(df, period="2026-01-01", tier="basic")[["contacts", "contacting_customers"]].tolist() == [1, 1]
    assert one(df, period="2026-02-01", tier="pro")[["contacts", "contacting_customers"]].tolist() == [1, 1]
    assert one(df, period="2026-02-01", tier="basic")[["contacts", "contacting_customers"]].tolist() == [1, 1]
    ledger = kit.ledger_of(df)
    assert ledger.excluded("contacts") == {"missing customer_id": 2, "unknown customer": 1}
    assert ledger.tables["contacts"].examples["unknown customer"] == ["zz"]
    assert ledger.balanced and ledger.tables["contacts"].used == 6


def test_padded_or_blank_segment_values_are_one_label(tmp_path):
    # Only the segment column needs trimming here: "pro " is pro, a blank tier is "(missing)".
    customers = customers_frame(["a", "b", "c", "d"], tier=["pro ", "pro", " ", "basic"])
    customers.to_parquet(tmp_path / "customers.parquet")
    contacts = contacts_frame([(c, "2026-01-05 10:00", "chat") for c in "abcd"])
    df = kit.contact_frequency(contacts, tmp_path / "customers.parquet", by="tier")
    got = df.frame.set_index("tier")[["contacts", "active_customers"]].to_dict("index")
    assert got == {
        "(missing)": {"contacts": 1, "active_customers": 1},
        "basic": {"contacts": 1, "active_customers": 1},
        "pro": {"contacts": 2, "active_customers": 2},
    }


@pytest.mark.parametrize("source", ["frame", "parquet"])
def test_repeated_customer_ids_keep_the_first_valid_row(tmp_path, monkeypatch, source):
    # The kit first takes customer ids as unique (no ranking) and counts the repeats in the same
    # query; finding some, it runs again with the ranking. By hand: a's earliest valid row (basic,
    # January) is kept, its later pro row is a duplicate; c's invalid row keeps its own reason.
    # January: basic = a (2 contacts) + b (1) over 2 active; pro = c (1) over 1.
    from kit.core import engine

    stats = {"queries": 0, "rows": 0, "largest": 0}
    monkeypatch.setattr(engine, "FETCH_STATS", stats)
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "signup_date": ["2026-02-01", "2026-01-01", "2026-01-01", "2026-01-01", "2026-01-01"],
            "churn_date": [None, None, None, "2025-12-01", None],
            "tier": ["pro", "basic", "basic", "pro", "pro"],
        }
    )
    contacts = contacts_frame(
        [
            ("a", "2026-01-10 09:00", "chat"),
            ("a", "2026-01-20 09:00", "chat"),
            ("b", "2026-01-11 09:00", "email"),
            ("c", "2026-01-12 09:00", "phone"),
        ]
    )
    unique = customers.iloc[[1, 2, 4]]
    if source == "parquet":
        contacts.to_parquet(tmp_path / "contacts.parquet")
        customers.to_parquet(tmp_path / "customers.parquet")
        unique.to_parquet(tmp_path / "unique.parquet")
        contacts, customers, unique = (tmp_path / f"{n}.parquet" for n in ("contacts", "customers", "unique"))
    for table, queries in ((customers, 2), (unique, 1)):
        stats["queries"] = 0
        df = kit.contact_frequency(contacts, table, by="tier")
        assert stats["queries"] == queries
        got = df.frame.set_index("tier")[["contacts", "active_customers", "frequency"]].to_dict("index")
        assert got == {
            "basic": {"contacts": 3, "active_customers": 2, "frequency": 1.5},
            "pro": {"contacts": 1, "active_customers": 1, "frequency": 1.0},
        }
    ledger = kit.ledger_of(kit.contact_frequency(contacts, customers, by="tier"))
    assert ledger.excluded("customers") == {"duplicate customer_id": 1, "churn before signup": 1}
    assert ledger.tables["customers"].examples["duplicate customer_id"] == ["a"]
    assert ledger.balanced and ledger.tables["customers"].used == 3


def test_group_without_active_customers_is_nan_with_a_note():
    customers = customers_frame(["a", "b"], churn=[None, "2026-01-20"], tier=["pro", "basic"])
    contacts = contacts_frame([("a", "2026-01-05", "chat"), ("a", "2026-02-05", "chat")])
    with pytest.warns(UserWarning, match="no active customers"):
        df = kit.contact_frequency(contacts, customers, by="tier")
    feb_basic = one(df, period="2026-02-01", tier="basic")
    assert feb_basic.active_customers == 0 and np.isnan(feb_basic.frequency) and feb_basic.contacts == 0
    assert one(df, period="2026-01-01", tier="basic").frequency == 0
    assert any("no active customers" in n for n in df.notes)


def test_segment_denominator_uses_segment_actives_and_channel_uses_all():
    customers = customers_frame(["a", "b", "c", "d"], tier=["pro", "pro", "basic", "basic"])
    contacts = contacts_frame([("a", "2026-01-05", "chat"), ("a", "2026-01-15", "phone"), ("c", "2026-01-05", "chat")])
    seg = kit.contact_frequency(contacts, customers, by="tier").frame.set_index("tier")
    assert seg.loc["pro", "frequency"] == 1.0 and seg.loc["basic", "frequency"] == 0.5
    both = kit.contact_frequency(contacts, customers, by=["tier", "channel"])
    pro_chat = one(both, tier="pro", channel="chat")
    assert (pro_chat.contacts, pro_chat.active_customers, pro_chat.frequency) == (1, 2, 0.5)


def test_direction_weight_and_missing_direction_column():
    customers = customers_frame(["a", "b"])
    contacts = contacts_frame(
        [
            ("a", "2026-01-05", "meeting", "qbr", "outbound"),
            ("a", "2026-01-09", "chat", "bug", "inbound"),
            ("b", "2026-01-09", "email", "bug", "Inbound"),
        ]
    )
    contacts["handle_time"] = [60.0, 10.0, "7.5"]
    inbound = kit.contact_frequency(contacts, customers, weight="handle_time").frame.iloc[0]
    assert inbound.contacts == 2 and inbound.weighted_frequency == pytest.approx(17.5 / 2)
    assert kit.contact_frequency(contacts, customers, direction="outbound").frame.iloc[0].contacts == 1
    assert kit.contact_frequency(contacts, customers, direction="all").frame.iloc[0].contacts == 3
    no_dir = kit.contact_frequency(contacts.drop(columns="direction"), customers)
    assert no_dir.frame.iloc[0].contacts == 3 and "no direction column" in no_dir.notes[0]


def test_start_end_report_whole_periods_with_zero_rows():
    customers = customers_frame(["a"])
    contacts = contacts_frame([("a", "2026-02-10", "chat")])
    df = kit.contact_frequency(contacts, customers, start="2026-01-15", end="2026-04-02")
    assert df.frame["period"].dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert df.frame["contacts"].tolist() == [0, 1, 0, 0]
    out = kit.contact_frequency(contacts, customers, start="2026-03-01")
    assert out.frame["contacts"].sum() == 0
    assert kit.ledger_of(out).excluded("contacts") == {"out of scope: outside the requested periods": 1}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(freq="fortnight"), "unknown period grain"),
        (dict(tz="Mars/Olympus"), "unknown time zone"),
        (dict(by="planet"), "cannot group by 'planet'"),
        (dict(dedup_window="soon"), "cannot read time window"),
        (dict(direction="sideways"), "direction must be"),
        (dict(weight="effort"), "weight column 'effort'"),
    ],
)
def test_bad_options_raise_one_line_kit_errors(kwargs, message):
    customers = customers_frame(["a"])
    contacts = contacts_frame([("a", "2026-02-10", "chat")])
    with pytest.raises(kit.KitError, match=message) as info:
        kit.contact_frequency(contacts, customers, **kwargs)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ParameterError)


def test_missing_column_names_table_file_column_and_present_columns(tmp_path):
    path = tmp_path / "tickets.csv"
    pd.DataFrame({"contact_id": [1], "customer": ["a"], "created_at": ["2026-01-01"], "channel": ["chat"]}).to_csv(
        path, index=False
    )
    with pytest.raises(MissingColumnError) as info:
        kit.contact_frequency(path, customers_frame(["a"]))
    msg = str(info.value)
    assert "contacts table" in msg and str(path) in msg and "customer_id" in msg
    assert "contact_id, customer, created_at, channel" in msg and "\n" not in msg


def test_result_describes_and_draws_itself_and_accepts_a_dataset(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    # pro: a (2 contacts, 3 days apart) and b (1) -> 3 / 2 = 1.5; basic: c (1) -> 1 / 1 = 1.0
    customers = customers_frame(["a", "b", "c"], tier=["pro", "pro", "basic"])
    contacts = contacts_frame(
        [
            ("a", "2026-01-05 10:00", "chat"),
            ("a", "2026-01-08 10:00", "chat"),
            ("b", "2026-01-06 10:00", "email"),
            ("c", "2026-01-07 10:00", "phone"),
        ]
    )
    result = kit.contact_frequency(contacts, customers, by="tier")
    assert result.params["by"] == ["tier"] and result.params["freq"] == "month"
    assert result.describe() == (
        "In 2026-01, contacts per active customer ranged from 1.00 (basic) to 1.50 (pro) across 2 groups."
    )
    ax = result.plot()
    assert sorted(line.get_label() for line in ax.get_lines()) == ["basic", "pro"]
    assert list(ax.get_lines()[1].get_ydata()) == [1.5]  # groups are drawn in sorted order: basic, pro
    as_json = result.to_dict()
    assert as_json["frame"][1]["frequency"] == 1.5 and as_json["params"]["by"] == ["tier"]
    assert "contacts" in result._repr_html_() and "<table" in result._repr_html_()
    # the same numbers through a Dataset that binds the tables and a time zone once
    contacts.to_csv(tmp_path / "contacts.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    ds = kit.load(tmp_path, tz="Asia/Tokyo")
    via_ds = kit.contact_frequency(ds, by="tier")
    assert via_ds.params["tz"] == "Asia/Tokyo"
    assert via_ds.frame["frequency"].tolist() == [1.0, 1.5]


def test_grain_is_a_deprecated_alias_of_freq():
    from kit.errors import KitDeprecationWarning, ParameterError, renamed_parameters

    @renamed_parameters(grain="freq")
    def f(*, freq="month"):
        return freq

    with pytest.warns(KitDeprecationWarning, match="use freq="):
        assert f(grain="week") == "week"
    with pytest.raises(ParameterError, match="both grain= and freq="):
        f(grain="week", freq="day")


def test_weighted_frequency_is_the_same_on_every_run(sample_dir):
    # A float sum depends on the engine's thread order in the last digit; the kit sums weights exactly.
    runs = [
        kit.contact_frequency(sample_dir / "contacts.parquet", sample_dir / "customers.parquet", weight="handle_time")
        .frame["weighted_frequency"]
        .map(float.hex)
        .tolist()
        for _ in range(3)
    ]
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("blank", ["", " ", "  ", "\t", " \t\n", "\r\n", "\x0b ", "\x0c "])
def test_every_whitespace_only_customer_id_is_missing(tmp_path, blank):
    # engine.is_blank tests `id < "!"` first (a blank sorts before "!"): each blank form must still
    # be found, in its own Parquet row group (statistics skip groups) and beside ids that sort before "!".
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4],
            "customer_id": [blank, " a", "a", '"q"'],
            "channel": "chat",
            "created_at": pd.to_datetime(
                ["2026-01-05 10:00", "2026-01-06 10:00", "2026-01-09 10:00", "2026-01-12 10:00"]
            ),
        }
    )
    customers = pd.DataFrame({"customer_id": ["a", '"q"'], "signup_date": ["2025-01-01"] * 2})
    contacts.to_parquet(tmp_path / "contacts.parquet", row_group_size=1)
    result = kit.contact_frequency(tmp_path / "contacts.parquet", customers)
    assert result.ledger.excluded("contacts") == {"missing customer_id": 1}
    assert result.frame["contacts"].tolist() == [3]  # " a" is a padded "a"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from([" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x01", "!", "a", "7", "é", "\u00a0"])
        ),
        min_size=1,
        max_size=30,
    )
)
def test_dense_blank_tests_equal_the_plain_ones(values):
    """engine.is_padded and blank_to_null with ``dense=True`` (two comparisons before LIKE or TRIM)
    give what the plain forms give, on blanks, control characters, "!" and non-ASCII text."""
    con = engine.default_connection()
    t = ibis.memtable({"x": values}, schema={"x": "string"})
    df = con.execute(
        t.mutate(
            p0=engine.is_padded(t.x),
            p1=engine.is_padded(t.x, dense=True),
            b0=engine.blank_to_null(t.x),
            b1=engine.blank_to_null(t.x, dense=True),
        )
    )
    assert df["p0"].tolist() == df["p1"].tolist()
    assert df["b0"].tolist() == df["b1"].tolist()


def test_a_parquet_file_missing_a_column_says_so(tmp_path):
    # It was read as a ragged CSV ("the header has 2 fields but line 2 has 4") because the ragged-row
    # check ran on whatever file lacked a column.
    pd.DataFrame({"contact_id": [1], "customer_id": ["a"], "created_at": ["2026-01-05"]}).to_parquet(
        tmp_path / "c.parquet"
    )
    with pytest.raises(MissingColumnError, match="channel"):
        kit.contact_frequency(
            tmp_path / "c.parquet", pd.DataFrame({"customer_id": ["a"], "signup_date": ["2025-01-01"]})
        )


@pytest.mark.parametrize("seed", range(4))
def test_repeated_values_counts_as_pandas(seed):
    # engine.repeated_values: the bitmap (integers within the span) and the distinct count agree with
    # pandas on random ids with repeats and NULLs; a value outside the span can only raise the count.
    import ibis

    from kit.core import engine

    rng = np.random.default_rng(seed)
    ids = pd.Series(rng.integers(-50, 400, size=300), dtype="Int64")
    ids[rng.random(300) < 0.1] = pd.NA
    expected = int(ids.notna().sum() - ids.nunique())
    con = engine.default_connection()
    t = con.create_table(f"ids_{seed}", pd.DataFrame({"id": ids}), temp=True)
    span = engine.value_span(con, t.id)
    assert span == (int(ids.min()), int(ids.max()))
    counts = {
        "bitmap": engine.repeated_values(t.id, span=span),
        "distinct": engine.repeated_values(t.id),
        "too narrow": engine.repeated_values(t.id, span=(span[0], span[1] - 1)),
    }
    got = con.execute(t.aggregate(**counts)).iloc[0]
    assert got["bitmap"] == got["distinct"] == expected
    assert got["too narrow"] == expected + 1  # the largest value sets no bit: one distinct value fewer
    assert "BITSTRING_AGG" in str(ibis.to_sql(t.aggregate(n=counts["bitmap"]), dialect="duckdb"))
