"""Report pages: executed notebooks as offline HTML without code, the period index and the top index.

Nothing on a page is fetched from the network, and every data-derived string reaches a page
through :func:`kit.present.display.escape_html`.
"""

from __future__ import annotations

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
"""
#: Anything that would make a browser fetch from the network.
_EXTERNAL_FETCH = re.compile(
    r"""<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)\s*=\s*["']?\s*(https?:)?//[^>]*>(\s*</\1>)?"""
    r"""|@import\s+url\(\s*["']?(https?:)?//[^)]*\)\s*;?""",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- HTML
def to_html(notebook: str | Path | NotebookNode, *, title: str | None = None) -> str:
    """An executed notebook as one self-contained HTML page: no input cells, no prompts,
    images inline, no stderr noise and nothing fetched from the network.
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
    return strip_external_fetches(body)


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
</style></head><body>
{body}
</body></html>
"""


def _fmt(x, digits: int = 2) -> str:
    return num(x, digits) if x is not None else "n/a"


def _pct(x, *, signed: bool = False) -> str:
    return pct(x, 1, signed=signed) if x is not None else "n/a"


def period_index(data: dict, notebooks: list[dict], *, title: str) -> str:
    """``reports/<period>/index.html``: headline, generated sentences and links to each notebook."""
    rows = "".join(
        f'<tr><td><a href="{e(nb["html"])}">{e(nb["title"])}</a></td>'
        f'<td><a href="{e(nb["ipynb"])}">executed notebook</a></td></tr>'
        for nb in notebooks
    )
    bench = data.get("benchmark") or {}
    bench_txt = e(bench.get("reading", "")) if bench.get("available") else e(bench.get("note", "not available"))
    sentences = "".join(f"<li>{e(s)}</li>" for s in data.get("sentences", []))
    body = f"""<h1>{e(title)}: {e(data["period"])}</h1>
<p class="muted">{e(data["start"])} to {e(data["end"])} ({e(data["grain"])}, {e(data["tz"])})</p>
<p><span class="big">{e(_fmt(data["frequency"]))}</span> contacts per active customer
(95% CI {e(_fmt(data["ci"][0]))}–{e(_fmt(data["ci"][1]))})</p>
<table><tr><th>contacts</th><th>active customers</th><th>cases</th><th>repeat-contact rate</th><th>benchmark</th></tr>
<tr><td>{data["contacts"]:,}</td><td>{data["active_customers"]:,}</td><td>{data["cases"]:,}</td>
<td>{e(_pct(data["repeat_contact_rate"]))}</td><td>{bench_txt}</td></tr></table>
<ul class="sentences">{sentences}</ul>
<h2>Notebooks</h2><table>{rows}</table>
<p class="muted"><a href="../index.html">All periods</a> · <a href="summary.json">summary.json</a></p>"""
    return _PAGE.format(title=e(f"{title}: {data['period']}"), body=body)


def _period_dirs(out: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in out.iterdir()
            if p.is_dir()
            and not p.name.startswith(".")
            and not p.name.endswith(FAILED_SUFFIX)
            and (p / "summary.json").is_file()
        ),
        key=lambda p: p.name,
        reverse=True,
    )


def write_top_index(out: str | Path, *, title: str = "Customer Contact Frequency") -> Path:
    """Rebuild ``reports/index.html``: every rendered period with its headline numbers."""
    out = Path(out)
    rows = []
    for folder in _period_dirs(out):
        try:
            data = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError):
            continue
        prev = data.get("previous") or {}
        bench = data.get("benchmark") or {}
        change = _pct(prev.get("relative_change"), signed=True) if prev else "n/a"
        rows.append(
            f'<tr><td><a href="{e(folder.name)}/index.html">{e(str(data.get("period", folder.name)))}</a></td>'
            f"<td>{e(str(data.get('grain', '')))}</td><td>{e(_fmt(data.get('frequency')))}</td>"
            f"<td>{e(_fmt((data.get('ci') or [None])[0]))}–{e(_fmt((data.get('ci') or [None, None])[1]))}</td>"
            f"<td>{e(change)}</td><td>{int(data.get('contacts', 0)):,}</td>"
            f"<td>{int(data.get('active_customers', 0)):,}</td><td>{e(_pct(data.get('repeat_contact_rate')))}</td>"
            f"<td>{e(str(bench.get('reading', 'n/a')))}</td></tr>"
        )
    body = (
        f'<h1>{e(title)}</h1><p class="muted">Rendered periods, newest first.</p>'
        "<table><tr><th>period</th><th>grain</th><th>frequency</th><th>95% CI</th><th>vs previous</th>"
        "<th>contacts</th><th>active customers</th><th>repeat rate</th><th>benchmark</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return atomic_write_text(out / "index.html", _PAGE.format(title=e(title), body=body))
