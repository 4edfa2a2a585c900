"""report.yml's ``engine`` key and the KIT_DUCKDB_* variables reach the kit's DuckDB connection."""

from __future__ import annotations

import os

import pytest

from kit import config
from kit.core import engine
from kit.errors import ParameterError
from kit.report import context


@pytest.fixture
def clean(monkeypatch):
    for env, attr, _ in config.DUCKDB_SETTINGS.values():
        monkeypatch.delenv(env, raising=False)
        monkeypatch.setattr(config, attr, None)
    return monkeypatch


def _setting(con, name):
    return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]


def test_report_yml_engine_settings_reach_the_connection(clean, tmp_path):
    (tmp_path / "report.yml").write_text("engine:\n  memory_limit: 1GB\n  temp_directory: spill\n  threads: 1\n")
    context.load(tmp_path / "report.yml")
    con = engine.default_connection()
    # DuckDB reports 1GB as 953.6 MiB (it counts in powers of 1000 on input, 1024 on output)
    assert _setting(con, "memory_limit") == "953.6 MiB"
    assert _setting(con, "temp_directory") == str(tmp_path / "spill")  # relative to the file's folder
    assert _setting(con, "threads") == 1
    assert os.environ["KIT_DUCKDB_TEMP_DIR"] == str(tmp_path / "spill")  # the notebook kernels inherit it


def test_the_connection_draws_no_progress_bar(clean):
    """DuckDB's progress bar goes to stdout (piped output, rendered notebooks): the kit's connection has none."""
    con = engine.default_connection()
    assert _setting(con, "enable_progress_bar") is False
    assert _setting(con, "preserve_insertion_order") is False


def test_environment_wins_over_the_file(clean, tmp_path):
    clean.setenv("KIT_DUCKDB_THREADS", "2")
    (tmp_path / "report.yml").write_text("engine:\n  threads: 1\n")
    context.load(tmp_path / "report.yml")
    assert config.DUCKDB_THREADS is None  # left to the environment variable, read at import in a new process


def test_bad_engine_key_and_value(clean, tmp_path):
    (tmp_path / "report.yml").write_text("engine:\n  memory: 1GB\n")
    with pytest.raises(ParameterError, match="unknown key 'memory' in engine"):
        context.load(tmp_path / "report.yml")
    clean.setattr(config, "DUCKDB_THREADS", "many")
    with pytest.raises(ParameterError, match="KIT_DUCKDB_THREADS='many'.*use e.g. 4"):
        engine.default_connection()
