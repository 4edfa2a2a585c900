"""Prove that a refactor of :mod:`kit.sample` changes no byte of its output.

``record`` stores every table and the ground truth of three generation runs; ``compare``
regenerates them and asserts exact equality (``pd.testing.assert_frame_equal(check_exact=True)``).

    python benchmarks/sample_equivalence.py record  --out /tmp/sample_before.pkl
    python benchmarks/sample_equivalence.py compare --baseline /tmp/sample_before.pkl
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: The generation runs compared (keyword arguments of ``kit.sample.generate``).
RUNS = {
    "default": {},
    "1500x24": {"customers": 1500, "months": 24},
    "800x14_plain": {
        "customers": 800,
        "months": 14,
        "seed": 7,
        "seasonality": False,
        "effects": False,
        "data_quality": False,
    },
}


def snapshot(kwargs: dict) -> dict:
    """Tables and ground truth of one run."""
    from kit.sample import generate

    s = generate(**kwargs)
    return {"tables": {k: v.copy() for k, v in s.tables().items()}, "ground_truth": s.ground_truth}


def compare(base: dict, new: dict) -> list[str]:
    """Differences between two snapshots, as lines (empty when identical)."""
    out = []
    for name, frame in base["tables"].items():
        try:
            pd.testing.assert_frame_equal(frame, new["tables"][name], check_exact=True)
        except (AssertionError, KeyError) as exc:
            out.append(f"table {name}: {str(exc).splitlines()[0:3]}")
    if base["ground_truth"] != new["ground_truth"]:
        keys = [k for k in base["ground_truth"] if base["ground_truth"].get(k) != new["ground_truth"].get(k)]
        out.append(f"ground_truth differs in {keys}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["record", "compare"])
    p.add_argument("--out", default="/tmp/sample_before.pkl")
    p.add_argument("--baseline", default="/tmp/sample_before.pkl")
    a = p.parse_args(argv)
    if a.mode == "record":
        data = {name: snapshot(kw) for name, kw in RUNS.items()}
        with open(a.out, "wb") as fh:
            pickle.dump(data, fh)
        print(f"recorded {len(data)} runs into {a.out}")
        return 0
    with open(a.baseline, "rb") as fh:
        base = pickle.load(fh)
    total = 0
    for name, kw in RUNS.items():
        diffs = compare(base[name], snapshot(kw))
        total += len(diffs)
        print(f"{name}: {len(diffs)} differences", *diffs, sep="\n  " if diffs else "")
    print(f"{total} differences")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
