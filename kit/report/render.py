"""Periodic reports: papermill runs the notebooks, nbconvert makes offline HTML, plus index and summary.json.

This is the one module that talks to papermill and nbconvert. A period renders into a
temporary folder beside ``reports/<period>`` that replaces it only when every notebook
succeeded, so a failed run never damages the previous report; the failed executed
notebook is kept in ``reports/<period>.failed/`` for debugging.

Secrets never travel as notebook parameters: a notebook gets the config file's path and
reads the connection (and the secret's environment variable) itself.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import re
import shutil
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .. import config
from ..core import periods
from ..errors import KitError, ParameterError, ReportError
from ..core.io import atomic_dir, atomic_write_text

NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
#: Seconds one notebook cell may run before the render is abandoned.
CELL_TIMEOUT = 900
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


# --------------------------------------------------------------------------- notebooks and kernel
def report_notebooks(folder=None) -> list[Path]:
    """Every ``NN_name.ipynb`` in ``folder`` (default ``notebooks/``), in order."""
    folder = Path(folder or config.NOTEBOOKS_DIR)
    found = sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_PATTERN.match(p.name))
    if not found:
        raise ParameterError(f"no report notebooks (NN_name.ipynb) in {folder}")
    return found


def kernel_name() -> str:
    """The project's kernel (``contact-kit``), or this interpreter's ``python3`` with a warning."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(config.KERNEL_NAME)
        return config.KERNEL_NAME
    except NoSuchKernel:
        warnings.warn(f"Jupyter kernel {config.KERNEL_NAME!r} is not installed (run `make kernel`); "
                      "using the current interpreter's python3 kernel", stacklevel=2)
        return "python3"


def _declared_parameters(path: Path) -> set[str] | None:
    import papermill

    try:
        return set(papermill.inspect_notebook(str(path)))
    except Exception:  # noqa: BLE001 - an uninspectable cell: pass everything
        return None


def notebook_parameters(cfg, *, period: str, grain: str, data_dir=None) -> dict:
    """The papermill parameters of a period: plain config values, never a secret."""
    params = cfg.parameters()
    if data_dir:
        params["data_dir"] = str(Path(data_dir).resolve())
    elif not params["data_dir"] and cfg.connection is None and not cfg.tables:
        params["data_dir"] = str(config.SAMPLE_DIR)
    params.update(period=period, grain=grain)
    return params


# --------------------------------------------------------------------------- HTML
def to_html(notebook, *, title: str | None = None) -> str:
    """An executed notebook as one self-contained HTML page: no input cells, no prompts,
    images inline, no stderr noise and nothing fetched from the network.
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # never edit the caller's notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            # warnings and logs stay in the executed .ipynb for audit, not in the executive's page
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="lab", extra_loaders=[DictLoader({"kit_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="kit_offline.html.j2", exclude_input=True, exclude_input_prompt=True,
        exclude_output_prompt=True, embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return strip_external_fetches(body)


def strip_external_fetches(page: str) -> str:
    """Remove tags and CSS imports that would load anything from the network."""
    return _EXTERNAL_FETCH.sub("", page)


def external_fetches(page: str) -> list[str]:
    """Tags of ``page`` that would fetch from the network (empty for an offline page)."""
    return [m.group(0)[:120] for m in _EXTERNAL_FETCH.finditer(page)]


# --------------------------------------------------------------------------- summary.json
def summary(cfg, *, period: str, grain: str = config.DEFAULT_FREQ, data_dir=None, con=None) -> dict:
    """The headline metrics of a period, computed by kit (not scraped from notebooks).

    Keys: ``period, grain, start, end, tz, frequency, ci, contacts, active_customers, cases,
    follow_ups, repeat_contact_rate, case_frequency, previous, last_year, benchmark,
    anomalies, forecast, sentences, data_quality, notes``. Modules that are not installed
    give ``{"available": false, "note": ...}`` instead of failing the report.
    """
    from ..core import engine
    from . import overview

    grain = periods.check_grain(grain)
    src = cfg.sources(data_dir=data_dir)
    con = con if con is not None else (None if cfg.connection is not None else engine.default_connection())
    limits = dict(cfg.thresholds)
    trend = overview.trend(src["contacts"], src["customers"], period=period, grain=grain, tz=cfg.tz,
                           periods_shown=max(int(limits.get("trend_periods", 24)), 3 * overview.PERIODS_PER_YEAR.get(grain, 12)),
                           dedup_window=cfg.dedup_window, mapping=cfg.mapping, con=con)
    head = overview.headline(trend, period=period, grain=grain)
    bench = overview.benchmark(trend, period=period, grain=grain, profile=cfg.benchmark_profile)
    found = overview.anomalies(trend, events=src.get("events"), threshold=float(limits.get("anomaly_z", 3.5)),
                               tz=cfg.tz)
    fc = overview.forecast(trend, horizon=3)
    ranked = overview.rankings(src["contacts"], src["customers"], period=period, grain=grain, tz=cfg.tz,
                               segments=cfg.segments, min_customers=int(limits.get("min_customers", 30)),
                               dedup_window=cfg.dedup_window, mapping=cfg.mapping, con=con)
    top = ranked[ranked["rank"] == 1]
    ledger = trend.attrs["ledger"]
    quality = {t: {"read": a.read, "used": a.used,
                   "excluded": {k: v for k, v in a.excluded.items() if not k.startswith("out of scope")}}
               for t, a in ledger.tables.items()}
    d = head.to_dict()
    prev = d["previous"]
    reasons = []
    # Seasonal peaks are not service problems: judge the change against the same period last
    # year, and fall back to the previous period only when there is no year of history.
    ref, basis = (d["last_year"], "the same period last year") if d["last_year"] else (prev, "the previous period")
    if not head.complete:
        reasons.append(head.notes[0])
    elif ref and abs(ref["relative_change"]) >= float(limits.get("alert_change", 0.1)) \
            and ref.get("significant") is not False:
        reasons.append(f"frequency changed {ref['relative_change']:+.1%} against {ref['reference']} ({basis}"
                       + (", significant)" if ref.get("significant") else ", not tested)"))
    if found.get("latest_flagged"):
        hit = next(i for i in found["flagged"] if i["period"] == head.period)
        reasons.append(f"{head.period} is an anomaly ({hit['direction']}, {hit['explanation']})")
    return {
        "period": head.period, "grain": grain, "start": head.start, "end": head.end, "tz": cfg.tz,
        "complete": head.complete, "frequency": head.frequency, "ci": [head.ci_low, head.ci_high], "contacts": head.contacts,
        "active_customers": head.active_customers, "cases": head.cases, "follow_ups": head.follow_ups,
        "contacting_customers": head.contacting_customers, "case_frequency": head.case_frequency,
        "repeat_contact_rate": head.repeat_contact_rate,
        "previous": prev, "last_year": d["last_year"],
        "alert": bool(reasons), "alert_reasons": reasons,
        "benchmark": bench, "anomalies": found, "forecast": fc,
        "highest": {r["dimension"]: {"group": r["group"], "frequency": r["frequency"], "ci": [r["ci_low"], r["ci_high"]]}
                    for _, r in top.iterrows()},
        "sentences": overview.sentences(head, ranked=ranked, bench=bench),
        "data_quality": quality, "notes": list(head.notes),
    }


def _json_default(obj):
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _finite(obj):
    """JSON has no NaN: missing numbers become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps_summary(data: dict) -> str:
    return json.dumps(_finite(json.loads(json.dumps(data, default=_json_default))), indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"


# --------------------------------------------------------------------------- index pages
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; max-width: 1000px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }} .muted {{ color: #666; font-size: .9em; }}
table {{ border-collapse: collapse; margin: 1em 0; }} th, td {{ padding: 4px 12px; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} .big {{ font-size: 2.2em; font-weight: 600; }}
ul.sentences li {{ margin: .3em 0; }} a {{ color: #0b5cad; }}
</style></head><body>
{body}
</body></html>
"""


def _fmt(x, digits: int = 2) -> str:
    from ..present.narrative import num

    return num(x, digits) if x is not None else "n/a"


def _pct(x, *, signed: bool = False) -> str:
    from ..present.narrative import pct

    return pct(x, 1, signed=signed) if x is not None else "n/a"


def period_index(data: dict, notebooks: list[dict], *, title: str) -> str:
    """``reports/<period>/index.html``: headline, generated sentences and links to each notebook."""
    e = html.escape
    rows = "".join(
        f"<tr><td><a href=\"{e(nb['html'])}\">{e(nb['title'])}</a></td>"
        f"<td><a href=\"{e(nb['ipynb'])}\">executed notebook</a></td></tr>" for nb in notebooks)
    bench = data.get("benchmark") or {}
    bench_txt = e(bench.get("reading", "")) if bench.get("available") else e(bench.get("note", "not available"))
    sentences = "".join(f"<li>{e(s)}</li>" for s in data.get("sentences", []))
    body = f"""<h1>{e(title)}: {e(data['period'])}</h1>
<p class="muted">{e(data['start'])} to {e(data['end'])} ({e(data['grain'])}, {e(data['tz'])})</p>
<p><span class="big">{e(_fmt(data['frequency']))}</span> contacts per active customer
(95% CI {e(_fmt(data['ci'][0]))}–{e(_fmt(data['ci'][1]))})</p>
<table><tr><th>contacts</th><th>active customers</th><th>cases</th><th>repeat-contact rate</th><th>benchmark</th></tr>
<tr><td>{data['contacts']:,}</td><td>{data['active_customers']:,}</td><td>{data['cases']:,}</td>
<td>{e(_pct(data['repeat_contact_rate']))}</td><td>{bench_txt}</td></tr></table>
<ul class="sentences">{sentences}</ul>
<h2>Notebooks</h2><table>{rows}</table>
<p class="muted"><a href="../index.html">All periods</a> · <a href="summary.json">summary.json</a></p>"""
    return _PAGE.format(title=e(f"{title}: {data['period']}"), body=body)


def _period_dirs(out: Path) -> list[Path]:
    return sorted((p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and not p.name.endswith(FAILED_SUFFIX) and (p / "summary.json").is_file()),
                  key=lambda p: p.name, reverse=True)


def write_top_index(out, *, title: str = "Customer Contact Frequency") -> Path:
    """Rebuild ``reports/index.html``: every rendered period with its headline numbers."""
    out = Path(out)
    e = html.escape
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
            f"<tr><td><a href=\"{e(folder.name)}/index.html\">{e(str(data.get('period', folder.name)))}</a></td>"
            f"<td>{e(str(data.get('grain', '')))}</td><td>{e(_fmt(data.get('frequency')))}</td>"
            f"<td>{e(_fmt((data.get('ci') or [None])[0]))}–{e(_fmt((data.get('ci') or [None, None])[1]))}</td>"
            f"<td>{e(change)}</td><td>{int(data.get('contacts', 0)):,}</td>"
            f"<td>{int(data.get('active_customers', 0)):,}</td><td>{e(_pct(data.get('repeat_contact_rate')))}</td>"
            f"<td>{e(str(bench.get('reading', 'n/a')))}</td></tr>")
    body = (f"<h1>{e(title)}</h1><p class=\"muted\">Rendered periods, newest first.</p>"
            "<table><tr><th>period</th><th>grain</th><th>frequency</th><th>95% CI</th><th>vs previous</th>"
            "<th>contacts</th><th>active customers</th><th>repeat rate</th><th>benchmark</th></tr>"
            + "".join(rows) + "</table>")
    return atomic_write_text(out / "index.html", _PAGE.format(title=e(title), body=body))


# --------------------------------------------------------------------------- rendering
@dataclass(frozen=True)
class Rendered:
    """One rendered period."""

    period: str
    folder: Path
    notebooks: tuple[Path, ...]
    html: tuple[Path, ...]
    summary: dict = field(repr=False)
    timings: dict = field(default_factory=dict, repr=False)


def _cell_number(source_nb: Path, err) -> str:
    """1-based position of the failing cell in the source notebook (papermill's own cells excluded)."""
    import nbformat

    try:
        cells = nbformat.read(str(source_nb), as_version=4).cells
        for i, cell in enumerate(cells, 1):
            if cell.cell_type == "code" and cell.source.strip() == (err.source or "").strip():
                return str(i)
    except Exception:  # noqa: BLE001 - fall back to the execution count
        pass
    return f"[{err.exec_count}]"


def _execute(src: Path, dst: Path, params: dict, kernel: str, failed_dir: Path) -> float:
    import time

    import papermill
    from papermill.exceptions import PapermillExecutionError

    declared = _declared_parameters(src)
    passed = {k: v for k, v in params.items() if declared is None or k in declared}
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(src), str(dst), parameters=passed, kernel_name=kernel, progress_bar=False,
                                   log_output=False, cwd=str(src.parent), execution_timeout=CELL_TIMEOUT,
                                   # kernel start-up chatter (TCP notice) would clutter cron mail
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except PapermillExecutionError as err:
        failed = _keep_failed(dst, failed_dir)
        first = (str(err.evalue).strip().splitlines() or [""])[0]
        raise ReportError(f"notebook {src.name} failed at cell {_cell_number(src, err)}: {err.ename}: {first} "
                          f"(executed notebook kept in {failed})") from None
    except Exception as exc:  # noqa: BLE001 - kernel died, timeout, missing kernel...
        failed = _keep_failed(dst, failed_dir) if dst.exists() else None
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        kept = f" (executed notebook kept in {failed})" if failed else ""
        raise ReportError(f"notebook {src.name} failed: {type(exc).__name__}: {first}{kept}") from None
    return time.perf_counter() - t0


def _keep_failed(executed: Path, failed_dir: Path) -> Path:
    failed_dir.mkdir(parents=True, exist_ok=True)
    target = failed_dir / executed.name
    shutil.copy2(executed, target)
    return target


def render(period, *, grain: str = config.DEFAULT_FREQ, config_path=None, out=None, data_dir=None,
           notebooks=None, progress=None, jobs=None) -> Rendered:
    """Render the report of one period into ``out/<period>/`` (see :func:`render_range`)."""
    return render_range(period, period, grain=grain, config_path=config_path, out=out, data_dir=data_dir,
                        notebooks=notebooks, progress=progress, jobs=jobs)[0]


def default_jobs() -> int:
    """Notebooks run at once: ``KIT_REPORT_JOBS``, else 2 (or 1 on a single core)."""
    env = os.environ.get("KIT_REPORT_JOBS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ParameterError(f"KIT_REPORT_JOBS must be a whole number, not {env!r}") from None
    return max(1, min(2, os.cpu_count() or 1))


def render_range(start, end=None, *, grain: str = config.DEFAULT_FREQ, config_path=None, out=None, data_dir=None,
                 notebooks=None, progress=None, jobs=None) -> list[Rendered]:
    """Render every period from ``start`` to ``end`` (inclusive), oldest first.

    For each period: execute every report notebook with papermill into a temporary
    folder (kernel ``contact-kit``; ``jobs`` notebooks at once, each in its own kernel,
    default :func:`default_jobs`), convert each to offline HTML without input cells,
    compute ``summary.json`` with kit, write ``index.html``, then swap the folder into
    ``out/<period>`` in one rename. Afterwards ``out/index.html`` lists every period.

    Raises
    ------
    ReportError
        A notebook failed: the message names the notebook and the cell; the previous
        report of that period is untouched and the failed executed notebook is kept in
        ``out/<period>.failed/``.

    Examples
    --------
    >>> render("2026-10", out="reports")  # doctest: +SKIP
    Rendered(period='2026-10', folder=PosixPath('reports/2026-10'), ...)
    """
    from tqdm.auto import tqdm

    from . import overview
    from . import context as reportconfig

    grain = periods.check_grain(grain)
    first = overview.parse_period(start, grain)
    last = overview.parse_period(end if end is not None else start, grain)
    if last < first:
        raise ParameterError(f"--to {end} is before --from {start}")
    span = list(periods.spine(first, last, grain))
    cfg = reportconfig.load(config_path)
    nbs = [Path(p) for p in notebooks] if notebooks else report_notebooks()
    out = Path(out or config.REPORTS_DIR)
    out.mkdir(parents=True, exist_ok=True)
    kernel = kernel_name()
    jobs = int(jobs) if jobs else default_jobs()
    show = sys.stderr.isatty() if progress is None else progress
    results = []
    bar = tqdm(total=len(span) * len(nbs), file=sys.stderr, disable=not show, unit="notebook")
    try:
        for p in span:
            results.append(_render_one(p, grain, cfg, nbs, out, kernel, data_dir, bar, jobs))
            write_top_index(out, title=cfg.title)
    finally:
        bar.close()
    return results


def _render_one(start, grain, cfg, nbs, out, kernel, data_dir, bar, jobs) -> Rendered:
    import time

    label = periods.label(start, grain)
    params = notebook_parameters(cfg, period=label, grain=grain, data_dir=data_dir)
    failed_dir = out / f"{label}{FAILED_SUFFIX}"
    timings = {}
    # the summary is computed in-process while the kernels (separate processes) run the notebooks
    # pools inside atomic_dir: on failure they finish their running notebooks before the temp folder goes
    with atomic_dir(out / label) as tmp, ThreadPoolExecutor(max_workers=1) as side, \
            ThreadPoolExecutor(max_workers=jobs) as pool:
        t0 = time.perf_counter()
        future = side.submit(_timed, summary, cfg, period=label, grain=grain, data_dir=data_dir)
        title = cfg.title
        runs = [pool.submit(_run_notebook, src, tmp, params, kernel, failed_dir, f"{title}: {label} – {_title_of(src)}")
                for src in nbs]
        executed, pages, listed = [], [], []
        try:
            for src, run in zip(nbs, runs):
                bar.set_description(f"{label} {src.stem}")
                dst, page, took = run.result()  # in notebook order: the first failing notebook is reported
                timings[f"execute {src.stem}"], timings[f"convert {src.stem}"] = took
                executed.append(dst)
                pages.append(page)
                listed.append({"title": _title_of(src), "html": page.name, "ipynb": dst.name})
                bar.update(1)
        except BaseException:
            for run in runs:
                run.cancel()
            raise
        try:
            data, timings["summary (in parallel with the notebooks)"] = future.result()
        except KitError as exc:
            raise ReportError(f"summary for {label} failed: {exc}") from None
        t1 = time.perf_counter()
        data["notebooks"] = listed
        data["generated"] = {"at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                             "kit_version": __version__, "kernel": kernel}
        (tmp / "summary.json").write_text(dumps_summary(data), encoding="utf-8")
        (tmp / "index.html").write_text(period_index(data, listed, title=cfg.title), encoding="utf-8")
        timings["write summary and index"] = time.perf_counter() - t1
        timings["period total"] = time.perf_counter() - t0
    if failed_dir.exists():  # an earlier failure of this period is now fixed
        shutil.rmtree(failed_dir, ignore_errors=True)
    folder = out / label
    return Rendered(label, folder, tuple(folder / p.name for p in executed), tuple(folder / p.name for p in pages),
                    data, timings)


def _run_notebook(src: Path, tmp: Path, params: dict, kernel: str, failed_dir: Path, title: str):
    """Execute one notebook into ``tmp`` and convert it; returns paths and (execute, convert) seconds."""
    import time

    dst = tmp / src.name
    took_exec = _execute(src, dst, params, kernel, failed_dir)
    t1 = time.perf_counter()
    page = tmp / f"{src.stem}.html"
    page.write_text(to_html(dst, title=title), encoding="utf-8")
    return dst, page, (took_exec, time.perf_counter() - t1)


def _timed(fn, *args, **kwargs):
    import time

    t0 = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - t0


def _title_of(nb: Path) -> str:
    """The notebook's first Markdown heading, else its name: '01_overview.ipynb' -> 'Overview'."""
    try:
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells[:3]:
            if cell.get("cell_type") == "markdown":
                text = "".join(cell.get("source", []))
                m = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
                if m:
                    return m.group(1).strip()
    except (OSError, ValueError):
        pass
    words = nb.stem.split("_", 1)[-1].replace("_", " ").strip()
    return words[:1].upper() + words[1:]


# --------------------------------------------------------------------------- command line
def add_cli(sub) -> None:
    """Add ``python -m kit report`` to the CLI's subparsers."""
    p = sub.add_parser("report", help="render the periodic HTML report (papermill + nbconvert)",
                       description="Execute every notebooks/NN_*.ipynb for a period and write reports/<period>/ "
                                   "(HTML without code, executed notebooks, summary.json, index.html).")
    p.add_argument("--period", help="period to render, e.g. 2026-10, 2026-Q4 or 2026-W43")
    p.add_argument("--from", dest="start", help="first period of a backfill range")
    p.add_argument("--to", dest="end", help="last period of a backfill range")
    p.add_argument("--grain", default=config.DEFAULT_FREQ, choices=["week", "month", "quarter"])
    p.add_argument("--config", help="report.yml with data sources, mapping, tz, segments, benchmark, thresholds")
    p.add_argument("--out", default=str(config.REPORTS_DIR), help="reports folder (default reports/)")
    p.add_argument("--data-dir", help="folder of sample-style tables; overrides the config's data sources")
    p.add_argument("--notebooks", help="folder of NN_name.ipynb notebooks (default notebooks/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--jobs", type=int, help="notebooks executed at once (default 2, or KIT_REPORT_JOBS)")
    p.add_argument("--timings", help="write per-step timings (seconds) of each period as JSON to this file")
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    if args.period and (args.start or args.end):
        raise ParameterError("give either --period or --from/--to, not both")
    start = args.period or args.start
    if not start:
        raise ParameterError("give --period (e.g. 2026-10) or --from and --to")
    end = args.period or args.end or args.start
    nbs = report_notebooks(args.notebooks) if args.notebooks else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # library chatter would clutter cron mail; the kit's own warnings show
        warnings.filterwarnings("default", category=UserWarning, module=r"kit(\.|$)")
        done = render_range(start, end, grain=args.grain, config_path=args.config, out=args.out,
                            data_dir=args.data_dir, notebooks=nbs, progress=False if args.no_progress else None,
                            jobs=args.jobs)
    for r in done:
        s = r.summary
        print(f"{r.period}: frequency {s['frequency']:.3f} (95% CI {s['ci'][0]:.3f}-{s['ci'][1]:.3f}), "
              f"{s['contacts']:,} contacts, {s['active_customers']:,} active customers"
              f"{'' if s['complete'] else ' [INCOMPLETE period: the data ends before it does]'} -> {r.folder / 'index.html'}",
              file=sys.stderr)
    if args.timings:
        atomic_write_text(Path(args.timings), json.dumps({r.period: r.timings for r in done}, indent=2))
    print(f"index: {Path(args.out) / 'index.html'}", file=sys.stderr)
    return 0


os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # kernels inherit it: no debugger noise in logs
