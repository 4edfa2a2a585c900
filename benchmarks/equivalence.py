"""Record every public function's output on data/sample and data/examples, then compare.

Used to prove that a refactor changes no number: run ``record`` on the code before the move,
``compare`` after it. Frames, ledgers, notes and result fields are compared exactly.

    python benchmarks/equivalence.py record  --out /tmp/before.pkl
    python benchmarks/equivalence.py compare --baseline /tmp/before.pkl

The calls name functions by their historical home (``frequency.contact_frequency``); the
resolver also looks in the layered packages, so the same script drives both layouts.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Where a historical module's functions may live now (first match wins).
HOMES = {
    "frequency": ["kit.metrics.frequency", "kit.frequency"],
    "rates": ["kit.metrics.rates", "kit.rates"],
    "accounts": ["kit.metrics.accounts", "kit.metrics.coverage", "kit.accounts"],
    "features": ["kit.metrics.features", "kit.features"],
    "drivers": [
        "kit.analysis.churn",
        "kit.analysis.csat",
        "kit.analysis.correlation",
        "kit.analysis.touchpoints",
        "kit.analysis.drivers",
        "kit.drivers",
    ],
    "seasonality": [
        "kit.analysis.decompose",
        "kit.analysis.anomalies",
        "kit.analysis.compare",
        "kit.analysis.forecast",
        "kit.seasonality",
    ],
    "overview": ["kit.report.overview", "kit.overview"],
    "benchmarks": ["kit.analysis.benchmarks", "kit.benchmarks"],
    "sample": ["kit.sample", "kit.sample"],
}


def resolve(name: str):
    module, func = name.split(".")
    for home in HOMES[module]:
        try:
            mod = importlib.import_module(home)
        except ImportError:
            continue
        if hasattr(mod, func):
            return getattr(mod, func)
    raise LookupError(f"{name} not found in {HOMES[module]}")


def norm(x, depth=0):
    """Plain nested values; frames kept as frames (attrs split off), objects as field dicts."""
    if depth > 6:
        return repr(x)
    if isinstance(x, pd.DataFrame):
        attrs = dict(x.attrs)
        frame = x.copy()
        frame.attrs = {}
        return {"frame": frame, **{k: norm(v, depth + 1) for k, v in attrs.items()}} if attrs else frame
    if isinstance(x, (pd.Series, pd.Index)):
        s = x.copy()
        if isinstance(s, pd.Series):
            s.attrs = {}
        return s
    if type(x).__name__ == "Ledger":
        return {"ledger_frame": x.frame(), "ledger_lines": x.lines()}
    if isinstance(x, dict):
        return {str(k): norm(v, depth + 1) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [norm(v, depth + 1) for v in x]
    if isinstance(x, (str, int, float, bool, type(None), np.generic, pd.Timestamp, pd.Timedelta)):
        return x
    if dataclasses.is_dataclass(x):
        fields = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    elif hasattr(x, "__dict__"):
        fields = {k: v for k, v in vars(x).items() if not k.startswith("_")}
    else:
        return repr(x)
    out = {k: norm(v, depth + 1) for k, v in fields.items() if not callable(v) or isinstance(v, pd.DataFrame)}
    params = fields.get("params")
    if isinstance(params, dict):  # new results keep call parameters apart; compare them like attrs
        out.update({k: norm(v, depth + 1) for k, v in params.items()})
    return out


def diff(a, b, path="") -> list[str]:
    """Differences of baseline ``a`` against new ``b``; keys only in ``b`` are new fields, not differences."""
    if isinstance(a, pd.DataFrame) and isinstance(b, dict) and "frame" in b:
        b = b["frame"]
    if isinstance(a, dict) and isinstance(b, pd.DataFrame):
        b = {"frame": b}
    if isinstance(a, pd.DataFrame):
        if not isinstance(b, pd.DataFrame):
            return [f"{path}: frame became {type(b).__name__}"]
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as e:
            return [f"{path}: {str(e).splitlines()[0]}"]
        return []
    if isinstance(a, (pd.Series, pd.Index)):
        try:
            (pd.testing.assert_series_equal if isinstance(a, pd.Series) else pd.testing.assert_index_equal)(
                a, b, check_exact=True
            )
        except (AssertionError, TypeError) as e:
            return [f"{path}: {str(e).splitlines()[0]}"]
        return []
    if isinstance(a, dict):
        if not isinstance(b, dict):
            return [f"{path}: dict became {type(b).__name__}"]
        out = []
        for k, v in a.items():
            if k not in b:
                out.append(f"{path}.{k}: missing")
            else:
                out.extend(diff(v, b[k], f"{path}.{k}"))
        return out
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return [f"{path}: {a!r:.80} != {b!r:.80}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    try:
        same = bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable values are a difference
        same = False
    return [] if same else [f"{path}: {a!r:.80} != {b!r:.80}"]


def calls(sample: Path, examples: Path) -> dict:
    """name -> zero-argument callable; each one call of a public function with one option set."""
    import kit

    def tables(folder, *names):
        return [
            str(folder / f"{n}.parquet") if (folder / f"{n}.parquet").exists() else str(folder / f"{n}.csv")
            for n in names
        ]

    out = {}
    cf = resolve("frequency.contact_frequency")
    freq_options = [
        {},
        {"freq": "day"},
        {"freq": "week"},
        {"freq": "quarter"},
        {"freq": "year"},
        {"by": "tier"},
        {"by": ["tier", "channel"]},
        {"by": "region", "same_topic": True},
        {"dedup_window": "24h"},
        {"dedup_window": 0},
        {"tz": "America/New_York"},
        {"tz": "Asia/Tokyo", "by": "channel"},
        {"direction": "all"},
        {"direction": "outbound", "by": "tier"},
        {"weight": "handle_time"},
        {"start": "2025-01-01", "end": "2025-06-30"},
        {"freq": "week", "start": "2026-09-01", "by": "industry"},
    ]
    for label, folder in (("sample", sample), ("examples", examples)):
        contacts, customers = tables(folder, "contacts", "customers")
        for i, opts in enumerate(freq_options):
            if label == "examples" and ("weight" in opts or opts.get("by") in ("industry", "region")):
                opts = {k: v for k, v in opts.items() if k not in ("weight",)}
                opts.pop("by", None)
            out[f"{label}/contact_frequency/{i}"] = lambda c=contacts, u=customers, o=opts: cf(c, u, **o)
        out[f"{label}/ledger_of"] = lambda c=contacts, u=customers: kit.ledger_of(cf(c, u))

    c, u, orders, surveys, stake, events = tables(
        sample, "contacts", "customers", "orders", "surveys", "stakeholders", "events"
    )
    cpo = resolve("rates.contacts_per_order")
    for i, opts in enumerate([{}, {"by": "tier"}, {"freq": "quarter", "within_days": 3}]):
        out[f"sample/contacts_per_order/{i}"] = lambda o=opts: cpo(c, orders, u, **o)
    af = resolve("accounts.account_frequency")
    for i, opts in enumerate([{}, {"as_of": "2026-06-30"}, {"freq": "quarter", "n_periods": 2}]):
        out[f"sample/account_frequency/{i}"] = lambda o=opts: af(c, u, **o)
    cov = resolve("accounts.coverage")
    for i, opts in enumerate([{}, {"as_of": "2026-06-30", "recent_days": 60}]):
        out[f"sample/coverage/{i}"] = lambda o=opts: cov(c, stake, u, **o)
    feats = resolve("features.customer_features")
    for i, opts in enumerate([{}, {"window": "60D", "cutoff": "2026-03-31"}]):
        out[f"sample/customer_features/{i}"] = lambda o=opts: feats(c, u, surveys=surveys, **o)
    out["sample/churn_effect"] = lambda: resolve("drivers.churn_effect")(c, u)
    out["sample/churn_effect_by"] = lambda: resolve("drivers.churn_effect_by")(c, u, by="tier")
    out["sample/csat_effect"] = lambda: resolve("drivers.csat_effect")(c, u, surveys)
    out["sample/touchpoint_effect"] = lambda: resolve("drivers.touchpoint_effect")(c, u)
    out["sample/period_correlation"] = lambda: resolve("drivers.period_correlation")(c, u, surveys)
    out["sample/period_correlation/week"] = lambda: resolve("drivers.period_correlation")(
        c, u, surveys, freq="week", adjust="difference"
    )

    def monthly():
        frame = cf(c, u)
        return frame.frame if hasattr(frame, "frame") else frame

    def series(freq="month"):
        df = cf(c, u, freq=freq)
        df = df.frame if hasattr(df, "frame") else df
        return df.set_index("period")["frequency"]

    dec = resolve("seasonality.decompose")
    out["sample/decompose/month"] = lambda: dec(series())
    out["sample/decompose/month_nonrobust"] = lambda: dec(series(), robust=False)
    out["sample/decompose/day"] = lambda: dec(series("day"))
    out["sample/decompose_by"] = lambda: resolve("seasonality.decompose_by")(cf(c, u, by="tier"))
    anom = resolve("seasonality.anomalies")
    out["sample/anomalies/day"] = lambda: anom(dec(series("day")), events=events)
    out["sample/anomalies/month"] = lambda: anom(dec(series()), threshold=3.0)
    out["sample/compare_periods"] = lambda: resolve("seasonality.compare_periods")(cf(c, u, by="tier"), "2026-10")
    out["sample/compare_periods/total"] = lambda: resolve("seasonality.compare_periods")(monthly(), "2026-09")
    out["sample/forecast/ets"] = lambda: resolve("seasonality.forecast")(series(), horizon=3)
    out["sample/forecast/sarimax"] = lambda: resolve("seasonality.forecast")(series(), method="sarimax")
    out["sample/backtest"] = lambda: resolve("seasonality.backtest")(series(), folds=4)
    for i, opts in enumerate([{}, {"grain": "quarter"}]):
        period = "2026-10" if not opts else "2026Q3"
        out[f"sample/overview/trend/{i}"] = lambda o=opts, p=period: resolve("overview.trend")(c, u, period=p, **o)
        out[f"sample/overview/headline/{i}"] = lambda o=opts, p=period: resolve("overview.headline")(
            resolve("overview.trend")(c, u, period=p, **o), period=p, **o
        )
    out["sample/overview/rankings"] = lambda: resolve("overview.rankings")(c, u, period="2026-10")
    out["sample/overview/onboarding"] = lambda: resolve("overview.onboarding_curve")(c, u)
    out["sample/overview/data_range"] = lambda: resolve("overview.data_range")(c)
    out["sample/benchmarks/place"] = lambda: resolve("benchmarks.place")(
        0.42, {"industry": "SaaS (B2B)"}, ci=(0.4, 0.45)
    )
    return out


def run(sample: Path, examples: Path, only: str | None = None) -> dict:
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, call in calls(sample, examples).items():
            if only and only not in name:
                continue
            try:
                results[name] = norm(call())
            except Exception as e:  # noqa: BLE001 - an error is an outcome to compare too
                results[name] = f"error: {type(e).__name__}: {e}"
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["record", "compare"])
    p.add_argument("--out", type=Path, default=Path("/tmp/kit-equivalence.pkl"))
    p.add_argument("--baseline", type=Path, default=Path("/tmp/kit-equivalence.pkl"))
    p.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    p.add_argument("--examples", type=Path, default=ROOT / "data" / "examples")
    p.add_argument("--only", help="run only the calls whose name contains this")
    args = p.parse_args(argv)
    results = run(args.sample, args.examples, args.only)
    if args.mode == "record":
        args.out.write_bytes(pickle.dumps(results))
        errors = [k for k, v in results.items() if isinstance(v, str) and v.startswith("error")]
        print(f"recorded {len(results)} calls ({len(errors)} raised) into {args.out}")
        for k in errors:
            print(f"  {k}: {results[k]}")
        return 0
    baseline = pickle.loads(args.baseline.read_bytes())
    n_diff = 0
    for name, before in baseline.items():
        if args.only and args.only not in name:
            continue
        found = diff(before, results.get(name, "missing"), name)
        n_diff += bool(found)
        for line in found[:5]:
            print("DIFF", line)
    print(f"{sum(1 for k in baseline if not args.only or args.only in k)} comparisons, {n_diff} with differences")
    return 1 if n_diff else 0


if __name__ == "__main__":
    raise SystemExit(main())
