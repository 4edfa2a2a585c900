"""Compiled SQL reused by warm calls whose queries differ only in the values they compare.

Compiling a metric's query (Ibis expression to SQL) takes about 40 ms, a third of a warm call on
small data. A notebook user changing the follow-up window, the periods or the direction asks for
the same query with other constants, so on DuckDB a query's *shape* (the expression with every
literal compared by ``=``, ``<``, ``BETWEEN`` and the like replaced by a parameter) is compiled
once more at its second query, with unmistakable sentinel values, and kept as a template. A later
query of the same shape is the template with the sentinels replaced by the new values, each
rendered by the compiler itself. A template is kept only if it reproduces, character for
character, the SQL the compiler wrote for the query that made it; otherwise that shape is always
compiled.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import re
import secrets
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from ibis.common.graph import Graph

from .sources import BoundedCache

#: Off within :func:`kit.core.prepare.single_use` (a one-off run would only pay for a second compile)
#: and with ``KIT_SQL_TEMPLATES=0``.
ENABLED = os.environ.get("KIT_SQL_TEMPLATES", "1") != "0"
#: Compile every templated query as well and fail if the SQL differs, and make templates at a shape's
#: first query, so that a test run checks every shape it meets (``KIT_VERIFY_SQL_TEMPLATES=1``).
VERIFY = os.environ.get("KIT_VERIFY_SQL_TEMPLATES") == "1"
#: Per connection: shape key -> its _Template, _SEEN (one query so far) or _UNCACHEABLE.
_TEMPLATES = BoundedCache(32)
_COMPARISONS = (ops.Equals, ops.NotEquals, ops.Less, ops.LessEqual, ops.Greater, ops.GreaterEqual, ops.Between)
_TOKEN = "kit" + secrets.token_hex(6)  # no data or query text contains it


def _sentinel(dtype: dt.DataType, i: int) -> Any:
    """The ``i``-th placeholder value of ``dtype``: rendered, it appears nowhere else in a query."""
    if dtype.is_int64():  # every integer parameter (see _param_type)
        return 7_431_000_000_000_000 + i
    if dtype.is_float64():
        return 987_000_000.25 + i
    if dtype.is_string():
        return f"{_TOKEN}_{i}"
    if dtype.is_date():
        return _dt.date(4321, 1, 1) + _dt.timedelta(days=i)
    if dtype.is_timestamp():
        value = _dt.datetime(4321, 1, 1) + _dt.timedelta(seconds=i)
        return value.replace(tzinfo=_dt.UTC) if dtype.timezone else value
    return None


def _param_type(dtype: dt.DataType) -> dt.DataType:
    # Integers are written as bare numbers whatever their width; one type lets 9 (int8) and 200 (int16)
    # share a shape, and the sentinels fit it.
    return dt.int64 if dtype.is_integer() else dtype


def _parameterisable(node: ops.Node) -> bool:
    return (
        isinstance(node, ops.Literal) and node.value is not None and _sentinel(_param_type(node.dtype), 0) is not None
    )


def _key(op: ops.Node) -> tuple[tuple, dict[ops.Literal, ops.ScalarParameter]]:
    """A query's shape as plain tuples, and its compared literals with their parameters.

    One row per node in topological order, children as row numbers; a compared literal is its
    parameter's number, any other literal its value; tables are their names and schemas. Plain
    tuples, not a rewritten Ibis graph: building one costs about a fifth (no node is validated
    again), and the key holds no data and no connection.
    """
    literals: dict[ops.Literal, ops.ScalarParameter] = {}
    rows: list[tuple] = []
    index: dict[ops.Node, int] = {}

    def value(arg: Any, *, compared: bool = False) -> Any:
        if isinstance(arg, ops.Literal):
            if compared and _parameterisable(arg):
                found = literals.get(arg)
                if found is None:
                    found = literals[arg] = ops.ScalarParameter(_param_type(arg.dtype), counter=len(literals))
                return ("param", found.counter)
            return ("literal", arg.value, arg.dtype)
        if isinstance(arg, ops.Node):
            return ("node", index[arg])
        if isinstance(arg, tuple | list):
            return tuple(value(a) for a in arg)
        if isinstance(arg, Mapping):
            return tuple((k, value(v)) for k, v in arg.items())
        if isinstance(arg, BaseBackend):
            return "backend"  # the cache is per connection already
        return arg

    order, _ = Graph.from_bfs(op).toposort()  # children before their parents
    for node in order:
        if isinstance(node, ops.Literal):
            continue  # written into its parents' rows
        if isinstance(node, ops.DatabaseTable | ops.InMemoryTable):
            row: tuple = ("table", node.name, node.schema, getattr(node, "namespace", None))
        else:
            compared = isinstance(node, _COMPARISONS)
            row = (type(node), tuple(value(a, compared=compared) for a in node.__args__))
        index[node] = len(rows)
        rows.append(row)
    return tuple(rows), literals


def _shaped(op: ops.Node, literals: dict[ops.Literal, ops.ScalarParameter]) -> ops.Node:
    """``op`` with its compared literals replaced by their parameters (see :func:`_key`), to compile."""

    def replace(node, kwargs):
        node = node.__recreate__(kwargs) if kwargs else node
        if isinstance(node, _COMPARISONS):
            args = zip(node.__argnames__, node.__args__, strict=True)
            changes = {k: literals[v] for k, v in args if isinstance(v, ops.Literal) and v in literals}
            return node.copy(**changes) if changes else node
        return node

    return op.replace(replace)


@functools.lru_cache(maxsize=4096)  # most compared values recur call after call (reasons, bounds)
def _rendered(compiler: Any, value: Any, dtype: dt.DataType, _kind: tuple) -> str:
    return compiler.visit_Literal(ops.Literal(value, dtype), value=value, dtype=dtype).sql(dialect=compiler.dialect)


def _render(con: BaseBackend, lit: ops.Literal, value: Any, dtype: dt.DataType) -> str:
    compiler: Any = con.compiler  # type: ignore[attr-defined]  # every SQL backend has one
    # values equal in Python but written differently (1 and 1.0, one instant in two zones) are kept apart
    kind = (type(value), str(getattr(value, "tzinfo", None)))
    try:
        return _rendered(compiler, value, dtype, kind)
    except TypeError:  # an unhashable value
        return compiler.visit_Literal(lit, value=value, dtype=dtype).sql(dialect=compiler.dialect)


class _Template:
    """A shape's SQL with sentinel values, and how to put a query's own values in their place."""

    def __init__(self, con: BaseBackend, sql: str, literals: Mapping[ops.Literal, ops.ScalarParameter]) -> None:
        self.sql = sql
        self.slots = {
            _render(con, lit, _sentinel(p.dtype, p.counter), p.dtype): p.counter for lit, p in literals.items()
        }
        # a sentinel's text is matched whole: never as part of a longer number, name or string
        self.pattern = re.compile("|".join(rf"(?<![\w.']){re.escape(t)}(?![\w.'])" for t in self.slots))

    def fill(self, con: BaseBackend, lits: list[ops.Literal]) -> str:
        if not self.slots:
            return self.sql
        values = [_render(con, lit, lit.value, lit.dtype) for lit in lits]
        return self.pattern.sub(lambda m: values[self.slots[m.group(0)]], self.sql)

    def holds(self) -> bool:
        """Every sentinel is in the SQL as the compiler wrote it (a rewrite may have folded one away)."""
        return {m.group(0) for m in self.pattern.finditer(self.sql)} == set(self.slots)


_UNCACHEABLE = "uncacheable"
_SEEN = "seen once"


def sql_for(con: BaseBackend, expr: ir.Table, compile: Callable[[ir.Table], str]) -> str:
    """The SQL of ``expr`` on ``con``: from its shape's template when there is one, else ``compile(expr)``."""
    try:
        key, literals = _key(expr.op())
    except (KeyError, TypeError):  # a node this reading does not know (unhashable, children not in args)
        return compile(expr)  # a cache never fails a call
    lits = list(literals)
    template = _TEMPLATES.get(con, key)
    if isinstance(template, _Template):
        sql = template.fill(con, lits)
        if VERIFY and sql != compile(expr):
            raise AssertionError(f"a SQL template gave other SQL than the compiler:\n{sql}\n{compile(expr)}")
        return sql
    direct = compile(expr)
    if template is None and not VERIFY:  # a shape met once may not come back (a report's queries):
        _TEMPLATES.put(con, key, _SEEN)  # no template yet (made at once, the report took 1.1 s longer)
    elif template is None or template is _SEEN:  # its second query (the first, when verifying):
        # keep a template if it reproduces this query's SQL
        if literals:
            params = {p.to_expr(): _sentinel(p.dtype, p.counter) for p in literals.values()}
            shaped = _shaped(expr.op(), literals)
            made = _Template(con, con.compile(shaped.to_expr(), params=params), literals)  # type: ignore[call-arg]
        else:
            made = _Template(con, direct, literals)
        ok = made.holds() and made.fill(con, lits) == direct
        _TEMPLATES.put(con, key, made if ok else _UNCACHEABLE)
    return direct


def fetch_df(con: BaseBackend, expr: ir.Table) -> pd.DataFrame:
    """``con.execute(expr)`` for DuckDB, with the SQL from :func:`sql_for`."""
    import pyarrow.types as pat  # noqa: PLC0415 - already loaded by Ibis' DuckDB backend
    from ibis.backends.duckdb.converter import DuckDBPandasData  # noqa: PLC0415

    backend: Any = con
    sql = sql_for(con, expr, backend.compile)
    backend._run_pre_execute_hooks(expr)  # registers the DataFrames the query reads
    # execute, not sql(): a relation binds the query once to learn its schema and again to run it
    # (14 ms against 9 ms for a warm call's query). DuckDB warns that Arrow from execute copies the
    # rows once more: the kit only fetches aggregates, so the copy is cheap and the warning noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
        table = backend.con.execute(sql).to_arrow_table()
    # as Ibis' DuckDB backend converts a result (execute), so both paths give the same frame
    df = pd.DataFrame(
        {
            name: (
                col.to_pylist()
                if pat.is_nested(col.type) or pat.is_dictionary(col.type) or col.null_count
                else col.to_pandas()
            )
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    df = DuckDBPandasData.convert_table(df, expr.as_table().schema())
    return expr.__pandas_result__(df)
