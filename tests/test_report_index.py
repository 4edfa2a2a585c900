"""Report navigation without rendering: the indexes and page headers from hand-written summary.json files.

Periods, alerts and ledgers are made up by hand here; the expected order (period start, newest
first, across grains) and the expected lines are worked out from them, not from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from kit.report import html as pages


def fake_summary(period, grain, start, end, *, alert=False, reasons=(), flagged=()):
    return {
        "period": period,
        "grain": grain,
        "start": start,
        "end": end,
        "tz": "UTC",
        "segment": None,
        "complete": True,
        "frequency": 0.71,
        "ci": [0.69, 0.73],
        "contacts": 7100,
        "active_customers": 10000,
        "cases": 6000,
        "repeat_contact_rate": 0.155,
        "previous": {"reference": "prev", "frequency": 0.6, "relative_change": 0.1833},
        "last_year": {"reference": "ly", "frequency": 0.76, "relative_change": -0.0658},
        "headline_change": {
            "basis": "same period last year",
            "label": f"vs the same {grain} last year",
            "reference": "ly",
            "relative_change": -0.0658,
            "significant": True,
        },
        "alert": alert,
        "alert_reasons": list(reasons),
        "benchmark": {"available": True, "reading": "moderate"},
        "anomalies": {"available": True, "periods_checked": 36, "flagged": list(flagged)},
        "sentences": ["One <b>sentence</b>."],
        "data_quality": {
            "contacts": {
                "read": 304140,
                "used": 293153,
                "excluded": {"unknown customer": 25, "out of scope: outside the periods": 10927, "bad date": 35},
                "excluded_quality": 60,
                "out_of_scope": 10927,
                "balanced": True,
            }
        },
    }


PERIODS = [  # (label, grain, start, end): deliberately not in name order
    ("2026-Q3", "quarter", "2026-07-01", "2026-09-30"),
    ("2026-10", "month", "2026-10-01", "2026-10-31"),
    ("2026-W40", "week", "2026-09-28", "2026-10-04"),
    ("2026-09", "month", "2026-09-01", "2026-09-30"),
    ("2026-Q4", "quarter", "2026-10-01", "2026-12-31"),
]


def write_reports(out: Path) -> None:
    for label, grain, start, end in PERIODS:
        folder = out / label
        folder.mkdir(parents=True)
        alert = label == "2026-10"
        data = fake_summary(label, grain, start, end, alert=alert, reasons=["frequency changed +18.3% <x>"] * alert)
        (folder / "summary.json").write_text(json.dumps(data))
    (out / "2026-10" / "report.html").write_text("<html></html>")
    (out / "2026-09.failed").mkdir()


def test_top_index_sorts_by_period_start_across_grains_and_shows_alerts(tmp_path):
    write_reports(tmp_path)
    page = pages.write_top_index(tmp_path).read_text()
    order = re.findall(r'href="([^"/]+)/index.html"', page)
    # by start, newest first; the quarter starting with October ends later, so it comes first
    assert order == ["2026-Q4", "2026-10", "2026-W40", "2026-09", "2026-Q3"]
    row = next(r for r in page.split("<tr>") if 'href="2026-10/index.html"' in r)
    assert row.index('href="2026-10/report.html"') < row.index('href="2026-10/index.html"')  # one-page report first
    assert "alert" in row and "+18.3% &lt;x&gt;" in row
    q3 = next(r for r in page.split("<tr>") if 'href="2026-Q3/index.html"' in r)
    assert "no alert" in q3 and "per quarter" in q3 and "report.html" not in q3
    assert "vs same period last year" in page and re.search(r"[−-]6\.6% \(ly\)", row)  # the headline change
    assert "2026-09.failed" not in page


def test_period_index_shows_quality_alert_anomalies_and_links(tmp_path):
    data = fake_summary(
        "2026-Q3",
        "quarter",
        "2026-07-01",
        "2026-09-30",
        alert=True,
        reasons=["2026-Q3 is an anomaly (high, after <release>)"],
        flagged=[{"period": "2026-Q3", "direction": "high", "explanation": "after <release>"}],
    )
    nbs = [{"title": "Overview", "html": "01_overview.html", "ipynb": "01_overview.ipynb"}]
    page = pages.period_index(data, nbs, title="Contacts", executive="report.html")
    text = re.sub(r"<[^>]+>", "", page)
    # the ledger balances on the page: 293,153 + 60 + 10,927 = 304,140
    assert "304,140 contacts read = 293,153 counted + 60 excluded for data quality" in text
    assert "+ 10,927 out of scope (outside the periods 10,927)" in text
    assert "Alert: 2026-Q3 is an anomaly (high, after &lt;release&gt;)" in text
    assert "per quarter" in text and "vs the same quarter last year" in text and "vs the previous quarter" in text
    assert "2026-Q3: high, after &lt;release&gt;" in text  # summary.json's anomalies are on the page
    assert "<b>sentence</b>" not in page and "&lt;b&gt;sentence" in page
    assert page.index('href="report.html"') < page.index('href="01_overview.html"')
    assert "for analysts" in re.search(r'<a href="01_overview.ipynb">[^<]*</a>', page).group(0)
    assert 'href="../index.html"' in page
    calm = pages.period_index(fake_summary("2026-09", "month", "2026-09-01", "2026-09-30"), nbs, title="Contacts")
    assert "No alert" in calm and "report.html" not in calm and "No unusual month among the 36" in calm


def test_notebook_page_has_heading_back_links_and_contents(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Overview\n\nIntro."),
        nbformat.v4.new_markdown_cell("## Summary\ntext"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("## Data quality &amp; &lt;scope&gt;\ntext"),  # as escape_markdown writes it
    ]
    page = pages.to_html(nb, title="Contacts: 2026-Q3 – Overview")
    nav = page[page.index('<nav class="kit-nav"') : page.index("</nav>")]
    assert 'href="index.html"' in nav and 'href="../index.html"' in nav
    assert "Contacts: 2026-Q3 – Overview" in nav
    anchors = re.findall(r'href="#([^"]+)"', nav)
    assert len(anchors) == 2 and all(f'id="{a}"' in page for a in anchors)
    assert "Data quality &amp; &lt;scope&gt;" in nav and "<scope>" not in nav
    assert page.index("kit-nav") < page.index("Intro.")


def test_benchmark_words_with_dollars_and_brackets_render_as_text():
    # the Q3 report showed "\(0.80–2.00\)" and "&gt;$10M": "$...$" was read as math, its text shown raw
    from kit.present.display import markdown

    said = "the ARR band >$10M (0.80–2.00): within; the <$1M band (1.0–2.0): above"
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    out = markdown([said])
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": out.data, "text/plain": "x"})]
    nb.cells = [cell]
    page = pages.to_html(nb, nav=False)
    item = re.search(r"<li>(.*?)</li>", page, re.S).group(1)
    assert item == "the ARR band &gt;$10M (0.80–2.00): within; the &lt;$1M band (1.0–2.0): above"


def test_benchmark_sentence_names_at_most_three_bands():
    # without a profile all 14 published bands match: the sentence names three and counts the rest
    from kit.analysis.benchmarks import place, table

    first = place(0.7, None, ci=(0.65, 0.75)).sentences()[0]
    assert first.count("the industry band") + first.count("band ") <= 6 and f"all {len(table())}" in first
    assert f"{len(table()) - 3} more bands" in first and "benchmark.profile" in first
    assert "more bands" not in place(0.7, {"industry": "SaaS (B2B)"}, ci=(0.65, 0.75)).sentences()[0]


def test_quarterly_headline_says_per_quarter():
    from kit.report.overview import Headline

    head = Headline("2026-Q3", "quarter", "2026-07-01", "2026-09-30", 2.1, 2.0, 2.2, 21, 20, 1, 10, 9, 2.0, 1 / 21)
    said = head.describe()
    assert said.startswith("In 2026-Q3, customers contacted support 2.10 times per active customer per quarter (")


def test_memoised_report_functions_keep_their_keyword_calls():
    """shared.memo wraps rankings and new_vs_existing; the review found keyword calls (contacts=...,
    customers=...) failed with "missing positional argument 'ds'"."""
    from kit.report.overview import rankings

    ranked = rankings(contacts="data/examples/contacts.csv", customers="data/examples/customers.csv", period="2026-02")
    assert not ranked.frame.empty
