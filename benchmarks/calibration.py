"""Calibration of the kit's statistics by simulation (issue 16): each check runs its own generator.

Every generator here is independent of :mod:`kit.sample`: plain numpy draws whose truth is known
by construction. Each check returns one measured figure; the table prints check, nominal,
measured before (the code at commit b835ade, run in a separate interpreter from a git worktree)
and measured after (this tree).

    python benchmarks/calibration.py                      # the table, 1,000+ repetitions where cheap
    python benchmarks/calibration.py --quick              # a smaller run (minutes)
    python benchmarks/calibration.py --before /tmp/before # also measure the old code there
    python benchmarks/calibration.py --anomaly-table      # regenerate kit.analysis.anomalies._CUTS

``tests/test_calibration.py`` runs the same generators with fewer repetitions.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- generators


def monthly_series(rng, n: int, *, noise: float = 0.03, amplitude: float = 0.2, growth: float = 0.0) -> pd.Series:
    """Monthly contact frequency: level 1.2, a yearly cosine pattern, multiplicative iid noise."""
    idx = pd.date_range("2022-01-01", periods=n, freq="MS")
    season = 1 + amplitude * np.cos(2 * np.pi * (idx.month - 1) / 12)
    y = 1.2 * season * np.exp(growth * np.arange(n)) * (1 + rng.normal(0, noise, n))
    return pd.Series(y, index=idx, name="frequency")


def daily_counts(rng, n: int, *, weekday: float = 400.0, weekend: float = 200.0) -> pd.Series:
    """Daily contact counts: Poisson around a weekday/weekend level (sd 5% and 7%)."""
    idx = pd.date_range("2025-03-03", periods=n, freq="D")
    mean = np.where(idx.dayofweek < 5, weekday, weekend)
    return pd.Series(rng.poisson(mean).astype(float), index=idx, name="contacts")


def customer_counts(rng, n_customers: int, mean: float, dispersion: float) -> np.ndarray:
    """Per-customer counts in one period: gamma-mixed Poisson (negative binomial), Var = dispersion * mean."""
    if dispersion <= 1:
        return rng.poisson(mean, n_customers)
    shape = mean / (dispersion - 1)
    return rng.poisson(rng.gamma(shape, mean / shape, n_customers))


def two_months(rng, scenario: str, n_customers: int = 1000, mean: float = 0.5) -> pd.DataFrame:
    """Two months of a null (no change in the mean rate) as a frequency frame with ``dispersion``.

    ``poisson``: every customer Poisson(mean). ``redrawn``: each customer's rate drawn afresh each
    month (counts 4x the Poisson variance). ``turnover``: fixed gamma rates (4x), half of the
    customers replaced by new ones in the second month. ``bursts``: Poisson first contacts, each
    followed by Poisson(2) follow-ups.
    """
    if scenario == "poisson":
        months = [rng.poisson(mean, n_customers) for _ in range(2)]
    elif scenario == "redrawn":
        months = [customer_counts(rng, n_customers, mean, 4.0) for _ in range(2)]
    elif scenario == "turnover":
        shape = mean / 3.0
        rates = rng.gamma(shape, mean / shape, n_customers)
        second = rates.copy()
        leave = rng.random(n_customers) < 0.5
        second[leave] = rng.gamma(shape, mean / shape, int(leave.sum()))
        months = [rng.poisson(rates), rng.poisson(second)]
    elif scenario == "bursts":
        months = []
        for _ in range(2):
            first = rng.poisson(mean / 3.0, n_customers)
            months.append(first + np.array([rng.poisson(2.0, k).sum() for k in first]))
    else:
        raise ValueError(scenario)
    rows = []
    for i, counts in enumerate(months):
        c, q = int(counts.sum()), float((counts.astype(float) ** 2).sum())
        var = (q - c**2 / n_customers) / (n_customers - 1)
        rows.append(
            {
                "period": pd.Timestamp(2026, 9 + i, 1),
                "contacts": c,
                "active_customers": n_customers,
                "dispersion": var / (c / n_customers) if c else np.nan,
            }
        )
    return pd.DataFrame(rows)


def shared_pattern_pair(rng, n: int = 36) -> pd.DataFrame:
    """Two independent series sharing a seasonal pattern and a trend (a null for the correlation)."""
    idx = pd.date_range("2023-01-01", periods=n, freq="MS")
    season = np.cos(2 * np.pi * (idx.month - 1) / 12)
    t = np.arange(n)
    freq = 1.0 + 0.01 * t + 0.15 * season + rng.normal(0, 0.05, n)
    csat = 4.2 - 0.004 * t + 0.10 * season + rng.normal(0, 0.05, n)
    return pd.DataFrame({"period": idx, "frequency": freq, "csat": csat})


def churn_tables(rng, *, odds_ratio: float = 1.0, leak: float = 0.0, n: int = 2000):
    """Customers with a tier (the confounder), 14 months of contacts, churn after a cutoff.

    Cutoff 2026-01-01, 90-day feature window before it, a 30-day gap, a 90-day outcome window.
    Premium customers contact more and churn less. 8% of customers churn inside the gap (days
    0-29, whatever their contacts); of the rest, churn in the outcome window (days 30-119) has
    ``logit = -2 + 0.8 * basic + log(odds_ratio) * x``, ``x`` the contacts per month in the feature
    window: the planted forward effect, exact for the gap design. With ``leak``, every churner
    makes Poisson(leak) extra contacts in the 30 days before churning (contacts made while
    leaving): without a gap, the early churners' extra contacts fall in the feature window and
    their churn in the outcome window (days 0-89).
    """
    cutoff = pd.Timestamp("2026-01-01")
    start = cutoff - pd.Timedelta(days=300)
    basic = rng.random(n) < 0.6
    rate = rng.gamma(2.0, np.where(basic, 0.35, 0.7) / 2.0)  # contacts per month
    days = 420
    counts = rng.poisson(rate * days / 30.4375)
    cust = np.repeat(np.arange(n), counts)
    when = start + pd.to_timedelta(rng.random(counts.sum()) * days, unit="D")
    feat = (when >= cutoff - pd.Timedelta(days=90)) & (when < cutoff)
    x = np.bincount(cust[feat], minlength=n) / (90 / 30.4375)
    logit = -2.0 + 0.8 * basic + math.log(odds_ratio) * x
    in_gap = rng.random(n) < 0.08
    churns = ~in_gap & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    churn_day = np.where(in_gap, rng.integers(0, 30, n), np.where(churns, rng.integers(30, 120, n), -1))
    churn_date = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    churned = churn_day >= 0
    churn_date[churned] = cutoff + pd.to_timedelta(churn_day[churned], unit="D")
    keep = np.ones(len(cust), dtype=bool)
    cd = churn_date.to_numpy()[cust]
    keep &= ~(pd.notna(cd) & (when.to_numpy() >= cd))  # no contacts after churning
    cust, when = cust[keep], when[keep]
    if leak > 0:
        who = np.flatnonzero(churned)
        extra = rng.poisson(leak, len(who))
        ec = np.repeat(who, extra)
        ew = churn_date.to_numpy()[ec] - pd.to_timedelta(rng.random(len(ec)) * 30, unit="D").to_numpy()
        cust, when = np.concatenate([cust, ec]), np.concatenate([when.to_numpy(), ew])
    contacts = pd.DataFrame(
        {
            "contact_id": np.arange(len(cust)),
            "customer_id": [f"c{i}" for i in cust],
            "created_at": pd.to_datetime(when).strftime("%Y-%m-%d %H:%M:%S"),
            "channel": "email",
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "signup_date": "2024-01-01",
            "churn_date": churn_date.dt.strftime("%Y-%m-%d"),
            "tier": np.where(basic, "basic", "premium"),
        }
    )
    # Data run to the end of the outcome window (the last contact sets the observed span).
    stayer = f"c{int(np.flatnonzero(~churned)[0])}"
    tail = pd.DataFrame(
        {"contact_id": [-1], "customer_id": [stayer], "created_at": ["2026-04-30 12:00:00"], "channel": "email"}
    )
    return pd.concat([contacts, tail], ignore_index=True), customers, cutoff


# --------------------------------------------------------------------------- checks


def _quiet():
    warnings.simplefilter("ignore")


def anomaly_noise(grain: str, reps: int, seed: int = 1) -> float:
    """Flags per 100 periods on noise series of 24 to 60 periods."""
    from kit.analysis.anomalies import anomalies
    from kit.analysis.decompose import decompose

    rng = np.random.default_rng(seed)
    flags = periods = 0
    for _ in range(reps):
        n = int(rng.integers(24, 61))
        y = monthly_series(rng, n) if grain == "month" else daily_counts(rng, n)
        flags += len(anomalies(decompose(y)))
        periods += n
    return 100 * flags / periods


def anomaly_recall(grain: str, reps: int, seed: int = 2, lengths: tuple[int, int] = (24, 60)) -> float:
    """Share of planted spikes (+25% monthly, +50% daily) flagged, series of 24 to 60 periods."""
    from kit.analysis.anomalies import anomalies
    from kit.analysis.decompose import decompose

    rng = np.random.default_rng(seed)
    hit = 0
    for _ in range(reps):
        n = int(rng.integers(lengths[0], lengths[1] + 1))
        y = monthly_series(rng, n) if grain == "month" else daily_counts(rng, n)
        at = int(rng.integers(2, n - 2))
        y.iloc[at] *= 1.25 if grain == "month" else 1.5
        found = anomalies(decompose(y)).frame
        hit += int((found["period"] == y.index[at]).any())
    return hit / reps


def ci_coverage(dispersion_ratio: float, reps: int, seed: int = 3) -> float:
    """Coverage of the 95% frequency interval of the true mean rate (1,000 customers, mean 0.5)."""
    from kit.metrics import frequency as fq

    rng = np.random.default_rng(seed)
    widen = "dispersion" in inspect.signature(fq.poisson_ci).parameters
    inside = 0
    for _ in range(reps):
        counts = customer_counts(rng, 1000, 0.5, dispersion_ratio)
        c, q = counts.sum(), (counts.astype(float) ** 2).sum()
        if widen:
            lo, hi = fq.poisson_ci([c], [1000], dispersion=fq.dispersion([c], [q], [1000]))
        else:
            lo, hi = fq.poisson_ci([c], [1000])
        inside += int(lo[0] <= 0.5 <= hi[0])
    return inside / reps


def compare_fp(scenario: str, reps: int, seed: int = 4) -> float:
    """Share of null month-on-month changes that compare_periods calls significant at 5%."""
    from kit.analysis.compare import compare_periods

    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        df = two_months(rng, scenario)
        row = compare_periods(df, "2026-10").frame.iloc[0]
        hits += int(bool(row["significant"]))
    return hits / reps


def correlation_fp(which: str, reps: int, seed: int = 5) -> float:
    """False-positive rate of period_correlation on a shared-pattern null: lag 0, or any of lags 0-3."""
    from kit.analysis.correlation import period_correlation

    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        out = period_correlation(None, None, series=shared_pattern_pair(rng), lags=3).frame
        if which == "lag0":
            hits += int(out.loc[out["lag"] == 0, "pearson_p"].iloc[0] < 0.05)
        elif "survives" in out.columns:
            hits += int(out["survives"].fillna(False).astype(bool).any())
        else:  # the old code: any lag's own p-value
            hits += int((out["pearson_p"] < 0.05).any())
    return hits / reps


def yoy_bias() -> float:
    """Largest |seasonally adjusted YoY - truth| in points over the 12 end months (noiseless, +12.7%)."""
    from kit.analysis.decompose import decompose

    growth = math.log(1.127) / 12
    worst = 0.0
    for end in range(12):
        y = monthly_series(np.random.default_rng(0), 36 + end, noise=0.0, amplitude=0.3, growth=growth)
        dec = decompose(y)
        if hasattr(dec, "yoy") and callable(dec.yoy):
            est = dec.yoy()["change"]
        else:  # the old describe(): additive adjusted series
            est = dec.adjusted.iloc[-1] / dec.adjusted.iloc[-13] - 1
        worst = max(worst, abs(est - 0.127) * 100)
    return worst


def seasonal_described(amplitude: float, reps: int, seed: int = 6) -> float:
    """Share of 36-month series whose description states a seasonal peak ("runs ... above")."""
    from kit.analysis.decompose import decompose

    rng = np.random.default_rng(seed)
    said = 0
    for _ in range(reps):
        y = monthly_series(rng, 36, noise=0.10, amplitude=amplitude)
        said += int(" runs " in decompose(y).describe())
    return said / reps


def churn_check(odds_ratio: float, leak: float, reps: int, seed: int = 7) -> float:
    """Null (OR 1, leak 3): share significant at 5%. Planted OR: share of 95% CIs containing it."""
    from kit.analysis.churn import churn_effect

    gap = "gap" in inspect.signature(churn_effect).parameters
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        contacts, customers, cutoff = churn_tables(rng, odds_ratio=odds_ratio, leak=leak)
        kw = {"gap": "30D"} if gap else {}
        r = churn_effect(contacts, customers, window="90D", cutoff=cutoff, **kw)
        if odds_ratio == 1.0:
            hits += int(r.p_value < 0.05)
        else:
            hits += int(r.ci_low <= odds_ratio <= r.ci_high)
    return hits / reps


def forecast_coverage(reps: int, seed: int = 8) -> float:
    """95% interval coverage, 1-3 months ahead, under a random-walk level (48 months, log scale)."""
    from kit.analysis.forecast import forecast

    rng = np.random.default_rng(seed)
    inside = total = 0
    for _ in range(reps):
        n, h = 51, 3
        idx = pd.date_range("2022-01-01", periods=n, freq="MS")
        level = np.cumsum(rng.normal(0, 0.03, n))
        y = np.exp(np.log(1.2) + level + 0.2 * np.cos(2 * np.pi * (idx.month - 1) / 12) + rng.normal(0, 0.03, n))
        s = pd.Series(y, index=idx)
        fc = forecast(s.iloc[: n - h], horizon=h)
        table = fc.table
        actual = s.iloc[n - h :].to_numpy()
        inside += int(((actual >= table["lo_95"].to_numpy()) & (actual <= table["hi_95"].to_numpy())).sum())
        total += h
    return inside / total


#: name -> (nominal, function, full repetitions, quick repetitions)
CHECKS = {
    "anomaly flags per 100 periods, monthly noise (24-60)": ("<= 1", lambda r: anomaly_noise("month", r), 1000, 150),
    "anomaly flags per 100 periods, daily noise (24-60)": ("<= 1", lambda r: anomaly_noise("day", r), 1000, 150),
    "anomaly recall, +25% monthly spike (24-60)": (">= 0.8", lambda r: anomaly_recall("month", r), 1000, 150),
    "anomaly recall, +25% monthly spike (36-60)": (
        ">= 0.8",
        lambda r: anomaly_recall("month", r, lengths=(36, 60)),
        1000,
        150,
    ),
    "anomaly recall, +50% daily spike": (">= 0.8", lambda r: anomaly_recall("day", r), 1000, 150),
    "95% CI coverage, dispersion 1": ("0.93-0.97", lambda r: ci_coverage(1.0, r), 4000, 1000),
    "95% CI coverage, dispersion 1.6": ("0.93-0.97", lambda r: ci_coverage(1.6, r), 4000, 1000),
    "95% CI coverage, dispersion 4": ("0.93-0.97", lambda r: ci_coverage(4.0, r), 4000, 1000),
    "compare_periods null FP, plain Poisson": ("~0.05", lambda r: compare_fp("poisson", r), 2000, 400),
    "compare_periods null FP, rates redrawn monthly": ("<= 0.07", lambda r: compare_fp("redrawn", r), 2000, 400),
    "compare_periods null FP, 50% turnover": ("<= 0.07", lambda r: compare_fp("turnover", r), 2000, 400),
    "compare_periods null FP, follow-up bursts": ("<= 0.07", lambda r: compare_fp("bursts", r), 2000, 400),
    "period_correlation null FP, lag 0": ("<= 0.06", lambda r: correlation_fp("lag0", r), 1000, 200),
    "period_correlation null FP, any lag 0-3": ("<= ~0.06", lambda r: correlation_fp("any", r), 1000, 200),
    "SA year-over-year bias, worst end month (points)": ("< 1", lambda r: yoy_bias(), 1, 1),
    "seasonal peak described, 36 months of noise": ("<= 0.05", lambda r: seasonal_described(0.0, r), 1000, 200),
    "seasonal peak described, 20% amplitude": (">= 0.95", lambda r: seasonal_described(0.2, r), 1000, 200),
    "churn null FP (OR 1, leaving contacts)": ("<= 0.10", lambda r: churn_check(1.0, 3.0, r), 200, 15),
    "churn 95% CI covers planted OR 1.2": (">= 0.90", lambda r: churn_check(1.2, 0.0, r), 200, 15),
    "churn 95% CI covers planted OR 2.0": (">= 0.90", lambda r: churn_check(2.0, 0.0, r), 200, 15),
    "forecast 95% coverage, random-walk level": ("0.93-0.97", lambda r: forecast_coverage(r), 300, 40),
}


def measure(quick: bool, only: list[str] | None = None) -> dict[str, float]:
    _quiet()
    out = {}
    for name, (_, fn, full, small) in CHECKS.items():
        if only and name not in only:
            continue
        t = time.time()
        try:
            out[name] = float(fn(small if quick else full))
        except Exception as exc:  # noqa: BLE001 - the old code may lack a feature; the table says so
            out[name] = float("nan")
            print(f"  {name}: failed ({type(exc).__name__}: {exc})", file=sys.stderr)
        print(f"  {name}: {out[name]:.4g} ({time.time() - t:.0f} s)", file=sys.stderr, flush=True)
    return out


def anomaly_table() -> None:
    """Print kit.analysis.anomalies._CUTS from fresh simulations (a few minutes)."""
    from kit.analysis.anomalies import _simulate_cut

    _quiet()
    grid = {
        (12,): [24, 30, 36, 48, 60, 84, 120],
        (4,): [8, 12, 16, 24, 40],
        (52,): [104, 156, 260],
        (7,): [14, 21, 28, 42, 60, 92, 180, 365, 729],
        (7, 365): [730, 1095],
    }
    for fitted, lengths in grid.items():
        cuts = []
        for n in lengths:
            reps = 25 if fitted == (7, 365) else max(30, 20000 // n)
            cuts.append((n, round(_simulate_cut(fitted, True, n, reps=reps, seed=n), 3)))
        print(f"    ({fitted!r}, True): {cuts!r},")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--before", help="a worktree of the old code (e.g. git worktree add /tmp/before b835ade)")
    ap.add_argument("--json", help="write the measured figures here (used for the before run)")
    ap.add_argument("--only", action="append", help="run only this check (repeatable)")
    ap.add_argument("--anomaly-table", action="store_true", help="regenerate the anomaly cuts")
    args = ap.parse_args(argv)
    if args.anomaly_table:
        anomaly_table()
        return 0
    after = measure(args.quick, args.only)
    if args.json:
        Path(args.json).write_text(json.dumps(after))
        return 0
    before: dict[str, float] = {}
    if args.before:
        out = Path(args.before) / "calibration_before.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", str(out)]
        cmd += ["--quick"] if args.quick else []
        for name in args.only or []:
            cmd += ["--only", name]
        env = dict(os.environ, PYTHONPATH=str(Path(args.before).resolve()))
        subprocess.run(cmd, check=True, env=env, cwd=args.before)
        before = json.loads(out.read_text())
    print("| check | nominal | before | after |")
    print("|---|---|---|---|")
    for name, (nominal, *_rest) in CHECKS.items():
        if name in after:
            b = before.get(name, float("nan"))
            print(f"| {name} | {nominal} | {'n/a' if math.isnan(b) else f'{b:.3g}'} | {after[name]:.3g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
