"""Warm interactive calls of ``kit.contact_frequency`` (issue 18, part 3), in one process.

Prints the median wall and CPU time of:

* a repeated call on the default sample (``kit.load("data/sample")``) with changed options
  (freq, by, dedup_window, same_topic, direction, start/end), after a first call that prepares
  the sources (the first call is reported on its own);
* a call on a 3-row DataFrame (a new frame object each time, same content), after a first call
  (its result is memoised by content), and calls on it with changed options (computed each time).

Run: ``.venv/bin/python benchmarks/warm.py [--repeat N] [--data data/sample]``.
The targets are under 0.3 s for the sample and under 0.1 s for the 3-row frame (wall, warm).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

OPTIONS = [
    {"freq": "week"},
    {"by": "tier"},
    {"dedup_window": "24h"},
    {"same_topic": True},
    {"direction": "all"},
    {"start": "2024-01-01", "end": "2024-06-30"},
    {"freq": "quarter", "by": "channel"},
    {},
]


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    contacts = pd.DataFrame(
        {
            "contact_id": [1, 2, 3],
            "customer_id": ["a", "a", "b"],
            "created_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05"]),
            "channel": ["email"] * 3,
            "direction": ["inbound"] * 3,
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "signup_date": pd.to_datetime(["2025-01-01"] * 2),
            "churn_date": [pd.NaT, pd.NaT],
            "tier": ["x", "y"],
        }
    )
    return contacts, customers


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds over the option list (default 3)")
    parser.add_argument("--data", default="data/sample")
    args = parser.parse_args()

    import kit
    import kit.metrics.frequency  # noqa: F401 - start-up is benchmarked elsewhere; this is warm calls only

    c, u = tiny()
    first = timed(lambda: kit.contact_frequency(c.copy(), u.copy()))
    small = [timed(lambda: kit.contact_frequency(c.copy(), u.copy())) for _ in range(5 * args.repeat)]
    # options not asked before on the same small frames: the memo does not apply, the prepared tables do
    small_changed = [
        timed(lambda i=i: kit.contact_frequency(c.copy(), u.copy(), freq="week", dedup_window=f"{i + 1}h"))
        for i in range(5 * args.repeat)
    ]
    ds = kit.load(args.data)
    first_sample = timed(lambda: kit.contact_frequency(ds))
    sample: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        for kw in OPTIONS:
            sample.setdefault(str(kw), []).append(timed(lambda kw=kw: kit.contact_frequency(ds, **kw)))

    def med(runs):
        return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

    print(f"3-row frame, first call: {first[0]:.3f} s wall ({first[1]:.3f} s CPU)")
    print("3-row frame, warm: median {:.3f} s wall ({:.3f} s CPU) over {} calls".format(*med(small), len(small)))
    print(
        "3-row frame, changed options: median {:.3f} s wall ({:.3f} s CPU) over {} calls".format(
            *med(small_changed), len(small_changed)
        )
    )
    print(f"sample, first call (prepares the sources): {first_sample[0]:.3f} s wall ({first_sample[1]:.3f} s CPU)")
    for name, runs in sample.items():
        print("sample {:<45} median {:.3f} s wall ({:.3f} s CPU)".format(name, *med(runs)))
    every = [r for runs in sample.values() for r in runs]
    print("sample, changed options: median {:.3f} s wall ({:.3f} s CPU) over {} calls".format(*med(every), len(every)))
    # Round 1 meets each query shape for the first time, round 2 makes its SQL template
    # (kit.core.templates: a second compile), later rounds fill the template in.
    for r in range(args.repeat):
        runs = [runs[r] for runs in sample.values()]
        print("sample, round {}: median {:.3f} s wall ({:.3f} s CPU)".format(r + 1, *med(runs)))


if __name__ == "__main__":
    main()
