"""SQL templates: a query of a known shape with new compared values gets the compiler's own SQL."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

import kit
from kit.core import engine, prepare, templates
from kit.metrics import frequency

ROWS = pd.DataFrame(
    {
        "n64": pd.Series([1, 5, 9, 12], dtype="int64"),
        "n32": pd.Series([1, 5, 9, 12], dtype="int32"),
        "x": [0.5, 1.5, 2.5, 3.5],
        "s": ["a", "it's", "c", "d"],
        "d": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]).date,
        "t": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 10:00", "2026-01-03 10:00", "2026-01-04 10:00"]),
        "tz": pd.to_datetime(
            ["2026-01-01 10:00", "2026-01-02 10:00", "2026-01-03 10:00", "2026-01-04 10:00"], utc=True
        ),
    }
)


def query(t, lo, hi, x, s, d, ts):
    """Rows passing one comparison per literal type: each value is a parameter of the one shape."""
    keep = (
        (t.n32 >= ibis.literal(lo, type="int32"))
        & (t.n64 < hi)
        & (t.x > x)
        & (t.s != s)
        & t.d.between(d, dt.date(2026, 12, 31))
        & (t.t <= ts)
        & (t.tz <= ibis.literal(pd.Timestamp(ts, tz="UTC")))
    )
    return t.filter(keep).aggregate(rows=ibis._.count())


FIRST = (6, 9, 9.0, "zz", dt.date(2000, 1, 1), dt.datetime(2000, 1, 1))
SECOND = (7, 300, 8.0, "yy", dt.date(2001, 1, 1), dt.datetime(2001, 1, 1))  # 300: an int16 literal, 9 an int8


@pytest.mark.parametrize(
    ("values", "rows"),
    [
        # worked by hand over ROWS (n32 >= lo, n64 < hi, x > x, s != s, d from d, t and tz up to ts)
        ((6, 10, 0.0, "a", dt.date(2026, 1, 1), dt.datetime(2026, 1, 5)), 1),  # 9 only: 12 is not < 10
        ((1, 13, 1.0, "c", dt.date(2026, 2, 1), dt.datetime(2026, 1, 4, 10)), 2),  # rows 5 and 12 (up to ts)
        ((0, 100, -1.0, "it's", dt.date(2025, 1, 1), dt.datetime(2027, 1, 1)), 3),  # all but "it's": quoted
    ],
)
def test_a_template_gives_the_compilers_sql_and_answer(values, rows, monkeypatch):
    monkeypatch.setattr(templates, "ENABLED", True)
    monkeypatch.setattr(templates, "VERIFY", False)  # (its check compiles too)
    con = engine.default_connection()
    t = con.create_table("rows", ROWS, temp=True)
    for values_before in (FIRST, SECOND):  # the second query of a shape makes its template
        engine.fetch(con, query(t, *values_before), max_rows=0)
    expr = query(t, *values)
    real, compiled = con.compile, []
    monkeypatch.setattr(con, "compile", lambda *a, **k: compiled.append(1) or real(*a, **k))
    assert engine.fetch(con, expr, max_rows=0)["rows"].item() == rows
    assert not compiled  # the SQL came from the template
    assert templates.sql_for(con, expr, real) == real(expr)


def test_a_template_that_lost_a_value_is_not_kept():
    con = engine.default_connection()
    lit = ibis.literal(5, type="int64").op()
    literals = {lit: ibis.param("int64").op()}
    param = literals[lit]
    made = templates._Template(con, "SELECT 1", literals)  # the sentinel for 5 is nowhere in the SQL
    assert not made.holds()
    sentinel = templates._sentinel(param.dtype, param.counter)
    assert templates._Template(con, f"SELECT {sentinel}", literals).holds()


@pytest.mark.filterwarnings("ignore:1 period-group row")
def test_metric_calls_with_changed_values_match_the_compiler(monkeypatch):
    """Changed windows, periods, directions and as_of on one warm connection: every templated query's
    SQL is checked against the compiler's (VERIFY), and the answers equal a connection without templates."""
    from test_warm import contacts, customers

    monkeypatch.setattr(templates, "VERIFY", True)
    monkeypatch.setattr(frequency, "MEMO_ROWS", 0)  # no memoised results: every call queries
    c, u = contacts([1, 1, 2, 2, 4]), customers([1, 2, 3])
    c["direction"] = ["inbound", "outbound", "inbound", "inbound", "inbound"]
    calls = [
        dict(dedup_window="24h"),
        dict(dedup_window="12h"),
        dict(dedup_window="30h", direction="all"),
        dict(dedup_window="30h", start="2026-01-01", end="2026-01-31"),
        dict(dedup_window="6h", start="2026-02-01", end="2026-02-28"),
        dict(dedup_window="6h", as_of="2026-01-20"),
        dict(dedup_window="6h", as_of="2026-02-25", by="tier"),
        dict(dedup_window="48h", as_of="2026-02-26", by="tier"),
    ]
    con = engine.default_connection()
    templated = [kit.contact_frequency(c, u, con=con, **kw) for kw in calls]
    entries = templates._TEMPLATES._entries(con).values()
    assert any(isinstance(entry, templates._Template) for entry in entries)
    monkeypatch.setattr(templates, "ENABLED", False)
    for kw, got in zip(calls, templated, strict=True):
        want = kit.contact_frequency(c, u, con=engine.default_connection(), **kw)
        pd.testing.assert_frame_equal(got.frame, want.frame)
        pd.testing.assert_frame_equal(got.ledger.frame(), want.ledger.frame())


def test_single_use_makes_no_template():
    with prepare.single_use():
        assert not templates.ENABLED
    assert templates.ENABLED


def test_a_shape_is_compiled_twice_at_most(monkeypatch):
    """Its first query is compiled; its second too, plus the template; later ones never, and a shape
    whose template did not hold is compiled once a query, never again twice."""
    monkeypatch.setattr(templates, "VERIFY", False)
    con = engine.default_connection()
    t = con.create_table("rows", ROWS, temp=True)
    real, compiled = con.compile, []
    monkeypatch.setattr(con, "compile", lambda *a, **k: compiled.append(1) or real(*a, **k))
    counts = []
    for hi in (9, 10, 11, 12):
        before = len(compiled)
        engine.fetch(con, query(t, 1, hi, 0.0, "zz", dt.date(2000, 1, 1), dt.datetime(2030, 1, 1)), max_rows=0)
        counts.append(len(compiled) - before)
    assert counts == [1, 2, 0, 0]
    key, _ = templates._key(query(t, 1, 9, 0.0, "zz", dt.date(2000, 1, 1), dt.datetime(2030, 1, 1)).op())
    templates._TEMPLATES.put(con, key, templates._UNCACHEABLE)
    before = len(compiled)
    engine.fetch(con, query(t, 1, 13, 0.0, "zz", dt.date(2000, 1, 1), dt.datetime(2030, 1, 1)), max_rows=0)
    assert len(compiled) - before == 1


def test_a_query_the_key_cannot_read_is_compiled(monkeypatch):
    def unreadable(op):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(templates, "_key", unreadable)
    con = engine.default_connection()
    t = con.create_table("rows", ROWS, temp=True)
    args = (0, 100, -1.0, "zz", dt.date(2025, 1, 1), dt.datetime(2027, 1, 1))
    assert engine.fetch(con, query(t, *args), max_rows=0)["rows"].item() == 4  # every row passes
