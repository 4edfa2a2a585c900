"""Issue 18's measurements: the kit against a hand-written DuckDB query of the same job, on every data shape.

    python benchmarks/frequency_bench.py --size S                  # the shape matrix, a quick check
    python benchmarks/frequency_bench.py --size M --repeats 3      # the README's matrix (also --size L)
    python benchmarks/frequency_bench.py --xl                      # 200M contacts out of core (~3 GB Parquet)
    python benchmarks/frequency_bench.py --spark M                 # the M base job on Spark local[2] vs DuckDB

Data are generated once per size and seed with DuckDB (``range()`` and hash-based columns,
streamed to Parquet row group by row group under a memory limit: nothing holds a whole table)
into ``--data-dir`` (default ``$KIT_BENCH_DATA`` or benchmarks/data, git-ignored). Each size has
contacts in five shapes (string, BIGINT and INT32 customer ids; TIMESTAMPTZ, naive TIMESTAMP and
text timestamps) and customers with the matching id types.

**Matrix.** One base cell (string ids, no same_topic, inbound, no start/end, by the ``tier``
segment, TIMESTAMPTZ) and one factor changed per cell, plus the issue's worst cell (BIGINT ids,
same_topic, direction all, by tier). Per cell, ``--repeats`` pairs of whole processes run back to
back, kit then SQL: the kit's CLI (``python -m kit frequency ... --output kit.csv``) and a
``python -c`` process running the hand-written DuckDB query (``reference_sql``) with ``COPY ... TO
sql.csv``; each under ``/usr/bin/time`` for its peak RSS. Both use the same DuckDB settings
(``preserve_insertion_order=false``; ``KIT_DUCKDB_MEMORY_LIMIT``/``_TEMP_DIR``/``_THREADS`` when
set). The parent asserts that the two CSVs hold the same periods, groups, contacts, follow-ups,
cases, active and contacting customers (exactly) and frequency (to 1e-9) in every cell, then
prints the markdown table with medians. ``--inproc N`` adds the in-process ratio: one child per
cell alternates ``kit.contact_frequency`` and the same SQL (``.df()``) N times after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
PY = sys.executable

SIZES = {  # customers, contacts
    "XS": (10_000, 100_000),
    "S": (100_000, 1_000_000),
    "M": (1_000_000, 10_000_000),
    "L": (2_000_000, 50_000_000),
    "XL": (4_000_000, 200_000_000),
}
MONTHS = 36
END = "2026-10-31"
WINDOW_HOURS = 48
IDS = {"str": "string", "i64": "BIGINT", "i32": "INT32"}
TIMES = {"tz": "TIMESTAMPTZ", "naive": "TIMESTAMP", "text": "text"}
COMPARE = ["contacts", "follow_ups", "cases", "active_customers", "contacting_customers"]
GIB = 1024**3


# ------------------------------------------------------------------ data


def _macros(n_cust: int, seed: int) -> str:
    end = f"TIMESTAMP '{END} 23:59:59'"
    first = f"date_trunc('month', DATE '{END}' - INTERVAL {MONTHS - 1} MONTH)"
    # Customer c's attributes are pure functions of c, so contacts need no join to know their customer.
    return f"""
    CREATE MACRO u(x, salt) AS (hash(x, {seed}, salt) % 1000000007) / 1000000007.0;
    CREATE MACRO first_ts() AS CAST({first} AS TIMESTAMP);
    CREATE MACRO end_ts() AS {end};
    CREATE MACRO signup(c) AS CAST(first_ts() - INTERVAL 36 MONTH + to_days(CAST(u(c, 2) * (365 * 6 - 60) AS INTEGER)) AS DATE);
    CREATE MACRO churn_at(c, s) AS CAST(s + INTERVAL 30 DAY + to_days(CAST(u(c, 4) * 1500 AS INTEGER)) AS DATE);
    CREATE MACRO churn_of(c, s) AS CASE WHEN u(c, 3) < 0.35 AND churn_at(c, s) <= end_ts() THEN churn_at(c, s) END;
    CREATE MACRO churn(c) AS churn_of(c, signup(c));
    CREATE MACRO cid_str(c) AS 'C' || lpad(CAST(c AS VARCHAR), 8, '0');
    CREATE MACRO cid_i64(c) AS CAST(c AS BIGINT) + 10000000000;
    CREATE MACRO cid_i32(c) AS CAST(c AS INTEGER);
    CREATE MACRO ncust() AS {n_cust};
    """


def _contacts_sql(n_cont: int, seed: int, ids: str, times: str) -> str:
    """Contacts inside their customer's lifetime (1 % before signup), one in seven a quick follow-up
    (0-72 h after the previous contact, 70 % on its topic), 10 % outbound, 5 % without a topic."""
    ts = {"tz": "CAST(ts AS TIMESTAMPTZ)", "naive": "ts", "text": "strftime(ts, '%Y-%m-%d %H:%M:%S')"}[times]
    return f"""
      WITH k AS (
        SELECT k, k % 7 = 0 AND k > 0 AS quick, CASE WHEN k % 7 = 0 AND k > 0 THEN k - 1 ELSE k END AS b
        FROM range({n_cont}) t(k)
      ), c AS (
        SELECT k.*, hash(b, {seed}, 6) % ncust() AS c FROM k
      ), s AS (  -- each customer attribute computed once per row (the macros are inlined)
        SELECT *, signup(c) AS s FROM c
      ), l AS (
        SELECT *, greatest(CAST(s AS TIMESTAMP), first_ts()) AS life_from,
               CAST(coalesce(churn_of(c, s), DATE '{END}') AS TIMESTAMP) + INTERVAL 1 DAY AS life_to
        FROM s
      ), t AS (
        SELECT k, c, quick, CASE WHEN quick AND u(k, 13) < 0.3 THEN u(k, 12) ELSE u(b, 12) END AS tu,
               CASE WHEN u(b, 7) < 0.01 THEN first_ts() + to_seconds(CAST(u(b, 8) * 86400 * 30 * {MONTHS} AS BIGINT))
                    WHEN life_to > life_from THEN life_from + to_seconds(CAST(u(b, 8) * epoch(life_to - life_from) AS BIGINT))
                    ELSE life_from END AS base
        FROM l
      ), x AS (
        SELECT k, c, tu, least(base + CASE WHEN quick THEN to_seconds(CAST(u(k, 9) * 72 * 3600 AS BIGINT))
                                      ELSE INTERVAL 0 SECOND END, end_ts()) AS ts
        FROM t
      )
      SELECT
        k + 1 AS contact_id,
        cid_{ids}(c) AS customer_id,
        {ts} AS created_at,
        CASE WHEN u(k, 10) < 0.5 THEN 'email' WHEN u(k, 10) < 0.8 THEN 'chat' ELSE 'phone' END AS channel,
        CASE WHEN u(k, 11) < 0.9 THEN 'inbound' ELSE 'outbound' END AS direction,
        CASE WHEN tu < 0.05 THEN NULL WHEN tu < 0.35 THEN 'billing' WHEN tu < 0.55 THEN 'delivery'
             WHEN tu < 0.75 THEN 'technical' WHEN tu < 0.9 THEN 'account' ELSE 'returns' END AS topic
      FROM x
    """


def _customers_sql(n_cust: int, ids: str) -> str:
    return f"""
      SELECT cid_{ids}(k) AS customer_id, signup(k) AS signup_date, churn(k) AS churn_date,
             CASE WHEN u(k, 5) < 0.6 THEN 'basic' WHEN u(k, 5) < 0.9 THEN 'pro' ELSE 'enterprise' END AS tier
      FROM range({n_cust}) t(k)
    """


def data_root(arg: str | None) -> Path:
    return Path(arg or os.environ.get("KIT_BENCH_DATA") or ROOT / "data")


def files(size: str, root: Path, ids: str = "str", times: str = "tz", seed: int = 42) -> tuple[Path, Path]:
    folder = root / f"{size}_seed{seed}_v2"
    return folder / f"contacts_{ids}_{times}.parquet", folder / f"customers_{ids}.parquet"


def generate(size: str, root: Path, shapes, *, seed: int = 42, memory_limit: str = "2GB") -> dict:
    """Write the (ids, times) contact shapes and customer id types of ``size`` that are missing.

    DuckDB streams ``COPY (SELECT ... FROM range(n)) TO file.parquet`` row group by row group, under
    ``memory_limit``; returns seconds and peak RSS of the generator process (its own child).
    """
    todo = []
    for ids, times in shapes:
        cont, cust = files(size, root, ids, times, seed)
        for path, sql in ((cust, lambda i=ids: _customers_sql(SIZES[size][0], i)),
                          (cont, lambda i=ids, t=times: _contacts_sql(SIZES[size][1], seed, i, t))):  # fmt: skip
            if not path.exists() and path not in [p for p, _ in todo]:
                todo.append((path, sql()))
    if not todo:
        return {}
    todo[0][0].parent.mkdir(parents=True, exist_ok=True)
    script = {
        "macros": _macros(SIZES[size][0], seed),
        "memory_limit": memory_limit,
        "jobs": [(str(p), s) for p, s in todo],
    }
    code = (
        "import duckdb, json, os, sys\n"
        "job = json.load(sys.stdin)\n"
        "con = duckdb.connect()\n"
        "con.execute(\"SET TimeZone = 'UTC'\")\n"
        "con.execute('SET preserve_insertion_order = false')\n"
        "con.execute('SET enable_progress_bar = false')\n"
        "con.execute(f\"SET memory_limit = '{job['memory_limit']}'\")\n"
        "con.execute(job['macros'])\n"
        "for path, sql in job['jobs']:\n"
        "    con.execute(f\"COPY ({sql}) TO '{path}.tmp' (FORMAT parquet, ROW_GROUP_SIZE 1000000)\")\n"
        "    os.replace(path + '.tmp', path)\n"
        "    print('wrote', path, file=sys.stderr, flush=True)\n"
    )
    t0 = time.perf_counter()
    seconds, rss, _, _ = timed([PY, "-c", code], stdin=json.dumps(script))
    return {"seconds": round(time.perf_counter() - t0, 1), "peak_rss_gib": rss / GIB, "files": len(todo)}


# ------------------------------------------------------------------ cells


@dataclass(frozen=True)
class Cell:
    name: str
    ids: str = "str"
    times: str = "tz"
    same_topic: bool = False
    direction: str = "inbound"
    by: str | None = "tier"
    start: str | None = None
    end: str | None = None


BASE = Cell("base: string ids, TIMESTAMPTZ, inbound, by tier")
CELLS = [
    BASE,
    replace(BASE, name="ids BIGINT", ids="i64"),
    replace(BASE, name="ids INT32", ids="i32"),
    replace(BASE, name="same_topic", same_topic=True),
    replace(BASE, name="direction all", direction="all"),
    replace(BASE, name="start/end (2025)", start="2025-01-01", end="2025-12-31"),
    replace(BASE, name="by channel", by="channel"),
    replace(BASE, name="no grouping", by=None),
    replace(BASE, name="naive TIMESTAMP", times="naive"),
    replace(BASE, name="text timestamps", times="text"),
    replace(BASE, name="worst: BIGINT, same_topic, all, by tier", ids="i64", same_topic=True, direction="all"),
]


def cli_args(cell: Cell, contacts: Path, customers: Path, out: Path) -> list[str]:
    args = ["-m", "kit", "frequency", "--contacts", str(contacts), "--customers", str(customers)]
    args += ["--dedup-window", f"{WINDOW_HOURS}h", "--direction", cell.direction, "--full-precision"]
    args += ["--by", cell.by] if cell.by else []
    args += ["--same-topic"] if cell.same_topic else []
    args += ["--start", cell.start] if cell.start else []
    args += ["--end", cell.end] if cell.end else []
    return [*args, "--output", str(out)]


def reference_sql(cell: Cell, contacts: Path, customers: Path) -> str:
    """The job written by hand for DuckDB: the README's definitions for this cell's options.

    Follow-up: less than 48 h after the customer's previous counted contact (same topic with
    same_topic); active customers of a period: signed up by its end and not churned before its
    start (an interval count over the customers), plus counted customers contacting outside that
    lifetime; contacting customers: distinct customers with a counted contact in the period (and group).
    """
    seg = cell.by == "tier"
    chan = cell.by == "channel"
    ts = "CAST(created_at AS TIMESTAMP)" if cell.times == "text" else "created_at"
    part = "customer_id, topic" if cell.same_topic else "customer_id"
    where = "WHERE direction = 'inbound'" if cell.direction == "inbound" else ""
    months_from = "agg"
    in_range = ""
    if cell.start or cell.end:
        lo, hi = (f"date_trunc('month', DATE '{d}')" for d in (cell.start, cell.end))
        in_range = f"WHERE period BETWEEN {lo} AND {hi}"
        months_from = f"(SELECT {lo} AS period UNION ALL SELECT {hi})"
    g = ", tier" if seg else ", channel" if chan else ""  # the output's group column
    s = ", tier" if seg else ""  # the denominator's segment
    groups = (
        "(SELECT DISTINCT tier FROM customers)"
        if seg
        else "(SELECT DISTINCT channel FROM agg)"
        if chan
        else "(SELECT 1 AS one)"
    )
    join_g = "USING (period, tier)" if seg else "USING (period, channel)" if chan else "USING (period)"
    join_s = "USING (period, tier)" if seg else "USING (period)"
    return f"""
WITH contacts AS (
  SELECT customer_id, {ts} AS created_at, contact_id{", topic" if cell.same_topic else ""}{", channel" if chan else ""}
  FROM read_parquet('{contacts}') {where}
), customers AS (
  SELECT customer_id{s}, CAST(date_trunc('month', signup_date) AS DATE) AS first_month,
         CAST(date_trunc('month', churn_date) AS DATE) AS last_month
  FROM read_parquet('{customers}')
), marked AS (
  SELECT customer_id{", channel" if chan else ""}, CAST(date_trunc('month', created_at) AS DATE) AS period,
         coalesce(created_at - lag(created_at) OVER (PARTITION BY {part} ORDER BY created_at, contact_id)
           < INTERVAL {WINDOW_HOURS} HOUR, false) AS follow_up
  FROM contacts
), per_customer AS (  -- one row per customer, period (and channel)
  SELECT customer_id, period{", channel" if chan else ""}, count(*) AS n, count(*) FILTER (WHERE follow_up) AS f
  FROM marked {in_range} GROUP BY ALL
), used AS (
  SELECT p.*{", c.tier" if seg else ""},
         p.period < c.first_month OR p.period > coalesce(c.last_month, DATE '9999-12-01') AS outside
  FROM per_customer p JOIN customers c USING (customer_id)
), agg AS (
  SELECT period{g}, sum(n) AS contacts, sum(f) AS follow_ups, count(*) AS contacting_customers
  FROM used GROUP BY ALL
), extra AS (         -- customers active outside their lifetime, once per period (and segment)
  SELECT period{s}, count(DISTINCT customer_id) FILTER (WHERE outside) AS extra FROM used GROUP BY ALL
), months AS (
  SELECT CAST(unnest(generate_series(min(period), max(period), INTERVAL 1 MONTH)) AS DATE) AS period
  FROM {months_from}
), steps AS (         -- +1 in the signup month, -1 after the churn month
  SELECT first_month AS period{s}, count(*) AS d FROM customers GROUP BY ALL
  UNION ALL
  SELECT CAST(last_month + INTERVAL 1 MONTH AS DATE){s}, -count(*) FROM customers WHERE last_month IS NOT NULL GROUP BY ALL
), active AS (
  SELECT m.period{", t.tier" if seg else ""}, coalesce(sum(d), 0) AS n
  FROM months m {"CROSS JOIN (SELECT DISTINCT tier FROM customers) t" if seg else ""}
  LEFT JOIN steps st ON st.period <= m.period{" AND st.tier = t.tier" if seg else ""}
  GROUP BY ALL
), grid AS (
  SELECT * FROM months, {groups}
)
SELECT grid.period{g}, coalesce(a.contacts, 0) AS contacts, coalesce(a.follow_ups, 0) AS follow_ups,
       coalesce(a.contacts, 0) - coalesce(a.follow_ups, 0) AS cases,
       act.n + coalesce(e.extra, 0) AS active_customers, coalesce(a.contacting_customers, 0) AS contacting_customers,
       coalesce(a.contacts, 0) / nullif(act.n + coalesce(e.extra, 0), 0) AS frequency
FROM grid LEFT JOIN agg a {join_g} JOIN active act {join_s} LEFT JOIN extra e {join_s}
ORDER BY ALL
""".replace("SELECT * FROM months, (SELECT 1 AS one)", "SELECT period FROM months")


def _settings_sql() -> str:
    """The kit's DuckDB settings (kit.core.engine.default_connection), so that only the query differs."""
    out = ["SET TimeZone = 'UTC'", "SET preserve_insertion_order = false", "SET enable_progress_bar = false"]
    for env, name in (("MEMORY_LIMIT", "memory_limit"), ("TEMP_DIR", "temp_directory"), ("THREADS", "threads")):
        value = os.environ.get(f"KIT_DUCKDB_{env}", "").strip()
        if value:
            out.append(f"SET {name} = '{value}'")
    return ";\n".join(out)


SQL_CHILD = (
    "import sys, duckdb\n"
    "con = duckdb.connect()\n"
    "con.execute(sys.argv[1])\n"
    "con.execute(f\"COPY ({sys.argv[2]}) TO '{sys.argv[3]}' (HEADER)\")\n"
)


# ------------------------------------------------------------------ processes


def timed(cmd: list[str], *, stdin: str | None = None, env=None, watch: Path | None = None):
    """Run ``cmd`` under /usr/bin/time: (wall seconds, peak RSS bytes, peak bytes under ``watch``, CPU seconds).

    CPU seconds (user + system, all threads) move far less than wall time when other jobs share the cores.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        peak_disk = [0]
        stop = threading.Event()

        def poll():  # the spill folder's size at its largest (du every second)
            while not stop.wait(1.0):
                peak_disk[0] = max(peak_disk[0], _du(watch))

        poller = threading.Thread(target=poll, daemon=True) if watch else None
        if poller:
            poller.start()
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name, *cmd],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
        )
        seconds = time.perf_counter() - t0
        stop.set()
        if proc.returncode:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd[:6])} ...\n{proc.stderr[-3000:]}")
        peak, user, system = rss.read().strip().splitlines()[-1].split()
        return seconds, int(peak) * 1024, peak_disk[0], float(user) + float(system)


def _du(path: Path | None) -> int:
    if path is None or not path.exists():
        return 0
    total = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            try:
                total += os.stat(os.path.join(dirpath, n)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def run_kit(cell: Cell, contacts: Path, customers: Path, out: Path, watch: Path | None = None):
    return timed([PY, *cli_args(cell, contacts, customers, out)], watch=watch)


def run_sql(cell: Cell, contacts: Path, customers: Path, out: Path, watch: Path | None = None):
    return timed(
        [PY, "-c", SQL_CHILD, _settings_sql(), reference_sql(cell, contacts, customers), str(out)], watch=watch
    )


def compare(cell: Cell, kit_csv: Path, sql_csv: Path) -> None:
    """The kit's numbers equal the reference's: periods, groups and counts exactly, frequency to 1e-9."""
    import pandas as pd

    keys = ["period", *([cell.by] if cell.by else [])]
    kit = pd.read_csv(kit_csv)[[*keys, *COMPARE, "frequency"]].sort_values(keys).reset_index(drop=True)
    ref = pd.read_csv(sql_csv)[[*keys, *COMPARE, "frequency"]].sort_values(keys).reset_index(drop=True)
    for df in (kit, ref):
        df["period"] = pd.to_datetime(df["period"]).dt.strftime("%Y-%m-%d")
        df[COMPARE] = df[COMPARE].astype("int64")
    assert len(ref) > 0, f"{cell.name}: the reference is empty"
    pd.testing.assert_frame_equal(kit[keys + COMPARE], ref[keys + COMPARE], check_dtype=False, obj=cell.name)
    pd.testing.assert_series_equal(kit["frequency"], ref["frequency"], rtol=1e-9, obj=f"{cell.name} frequency")


INPROC_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {repo!r})
import duckdb
from kit import contact_frequency
job = json.loads(sys.argv[1])
def kit(c, u):
    return contact_frequency(c, u, by=job["by"], same_topic=job["same_topic"], direction=job["direction"],
                             start=job["start"], end=job["end"], dedup_window="{hours}h").frame
con = duckdb.connect()
con.execute(job["settings"])
kit(*job["warm"])
con.execute(job["warm_sql"]).df()
runs = {{"kit": [], "sql": []}}
for _ in range(job["repeats"]):
    for name, f in (("kit", lambda: kit(job["contacts"], job["customers"])), ("sql", lambda: con.execute(job["sql"]).df())):
        t0 = time.perf_counter(); f(); runs[name].append(time.perf_counter() - t0)
print(json.dumps(runs))
"""


def run_inproc(cell: Cell, size: str, root: Path, repeats: int, seed: int) -> dict:
    contacts, customers = files(size, root, cell.ids, cell.times, seed)
    warm = files("XS", root, cell.ids, cell.times, seed)
    job = dict(
        by=cell.by, same_topic=cell.same_topic, direction=cell.direction, start=cell.start, end=cell.end,
        contacts=str(contacts), customers=str(customers), warm=[str(p) for p in warm], repeats=repeats,
        settings=_settings_sql(), sql=reference_sql(cell, contacts, customers), warm_sql=reference_sql(cell, *warm),
    )  # fmt: skip
    code = INPROC_CHILD.format(repo=str(REPO), hours=WINDOW_HOURS)
    proc = subprocess.run([PY, "-c", code, json.dumps(job)], capture_output=True, text=True, cwd=REPO)
    if proc.returncode:
        raise SystemExit(f"in-process run failed:\n{proc.stderr[-3000:]}")
    found = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not found:
        raise SystemExit(f"in-process run printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(found[-1])


# ------------------------------------------------------------------ the three modes


def matrix(size: str, root: Path, cells: list[Cell], *, repeats: int, inproc: int, seed: int, out_json: str | None):
    shapes = {(c.ids, c.times) for c in cells}
    gen = generate(size, root, sorted(shapes), seed=seed)
    if inproc:
        generate("XS", root, sorted(shapes), seed=seed)
    if gen:
        print(f"generated {size}: {gen}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for cell in cells:
            contacts, customers = files(size, root, cell.ids, cell.times, seed)
            kit_t, sql_t, kit_m, sql_m, kit_c, sql_c = [], [], [], [], [], []
            for _ in range(repeats):  # kit and SQL back to back, so a slow spell hits both
                t, m, _, c = run_kit(cell, contacts, customers, work / "kit.csv")
                kit_t.append(t), kit_m.append(m), kit_c.append(c)
                t, m, _, c = run_sql(cell, contacts, customers, work / "sql.csv")
                sql_t.append(t), sql_m.append(m), sql_c.append(c)
            compare(cell, work / "kit.csv", work / "sql.csv")
            row = dict(
                cell=cell.name, kit_s=statistics.median(kit_t), sql_s=statistics.median(sql_t),
                kit_rss_gib=max(kit_m) / GIB, sql_rss_gib=max(sql_m) / GIB, kit_runs=kit_t, sql_runs=sql_t,
                equal=True, load=os.getloadavg()[0], kit_cpu=kit_c, sql_cpu=sql_c,
                cpu_ratio=statistics.median(k / s for k, s in zip(kit_c, sql_c)),
            )  # fmt: skip
            row["ratio"] = row["kit_s"] / row["sql_s"]
            row["rss_ratio"] = row["kit_rss_gib"] / row["sql_rss_gib"]
            # per pair, then the median: the pairing cancels most of the machine's drift
            row["pair_ratio"] = statistics.median(k / s for k, s in zip(kit_t, sql_t))
            if inproc:
                runs = run_inproc(cell, size, root, inproc, seed)
                row["inproc_kit_s"] = statistics.median(runs["kit"])
                row["inproc_sql_s"] = statistics.median(runs["sql"])
                row["inproc_ratio"] = statistics.median(k / s for k, s in zip(runs["kit"], runs["sql"]))
            rows.append(row)
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    n_cust, n_cont = SIZES[size]
    print(
        f"\nSize {size} ({n_cust:,} customers, {n_cont:,} contacts), {repeats} kit/SQL pairs per cell, "
        f"load average {os.getloadavg()[0]:.1f} at the end; every cell's kit result equals the reference's.\n"
    )
    print("| cell | kit s | SQL s | ratio | CPU ratio | kit peak RSS | SQL peak RSS | RSS ratio | in-process ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        inp = f"{r['inproc_ratio']:.2f}" if "inproc_ratio" in r else "–"
        print(
            f"| {r['cell']} | {r['kit_s']:.2f} | {r['sql_s']:.2f} | {r['pair_ratio']:.2f} | {r['cpu_ratio']:.2f} | "
            f"{r['kit_rss_gib']:.2f} GiB | {r['sql_rss_gib']:.2f} GiB | {r['rss_ratio']:.2f} | {inp} |"
        )
    if out_json:
        Path(out_json).write_text(json.dumps(dict(size=size, rows=rows, settings=_settings_sql()), indent=2))


def xl(root: Path, *, seed: int, temp_dir: Path, memory_limit: str, threads: str | None, out_json: str | None):
    """200M contacts by segment with same-topic follow-ups, out of core: kit CLI and SQL, once each."""
    cell = replace(BASE, name="XL: string ids, same_topic, by tier", same_topic=True)
    gen = generate("XL", root, [(cell.ids, cell.times)], seed=seed)
    if gen:
        print(f"generated XL: {gen}", flush=True)
    contacts, customers = files("XL", root, cell.ids, cell.times, seed)
    os.environ["KIT_DUCKDB_MEMORY_LIMIT"] = memory_limit
    os.environ["KIT_DUCKDB_TEMP_DIR"] = str(temp_dir)
    if threads:
        os.environ["KIT_DUCKDB_THREADS"] = threads
    rows = {}
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for name, run in (("kit", run_kit), ("sql", run_sql)):
            shutil.rmtree(temp_dir, ignore_errors=True)
            temp_dir.mkdir(parents=True)
            t, m, disk, c = run(cell, contacts, customers, work / f"{name}.csv", watch=temp_dir)
            rows[name] = dict(seconds=t, cpu_s=c, peak_rss_gib=m / GIB, spill_gib=disk / GIB, load=os.getloadavg()[0])
            print(name, json.dumps(rows[name]), flush=True)
        compare(cell, work / "kit.csv", work / "sql.csv")
    shutil.rmtree(temp_dir, ignore_errors=True)
    size_gb = sum(p.stat().st_size for p in (contacts, customers)) / 1e9
    print(f"\nXL: {SIZES['XL'][1]:,} contacts, {SIZES['XL'][0]:,} customers, {size_gb:.1f} GB Parquet; "
          f"memory_limit={memory_limit}, temp_directory={temp_dir}; results equal\n")  # fmt: skip
    print("| | time | peak RSS | spill at its peak |\n|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['seconds']:.0f} s | {r['peak_rss_gib']:.2f} GiB | {r['spill_gib']:.1f} GiB |")
    if out_json:
        Path(out_json).write_text(json.dumps(dict(rows=rows, size_gb=size_gb), indent=2))


SPARK_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {repo!r})
import ibis
from pyspark.sql import SparkSession
from kit import contact_frequency
job = json.loads(sys.argv[1])
t0 = time.perf_counter()
session = (SparkSession.builder.master("local[2]").config("spark.driver.memory", job["driver_memory"])
           .config("spark.sql.shuffle.partitions", job["partitions"]).config("spark.ui.enabled", "false")
           .config("spark.sql.session.timeZone", "UTC").getOrCreate())
session.sparkContext.setLogLevel("ERROR")
con = ibis.pyspark.connect(session)
startup = time.perf_counter() - t0
for name in ("contacts", "customers"):
    session.read.parquet(job[name]).createOrReplaceTempView("bench_" + name)
times = []
for _ in range(job["repeats"]):
    t0 = time.perf_counter()
    frame = contact_frequency(con.table("bench_contacts"), con.table("bench_customers"), by="tier",
                              dedup_window="{hours}h").frame
    times.append(time.perf_counter() - t0)
frame.to_csv(job["out"], index=False)
print(json.dumps(dict(startup=startup, times=times)))
"""


def spark(size: str, root: Path, *, seed: int, repeats: int, partitions: str, driver_memory: str, out_json):
    """The base cell on Spark local[2] (one session, timed calls after its start) beside DuckDB's."""
    cell = BASE
    generate(size, root, [(cell.ids, cell.times)], seed=seed)
    contacts, customers = files(size, root, cell.ids, cell.times, seed)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        job = dict(contacts=str(contacts), customers=str(customers), out=str(work / "spark.csv"), repeats=repeats,
                   partitions=partitions, driver_memory=driver_memory)  # fmt: skip
        code = SPARK_CHILD.format(repo=str(REPO), hours=WINDOW_HOURS)
        proc = subprocess.run([PY, "-c", code, json.dumps(job)], capture_output=True, text=True, cwd=REPO)
        if proc.returncode:
            raise SystemExit(f"spark failed:\n{proc.stderr[-3000:]}")
        res = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
        print("spark", json.dumps(res), flush=True)  # kept even if the DuckDB side fails
        inproc = run_inproc(cell, size, root, repeats, seed)  # DuckDB: the same call in process, and the SQL
        run_sql(cell, contacts, customers, work / "sql.csv")
        compare(cell, work / "spark.csv", work / "sql.csv")
    out = dict(
        spark_startup_s=res["startup"], spark_call_s=statistics.median(res["times"]), spark_calls=res["times"],
        duckdb_call_s=statistics.median(inproc["kit"]), sql_s=statistics.median(inproc["sql"]),
        load=os.getloadavg()[0],
    )  # fmt: skip
    out["spark_over_duckdb_call"] = out["spark_call_s"] / out["duckdb_call_s"]
    print(json.dumps(out, indent=1))
    print(
        f"\nSpark local[2], size {size}: a contact_frequency call takes {out['spark_call_s']:.1f} s "
        f"(session start {out['spark_startup_s']:.1f} s), DuckDB in process {out['duckdb_call_s']:.1f} s: "
        f"{out['spark_over_duckdb_call']:.1f}x; results equal the reference."
    )
    if out_json:
        Path(out_json).write_text(json.dumps(out, indent=2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="S", help="matrix size: XS, S, M (10M contacts), L (50M)")
    ap.add_argument("--cells", help="comma-separated cell numbers (0 = base), default all")
    ap.add_argument("--repeats", type=int, default=3, help="kit/SQL process pairs per cell (median reported)")
    ap.add_argument("--inproc", type=int, default=0, help="in-process kit/SQL pairs per cell (0: skip)")
    ap.add_argument("--xl", action="store_true", help="the 200M-contact out-of-core run instead of the matrix")
    ap.add_argument("--memory-limit", default="4GB", help="--xl: DuckDB memory_limit (KIT_DUCKDB_MEMORY_LIMIT)")
    ap.add_argument("--temp-dir", help="--xl: DuckDB temp_directory (KIT_DUCKDB_TEMP_DIR); default <data-dir>/spill")
    ap.add_argument("--threads", help="--xl: DuckDB threads (KIT_DUCKDB_THREADS)")
    ap.add_argument("--spark", metavar="SIZE", help="the base cell on Spark local[2] at SIZE, beside DuckDB")
    ap.add_argument("--spark-partitions", default="8")
    ap.add_argument("--spark-driver-memory", default="6g")
    ap.add_argument("--data-dir", help="where generated data live (default $KIT_BENCH_DATA or benchmarks/data)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", help="also write the results as JSON here")
    args = ap.parse_args(argv)
    root = data_root(args.data_dir)
    print(f"load average {os.getloadavg()[0]:.1f}; DuckDB settings: {_settings_sql()!r}", flush=True)
    if args.xl:
        temp = Path(args.temp_dir) if args.temp_dir else root / "spill"
        xl(root, seed=args.seed, temp_dir=temp, memory_limit=args.memory_limit, threads=args.threads,
           out_json=args.json)  # fmt: skip
    elif args.spark:
        spark(args.spark.upper(), root, seed=args.seed, repeats=args.repeats, partitions=args.spark_partitions,
              driver_memory=args.spark_driver_memory, out_json=args.json)  # fmt: skip
    else:
        cells = CELLS if not args.cells else [CELLS[int(i)] for i in args.cells.split(",")]
        matrix(args.size.upper(), root, cells, repeats=args.repeats, inproc=args.inproc, seed=args.seed,
               out_json=args.json)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
