"""``summary.json``: a period's headline numbers, alert, benchmark, anomalies and forecast, computed by kit.

The summary is computed from the same :class:`~kit.report.context.ReportContext` and the same
:mod:`kit.report.overview` functions as the overview notebook, so a number on a page and the
same number in ``summary.json`` agree.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..core.ledger import SCOPE_PREFIX, Ledger
from ..core.results import json_safe
from ..errors import ParameterError
from . import denominator, overview
from .context import ReportContext

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


def summary(ctx: ReportContext, *, con: BaseBackend | None = None) -> dict:
    """The headline metrics of ``ctx.period``, computed by kit (not scraped from notebooks).

    Keys: ``period, grain, start, end, tz, complete, frequency, ci, contacts, active_customers,
    cases, follow_ups, contacting_customers, case_frequency, repeat_contact_rate, denominator, previous,
    last_year, headline_change, segment, alert, alert_reasons, benchmark, anomalies, forecast, highest, sentences,
    new_customers, data_quality, notes, series`` (the trend's periods, for charts) and ``rankings``.
    Analyses that cannot run give ``{"available": false, "note": ...}``
    instead of failing the report.

    Examples
    --------
    >>> from kit.report.context import load
    >>> data = summary(load(None, period="2026-02", data_dir="data/examples"))
    >>> data["contacts"], data["complete"], data["alert"]
    (3, False, True)
    """
    if not ctx.period:
        raise ParameterError("the report context has no period; build it with load(..., period='2026-10')")
    ds = ctx.dataset(con=con)
    freq, period = ctx.grain, ctx.period
    shown = max(int(ctx.threshold("trend_periods")), 3 * overview.PERIODS_PER_YEAR.get(freq, 12))
    lookback = denominator.lookback(ds, ctx.active_lookback)  # None with a customers table
    trend = overview.trend(
        ds, period=period, freq=freq, periods_shown=shown, dedup_window=ctx.dedup_window, active_lookback=lookback
    )
    head = overview.headline(trend, period=period, freq=freq)
    found = overview.anomalies(trend, events=ds.events, threshold=ctx.threshold("anomaly_z"), tz=ctx.tz)
    fc = overview.forecast(trend, horizon=3)
    ranked = overview.rankings(
        ds,
        period=period,
        freq=freq,
        segments=ctx.segments,
        min_customers=int(ctx.threshold("min_customers")),
        dedup_window=ctx.dedup_window,
        active_lookback=lookback,
    )
    top = ranked.frame[ranked.frame["rank"] == 1]
    new = overview.new_vs_existing(
        ds, period=period, freq=freq, new_window=ctx.new_window, dedup_window=ctx.dedup_window
    )
    measured = overview.measured_causes(  # as the overview page does: the same benchmark text
        ds,
        new if denominator.has_customers(ds) else None,
        period=period,
        freq=freq,
        dedup_window=ctx.dedup_window,
        active_lookback=lookback,
    )
    bench = overview.benchmark(trend, period=period, freq=freq, profile=ctx.benchmark_profile, context=measured)
    quality = data_quality(trend.ledger)
    d = head.to_dict()
    reasons = alert_reasons(head, found, alert_change=ctx.threshold("alert_change"))
    return {
        "period": head.period,
        "grain": freq,
        "start": head.start,
        "end": head.end,
        "tz": ctx.tz,
        # the drill-down segment {column, value}, or None for all customers
        "segment": {"column": ctx.segment[0], "value": ctx.segment[1]} if ctx.segment else None,
        "complete": head.complete,
        "frequency": head.frequency,
        "ci": [head.ci_low, head.ci_high],
        "contacts": head.contacts,
        "active_customers": head.active_customers,
        "cases": head.cases,
        "follow_ups": head.follow_ups,
        "contacting_customers": head.contacting_customers,
        "case_frequency": head.case_frequency,
        "repeat_contact_rate": head.repeat_contact_rate,
        "dedup_window": str(ctx.dedup_window),
        # what active customers are: a customers table, or derived from the contacts with a lookback (a proxy)
        "denominator": denominator.denominator(ds, active_lookback=ctx.active_lookback),
        "previous": d["previous"],
        "last_year": d["last_year"],
        # the one year-over-year figure every page and the executive report quote as the headline change
        "headline_change": headline_change(head),
        "alert": bool(reasons),
        "alert_reasons": reasons,
        "benchmark": bench,
        "anomalies": found,
        "forecast": fc,
        "highest": {
            r["dimension"]: {"group": r["group"], "frequency": r["frequency"], "ci": [r["ci_low"], r["ci_high"]]}
            for _, r in top.iterrows()
        },
        "sentences": overview.describe_period(head, ranked=ranked, bench=bench, new=new),
        "new_customers": {
            "new_window": new.new_window,
            "share_of_contacts": new.share,
            "share_last_year": new.share_last_year,
            "frequency_ratio": new.ratio,
            "ci": [new.ci_low, new.ci_high],
            "groups": new.frame,
        },
        "data_quality": quality,
        "notes": list(head.notes),
        # the executive report's sparklines, trend chart and rankings table come from these same results
        "series": series(trend),
        "rankings": ranked.frame,
    }


#: Columns of ``summary["series"]``: one row per period of the trend, oldest first.
SERIES_COLUMNS = (
    "period", "start", "complete", "frequency", "ci_low", "ci_high", "contacts", "active_customers", "cases",
    "follow_ups", "repeat_contact_rate", "case_frequency",
)  # fmt: skip


def series(trend: overview.Trend) -> list[dict]:
    """The trend's periods (labels, numbers and intervals) as JSON-ready rows, oldest first."""
    from ..core import periods

    df = trend.frame
    freq = trend.freq or "month"
    rows = df.rename(columns={"frequency_ci_low": "ci_low", "frequency_ci_high": "ci_high"}).assign(
        start=df["period"].dt.strftime("%Y-%m-%d"),
        period=[periods.label(p, freq) for p in df["period"]],
        complete=df["complete"] if "complete" in df.columns else True,
    )
    return json_safe(rows[list(SERIES_COLUMNS)].to_dict("records"))


def data_quality(ledger: Ledger) -> dict:
    """Per table: rows read, used, and excluded by reason, out-of-scope reasons included, so that
    ``read == used + sum(excluded)``; with the data-quality and out-of-scope subtotals and warnings.

    Examples
    --------
    >>> led = Ledger()
    >>> _ = led.record("contacts", "c.csv", read=10, used=6,
    ...                excluded={"unknown customer": 1, "out of scope: outside the periods": 3})
    >>> q = data_quality(led)["contacts"]
    >>> q["read"] == q["used"] + sum(q["excluded"].values()), q["excluded_quality"], q["out_of_scope"]
    (True, 1, 3)
    """
    out = {}
    for t, a in ledger.tables.items():
        scope = sum(v for k, v in a.excluded.items() if k.startswith(SCOPE_PREFIX))
        out[t] = {
            "read": a.read,
            "used": a.used,
            "excluded": dict(a.excluded),  # every reason: data quality and out of scope
            "excluded_quality": sum(a.excluded.values()) - scope,
            "out_of_scope": scope,
            "balanced": a.balanced,
            "warnings": dict(a.warnings),
        }
    return out


def headline_change(head: overview.Headline) -> dict | None:
    """The headline change: against the same period last year, else (under a year of history) the previous
    period; the same basis as the alert. ``label`` names it for what it is (``"vs the same month last year"``).

    Other changes on the pages (the previous period, seasonally adjusted, a day-by-day comparison) are
    labelled for what they are and are not the headline.
    """
    unit = overview._UNIT.get(head.grain, "period")
    choices = ((head.last_year, f"vs the same {unit} last year"), (head.previous, f"vs the previous {unit}"))
    for change, label in choices:
        if change is not None:
            return {
                "basis": "same period last year" if change is head.last_year else "previous period",
                "label": label,
                "reference": change.reference,
                "reference_frequency": change.frequency,
                "relative_change": change.relative_change,
                "significant": change.significant,
            }
    return None


def alert_reasons(head: overview.Headline, found: dict, *, alert_change: float) -> list[str]:
    """Why a period needs attention: an incomplete period, a large change, or an anomaly.

    Seasonal peaks are not service problems: the change is judged against the same period
    last year, and against the previous period only when there is no year of history. A
    change that the exact test calls not significant is no alert.
    """
    reasons = []
    prev, last_year = head.previous, head.last_year
    ref, basis = (last_year, "the same period last year") if last_year else (prev, "the previous period")
    if not head.complete:
        reasons.append(head.notes[0])
    elif ref and abs(ref.relative_change) >= float(alert_change) and ref.significant is not False:
        reasons.append(
            f"frequency changed {ref.relative_change:+.1%} against {ref.reference} ({basis}"
            + (", significant)" if ref.significant else ", not tested)")
        )
    if found.get("latest_flagged"):
        hit = next(i for i in found["flagged"] if i["period"] == head.period)
        reasons.append(f"{head.period} is an anomaly ({hit['direction']}, {hit['explanation']})")
    return reasons


def dumps_summary(data: dict) -> str:
    """``data`` as ``summary.json`` text: JSON-safe values, missing numbers as null.

    Examples
    --------
    >>> print(dumps_summary({"frequency": float("nan"), "ci": [1.0, float("inf")]}), end="")
    {
      "frequency": null,
      "ci": [
        1.0,
        null
      ]
    }
    """
    return json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
