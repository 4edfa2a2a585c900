"""kit.report.overview: expected values worked out by hand on tiny tables, or from the sample's planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kit
from kit.core.ledger import Ledger
from kit.errors import DataError, ParameterError
from kit.present import display
from kit.report import overview as ov
from kit.report import rankings as rankings_mod


def exact_ci(k, n):
    """Garwood interval from the chi-square quantiles, written out independently."""
    lo = stats.chi2.ppf(0.025, 2 * k) / 2 / n if k else 0.0
    return lo, stats.chi2.ppf(0.975, 2 * k + 2) / 2 / n


@pytest.fixture()
def tiny():
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "signup_date": ["2025-01-01"] * 3,
            "tier": ["gold", "gold", "silver"],
        }
    )
    # January 2026: a has 3 contacts (chat, chat, email), c has 1 (chat); days apart, so no follow-ups
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3, 4, 5, 6],
            "customer_id": ["a", "a", "a", "c", "a", "b"],
            "created_at": [
                "2026-01-02 10:00",
                "2026-01-10 10:00",
                "2026-01-20 10:00",
                "2026-01-15 09:00",
                "2025-12-05 10:00",
                "2025-12-20 10:00",
            ],
            "channel": ["chat", "chat", "email", "chat", "chat", "phone"],
        }
    )
    return contacts, customers


def test_rankings_by_hand(tiny):
    contacts, customers = tiny
    r = ov.rankings(contacts, customers, period="2026-01", segments=["tier", "plan"], min_customers=1)
    notes, r = r.notes, r.frame
    got = {
        (d, g): (f, n, a)
        for d, g, f, n, a in r[["dimension", "group", "frequency", "contacts", "active_customers"]].itertuples(
            index=False
        )
    }
    assert got[("tier", "gold")] == (1.5, 3, 2)  # 3 contacts / customers a, b
    assert got[("tier", "silver")] == (1.0, 1, 1)
    assert got[("channel", "chat")] == (1.0, 3, 3)  # channels share the 3 active customers
    assert got[("channel", "email")][0] == pytest.approx(1 / 3)
    assert r.loc[r["dimension"] == "tier", "group"].tolist() == ["gold", "silver"]  # ranked by frequency
    assert any("plan" in n for n in notes)
    gold = r[(r["dimension"] == "tier") & (r["group"] == "gold")].iloc[0]
    assert (gold["ci_low"], gold["ci_high"]) == pytest.approx(exact_ci(3, 2))
    assert r.loc[r["dimension"] == "channel", "share_of_contacts"].sum() == pytest.approx(1.0)


def test_small_groups_listed_but_not_ranked(tiny):
    contacts, customers = tiny
    r = ov.rankings(contacts, customers, period="2026-01", segments=["tier"], channel=False, min_customers=2).frame
    silver = r[r["group"] == "silver"].iloc[0]
    assert not silver["ranked"] and pd.isna(silver["rank"])


def test_rankings_one_pass_equals_one_pass_per_dimension(sample_dir, monkeypatch):
    c, u = sample_dir / "contacts.parquet", sample_dir / "customers.parquet"
    cross = ov.rankings(c, u, period="2026-10", segments=["tier", "region"]).frame
    monkeypatch.setattr(rankings_mod, "MAX_CROSS_CELLS", 0)
    single = ov.rankings(c, u, period="2026-10", segments=["tier", "region"]).frame
    pd.testing.assert_frame_equal(cross, single)
    direct = kit.contact_frequency(c, u, by="tier", start="2026-10", end="2026-10").frame.set_index("tier")
    mine = cross[cross["dimension"] == "tier"].set_index("group")
    assert mine.loc[direct.index, "contacts"].tolist() == direct["contacts"].tolist()
    assert mine.loc[direct.index, "active_customers"].tolist() == direct["active_customers"].tolist()


def test_onboarding_curve_by_hand():
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "signup_date": ["2026-01-01", "2026-01-05", "2025-12-01"],
            "churn_date": [None, "2026-01-20", None],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": range(8),
            "customer_id": ["A", "A", "A", "A", "B", "B", "B", "C"],
            "created_at": [
                "2026-01-01 09:00",
                "2026-01-03 09:00",
                "2026-01-09 09:00",
                "2026-03-31 09:00",
                "2026-01-05 09:00",
                "2026-01-13 09:00",
                "2026-01-19 09:00",
                "2026-01-02 09:00",
            ],
            "channel": "chat",
        }
    )
    result = ov.onboarding_curve(contacts, customers, weeks=12)
    curve = result.frame.set_index("week")
    # C signed up before the data starts: out. A is observed for 90 days = 12 whole weeks (0..11);
    # B churns on day 15, so weeks 0-1 are whole and its day-14 contact (week 2) is left out.
    assert curve.loc[0, ["contacts", "customers"]].tolist() == [3, 2]
    assert curve.loc[1, ["contacts", "customers"]].tolist() == [2, 2]
    assert curve.loc[2, ["contacts", "customers"]].tolist() == [0, 1]
    assert curve.loc[11, "customers"] == 1
    assert curve.loc[12, ["contacts", "customers"]].tolist() == [0, 0]
    assert np.isnan(curve.loc[12, "contacts_per_customer"])
    assert curve.loc[0, "contacts_per_customer"] == 1.5
    # weeks 0-1: 5 contacts / 4 customer-weeks; weeks 2-12: 0 contacts -> ratio undefined
    assert not np.isfinite(result.onboarding_ratio)
    assert result.new_customers == 2 and result.describe().startswith("Too few new customers")


def test_onboarding_recovers_planted_factor(sample, sample_dir):
    planted = sample.ground_truth["onboarding"]
    assert planted["days"] == 14  # weeks 0 and 1 exactly
    result = ov.onboarding_curve(sample_dir / "contacts.parquet", sample_dir / "customers.parquet")
    curve = result.frame
    assert result.onboarding_ratio == pytest.approx(planted["factor"], rel=0.12)
    late = curve[curve["week"] >= 2]["contacts_per_customer"]
    assert (curve.loc[curve["week"] < 2, "ci_low"] > late.max()).all()


def test_headline_and_comparisons_by_hand():
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)], "signup_date": "2024-01-01"})
    rows = []
    # 2025-10: 5 contacts; 2026-09: 10 contacts; 2026-10: 20 contacts; all 10 customers active throughout
    for month, n in (("2025-10", 5), ("2026-09", 10), ("2026-10", 20)):
        for i in range(n):
            rows.append(
                {
                    "contact_id": f"{month}-{i}",
                    "customer_id": f"c{i % 10}",
                    "created_at": f"{month}-{1 + (i // 10) * 10:02d} 0{i % 10}:00",
                    "channel": "chat",
                }
            )
    contacts = pd.DataFrame(rows)
    tr = ov.trend(contacts, customers, period="2026-10", periods_shown=24)
    h = ov.headline(tr, period="2026-10")
    assert (h.frequency, h.contacts, h.active_customers) == (2.0, 20, 10)
    assert (h.ci_low, h.ci_high) == pytest.approx(exact_ci(20, 10))
    assert h.previous.reference == "2026-09" and h.previous.relative_change == pytest.approx(1.0)
    assert h.last_year.reference == "2025-10" and h.last_year.relative_change == pytest.approx(3.0)
    if h.previous.p_value is not None:  # kit.analysis.seasonality present: exact conditional test
        assert h.previous.p_value == pytest.approx(stats.binomtest(20, 30, 0.5).pvalue)
    with pytest.raises(DataError):
        ov.headline(tr, period="2026-05")  # no contacts that month


def _three_months(last_year: int):
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)], "signup_date": "2024-01-01"})
    rows = [
        {
            "contact_id": f"{month}-{i}",
            "customer_id": f"c{i % 10}",
            "created_at": f"{month}-{1 + (i // 10) * 10:02d} 0{i % 10}:00",
            "channel": "chat",
        }
        for month, n in (("2025-10", last_year), ("2026-09", 10), ("2026-10", 20))
        for i in range(n)
    ]
    tr = ov.trend(pd.DataFrame(rows), customers, period="2026-10", periods_shown=24)
    return ov.describe_period(ov.headline(tr, period="2026-10"))[1]


def test_sentence_calls_a_rise_seasonal_only_when_last_year_rose_alike():
    # +100% against September; last October had 20 contacts too (flat year over year): seasonal.
    assert "seasonal pattern seen last year" in _three_months(20)
    # last October had 5: +300% year over year, so the rise is not explained by the season.
    assert "seasonal" not in _three_months(5)


def test_incomplete_period_is_flagged(tiny):
    contacts, customers = tiny  # the last contact is on 2026-01-20
    month = ov.headline(ov.trend(contacts, customers, period="2026-01"), period="2026-01")
    assert not month.complete and "2026-01-20" in month.notes[0]
    assert "partial month" in ov.describe_period(month)[0] and "partial month" in month.describe()
    last = pd.DataFrame(
        {"contact_id": [99], "customer_id": ["b"], "created_at": ["2026-01-31 23:00"], "channel": ["chat"]}
    )
    full = pd.concat([contacts, last], ignore_index=True)
    assert ov.headline(ov.trend(full, customers, period="2026-01"), period="2026-01").complete


def test_parse_period_labels():
    assert ov.parse_period("2026-Q4", "quarter") == pd.Timestamp("2026-10-01")
    assert ov.parse_period("2026-W01", "week") == pd.Timestamp("2025-12-29")
    assert ov.parse_period("2026-10-17", "month") == pd.Timestamp("2026-10-01")
    with pytest.raises(ParameterError):
        ov.parse_period("2026-W60", "week")


def test_sentences_count_and_escaping(tiny):
    contacts, customers = tiny
    customers = customers.assign(tier=["<script>alert(1)</script>", "<script>alert(1)</script>", 'R&D "x"'])
    tr = ov.trend(contacts, customers, period="2026-01")
    h = ov.headline(tr, period="2026-01")
    ranked = ov.rankings(contacts, customers, period="2026-01", segments=["tier"], min_customers=1)
    lines = ov.describe_period(h, ranked=ranked)
    assert 3 <= len(lines) <= 5
    assert "2.00" not in lines[0] and "1.33" in lines[0]  # 4 contacts / 3 active customers
    md = display.markdown(lines).data
    assert "<script>" not in md and "&lt;script&gt;" in md
    shown = display.table(ranked.frame).data
    # quotes are harmless in text content; <, > and & must be entities
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "R&amp;D" in shown and "R&D" not in shown


def test_escape_markdown():
    # quotes stay as they are in Markdown text ("&#x27;" lost its "#" to the Markdown pass); tags and links do not
    assert display.escape_markdown('<b>"A&B"</b> [x](javascript:y)') == (
        '&lt;b&gt;"A&amp;B"&lt;/b&gt; \\[x\\]\\(javascript:y\\)'
    )


def test_data_quality_shares():
    led = Ledger()
    led.record(
        "contacts",
        "c.csv",
        read=100,
        used=90,
        excluded={"unknown customer": 6, "out of scope: x": 4},
        examples={"unknown customer": ["<c9>"]},
    )
    dq = ov.data_quality(led).set_index("reason")
    assert dq.loc["unknown customer", "share"] == pytest.approx(0.06)
    assert dq.loc["out of scope: x", "kind"] == "scope"
    assert "examples" not in ov.data_quality(led, redact=True).columns


def test_trend_is_a_result_with_its_data_range(tiny):
    contacts, customers = tiny  # contacts from 2025-12-05 to 2026-01-20
    tr = ov.trend(contacts, customers, period="2026-01", periods_shown=6)
    assert (tr.data_start, tr.data_end, tr.periods_shown, tr.freq) == ("2025-12-05", "2026-01-20", 6, "month")
    assert tr.frame["period"].tolist() == [pd.Timestamp("2025-12-01"), pd.Timestamp("2026-01-01")]
    assert tr.frame["contacts"].tolist() == [2, 4]
    assert ov.data_quality(tr).set_index(["table", "reason"]).loc[("contacts", "read"), "rows"] == 6


def test_grain_is_deprecated_for_freq(tiny):
    contacts, customers = tiny
    with pytest.warns(kit.errors.KitDeprecationWarning, match="freq"):
        tr = ov.trend(contacts, customers, period="2026-Q1", grain="quarter")
    assert tr.freq == "quarter" and tr.frame["contacts"].tolist()[-1] == 4


def test_dataset_fills_tables_and_tz(tiny, tmp_path):
    contacts, customers = tiny
    contacts.to_csv(tmp_path / "contacts.csv", index=False)
    customers.to_csv(tmp_path / "customers.csv", index=False)
    # 2026-01-20 10:00 UTC is still the 20th in Tokyo; the 2025-12-05 10:00 contact too
    tr = ov.trend(kit.load(tmp_path, tz="Asia/Tokyo"), period="2026-01")
    assert tr.params["tz"] == "Asia/Tokyo" and tr.frame["contacts"].tolist() == [2, 4]
