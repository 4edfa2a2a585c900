"""Start-up time, side by side: import pandas, import kit, `python -m kit --help`, the first contact_frequency call.

Each command runs in a fresh interpreter, interleaved round by round so that a busy machine slows
them alike; the median of the rounds is printed (wall seconds), with the targets of issue 18:
`python -m kit --help` no slower than `import pandas`, and `import kit` at most 0.3 s more than
`import pandas`. Then the top of `python -X importtime -c "import kit; kit.contact_frequency"`.

    .venv/bin/python benchmarks/startup.py [--rounds 5] [--top 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_CALL = (
    "import kit; ds = kit.load('data/examples'); kit.contact_frequency(ds)"  # the tiny example: start-up dominates
)
COMMANDS = {
    "python -c 'import pandas'": ["-c", "import pandas"],
    "python -c 'import kit'": ["-c", "import kit"],
    "python -m kit --help": ["-m", "kit", "--help"],
    "python -c 'from kit import contact_frequency'": ["-c", "from kit import contact_frequency"],
    "first contact_frequency call (data/examples)": ["-c", FIRST_CALL],
}


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def importtime(code: str, top: int) -> list[tuple[float, str]]:
    """The ``top`` modules by cumulative import time (seconds) for ``code`` in a fresh interpreter."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    rows = []
    for line in run.stderr.splitlines():
        parts = line.split("|")  # "import time: self | cumulative | name"
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].strip()))
    return sorted(rows, reverse=True)[:top]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    for cmd in COMMANDS.values():  # warm the file cache and the bytecode once
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, cmd in COMMANDS.items():
            times[name].append(wall(cmd))
    med = {name: statistics.median(ts) for name, ts in times.items()}
    width = max(map(len, med))
    print(f"# median of {args.rounds} rounds, wall seconds ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    for name, sec in med.items():
        print(f"{name:<{width}}  {sec:6.2f} s   (min {min(times[name]):.2f})")
    pandas, kit_, helps = med["python -c 'import pandas'"], med["python -c 'import kit'"], med["python -m kit --help"]
    print(f"--help vs import pandas: {helps - pandas:+.2f} s ({'meets' if helps <= pandas else 'MISSES'} the target)")
    verdict = "meets" if kit_ - pandas <= 0.3 else "MISSES"
    print(f"import kit - import pandas: {kit_ - pandas:+.2f} s ({verdict} <= 0.3 s)")
    code = "import kit; kit.contact_frequency"
    print(f"\n# top {args.top} of -X importtime for {code!r} (cumulative seconds)")
    for sec, name in importtime(code, args.top):
        print(f"{sec:6.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
