"""Every preset maps its product's own export (data/examples/presets/) and gives hand-computed frequencies.

All six example files hold the same twelve tickets, written as each product writes them (header and
timestamp format). Customers A, B, C, D; times in UTC:

    A 2026-09-14 09:12   B 2026-09-28 16:40
    A 2026-10-01 08:05   A 2026-10-02 10:30 (26 h 25 min after A's previous: a follow-up within 48 h)
    B 2026-10-07 13:00   C 2026-10-09 11:11   C 2026-10-20 15:45   D 2026-10-31 23:30
    B 2026-11-03 09:00   D 2026-11-12 17:20
    A with no created time          -> excluded, missing created_at
    no requester, 2026-10-15 10:00  -> excluded, missing customer_id

With a customers table (all four signed up 2026-01-01, so all active from January):
September 2 contacts / 4 = 0.5; October 6 / 4 = 1.5 with 5 cases (1.25); November 2 / 4 = 0.5.
Contacts only (customers derived, active = a counted contact in the 365 days before the period end):
September: A and B active, 2 / 2 = 1.0; October 6 / 4 = 1.5; November 2 / 4 = 0.5.
"""

from __future__ import annotations

import csv
import inspect
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import kit
from kit.core.schema import PRESETS_DIR, TABLES, load_mapping, presets

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples" / "presets"

#: preset -> (example file, the four customer ids A-D as the product writes them, first header cells,
#: a regular expression for the created-at text as the product writes it)
CASES = {
    "zendesk": (
        "zendesk_tickets.csv",
        ["381220014", "381220022", "381220035", "381220047"],
        ["Summation column", "Id", "Requester", "Requester id"],
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$",
    ),
    "freshdesk": (
        "freshdesk_tickets.csv",
        ["73000101", "73000102", "73000103", "73000104"],
        ["Ticket ID", "Subject", "Status", "Priority", "Source", "Type"],
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
    ),
    "intercom": (
        "intercom_conversations.csv",
        ["u-1001", "u-1002", "u-1003", "u-1004"],
        ["Conversation ID", "Conversation started at", "Channel"],
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
    ),
    "hubspot": (
        "hubspot_tickets.csv",
        ["9120001", "9120002", "9120003", "9120004"],
        ["Ticket ID", "Ticket name", "Pipeline", "Ticket status", "Create date"],
        r"^\d{4}-\d\d-\d\d \d\d:\d\d$",
    ),
    "salesforce": (
        "salesforce_cases.csv",
        ["0015g00000AbCdEAAV", "0015g00000AbCdFAAV", "0015g00000AbCdGAAV", "0015g00000AbCdHAAV"],
        ["Id", "IsDeleted", "MasterRecordId", "CaseNumber", "ContactId", "AccountId"],
        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$",
    ),
    "servicenow": (
        "servicenow_incidents.csv",
        ["Ana Ortiz", "Ben Cole", "Chen Wu", "Dara Ali"],
        ["number", "opened_at", "short_description", "caller_id"],
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$",
    ),
}

#: period -> (contacts, active customers, frequency) with the customers table
WITH_CUSTOMERS = {"2026-09-01": (2, 4, 0.5), "2026-10-01": (6, 4, 1.5), "2026-11-01": (2, 4, 0.5)}
#: the same without one (customers derived from the contacts)
CONTACTS_ONLY = {"2026-09-01": (2, 2, 1.0), "2026-10-01": (6, 4, 1.5), "2026-11-01": (2, 4, 0.5)}


def _customers(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ids, "signup_date": "2026-01-01"})


def _by_period(result) -> dict[str, tuple]:
    f = result.frame
    return {
        p.strftime("%Y-%m-%d"): (int(c), int(a), float(q))
        for p, c, a, q in zip(f["period"], f["contacts"], f["active_customers"], f["frequency"], strict=True)
    }


def _contacts_only_landed() -> bool:
    params = inspect.signature(kit.contact_frequency).parameters
    return "active_lookback" in params


def test_every_preset_has_an_example_and_a_source_note():
    assert set(presets()) == set(CASES)
    for name in presets():
        text = (PRESETS_DIR / f"{name}.yml").read_text()
        assert text.startswith("#") and "data/examples/presets/" in text, name
        contacts = load_mapping(name)["contacts"]
        assert set(TABLES["contacts"].required) <= set(contacts.values()), name


@pytest.mark.parametrize("preset", sorted(CASES))
def test_example_header_and_timestamps_are_the_products(preset):
    file, ids, header_start, ts_pattern = CASES[preset]
    with open(EXAMPLES / file, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    assert header[: len(header_start)] == header_start
    assert len(rows) == 13  # header + 12 tickets
    mapped = load_mapping(preset)["contacts"]
    created = next(src for src, dst in mapped.items() if dst == "created_at" and src in header)
    stamps = [r[header.index(created)] for r in rows[1:] if r[header.index(created)]]
    assert len(stamps) == 11 and all(re.match(ts_pattern, s) for s in stamps), stamps[:2]


@pytest.mark.parametrize("preset", sorted(CASES))
def test_preset_maps_the_example_and_computes_frequency(preset):
    file, ids, _, _ = CASES[preset]
    if preset == "zendesk":
        pytest.importorskip("kit.core.timeformats")  # "... +0000" needs the timestamp-format detection
    result = kit.contact_frequency(EXAMPLES / file, _customers(ids), mapping=preset, freq="month")
    assert _by_period(result) == WITH_CUSTOMERS
    october = result.frame[result.frame["period"] == pd.Timestamp("2026-10-01")].iloc[0]
    assert october["cases"] == 5 and october["case_frequency"] == pytest.approx(1.25)
    assert october["repeat_contact_rate"] == pytest.approx(1 / 6)
    account = result.ledger.tables["contacts"]
    assert (account.read, account.used) == (12, 10)
    assert account.excluded == {"missing created_at": 1, "missing customer_id": 1}


@pytest.mark.parametrize("preset", sorted(CASES))
def test_preset_example_in_contacts_only_mode(preset):
    if not _contacts_only_landed():
        pytest.skip("contacts-only mode (customers=None) has not landed")
    file = CASES[preset][0]
    if preset == "zendesk":
        pytest.importorskip("kit.core.timeformats")
    result = kit.contact_frequency(EXAMPLES / file, None, mapping=preset, freq="month")
    assert _by_period(result) == CONTACTS_ONLY


def test_zendesk_json_export_flattened():
    """The full JSON export (one ticket per line, via as an object) maps once flattened with json_normalize."""
    records = [json.loads(line) for line in (EXAMPLES / "zendesk_tickets.json").read_text().splitlines()]
    # convert_dtypes keeps requester_id integral: with one ticket lacking it, pandas would make it float
    # (381220014.0), which no customer id matches
    frame = pd.json_normalize(records).convert_dtypes()
    assert {"id", "requester_id", "created_at", "via.channel"} <= set(frame.columns)
    ids = [381220014, 381220022, 381220035, 381220047]
    result = kit.contact_frequency(frame, _customers(ids), mapping="zendesk", freq="month")
    assert _by_period(result) == WITH_CUSTOMERS
    assert set(result.frame.columns) >= {"period", "frequency"}


def test_a_preset_entry_can_be_overridden():
    """HubSpot B2C: count per contact instead of per company (A-D have contact ids 565-568). The file holds
    both id columns, so the preset's company entry must give way to the override."""
    mapping = {"preset": "hubspot", "contacts": {"Associated Contact IDs": "customer_id"}}
    spec = load_mapping(mapping)["contacts"]
    assert [k for k, v in spec.items() if v == "customer_id"] == ["Associated Contact IDs"]
    result = kit.contact_frequency(
        EXAMPLES / "hubspot_tickets.csv", _customers(["565", "566", "567", "568"]), mapping=mapping, freq="month"
    )
    assert _by_period(result) == WITH_CUSTOMERS
