"""Every source kind gives the same numbers; mappings and presets rename export columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ibis
import pandas as pd
import pytest

import kit
from kit.core.schema import load_mapping
from kit.errors import SourceError

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c"],
        "signup_date": ["2025-11-01", "2025-12-15", "2026-01-20"],
        "churn_date": [None, "2026-02-10", None],
        "tier": ["pro", "basic", "pro"],
    }
)
CONTACTS = pd.DataFrame(
    {
        "contact_id": [f"t{i}" for i in range(7)],
        "customer_id": ["a", "a", "b", "c", "c", "a", "b"],
        "created_at": [
            "2026-01-03 10:00",
            "2026-01-04 09:00",
            "2026-01-20 12:00",
            "2026-01-25 08:00",
            "2026-02-02 08:00",
            "2026-02-27 23:30",
            "2026-02-05 10:00",
        ],
        "channel": ["chat", "chat", "email", "phone", "chat", "email", "phone"],
        "topic": ["billing", "billing", "login", "how-to", "how-to", "bug", "login"],
    }
)
# By hand: Jan: 4 contacts (a's second is a follow-up), actives a, b, c -> 4/3;
# Feb: 3 contacts (a, b, c), actives a, b (churns Feb 10), c -> 3/3.
EXPECTED = {"contacts": [4, 3], "follow_ups": [1, 0], "active_customers": [3, 3]}


def check(result):
    df = result.frame
    got = df[["contacts", "follow_ups", "active_customers"]].to_dict("list")
    assert got == EXPECTED
    assert df["frequency"].tolist() == pytest.approx([4 / 3, 1.0])


def test_dataframe_source_is_not_mutated():
    before = CONTACTS.copy()
    check(kit.contact_frequency(CONTACTS, CUSTOMERS))
    pd.testing.assert_frame_equal(CONTACTS, before)


def test_csv_and_parquet_files(tmp_path):
    CONTACTS.to_csv(tmp_path / "contacts.csv", index=False)
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    check(kit.contact_frequency(tmp_path / "contacts.csv", str(tmp_path / "customers.csv")))
    CONTACTS.to_parquet(tmp_path / "contacts.parquet")
    CUSTOMERS.to_parquet(tmp_path / "customers.parquet")
    check(kit.contact_frequency(tmp_path / "contacts.parquet", tmp_path / "customers.parquet"))


def test_parquet_folder_and_glob(tmp_path):
    folder = tmp_path / "contacts"
    folder.mkdir()
    CONTACTS.iloc[:3].to_parquet(folder / "part-0.parquet")
    CONTACTS.iloc[3:].to_parquet(folder / "part-1.parquet")
    check(kit.contact_frequency(folder, CUSTOMERS))
    check(kit.contact_frequency(str(folder / "*.parquet"), CUSTOMERS))


def test_duckdb_file_ibis_table_and_connection(tmp_path):
    path = tmp_path / "support.duckdb"
    con = ibis.duckdb.connect(path)
    con.create_table("contacts", CONTACTS)
    con.create_table("clients", CUSTOMERS)
    con.disconnect()
    check(kit.contact_frequency(path, f"{path}::clients"))
    con = ibis.duckdb.connect()
    con.create_table("contacts", CONTACTS)
    con.create_table("customers", CUSTOMERS)
    check(kit.contact_frequency(con.table("contacts"), con.table("customers")))
    check(kit.contact_frequency(con, con))
    check(kit.contact_frequency((con, "contacts"), CUSTOMERS))  # a DataFrame joins the connection's backend


def test_mapping_dict_yaml_and_preset(tmp_path):
    export = CONTACTS.rename(
        columns={
            "contact_id": "Ticket ID",
            "customer_id": "Contact ID",
            "created_at": "Created time",
            "channel": "Source",
            "topic": "Type",
        }
    )
    check(kit.contact_frequency(export, CUSTOMERS, mapping="freshdesk"))
    yml = tmp_path / "map.yml"
    yml.write_text(
        "contacts:\n  Ticket ID: contact_id\n  Contact ID: customer_id\n  Created time: created_at\n"
        "  Source: channel\n  Type: topic\n"
    )
    check(kit.contact_frequency(export, CUSTOMERS, mapping=yml))
    assert load_mapping({"preset": "zendesk", "contacts": {"Via": "medium"}})["contacts"]["Via"] == "medium"


def test_loose_column_names_are_forgiven():
    export = CONTACTS.rename(columns={"customer_id": "Customer ID", "created_at": "Created_At"})
    check(kit.contact_frequency(export, CUSTOMERS))


def test_integer_ids_match_string_ids():
    customers = CUSTOMERS.assign(customer_id=[1, 2, 3])
    contacts = CONTACTS.assign(customer_id=CONTACTS["customer_id"].map({"a": "1", "b": "2", "c": "3"}))
    check(kit.contact_frequency(contacts, customers))


@pytest.mark.parametrize(
    "source, message",
    [
        ("/nonexistent/contacts.csv", "not found"),
        ("/nonexistent/*.parquet", "no file matches"),
        (42, "unsupported source"),
    ],
)
def test_bad_sources(source, message):
    with pytest.raises(SourceError, match=message):
        kit.contact_frequency(source, CUSTOMERS)


def test_unknown_mapping_is_reported():
    with pytest.raises(kit.KitError, match="neither a file nor a preset"):
        kit.contact_frequency(CONTACTS, CUSTOMERS, mapping="helpscout")


def test_results_do_not_depend_on_machine_time_zone(tmp_path):
    """The engine's session time zone is set explicitly, so TZ in the environment changes nothing."""
    CONTACTS.to_csv(tmp_path / "contacts.csv", index=False)
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
    code = (
        "import sys, kit; df = kit.contact_frequency(sys.argv[1], sys.argv[2], tz=sys.argv[3], freq='day').frame;"
        "print(df[df.contacts > 0][['period','contacts','active_customers']].to_csv(index=False))"
    )
    outputs = set()
    for machine_tz in ("UTC", "America/New_York", "Asia/Kolkata"):
        for business_tz in ("Europe/Berlin",):
            res = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(tmp_path / "contacts.csv"),
                    str(tmp_path / "customers.csv"),
                    business_tz,
                ],
                env={"TZ": machine_tz, "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
            )
            assert res.returncode == 0, res.stderr
            outputs.add(res.stdout)
    assert len(outputs) == 1
    # a contact at 23:30 naive Berlin time stays on Feb 27 in Berlin
    assert "2026-02-27" in outputs.pop()


def test_load_folder_gives_tables_usable_by_every_function(tmp_path):
    import shutil

    examples = Path(__file__).resolve().parents[1] / "data" / "examples"
    for name in ("contacts", "customers", "events"):
        shutil.copy(examples / f"{name}.csv", tmp_path / f"{name}.csv")
    tables = kit.load(tmp_path)
    assert tables.names == ["contacts", "customers", "events"]
    check(kit.contact_frequency(tables.contacts, tables.customers))
    check(kit.contact_frequency(tables))  # the Dataset fills contacts, customers, connection and time zone
    with pytest.raises(SourceError, match="no contacts table"):
        kit.load(tmp_path / "..")
