"""The single-file report (kit.report.executive) and the one table formatter (kit.present.display.table).

Fast tests build the page from a hand-made summary dict whose numbers are chosen so that every
expected figure is worked out by hand (1,200 contacts against 1,000 the month before is +20.0%).
The slow test reads the rendered report of tests/test_report.py (rendered once per session) and
checks every headline number on the page against summary.json and against kit.contact_frequency.
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from kit.present import display
from kit.report import context as reportconfig
from kit.report import executive
from kit.report.html import external_fetches

SCRIPT = "<script>alert(1)</script>"
SECRET = "s3cr3t-EXEC-4d2c"
MISSING_WORDS = re.compile(r"^(NaN|NaT|None|nan|null|inf)$")


# --------------------------------------------------------------------------- a hand-made summary
def month_series(n: int = 25) -> list[dict]:
    """25 months ending 2026-10: contacts 1,000 in 2026-09, 1,500 in 2025-10 and 1,200 in 2026-10."""
    rows = []
    for i, start in enumerate(pd.date_range("2024-10-01", periods=n, freq="MS")):
        label = start.strftime("%Y-%m")
        contacts = {"2026-10": 1200, "2026-09": 1000, "2025-10": 1500}.get(label, 1100 + 10 * i)
        customers = {"2026-10": 1600, "2026-09": 1600, "2025-10": 1500}.get(label, 1500)
        cases = {"2026-10": 900, "2026-09": 800, "2025-10": 1200}.get(label, 900)
        rate = {"2026-10": 0.25, "2026-09": 0.20, "2025-10": 0.20}.get(label, 0.2)
        rows.append(
            {
                "period": label,
                "start": start.strftime("%Y-%m-%d"),
                "complete": True,
                "frequency": contacts / customers,
                "ci_low": contacts / customers * 0.95,
                "ci_high": contacts / customers * 1.05,
                "contacts": contacts,
                "active_customers": customers,
                "cases": cases,
                "follow_ups": contacts - cases,
                "repeat_contact_rate": rate,
                "case_frequency": cases / customers,
            }
        )
    rows[3]["frequency"] = None  # a gap in the series: drawn as a gap, never as "NaN"
    return rows


def rankings(n: int = 30) -> list[dict]:
    out = [
        {
            "dimension": "tier",
            "group": SCRIPT if i == 0 else f"group {i}",
            "frequency": 0.5 + i / 100,
            "ci_low": 0.4 + i / 100,
            "ci_high": 0.6 + i / 100,
            "contacts": 1000 + i,
            "active_customers": 2000 + i,
            "share_of_contacts": 0.01 * (i + 1),
            "rank": i + 1 if i < 25 else None,  # small groups are listed but not ranked
            "ranked": i < 25,
        }
        for i in range(n)
    ]
    out[1]["group"] = "=HYPERLINK(1)"  # a spreadsheet formula in a segment name
    return out


def summary_dict(grain: str = "month") -> dict:
    return {
        "period": "2026-10",
        "grain": grain,
        "start": "2026-10-01",
        "end": "2026-10-31",
        "tz": "UTC",
        "segment": None,
        "complete": True,
        "frequency": 0.75,  # 1,200 / 1,600
        "ci": [0.7125, 0.7875],
        "contacts": 1200,
        "active_customers": 1600,
        "cases": 900,
        "follow_ups": 300,
        "contacting_customers": 700,
        "case_frequency": 0.5625,
        "repeat_contact_rate": 0.25,
        "dedup_window": "48h",
        "denominator": {"kind": "customers table", "active_lookback": None, "note": None},
        # 0.75 / 0.625 - 1 = +20%; 0.75 / 1.0 - 1 = -25%
        "previous": {
            "reference": "2026-09",
            "frequency": 0.625,
            "relative_change": 0.2,
            "p_value": 1.1e-24,
            "significant": True,
            "method": "exact conditional Poisson test",
        },
        "last_year": {
            "reference": "2025-10",
            "frequency": 1.0,
            "relative_change": -0.25,
            "p_value": float("nan"),
            "significant": None,
            "method": "relative change only",
        },
        "headline_change": {
            "basis": "same period last year",
            "label": "vs the same month last year",
            "reference": "2025-10",
            "reference_frequency": 1.0,
            "relative_change": -0.25,
            "significant": None,
        },
        "alert": True,
        "alert_reasons": [f"tier {SCRIPT} needs a look"],
        "benchmark": {
            "available": True,
            "reading": "moderate",
            "per_month": 0.75,
            "bands": [
                {"category": "industry", "segment": "SaaS & <b>B2B</b>", "low": 0.3, "high": 0.8, "position": "within"}
            ],
            "text": ["At 0.75 (95% CI 0.71–0.79) the frequency sits within the band."],
            "notes": [],
        },
        "anomalies": {
            "available": True,
            "threshold": 3.5,
            "periods_checked": 24,
            "partial_left_out": [],
            "flagged": [{"period": "2026-02", "direction": "high", "size": 0.3, "z": 4.2, "explanation": SCRIPT}],
            "latest_flagged": False,
        },
        "forecast": {
            "available": True,
            "method": "ets",
            "model": "ETS(A,N,A) m=12, log scale",
            "horizon": [{"period": "2026-11", "mean": 0.8, "lo_80": 0.7, "hi_80": 0.9, "lo_95": 0.65, "hi_95": 0.95}],
            "notes": [],
        },
        "highest": {"tier": {"group": SCRIPT, "frequency": 0.79, "ci": [0.69, 0.89]}},
        "sentences": [
            "In 2026-10, customers contacted support 0.75 times per active customer (95% CI 0.71–0.79).",
            "Frequency rose 20% against the previous month, a statistically significant change.",
            f"The tier {SCRIPT} has the highest frequency.",
        ],
        "data_quality": {
            "contacts": {
                "read": 1500,
                "used": 1200,
                "excluded": {"duplicate contact_id": 100, "out of scope: direction is not inbound": 200},
                "out_of_scope": 200,
                "warnings": {},
            }
        },
        "series": month_series(),
        "rankings": rankings(),
        "notes": [],
    }


@pytest.fixture(scope="module")
def page() -> str:
    return executive.build(None, summary_dict())


class Page(HTMLParser):
    """Text nodes, ids, hrefs, images and SVG labels of a page."""

    def __init__(self, html: str):
        super().__init__()
        self.texts, self.ids, self.hrefs, self.imgs, self.svgs, self.cards = [], set(), [], [], [], {}
        self._card = None
        self._stack = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a)
        if tag == "svg":
            self.svgs.append(a)
        if "data-kpi" in a:
            self._card = a["data-kpi"]
            self.cards[self._card] = []
        self._stack.append(tag)

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if data.strip():
            self.texts.append(data.strip())
            if self._card is not None:
                self.cards[self._card].append(data.strip())


def card_value(p: Page, key: str) -> str:
    return p.cards[key][1]  # [name, value, sub, changes...]


# --------------------------------------------------------------------------- the page
def test_title_heading_and_kpi_sentence(page):
    assert "<title>Customer Contact Frequency: 2026-10 (monthly report)</title>" in page
    assert "<h1>Customer Contact Frequency: 2026-10 (monthly report)</h1>" in page
    assert "contacts per active customer per month</b>" in page
    # summary.json's one headline change: against the same month last year (1.00 -> 0.75)
    assert "it was <b>0.75</b>, 25.0% lower than the same month last year (2025-10, 1.00)." in page
    quarter = executive.build(None, {**summary_dict("quarter"), "period": "2026-Q4"})
    assert "2026-Q4 (quarterly report)" in quarter and "contacts per active customer per quarter" in quarter
    assert "per month" not in quarter.split('id="benchmark"')[0]  # benchmark bands are per month by definition


def test_cards_values_and_changes_worked_by_hand(page):
    p = Page(page)
    assert set(p.cards) == {"frequency", "contacts", "active_customers", "cases", "repeat_contact_rate"}
    assert card_value(p, "frequency") == "0.75" and "95% interval 0.71–0.79" in p.cards["frequency"]
    assert card_value(p, "contacts") == "1,200" and card_value(p, "active_customers") == "1,600"
    assert card_value(p, "cases") == "900" and card_value(p, "repeat_contact_rate") == "25.0%"
    text = " ".join(p.cards["contacts"])
    assert "▲ +20.0% vs 2026-09 (previous month)" in text  # 1,200 / 1,000
    assert "▼ -20.0% vs 2025-10 (same month last year)" in text  # 1,200 / 1,500
    assert "■ +0.0% vs 2026-09" in " ".join(p.cards["active_customers"])  # 1,600 both months
    cases = " ".join(p.cards["cases"])
    assert "+12.5% vs 2026-09" in cases and "-25.0% vs 2025-10" in cases  # 900/800, 900/1,200
    rate = " ".join(p.cards["repeat_contact_rate"])
    assert "+5.0 pts vs 2026-09" in rate and "+5.0 pts vs 2025-10" in rate  # 25% against 20%
    freq = " ".join(p.cards["frequency"])
    assert "+20.0% vs 2026-09 (previous month); unlikely to be noise" in freq
    assert "-25.0% vs 2025-10 (same month last year)" in freq
    sparks = [s for s in p.svgs if s.get("viewbox") == "0 0 160 34"]
    assert len(sparks) == 5 and all(" to 2026-10: from " in s["aria-label"] for s in sparks)


def test_jargon_lives_in_the_method_notes(page):
    main, notes = page.split('id="method-notes"')
    assert "p = 1.1e-24" in notes and "ETS(A,N,A)" in notes and "Poisson" in notes
    for jargon in ("p=", "p = ", "ETS(", "statistically significant", "95% CI", "z = "):
        assert jargon not in main, jargon
    assert "unlikely to be noise" in main


def test_sections_toc_and_internal_links(page):
    p = Page(page)
    for sid in ("trend", "segments", "data-quality", "anomalies", "benchmark", "glossary", "method-notes"):
        assert sid in p.ids and f"#{sid}" in p.hrefs
    assert all(h[1:] in p.ids for h in p.hrefs if h.startswith("#"))
    glossary = page.split('id="glossary"')[1].split("</section>")[0]
    for term in ("Active customer", "Follow-up", "Case", "Interval", "Repeat-contact rate", "Partial period"):
        assert f"<dt>{term}" in glossary


def test_escaping_of_planted_script(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "SaaS &amp; &lt;b&gt;B2B&lt;/b&gt;" in page
    # the title comes from report.yml: escaped too
    ctx = reportconfig.load(None, period="2026-10", title=f"Ops {SCRIPT}")
    assert "<script" not in executive.build(ctx, summary_dict()).lower()


def test_no_missing_value_words_and_images_have_alt_text(page):
    p = Page(page)
    words = [t for t in p.texts if MISSING_WORDS.match(t)]
    assert words == []
    assert not re.search(r"\b(NaN|NaT|None|nan)\b", " ".join(p.texts))
    assert all(i.get("alt") for i in p.imgs)
    assert p.svgs and all(s.get("role") == "img" and s.get("aria-label") for s in p.svgs)
    assert external_fetches(page) == [] and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_rankings_csv_data_uri_is_the_full_table(page):
    section = page.split('id="segments"')[1].split("</section>")[0]
    assert section.count("<tr>") == 1 + 20  # header and the top 20 rows
    assert "Showing the first 20 of 30 rows" in section
    href = re.search(r'href="data:text/csv;charset=utf-8;base64,([^"]+)"', section).group(1)
    full = pd.read_csv(io.StringIO(base64.b64decode(href).decode("utf-8")))
    want = pd.DataFrame(rankings())
    assert len(full) == 30 and full["contacts"].tolist() == want["contacts"].tolist()
    assert full["group"].iloc[0] == SCRIPT  # raw text inside the CSV, never in the page's markup
    assert full["group"].iloc[1] == "'=HYPERLINK(1)"  # no formula runs when the CSV is opened
    assert full["frequency"].tolist() == pytest.approx(want["frequency"].tolist())


def test_data_quality_balances_with_out_of_scope(page):
    section = page.split('id="data-quality"')[1].split("</section>")[0]
    assert "contacts: balanced." in section and "1,500 rows read = 1,200 counted + 300 excluded" in section
    assert "out of scope: direction is not inbound" in section
    broken = summary_dict()
    broken["data_quality"]["contacts"]["excluded"] = {"duplicate contact_id": 100}
    section = executive.build(None, broken).split('id="data-quality"')[1]
    assert "does not balance" in section and "200 rows are not accounted for" in section


def test_missing_comparisons_and_a_bare_dict(page):
    bare = executive.build(None, {"period": "2026-10", "grain": "month", "frequency": float("nan"), "ci": [None, None]})
    p = Page(bare)
    assert not re.search(r"\b(NaN|NaT|None|nan)\b", " ".join(p.texts))
    assert "no comparison" in bare and card_value(p, "frequency") == "–"


def test_no_secret_in_the_page(tmp_path, monkeypatch):
    cfg = tmp_path / "report.yml"
    cfg.write_text(
        textwrap.dedent(
            """
            title: Secret test
            data:
              connection:
                url: "postgres://analyst@db.example.com:5432/support"
                secret_env: KIT_EXEC_SECRET
            """
        )
    )
    monkeypatch.setenv("KIT_EXEC_SECRET", SECRET)
    ctx = reportconfig.load(cfg, period="2026-10")
    page = executive.build(ctx, summary_dict())
    assert SECRET not in page and "db.example.com" not in page and "Secret test: 2026-10" in page


def test_segment_drilldown_heading_escaped():
    data = {**summary_dict(), "segment": {"column": "region", "value": SCRIPT}}
    page = executive.build(None, data)
    assert "region = &lt;script&gt;" in page and "<script" not in page.lower()


# --------------------------------------------------------------------------- the table formatter
def test_table_formats_for_people():
    df = pd.DataFrame(
        {
            "account_id": [14000, 141],
            "days_overdue": [14.0, np.nan],
            "last_contact": pd.to_datetime(["2026-10-06", None]),
            "overdue": [True, False],
            "share_of_contacts": [0.1234, 0.5],
            "contacts": [12345, 7],
            "z": [1.600774, 27.42153],
            "note": [SCRIPT, None],
        },
        index=[140, 141],
    )
    before = df.copy()
    html = display.table(df, percent=["share_of_contacts"], units={"days_overdue": "days"}, labels={"z": "Score"}).data
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is untouched
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", html)
    assert cells[:8] == ["Account id", "Days overdue (days)", "Last contact", "Overdue", "Share of contacts",
                         "Contacts", "Score", "Note"]  # fmt: skip
    assert cells[8:16] == [
        "14000",
        "14",
        "2026-10-06",
        "yes",
        "12.3%",
        "12,345",
        "1.60",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ]
    assert cells[16:] == ["141", "–", "–", "no", "50.0%", "7", "27.42", "–"]
    assert "140" not in cells and ">nan<" not in html.lower() and "NaT" not in html and "00:00" not in html


def test_table_times_only_when_not_midnight_and_css_wraps():
    html = display.table_html(pd.DataFrame({"at": pd.to_datetime(["2026-10-06 13:20", "2026-10-07"], format="mixed")}))
    assert "2026-10-06 13:20" in html and ">2026-10-07<" in html
    # long text wraps at word boundaries ("anywhere" broke "region" into "regio n"), never overflows
    assert "overflow-wrap: break-word" in html and "nowrap" not in html and "max-width: 100%" in html


def test_table_caps_rows_and_attaches_the_full_csv():
    df = pd.DataFrame({"group": [f"g{i}" for i in range(50)], "contacts": range(50)})
    html = display.table_html(df, max_rows=10, caption="Top groups", style=False)
    assert html.count("<tr>") == 11 and "Showing the first 10 of 50 rows" in html
    m = re.search(r'download="top-groups.csv" href="data:text/csv;charset=utf-8;base64,([^"]+)"', html)
    back = pd.read_csv(io.StringIO(base64.b64decode(m.group(1)).decode()))
    pd.testing.assert_frame_equal(back, df)
    assert "download=" not in display.table_html(df.head(5))  # short tables attach nothing by default


# --------------------------------------------------------------------------- the rendered report
@pytest.mark.slow
def test_headline_numbers_on_the_page_equal_summary_and_contact_frequency(tmp_path_factory, small_sample):
    import json

    from test_report import render_overview_once

    import kit

    out, data = render_overview_once(tmp_path_factory.getbasetemp() / "kit_report_e2e", small_sample)
    folder = out / "2026-10"
    s = json.loads((folder / "summary.json").read_text())
    p = Page((folder / "report.html").read_text())
    direct = (
        kit.contact_frequency(
            data / "contacts.parquet",
            data / "customers.parquet",
            freq="month",
            start="2025-10-01",
            end="2026-10-01",
            dedup_window=s["dedup_window"],
        )
        .frame.assign(label=lambda d: d["period"].dt.strftime("%Y-%m"))
        .set_index("label")
    )
    now, prev, ly = direct.loc["2026-10"], direct.loc["2026-09"], direct.loc["2025-10"]
    # the page shows summary.json's numbers, and they are kit.contact_frequency's
    for key, text in {
        "frequency": f"{now['frequency']:.2f}",
        "contacts": f"{int(now['contacts']):,}",
        "active_customers": f"{int(now['active_customers']):,}",
        "cases": f"{int(now['cases']):,}",
        "repeat_contact_rate": f"{now['repeat_contact_rate'] * 100:.1f}%",
    }.items():
        assert card_value(p, key) == text, key
        summary_text = (
            f"{s[key] * 100:.1f}%"
            if key == "repeat_contact_rate"
            else f"{s[key]:,.2f}"
            if key == "frequency"
            else f"{s[key]:,}"
        )
        assert summary_text == text, key
    assert f"95% interval {now['frequency_ci_low']:.2f}–{now['frequency_ci_high']:.2f}" in p.cards["frequency"]
    cards = {k: " ".join(v) for k, v in p.cards.items()}
    assert f"{now['frequency'] / prev['frequency'] - 1:+.1%} vs 2026-09" in cards["frequency"]
    assert f"{now['frequency'] / ly['frequency'] - 1:+.1%} vs 2025-10" in cards["frequency"]
    assert f"{now['contacts'] / prev['contacts'] - 1:+.1%} vs 2026-09" in cards["contacts"]
    assert f"{now['cases'] / ly['cases'] - 1:+.1%} vs 2025-10" in cards["cases"]
    pts = (now["repeat_contact_rate"] - prev["repeat_contact_rate"]) * 100
    assert f"{pts:+.1f} pts vs 2026-09" in cards["repeat_contact_rate"]
    assert f"In 2026-10 it was <b>{now['frequency']:.2f}</b>, " in (folder / "report.html").read_text()


@pytest.mark.browser
@pytest.mark.skipif(
    not any(__import__("shutil").which(c) for c in ("chromium", "chromium-browser", "google-chrome")),
    reason="headless Chromium is not installed (.ci/install-chromium.sh installs it in CI)",
)
def test_pdf_through_headless_chromium(tmp_path, page):
    html = tmp_path / "report.html"
    html.write_text(page, encoding="utf-8")
    pdf = executive.to_pdf(html, tmp_path / "report.pdf")
    body = pdf.read_bytes()
    assert body[:5] == b"%PDF-" and len(re.findall(rb"/Type\s*/Page[^s]", body)) >= 2  # print stylesheet pages
