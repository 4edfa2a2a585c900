"""Report pages: executed notebooks as offline HTML without code, the period index and the top index.

Nothing on a page is fetched from the network, and every data-derived string reaches a page
through :func:`kit.present.display.escape_html`.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.io import atomic_write_text
from ..deps import require
from ..present.display import escape_html as e
from ..present.narrative import num, pct

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: Suffix of the folder that keeps a failed period's executed notebook.
FAILED_SUFFIX = ".failed"

_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{#- The lab template minus every script it would fetch from a CDN: reports open offline. -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">
body { max-width: 1100px; margin: 0 auto; }
table.kit-table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0 1em; }
table.kit-table th, table.kit-table td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; }
table.kit-table th:first-child, table.kit-table td:first-child { text-align: left; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
</style>{% endblock extra_css %}
{#- Figures shown by kit.present.plots.show carry their alt text in the output's image/png metadata. -#}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
alt="{{ ((output | get_metadata('alt', 'image/png')) or 'Chart') | escape_html }}">
</div>
{%- endblock data_png %}
"""
#: Anything that would make a browser fetch from the network.
_EXTERNAL_FETCH = re.compile(
    r"""<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//[^>]*>(\s*</\1>)?"""
    r"""|@import\s+url\(\s*["']?(https?:)?//[^)]*\)\s*;?""",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- HTML
def to_html(notebook: str | Path | NotebookNode, *, title: str | None = None, nav: bool = True) -> str:
    """An executed notebook as one self-contained HTML page: no input cells, no prompts,
    images inline, no stderr noise and nothing fetched from the network.

    With ``nav`` (the report's pages), the page opens with the visible ``title`` (the period is in it),
    links back to its period's ``index.html`` and to the list of every period (``../index.html``), and a
    table of contents of its sections (the notebook's ``##`` headings).
    """
    import nbformat
    from jinja2 import DictLoader

    HTMLExporter = require("nbconvert", extra="report", purpose="HTML pages").HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # never edit the caller's notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            # warnings and logs stay in the executed .ipynb for audit, not in the executive's page
            cell.outputs = [
                o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"kit_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="kit_offline.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    body = strip_external_fetches(body)
    return with_navigation(body, title=title) if nav else body


_BODY_OPEN = re.compile(r"<body\b[^>]*>")
#: nbconvert's section headings: <h2 id="Data-quality">Data quality<a class="anchor-link" ...>¶</a></h2>
_SECTION = re.compile(r'<h2\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h2>', re.S)
_NAV_CSS = """<style>
.kit-nav { font: 14px -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 1em 0 .5em;
           padding-bottom: .6em; border-bottom: 1px solid #ddd; }
.kit-nav a { color: #0b5cad; margin-right: 1.2em; } .kit-nav .kit-title { font-size: 1.5em; font-weight: 600;
           margin: .4em 0; color: #222; } .kit-toc { margin: .3em 0 0; padding-left: 1.2em; columns: 2; }
@media print { .kit-nav a { color: #222; } }
</style>"""


def with_navigation(page: str, *, title: str | None = None) -> str:
    """``page`` with a navigation header after ``<body>``: the visible title, back links and a table of contents.

    Examples
    --------
    >>> page = '<html><body class="x"><h2 id="Summary">Summary<a class="anchor-link" href="#Summary">¶</a></h2>'
    >>> out = with_navigation(page + "</body></html>", title="Report: 2026-10 – Overview")
    >>> '<a href="index.html">' in out and '<a href="#Summary">Summary</a>' in out and "2026-10" in out
    True
    """
    toc = []
    for anchor, text in _SECTION.findall(page):
        label = re.sub(r"<a\b[^>]*>.*?</a>|<[^>]+>", "", text).strip()  # the heading without its ¶ link
        if label:
            toc.append(f'<li><a href="#{e(_unescape(anchor))}">{e(_unescape(label))}</a></li>')
    header = (
        f'{_NAV_CSS}<nav class="kit-nav" aria-label="report navigation">'
        '<a href="index.html">&larr; This period&#39;s report</a><a href="../index.html">All periods</a>'
        + (f'<div class="kit-title" role="heading" aria-level="1">{e(title)}</div>' if title else "")
        + (f'<div>On this page:</div><ul class="kit-toc">{"".join(toc)}</ul>' if toc else "")
        + "</nav>"
    )
    m = _BODY_OPEN.search(page)
    return page[: m.end()] + header + page[m.end() :] if m else header + page


def _unescape(text: str) -> str:
    import html as _html

    return _html.unescape(text)


def strip_external_fetches(page: str) -> str:
    """Remove tags and CSS imports that would load anything from the network."""
    return _EXTERNAL_FETCH.sub("", page)


def external_fetches(page: str) -> list[str]:
    """Tags of ``page`` that would fetch from the network (empty for an offline page)."""
    return [m.group(0)[:120] for m in _EXTERNAL_FETCH.finditer(page)]


# --------------------------------------------------------------------------- index pages
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; max-width: 1000px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }} .muted {{ color: #666; font-size: .9em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 12px; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} .big {{ font-size: 2.2em; font-weight: 600; }}
ul.sentences li {{ margin: .3em 0; }} a {{ color: #0b5cad; }}
.alert {{ color: #a4260b; font-weight: 600; }} .ok {{ color: #2b6a2b; }} .lead {{ font-size: 1.15em; }}
</style></head><body>
{body}
</body></html>
"""


def _fmt(x, digits: int = 2) -> str:
    return num(x, digits) if x is not None else "n/a"


def _pct(x, *, signed: bool = False) -> str:
    return pct(x, 1, signed=signed) if x is not None else "n/a"


_UNIT = {"week": "week", "month": "month", "quarter": "quarter"}
#: The single-file executive report of a period (written by the render beside index.html).
EXECUTIVE = "report.html"


def per_unit(grain: str | None) -> str:
    """``"per month"``, ``"per quarter"``: the KPI's unit for a grain."""
    return f"per {_UNIT.get(str(grain), 'period')}"


def segment_words(data: dict) -> str:
    """``"region = EMEA"`` for a drill-down report's summary, "" for all customers (plain text; escape it)."""
    seg = data.get("segment") or None
    return f"{seg['column']} = {seg['value']}" if seg else ""


def quality_line(data: dict) -> str:
    """One plain line of the contacts' ledger: read = counted + excluded for data quality + out of scope.

    Examples
    --------
    >>> q = {"read": 10, "used": 7, "excluded_quality": 1, "out_of_scope": 2,
    ...      "excluded": {"unknown customer": 1, "out of scope: outside the periods": 2}}
    >>> quality_line({"data_quality": {"contacts": q}})[:62]
    'Data: 10 contacts read = 7 counted + 1 excluded for data quali'
    >>> quality_line({"data_quality": {"contacts": q}})[62:]
    'ty (unknown customer 1) + 2 out of scope (outside the periods 2).'
    """
    q = (data.get("data_quality") or {}).get("contacts")
    if not q:
        return "Data: no ledger for the contacts."
    quality = [(k, v) for k, v in q.get("excluded", {}).items() if not k.startswith("out of scope")]
    scope = [(k.split(": ", 1)[-1], v) for k, v in q.get("excluded", {}).items() if k.startswith("out of scope")]
    said = lambda items: ", ".join(f"{k} {v:,}" for k, v in sorted(items, key=lambda kv: -kv[1]))  # noqa: E731
    n_quality = q.get("excluded_quality", sum(v for _, v in quality))
    n_scope = q.get("out_of_scope", sum(v for _, v in scope))
    return (
        f"Data: {q['read']:,} contacts read = {q['used']:,} counted + {n_quality:,} excluded for data quality"
        + (f" ({said(quality)})" if quality else "")
        + f" + {n_scope:,} out of scope"
        + (f" ({said(scope)})" if scope else "")
        + "."
    )


def alert_line(data: dict) -> str:
    """``"Alert: <reasons>"`` or ``"No alert: ..."`` (plain text; escape it)."""
    if data.get("alert"):
        return "Alert: " + "; ".join(data.get("alert_reasons") or ["see summary.json"]) + "."
    return "No alert: no large change against the reference period and no anomaly."


def change_line(data: dict) -> str:
    """The headline year-over-year change, labelled (plain text; escape it)."""
    ch = data.get("headline_change")
    if not ch or ch.get("relative_change") is None:
        return "No comparison: there is no earlier period with data to compare with."
    verdict = {True: ", a change unlikely to be noise", False: ", within normal variation"}.get(ch.get("significant"))
    return f"{_pct(ch['relative_change'], signed=True)} {ch['label']} ({ch['reference']}){verdict or ''}"


def _anomaly_block(data: dict) -> str:
    an = data.get("anomalies") or {}
    unit = _UNIT.get(str(data.get("grain")), "period")
    if not an.get("available"):
        return f"<p>{e(an.get('note', 'Anomaly check not available.'))}</p>"
    items = "".join(
        f"<li>{e(i['period'])}: {e(i['direction'])}, {e(i['explanation'])}</li>" for i in an.get("flagged", [])
    )
    head = (
        f"{len(an.get('flagged', []))} unusual {unit}(s) among the {an.get('periods_checked', 0)} checked"
        if items
        else f"No unusual {unit} among the {an.get('periods_checked', 0)} checked"
    )
    return f"<p>{e(head)} (the seasonal pattern and trend taken out first).</p>" + (
        f"<ul>{items}</ul>" if items else ""
    )


def period_index(data: dict, notebooks: list[dict], *, title: str, executive: str | None = None) -> str:
    """``reports/<period>/index.html``: the executive report first, the headline with its labelled change,
    the alert with its reason, the data-quality line, the generated sentences, the anomalies, then the pages.

    ``executive`` is the single-file report's name when it was written (linked first).
    """
    grain = data.get("grain")
    seg = segment_words(data)
    rows = "".join(
        f'<tr><td><a href="{e(nb["html"])}">{e(nb["title"])}</a></td>'
        f'<td class="muted"><a href="{e(nb["ipynb"])}">notebook file (.ipynb, for analysts)</a></td></tr>'
        for nb in notebooks
    )
    bench = data.get("benchmark") or {}
    bench_txt = e(bench.get("reading", "")) if bench.get("available") else e(bench.get("note", "not available"))
    sentences = "".join(f"<li>{e(s)}</li>" for s in data.get("sentences", []))
    prev = data.get("previous") or {}
    prev_txt = (
        f"{_pct(prev.get('relative_change'), signed=True)} vs the previous {_UNIT.get(str(grain), 'period')} "
        f"({prev.get('reference')})"
        if prev
        else ""
    )
    top = (
        f'<p class="lead"><a href="{e(executive)}"><strong>Open the one-page report</strong></a> '
        "(a single file you can share or print)</p>"
        if executive
        else ""
    )
    alert_cls = "alert" if data.get("alert") else "ok"
    heading = f"{title}: {data['period']}" + (f" · {seg}" if seg else "")
    body = f"""<nav class="muted"><a href="../index.html">&larr; All periods</a></nav>
<h1>{e(heading)}</h1>
<p class="muted">{e(data["start"])} to {e(data["end"])} ({e(data["grain"])}, {e(data["tz"])})</p>
{top}
<p><span class="big">{e(_fmt(data["frequency"]))}</span> contacts per active customer {e(per_unit(grain))}
(95% CI {e(_fmt(data["ci"][0]))}–{e(_fmt(data["ci"][1]))}){e(" for " + seg + " customers" if seg else "")}</p>
<p>{e(change_line(data))}{e("; " + prev_txt) if prev_txt else ""}</p>
<p class="{alert_cls}">{e(alert_line(data))}</p>
<table><tr><th>contacts</th><th>active customers</th><th>cases</th><th>repeat-contact rate</th><th>benchmark</th></tr>
<tr><td>{data["contacts"]:,}</td><td>{data["active_customers"]:,}</td><td>{data["cases"]:,}</td>
<td>{e(_pct(data["repeat_contact_rate"]))}</td><td>{bench_txt}</td></tr></table>
<p class="muted">{e(quality_line(data))}</p>
<ul class="sentences">{sentences}</ul>
<h2>Unusual {e(_UNIT.get(str(grain), "period"))}s</h2>{_anomaly_block(data)}
<h2>Pages</h2><table>{rows}</table>
<p class="muted"><a href="../index.html">All periods</a> · <a href="summary.json">summary.json</a></p>"""
    return _PAGE.format(title=e(heading), body=body)


def _period_dirs(out: Path) -> list[Path]:
    return [
        p
        for p in out.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and not p.name.endswith(FAILED_SUFFIX)
        and (p / "summary.json").is_file()
    ]


def _newest_first(found: list[tuple[Path, dict]]) -> list[tuple[Path, dict]]:
    """By period start, newest first, across grains (a quarter after the month it starts with: it ends later)."""
    return sorted(
        found, key=lambda fd: (str(fd[1].get("start", "")), str(fd[1].get("end", "")), fd[0].name), reverse=True
    )


def _read_periods(out: Path) -> list[tuple[Path, dict]]:
    found = []
    for folder in _period_dirs(out):
        try:
            found.append((folder, json.loads((folder / "summary.json").read_text())))
        except (OSError, ValueError):
            continue
    return _newest_first(found)


def write_top_index(out: str | Path, *, title: str = "Customer Contact Frequency") -> Path:
    """Rebuild ``reports/index.html``: every rendered period, newest first by period start across grains,
    with its headline numbers, its labelled year-over-year change and its alert state; segment reports linked."""
    out = Path(out)
    rows = []
    seg = ""
    for folder, data in _read_periods(out):
        seg = seg or segment_words(data)
        bench = data.get("benchmark") or {}
        ch = data.get("headline_change") or {}
        change = f"{_pct(ch.get('relative_change'), signed=True)} ({ch.get('reference')})" if ch else "n/a"
        alert = (
            f'<span class="alert">alert</span>: {e("; ".join(data.get("alert_reasons") or []))}'
            if data.get("alert")
            else '<span class="ok">no alert</span>'
        )
        one = folder / EXECUTIVE
        report_link = f'<a href="{e(folder.name)}/{EXECUTIVE}">report</a> · ' if one.is_file() else ""
        rows.append(
            f"<tr><td>{report_link}"
            f'<a href="{e(folder.name)}/index.html">{e(str(data.get("period", folder.name)))}</a></td>'
            f"<td>{e(str(data.get('grain', '')))}</td><td>{e(_fmt(data.get('frequency')))} "
            f"{e(per_unit(data.get('grain')))}</td>"
            f"<td>{e(_fmt((data.get('ci') or [None])[0]))}–{e(_fmt((data.get('ci') or [None, None])[1]))}</td>"
            f"<td>{e(change)}</td><td>{int(data.get('contacts', 0)):,}</td>"
            f"<td>{int(data.get('active_customers', 0)):,}</td><td>{e(_pct(data.get('repeat_contact_rate')))}</td>"
            f"<td>{e(str(bench.get('reading', 'n/a')))}</td><td>{alert}</td></tr>"
        )
    heading = title + (f" · {seg}" if seg else "")
    segments = (
        '<p><a href="segments/index.html">Reports per segment</a></p>'
        if (out / "segments" / "index.html").is_file()
        else ""
    )
    back = '<nav class="muted"><a href="../index.html">&larr; All segments</a></nav>' if seg else ""
    body = (
        f'{back}<h1>{e(heading)}</h1><p class="muted">Rendered periods, newest first (by period start).</p>'
        "<table><tr><th>period</th><th>grain</th><th>contacts per active customer</th><th>95% CI</th>"
        "<th>vs same period last year</th><th>contacts</th><th>active customers</th><th>repeat rate</th>"
        "<th>benchmark</th><th>alert</th></tr>" + "".join(rows) + "</table>" + segments
    )
    return atomic_write_text(out / "index.html", _PAGE.format(title=e(heading), body=body))


# --------------------------------------------------------------------------- drill-down folders
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def segment_folder(column: str, value: str) -> str:
    """A safe folder name for the report of one segment: ``region=EMEA``.

    Anything but letters, digits, ``_`` and ``-`` becomes ``_`` (no ``/``, no ``.``), and a name changed
    that way gets a short hash of the real value, so two values never share a folder.

    Examples
    --------
    >>> segment_folder("region", "EMEA"), segment_folder("region", "../../etc")
    ('region=EMEA', 'region=etc-74ccf3c5')
    >>> segment_folder("tier", "A" * 61) != segment_folder("tier", "A" * 60 + "B")  # cut names keep a hash
    True
    """

    def safe(text: str) -> str:
        cleaned = _UNSAFE.sub("_", text).strip("_") or "_"
        # kept as it is only when nothing changes it: not cleaned, not cut, no hash-like tail
        if cleaned == text and len(text) <= 60 and not re.search(r"-[0-9a-f]{8}$", text):
            return text
        return f"{cleaned[:60]}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"

    return f"{safe(str(column))}={safe(str(value))}"


def write_segments_index(folder: str | Path, *, title: str = "Customer Contact Frequency") -> Path:
    """``reports/segments/index.html``: one row per segment report folder, its newest period's headline."""
    folder = Path(folder)
    rows = []
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        newest = _read_periods(sub)
        if newest:
            found.append((sub, newest[0][1]))
    for sub, data in sorted(found, key=lambda sd: (segment_words(sd[1]).lower(), sd[0].name)):
        rows.append(
            f'<tr><td><a href="{e(sub.name)}/index.html">{e(segment_words(data))}</a></td>'
            f"<td>{e(str(data.get('period', '')))}</td>"
            f"<td>{e(_fmt(data.get('frequency')))} {e(per_unit(data.get('grain')))}</td>"
            f"<td>{int(data.get('active_customers', 0)):,}</td>"
            f"<td>{'alert' if data.get('alert') else 'no alert'}</td></tr>"
        )
    body = (
        f'<nav class="muted"><a href="../index.html">&larr; All customers</a></nav><h1>{e(title)}: segments</h1>'
        '<p class="muted">One report per segment; its denominator is that segment&#39;s active customers.</p>'
        "<table><tr><th>segment</th><th>newest period</th><th>contacts per active customer</th>"
        "<th>active customers</th><th>alert</th></tr>" + "".join(rows) + "</table>"
    )
    return atomic_write_text(folder / "index.html", _PAGE.format(title=e(f"{title}: segments"), body=body))
