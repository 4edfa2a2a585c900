"""Only aggregates come back to pandas: a contacts-sized frame is never materialised."""

from __future__ import annotations

import pandas as pd
import pytest

from kit.core import engine
from kit.errors import DataError
from kit.metrics.frequency import contact_frequency


@pytest.fixture
def counted(monkeypatch):
    """Fresh fetch statistics, plus a record of the size of every result fetched."""
    stats = {"queries": 0, "rows": 0, "largest": 0}
    monkeypatch.setattr(engine, "FETCH_STATS", stats)
    sizes = []

    def spy(con, expr, **kwargs):
        df = real(con, expr, **kwargs)
        sizes.append(len(df))
        return df

    real = engine.fetch
    monkeypatch.setattr(engine, "fetch", spy)
    return stats, sizes


@pytest.mark.parametrize(
    "kwargs", [dict(freq="month", by="tier"), dict(freq="week", by=["channel", "region"]), dict(freq="day")]
)
def test_contact_frequency_fetches_only_aggregates(counted, sample_dir, sample, kwargs):
    stats, sizes = counted
    out = contact_frequency(sample_dir / "contacts.parquet", sample_dir / "customers.parquet", **kwargs)
    n_contacts = len(sample.contacts)
    assert stats["queries"] == len(sizes) >= 1  # every query went through the guarded fetch
    # Every fetched frame is tiny next to the contacts table (the daily grain is the largest case).
    assert stats["largest"] == max(sizes) < 0.05 * n_contacts
    assert stats["rows"] < 0.10 * n_contacts
    assert len(out) <= stats["rows"]


def test_guard_refuses_an_oversized_fetch(monkeypatch, small_sample_dir):
    """Lower the limit below the result size: the kit stops with a DataError instead of materialising."""
    monkeypatch.setattr(engine, "MAX_FETCH_ROWS", 5)
    with pytest.raises(DataError, match="only fetches aggregates"):
        contact_frequency(
            small_sample_dir / "contacts.parquet", small_sample_dir / "customers.parquet", freq="week", by="tier"
        )


def test_guard_counts_rows_of_a_direct_fetch(monkeypatch):
    stats = {"queries": 0, "rows": 0, "largest": 0}
    monkeypatch.setattr(engine, "FETCH_STATS", stats)
    con = engine.default_connection()
    t = con.create_table("numbers", pd.DataFrame({"x": range(100)}))
    assert len(engine.fetch(con, t, max_rows=100)) == 100
    assert stats == {"queries": 1, "rows": 100, "largest": 100}
    with pytest.raises(DataError, match="more than 99 rows"):
        engine.fetch(con, t, max_rows=99)
    assert stats["queries"] == 2 and stats["largest"] == 100  # counted even when refused


def test_duckdb_memory_limit_setting(monkeypatch):
    from kit import config
    from kit.core import engine
    from kit.errors import ParameterError

    monkeypatch.setattr(config, "DUCKDB_MEMORY_LIMIT", "1GB")
    con = engine.default_connection()
    # DuckDB reports 1GB (10^9 bytes) in MiB: 953.6 MiB
    assert con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"
    monkeypatch.setattr(config, "DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ParameterError, match="KIT_DUCKDB_MEMORY_LIMIT"):
        engine.default_connection()
