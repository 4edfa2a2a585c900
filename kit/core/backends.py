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

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..deps import require
from ..errors import ParameterError, SourceError
from . import engine

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

SPARK_SCHEMES = ("spark", "pyspark")
SECRET_PLACEHOLDER = "{secret}"
#: URL scheme -> (driver module, pyproject extra) for backends that are optional installs
DRIVERS = {"postgres": ("psycopg", "postgres"), "postgresql": ("psycopg", "postgres")}


@dataclass(frozen=True)
class Connection:
    """An Ibis connection URL without its secret, plus where the secret comes from."""

    url: str
    secret_env: str | None = None
    tables: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL holds no secret, but keep reprs short and safe
        return f"Connection({self.url!r}, secret_env={self.secret_env!r})"

    def connect(self) -> BaseBackend:
        """Open the Ibis connection, reading the secret from the environment now."""
        import ibis

        url = self.url
        if self.secret_env:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise ParameterError(
                    f"report.yml names environment variable {self.secret_env} for the connection secret, "
                    f"but it is not set; export {self.secret_env}=... before rendering"
                )
            url = _insert_secret(url, secret)
        scheme = url.split("://", 1)[0].lower()
        if scheme in DRIVERS:  # a missing driver is an install step, not a connection failure
            module, extra = DRIVERS[scheme]
            require(module, extra=extra, purpose=f"the {scheme} backend")
        options = dict(self.options)
        if url.startswith("duckdb://") and urlsplit(url).path not in ("", "/", "/:memory:"):
            # several processes (the report and each notebook kernel) read the same file
            options.setdefault("read_only", True)
        try:
            return ibis.connect(url, **options)
        except Exception as exc:  # noqa: BLE001 - never echo the URL: it now holds the secret
            raise ParameterError(
                f"cannot connect to {self.url.split('://')[0]} backend ({type(exc).__name__}); "
                "check connection.url and the secret's environment variable in report.yml"
            ) from None


def _insert_secret(url: str, secret: str) -> str:
    if SECRET_PLACEHOLDER in url:
        return url.replace(SECRET_PLACEHOLDER, quote(secret, safe=""))
    parts = urlsplit(url)
    if not parts.username:
        raise ParameterError("connection.url needs a user (user@host) or a {secret} placeholder to take the secret")
    host = parts.hostname or ""
    netloc = f"{parts.username}:{quote(secret, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect(url: str, *, secret_env: str | None = None, **options: Any) -> BaseBackend:
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
        raise ParameterError(
            f"backend URL {url!r} has no scheme; use e.g. duckdb://, postgres://user@host/db, spark://"
        )
    if scheme in SPARK_SCHEMES:
        return _spark(url.split("://", 1)[1])
    return Connection(url, secret_env=secret_env, options=dict(options)).connect()


def _spark(master: str):
    import ibis

    SparkSession = require("pyspark.sql", extra="spark", purpose="the Spark backend").SparkSession
    session = SparkSession.getActiveSession()
    if session is None:
        builder = SparkSession.builder.appName("contact-kit")
        if master:
            builder = builder.master(master)
        session = builder.getOrCreate()
    return ibis.pyspark.connect(session)


def table(con: BaseBackend, name: str) -> ir.Table:
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


def tables(con: BaseBackend, names: Mapping[str, str]) -> dict[str, ir.Table]:
    """``{"contacts": "support.tickets", ...}`` -> Ibis tables to pass to any kit function."""
    return {canonical: table(con, name) for canonical, name in names.items()}


def explain(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
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
    >>> len(sql) >= 1 and all(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in sql)
    True
    """
    with engine.capture_sql() as log:
        result = func(*args, **kwargs)
    return result, list(log)


def format_sql(statements: list[str]) -> str:
    """The statements as one SQL script with numbered comments (for ``--explain``)."""
    return "\n\n".join(f"-- query {i} of {len(statements)}\n{s.strip()};" for i, s in enumerate(statements, 1))
