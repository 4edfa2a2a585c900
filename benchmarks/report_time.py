"""Time `make report` on the default sample: setup, each notebook's execution and conversion.

Runs exactly what the Makefile's report target runs (`python -m kit report --period 2026-10
--grain month --config report.yml`), into a scratch folder so reports/ is untouched, and
splits the wall time with the command's own --timings output.

    .venv/bin/python benchmarks/report_time.py [--period 2026-10] [--repeat 1]

Target: a full periodic report in under 60 s wall on a 2-core machine, once installed
(the sample already generated: sample generation is reported as setup, not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--grain", default="month")
    ap.add_argument("--config", default=str(ROOT / "report.yml"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    py = sys.executable
    rows: list[tuple[str, float]] = []

    sample = ROOT / "data" / "sample"
    t0 = time.perf_counter()
    if not (sample / "ground_truth.json").exists():
        subprocess.run([py, "-m", "kit", "sample", "--out", str(sample)], cwd=ROOT, check=True)
        rows.append(("setup: generate the sample (make sample, once)", time.perf_counter() - t0))
    else:
        rows.append(("setup: sample already present", 0.0))
    t0 = time.perf_counter()
    subprocess.run(
        [py, "-c", "import kit, kit.report.render, kit.report.overview, papermill, nbconvert"], cwd=ROOT, check=True
    )
    rows.append(("setup: import kit + papermill + nbconvert (cold interpreter)", time.perf_counter() - t0))

    walls = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            timings = Path(tmp) / "timings.json"
            cmd = [
                py,
                "-m",
                "kit",
                "report",
                "--period",
                args.period,
                "--grain",
                args.grain,
                "--config",
                args.config,
                "--out",
                str(Path(tmp) / "reports"),
                "--no-progress",
                "--timings",
                str(timings),
            ]
            t0 = time.perf_counter()
            run = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
            )
            wall = time.perf_counter() - t0
            if run.returncode != 0:
                print(run.stderr[-3000:], file=sys.stderr)
                return run.returncode
            walls.append(wall)
            split = json.loads(timings.read_text())
    for period, steps in split.items():
        for step, sec in steps.items():
            rows.append((f"{period}: {step}", sec))
    rows.append(
        ("make report wall (median of runs)" if args.repeat > 1 else "make report wall", sorted(walls)[len(walls) // 2])
    )

    width = max(len(r[0]) for r in rows)
    for name, sec in rows:
        print(f"{name:<{width}}  {sec:7.1f} s")
    target = 60.0
    verdict = "meets" if rows[-1][1] < target else "MISSES"
    print(f"{verdict} the {target:.0f} s target on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report_time.json").write_text(
        json.dumps({"rows": rows, "walls": walls, "cores": os.cpu_count(), "period": args.period}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
