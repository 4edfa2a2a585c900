"""As-of reports: the report for a period uses only the data known at the end of that period.

The reference is independent of the kit's own cut (kit.core.asof): a copy of the sample
truncated at the period's end with plain pandas, as an export taken on that day would look.
The report rendered on the full sample must equal the report rendered on that copy, number for
number in summary.json and cell for cell in every table of every page.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from kit.analysis import drivers
from kit.core.asof import known_by
from kit.metrics import accounts, coverage
from kit.metrics.features import customer_features
from kit.report import onboarding
from kit.report import render as report

PERIOD, AS_OF = "2025-12", pd.Timestamp("2025-12-31")
END = AS_OF + pd.Timedelta(days=1)  # midnight after the as-of day


# --------------------------------------------------------------------------- the reference truncation
def _later(values: pd.Series) -> pd.Series:
    """Dated on or after the day after AS_OF; unreadable and missing dates are not (they are kept)."""
    parsed = pd.to_datetime(values, errors="coerce", format="ISO8601")
    return (parsed >= END).fillna(False).astype(bool)


def truncate(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as exported at the end of AS_OF, by hand with pandas."""
    t = {k: v.copy() for k, v in tables.items()}
    t["contacts"] = t["contacts"][~_later(t["contacts"]["created_at"])]
    cust = t["customers"][~_later(t["customers"]["signup_date"])].copy()
    cust.loc[_later(cust["churn_date"]), "churn_date"] = pd.NaT  # not churned yet on the as-of day
    t["customers"] = cust
    t["surveys"] = t["surveys"][~_later(t["surveys"]["responded_at"])]
    t["orders"] = t["orders"][~_later(t["orders"]["ordered_at"])]
    t["events"] = t["events"][~_later(t["events"]["date"])]
    sh = t["stakeholders"][~_later(t["stakeholders"]["start_date"])].copy()
    sh.loc[_later(sh["end_date"]), "end_date"] = pd.NaT
    t["stakeholders"] = sh
    return t


def write(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False, coerce_timestamps="us")  # as Sample.write does
    return folder


@pytest.fixture(scope="module")
def both(small_sample, tmp_path_factory):
    base = tmp_path_factory.mktemp("as_of")
    full = write(small_sample.tables(), base / "full")
    cut = write(truncate(small_sample.tables()), base / "cut")
    return full, cut


# --------------------------------------------------------------------------- page contents
class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts, and the page's visible text."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        if data.strip():
            self.text.append(" ".join(data.split()))


def page(path: Path) -> Tables:
    p = Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def summary(folder: Path) -> dict:
    data = json.loads((folder / "summary.json").read_text())
    data.pop("generated")  # the render's clock
    return data


# --------------------------------------------------------------------------- the equality
@pytest.mark.slow
def test_report_of_a_past_period_equals_the_report_on_data_cut_at_its_end(both, tmp_path):
    full, cut = both
    a = report.render(PERIOD, data_dir=full, out=tmp_path / "a", progress=False)
    b = report.render(PERIOD, data_dir=cut, out=tmp_path / "b", progress=False)
    sa, sb = summary(a.folder), summary(b.folder)
    assert sa == sb  # every number, sentence, anomaly, forecast and ledger count
    assert sa["contacts"] > 0 and sa["complete"] is True
    assert len(a.html) == len(b.html) == 4
    n_tables = 0
    for pa, pb in zip(a.html, b.html):
        ta, tb = page(pa), page(pb)
        assert ta.tables == tb.tables, pa.name
        n_tables += len(ta.tables)
        assert ta.text == tb.text, pa.name  # every sentence and note too
    assert n_tables >= 10
    # and the pages say what they used: no signup, cutoff or account state after the period
    text = {p.name: " ".join(page(p).text) for p in a.html}
    dates = {d for t in text.values() for d in re.findall(r"\b20\d\d-\d\d-\d\d\b", t)}
    assert dates and max(dates) <= "2025-12-31"
    m = re.search(r"signed up between (\S+) and (\S+),", text["01_overview.html"])
    assert m and m[2] <= "2025-12-31"


# --------------------------------------------------------------------------- each analysis on its own
@pytest.mark.slow
def test_drivers_and_features_as_of_equal_the_truncated_data(both):
    full, cut = both
    f_full = customer_features(full / "contacts.parquet", full / "customers.parquet", as_of=AS_OF)
    f_cut = customer_features(cut / "contacts.parquet", cut / "customers.parquet")
    # the default cutoff leaves a whole 90-day outcome window by the as-of day
    assert f_full.cutoffs == f_cut.cutoffs == (END - pd.Timedelta(days=90),)
    pd.testing.assert_frame_equal(f_full.frame, f_cut.frame)
    r_full = drivers.analyze(
        full / "contacts.parquet", full / "customers.parquet", full / "surveys.parquet", as_of=AS_OF
    )
    r_cut = drivers.analyze(cut / "contacts.parquet", cut / "customers.parquet", cut / "surveys.parquet")
    assert r_full.sentences() == r_cut.sentences()
    # "in the 90 days before <cutoff>": the outcome window after the cutoff ends by the as-of day
    cuts = re.findall(r"in the 90 days before (\d{4}-\d\d-\d\d)", " ".join(r_full.sentences()))
    assert cuts and max(pd.Timestamp(c) for c in cuts) + pd.Timedelta(days=90) <= END


@pytest.mark.slow
def test_onboarding_accounts_coverage_as_of(both):
    full, cut = both
    src = {t: full / f"{t}.parquet" for t in ("contacts", "customers", "stakeholders")}
    ref = {t: cut / f"{t}.parquet" for t in ("contacts", "customers", "stakeholders")}
    o_full = onboarding.onboarding_curve(src["contacts"], src["customers"], as_of=AS_OF)
    o_cut = onboarding.onboarding_curve(ref["contacts"], ref["customers"])
    pd.testing.assert_frame_equal(o_full.frame, o_cut.frame)
    assert o_full.describe() == o_cut.describe() and o_full.data_end <= "2025-12-31"
    a_full = accounts.account_frequency(src["contacts"], src["customers"], as_of=AS_OF)
    a_cut = accounts.account_frequency(ref["contacts"], ref["customers"], as_of=AS_OF)
    pd.testing.assert_frame_equal(a_full.accounts, a_cut.accounts)
    pd.testing.assert_frame_equal(a_full.table, a_cut.table)
    c_full = coverage.coverage(src["contacts"], src["stakeholders"], src["customers"], as_of=AS_OF)
    c_cut = coverage.coverage(ref["contacts"], ref["stakeholders"], ref["customers"], as_of=AS_OF)
    pd.testing.assert_frame_equal(c_full.people, c_cut.people)
    assert c_full.describe() == c_cut.describe()


def test_known_by_by_hand():
    """A hand-made table per rule: later rows go, later end dates become unknown, bad dates stay."""
    import kit

    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5],
            "customer_id": ["a"] * 5,
            # 23:59 on the as-of day stays; midnight after it goes; garbage and missing stay
            "created_at": ["2025-12-31 23:59:59", "2026-01-01 00:00:00", "not a date", None, "2025-01-05 10:00"],
            "channel": "email",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": ["2025-01-01", "2026-01-01", "2025-06-01"],
            "churn_date": ["2026-02-01", None, "2025-12-31"],
        }
    )
    events = pd.DataFrame({"date": ["2025-12-31", "2026-01-01"], "label": ["x", "y"]})
    ds = known_by(kit.load({"contacts": contacts, "customers": customers, "events": events}), "2025-12-31")
    run = ds.con.execute  # the Dataset's connection, which holds its time zone
    got = run(ds.contacts.table)
    assert sorted(got["contact_id"]) == [1, 3, 4, 5]
    cust = run(ds.customers.table).set_index("customer_id")
    assert list(cust.index) == ["a", "c"]
    assert pd.isna(cust.loc["a", "churn_date"]) and cust.loc["c", "churn_date"] == "2025-12-31"
    assert run(ds.events.table)["label"].tolist() == ["x"]
    # in a time zone east of UTC, 23:30 UTC on the as-of day is already the next local day
    east = known_by(
        kit.load({"contacts": contacts.assign(created_at="2025-12-31T23:30:00+00:00")}, tz="Europe/Berlin"),
        "2025-12-31",
    )
    assert east.con.execute(east.contacts.table.count()) == 0


def test_a_second_cut_at_a_later_day_is_skipped_and_an_earlier_one_cuts():
    """Cutting what is already cut at day D at D or later drops nothing (so it keeps the table as is,
    cacheable); an earlier day or another time zone still cuts."""
    import kit
    from kit.core import engine

    days = [
        "2025-11-30T12:00:00+00:00",
        "2025-12-15T12:00:00+00:00",
        "2025-12-31T23:30:00+00:00",
        "2026-01-10T12:00:00+00:00",
    ]
    contacts = pd.DataFrame({"contact_id": [1, 2, 3, 4], "customer_id": "a", "created_at": days, "channel": "x"})
    ds = known_by(kit.load({"contacts": contacts}), "2025-12-31")
    count = lambda d: d.con.execute(d.contacts.table.count())  # noqa: E731
    assert count(ds) == 3
    again = known_by(ds, "2026-01-31")
    assert again.contacts.table is ds.contacts.table and count(again) == 3
    assert known_by(ds, "2025-12-31").contacts.table is ds.contacts.table
    earlier = known_by(ds, "2025-12-15")
    assert earlier.contacts.table is not ds.contacts.table and count(earlier) == 2
    # 23:30 UTC on 31 December is 1 January in Berlin: there the same day's cut drops one more row
    engine.set_session_tz(ds.con, "Europe/Berlin")
    berlin = known_by(ds, "2025-12-31")
    assert berlin.contacts.table is not ds.contacts.table and count(berlin) == 2
