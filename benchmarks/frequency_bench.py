"""Monthly contact frequency by segment, three ways: the kit, hand-written DuckDB SQL, pandas.

    python benchmarks/frequency_bench.py                 # sizes S and M, 3 repeats
    python benchmarks/frequency_bench.py --sizes S,M,L   # L: 2M customers / 50M contacts

Each size is generated once with a seed (Parquet under benchmarks/data/, git-ignored).
Every method runs in a fresh child process (so that its peak RSS is its own), computes
the full metric (48 h follow-up merging, active-customer denominators, contacting
customers) ``--repeats`` times and hands its result back; with ``--rounds N`` the methods
take turns N times. The parent asserts that the three results are equal and prints median
wall time (over all runs), peak RSS and the ratios; ``--json`` also keeps every run's time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

SIZES = {  # customers, contacts
    "XS": (10_000, 100_000),
    "S": (100_000, 1_000_000),
    "M": (1_000_000, 10_000_000),
    "L": (2_000_000, 50_000_000),
}
MONTHS = 36
END = "2026-10-31"
WINDOW_HOURS = 48
METHODS = ("kit", "sql", "pandas")
COLUMNS = ["period", "tier", "contacts", "follow_ups", "cases", "active_customers", "contacting_customers", "frequency"]


# ------------------------------------------------------------------ data


def generate(size: str, *, seed: int = 42, data_dir: Path = ROOT / "data") -> Path:
    """Write customers.parquet and contacts.parquet for ``size`` (cached); return the folder.

    Built in DuckDB from ``range()`` with hash-based pseudo-random columns, so it is
    deterministic for a seed, streams to Parquet and needs little memory even at 50M rows.
    Contacts fall inside the customer's lifetime, one in seven is a quick follow-up of the
    previous contact (0-72 h later), 1 % happen before signup (pre-sales questions) and
    10 % are outbound.
    """
    import duckdb

    n_cust, n_cont = SIZES[size]
    out = data_dir / f"{size}_seed{seed}"
    if (out / "contacts.parquet").exists() and (out / "customers.parquet").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    end = f"TIMESTAMP '{END} 23:59:59'"
    first = f"date_trunc('month', DATE '{END}' - INTERVAL {MONTHS - 1} MONTH)"
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    # hash(k, seed, salt) -> uniform in [0, 1)
    u = lambda expr, salt: f"(hash({expr}, {seed}, {salt}) % 1000000007) / 1000000007.0"  # noqa: E731
    tmp = out / "customers.tmp.parquet"
    con.execute(f"""
        COPY (
          SELECT
            'C' || lpad(CAST(k AS VARCHAR), 8, '0') AS customer_id,
            CAST(signup AS DATE) AS signup_date,
            CASE WHEN {u("k", 3)} < 0.35 AND signup + INTERVAL 30 DAY
                        + to_days(CAST({u("k", 4)} * 1500 AS INTEGER)) <= {end}
                 THEN CAST(signup + INTERVAL 30 DAY + to_days(CAST({u("k", 4)} * 1500 AS INTEGER)) AS DATE)
            END AS churn_date,
            CASE WHEN {u("k", 5)} < 0.6 THEN 'basic' WHEN {u("k", 5)} < 0.9 THEN 'pro' ELSE 'enterprise' END AS tier
          FROM (
            SELECT k, {first} - INTERVAL 36 MONTH
                      + to_days(CAST({u("k", 2)} * (365 * 6 - 60) AS INTEGER)) AS signup
            FROM range({n_cust}) t(k)
          )
        ) TO '{tmp}' (FORMAT parquet)
    """)
    os.replace(tmp, out / "customers.parquet")
    tmp = out / "contacts.tmp.parquet"
    con.execute(f"""
        COPY (
          WITH k AS (
            SELECT k, k % 7 = 0 AND k > 0 AS quick, CASE WHEN k % 7 = 0 AND k > 0 THEN k - 1 ELSE k END AS b
            FROM range({n_cont}) t(k)
          ), c AS (
            SELECT k.*, cu.customer_id, cu.tier,
                   greatest(CAST(cu.signup_date AS TIMESTAMP), {first}) AS life_from,
                   CAST(coalesce(cu.churn_date, DATE '{END}') AS TIMESTAMP) + INTERVAL 1 DAY AS life_to
            FROM k JOIN read_parquet('{out / "customers.parquet"}') cu
              ON cu.customer_id = 'C' || lpad(CAST(hash(k.b, {seed}, 6) % {n_cust} AS VARCHAR), 8, '0')
          ), t AS (
            SELECT k, customer_id, quick,
                   CASE WHEN {u("b", 7)} < 0.01 THEN {first} + to_seconds(CAST({u("b", 8)} * 86400 * 30 * {MONTHS} AS BIGINT))
                        WHEN life_to > life_from THEN life_from + to_seconds(CAST({u("b", 8)} * epoch(life_to - life_from) AS BIGINT))
                        ELSE life_from END AS base
            FROM c
          )
          SELECT
            k + 1 AS contact_id,
            customer_id,
            least(base + CASE WHEN quick THEN to_seconds(CAST({u("k", 9)} * 72 * 3600 AS BIGINT)) ELSE INTERVAL 0 SECOND END,
                  {end}) AS created_at,
            CASE WHEN {u("k", 10)} < 0.5 THEN 'email' WHEN {u("k", 10)} < 0.8 THEN 'chat' ELSE 'phone' END AS channel,
            CASE WHEN {u("k", 11)} < 0.9 THEN 'inbound' ELSE 'outbound' END AS direction
          FROM t
        ) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """)
    os.replace(tmp, out / "contacts.parquet")
    return out


# ------------------------------------------------------------------ the three methods


def run_kit(folder: Path):
    from kit.metrics.frequency import contact_frequency

    result = contact_frequency(
        folder / "contacts.parquet",
        folder / "customers.parquet",
        freq="month",
        by="tier",
        dedup_window=f"{WINDOW_HOURS}h",
    )
    return result.frame[COLUMNS]


REFERENCE_SQL = """
WITH contacts AS (
  SELECT customer_id, created_at, contact_id
  FROM read_parquet('{contacts}')
  WHERE direction = 'inbound'
), customers AS (
  SELECT customer_id, tier, date_trunc('month', signup_date) AS first_month,
         date_trunc('month', churn_date) AS last_month
  FROM read_parquet('{customers}')
), marked AS (
  SELECT customer_id, date_trunc('month', created_at) AS period,
         created_at - lag(created_at) OVER (PARTITION BY customer_id ORDER BY created_at, contact_id)
           < INTERVAL {hours} HOUR AS follow_up
  FROM contacts
), per_customer AS (          -- one row per customer and month: counts, then the segment join
  SELECT customer_id, period, count(*) AS n, count(*) FILTER (WHERE follow_up) AS f
  FROM marked GROUP BY ALL
), used AS (
  SELECT p.period, c.tier, p.n, p.f,
         p.period < c.first_month OR p.period > coalesce(c.last_month, DATE '9999-12-01') AS outside
  FROM per_customer p JOIN customers c USING (customer_id)
), agg AS (
  SELECT period, tier, sum(n) AS contacts, sum(f) AS follow_ups, count(*) AS contacting_customers,
         count(*) FILTER (WHERE outside) AS extra
  FROM used GROUP BY ALL
), months AS (
  SELECT CAST(unnest(generate_series(min(period), max(period), INTERVAL 1 MONTH)) AS DATE) AS period FROM agg
), steps AS (                 -- interval count: +1 in the signup month, -1 after the churn month
  SELECT first_month AS period, tier, count(*) AS d FROM customers GROUP BY ALL
  UNION ALL
  SELECT last_month + INTERVAL 1 MONTH, tier, -count(*) FROM customers WHERE last_month IS NOT NULL GROUP BY ALL
), tiers AS (SELECT DISTINCT tier FROM customers),
active AS (
  SELECT m.period, t.tier, (SELECT coalesce(sum(d), 0) FROM steps s WHERE s.tier = t.tier AND s.period <= m.period) AS n
  FROM months m, tiers t
)
SELECT a.period, a.tier, coalesce(g.contacts, 0) AS contacts, coalesce(g.follow_ups, 0) AS follow_ups,
       coalesce(g.contacts, 0) - coalesce(g.follow_ups, 0) AS cases,
       a.n + coalesce(g.extra, 0) AS active_customers, coalesce(g.contacting_customers, 0) AS contacting_customers,
       coalesce(g.contacts, 0) / nullif(a.n + coalesce(g.extra, 0), 0) AS frequency
FROM active a LEFT JOIN agg g USING (period, tier)
ORDER BY period, tier
"""


def run_sql(folder: Path):
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # The same engine settings as the kit's default connection, so only the query differs.
    con.execute("SET preserve_insertion_order = false")
    if os.environ.get("KIT_DUCKDB_MEMORY_LIMIT"):
        con.execute(f"SET memory_limit = '{os.environ['KIT_DUCKDB_MEMORY_LIMIT']}'")
    sql = REFERENCE_SQL.format(
        contacts=folder / "contacts.parquet", customers=folder / "customers.parquet", hours=WINDOW_HOURS
    )
    return con.execute(sql).df()


def run_pandas(folder: Path):
    """Vectorised pandas: integer customer codes, one sort, shifted comparison, interval counts."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cust = pd.read_parquet(folder / "customers.parquet")
    tiers = pd.Categorical(cust["tier"])
    first = cust["signup_date"].to_numpy().astype("datetime64[M]")
    last = cust["churn_date"].to_numpy().astype("datetime64[M]")  # NaT when not churned
    index = pd.Index(cust["customer_id"])

    t = pq.read_table(folder / "contacts.parquet", columns=["contact_id", "customer_id", "created_at", "direction"])
    t = t.filter(pc.equal(t["direction"], "inbound"))
    code = index.get_indexer(t["customer_id"].to_pandas())
    ts = t["created_at"].to_numpy().astype("datetime64[s]").view("int64")
    cid = t["contact_id"].to_numpy()
    del t
    if (code < 0).any():
        raise ValueError("unknown customers in the benchmark data")
    order = np.lexsort((cid, ts, code))
    code, ts = code[order], ts[order]
    del order, cid
    same = np.empty(len(code), dtype=bool)
    same[0] = False
    np.equal(code[1:], code[:-1], out=same[1:])
    follow = same.copy()
    follow[1:] &= (ts[1:] - ts[:-1]) < WINDOW_HOURS * 3600
    period = ts.astype("datetime64[s]").astype("datetime64[M]")
    del ts, same
    frame = pd.DataFrame({"code": code, "period": period, "follow": follow})
    per = frame.groupby(["period", "code"], sort=False).agg(n=("follow", "size"), f=("follow", "sum")).reset_index()
    del frame
    c = per["code"].to_numpy()
    p = per["period"].to_numpy().astype("datetime64[M]")
    per["tier"] = tiers[c]
    per["outside"] = (p < first[c]) | (~np.isnat(last[c]) & (p > last[c]))
    agg = (
        per.groupby(["period", "tier"], observed=True)
        .agg(
            contacts=("n", "sum"), follow_ups=("f", "sum"), contacting_customers=("n", "size"), extra=("outside", "sum")
        )
        .reset_index()
    )

    months = pd.date_range(agg["period"].min(), agg["period"].max(), freq="MS")
    steps = pd.concat(
        [
            pd.DataFrame({"period": first, "tier": tiers, "d": 1}),
            pd.DataFrame({"period": last + 1, "tier": tiers, "d": -1})[~np.isnat(last)],
        ]
    )
    steps["period"] = steps["period"].astype("datetime64[ns]").clip(lower=months[0])
    steps = steps[steps["period"] <= months[-1]]
    active = (
        steps.groupby(["period", "tier"], observed=True)["d"]
        .sum()
        .unstack("tier", fill_value=0)
        .reindex(months, fill_value=0)
        .cumsum()
        .stack()
        .rename("n")
        .reset_index()
    )
    active.columns = ["period", "tier", "n"]
    out = active.merge(agg.assign(period=agg["period"].astype("datetime64[ns]")), on=["period", "tier"], how="left")
    for col in ("contacts", "follow_ups", "contacting_customers", "extra"):
        out[col] = out[col].fillna(0).astype("int64")
    out["cases"] = out["contacts"] - out["follow_ups"]
    out["active_customers"] = out["n"] + out["extra"]
    out["frequency"] = out["contacts"] / out["active_customers"].where(out["active_customers"] > 0)
    out["tier"] = out["tier"].astype(str)
    return out[COLUMNS].sort_values(["period", "tier"]).reset_index(drop=True)


RUNNERS = {"kit": run_kit, "sql": run_sql, "pandas": run_pandas}


def normalise(df):
    import pandas as pd

    df = df[COLUMNS].copy()
    df.attrs = {}
    df["period"] = pd.to_datetime(df["period"]).dt.tz_localize(None).astype("datetime64[ns]")
    df["tier"] = df["tier"].astype(str)
    for col in COLUMNS[2:-1]:
        df[col] = df[col].astype("int64")
    df["frequency"] = df["frequency"].astype(float)
    return df.sort_values(["period", "tier"]).reset_index(drop=True)


# ------------------------------------------------------------------ child process: one method, timed


def child(method: str, folder: Path, repeats: int, result: Path) -> None:
    RUNNERS[method](generate("XS"))  # warm-up: imports and first-query set-up are not timed
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        df = RUNNERS[method](folder)
        times.append(time.perf_counter() - t0)
    normalise(df).to_parquet(result)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"times": times, "peak_rss": peak}))


def measure(method: str, folder: Path, repeats: int, workdir: Path):
    import pandas as pd

    result = workdir / f"{method}.parquet"
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            method,
            "--folder",
            str(folder),
            "--repeats",
            str(repeats),
            "--result",
            str(result),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"{method} failed:\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return stats["times"], stats["peak_rss"], pd.read_parquet(result)


def assert_equal(results: dict) -> None:
    import pandas as pd

    ref = results["sql"]
    for name, df in results.items():
        assert len(ref) > 0 and list(df.columns) == list(ref.columns), name
        pd.testing.assert_frame_equal(df[COLUMNS[:-1]], ref[COLUMNS[:-1]], check_exact=True, obj=name)
        pd.testing.assert_series_equal(df["frequency"], ref["frequency"], rtol=1e-12, obj=f"{name} frequency")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="S,M", help="comma-separated: XS, S, M, L (default S,M)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per method and size; the median is reported")
    ap.add_argument("--repeats-l", type=int, default=1, help="runs per method at size L")
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="the methods take turns this many times (each round: --repeats runs per method)",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--json", help="also write the table as JSON here")
    ap.add_argument(
        "--memory-limit",
        default=os.environ.get("KIT_DUCKDB_MEMORY_LIMIT", "3.5GB"),
        help="DuckDB memory_limit for both the kit and the SQL reference "
        "(KIT_DUCKDB_MEMORY_LIMIT; default 3.5GB; 'none' for DuckDB's own 80%% of RAM)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, Path(args.folder), args.repeats, Path(args.result))
        return 0

    if args.memory_limit and args.memory_limit.lower() != "none":
        os.environ["KIT_DUCKDB_MEMORY_LIMIT"] = args.memory_limit  # the child processes inherit it
    else:
        os.environ.pop("KIT_DUCKDB_MEMORY_LIMIT", None)
    print(f"DuckDB memory_limit: {os.environ.get('KIT_DUCKDB_MEMORY_LIMIT', 'DuckDB default (80% of RAM)')}")
    methods = [m for m in args.methods.split(",") if m]
    rows = []
    gib = 1024**3
    print(
        f"{'size':<4} {'contacts':>10} "
        + " ".join(f"{m + ' s':>9} {m + ' GiB':>10}" for m in methods)
        + f" {'kit/SQL':>8} {'pandas/kit':>10}",
        flush=True,
    )
    for size in [s.strip().upper() for s in args.sizes.split(",") if s.strip()]:
        t0 = time.perf_counter()
        folder = generate(size, seed=args.seed)
        gen = time.perf_counter() - t0
        repeats = args.repeats_l if size == "L" else args.repeats
        row = {
            "size": size,
            "customers": SIZES[size][0],
            "contacts": SIZES[size][1],
            "repeats": repeats * args.rounds,
            "generate_s": round(gen, 1),
        }
        results, runs, peaks = {}, {m: [] for m in methods}, {m: 0 for m in methods}
        with tempfile.TemporaryDirectory() as work:
            # Methods take turns, round after round, so that a slow spell of a shared machine
            # does not fall on one method only; the median is over every round's runs.
            for _ in range(args.rounds):
                for m in methods:
                    times, rss, results[m] = measure(m, folder, repeats, Path(work))
                    runs[m] += times
                    peaks[m] = max(peaks[m], rss)
        for m in methods:
            row[f"{m}_s"], row[f"{m}_rss_gib"] = statistics.median(runs[m]), peaks[m] / gib
            row[f"{m}_runs"] = [round(t, 3) for t in runs[m]]
        if len(results) > 1 and "sql" in results:
            assert_equal(results)
            row["equal"] = True
        ratio = lambda a, b, row=row: (
            row[f"{a}_s"] / row[f"{b}_s"] if f"{a}_s" in row and f"{b}_s" in row else float("nan")
        )  # noqa: E731
        row["kit_over_sql"], row["pandas_over_kit"] = ratio("kit", "sql"), ratio("pandas", "kit")
        rows.append(row)
        print(
            f"{size:<4} {SIZES[size][1]:>10,} "
            + " ".join(f"{row[m + '_s']:>9.2f} {row[m + '_rss_gib']:>10.2f}" for m in methods)
            + f" {row['kit_over_sql']:>8.2f} {row['pandas_over_kit']:>10.2f}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
