"""The command line: CSV out, ledger to stderr, one-line errors with non-zero exits."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd
import pytest
from test_sources import CONTACTS, CUSTOMERS

from kit.cli import main


@pytest.fixture()
def files(tmp_path):
    CONTACTS.to_csv(tmp_path / "contacts.csv", index=False)
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    return tmp_path


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_frequency_writes_csv_and_ledger(files, capsys):
    code, out, err = run(
        ["frequency", "--contacts", files / "contacts.csv", "--customers", files / "customers.csv", "--by", "channel"],
        capsys,
    )
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert df.groupby("period")["contacts"].sum().tolist() == [4, 3]
    assert set(df["channel"]) == {"chat", "email", "phone"}
    assert "contacts (" in err and "7 read, 7 used" in err


def test_frequency_output_file(files, capsys):
    target = files / "out" / "freq.csv"
    code, out, err = run(
        [
            "frequency",
            "--contacts",
            files / "contacts.csv",
            "--customers",
            files / "customers.csv",
            "--freq",
            "quarter",
            "--output",
            target,
        ],
        capsys,
    )
    assert code == 0 and out == ""
    df = pd.read_csv(target)
    assert df[["period", "contacts", "active_customers"]].values.tolist() == [["2026-01-01", 7, 3]]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--tz", "Nowhere/Land"], "unknown time zone"),
        (["--by", "planet"], "cannot group by 'planet'"),
        (["--dedup-window", "later"], "cannot read time window"),
        (["--mapping", "nope.yml"], "neither a file nor a preset"),
    ],
)
def test_bad_options_exit_non_zero_with_one_line(files, capsys, extra, needle):
    code, out, err = run(
        ["frequency", "--contacts", files / "contacts.csv", "--customers", files / "customers.csv", *extra], capsys
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and err.startswith("error: ")


def test_missing_file_and_missing_column(files, capsys):
    code, _, err = run(["frequency", "--contacts", files / "nope.csv", "--customers", files / "customers.csv"], capsys)
    assert code == 2 and "nope.csv not found" in err and err.count("\n") == 1
    CONTACTS.drop(columns="created_at").to_csv(files / "broken.csv", index=False)
    code, _, err = run(
        ["frequency", "--contacts", files / "broken.csv", "--customers", files / "customers.csv"], capsys
    )
    assert code == 2 and "missing required column(s) created_at" in err and "broken.csv" in err


def test_bad_rows_do_not_stop_the_run_and_are_reported(files, capsys):
    bad = pd.concat(
        [
            CONTACTS,
            pd.DataFrame(
                {
                    "contact_id": ["z1", "z2"],
                    "customer_id": ["a", "ghost"],
                    "created_at": ["31/02/2026 25:00", "2026-01-05"],
                    "channel": ["chat", "chat"],
                    "topic": ["x", "x"],
                }
            ),
        ]
    )
    bad.to_csv(files / "bad.csv", index=False)
    code, out, err = run(["frequency", "--contacts", files / "bad.csv", "--customers", files / "customers.csv"], capsys)
    assert code == 0
    assert pd.read_csv(io.StringIO(out))["contacts"].sum() == 7
    assert "9 read, 7 used, 2 excluded [balanced]" in err
    assert "unparseable created_at: 1 (e.g. 31/02/2026 25:00)" in err and "unknown customer: 1 (e.g. ghost)" in err


def test_module_entry_point_runs_without_traceback(files):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit",
            "frequency",
            "--contacts",
            str(files / "missing.parquet"),
            "--customers",
            str(files / "customers.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    res = subprocess.run(
        [sys.executable, "-m", "kit", "frequency", "--freq", "fortnight", "--contacts", "x", "--customers", "y"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr and "fortnight" in res.stderr
    assert res.stderr.count("\n") == 1


def test_backend_url_and_explain(files, tmp_path, capsys):
    import ibis

    db = tmp_path / "support.duckdb"
    con = ibis.duckdb.connect(db)
    con.create_table("tickets", CONTACTS)
    con.create_table("clients", CUSTOMERS)
    con.disconnect()
    code, out, err = run(
        ["frequency", "--backend", f"duckdb:///{db}", "--contacts", "tickets", "--customers", "clients", "--explain"],
        capsys,
    )
    assert code == 0
    assert pd.read_csv(io.StringIO(out))["contacts"].tolist() == [4, 3]  # same as the file sources
    assert "-- query 1 of" in err and "GROUP BY" in err and "tickets" in err


def test_backend_secret_must_come_from_the_named_variable(files, capsys, monkeypatch):
    monkeypatch.delenv("KIT_TEST_NO_SUCH_SECRET", raising=False)
    code, _, err = run(
        [
            "frequency",
            "--backend",
            "postgres://analyst@127.0.0.1:1/support",
            "--secret-env",
            "KIT_TEST_NO_SUCH_SECRET",
            "--contacts",
            "t",
            "--customers",
            "c",
        ],
        capsys,
    )
    assert code == 2 and "KIT_TEST_NO_SUCH_SECRET" in err and err.count("\n") == 1


def test_text_times_from_a_file_give_the_api_answer(tmp_path, capsys):
    """The CLI parses text times in a view (no copy, see prepare.single_use); the numbers and the
    ledger are the API's, which parses into a copy."""
    import kit

    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5, 6],
            "customer_id": ["a", " a", "b", "b", "a", "c"],
            "created_at": [
                "2026-01-05 10:00:00",
                "2026-01-06 09:00:00",  # 23 h after contact 1: a follow-up
                "2026-01-20T10:00:00+09:00",  # an offset
                "not a date",
                "2026-02-02 08:00:00",
                "2026-02-03 08:00:00",  # customer c is unknown
            ],
            "channel": ["chat", "chat ", "email", "email", "phone", "chat"],
        }
    )
    customers = pd.DataFrame(
        {"customer_id": ["a", "b"], "signup_date": ["2025-06-01", "2025-06-01"], "churn_date": [None, None]}
    )
    contacts.to_parquet(tmp_path / "contacts.parquet")
    customers.to_parquet(tmp_path / "customers.parquet")
    args = ["--contacts", tmp_path / "contacts.parquet", "--customers", tmp_path / "customers.parquet"]
    code, _, err = run(
        ["frequency", *args, "--by", "channel", "--full-precision", "--output", tmp_path / "f.csv"], capsys
    )
    assert code == 0
    cli = pd.read_csv(tmp_path / "f.csv")
    api = kit.contact_frequency(tmp_path / "contacts.parquet", tmp_path / "customers.parquet", by="channel")
    assert cli["contacts"].tolist() == api.frame["contacts"].tolist()
    assert cli["frequency"].tolist() == pytest.approx(api.frame["frequency"].tolist())
    assert cli.groupby("period")["contacts"].sum().tolist() == [3, 1]  # January 1, 2, 3; February 5
    assert cli["follow_ups"].sum() == 1
    assert "6 read, 4 used" in err and "unparseable created_at: 1" in err and "unknown customer: 1" in err
