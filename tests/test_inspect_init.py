"""``kit inspect`` and ``kit init`` on the preset examples, with the figures worked out by hand.

The tiny examples (see tests/test_presets.py) hold 12 tickets: 10 usable, one without a created time
(missing created_at, 1/12 = 8.3%), one without a requester (missing customer_id, 8.3%). The usable ones run
from 2026-09-14 09:12 to 2026-11-12 17:20 (UTC), so the last complete month is October 2026.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kit import cli
from kit.core.profile import guess_mapping, match_presets, profile
from kit.errors import KitError
from kit.report import context
from kit.report.setup import write_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples" / "presets"
FRESHDESK = EXAMPLES / "freshdesk_tickets.csv"
FRESHDESK_HEADER = (
    "Ticket ID,Subject,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,Resolved time,"
    "Closed time,Last update time,Tags,Full name,Contact ID,Email,Company Name"
).split(",")


def test_profile_of_a_preset_example():
    p = profile(FRESHDESK)
    assert p.columns == FRESHDESK_HEADER
    assert p.preset == "freshdesk"
    assert p.mapping == {
        "Ticket ID": "contact_id",
        "Contact ID": "customer_id",
        "Created time": "created_at",
        "Source": "channel",
        "Type": "topic",
        "Agent": "person_id",
    }
    assert p.missing == []
    assert set(p.formats) == {"created_at"} and p.formats["created_at"]
    assert (p.rows, p.used) == (12, 10)
    assert p.excluded == {"missing created_at": 1, "missing customer_id": 1}
    assert p.share("missing created_at") == pytest.approx(1 / 12)
    assert (p.first, p.last) == (pd.Timestamp("2026-09-14 09:12"), pd.Timestamp("2026-11-12 17:20"))
    assert str(p.last_complete_month()) == "2026-10"


@pytest.mark.parametrize(
    "file, preset",
    [
        ("zendesk_tickets.csv", "zendesk"),
        ("freshdesk_tickets.csv", "freshdesk"),
        ("intercom_conversations.csv", "intercom"),
        ("hubspot_tickets.csv", "hubspot"),
        ("salesforce_cases.csv", "salesforce"),
        ("servicenow_incidents.csv", "servicenow"),
    ],
)
def test_each_example_is_recognised_as_its_preset(file, preset):
    header = pd.read_csv(EXAMPLES / file, nrows=0).columns.tolist()
    best, second = match_presets(header)[:2]
    assert best.name == preset
    assert len(best.required_covered) == 4 and len(best.present) == 6
    assert best.score > second.score


def test_zendesk_timestamp_format_is_detected():
    pytest.importorskip("kit.core.timeformats")
    p = profile(EXAMPLES / "zendesk_tickets.csv")
    assert p.preset == "zendesk" and "HHMM" in p.formats["created_at"]  # "2026-09-14 09:12:00 +0000"
    assert (p.rows, p.used) == (12, 10)


def test_unknown_customers_are_counted_when_a_customers_table_is_given():
    # D (73000104) is not in this customers table: its two tickets (31 Oct, 12 Nov) are unknown customers
    customers = pd.DataFrame({"customer_id": ["73000101", "73000102", "73000103"], "signup_date": "2026-01-01"})
    p = profile(FRESHDESK, customers)
    assert p.excluded == {"missing created_at": 1, "missing customer_id": 1, "unknown customer": 2}
    assert p.used == 8 and p.share("unknown customer") == pytest.approx(2 / 12)
    # the last counted contact is now B's, 3 Nov 09:00: October is still the last complete month
    assert p.last == pd.Timestamp("2026-11-03 09:00") and str(p.last_complete_month()) == "2026-10"
    assert p.ledger.tables["customers"].read == 3
    assert "customers: DataFrame (3 rows): 3 read, 3 used, 0 excluded" in p.describe()


def test_no_preset_matches_loose_names_and_missing_columns():
    frame = pd.DataFrame({"Ticket": [1], "Customer ID": ["a"], "Created_At": ["2026-10-01"]})
    p = profile(frame)
    assert p.preset is None
    assert p.mapping == {"Customer ID": "customer_id", "Created_At": "created_at"}
    assert p.missing == ["contact_id", "channel"]
    assert "no column maps to contact_id, channel" in p.describe()
    assert guess_mapping(["Ticket", "Chan"], mapping={"Ticket": "contact_id"}) == {"Ticket": "contact_id"}


def test_inspect_cli_text_and_json(capsys):
    assert cli.main(["inspect", str(FRESHDESK)]) == 0
    text = capsys.readouterr().out
    assert "preset: freshdesk (6 of its columns found" in text
    assert "  Contact ID -> customer_id" in text
    assert "coverage: 2026-09-14 09:12 to 2026-11-12 17:20 (UTC); last complete month: 2026-10" in text
    assert "rows: 12 read, 10 would be counted, 2 excluded (16.7%)" in text
    assert "  - missing customer_id: 1 (8.3%)" in text and "  - missing created_at: 1 (8.3%), e.g. 210" in text
    assert "contacts-only mode" in text
    assert cli.main(["inspect", str(FRESHDESK), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["columns"] == FRESHDESK_HEADER and data["preset"] == "freshdesk"
    assert data["excluded_share"] == {"missing created_at": 0.0833, "missing customer_id": 0.0833}
    assert data["last_complete_month"] == "2026-10" and data["preset_scores"]["freshdesk"] == 6


def test_init_writes_a_valid_report_yml(tmp_path):
    out = tmp_path / "report.yml"
    done = write_config(EXAMPLES / "salesforce_cases.csv", out=out)
    cfg = yaml.safe_load(out.read_text())
    assert cfg["mapping"] == "salesforce" and cfg["period"] == "2026-10" and cfg["segments"] == []
    assert cfg["data"]["tables"] == {"contacts": str(EXAMPLES / "salesforce_cases.csv")}
    assert done.period == "2026-10"
    ctx = context.load(out)  # the report's own reader accepts every key
    assert ctx.period == "2026-10" and ctx.mapping == "salesforce"
    assert ctx.tables == {"contacts": str(EXAMPLES / "salesforce_cases.csv")}
    assert [p.name for p in tmp_path.iterdir()] == ["report.yml"]  # written atomically: no temp file left


def test_init_refuses_to_overwrite_and_force_does(tmp_path):
    out = tmp_path / "report.yml"
    out.write_text("title: mine\n")
    with pytest.raises(KitError, match="exists; pass --force"):
        write_config(FRESHDESK, out=out)
    assert out.read_text() == "title: mine\n"
    assert cli.main(["init", "--contacts", str(FRESHDESK), "--out", str(out)]) == 2
    assert cli.main(["init", "--contacts", str(FRESHDESK), "--out", str(out), "--force"]) == 0
    assert yaml.safe_load(out.read_text())["mapping"] == "freshdesk"


def test_init_with_customers_relative_paths_and_segments(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    (data / "tickets.csv").write_bytes((EXAMPLES / "hubspot_tickets.csv").read_bytes())
    (data / "companies.csv").write_bytes((EXAMPLES / "hubspot_companies.csv").read_bytes())
    out = tmp_path / "report.yml"
    write_config(data / "tickets.csv", data / "companies.csv", out=out)
    cfg = yaml.safe_load(out.read_text())
    # paths inside the config's folder are written relative to it; Industry and Lifecycle Stage are segments
    assert cfg["data"]["tables"] == {"contacts": "exports/tickets.csv", "customers": "exports/companies.csv"}
    assert cfg["segments"] == ["Industry", "Lifecycle Stage"] and cfg["mapping"] == "hubspot"


def test_init_explains_an_export_it_cannot_map(tmp_path):
    bad = tmp_path / "export.csv"
    bad.write_text("Ticket,When\n1,2026-10-01\n")
    with pytest.raises(KitError, match="no column maps to contact_id, customer_id, created_at, channel"):
        write_config(bad, out=tmp_path / "report.yml")
    assert not (tmp_path / "report.yml").exists()


@pytest.mark.slow
def test_inspect_init_report_end_to_end(tmp_path):
    """A new user's path on the two-year HubSpot demo export: init, then `kit report --config` with no --period."""
    tickets, companies = EXAMPLES / "hubspot_tickets_2y.csv", EXAMPLES / "hubspot_companies_2y.csv"
    cfg = tmp_path / "report.yml"
    run = [sys.executable, "-m", "kit"]
    subprocess.run(
        [*run, "init", "--contacts", str(tickets), "--customers", str(companies), "--out", str(cfg)],
        check=True,
        cwd=ROOT,
    )
    assert yaml.safe_load(cfg.read_text())["period"] == "2026-10"
    done = subprocess.run(
        [*run, "report", "--config", str(cfg), "--out", str(tmp_path / "reports"), "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "reports" / "2026-10"
    assert (folder / "index.html").exists() and list(folder.glob("*.html"))
    # reference: October's tickets with a company, over the companies created by 31 October (all are)
    t = pd.read_csv(tickets, dtype=str)
    october = t[t["Create date"].str.startswith("2026-10") & t["Associated Company IDs"].notna()]
    c = pd.read_csv(companies, dtype=str)
    active = (pd.to_datetime(c["Create Date"]) <= "2026-10-31 23:59").sum()
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["contacts"], summary["active_customers"]) == (len(october), active)
    assert summary["frequency"] == pytest.approx(len(october) / active)


def test_an_ambiguous_day_month_order_asks_for_the_format_and_init_keeps_it(tmp_path, capsys):
    export = tmp_path / "tickets.csv"  # no day above 12: 1 Feb or 2 Jan?
    export.write_text(
        "Ticket ID,Contact ID,Created time,Source\n1,a,01/02/2016 01:16,Email\n2,b,03/03/2016 10:00,Phone\n"
    )
    assert cli.main(["inspect", str(export)]) == 2
    assert "--timestamp-format" in capsys.readouterr().err
    p = profile(export, timestamp_format="%d/%m/%Y %H:%M")
    assert (p.first, p.last) == (pd.Timestamp("2016-02-01 01:16"), pd.Timestamp("2016-03-03 10:00"))
    assert str(p.last_complete_month()) == "2016-02"  # 1 Feb to 3 Mar covers February
    out = tmp_path / "report.yml"
    write_config(export, out=out, timestamp_format="%d/%m/%Y %H:%M")
    ctx = context.load(out)
    assert ctx.mapping == {"preset": "freshdesk", "timestamp_format": "%d/%m/%Y %H:%M"} and ctx.period == "2016-02"
