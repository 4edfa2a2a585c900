"""Run the kit where the data lives: connections from URLs, warehouse tables, the SQL pushed down.

DuckDB (embedded, files) is the default. Any Ibis backend works: PostgreSQL, Snowflake,
BigQuery, Databricks, or a PySpark session. The URL never holds the secret: the
password or token is read from an environment variable when connecting.

Examples
--------
>>> con = connect("duckdb://")
>>> con.name
'duckdb'
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from . import engine
from ..errors import ParameterError, SourceError

SPARK_SCHEMES = ("spark", "pyspark")


def connect(url: str, *, secret_env: str | None = None, **options):
    """An Ibis connection from a URL; the secret comes from environment variable ``secret_env``.

    Parameters
    ----------
    url : str
        ``duckdb://`` (in memory) or ``duckdb:///path/file.duckdb``,
        ``postgres://user@host:5432/db``, ``snowflake://user@account/db/schema?warehouse=WH``,
        ``bigquery://project/dataset``, ``databricks://...``, or ``spark://local[2]`` /
        ``spark://`` (the active PySpark session, or a new local one). Write ``{secret}`` where
        the secret goes, or give the user only and the secret becomes the password.
    secret_env : str, optional
        Name of the environment variable holding the password or token.
    **options
        Passed to the backend's ``connect``.

    Examples
    --------
    >>> connect("duckdb://").name
    'duckdb'
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if not scheme:
        raise ParameterError(f"backend URL {url!r} has no scheme; use e.g. duckdb://, postgres://user@host/db, spark://")
    if scheme in SPARK_SCHEMES:
        return _spark(url.split("://", 1)[1])
    from ..report.context import Connection

    return Connection(url, secret_env=secret_env, options=dict(options)).connect()


def _spark(master: str):
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise ParameterError("the Spark backend needs pyspark: pip install -e '.[spark]'") from None
    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("contact-kit")
        if master:
            builder = builder.master(master)
        session = builder.getOrCreate()
    return ibis.pyspark.connect(session)


def table(con, name: str):
    """A warehouse table by name; ``schema.table`` or ``catalog.schema.table`` are qualified names."""
    parts = name.split(".")
    try:
        if len(parts) == 1:
            return con.table(name)
        if len(parts) == 2:
            return con.table(parts[1], database=parts[0])
        return con.table(parts[-1], database=(parts[0], ".".join(parts[1:-1])))
    except Exception:  # noqa: BLE001 - each backend raises its own "no such table"
        raise SourceError(f"the {con.name} connection has no table {name!r}; check the table name and schema") from None


def tables(con, names: Mapping[str, str]) -> dict:
    """``{"contacts": "support.tickets", ...}`` -> Ibis tables to pass to any kit function."""
    return {canonical: table(con, name) for canonical, name in names.items()}


def explain(func, *args, **kwargs) -> tuple[object, list[str]]:
    """Run a kit function and return ``(result, sql)``: every statement it pushed down, in order.

    Only aggregates come back; the SQL shows the row-level work done on the engine.

    Examples
    --------
    >>> import pandas as pd
    >>> from kit.metrics.frequency import contact_frequency
    >>> customers = pd.DataFrame({"customer_id": ["a"], "signup_date": ["2026-01-01"]})
    >>> contacts = pd.DataFrame({"contact_id": [1], "customer_id": ["a"], "created_at": ["2026-01-05 10:00"],
    ...                          "channel": ["chat"]})
    >>> df, sql = explain(contact_frequency, contacts, customers)
    >>> len(sql) >= 2 and all(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in sql)
    True
    """
    with engine.capture_sql() as log:
        result = func(*args, **kwargs)
    return result, list(log)


def format_sql(statements: list[str]) -> str:
    """The statements as one SQL script with numbered comments (for ``--explain``)."""
    return "\n\n".join(f"-- query {i} of {len(statements)}\n{s.strip()};" for i, s in enumerate(statements, 1))
