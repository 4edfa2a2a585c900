"""Issue 15 (bad input): every hostile input gets a one-line error with exit 2, a ledger entry or an answer.

Expected values are worked out by hand from the tiny fixtures below.
"""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

import kit
from kit.cli import main
from kit.core.periods import parse_window
from kit.errors import ParameterError

CUST = "customer_id,signup_date,churn_date,tier\na,2025-01-01,,pro\nb,2025-01-01,,basic\n"
CONT = (
    "contact_id,customer_id,created_at,channel,topic,direction,handle_time\n"
    "1,a,2026-01-05 10:00,chat,billing,inbound,10\n"
    "2,a,2026-01-05 11:00,chat,billing,inbound,5\n"
    "3,b,2026-02-03 09:00,email,login,inbound,7\n"
)


@pytest.fixture()
def w(tmp_path):
    def write(name: str, text: str, encoding: str = "utf-8"):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return write


def run(capsys, *args):
    code = main(["frequency", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def frame(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out))


# --- no contacts left: header-only result, ledger, note, exit 0 -------------------------------------------------


@pytest.mark.parametrize(
    "contacts, customers, extra, reason",
    [
        (CONT.splitlines()[0] + "\n", CUST, [], "has no rows"),
        (CONT, CUST.splitlines()[0] + "\n", [], "customers table"),
        (
            CONT.replace("2026-01-05 10:00", "garbage")
            .replace("2026-01-05 11:00", "nope")
            .replace("2026-02-03 09:00", "?"),
            CUST,
            [],
            "unparseable created_at: 3",
        ),
        (CONT, CUST, ["--start", "2030-01"], "outside the requested periods: 3"),
    ],
    ids=["header-only contacts", "empty customers", "all timestamps unparseable", "start past the data"],
)
def test_nothing_counted_is_an_answer(w, capsys, contacts, customers, extra, reason):
    code, out, err = run(capsys, "--contacts", w("co.csv", contacts), "--customers", w("cu.csv", customers), *extra)
    assert code == 0
    assert out.strip().splitlines()[0].startswith("period,contacts,")
    assert len(out.strip().splitlines()) == 1  # the header only
    assert "[balanced]" in err and "note: nothing was counted" in err and reason in err


def test_float_ids_match_integer_ids(w, capsys):
    contacts = w("co.csv", CONT.replace(",a,", ",1.0,").replace(",b,", ",2.0,"))
    customers = w("cu.csv", CUST.replace("\na,", "\n1,").replace("\nb,", "\n2,"))
    code, out, err = run(capsys, "--contacts", contacts, "--customers", customers)
    assert code == 0
    assert frame(out)["contacts"].tolist() == [2, 1]  # 2 in January (customer 1), 1 in February (customer 2)
    assert "3 read, 3 used" in err


def test_float_typed_ids_in_a_frame_match():
    customers = pd.DataFrame({"customer_id": [1, 2], "signup_date": ["2025-01-01"] * 2})
    contacts = pd.DataFrame(
        {"contact_id": [1, 2], "customer_id": [1.0, None], "created_at": ["2026-01-05", "2026-01-06"], "channel": "x"}
    )
    r = kit.contact_frequency(contacts, customers)
    assert r.frame["contacts"].tolist() == [1]
    assert r.ledger.excluded("contacts") == {"missing customer_id": 1}


# --- parameters --------------------------------------------------------------------------------------------


def test_start_after_end_is_a_parameter_error(w, capsys):
    code, _, err = run(capsys, "--contacts", w("co.csv", CONT), "--customers", w("cu.csv", CUST),
                       "--start", "2026-03", "--end", "2026-01")  # fmt: skip
    assert code == 2 and "after end" in err
    with pytest.raises(ParameterError, match="after end"):
        kit.contact_frequency(pd.read_csv(io.StringIO(CONT)), pd.read_csv(io.StringIO(CUST)), start="2026-03",
                              end="2026-01")  # fmt: skip


def test_by_repeated_column_is_used_once(w, capsys):
    code, out, _ = run(capsys, "--contacts", w("co.csv", CONT), "--customers", w("cu.csv", CUST), "--by", "tier,tier")
    assert code == 0
    df = frame(out)
    assert list(df.columns[:2]) == ["period", "tier"] and list(df.columns).count("tier") == 1
    assert df.set_index(["period", "tier"])["contacts"].to_dict() == {
        ("2026-01-01", "basic"): 0, ("2026-01-01", "pro"): 2, ("2026-02-01", "basic"): 1, ("2026-02-01", "pro"): 0,
    }  # fmt: skip


def test_same_topic_without_topic_column_is_an_error(w, capsys):
    no_topic = CONT.replace(",topic", "").replace(",billing", "").replace(",login", "")
    code, _, err = run(capsys, "--contacts", w("co.csv", no_topic), "--customers", w("cu.csv", CUST), "--same-topic")
    assert code == 2 and "topic column" in err


@pytest.mark.parametrize("window", ["48", "nan", "-1h", "", "  ", "abc", "1e3"])
def test_dedup_window_without_a_unit_or_impossible_is_an_error(w, capsys, window):
    code, out, err = run(capsys, "--contacts", w("co.csv", CONT), "--customers", w("cu.csv", CUST),
                         f"--dedup-window={window}")  # fmt: skip
    assert code == 2 and out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("window", [48, 48.0, "48", float("nan"), -1, "-2d", "", "inf"])
def test_parse_window_refuses(window):
    with pytest.raises(ParameterError):
        parse_window(window)
    with pytest.raises(ParameterError, match="unit"):
        kit.contact_frequency(pd.read_csv(io.StringIO(CONT)), pd.read_csv(io.StringIO(CUST)), dedup_window=48)


def test_parse_window_reads_units_without_pandas_deprecation():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_window("90D") == pd.Timedelta(days=90)
        assert parse_window("90d") == pd.Timedelta(days=90)
        assert parse_window("48h") == pd.Timedelta(hours=48)
        assert parse_window("30min") == pd.Timedelta(minutes=30)
        assert parse_window("1 day 2h") == pd.Timedelta(hours=26)
        assert parse_window("2 days 00:00:00") == pd.Timedelta(days=2)  # str(Timedelta) round-trips
        assert parse_window(0) == parse_window("0") == pd.Timedelta(0)


def test_an_hour_apart_is_a_follow_up_with_48h(w, capsys):
    # Contacts 1 and 2 are an hour apart: one follow-up with a unit; "48" no longer means 48 nanoseconds.
    code, out, _ = run(
        capsys, "--contacts", w("co.csv", CONT), "--customers", w("cu.csv", CUST), "--dedup-window", "48h"
    )
    assert code == 0 and frame(out)["follow_ups"].tolist() == [1, 0]


# --- dates -----------------------------------------------------------------------------------------------------


def test_infinity_churn_is_an_open_churn_date(w, capsys):
    customers = w("cu.csv", CUST.replace("2025-01-01,,pro", "2025-01-01,infinity,pro"))
    code, out, err = run(capsys, "--contacts", w("co.csv", CONT), "--customers", customers)
    assert code == 0
    assert frame(out)["active_customers"].tolist() == [2, 2]  # a is never churned
    assert "customers (" in err and "2 read, 2 used" in err


@pytest.mark.parametrize("value", ["202600-01-01", "infinity", "-infinity"])
def test_impossible_created_at_is_unparseable(w, capsys, value):
    contacts = w("co.csv", CONT.replace("2026-01-05 10:00", value))
    code, out, err = run(capsys, "--contacts", contacts, "--customers", w("cu.csv", CUST))
    assert code == 0 and "unparseable created_at: 1" in err and frame(out)["contacts"].sum() == 2


def test_six_digit_year_churn_is_unparseable(w, capsys):
    customers = w("cu.csv", CUST.replace("2025-01-01,,pro", "2025-01-01,202600-01-01,pro"))
    code, _, err = run(capsys, "--contacts", w("co.csv", CONT), "--customers", customers)
    assert code == 0 and "unparseable churn_date: 1" in err


@pytest.mark.parametrize("value", ["9999-12-31", "1900-01-01", "0026-01-05", "epoch"])
def test_implausible_created_at_is_excluded_with_examples(w, capsys, value):
    contacts = w("co.csv", CONT.replace("2026-01-05 10:00", value))
    code, out, err = run(capsys, "--contacts", contacts, "--customers", w("cu.csv", CUST), "--freq", "day")
    assert code == 0
    assert f"implausible created_at: 1 (e.g. {value}" in err
    df = frame(out)
    assert df["contacts"].sum() == 2 and len(df) == 30  # 2026-01-05..2026-02-03 daily, not decades


def test_plausible_range_is_configurable(monkeypatch):
    contacts = pd.read_csv(io.StringIO(CONT.replace("2026-01-05 10:00", "1985-06-01")))
    customers = pd.read_csv(io.StringIO(CUST.replace("2025-01-01", "1980-01-01")), dtype=str)
    r = kit.contact_frequency(contacts, customers, start="2026-01", end="2026-02")
    assert r.ledger.excluded("contacts") == {"implausible created_at": 1}
    monkeypatch.setenv("KIT_PLAUSIBLE_FROM", "1980-01-01")
    r = kit.contact_frequency(contacts, customers, start="2026-01", end="2026-02")
    assert r.ledger.excluded("contacts") == {"out of scope: outside the requested periods": 1}


def test_implausible_typed_timestamps(w):
    contacts = pd.read_csv(io.StringIO(CONT))
    contacts["created_at"] = pd.to_datetime(contacts["created_at"])
    contacts.loc[0, "created_at"] = pd.Timestamp("1900-01-01")
    r = kit.contact_frequency(contacts, pd.read_csv(io.StringIO(CUST)))
    assert r.ledger.excluded("contacts") == {"implausible created_at": 1}
    assert r.frame["contacts"].tolist() == [1, 1]


# --- ids -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra_row", ["4,  ,2026-01-06 10:00,chat,billing,outbound,1", "4,\t,garbage,chat,billing,inbound,1"]
)
@pytest.mark.parametrize("padded_neighbour", [False, True])
def test_blank_customer_id_is_missing_whatever_the_other_rows(w, capsys, extra_row, padded_neighbour):
    text = CONT + extra_row + "\n"
    if padded_neighbour:  # another padded id triggers the trimming rerun; the reason must not change
        text = text.replace("3,b,", "3, b ,")
    code, out, err = run(capsys, "--contacts", w("co.csv", text), "--customers", w("cu.csv", CUST))
    assert code == 0 and "  - missing customer_id: 1" in err
    assert frame(out)["contacts"].sum() == 3


# --- weights ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "1e400", "inf", "nan"])
def test_bad_weight_is_a_kept_row_warning(bad):
    contacts = pd.read_csv(io.StringIO(CONT), dtype=str)
    contacts.loc[0, "handle_time"] = bad
    r = kit.contact_frequency(contacts, pd.read_csv(io.StringIO(CUST)), weight="handle_time")
    # January: contacts 1 (bad weight) and 2 (5) over 2 active customers; the contact counts, its weight not.
    assert r.frame["contacts"].tolist() == [2, 1]
    assert r.frame["weighted_frequency"].tolist() == [5 / 2, 7 / 2]
    assert r.ledger.balanced and r.ledger.excluded("contacts") == {}
    warning = r.ledger.tables["contacts"].warnings
    assert list(warning.values()) == [1] and "handle_time" in next(iter(warning))
    assert any(bad in line for line in r.ledger.lines())


def test_decimal_comma_weights(w, capsys):
    text = CONT.replace(",10\n", ',"10,5"\n').replace(",5\n", ',"5,5"\n').replace(",7\n", ',"7,0"\n')
    code, out, err = run(capsys, "--contacts", w("co.csv", text), "--customers", w("cu.csv", CUST),
                         "--weight", "handle_time")  # fmt: skip
    assert code == 0 and "decimal comma" in err
    assert frame(out)["weighted_frequency"].tolist() == [8.0, 3.5]  # (10.5 + 5.5) / 2, 7.0 / 2


def test_mixed_decimal_marks_are_not_rewritten():
    contacts = pd.read_csv(io.StringIO(CONT), dtype=str)
    contacts["handle_time"] = ["10,5", "5.5", "7"]
    r = kit.contact_frequency(contacts, pd.read_csv(io.StringIO(CUST)), weight="handle_time")
    assert r.frame["weighted_frequency"].tolist() == [5.5 / 2, 7 / 2]  # "10,5" is not a number here
    assert sum(r.ledger.tables["contacts"].warnings.values()) == 1


# --- files -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"", b"PAR1garbage", b"not parquet at all, just text\n"])
def test_bad_parquet_is_exit_2(tmp_path, w, capsys, content):
    bad = tmp_path / "contacts.parquet"
    bad.write_bytes(content)
    code, out, err = run(capsys, "--contacts", bad, "--customers", w("cu.csv", CUST))
    assert code == 2 and out == "" and "Parquet" in err and len(err.strip().splitlines()) == 1


def test_truncated_parquet_is_exit_2(tmp_path, w, capsys):
    good = tmp_path / "good.parquet"
    pd.read_csv(io.StringIO(CONT)).to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    code, _, err = run(capsys, "--contacts", cut, "--customers", w("cu.csv", CUST))
    assert code == 2 and "cut off" in err


def test_garbage_duckdb_file_is_exit_2(w, capsys):
    code, _, err = run(capsys, "--contacts", w("x.duckdb", "this is not a database"), "--customers", w("cu.csv", CUST))
    assert code == 2 and "DuckDB database" in err


@pytest.mark.parametrize("name", ["out", "out.parquet"])
def test_output_folder_is_exit_2(tmp_path, w, capsys, name):
    (tmp_path / name).mkdir()
    code, _, err = run(capsys, "--contacts", w("co.csv", CONT), "--customers", w("cu.csv", CUST),
                       "--output", tmp_path / name)  # fmt: skip
    assert code == 2 and "is a folder" in err
    assert [p.name for p in (tmp_path / name).iterdir()] == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no debris


def test_latin1_file_is_read_with_a_warning(w, capsys):
    contacts = w("co.csv", CONT.replace("billing", "facturación"), encoding="latin-1")
    code, out, err = run(capsys, "--contacts", contacts, "--customers", w("cu.csv", CUST), "--by", "topic")
    assert code == 0 and "not UTF-8" in err and "LATIN-1" in err
    assert "facturación" in set(frame(out)["topic"])


def test_ragged_rows_say_what_is_wrong(w, capsys):
    text = CONT + "4,a,2026-01-06 10:00,chat\n5,a,2026-01-07,chat,x,inbound,1,extra,more\n"
    code, _, err = run(capsys, "--contacts", w("co.csv", text), "--customers", w("cu.csv", CUST))
    assert code == 2
    assert "header has 7 fields but line 5 has 4, line 6 has 9" in err
    assert "missing required column" not in err


def test_data_range_leaves_out_implausible_times():
    """Where the data starts and ends (report checks, 'the data ends on') ignores a 9999-12-31 or a 1900 row."""
    from kit.report.overview import data_range

    contacts = pd.read_csv(io.StringIO(CONT))
    assert data_range(contacts) == ("2026-01-05", "2026-02-03")
    contacts.loc[0, "created_at"] = "9999-12-31 10:00"
    contacts.loc[1, "created_at"] = "1900-01-01 10:00"
    assert data_range(contacts) == ("2026-02-03", "2026-02-03")  # the one plausible row
