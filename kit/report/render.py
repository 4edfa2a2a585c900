"""Periodic reports: papermill runs the notebooks of one :class:`~kit.report.context.ReportContext`.

This is the one module that talks to papermill and the Jupyter kernels; pages come from
:mod:`kit.report.html` and ``summary.json`` from :mod:`kit.report.summary`. A period renders into a
temporary folder beside ``reports/<period>`` that replaces it only when every notebook
succeeded, so a failed run never damages the previous report; the failed executed
notebook is kept in ``reports/<period>.failed/`` for debugging.

A report for a period reads only the data known at the end of that period (the context's
dataset is cut at :attr:`~kit.report.context.ReportContext.as_of`), so a backfilled report does
not change as later data arrives.

Faults: one render at a time per period and output folder (an advisory lock,
``<out>/.<period>.lock``; a second render waits, saying so, then replaces the folder); hidden
temporary folders left by a killed render are removed at the start of the next render; paths
are made absolute first and no notebook changes the process's working directory (papermill's
``cwd`` is process-wide while notebooks run in threads; each kernel starts in the notebooks'
folder instead); kernels are not sent an interrupt when they shut down (it printed
``[IPKernelApp] ERROR | KeyboardInterrupt`` lines into cron mail).

Notebooks run in order on ``jobs`` kernels (default 2), each executing one notebook after another
with its namespace reset in between (:mod:`kit.report.kernels`), so start-up and imports are paid
once per kernel rather than once per notebook; the summary is computed in this process meanwhile.

Every notebook gets ``ctx.parameters()`` (period, grain, mapping, dedup window, time zone,
segments, thresholds, bands, redaction) and rebuilds the same context with
:func:`kit.report.context.from_parameters`. Secrets never travel as notebook parameters: a
notebook gets the config file's path and reads the connection (and the secret's environment
variable) itself.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import config
from ..config import VERSION as __version__
from ..core import periods
from ..core.io import atomic_dir
from ..core.periods import parse_period
from ..deps import require
from ..errors import DataError, KitError, ParameterError, ReportError, renamed_parameters
from . import context, shared
from .executive import build as build_executive
from .html import EXECUTIVE, FAILED_SUFFIX, period_index, to_html, write_top_index
from .kernels import KernelLane
from .summary import dumps_summary, summary

if TYPE_CHECKING:
    from ..core.types import DateLike

NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
#: Seconds one notebook cell may run before the render is abandoned.
CELL_TIMEOUT = 900
#: Starts of one notebook's kernel: a kernel can die at start-up when another process takes the port
#: jupyter_client picked for it (freed, then bound: a race between concurrent renders), so it is retried.
KERNEL_START_ATTEMPTS = 3
#: Hidden folder of a render's temporary output holding the shared as-of-cut tables (removed before the swap).
SHARED_DIR = ".shared"
#: Seconds a render waits for another render of the same period into the same folder (``KIT_REPORT_LOCK_WAIT``).
LOCK_WAIT = 3600.0
#: Hidden debris of a render of one period: its temporary folder, its replaced copy and its lock file.
_DEBRIS = re.compile(r"^\.(?P<label>.+?)\.(?:[A-Za-z0-9_]+\.tmp|old-\d+|lock)$")


# --------------------------------------------------------------------------- notebooks and kernel
def report_notebooks(folder: str | Path | None = None) -> list[Path]:
    """Every ``NN_name.ipynb`` in ``folder`` (default ``notebooks/``), in order."""
    folder = Path(folder or config.NOTEBOOKS_DIR).expanduser().resolve()
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
        warnings.warn(
            f"Jupyter kernel {config.KERNEL_NAME!r} is not installed (run `make kernel`); "
            "using the current interpreter's python3 kernel",
            stacklevel=2,
        )
        return "python3"


def _declared_parameters(path: Path) -> set[str] | None:
    papermill = require("papermill", extra="report", purpose="rendering reports")

    try:
        return set(papermill.inspect_notebook(str(path)))
    except Exception:  # noqa: BLE001 - an uninspectable cell: pass everything
        return None


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


def _execute(
    src: Path, dst: Path, params: dict, kernel: str, failed_dir: Path, env: tuple = (), lane: KernelLane | None = None
) -> float:
    """Execute one notebook on ``lane``'s kernel (default: a kernel of its own); returns the seconds taken."""
    import time

    require("papermill", extra="report", purpose="rendering reports")
    from papermill.exceptions import PapermillExecutionError

    declared = _declared_parameters(src)
    passed = {k: v for k, v in params.items() if declared is None or k in declared}
    own = lane is None
    lane = KernelLane(kernel, env) if lane is None else lane
    t0 = time.perf_counter()
    try:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
                lane.run(src, dst, passed, timeout=CELL_TIMEOUT)
                break
            except RuntimeError as exc:  # no cell ran yet: starting again is safe
                if attempt == KERNEL_START_ATTEMPTS or "died before replying to kernel_info" not in str(exc):
                    raise
                lane.close()
                print(
                    f"{src.name}: its kernel died while starting (attempt {attempt}); starting another", file=sys.stderr
                )
    except PapermillExecutionError as err:
        failed = _keep_failed(dst, failed_dir)
        first = (str(err.evalue).strip().splitlines() or [""])[0]
        raise ReportError(
            f"notebook {src.name} failed at cell {_cell_number(src, err)}: {err.ename}: {first} "
            f"(executed notebook kept in {failed})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - kernel died, timeout, missing kernel...
        failed = _keep_failed(dst, failed_dir) if dst.exists() else None
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        kept = f" (executed notebook kept in {failed})" if failed else ""
        raise ReportError(f"notebook {src.name} failed: {type(exc).__name__}: {first}{kept}") from None
    finally:
        if own:
            lane.close()
    return time.perf_counter() - t0


def _keep_failed(executed: Path, failed_dir: Path) -> Path:
    failed_dir.mkdir(parents=True, exist_ok=True)
    target = failed_dir / executed.name
    shutil.copy2(executed, target)
    return target


@renamed_parameters(grain="freq")
def render(
    period: DateLike,
    *,
    freq: str = config.DEFAULT_FREQ,
    config_path: str | Path | None = None,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    notebooks: Sequence[str | Path] | None = None,
    progress: bool | None = None,
    jobs: int | None = None,
    segment: str | tuple[str, str] | None = None,
) -> Rendered:
    """Render the report of one period into ``out/<period>/`` (see :func:`render_range`)."""
    return render_range(
        period,
        period,
        freq=freq,
        config_path=config_path,
        out=out,
        data_dir=data_dir,
        notebooks=notebooks,
        progress=progress,
        jobs=jobs,
        segment=segment,
    )[0]


def _env_number(name: str, parse, what: str):
    """The number in environment variable ``name`` (None when unset or empty); a one-line error otherwise."""
    env = os.environ.get(name)
    if not env:
        return None
    try:
        return parse(env)
    except ValueError:
        raise ParameterError(f"{name} must be {what}, not {env!r}") from None


def default_jobs() -> int:
    """Notebooks run at once: ``KIT_REPORT_JOBS``, else 2 (or 1 on a single core)."""
    jobs = _env_number("KIT_REPORT_JOBS", int, "a whole number")
    return max(1, jobs) if jobs is not None else max(1, min(2, os.cpu_count() or 1))


@renamed_parameters(grain="freq")
def render_range(
    start: DateLike,
    end: DateLike = None,
    *,
    freq: str = config.DEFAULT_FREQ,
    config_path: str | Path | None = None,
    out: str | Path | None = None,
    data_dir: str | Path | None = None,
    notebooks: Sequence[str | Path] | None = None,
    progress: bool | None = None,
    jobs: int | None = None,
    segment: str | tuple[str, str] | None = None,
) -> list[Rendered]:
    """Render every period from ``start`` to ``end`` (inclusive), oldest first.

    For each period: execute every report notebook with papermill into a temporary
    folder (kernel ``contact-kit``; ``jobs`` notebooks at once, each in its own kernel,
    default :func:`default_jobs`), convert each to offline HTML without input cells,
    compute ``summary.json`` with kit, write ``index.html``, then swap the folder into
    ``out/<period>`` in one rename. Afterwards ``out/index.html`` lists every period.

    ``segment`` (``"region=EMEA"`` or ``("region", "EMEA")``, else report.yml's ``segment``) renders the
    same report for one segment's customers (:attr:`~kit.report.context.ReportContext.segment`); the
    command line puts it in ``reports/segments/<column>=<value>/``.

    One render of a period into ``out`` runs at a time: a second one waits for the first
    (up to :func:`lock_wait` seconds, saying so on stderr) and then renders. Hidden temporary
    folders left in ``out`` by a killed render are removed first.

    Raises
    ------
    ReportError
        A notebook failed: the message names the notebook and the cell; the previous
        report of that period is untouched and the failed executed notebook is kept in
        ``out/<period>.failed/``. Also: another render of the period still held the lock
        after :func:`lock_wait` seconds.
    DataError
        A period lies wholly after the last contact or before the first one: the message
        says where the data ends (or starts).

    Examples
    --------
    >>> render("2026-10", out="reports")  # doctest: +SKIP
    Rendered(period='2026-10', folder=PosixPath('reports/2026-10'), ...)
    """
    from tqdm.auto import tqdm

    grain = periods.check_grain(freq)
    first = parse_period(start, grain)
    last = parse_period(end if end is not None else start, grain)
    if last < first:
        raise ParameterError(f"--to {end} is before --from {start}")
    span = list(periods.spine(first, last, grain))
    # once: report.yml plus the command line
    ctx = context.load(config_path, grain=grain, data_dir=data_dir, segment=segment)
    # absolute paths first: nothing below may depend on the working directory
    nbs = [Path(p).expanduser().resolve() for p in notebooks] if notebooks else report_notebooks()
    out = Path(out or config.REPORTS_DIR).expanduser().resolve()
    if ctx.segment is not None:
        check_notebooks_take_segment(nbs)
    check_data_covers(ctx, span)
    out.mkdir(parents=True, exist_ok=True)
    sweep(out)
    kernel = kernel_name()
    jobs = int(jobs) if jobs else default_jobs()
    show = sys.stderr.isatty() if progress is None else progress
    results = []
    bar = tqdm(total=len(span) * len(nbs), file=sys.stderr, disable=not show, unit="notebook")
    try:
        for p in span:
            label = periods.label(p, grain)
            with period_lock(out, label):
                _clean(out, label)  # what a killed render of this period left
                results.append(_render_one(ctx.for_period(label), nbs, out, kernel, bar, jobs))
            write_top_index(out, title=ctx.title)
    finally:
        bar.close()
    return results


def check_notebooks_take_segment(notebooks: Sequence[Path]) -> None:
    """Refuse a segment report with a notebook that has no ``drilldown`` parameter: it would show every
    customer's numbers on a page titled for one segment.

    Raises :class:`~kit.errors.ParameterError` naming the notebooks and the fix.
    """
    declared = {nb.name: _declared_parameters(nb) for nb in notebooks}
    blind = [name for name, params in declared.items() if params is not None and "drilldown" not in params]
    if blind:
        raise ParameterError(
            f"notebook(s) {', '.join(blind)} have no `drilldown` parameter, so a segment report would show "
            "all customers in them; add `drilldown = None` to the parameters cell and pass it to "
            "kit.report.context.from_parameters(..., drilldown=drilldown)"
        )


def check_data_covers(ctx: context.ReportContext, span: Sequence[pd.Timestamp]) -> None:
    """Refuse, before any notebook runs, a period that lies wholly outside the contacts' dates.

    Raises :class:`~kit.errors.DataError` saying where the data ends (or starts), e.g.
    ``no data for 2030-01: the data ends on 2026-10-31 ...``.
    """
    from .overview import data_range

    grain = ctx.grain
    first, last = data_range(ctx.dataset(cut=False))  # the whole data: where it really ends
    if last is None:
        raise DataError("the contacts have no readable created_at, so there is nothing to report; see `kit inspect`")
    for p in span:
        label, end = periods.label(p, grain), periods.period_end(p, grain)
        if p > pd.Timestamp(last):
            raise DataError(
                f"no data for {label}: the data ends on {last}; choose a period up to "
                f"{periods.label(last, grain)} (or load newer data)"
            )
        if end < pd.Timestamp(first):
            raise DataError(
                f"no data for {label}: the data starts on {first}; choose a period from {periods.label(first, grain)}"
            )


def lock_wait() -> float:
    """Seconds to wait for another render of the same period: ``KIT_REPORT_LOCK_WAIT``, else :data:`LOCK_WAIT`."""
    wait = _env_number("KIT_REPORT_LOCK_WAIT", float, "a number of seconds")
    return max(0.0, wait) if wait is not None else LOCK_WAIT


def _lock_path(out: Path, label: str) -> Path:
    return out / f".{label}.lock"


def _try_lock(path: Path) -> int | None:
    """An open descriptor holding the exclusive lock on ``path``, or None when another process holds it."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the previous holder removes the file as it lets go: then lock the new file instead
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _unlock(path: Path, fd: int) -> None:
    try:
        path.unlink()  # before letting go: a waiter then sees a new file, never a removed one
    except FileNotFoundError:
        pass
    os.close(fd)  # closing releases the lock


@contextmanager
def period_lock(out: Path, label: str, *, wait: float | None = None) -> Iterator[None]:
    """Hold the lock of one period's output folder, ``out/.<label>.lock``, for one render.

    Another render of the same period into the same folder waits (saying so once on stderr)
    for up to ``wait`` seconds (default :func:`lock_wait`), then fails with a
    :class:`~kit.errors.ReportError` that names the render holding the lock. The lock is an
    advisory ``flock``: the system releases it when its process dies, even by SIGKILL. Without
    ``fcntl`` (Windows) there is no lock.
    """
    try:
        import fcntl  # noqa: F401 - POSIX only
    except ImportError:
        yield
        return
    path = _lock_path(out, label)
    wait = lock_wait() if wait is None else float(wait)
    deadline = time.monotonic() + wait
    told = False
    while (fd := _try_lock(path)) is None:
        holder = _holder(path)
        if time.monotonic() >= deadline:
            raise ReportError(
                f"another render of {label} into {out} is still running ({holder}); let it finish (or stop it) "
                f"and run again, or set KIT_REPORT_LOCK_WAIT to wait longer than {wait:g} s"
            )
        if not told:
            print(
                f"another render of {label} into {out} is running ({holder}); waiting for it to finish", file=sys.stderr
            )
            told = True
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    try:
        os.ftruncate(fd, 0)  # a killed render's lock file may still name it
        os.write(fd, f"pid {os.getpid()}, started {_dt.datetime.now().isoformat(timespec='seconds')}".encode())
        yield
    finally:
        _unlock(path, fd)


def _holder(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip() or "starting"
    except OSError:
        return "finishing"


def sweep(out: Path) -> list[Path]:
    """Remove the hidden debris of killed renders in ``out`` (temporary folders, replaced copies, lock files)
    of every period no render is working on now; returns what was removed."""
    labels = sorted({m["label"] for p in out.iterdir() if (m := _DEBRIS.match(p.name))})
    removed = []
    for label in labels:
        try:
            import fcntl  # noqa: F401 - POSIX only
        except ImportError:
            break  # without a lock there is no telling a killed render from a running one
        fd = _try_lock(_lock_path(out, label))
        if fd is None:
            continue  # a render of this period is running: its folders are not debris
        try:
            removed += _clean(out, label)
        finally:
            _unlock(_lock_path(out, label), fd)
    return removed


def _clean(out: Path, label: str) -> list[Path]:
    """Remove one period's temporary folders and replaced copies (call it holding the period's lock)."""
    removed = []
    for p in out.iterdir():
        m = _DEBRIS.match(p.name)
        if m and m["label"] == label and not p.name.endswith(".lock"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _render_one(ctx: context.ReportContext, nbs, out, kernel, bar, jobs) -> Rendered:
    import time

    label = ctx.period
    params = ctx.parameters()
    failed_dir = out / f"{label}{FAILED_SUFFIX}"
    timings = {}
    # the summary is computed in-process while the kernels (separate processes) run the notebooks
    # pools inside atomic_dir: on failure they finish their running notebooks before the temp folder goes
    with (
        atomic_dir(out / label) as tmp,
        ThreadPoolExecutor(max_workers=1) as side,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        t0 = time.perf_counter()
        # the as-of cut once, as Parquet, for the summary and every kernel (kit.report.shared)
        share = shared.write(ctx, tmp / SHARED_DIR)
        timings["share the as-of-cut tables"] = time.perf_counter() - t0
        env = ((shared.ENV, str(share)),) if share else ()
        future = side.submit(_timed, _summary_with, share, ctx)
        title = ctx.title
        # notebooks in order over `jobs` kernels, each running one notebook after another (kit.report.kernels)
        runs: list[Future] = [Future() for _ in nbs]
        queue = deque(zip(nbs, runs))
        titles = {src: f"{title}: {label} – {_title_of(src)}" for src in nbs}
        lanes = [
            pool.submit(_lane, queue, tmp, params, kernel, failed_dir, titles, env) for _ in range(min(jobs, len(nbs)))
        ]
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
        for lane in lanes:
            lane.result()
        try:
            data, timings["summary (in parallel with the notebooks)"] = future.result()
        except KitError as exc:
            raise ReportError(f"summary for {label} failed: {exc}") from None
        if share:  # every reader is done: the shared tables are no part of the report
            shutil.rmtree(share, ignore_errors=True)
        t1 = time.perf_counter()
        data["notebooks"] = listed
        data["generated"] = {
            "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "kit_version": __version__,
            "kernel": kernel,
        }
        (tmp / "summary.json").write_text(dumps_summary(data), encoding="utf-8")
        # the single-file report for executives, from the same summary dict as summary.json
        (tmp / EXECUTIVE).write_text(build_executive(ctx, data), encoding="utf-8")
        executive = EXECUTIVE if (tmp / EXECUTIVE).is_file() else None  # the one-page report, linked first
        (tmp / "index.html").write_text(
            period_index(data, listed, title=ctx.title, executive=executive), encoding="utf-8"
        )
        timings["write summary and index"] = time.perf_counter() - t1
        timings["period total"] = time.perf_counter() - t0
    if failed_dir.exists():  # an earlier failure of this period is now fixed
        shutil.rmtree(failed_dir, ignore_errors=True)
    folder = out / label
    return Rendered(
        label, folder, tuple(folder / p.name for p in executed), tuple(folder / p.name for p in pages), data, timings
    )


def _lane(queue: deque, tmp: Path, params: dict, kernel: str, failed_dir: Path, titles: dict, env: tuple) -> None:
    """Run queued ``(notebook, future)`` pairs on one kernel until the queue is empty or a notebook fails."""
    with KernelLane(kernel, env) as lane:
        while True:
            try:
                src, run = queue.popleft()
            except IndexError:
                return
            if not run.set_running_or_notify_cancel():  # cancelled: the render already failed
                continue
            try:
                run.set_result(_run_notebook(src, tmp, params, kernel, failed_dir, titles[src], env, lane))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting render
                run.set_exception(exc)
                while queue:  # the render fails: no later notebook starts
                    try:
                        queue.popleft()[1].cancel()
                    except IndexError:
                        break
                return


def _run_notebook(
    src: Path,
    tmp: Path,
    params: dict,
    kernel: str,
    failed_dir: Path,
    title: str,
    env: tuple = (),
    lane: KernelLane | None = None,
):
    """Execute one notebook into ``tmp`` and convert it; returns paths and (execute, convert) seconds."""
    import time

    dst = tmp / src.name
    took_exec = _execute(src, dst, params, kernel, failed_dir, env, lane)
    t1 = time.perf_counter()
    page = tmp / f"{src.stem}.html"
    page.write_text(to_html(dst, title=title), encoding="utf-8")
    return dst, page, (took_exec, time.perf_counter() - t1)


def _summary_with(share: Path | None, ctx: context.ReportContext) -> dict:
    """``summary(ctx)`` reading the render's shared as-of-cut tables (when written)."""
    with shared.use(share):
        return summary(ctx)


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
# `python -m kit report` lives in kit.report.command (a light module: `--help` loads no pandas); re-exported here.
from .command import DEFAULT_CONFIG, add_cli  # noqa: E402, F401
