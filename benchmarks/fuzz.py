"""Fuzz the CLI with generated malformed exports (issue 15): count outcomes by class, stop at a broken promise.

Uses the strategies of tests/test_fuzz.py. Every example must end in a one-line error with exit 2
(``error``), a header-only result (``empty``) or a result (``answer``) whose ledger balances; anything
else (a traceback, exit 1, an unbalanced ledger) is a ``failure`` and is printed with its input.

    .venv/bin/python benchmarks/fuzz.py [--examples 10000] [--seed 0] [--minutes 0]

``--minutes N`` stops after about N minutes (the examples run so far are reported).
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
    args = ap.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(main())
