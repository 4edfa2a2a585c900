"""Report pages a reader can trust (issue 17): band drops, weekday claims, event markers, ratio ticks,
small trends, the benchmark text's unmeasured causes, and plain words in the pages' main text.

Everything here is a small hand-made fixture except the last tests, which read the report that
tests/test_report.py renders once per session (no second render).
"""

from __future__ import annotations

import re
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from test_report import render_overview_once

from kit.analysis.churn import ChurnBySegment
from kit.analysis.decompose import MIN_TREND_SPAN, decompose
from kit.metrics.accounts import account_frequency, band_health
from kit.present import plots
from kit.report import overview as ov


# --------------------------------------------------------------------------- band drops
def test_band_health_puts_optimal_on_top():
    # default bands: at risk < healthy < optimal > possibly excessive
    health = band_health()
    assert health[2] > health[1] > health[0]  # at risk -> healthy -> optimal is up
    assert health[2] > health[3]  # possibly excessive -> optimal is up, not a drop
    custom = band_health([("low", 0, 2), ("mid", 2, 5), ("high", 5, float("inf"))])
    assert custom == {0: 0, 1: 1, 2: 2}  # no optimal band: more touchpoints are better


def _touches(customer: str, month: str, n: int) -> list[dict]:
    days = pd.date_range(f"{month}-02", periods=n, freq="D")
    return [
        {"contact_id": f"{customer}{month}{i}", "customer_id": customer, "created_at": f"{d:%Y-%m-%d} 10:00"}
        for i, d in enumerate(days)
    ]


def test_only_moves_to_a_worse_band_are_drops():
    # by hand, January (previous window) -> February (recent window), touchpoints a month:
    # A 12 -> 8: possibly excessive -> optimal, an improvement; B 8 -> 5: optimal -> healthy, a drop;
    # C 8 -> 12: optimal -> possibly excessive, a drop; D 5 -> 8: healthy -> optimal, an improvement.
    plan = {"A": (12, 8), "B": (8, 5), "C": (8, 12), "D": (5, 8)}
    rows = [t for c, (jan, feb) in plan.items() for t in _touches(c, "2026-01", jan) + _touches(c, "2026-02", feb)]
    contacts = pd.DataFrame(rows).assign(channel="email", direction="outbound")
    customers = pd.DataFrame({"customer_id": list(plan), "signup_date": "2025-01-01", "strategic": True})
    res = account_frequency(contacts, customers, n_periods=1, quiet_days=60, as_of="2026-02-28")
    got = res.accounts.set_index("customer_id")
    assert got.loc["A", "previous_band"] == "possibly excessive" and got.loc["A", "recent_band"] == "optimal"
    assert got["dropped_band"].to_dict() == {"A": False, "B": True, "C": True, "D": False}
    text = res.describe()
    worse = next(s for s in res.sentences() if "worse band" in s)
    assert "B (optimal to healthy)" in worse and "C (optimal to possibly excessive)" in worse
    assert "A (" not in worse and "D (" not in worse
    assert "dropped a band" not in text


# --------------------------------------------------------------------------- weekday claims
def _daily(weights, seed=3) -> pd.Series:
    idx = pd.date_range("2026-01-05", periods=182, freq="D")  # 26 whole weeks
    lam = 800 * np.asarray(weights)[idx.dayofweek]
    return pd.Series(np.random.default_rng(seed).poisson(lam) / 1000, index=idx, name="frequency")


def test_no_single_weekday_claim_when_weekdays_are_planted_equal():
    # Mon-Fri equal, weekends at 0.35: each weekday is 1 / (5.7 / 7) - 1 = 22.8% above the weekly average
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = decompose(_daily([1, 1, 1, 1, 1, 0.35, 0.35]), freq="day")
    days, lift = res.peak_days()
    assert days == [0, 1, 2, 3, 4]
    assert lift == pytest.approx(1 / (5.7 / 7) - 1, abs=0.03)
    text = res.describe(change=False)
    assert text.startswith("Monday to Friday each run about") and "no single day stands out" in text
    assert not re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday) runs", text)


def test_weekday_claim_when_one_day_is_planted_higher():
    # Thursday at 1.5: 1.5 / (6.2 / 7) - 1 = 69% above the weekly average
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = decompose(_daily([1, 1, 1, 1.5, 1, 0.35, 0.35]), freq="day")
    days, lift = res.peak_days()
    assert days == [3]
    assert lift == pytest.approx(1.5 / (6.2 / 7) - 1, abs=0.05)
    assert res.describe(change=False).startswith("Thursday runs")


# --------------------------------------------------------------------------- charts
def _x(value) -> float:
    """An x value as matplotlib's date number (lines keep Timestamps or floats)."""
    return float(value) if isinstance(value, (int, float, np.floating)) else float(mdates.date2num(pd.Timestamp(value)))


def test_events_sit_at_their_period_start_and_above_the_data():
    months = pd.date_range("2026-01-01", periods=6, freq="MS")
    frame = pd.DataFrame(
        {
            "period": months,
            "frequency": [0.5, 0.6, 0.55, 0.7, 0.65, 0.6],
            "frequency_ci_low": 0.45,
            "frequency_ci_high": 0.75,
            "complete": True,
        }
    )
    trend = ov.Trend(frame=frame, params={"freq": "month"}, periods_shown=6)
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-03-14", "2026-03-28", "2026-05-02"]),
            "label": ["release 4.2", "outage $API", "release 4.3"],
        }
    )
    ax = trend.plot(events=events)
    xs = sorted({_x(line.get_xdata()[0]) for line in ax.get_lines() if line.get_gid() == "event"})
    # two March events share one marker at 1 March (where March's point is), May's at 1 May
    assert xs == [mdates.date2num(pd.Timestamp("2026-03-01")), mdates.date2num(pd.Timestamp("2026-05-01"))]
    numbers = [t for t in ax.texts if t.get_gid() == "event-number"]
    assert [t.get_text() for t in numbers] == ["1", "2"]
    assert all(t.get_position()[1] > 1 for t in numbers)  # in axes fraction: above the plotting area
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert any("release 4.2 (14 Mar 2026); outage \\$API (28 Mar 2026)" in t for t in texts)
    # the legend sits outside the axes (to the right), not over the data
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1 - 1
    plt.close(ax.figure)


def test_forest_plot_ticks_are_plain_ratios():
    frame = pd.DataFrame(
        {
            "segment": "tier",
            "level": ["all", "basic", "pro"],
            "customers": [1000, 600, 400],
            "churned": [100, 70, 30],
            "odds_ratio": [1.36, 1.40, 1.33],
            "ci_low": [1.31, 1.33, 1.30],
            "ci_high": [1.42, 1.45, 1.38],
            "p_value": [0.001, 0.01, 0.02],
            "note": "",
        }
    )
    ax = ChurnBySegment(frame=frame, segment="tier").plot()
    ax.figure.canvas.draw()
    major = [t.get_text() for t in ax.get_xticklabels()]
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert major and not minor
    assert all(re.fullmatch(r"\d+(\.\d+)?", t) for t in major), major
    assert len(major) <= 6
    plt.close(ax.figure)


def test_a_small_trend_is_drawn_on_a_minimum_span_and_said_to_be_small():
    idx = pd.date_range("2023-01-01", periods=36, freq="MS")
    season = 1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12)
    y = pd.Series(0.625 * season * (1 + 0.005 * np.sin(np.arange(36) / 5)), index=idx, name="frequency")
    res = decompose(y)
    axes = res.plot_components()
    trend_ax = axes[1]
    lo, hi = trend_ax.get_ylim()
    assert hi - lo >= MIN_TREND_SPAN * float(res.trend.abs().mean()) - 1e-9
    assert any(t.get_gid() == "small-change" and "small change" in t.get_text() for t in trend_ax.texts)
    plt.close(trend_ax.figure)


def test_alt_text_comes_from_titles_and_labels():
    fig, ax = plt.subplots()
    ax.set_title("Contact frequency")
    ax.set_ylabel("contacts per active customer")
    assert plots.alt_text(fig) == "Chart: Contact frequency (contacts per active customer)."
    plt.close(fig)


# --------------------------------------------------------------------------- words
def test_benchmark_text_does_not_call_measured_causes_unmeasured():
    frame = pd.DataFrame(
        {
            "period": [pd.Timestamp("2026-10-01")],
            "frequency": [0.71],
            "frequency_ci_low": [0.69],
            "frequency_ci_high": [0.73],
            "repeat_contact_rate": [0.23],
            "case_frequency": [0.55],
        }
    )
    bare = ov.benchmark(frame, period="2026-10", freq="month", profile={"industry": "SaaS (B2B)"})
    assert any("onboarding cohorts" in t and "Not measured here" in t for t in bare["text"])
    told = ov.benchmark(
        frame,
        period="2026-10",
        freq="month",
        profile={"industry": "SaaS (B2B)"},
        context={"onboarding_share": 0.07, "release_share": 0.02},
    )
    unmeasured = " ".join(t for t in told["text"] if t.startswith("Not measured here"))
    assert "onboarding" not in unmeasured and "releases" not in unmeasured
    joined = " ".join(told["text"])
    assert "7% of contacts came from customers in their onboarding period" in joined
    assert "2% of contacts fell on release or outage days" in joined
    assert "dedup window" not in joined


def test_event_day_share_by_hand():
    # October: 5 inbound contacts, 2 of them on 14 Oct, the day of a release; a September event does not count
    times = ["2026-10-02 10:00", "2026-10-14 09:00", "2026-10-14 15:00", "2026-10-20 10:00", "2026-10-28 10:00"]
    contacts = pd.DataFrame(
        {"contact_id": range(5), "customer_id": ["a", "b", "c", "d", "e"], "created_at": times, "channel": "chat"}
    )
    customers = pd.DataFrame({"customer_id": list("abcde"), "signup_date": "2025-01-01"})
    events = pd.DataFrame({"date": pd.to_datetime(["2026-09-30", "2026-10-14"]), "label": ["outage", "release"]})
    share = ov.event_day_share(contacts, customers, period="2026-10", events=events, dedup_window="0")
    assert share == pytest.approx(2 / 5)
    assert ov.event_day_share(contacts, customers, period="2026-10", events=events.iloc[:1]) == 0.0
    assert ov.event_day_share(contacts, customers, period="2026-10", events=None) is None


# --------------------------------------------------------------------------- the rendered pages
JARGON = re.compile(
    r"\bp ?= ?[\d<]|\bp ?< ?0\.|ETS\(|MASE|seasonal naive|dedup window|KIT_REDACT_SALT|Spearman|std_err"
)


def _main_text(page: str) -> str:
    """The page's visible text before its "Method notes" heading (where the technical names belong)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    text = soup.get_text(" ")
    return text.split("Method notes")[0]


@pytest.fixture(scope="module")
def pages(tmp_path_factory, small_sample):
    out, _ = render_overview_once(tmp_path_factory.getbasetemp() / "kit_report_e2e", small_sample)
    folder = out / "2026-10"
    return {p.stem: p.read_text() for p in sorted(folder.glob("0*.html"))}


@pytest.mark.slow
def test_pages_main_text_has_no_jargon_and_each_page_has_method_notes(pages):
    assert len(pages) == 4
    for name, page in pages.items():
        main = _main_text(page)
        found = JARGON.findall(main)
        assert not found, f"{name}: {found[:5]}"
        assert "Method notes" in page, name
        for raw in ("NaN", "NaT", "None", "nan"):
            assert not re.search(rf">\s*{raw}\s*<", page), f"{name}: a cell shows {raw}"
        assert "&lt;Axes" not in page and "array([&lt;Axes" not in page, f"{name}: an Axes repr leaked"


@pytest.mark.slow
def test_every_page_image_has_alt_text(pages):
    for name, page in pages.items():
        alts = re.findall(r"<img\b[^>]*?\balt=\"([^\"]*)\"", page)
        imgs = re.findall(r"<img\b", page)
        assert imgs and len(alts) == len(imgs), name
        assert all(a.strip() and "No description" not in a for a in alts), name


def test_summary_benchmark_text_names_what_the_report_measures():
    """summary.json's benchmark text measures what the overview page measures (issue 17: it called
    onboarding and releases unmeasured). data/examples, 2026-02, by hand: contacts t4 (c), t5 (a) and
    t6 (b, on the 2026-02-05 outage day); b and c signed up within 90 days of 2026-02-01, a did not:
    onboarding 2 of 3 = 67%, event days 1 of 3 = 33%."""
    from kit.report.context import load
    from kit.report.summary import summary

    text = " ".join(summary(load(None, period="2026-02", data_dir="data/examples"))["benchmark"]["text"])
    assert "67% of contacts came from customers in their onboarding period" in text
    assert "33% of contacts fell on release or outage days" in text
    assert "Not measured here: self-service success." in text
