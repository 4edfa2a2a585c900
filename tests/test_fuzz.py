"""Property-based fuzz of the loaders and the CLI (issue 15): malformed exports keep the README's promise.

Every generated example ends in exactly one of two ways: a one-line ``error:`` message with exit 2 and no
traceback, or exit 0 with a CSV result and a ledger that balances (read = used + excluded for every table).
The normal tier runs a seeded handful; ``benchmarks/fuzz.py`` runs 10,000 and counts outcomes by class.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.cli import main

CONTACT_COLUMNS = ["contact_id", "customer_id", "created_at", "channel", "topic", "direction", "handle_time"]
CUSTOMER_COLUMNS = ["customer_id", "signup_date", "churn_date", "tier"]
JUNK_COLUMNS = ["", "Customer ID", "CREATED_AT", " channel ", "x", "contact_id", "Unnamed: 0", "ümlaut"]

IDS = st.sampled_from(["a", "b", "c", "1", "1.0", "2", " a ", "", "  ", "\t", "a,b", 'q"uote', "NULL", "ä", "-1"])
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "2026-01-05 10:00",
            "2026-01-05T10:00:00Z",
            "2026-02-03 09:00:00+02:00",
            "2026-01-31",
            "31/01/2026 10:00",
            "01/31/2026",
            "29/2/2016 01:16",
            "Tue Oct 31 22:10:47 +0000 2017",
            "1767607200",
            "1767607200000",
            "46027",
            "infinity",
            "-infinity",
            "9999-12-31",
            "1900-01-01",
            "0026-01-05",
            "202600-01-01",
            "epoch",
            "now",
            "2026-02-30",
            "2026-13-01",
            "",
            " ",
            "garbage",
            "NaT",
            "null",
        ]
    ),
    st.datetimes(min_value=__import__("datetime").datetime(1800, 1, 1)).map(lambda d: d.isoformat(sep=" ")),
    st.text(max_size=12),
)
WEIGHTS = st.sampled_from(["10", "5.5", "12,5", "abc", "1e400", "-3", "", "inf", "nan", "0", "1,234.5"])
WORDS = st.sampled_from(["chat", "email", "", "phone", "inbound", "outbound", "INBOUND", " inbound", "billing", "x"])
# mostly valid options, so that most examples reach the ledger; each bad one still turns up often
WINDOWS = st.sampled_from(["48h"] * 8 + ["0", "2d", "30min", "90D", "1 day"] * 2 + ["48", "nan", "-1h", "", "abc"])


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@st.composite
def table(draw, columns: list[str], cells: dict) -> str:
    """A CSV export: the canonical columns, some dropped, renamed, repeated or joined by junk; rows of
    mixed-quality values, blank and ragged lines."""
    cols = list(columns)
    if draw(st.booleans()):
        cols = draw(st.permutations(cols))
    if draw(st.integers(0, 9)) == 0:
        cols = [c for c in cols if draw(st.booleans())] or cols[:1]
    if draw(st.integers(0, 4)) == 0:
        cols = cols + [draw(st.sampled_from(JUNK_COLUMNS))]
    n = draw(st.integers(0, 12))
    rows = []
    for _ in range(n):
        kind = draw(st.integers(0, 59))
        if kind == 0:
            rows.append([])  # a blank line
        elif kind == 1:
            rows.append([draw(cells.get(c, WORDS)) for c in cols][: draw(st.integers(0, len(cols)))])  # ragged
        else:
            rows.append([draw(cells.get(c, WORDS)) for c in cols])
    return _csv(cols, rows)


@st.composite
def cli_case(draw):
    contacts = draw(
        table(
            CONTACT_COLUMNS,
            {"contact_id": IDS, "customer_id": IDS, "created_at": TIMESTAMPS, "handle_time": WEIGHTS},
        )
    )
    customers = draw(table(CUSTOMER_COLUMNS, {"customer_id": IDS, "signup_date": TIMESTAMPS, "churn_date": TIMESTAMPS}))
    args = ["--dedup-window=" + draw(WINDOWS), "--freq", draw(st.sampled_from(["day", "week", "month", "year"]))]
    by = draw(st.sampled_from([None] * 4 + ["tier", "tier,tier", "channel", "topic,tier", "nope"]))
    if by:
        args += ["--by", by]
    if draw(st.booleans()):
        args += ["--weight", draw(st.sampled_from(["handle_time"] * 4 + ["nope"]))]
    if draw(st.integers(0, 5)) == 0:
        args.append("--same-topic")
    if draw(st.integers(0, 3)) == 0:
        args += ["--start", draw(st.sampled_from(["2026-01", "2030-01", "2025-06-15", "2015-01", "garbage"]))]
    if draw(st.integers(0, 3)) == 0:
        args += ["--end", draw(st.sampled_from(["2026-02", "2020-01", "2026-01-31"]))]
    args += ["--direction", draw(st.sampled_from(["inbound", "all"]))]
    encoding = draw(st.sampled_from(["utf-8"] * 5 + ["latin-1"]))
    return contacts, customers, args, encoding


LEDGER_LINE = re.compile(
    r"^(\w+) \((.*)\): ([\d,]+) read, ([\d,]+) used, ([\d,]+) excluded \[(balanced|NOT BALANCED)\]$"
)


def run_case(contacts: str, customers: str, args: list[str], encoding: str = "utf-8") -> str:
    """Run the CLI on one generated case and return its outcome class; raise AssertionError on a broken promise.

    Classes: ``error`` (exit 2, one ``error:`` line), ``empty`` (exit 0, header only), ``answer`` (exit 0, rows).
    """
    with tempfile.TemporaryDirectory() as tmp:
        co, cu = Path(tmp) / "contacts.csv", Path(tmp) / "customers.csv"
        co.write_bytes(contacts.encode(encoding, errors="replace"))
        cu.write_bytes(customers.encode(encoding, errors="replace"))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(["frequency", "--contacts", str(co), "--customers", str(cu), *args])
    out_text, err_text = out.getvalue(), err.getvalue()
    lines = [line for line in err_text.splitlines() if line.strip()]
    assert "Traceback" not in err_text, err_text
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("error: "), err_text
        return "error"
    assert code == 0, f"exit {code}: {err_text}"
    ledgers = [LEDGER_LINE.match(line) for line in lines]
    ledgers = [m for m in ledgers if m]
    assert {m[1] for m in ledgers} >= {"contacts", "customers"}, err_text
    for m in ledgers:
        read, used, excluded = (int(m[i].replace(",", "")) for i in (3, 4, 5))
        assert m[6] == "balanced" and read == used + excluded, err_text
    rows = out_text.strip().splitlines()
    assert rows and rows[0].startswith("period,"), out_text
    return "answer" if len(rows) > 1 else "empty"


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cli_case())
def test_malformed_exports_keep_the_promise(case):
    run_case(*case)
