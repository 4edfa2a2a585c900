"""Fuzz the CLI with generated malformed exports (issue 15): count outcomes by class, stop at a broken promise.

Uses the strategies of tests/test_fuzz.py. Every example must end in a one-line error with exit 2
(``error``), a header-only result (``empty``) or a result (``answer``) whose ledger balances; anything
else (a traceback, exit 1, an unbalanced ledger) is a ``failure`` and is printed with its input.

    .venv/bin/python benchmarks/fuzz.py [--examples 10000] [--seed 0] [--minutes 0] [--jobs 1]

``--minutes N`` stops after about N minutes (the examples run so far are reported). ``--jobs N`` splits
the examples over N processes with seeds ``seed``, ``seed + 1``, ... and adds up their counts.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main(argv=None) -> int:
    from hypothesis import HealthCheck, given, settings
    from test_fuzz import cli_case, run_case

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=0, help="stop after about this many minutes (0: no limit)")
    ap.add_argument("--jobs", type=int, default=1, help="processes, each with its own seed")
    args = ap.parse_args(argv)
    if args.jobs > 1:
        return _in_parallel(args)

    outcomes: collections.Counter = collections.Counter()
    failures: list[str] = []
    started = time.perf_counter()

    class Enough(Exception):
        pass

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(cli_case())
    def check(case):
        if args.minutes and time.perf_counter() - started > args.minutes * 60:
            raise Enough
        try:
            outcomes[run_case(*case)] += 1
        except AssertionError as exc:
            outcomes["failure"] += 1
            failures.append(f"{case!r}\n  -> {str(exc)[:500]}")

    import random

    random.seed(args.seed)
    try:
        from hypothesis import seed

        seed(args.seed)(check)()
    except Enough:
        pass
    elapsed = time.perf_counter() - started
    total = sum(outcomes.values())
    print(f"examples run: {total:,} in {elapsed:.0f} s ({elapsed / max(total, 1):.2f} s each)")
    for name in ("error", "empty", "answer", "failure"):
        print(f"  {name:8s} {outcomes[name]:6,}")
    for failure in failures[:10]:
        print("FAILURE", failure)
    return 1 if failures else 0


def _in_parallel(args) -> int:
    """Run ``args.jobs`` copies of this script on a share of the examples each and add up their reports."""
    import re
    import subprocess

    share = -(-args.examples // args.jobs)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--examples", str(share), "--seed", str(args.seed + i)]
            + ["--minutes", str(args.minutes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(args.jobs)
    ]
    outcomes: collections.Counter = collections.Counter()
    failures: list[str] = []
    for i, proc in enumerate(procs):
        out, _ = proc.communicate()
        print(f"[seed {args.seed + i}] " + out.splitlines()[0] if out else f"[seed {args.seed + i}] no output")
        for name, count in re.findall(r"^  (\w+) +([\d,]+)$", out, flags=re.M):
            outcomes[name] += int(count.replace(",", ""))
        failures += [line for line in out.splitlines() if line.startswith("FAILURE") or line.startswith("  ->")]
    print(f"examples run: {sum(outcomes.values()):,} over {args.jobs} processes")
    for name in ("error", "empty", "answer", "failure"):
        print(f"  {name:8s} {outcomes[name]:6,}")
    print("\n".join(failures[:20]))
    return 1 if outcomes["failure"] or any(p.returncode not in (0, 1) for p in procs) else 0


if __name__ == "__main__":
    sys.exit(main())
