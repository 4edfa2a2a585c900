"""The single-file report: one self-contained HTML page per period and grain, for an executive.

``reports/<period>/report.html`` opens offline from an email attachment: the CSS is inline, charts
are inline SVG (with ``role="img"`` and an ``aria-label`` as their alt text), tables carry their
full data as CSV data URIs, and nothing is fetched from the network. A print stylesheet gives clean
PDF pages.

Every number on the page comes from the ``summary.json`` dict (:func:`kit.report.summary.summary`,
the report contract): the page formats those numbers, it does not compute its own. The only
arithmetic here is the change of a card's count against the same reference periods the headline
uses, from the ``series`` rows of that same dict. Model names, p-values and test names stay in the
"Method notes" appendix; the main text says "a change this large is unlikely to be noise" or
"within normal variation". Every data-derived string goes through
:func:`kit.present.display.escape_html`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..config import VERSION
from ..present.display import TABLE_CSS, escape_html, table_html
from ..present.narrative import num, pct

if TYPE_CHECKING:
    from .context import ReportContext

e = escape_html

#: How often per grain, for the title ("Monthly report") and the KPI ("per month").
ADVERB = {"day": "Daily", "week": "Weekly", "month": "Monthly", "quarter": "Quarterly", "year": "Yearly"}
#: Periods the trend chart shows at most (the summary's series may hold more).
CHART_PERIODS = 24
#: Periods a sparkline shows: a year and one period, so the same period last year is on it.
SPARK_PERIODS = {"day": 29, "week": 14, "month": 13, "quarter": 9, "year": 6}

# Wording of the generated sentences that belongs in the method notes, not the main text.
_PLAIN = (
    ("a statistically significant change", "a change this large is unlikely to be noise"),
    ("not statistically significant", "within normal variation"),
    ("95% CI", "95% interval"),
    ("dedup window", "follow-up window"),
)

_CSS = """
:root { --ink: #1f2328; --muted: #5b6470; --line: #d8dde3; --accent: #0b5cad; --card: #f6f8fa; --warn: #9a3412; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink);
  line-height: 1.45; margin: 0; background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 1.7em; margin: 0 0 .15em; } h2 { font-size: 1.3em; margin: 1.6em 0 .4em;
  border-bottom: 1px solid var(--line); padding-bottom: .2em; } h3 { font-size: 1.05em; margin: 1.1em 0 .3em; }
p, li { overflow-wrap: anywhere; } a { color: var(--accent); }
.muted { color: var(--muted); font-size: .92em; }
.kpi { font-size: 1.1em; margin: .8em 0; }
.alert { border-left: 4px solid var(--warn); background: #fff7ed; padding: 8px 12px; margin: 12px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; margin: 16px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  min-width: 0; break-inside: avoid; }
.card .name { font-size: .85em; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 1.9em; font-weight: 650; line-height: 1.15; margin: 2px 0; }
.card .sub { font-size: .82em; color: var(--muted); }
.card .chg { font-size: .85em; margin: 1px 0; }
.card svg { display: block; width: 100%; height: 34px; margin-top: 6px; }
ul.sentences li { margin: .35em 0; }
nav.toc { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px;
  margin: 18px 0; }
nav.toc ol { margin: .3em 0; padding-left: 1.3em; columns: 2; }
nav.toc h2 { border: 0; margin: .2em 0; font-size: 1em; }
figure { margin: 12px 0; } figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: .85em; color: var(--muted); }
.legend span { display: inline-block; margin-right: 16px; font-size: .85em; color: var(--muted); }
.legend i { display: inline-block; width: 18px; height: 10px; margin-right: 5px; vertical-align: middle; }
dl.glossary dt { font-weight: 600; margin-top: .6em; } dl.glossary dd { margin: 0 0 0 1.2em; }
.balanced { font-weight: 600; } .unbalanced { font-weight: 600; color: var(--warn); }
footer { margin-top: 32px; font-size: .85em; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { font-size: 10.5pt; } main { max-width: none; padding: 0; }
  nav.toc, .kit-table-note a, .noprint { display: none; }
  h2 { break-after: avoid; } section { break-inside: auto; } figure, .cards, table { break-inside: avoid; }
  .cards { grid-template-columns: repeat(3, 1fr); }
  a { color: inherit; text-decoration: none; }
  section.appendix { break-before: page; }
}
"""


# --------------------------------------------------------------------------- small formatters
def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def _n(x: Any, digits: int = 2) -> str:
    return "–" if _missing(x) else num(float(x), digits)


def _count(x: Any) -> str:
    return "–" if _missing(x) else f"{int(x):,}"


def _pct(x: Any, digits: int = 1, *, signed: bool = False) -> str:
    return "–" if _missing(x) else pct(float(x), digits, signed=signed)


def _plain(text: str) -> str:
    for jargon, words in _PLAIN:
        text = text.replace(jargon, words)
    return text


def _unit(grain: str) -> str:
    return {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}.get(grain, grain)


def _json_ready(data: Mapping) -> dict:
    """``data`` as ``summary.json`` holds it (frames as records, NaN as None), like ``dumps_summary``."""
    from ..core.results import json_safe

    return json.loads(json.dumps(json_safe(dict(data)), allow_nan=False))


# --------------------------------------------------------------------------- cards and sparklines
def _row(series: Sequence[Mapping], label: str | None) -> Mapping | None:
    if not label:
        return None
    return next((r for r in series if r.get("period") == label), None)


def _change_line(now: Any, ref_row: Mapping | None, key: str, ref_label: str, what: str, *, points: bool) -> str:
    """'▲ 16.3% vs 2026-09 (previous month)'; percentage points for a rate."""
    if ref_row is None or _missing(now) or _missing(ref_row.get(key)):
        return f'<div class="chg">– vs {e(what)}: no comparison</div>'
    base = float(ref_row[key])
    if points:
        delta = (float(now) - base) * 100
        text = f"{delta:+.1f} pts"
    else:
        if base == 0:
            return f'<div class="chg">– vs {e(what)}: no comparison</div>'
        delta = float(now) / base - 1
        text = pct(delta, 1, signed=True)
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "■"
    return f'<div class="chg">{arrow} {e(text)} vs {e(ref_label)} ({e(what)})</div>'


def sparkline(values: Sequence[Any], labels: Sequence[str], *, name: str, fmt=_n, width: int = 160) -> str:
    """A small inline SVG line of ``values`` (the last one marked), with an ``aria-label`` as alt text.

    Examples
    --------
    >>> svg = sparkline([1.0, 2.0, None, 1.5], ["a", "b", "c", "d"], name="Frequency")
    >>> 'role="img"' in svg, "Frequency, a to d" in svg, "<polyline" in svg
    (True, True, True)
    """
    pts = [(i, float(v)) for i, v in enumerate(values) if not _missing(v)]
    height, pad = 34, 3
    if not pts:
        label = f"{name}: no values to draw"
        return f'<svg role="img" aria-label="{e(label)}" viewBox="0 0 {width} {height}"><title>{e(label)}</title></svg>'
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = (hi - lo) or (abs(hi) or 1.0)
    step = (width - 2 * pad) / max(1, len(values) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad + i * step, height - pad - (v - lo) / span * (height - 2 * pad)

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in pts))
    lx, ly = xy(*pts[-1])
    first_i, last_i = pts[0][0], pts[-1][0]
    label = (
        f"{name}, {labels[first_i]} to {labels[last_i]}: from {fmt(pts[0][1])} to {fmt(pts[-1][1])}, "
        f"lowest {fmt(lo)}, highest {fmt(hi)}"
    )
    return (
        f'<svg role="img" aria-label="{e(label)}" viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
        f"<title>{e(label)}</title>"
        f'<polyline points="{line}" fill="none" stroke="#0b5cad" stroke-width="1.6" '
        'vector-effect="non-scaling-stroke"/>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="2.6" fill="#0b5cad"/></svg>'
    )


def _cards(data: Mapping) -> str:
    series = data.get("series") or []
    grain = data.get("grain", "month")
    unit = _unit(grain)
    prev, ly = data.get("previous") or {}, data.get("last_year") or {}
    prev_label, ly_label = prev.get("reference"), ly.get("reference")
    prev_row, ly_row = _row(series, prev_label), _row(series, ly_label)
    n_spark = SPARK_PERIODS.get(grain, 13)
    upto = [r for r in series if r.get("start", "") <= data.get("start", "")]
    tail = upto[-n_spark:]
    labels = [str(r.get("period", "")) for r in tail]
    ci = data.get("ci") or [None, None]
    specs = [
        ("frequency", f"Contacts per active customer per {unit}", _n(data.get("frequency")),
         f"95% interval {_n(ci[0])}–{_n(ci[1])}", _n, False),
        ("contacts", "Contacts", _count(data.get("contacts")), f"{_count(data.get('follow_ups'))} of them follow-ups",
         _count, False),
        ("active_customers", "Active customers", _count(data.get("active_customers")),
         f"{_count(data.get('contacting_customers'))} of them contacted support", _count, False),
        ("cases", "Cases", _count(data.get("cases")), f"{_n(data.get('case_frequency'))} per active customer",
         _count, False),
        ("repeat_contact_rate", "Repeat-contact rate", _pct(data.get("repeat_contact_rate")),
         "share of contacts that were follow-ups", lambda v: _pct(v), True),
    ]  # fmt: skip
    out = []
    for key, name, value, sub, fmt, points in specs:
        now = data.get(key)
        if key == "frequency":  # the headline's own comparisons (and their test), not a recomputation
            chg = []
            for ch, what in ((prev, f"previous {unit}"), (ly, f"same {unit} last year")):
                if not ch or _missing(ch.get("relative_change")):
                    chg.append(f'<div class="chg">– vs {e(what)}: no comparison</div>')
                    continue
                rel = float(ch["relative_change"])
                arrow = "▲" if rel > 0 else "▼" if rel < 0 else "■"
                verdict = {True: "; unlikely to be noise", False: "; within normal variation"}.get(
                    ch.get("significant"), ""
                )
                chg.append(
                    f'<div class="chg">{arrow} {e(pct(rel, 1, signed=True))} vs {e(ch["reference"])} '
                    f"({e(what)}){e(verdict)}</div>"
                )
            changes = "".join(chg)
        else:
            changes = _change_line(now, prev_row, key, prev_label or "", f"previous {unit}", points=points) + (
                _change_line(now, ly_row, key, ly_label or "", f"same {unit} last year", points=points)
            )
        spark = sparkline([r.get(key) for r in tail], labels, name=name, fmt=fmt)
        out.append(
            f'<div class="card" data-kpi="{e(key)}"><div class="name">{e(name)}</div>'
            f'<div class="value">{e(value)}</div><div class="sub">{e(sub)}</div>{changes}{spark}</div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


# --------------------------------------------------------------------------- trend chart
def _ticks(top: float) -> list[float]:
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]  # up to the first tick at or above top


def trend_chart(data: Mapping, *, periods_shown: int = CHART_PERIODS) -> str:
    """The frequency over the last periods with its 95% interval and the forecast, as an inline SVG figure.

    The axis starts at zero, so a small change looks small; partial periods are hollow points;
    the legend sits above the plot, outside the data.
    """
    series = [r for r in (data.get("series") or []) if r.get("start", "") <= data.get("start", "")]
    rows = series[-periods_shown:]
    grain = data.get("grain", "month")
    unit = _unit(grain)
    fc = data.get("forecast") or {}
    ahead = fc.get("horizon") or [] if fc.get("available") else []
    if not rows:
        return '<p class="muted">No trend to show.</p>'
    n = len(rows) + len(ahead)
    W, H, left, right, top, bottom = 960, 320, 52, 34, 14, 46
    highs = [r.get("ci_high") for r in rows] + [a.get("hi_80") for a in ahead] + [r.get("frequency") for r in rows]
    ymax = max([float(v) for v in highs if not _missing(v)] or [1.0]) * 1.08
    ticks = _ticks(ymax)
    ymax = max(ymax, ticks[-1])
    step = (W - left - right) / max(1, n - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (1 - float(v) / ymax) * (H - top - bottom)

    parts = []
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{W - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e5e8ec"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6470">'
            f"{e(num(t, 2))}</text>"
        )
    band = [(i, r) for i, r in enumerate(rows) if not _missing(r.get("ci_low")) and not _missing(r.get("ci_high"))]
    if band:
        poly = [f"{x(i):.1f},{y(r['ci_high']):.1f}" for i, r in band] + [
            f"{x(i):.1f},{y(r['ci_low']):.1f}" for i, r in reversed(band)
        ]
        parts.append(f'<polygon points="{" ".join(poly)}" fill="#0b5cad" fill-opacity="0.16" stroke="none"/>')
    if ahead:
        last_i = len(rows) - 1
        fb = [(last_i + 1 + j, a) for j, a in enumerate(ahead) if not _missing(a.get("lo_80"))]
        if fb:
            poly = [f"{x(i):.1f},{y(a['hi_80']):.1f}" for i, a in fb] + [
                f"{x(i):.1f},{y(a['lo_80']):.1f}" for i, a in reversed(fb)
            ]
            parts.append(f'<polygon points="{" ".join(poly)}" fill="#b45309" fill-opacity="0.14" stroke="none"/>')
        pts = [(last_i, rows[-1].get("frequency"))] + [(last_i + 1 + j, a.get("mean")) for j, a in enumerate(ahead)]
        pts = [(i, v) for i, v in pts if not _missing(v)]
        parts.append(
            '<polyline fill="none" stroke="#b45309" stroke-width="2" stroke-dasharray="6 4" points="'
            + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in pts)
            + '"/>'
        )
    line = [(i, r["frequency"]) for i, r in enumerate(rows) if not _missing(r.get("frequency"))]
    parts.append(
        '<polyline fill="none" stroke="#0b5cad" stroke-width="2.2" points="'
        + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in line)
        + '"/>'
    )
    flagged = {a.get("period") for a in ((data.get("anomalies") or {}).get("flagged") or [])}
    for i, r in enumerate(rows):
        if _missing(r.get("frequency")):
            continue
        current = r.get("period") == data.get("period")
        fill = "#fff" if r.get("complete") is False else "#0b5cad"
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(r["frequency"]):.1f}" r="{5 if current else 3.2}" fill="{fill}" '
            f'stroke="#0b5cad" stroke-width="1.6"/>'
        )
        if r.get("period") in flagged:
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(r["frequency"]):.1f}" r="8" fill="none" stroke="#b91c1c" '
                'stroke-width="1.6"/>'
            )
    labels = [str(r.get("period", "")) for r in rows] + [str(a.get("period", "")) for a in ahead]
    every = max(1, math.ceil(n / 12))
    for i, lab in enumerate(labels):
        if (n - 1 - i) % every == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{H - bottom + 18}" text-anchor="middle" font-size="11" '
                f'fill="#5b6470">{e(lab)}</text>'
            )
    parts.append(f'<line x1="{left}" x2="{W - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#9aa3ad"/>')
    vals = [(r["period"], float(r["frequency"])) for r in rows if not _missing(r.get("frequency"))]
    lo_p, lo_v = min(vals, key=lambda t: t[1])
    hi_p, hi_v = max(vals, key=lambda t: t[1])
    alt = (
        f"Line chart of contacts per active customer per {unit} from {rows[0]['period']} to {rows[-1]['period']} "
        f"with 95% intervals, the axis starting at zero. {data.get('period')}: {_n(data.get('frequency'))}. "
        f"Lowest {lo_p} ({num(lo_v)}), highest {hi_p} ({num(hi_v)})."
    )
    if ahead and not _missing(ahead[0].get("mean")):
        alt += (
            f" Forecast for {ahead[0]['period']}: {_n(ahead[0]['mean'])} "
            f"(80% range {_n(ahead[0].get('lo_80'))}–{_n(ahead[0].get('hi_80'))})."
        )
    if flagged & {r.get("period") for r in rows}:
        alt += " Circled: periods flagged as unusual."
    legend = (
        '<div class="legend" aria-hidden="true"><span><i style="background:#0b5cad"></i>contacts per active customer '
        f"per {e(unit)}</span>"
        '<span><i style="background:rgba(11,92,173,.18)"></i>95% interval</span>'
        + (
            '<span><i style="background:rgba(180,83,9,.25);border-top:2px dashed #b45309"></i>forecast (80% range)'
            "</span>"
            if ahead
            else ""
        )
        + (
            '<span><i style="border:1.6px solid #0b5cad;border-radius:50%;width:10px"></i>'
            f"hollow: partial {e(unit)}</span>"
            if any(r.get("complete") is False for r in rows)
            else ""
        )
        + (
            '<span><i style="border:1.6px solid #b91c1c;border-radius:50%;width:10px"></i>unusual</span>'
            if flagged
            else ""
        )
        + "</div>"
    )
    svg = (
        f'<svg role="img" aria-label="{e(alt)}" viewBox="0 0 {W} {H}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{e(alt)}</title>{''.join(parts)}</svg>"
    )
    return f"<figure>{legend}{svg}<figcaption>{e(alt)}</figcaption></figure>"


# --------------------------------------------------------------------------- sections
def _rankings(data: Mapping) -> str:
    import pandas as pd

    rows = data.get("rankings") or []
    if not rows:
        return '<p class="muted">No segments or channels to rank for this period.</p>'
    df = pd.DataFrame(rows)
    df = df.assign(interval=[f"{_n(a)}–{_n(b)}" for a, b in zip(df["ci_low"], df["ci_high"])])
    cols = [
        c
        for c in (
            "dimension",
            "group",
            "frequency",
            "interval",
            "contacts",
            "active_customers",
            "share_of_contacts",
            "rank",
        )
        if c in df.columns
    ]
    shown = df[cols]
    intro = ""
    highest = data.get("highest") or {}
    if highest:
        bits = [
            f"{e(dim)}: <b>{e(h.get('group'))}</b> ({e(_n(h.get('frequency')))})"
            for dim, h in highest.items()
            if isinstance(h, Mapping)
        ]
        intro = f"<p>Highest frequency by dimension: {'; '.join(bits)}.</p>"
    note = (
        '<p class="muted">Each segment is measured over its own active customers. Groups with too few active customers '
        "are listed but not ranked (rank “–”). Contacts are counted once per channel or topic.</p>"
    )
    return (
        intro
        + table_html(
            shown,
            labels={
                "frequency": "Contacts per active customer",
                "interval": "95% interval",
                "share_of_contacts": "Share of contacts",
            },
            percent=["share_of_contacts"],
            max_rows=20,
            caption=f"Segments and channels, {data.get('period')}",
            download=f"rankings-{data.get('period')}.csv",
            style=False,
        )
        + note
    )


def _data_quality(data: Mapping) -> str:
    import pandas as pd

    quality = data.get("data_quality") or {}
    if not quality:
        return '<p class="muted">No data-quality ledger in this summary.</p>'
    out, rows = [], []
    for table, q in quality.items():
        read, used = q.get("read"), q.get("used")
        excluded = q.get("excluded") or {}
        total = sum(int(v) for v in excluded.values())
        rows.append({"table": table, "what": "rows read", "rows": read, "share_of_rows_read": 1.0 if read else None})
        rows.append(
            {"table": table, "what": "counted", "rows": used, "share_of_rows_read": used / read if read else None}
        )
        for reason, n in sorted(excluded.items(), key=lambda kv: -int(kv[1])):
            rows.append(
                {
                    "table": table,
                    # out-of-scope reasons already say so; the others are data-quality exclusions
                    "what": reason if reason.startswith("out of scope") else f"excluded: {reason}",
                    "rows": n,
                    "share_of_rows_read": n / read if read else None,
                }
            )
        if read is not None and used is not None:
            gap = int(read) - int(used) - total
            if gap == 0:
                out.append(
                    f'<li><span class="balanced">{e(table)}: balanced.</span> {_count(read)} rows read = '
                    f"{_count(used)} counted + {_count(total)} excluded"
                    + (
                        f" ({_count(q.get('out_of_scope'))} of them out of scope for this measure)"
                        if q.get("out_of_scope")
                        else ""
                    )
                    + ".</li>"
                )
            else:
                rows.append(
                    {"table": table, "what": "not accounted for", "rows": gap, "share_of_rows_read": gap / read}
                )
                out.append(
                    f'<li><span class="unbalanced">{e(table)}: does not balance.</span> {_count(read)} rows read, '
                    f"{_count(used)} counted, {_count(total)} excluded: {_count(gap)} rows are not accounted for.</li>"
                )
        for warning, n in (q.get("warnings") or {}).items():
            out.append(f"<li>{e(table)}: {e(warning)} ({_count(n)} rows; kept).</li>")
    frame = pd.DataFrame(rows, columns=["table", "what", "rows", "share_of_rows_read"])
    frame["rows"] = frame["rows"].astype("Int64")
    return f"<ul>{''.join(out)}</ul>" + table_html(
        frame,
        labels={"what": "Rows", "rows": "Count"},
        percent=["share_of_rows_read"],
        caption="Data quality: every row read is counted or excluded with a reason",
        download=False,
        style=False,
    )


def _anomalies(data: Mapping) -> str:
    import pandas as pd

    found = data.get("anomalies") or {}
    unit = _unit(data.get("grain", "month"))
    if not found.get("available"):
        return f'<p class="muted">Unusual {e(unit)}s could not be checked: {e(found.get("note", "not available"))}.</p>'
    flagged = found.get("flagged") or []
    checked = found.get("periods_checked")
    partial = found.get("partial_left_out") or []
    tail = f" Partial {unit}s are left out of this check ({e(', '.join(map(str, partial)))})." if partial else ""
    if not flagged:
        return (
            f"<p>None of the {_count(checked)} {e(unit)}s checked stands out: every one is within normal variation "
            f"once the trend and the seasonal pattern are taken into account.{tail}</p>"
        )
    df = pd.DataFrame(flagged)
    cols = [c for c in ("period", "direction", "size", "explanation") if c in df.columns]
    latest = f"<p><b>{e(data.get('period'))} itself is unusual.</b></p>" if found.get("latest_flagged") else ""
    return (
        f"<p>{len(flagged)} of the {_count(checked)} {e(unit)}s checked stand out from the trend and the seasonal "
        f"pattern by more than normal variation explains.{tail}</p>"
        + latest
        + table_html(
            df[cols],
            labels={"size": "Size (vs expected)"},
            percent=["size"],
            caption=f"Unusual {unit}s",
            max_rows=15,
            style=False,
        )
    )


def _benchmark(data: Mapping) -> str:
    import pandas as pd

    bench = data.get("benchmark") or {}
    if not bench.get("available"):
        return f'<p class="muted">No benchmark placement: {e(bench.get("note", "not available"))}.</p>'
    text = "".join(f"<p>{e(_plain(s))}</p>" for s in bench.get("text") or [])
    bands = pd.DataFrame(bench.get("bands") or [])
    cols = [c for c in ("category", "segment", "low", "high", "position") if c in bands.columns]
    lead = (
        f"<p>Reading: <b>{e(bench.get('reading'))}</b>. Benchmark bands are per customer per month; this "
        f"{e(_unit(data.get('grain', 'month')))}'s frequency converted to a month is "
        f"{e(_n(bench.get('per_month')))}.</p>"
    )
    table = (
        table_html(
            bands[cols],
            labels={"segment": "Band", "low": "From", "high": "To", "position": "Where we sit"},
            caption="Published industry bands matched to this profile",
            style=False,
        )
        if cols
        else ""
    )
    return lead + table + text


def _outlook(data: Mapping) -> str:
    fc = data.get("forecast") or {}
    unit = _unit(data.get("grain", "month"))
    if not fc.get("available"):
        return f'<p class="muted">No outlook: {e(fc.get("note", "not available"))}.</p>'
    items = "".join(
        f"<li>{e(h.get('period'))}: about {e(_n(h.get('mean')))} contacts per active customer "
        f"(80% range {e(_n(h.get('lo_80')))}–{e(_n(h.get('hi_80')))}; 95% range {e(_n(h.get('lo_95')))}–"
        f"{e(_n(h.get('hi_95')))})</li>"
        for h in fc.get("horizon") or []
    )
    return (
        f"<p>If the trend and the seasonal pattern continue, the next {e(unit)}s look like this "
        f"(the dashed line on the chart):</p><ul>{items}</ul>"
    )


def _glossary(data: Mapping) -> str:
    unit = _unit(data.get("grain", "month"))
    window = data.get("dedup_window") or "the follow-up window"
    den = data.get("denominator") or {}
    if den.get("kind") and den.get("kind") != "customers table":
        active = (
            f"A customer counts as active in a {unit} when they contacted support within the lookback "
            f"({e(den.get('active_lookback'))}) before it; there is no customers table, so this is an estimate. "
            + e(den.get("note") or "")
        )
    else:
        active = (
            f"A customer who had an account during the {unit} (signed up before its end and not churned before its "
            "start), whether or not they contacted support."
        )
    terms = [
        ("Contact", "One ticket, chat, call or email from a customer, as exported from the help desk."),
        ("Active customer", active),
        (
            f"Contacts per active customer per {unit} (frequency)",
            f"All contacts in the {unit} divided by the active customers of the {unit}; customers who did not "
            "contact support count too, so this is a rate over the whole customer base.",
        ),
        (
            "Follow-up (repeat contact)",
            f"A contact from the same customer within {e(window)} of their previous contact; it continues the same "
            "case rather than starting a new one.",
        ),
        ("Case", "A first contact together with its follow-ups: contacts minus follow-ups."),
        ("Repeat-contact rate", "The share of contacts that were follow-ups. Lower is usually better."),
        (
            "Interval (95% interval)",
            "The range the true rate lies in with 95% confidence, given how many contacts and customers there were. "
            "Small groups have wide intervals.",
        ),
        (
            "Unlikely to be noise / within normal variation",
            "Whether a change is larger than chance alone would plausibly produce (see the method notes).",
        ),
        (
            "Same period last year",
            f"The {unit} one year earlier: the headline comparison, because it removes the seasonal pattern.",
        ),
        ("Partial period", f"A {unit} the data does not fully cover; its frequency is understated."),
        ("Unusual period", "A period further from its trend and seasonal pattern than normal variation explains."),
        ("Excluded rows", "Rows left out with a reason: bad data (duplicates, unreadable dates, unknown customers) "
         "or out of scope (outside the report's periods)."),
        ("Benchmark band", "A published industry estimate of contacts per customer per month, a reference point."),
    ]  # fmt: skip
    return '<dl class="glossary">' + "".join(f"<dt>{e(t)}</dt><dd>{d}</dd>" for t, d in terms) + "</dl>"


def _method_notes(data: Mapping) -> str:
    notes = []
    for ch, what in ((data.get("previous"), "previous period"), (data.get("last_year"), "same period last year")):
        if ch:
            p = ch.get("p_value")
            sig = ch.get("significant")
            notes.append(
                f"Change against the {what} ({e(ch.get('reference'))}): "
                f"{e(_pct(ch.get('relative_change'), 1, signed=True))}"
                + (f", p = {e(f'{p:.2g}')}" if not _missing(p) else ", not tested")
                + (" (significant at 5%)" if sig is True else " (not significant at 5%)" if sig is False else "")
                + f"; method: {e(ch.get('method', 'relative change only'))}."
            )
    notes.append(
        "Intervals for rates are exact (Garwood) Poisson intervals of the contact count over the active customers, "
        "widened when customers vary more than a Poisson count would (quasi-Poisson; kit.metrics.frequency.poisson_ci)."
    )
    found = data.get("anomalies") or {}
    if found.get("available"):
        notes.append(
            f"Unusual periods: robust seasonal-trend decomposition (STL) of the frequency; a period is flagged when "
            f"its remainder's robust z-score exceeds {e(_n(found.get('threshold'), 1))} "
            f"({_count(found.get('periods_checked'))} periods checked)."
        )
        for a in found.get("flagged") or []:
            notes.append(f"{e(a.get('period'))}: z = {e(_n(a.get('z'), 1))}.")
    fc = data.get("forecast") or {}
    if fc.get("available"):
        notes.append(f"Outlook: {e(fc.get('model') or fc.get('method'))} ({e(fc.get('method'))}).")
        notes += [e(n) for n in fc.get("notes") or []]
    bench = data.get("benchmark") or {}
    if bench.get("available"):
        notes.append(
            "Benchmark bands are industry estimates labelled as such by their source, not audited measurements; "
            "a frequency is converted to a month before it is placed."
        )
        notes += [e(n) for n in bench.get("notes") or []]
    den = data.get("denominator") or {}
    notes.append(f"Active customers come from: {e(den.get('kind') or 'the customers table')}.")
    if den.get("note"):
        notes.append(e(den["note"]))
    notes.append(f"Follow-up (deduplication) window: {e(data.get('dedup_window') or 'default')}.")
    notes += [e(n) for n in data.get("notes") or []]
    gen = data.get("generated") or {}
    stamp = gen.get("at") or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    notes.append(
        f"Generated {e(stamp)} by contact-frequency-kit {e(gen.get('kit_version') or VERSION)}; every number on this "
        "page is the one in summary.json of the same folder."
    )
    return "<ul>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul>"


# --------------------------------------------------------------------------- the page
def _headline_change(data: Mapping) -> str:
    """', 6.1% lower than the same month last year (2025-10, 0.76), ...': summary.json's headline change."""
    hc = data.get("headline_change") or {}
    rel = hc.get("relative_change")
    if _missing(rel) or not hc.get("reference"):
        return ""
    word = "higher" if rel > 0 else "lower" if rel < 0 else "the same as"
    size = f"{e(pct(abs(float(rel)), 1))} {word} than" if rel else "the same as"
    label = str(hc.get("label") or "").removeprefix("vs ")
    verdict = {True: ", a change this large is unlikely to be noise", False: ", within normal variation"}.get(
        hc.get("significant"), ""
    )
    return f", {size} {e(label)} ({e(hc['reference'])}, {e(_n(hc.get('reference_frequency')))}){verdict}"


def build(ctx: ReportContext | None, data: Mapping, *, analyst_links: bool = True) -> str:
    """The single-file report of one period and grain, as a self-contained HTML string.

    Parameters
    ----------
    ctx
        The report context (title and drill-down segment); None uses the defaults.
    data
        The summary dict of :func:`kit.report.summary.summary` (or ``summary.json`` read back).
    analyst_links
        Link the detailed pages of the report folder in the footer (off for a page sent on its own).

    Examples
    --------
    >>> page = build(None, {"period": "2026-10", "grain": "quarter", "start": "2026-10-01", "end": "2026-12-31",
    ...                     "frequency": 1.5, "ci": [1.4, 1.6], "contacts": 1500, "active_customers": 1000})
    >>> "<title>Customer Contact Frequency: 2026-10 (quarterly report)</title>" in page
    True
    >>> "contacts per active customer per quarter" in page, "1,500" in page
    (True, True)
    """
    data = _json_ready(data)
    grain = str(data.get("grain") or "month")
    unit = _unit(grain)
    period = str(data.get("period", ""))
    title = getattr(ctx, "title", None) or "Customer Contact Frequency"
    seg = data.get("segment") or (
        {"column": ctx.segment[0], "value": ctx.segment[1]} if getattr(ctx, "segment", None) else None
    )
    seg_words = f" in {seg['column']} {seg['value']}" if seg else ""
    heading = f"{title}: {period} ({ADVERB.get(grain, grain).lower()} report)"
    if seg:
        heading += f", {seg['column']} = {seg['value']}"
    tz = data.get("tz") or "UTC"
    span = f"{data.get('start', '')} to {data.get('end', '')}"
    partial = (
        f'<div class="alert"><b>Partial {e(unit)}.</b> The data does not cover all of {e(period)}, so its numbers '
        "are understated.</div>"
        if data.get("complete") is False and not data.get("alert_reasons")  # else the alert gives the reason
        else ""
    )
    alert = ""
    if data.get("alert") and data.get("alert_reasons"):
        reasons = "".join(f"<li>{e(_plain(r))}</li>" for r in data["alert_reasons"])
        alert = f'<div class="alert"><b>Needs attention.</b><ul>{reasons}</ul></div>'
    kpi = (
        f'<p class="kpi">The measure: <b>contacts per active customer per {e(unit)}</b>{e(seg_words)}, all contacts '
        f"in the {e(unit)} divided by the customers who were active in it. In {e(period)} it was "
        f"<b>{e(_n(data.get('frequency')))}</b>{_headline_change(data)}.</p>"
    )
    sentences = "".join(f"<li>{e(_plain(s))}</li>" for s in (data.get("sentences") or [])[:5])
    sections = [
        ("trend", "Trend", trend_chart(data) + _outlook(data)),
        ("segments", "Segments and channels", _rankings(data)),
        ("data-quality", "Data quality", _data_quality(data)),
        ("anomalies", f"Unusual {unit}s", _anomalies(data)),
        ("benchmark", "Benchmark placement", _benchmark(data)),
        ("glossary", "Glossary", _glossary(data)),
        ("method-notes", "Method notes", _method_notes(data)),
    ]
    toc = "".join(f'<li><a href="#{sid}">{e(name)}</a></li>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{sid}"{" class=appendix" if sid == "glossary" else ""}><h2>{e(name)}</h2>{html}</section>'
        for sid, name, html in sections
    )
    links = (
        '<p class="noprint">For analysts: the <a href="index.html">detailed pages of this period</a> and '
        '<a href="summary.json">summary.json</a>, in the same folder as this file.</p>'
        if analyst_links
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(heading)}</title>
<style>{_CSS}
{TABLE_CSS}</style></head><body><main>
<header id="top"><h1>{e(heading)}</h1>
<p class="muted">{e(span)} · time zone {e(tz)}{" · partial " + e(unit) if data.get("complete") is False else ""}</p>
{partial}{alert}{kpi}
{_cards(data)}
<ul class="sentences">{sentences}</ul></header>
<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>
{body}
<footer>{links}<p><a href="#top">Back to top</a></p></footer>
</main></body></html>
"""


def to_pdf(html_path, pdf_path, *, chromium: str | None = None, timeout: float = 60.0):
    """Print ``html_path`` to ``pdf_path`` with headless Chromium (its print stylesheet); returns the PDF path.

    Raises :class:`~kit.errors.ReportError` when Chromium is not installed or fails.
    """
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from ..errors import ReportError

    exe = chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        raise ReportError("--pdf needs headless Chromium (apt-get install chromium); the HTML report was written")
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path).resolve()
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
            html_path.as_uri(),
        ]  # fmt: skip
        try:
            subprocess.run(cmd, check=True, timeout=timeout, capture_output=True)
        except (subprocess.SubprocessError, OSError) as exc:
            raise ReportError(f"Chromium could not print {html_path.name} to PDF: {type(exc).__name__}") from None
    if not pdf_path.is_file():
        raise ReportError(f"Chromium wrote no PDF for {html_path.name}")
    return pdf_path
