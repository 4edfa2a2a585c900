"""The same metrics on Spark and PostgreSQL as on DuckDB, row by row, with the same ledger.

Both engines are real: a local Spark (``local[2]``, one session per test run) reading the
small sample's Parquet files, and a throwaway PostgreSQL cluster started on loopback
from the Debian server binaries, loaded with the same sample. DuckDB is the reference.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pandas as pd
import pytest

from kit.core import engine
from kit.metrics.accounts import account_frequency
from kit.metrics.frequency import contact_frequency
from kit.metrics.rates import contacts_per_order

# Each case: (keyword arguments for contact_frequency). UTC months by segment are the report's
# default; ISO weeks in Berlin check the session time zone and week truncation; the last one
# covers contact-attribute groups, same-topic follow-ups, all directions and weights.
CASES = {
    "month_by_tier": dict(freq="month", by="tier"),
    "berlin_weeks": dict(freq="week", tz="Europe/Berlin", by=["region"], start="2025-03-01", end="2025-11-30"),
    "channel_same_topic": dict(
        freq="quarter",
        by=["channel", "industry"],
        same_topic=True,
        direction="all",
        weight="handle_time",
        dedup_window="24h",
    ),
}


def assert_same(got: pd.DataFrame, want: pd.DataFrame, keys) -> None:
    """Equal row by row: integers exactly, floats to 1e-12 relative."""
    got = got.sort_values(list(keys), kind="stable").reset_index(drop=True)
    want = want.sort_values(list(keys), kind="stable").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        g, w = got[col], want[col]
        if pd.api.types.is_float_dtype(w):
            pd.testing.assert_series_equal(g.astype(float), w, check_exact=False, rtol=1e-12, atol=0)
        elif pd.api.types.is_datetime64_any_dtype(w):
            assert pd.to_datetime(g).dt.as_unit("s").tolist() == w.dt.as_unit("s").tolist(), col
        else:
            assert g.tolist() == w.tolist(), col


def assert_same_ledger(got, want) -> None:
    cols = ["table", "reason", "kind", "rows", "examples"]  # "source" names the input kind
    pd.testing.assert_frame_equal(got.frame()[cols], want.frame()[cols])
    assert got.balanced


# ---------------------------------------------------------------- engines


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for the whole run (starting Java costs seconds)."""
    if shutil.which("java") is None:
        pytest.skip("Spark tests need Java (17) on PATH; none found")
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed (pip install -e '.[spark]')")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kit-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield ibis.pyspark.connect(session)
    session.stop()


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on a free loopback port, removed afterwards."""
    bindir = _postgres_bin()
    if bindir is None or not os.path.exists(os.path.join(bindir, "pg_ctl")):
        pytest.skip("PostgreSQL server binaries not found (run .ci/install-postgres.sh or apt-get install postgresql)")
    try:
        import ibis
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("the Ibis postgres extra is not installed (pip install -e '.[postgres]')")
    home = tempfile.mkdtemp(prefix="kit_pg_")
    data = os.path.join(home, "data")
    prefix = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(home, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    # C collation: strings compare byte-wise, as in DuckDB and Spark (the ledger's examples are min/max).
    init = subprocess.run(
        prefix + [f"{bindir}/initdb", "-D", data, "-U", "kit", "--auth=trust", "--no-locale", "-E", "UTF8"],
        capture_output=True,
        text=True,
    )
    if init.returncode:
        shutil.rmtree(home, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr.strip()[:300]}")
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={home} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    start = subprocess.run(
        prefix
        + [f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(home, "log"), "-w", "-t", "60", "start"],
        capture_output=True,
        text=True,
    )
    try:
        if start.returncode:
            pytest.fail(f"pg_ctl start failed: {start.stderr.strip()[:300]}")
        yield ibis.postgres.connect(host="127.0.0.1", port=port, user="kit", database="postgres")
    finally:
        subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


TABLES = ("contacts", "customers", "orders")


def _spark_view(spark, name: str, df: pd.DataFrame):
    """A pandas frame as a Spark temp view; naive datetimes stay wall-clock (TIMESTAMP_NTZ), as in DuckDB."""
    from pyspark.sql import types as T

    def field(col):
        dtype = df[col].dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            typ = T.TimestampNTZType() if getattr(dtype, "tz", None) is None else T.TimestampType()
        elif pd.api.types.is_bool_dtype(dtype):
            typ = T.BooleanType()
        elif pd.api.types.is_integer_dtype(dtype):
            typ = T.LongType()
        elif pd.api.types.is_float_dtype(dtype):
            typ = T.DoubleType()
        else:
            typ = T.StringType()
        return T.StructField(col, typ, True)

    session = spark._session
    frame = df.astype({c: object for c in df.columns if pd.api.types.is_string_dtype(df[c].dtype)})
    session.createDataFrame(frame, schema=T.StructType([field(c) for c in df.columns])).createOrReplaceTempView(name)
    return spark.table(name)


@pytest.fixture(scope="session")
def spark_tables(spark, small_sample):
    """The small sample as Spark temp views."""
    return {name: _spark_view(spark, f"kit_{name}", getattr(small_sample, name)) for name in TABLES}


@pytest.fixture(scope="session")
def postgres_tables(postgres, small_sample):
    """The small sample loaded into PostgreSQL tables."""
    return {name: postgres.create_table(name, getattr(small_sample, name), overwrite=True) for name in TABLES}


@pytest.fixture(scope="session")
def duckdb_tables(small_sample_dir):
    return {name: str(small_sample_dir / f"{name}.parquet") for name in TABLES}


@pytest.fixture(
    params=[
        pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def engine_tables(request):
    return request.param, request.getfixturevalue(f"{request.param}_tables")


# ---------------------------------------------------------------- equality


def test_loaded_tables_are_the_sample(engine_tables, small_sample):
    name, tables = engine_tables
    for table in TABLES:
        assert tables[table].count().execute() == len(getattr(small_sample, table)), (name, table)


@pytest.mark.parametrize("case", list(CASES))
def test_contact_frequency_matches_duckdb(engine_tables, duckdb_tables, case):
    name, tables = engine_tables
    kwargs = CASES[case]
    want = contact_frequency(duckdb_tables["contacts"], duckdb_tables["customers"], **kwargs)
    got = contact_frequency(tables["contacts"], tables["customers"], **kwargs)
    assert got.notes == want.notes
    assert_same(got.frame, want.frame, ["period", *want.by])
    assert_same_ledger(got.ledger, want.ledger)
    # The sample's planted data-quality rows are all accounted for, on every engine.
    excluded = got.ledger.excluded("contacts")
    assert excluded["unparseable created_at"] == 20 and excluded["duplicate contact_id"] == 15
    assert excluded["unknown customer"] == 25


def test_account_frequency_matches_duckdb(engine_tables, duckdb_tables):
    name, tables = engine_tables
    want = account_frequency(duckdb_tables["contacts"], duckdb_tables["customers"])
    got = account_frequency(tables["contacts"], tables["customers"])
    assert got.as_of == want.as_of and got.window == want.window
    assert_same(got.table, want.table, ["customer_id", "period"])
    assert_same(
        got.accounts,
        want.accounts,
        ["customer_id"] if "customer_id" in want.accounts else list(want.accounts.columns[:1]),
    )
    assert_same_ledger(got.ledger, want.ledger)


def test_contacts_per_order_matches_duckdb(engine_tables, duckdb_tables):
    name, tables = engine_tables
    want = contacts_per_order(
        duckdb_tables["contacts"], duckdb_tables["orders"], duckdb_tables["customers"], by="industry"
    )
    got = contacts_per_order(tables["contacts"], tables["orders"], tables["customers"], by="industry")
    assert_same(got.frame, want.frame, ["period", "industry"])
    assert_same_ledger(got.ledger, want.ledger)


# ---------------------------------------------------------------- engine quirks, checked on each engine


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_elapsed_seconds_and_iso_weeks(engine_tables, tz):
    """Elapsed time across a DST change is wall time +/- 1 h; weeks start on Monday in ``tz``."""
    import ibis

    name, tables = engine_tables
    con = tables["contacts"]._find_backend()
    engine.set_session_tz(con, tz)
    t = (
        tables["customers"]
        .limit(1)
        .select(
            a=ibis.literal("2026-03-28 12:00:00").cast(engine.TZ_UTC),  # Saturday before EU DST
            b=ibis.literal("2026-03-30 12:00:00").cast(engine.TZ_UTC),  # Monday after it
            s=ibis.literal("2026-11-01 23:30:00").cast(engine.TZ_UTC),  # a Sunday night
        )
    )
    t = t.select(
        gap=engine.elapsed_seconds(t.b, t.a),
        week=engine.period_start(engine.local_time(t.s), "W"),
        day_week=engine.period_start(engine.local_time(t.s).date(), "W"),
    )
    row = engine.fetch(con, t).iloc[0]
    expected_gap = {"UTC": 48 * 3600, "Europe/Berlin": 47 * 3600, "America/New_York": 48 * 3600}[tz]
    assert int(row["gap"]) == expected_gap
    assert pd.Timestamp(row["week"]) == pd.Timestamp(row["day_week"]) == pd.Timestamp("2026-10-26")


@pytest.mark.parametrize("url, extra", [("spark://local[1]", "spark"), ("postgres://me@localhost/db", "postgres")])
def test_missing_optional_backend_names_the_extra_to_install(monkeypatch, url, extra):
    import importlib

    from kit.core.backends import connect
    from kit.errors import MissingDependencyError

    real = importlib.import_module

    def without_drivers(name, *args, **kwargs):
        if name.split(".")[0] in ("pyspark", "psycopg"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without_drivers)
    with pytest.raises(MissingDependencyError, match=rf"make install EXTRAS=report,test,{extra}"):
        connect(url)
