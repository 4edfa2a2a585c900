"""Timestamp formats as exports write them (issue 14): one test per style, values worked out by hand.

Each fixture is a tiny CSV written here; the expected wall-clock times are read off the text
(or, for epochs, computed with Python's datetime as an independent reference).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kit
from kit.cli import main
from kit.core import engine, timeformats
from kit.core.sources import open_tables
from kit.core.timeformats import detect_format
from kit.errors import AmbiguousTimestampError, KitError, SourceError

CUSTOMERS = "customer_id,signup_date\nC1,2000-01-01\nC2,2000-01-01\n"


def write_contacts(tmp_path, values, name="contacts.csv"):
    rows = [f'{i},C{1 + i % 2},"{v}",email' for i, v in enumerate(values)]
    path = tmp_path / name
    path.write_text("contact_id,customer_id,created_at,channel\n" + "\n".join(rows) + "\n")
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    return path


def local_times(contacts, *, tz="UTC", **kw):
    """The parsed created_at of each row as wall-clock time in ``tz`` (None where it does not parse), and the Source."""
    tables = open_tables(contacts=contacts, tz=tz, **kw)
    src = tables["contacts"]
    t = src.table
    expr = t.select(i=t.contact_id.cast("int64"), local=engine.local_time(engine.parse_instant(t.created_at)))
    df = tables.con.execute(expr).sort_values("i")
    return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in df["local"]], src


def T(*args):
    return dt.datetime(*args)


# --- one test per style ------------------------------------------------------------------------


def test_iso_without_offset_is_read_as_is(tmp_path):
    path = write_contacts(tmp_path, ["2026-10-05 14:03:00", "2026-10-05T09:00", "2026-10-06"])
    got, src = local_times(path, tz="Europe/Berlin")
    assert got == [T(2026, 10, 5, 14, 3), T(2026, 10, 5, 9, 0), T(2026, 10, 6)]
    assert src.formats == {"created_at": "ISO 8601"}
    # the fast path: no parsing function added to the query
    assert "strptime" not in str(kit.open_tables(contacts=path).contacts.table.compile())


def test_iso_with_offset_converts_to_business_tz(tmp_path):
    path = write_contacts(tmp_path, ["2026-10-05T14:03:00+02:00", "2026-12-01T08:00:00Z"])
    got, src = local_times(path, tz="Europe/Berlin")
    # CEST (+02) on 5 October: the same wall-clock time; CET (+01) in December: 08:00Z is 09:00
    assert got == [T(2026, 10, 5, 14, 3), T(2026, 12, 1, 9, 0)]
    assert src.formats["created_at"] == "ISO 8601 with offset"


def test_space_before_offset(tmp_path):
    path = write_contacts(tmp_path, ["2017-10-31 22:10:47 +0000", "2017-10-31 22:10:47 -0130"])
    got, src = local_times(path, tz="Europe/Berlin")
    # Berlin is on CET (+01) after 29 October 2017; -01:30 is 23:40:47 UTC
    assert got == [T(2017, 10, 31, 23, 10, 47), T(2017, 11, 1, 0, 40, 47)]
    assert src.formats["created_at"] == "YYYY-MM-DD HH:MM:SS ±HHMM"


@pytest.mark.parametrize(
    ("values", "expected", "label"),
    [
        (
            ["29/2/2016 01:16", "3/4/2016 10:00", "13/12/2016 23:59"],
            [T(2016, 2, 29, 1, 16), T(2016, 4, 3, 10, 0), T(2016, 12, 13, 23, 59)],
            "day-first (%d/%m/%Y %H:%M)",
        ),
        (
            ["29.02.2016 01:16:30", "03.04.2016 10:00:00", "03.04.2016"],
            [T(2016, 2, 29, 1, 16, 30), T(2016, 4, 3, 10, 0), T(2016, 4, 3)],
            "day-first (%d.%m.%Y %H:%M:%S)",
        ),
        (["29-02-16", "01-03-16"], [T(2016, 2, 29), T(2016, 3, 1)], "day-first (%d-%m-%y)"),
    ],
)
def test_day_first(tmp_path, values, expected, label):
    got, src = local_times(write_contacts(tmp_path, values))
    assert got == expected
    assert src.formats["created_at"] == label


def test_month_first_with_am_pm(tmp_path):
    values = ["2/29/2016 1:16 PM", "12/31/2016 11:59 PM", "1/2/2016 12:05 AM", "1/2/2016"]
    got, src = local_times(write_contacts(tmp_path, values))
    assert got == [T(2016, 2, 29, 13, 16), T(2016, 12, 31, 23, 59), T(2016, 1, 2, 0, 5), T(2016, 1, 2)]
    assert src.formats["created_at"] == "month-first (%m/%d/%Y %I:%M %p)"


def test_year_first_with_slashes(tmp_path):
    got, src = local_times(write_contacts(tmp_path, ["2016/02/29 10:00", "2016/3/1"]))
    assert got == [T(2016, 2, 29, 10, 0), T(2016, 3, 1)]
    assert src.formats["created_at"].startswith("year-first")


def test_rfc_2822(tmp_path):
    values = ["Tue, 31 Oct 2017 22:10:47 -0500", "Wed, 01 Nov 2017 08:00:00 GMT", "1 Nov 2017 09:30 +0100"]
    got, src = local_times(write_contacts(tmp_path, values))
    # -05:00 -> 03:10:47 UTC the next day; GMT as is; +01:00 -> 08:30 UTC
    assert got == [T(2017, 11, 1, 3, 10, 47), T(2017, 11, 1, 8, 0), T(2017, 11, 1, 8, 30)]
    assert src.formats["created_at"] == "RFC 2822"


def test_twitter_style(tmp_path):
    got, src = local_times(
        write_contacts(tmp_path, ["Tue Oct 31 22:10:47 +0000 2017", "Wed Nov 01 01:00:00 +0200 2017"]),
        tz="America/New_York",
    )
    # New York is on EDT (-04) until 5 November 2017; +02:00 01:00 is 23:00 UTC on 31 October
    assert got == [T(2017, 10, 31, 18, 10, 47), T(2017, 10, 31, 19, 0)]
    assert src.formats["created_at"].startswith("Twitter style")


def test_epoch_seconds_as_text(tmp_path):
    got, src = local_times(write_contacts(tmp_path, ["1509487847", "1509487847.5"]))
    ref = dt.datetime.fromtimestamp(1509487847, dt.UTC).replace(tzinfo=None)
    assert ref == T(2017, 10, 31, 22, 10, 47)
    assert got == [ref, ref + dt.timedelta(seconds=0.5)]
    assert src.formats["created_at"] == "Unix epoch seconds"


@pytest.mark.parametrize(
    ("values", "label", "scale"),
    [
        ([1509487847, 1509491447], "Unix epoch seconds", 1),
        ([1509487847000, 1509491447250], "Unix epoch milliseconds", 1000),
    ],
)
def test_numeric_epoch_column(values, label, scale):
    contacts = pd.DataFrame({"contact_id": [0, 1], "customer_id": ["C1", "C2"], "created_at": values, "channel": "x"})
    got, src = local_times(contacts, tz="Europe/Berlin")
    refs = [
        dt.datetime.fromtimestamp(v / scale, dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=1))).replace(tzinfo=None)
        for v in values
    ]
    assert got == refs  # 31 October 2017 is CET (+01) in Berlin
    assert got[0] == T(2017, 10, 31, 23, 10, 47)
    assert src.formats["created_at"] == label


def test_excel_serial_dates(tmp_path):
    # Excel's day 45658 is 2025-01-01 (day 1 = 1900-01-01, with Lotus' 29 February 1900); .75 is 18:00
    got, src = local_times(write_contacts(tmp_path, ["45658", "45658.75", "45688"]), tz="Europe/Berlin")
    assert got == [T(2025, 1, 1), T(2025, 1, 1, 18, 0), T(2025, 1, 31)]
    assert src.formats["created_at"] == "Excel serial date"
    numeric = pd.DataFrame({"contact_id": [0], "customer_id": ["C1"], "created_at": [45658.5], "channel": "x"})
    assert local_times(numeric)[0] == [T(2025, 1, 1, 12, 0)]


@pytest.mark.parametrize(
    ("values", "label", "good"),
    [
        (["1509487847", "1509491447", "infinity", "-inf", "1.5e23", "nan"], "Unix epoch seconds", 2),
        (["1509487847000", "1509491447000", "1e30", "-1e30"], "Unix epoch milliseconds", 2),
        (["45658", "45659", "45660", "-1e300", "3e6"], "Excel serial date", 3),
    ],
)
def test_numbers_beyond_year_9999_are_unparseable_not_a_crash(tmp_path, values, label, good):
    # Found by the 10,000-example fuzz run: DuckDB raised a ConversionException on such a value,
    # which the CLI turned into exit 1. Each one is now NULL and counted as unparseable.
    got, src = local_times(write_contacts(tmp_path, values))
    assert src.formats["created_at"] == label
    assert [v is not None for v in got] == [True] * good + [False] * (len(values) - good)
    res = kit.contact_frequency(tmp_path / "contacts.csv", tmp_path / "customers.csv", freq="year")
    assert res.ledger.excluded("contacts") == {"unparseable created_at": len(values) - good}
    assert res.frame["contacts"].sum() == good


def test_compact_dates(tmp_path):
    got, src = local_times(write_contacts(tmp_path, ["20250101", "20251231"]))
    assert got == [T(2025, 1, 1), T(2025, 12, 31)]
    assert src.formats["created_at"] == "compact date (%Y%m%d)"


# --- ambiguity, overrides, unparseable rows --------------------------------------------------


def test_ambiguous_column_asks_for_the_format(tmp_path):
    path = write_contacts(tmp_path, ["01/02/2016 10:00", "03/04/2016 11:00", "12/12/2016 09:00"])
    with pytest.raises(AmbiguousTimestampError) as info:
        kit.contact_frequency(path, tmp_path / "customers.csv")
    msg = str(info.value)
    assert "\n" not in msg
    for part in (str(path), "created_at", "01/02/2016 10:00", "--timestamp-format", "timestamp_format"):
        assert part in msg
    assert isinstance(info.value, KitError)
    # the CLI says it in one line and exits 2
    code = main(["frequency", "--contacts", str(path), "--customers", str(tmp_path / "customers.csv")])
    assert code == 2


def test_a_day_above_12_outside_the_sample_settles_it(monkeypatch):
    monkeypatch.setattr(timeformats, "SAMPLE_ROWS", 2)
    values = ["01/02/2016", "03/04/2016", "05/06/2016", "25/06/2016"]
    contacts = pd.DataFrame({"contact_id": range(4), "customer_id": "C1", "created_at": values, "channel": "x"})
    got, src = local_times(contacts)
    assert got == [T(2016, 2, 1), T(2016, 4, 3), T(2016, 6, 5), T(2016, 6, 25)]
    assert src.formats["created_at"] == "day-first (%d/%m/%Y)"


def test_override_wins(tmp_path):
    path = write_contacts(tmp_path, ["01/02/2016 10:00", "03/04/2016 11:00"])
    month_first, _ = local_times(path, timestamp_format="%m/%d/%Y %H:%M")
    day_first, src = local_times(path, timestamp_format={"contacts": "%d/%m/%Y %H:%M"})
    assert month_first == [T(2016, 1, 2, 10, 0), T(2016, 3, 4, 11, 0)]
    assert day_first == [T(2016, 2, 1, 10, 0), T(2016, 4, 3, 11, 0)]
    assert src.formats["created_at"] == "given (%d/%m/%Y %H:%M)"
    # against detection too: the data say day-first (13/...), the override says month-first
    path = write_contacts(tmp_path, ["13/02/2016 10:00", "05/06/2016 11:00"], name="c2.csv")
    assert local_times(path, timestamp_format="%m/%d/%Y %H:%M")[0] == [None, T(2016, 5, 6, 11, 0)]
    # the API's format wins over the mapping's
    got, _ = local_times(path, mapping={"timestamp_format": "%m/%d/%Y %H:%M"}, timestamp_format="%d/%m/%Y %H:%M")
    assert got == [T(2016, 2, 13, 10, 0), T(2016, 6, 5, 11, 0)]


def test_unparseable_rows_are_counted_with_raw_examples(tmp_path):
    values = ["29/2/2016 01:16", "30/2/2016 10:00", "not a date", "15/3/2016 12:00", ""]
    path = write_contacts(tmp_path, values)
    result = kit.contact_frequency(path, tmp_path / "customers.csv", freq="month", direction="all")
    account = result.ledger.tables["contacts"]
    assert account.read == 5 and account.used == 2
    assert account.excluded == {"unparseable created_at": 2, "missing created_at": 1}
    assert account.examples["unparseable created_at"] == ["30/2/2016 10:00", "not a date"]
    assert result.frame.set_index("period")["contacts"].to_dict() == {
        pd.Timestamp("2016-02-01"): 1,
        pd.Timestamp("2016-03-01"): 1,
    }


def test_mapping_yaml_per_column(tmp_path):
    (tmp_path / "tickets.csv").write_text(
        "Ticket,Requester,Opened,Via\n1,C1,05/06/2016 10:00,email\n2,C2,07/06/2016 11:00,phone\n"
    )
    (tmp_path / "customers.csv").write_text("customer_id,signup_date\nC1,1.6.2016\nC2,13.5.2016\n")
    (tmp_path / "map.yml").write_text(
        "contacts:\n  Ticket: contact_id\n  Requester: customer_id\n  Opened: created_at\n  Via: channel\n"
        "timestamp_format:\n  contacts:\n    created_at: '%m/%d/%Y %H:%M'\n"
    )
    ds = kit.load(
        {"contacts": tmp_path / "tickets.csv", "customers": tmp_path / "customers.csv"}, mapping=tmp_path / "map.yml"
    )
    assert ds.contacts.formats == {"created_at": "given (%m/%d/%Y %H:%M)"}
    assert ds.customers.formats == {"signup_date": "day-first (%d.%m.%Y)"}  # detected: 13.5 settles it
    result = kit.contact_frequency(ds, freq="month", direction="all")
    # month-first: 05/06 is 6 May, 07/06 is 6 July
    assert result.frame.set_index("period")["contacts"].to_dict() == {
        pd.Timestamp("2016-05-01"): 1,
        pd.Timestamp("2016-06-01"): 0,
        pd.Timestamp("2016-07-01"): 1,
    }


def test_cli_timestamp_format(tmp_path, capsys):
    path = write_contacts(tmp_path, ["01/02/2016 10:00", "03/02/2016 11:00"])
    args = ["frequency", "--contacts", str(path), "--customers", str(tmp_path / "customers.csv"), "--direction", "all"]
    assert main([*args, "--timestamp-format", "%d/%m/%Y %H:%M"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[:2] for line in out[1:]] == [["2016-02-01", "2"]]
    assert main([*args, "--timestamp-format", "%m/%d/%Y %H:%M"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[:2] for line in out[1:]] == [["2016-01-01", "1"], ["2016-02-01", "0"], ["2016-03-01", "1"]]


def test_other_engines_refuse_non_iso_in_one_line():
    col = pd.DataFrame({"x": ["29/2/2016"]})
    t = kit.open_tables(customers=pd.DataFrame({"customer_id": [1], "signup_date": ["2026-01-01"]})).customers.table
    with pytest.raises(SourceError, match="only the DuckDB engine parses"):
        timeformats.rewrite(t.signup_date, detect_format(col.x), backend="postgres", where="customers", column="c")


def test_detect_format_interface():
    fmt = detect_format(["29/2/2016 01:16"])
    assert (fmt.name, fmt.strftime, fmt.kind, fmt.has_offset) == (
        "day-first (%d/%m/%Y %H:%M)",
        "%d/%m/%Y %H:%M",
        "strftime",
        False,
    )
    assert detect_format([None, "", float("nan")]).kind == "unknown"
    # the majority format wins; the rest will be counted as unparseable
    assert detect_format(["2026-01-01", "2026-01-02", "junk"]).share == pytest.approx(2 / 3)


# --- the wall-clock fast path (UTC zones) -----------------------------------------------------

_PARTS = st.sampled_from(
    ["2026", "0026", "0000", "9999", "10000", "-", "/", "T", " ", "  ", "\t", "\n", ":", ".", "+", "Z",
     "01", "1", "12", "13", "29", "30", "31", "00", "23", "24", "59", "60", "5", "123", "1234567",
     "+02:00", "-0130", "UTC", "Europe/Paris", "infinity", "AM", "x"]
)  # fmt: skip
_ISO_LIKE = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, tail, pad: f"{pad}{y}-{mo}-{d}{sep}{h}:{mi}{s}{frac}{tail}{pad}",
    st.sampled_from(["2026", "1999", "0026", "0000", "9999"]),
    st.sampled_from(["01", "1", "02", "12", "13", "00"]),
    st.sampled_from(["01", "9", "28", "29", "30", "31", "00"]),
    st.sampled_from([" ", "T", "t", "  "]),
    st.sampled_from(["00", "0", "9", "23", "24", "25"]),
    st.sampled_from(["00", "5", "59", "60"]),
    st.sampled_from(["", ":00", ":7", ":59", ":60"]),
    st.sampled_from(["", ".5", ".123456", ".1234567", ","]),
    st.sampled_from(["", "Z", "+02:00", "-0130", " +0000", " UTC", " Europe/Paris", " x"]),
    st.sampled_from(["", " ", "\t"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_ISO_LIKE, st.lists(_PARTS, max_size=6).map("".join)), min_size=1, max_size=40))
def test_the_utc_wall_clock_parse_equals_the_instant_parse(values):
    """engine.parse_utc_clock (strptime first) reads every text as parse_instant does, shown in UTC.

    The reference is the ICU cast the kit used before, on generated ISO-like text with offsets,
    zone names, blanks, impossible fields and junk."""
    con = engine.default_connection()
    engine.set_session_tz(con, "UTC")
    t = ibis.memtable({"x": values}, schema={"x": "string"})
    df = con.execute(t.mutate(fast=engine.parse_utc_clock(t.x), ref=engine.parse_instant(t.x).cast("timestamp")))
    differ = df[~((df.fast == df.ref) | (df.fast.isna() & df.ref.isna()))]
    assert differ.empty, differ.to_dict("records")
