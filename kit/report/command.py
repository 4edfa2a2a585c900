"""``python -m kit report``: its arguments, and the command that hands them to :mod:`kit.report.render`.

The parser is built from this light module (argparse, config and errors only), so that
``python -m kit --help`` loads neither pandas nor Ibis; the render pipeline is imported
when the command runs.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..errors import ParameterError

if TYPE_CHECKING:
    import argparse

#: the config ``python -m kit report`` reads when no ``--config`` is given and the file exists
DEFAULT_CONFIG = "report.yml"


def add_cli(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``python -m kit report`` to the CLI's subparsers."""
    p = sub.add_parser(
        "report",
        help="render the periodic HTML report (papermill + nbconvert)",
        description="Execute every notebooks/NN_*.ipynb for a period and write reports/<period>/ "
        "(HTML without code, executed notebooks, summary.json, index.html).",
    )
    p.add_argument("--period", help="period to render, e.g. 2026-10, 2026-Q4 or 2026-W43")
    p.add_argument("--from", dest="start", help="first period of a backfill range")
    p.add_argument("--to", dest="end", help="last period of a backfill range")
    p.add_argument("--grain", default=config.DEFAULT_FREQ, choices=["week", "month", "quarter"])
    p.add_argument(
        "--config",
        help="report.yml with data sources, mapping, tz, segments, benchmark, thresholds "
        "(default: ./report.yml when it exists)",
    )
    p.add_argument("--out", default=str(config.REPORTS_DIR), help="reports folder (default reports/)")
    p.add_argument("--data-dir", help="folder of sample-style tables; overrides the config's data sources")
    p.add_argument("--notebooks", help="folder of NN_name.ipynb notebooks (default notebooks/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--jobs",
        type=int,
        help="kernels running notebooks at once, one after another on each (default 2, or KIT_REPORT_JOBS)",
    )
    p.add_argument("--timings", help="write per-step timings (seconds) of each period as JSON to this file")
    p.add_argument(
        "--pdf", action="store_true", help="also print each report.html to report.pdf with headless Chromium"
    )
    p.add_argument(
        "--segment",
        metavar="COLUMN=VALUE",
        help="the same report for one segment's customers (e.g. region=EMEA), into reports/segments/COLUMN=VALUE/",
    )
    p.add_argument(
        "--each",
        metavar="COLUMN",
        help="one report per value of a customers column (e.g. region), with reports/segments/index.html linking them",
    )
    p.set_defaults(func=_cli)


def _config_line(args) -> str:
    """Resolve ``args.config`` (``./report.yml`` when none is given and it exists) and say which config is used."""
    if args.config:
        return f"config: {args.config}"
    if Path(DEFAULT_CONFIG).is_file():
        args.config = DEFAULT_CONFIG
        return f"config: {DEFAULT_CONFIG} (found in the current folder; --config FILE chooses another)"
    data = args.data_dir or config.SAMPLE_DIR
    return f"config: none (no --config and no ./{DEFAULT_CONFIG}: the defaults, reading {data})"


def _segments(args, context) -> list[tuple[Path, tuple[str, str] | None]]:
    """Where each report goes: ``--out`` for all customers, ``<out>/segments/<column>=<value>/`` per segment."""
    from .html import segment_folder

    out = Path(args.out)
    if args.segment and args.each:
        raise ParameterError("give either --segment COLUMN=VALUE or --each COLUMN, not both")
    if args.each:
        ctx = context.load(args.config, data_dir=args.data_dir)
        values = context.segment_values(ctx.dataset(cut=False), str(args.each).strip())
        if not values:
            raise ParameterError(f"the customers' {args.each} column has no values to report on")
        chosen = [(str(args.each).strip(), v) for v in values]
    else:
        one = args.segment or (context.load(args.config).segment if args.config else None)  # report.yml's segment:
        if not one:
            return [(out, None)]
        chosen = [context.parse_segment(one)]
    folders = [out / "segments" / segment_folder(*seg) for seg in chosen]
    return list(zip(folders, chosen))


#: Imported by jsonschema (through nbformat, through papermill) only to register an IRI format check;
#: its import compiles a grammar (1.2 s, on every render's critical path) for a check that notebook
#: validation never uses. The report command's own process skips it; other processes are untouched.
UNUSED_IN_REPORTS = ("rfc3987_syntax",)


def _cli(args) -> int:
    for name in UNUSED_IN_REPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import name" raises ImportError
    from ..core.io import atomic_write_text
    from . import context
    from .render import render_range, report_notebooks

    if args.period and (args.start or args.end):
        raise ParameterError("give either --period or --from/--to, not both")
    line = _config_line(args)
    if not (args.period or args.start):  # report.yml's `period:` (written by `kit init`) is the default
        args.period = context.load(args.config).period if args.config else None
    start = args.period or args.start
    if not start:
        raise ParameterError("give --period (e.g. 2026-10) or --from and --to, or set period: in report.yml")
    end = args.period or args.end or args.start
    print(line, file=sys.stderr)  # first line: a hand-typed report never ignores the config silently
    nbs = report_notebooks(args.notebooks) if args.notebooks else None
    targets = _segments(args, context)  # [(out folder, segment or None)]
    done = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # library chatter would clutter cron mail; the kit's own warnings show
        warnings.filterwarnings("default", category=UserWarning, module=r"kit(\.|$)")
        for out, segment in targets:
            done += render_range(
                start,
                end,
                freq=args.grain,
                config_path=args.config,
                out=out,
                data_dir=args.data_dir,
                notebooks=nbs,
                progress=False if args.no_progress else None,
                jobs=args.jobs,
                segment=segment,
            )
    if any(segment for _, segment in targets):
        from .html import write_segments_index, write_top_index

        title = context.load(args.config).title
        write_segments_index(Path(args.out) / "segments", title=title)
        write_top_index(Path(args.out), title=title)  # links the segment reports
    for r in done:
        s = r.summary
        seg = f" [{s['segment']['column']}={s['segment']['value']}]" if s.get("segment") else ""
        print(
            f"{r.period}{seg}: frequency {s['frequency']:.3f} (95% CI {s['ci'][0]:.3f}-{s['ci'][1]:.3f}), "
            f"{s['contacts']:,} contacts, {s['active_customers']:,} active customers"
            f"{'' if s['complete'] else ' [INCOMPLETE period: the data ends before it does]'}"
            f" -> {r.folder / 'index.html'}",
            file=sys.stderr,
        )
    if getattr(args, "pdf", False):
        from ..errors import ReportError
        from .executive import to_pdf

        for r in done:
            try:
                print(f"pdf: {to_pdf(r.folder / 'report.html', r.folder / 'report.pdf')}", file=sys.stderr)
            except ReportError as exc:  # the HTML report stands; the PDF is optional
                print(f"no PDF for {r.period}: {exc}", file=sys.stderr)
    if args.timings:
        atomic_write_text(Path(args.timings), json.dumps({r.period: r.timings for r in done}, indent=2))
    print(f"index: {Path(args.out) / 'index.html'}", file=sys.stderr)
    return 0
