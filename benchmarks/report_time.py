"""Time `make report` on the default sample and split where the time goes.

Runs exactly what the Makefile's report target runs (`python -m kit report --period 2026-10
--grain month --config report.yml`), into a scratch folder so reports/ is untouched, and
splits the wall time with the command's own --timings output and the executed notebooks'
per-cell durations (papermill records them):

- kernel start-up and shutdown: a notebook's execution minus the time its cells ran;
- imports in each kernel: the notebook's import lines, timed in a cold interpreter;
- the set-up cell (context, dataset, metric calls) and the remaining cells (charts, tables);
- nbconvert (HTML conversion) per notebook, the summary in the render process.

It also reports the CPU seconds of the whole process tree (the render and its kernels), which
says more than wall time on a shared machine.

    .venv/bin/python benchmarks/report_time.py [--period 2026-10] [--repeat 1] [--root PATH]

``--root`` runs another checkout (e.g. a git worktree of an older commit) for a before/after pair.
Target: a full periodic report in under 20 s wall on a 2-core machine, once installed
(the sample already generated: sample generation is reported as setup, not counted).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TARGET = 20.0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def notebook_imports(nb: Path) -> str:
    """The import statements of a notebook's code cells (parameters cell excluded), as one script."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        code = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith("%"))
        try:
            tree = ast.parse(code)  # IPython magics left out
        except SyntaxError:
            continue
        lines += [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(lines)


def cell_split(executed: Path) -> dict[str, float]:
    """Seconds in the set-up cell (the one that rebuilds the context) and in the other cells."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    setup = other = 0.0
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        took = (cell.get("metadata", {}).get("papermill") or {}).get("duration") or 0.0
        if "from_parameters" in "".join(cell["source"]):
            setup += took
        else:
            other += took
    return {"setup cell (context, dataset, metrics)": setup, "other cells (charts, tables)": other}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--grain", default="month")
    ap.add_argument("--root", default=str(ROOT), help="checkout to run (default this one)")
    ap.add_argument("--config", help="report.yml (default <root>/report.yml)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--label", default="", help="a name for this run in the printed table and the JSON file")
    args = ap.parse_args(argv)
    root = Path(args.root).resolve()
    config = args.config or str(root / "report.yml")
    py = sys.executable
    rows: list[tuple[str, float]] = []
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1", PYTHONPATH=str(root))

    sample = root / "data" / "sample"
    t0 = time.perf_counter()
    if not (sample / "ground_truth.json").exists():
        subprocess.run([py, "-m", "kit", "sample", "--out", str(sample)], cwd=root, check=True, env=env)
        rows.append(("setup: generate the sample (make sample, once)", time.perf_counter() - t0))
    else:
        rows.append(("setup: sample already present", 0.0))
    # as `make report` does: the kit's bytecode compiled (a no-op when current). Without it, and with
    # PYTHONDONTWRITEBYTECODE set, every kernel compiles its imports from source again
    t0 = time.perf_counter()
    subprocess.run([py, "-m", "compileall", "-q", str(root / "kit")], check=True, env=env)
    rows.append(("setup: compile the kit's bytecode (make bytecode)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    subprocess.run(
        [py, "-c", "import kit, kit.report.render, kit.report.overview, papermill, nbconvert"],
        cwd=root,
        check=True,
        env=env,
    )
    rows.append(("setup: import kit + papermill + nbconvert (cold interpreter)", time.perf_counter() - t0))

    walls, cpus = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            timings = Path(tmp) / "timings.json"
            out = Path(tmp) / "reports"
            cmd = [py, "-m", "kit", "report", "--period", args.period, "--grain", args.grain, "--config", config]
            cmd += ["--out", str(out), "--no-progress", "--timings", str(timings)]
            t0, c0 = time.perf_counter(), _children_cpu()
            run = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
            wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
            if run.returncode != 0:
                print(run.stderr[-3000:], file=sys.stderr)
                return run.returncode
            walls.append(wall)
            cpus.append(cpu)
            split = json.loads(timings.read_text())
            cells = {nb.stem: cell_split(nb) for period in split for nb in sorted((out / period).glob("*.ipynb"))}
    for period, steps in split.items():
        for step, sec in steps.items():
            rows.append((f"{period}: {step}", sec))
            stem = step.removeprefix("execute ")
            if step.startswith("execute ") and stem in cells:
                inside = cells[stem]
                rows.append((f"{period}:   kernel start-up and shutdown", sec - sum(inside.values())))
                rows += [(f"{period}:   {name}", s) for name, s in inside.items()]
    for nb in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        t0 = time.perf_counter()
        subprocess.run([py, "-c", notebook_imports(nb)], cwd=root / "notebooks", check=True, env=env)
        rows.append((f"imports of {nb.stem} (cold interpreter, as in its kernel)", time.perf_counter() - t0))
    rows.append(("CPU seconds, render and kernels (median)", sorted(cpus)[len(cpus) // 2]))
    rows.append(
        ("make report wall (median of runs)" if args.repeat > 1 else "make report wall", sorted(walls)[len(walls) // 2])
    )

    width = max(len(r[0]) for r in rows)
    print(f"# {args.label or root} ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end)")
    for name, sec in rows:
        print(f"{name:<{width}}  {sec:7.1f} s")
    verdict = "meets" if rows[-1][1] < TARGET else "MISSES"
    print(f"{verdict} the {TARGET:.0f} s target on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"report_time{'_' + args.label if args.label else ''}.json"
    (RESULTS / name).write_text(
        json.dumps(
            {"rows": rows, "walls": walls, "cpu": cpus, "cores": os.cpu_count(), "period": args.period}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
