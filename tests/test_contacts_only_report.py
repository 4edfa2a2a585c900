"""The periodic report without a customers table: pages and summary.json say the denominator is a proxy.

Issue 14, "No customers table": every report page names the proxy and its lookback, segments give way to
contact attributes, and the sections that need customer data (signup, churn, strategic flags) say so in one
line instead of failing the report.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings

import pandas as pd
import pytest

import kit
from kit.core.dataset import load
from kit.report import denominator as den
from kit.report.rankings import rankings

# The proxy's wording as a reader sees it (kit.metrics.frequency.proxy_note), with the lookback in days.
PROXY = "active = a counted contact from {days} days before the period start to the period end"


def _contacts() -> pd.DataFrame:
    """Three customers, by hand. Period 2026-03; lookback 30 days reaches back to 2026-01-30 00:00.

    a: two contacts in March (email, billing; chat, bug)  -> active, 2 contacts
    b: one contact 2026-02-10 (inside the lookback)       -> active, 0 contacts in March
    c: one contact 2026-01-15 (before the lookback)       -> not active
    d: one contact in March (email, bug)                  -> active, 1 contact
    """
    return pd.DataFrame(
        {
            "contact_id": ["1", "2", "3", "4", "5"],
            "customer_id": ["a", "a", "b", "c", "d"],
            "created_at": [
                "2026-03-02 10:00",
                "2026-03-20 10:00",
                "2026-02-10 10:00",
                "2026-01-15 10:00",
                "2026-03-05 10:00",
            ],
            "channel": ["email", "chat", "email", "phone", "email"],
            "topic": ["billing", "bug", "bug", "bug", "bug"],
        }
    )


def test_rankings_without_customers_rank_channel_and_topic_over_the_proxy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rankings(_contacts(), None, period="2026-03", active_lookback="30D", dedup_window=0, min_customers=1)
    f = r.frame.set_index(["dimension", "group"])
    # 3 active customers (a, b, d); March contacts: email 2 (a, d), chat 1; billing 1, bug 2
    assert set(f.index.get_level_values("dimension")) == {"channel", "topic"}
    assert f.loc[("channel", "email"), "contacts"] == 2
    assert f.loc[("channel", "email"), "frequency"] == pytest.approx(2 / 3)
    assert f.loc[("channel", "chat"), "frequency"] == pytest.approx(1 / 3)
    assert f.loc[("topic", "bug"), "frequency"] == pytest.approx(2 / 3)
    assert f.loc[("topic", "billing"), "frequency"] == pytest.approx(1 / 3)
    assert (f["active_customers"] == 3).all()
    assert f.loc[("channel", "email"), "rank"] == 1 and f.loc[("topic", "bug"), "rank"] == 1
    assert len(r.notes) == 1 and "no customers table" in r.notes[0] and "tier" in r.notes[0]


def test_denominator_and_page_note_name_the_lookback():
    only = load({"contacts": _contacts()})
    d = den.denominator(only, active_lookback="30D")
    assert d["kind"] == den.PROXY and d["active_lookback"] == "30D"
    assert PROXY.format(days=30) in d["note"]
    assert den.lookback(only, "30D") == "30D"
    both = load("data/examples")
    assert den.denominator(both, active_lookback="30D") == {"kind": den.TABLE, "active_lookback": None, "note": None}
    assert den.page_note(both) is None and den.lookback(both, "30D") is None


def test_onboarding_and_cohorts_say_they_need_signup_dates():
    from kit.errors import ParameterError
    from kit.report.onboarding import onboarding_curve

    curve = onboarding_curve(_contacts(), None)
    assert not curve.available and "customers table with signup dates" in curve.describe()
    with pytest.raises(ParameterError, match="customers table with signup dates"):
        kit.cohorts(_contacts(), None)


def _html_text(path) -> str:
    """The page's visible text: tags dropped, entities and whitespace normalised."""
    import html

    text = re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8"))
    return re.sub(r"\s+", " ", html.unescape(text))


@pytest.mark.slow
def test_contacts_only_report_renders_with_the_proxy_on_every_page(small_sample_dir, tmp_path):
    from kit.report import render as report

    data = tmp_path / "contacts_only"
    data.mkdir()
    for table in ("contacts", "surveys", "events", "orders"):  # everything but customers and stakeholders
        shutil.copy(small_sample_dir / f"{table}.parquet", data / f"{table}.parquet")
    cfg = tmp_path / "report.yml"
    cfg.write_text("active_lookback: 180D\nsegments: [tier, region]\n")
    period = "2026-09"  # a past month: the render cuts the data at its end (as_of)
    out = report.render(period, config_path=cfg, data_dir=data, out=tmp_path / "reports", progress=False)

    assert len(out.html) == 4
    for page in out.html:
        text = _html_text(page)
        assert PROXY.format(days=180) in text, page.name
    overview = _html_text(next(p for p in out.html if p.name.startswith("01")))
    assert "No new vs existing split and no onboarding load without a customers table" in overview
    churn = _html_text(next(p for p in out.html if p.name.startswith("03")))
    assert "No churn analysis without a customers table with churn dates" in churn
    accounts = _html_text(next(p for p in out.html if p.name.startswith("04")))
    assert "No strategic accounts without a customers table" in accounts

    summary = json.loads((out.folder / "summary.json").read_text())
    assert summary["denominator"]["kind"] == "derived from contacts"
    assert summary["denominator"]["active_lookback"] == "180D"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # computed apart from the report: the whole contacts file, no as_of, the same period and lookback
        expected = kit.contact_frequency(
            str(small_sample_dir / "contacts.parquet"), None, start=period, end=period, active_lookback="180D"
        ).frame.iloc[0]
    assert summary["frequency"] == pytest.approx(float(expected["frequency"]))
    assert summary["active_customers"] == int(expected["active_customers"])
    assert summary["contacts"] == int(expected["contacts"])
    assert set(summary["highest"]) <= {"channel", "topic"}  # no customer segments without customers
