"""Start-up stays light: ``import kit`` and ``python -m kit --help`` load only what they need.

Each check runs in a fresh interpreter (this test process has long imported everything) and
asserts on ``sys.modules``; together they take a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy.stats", "statsmodels", "matplotlib", "seaborn", "papermill", "nbconvert", "IPython")


def _loaded(code: str, *modules: str) -> list[str]:
    """The ``modules`` a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {list(modules)!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_import_kit_loads_no_analysis_stack_and_no_engine():
    assert _loaded("import kit", *HEAVY, "pandas", "ibis", "scipy") == []


def test_contact_frequency_import_loads_no_analysis_stack():
    # the metric itself needs pandas and Ibis, not scipy.stats (its interval uses scipy.special, on first call)
    # nor Ibis' SQL compilers for every warehouse
    loaded = _loaded("from kit import contact_frequency", *HEAVY, "scipy", "ibis.backends.sql.compilers.postgres")
    assert loaded == []


def test_cli_help_loads_neither_pandas_nor_ibis():
    # the real command; -X importtime lists every module it imported on stderr
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kit", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0 and "usage: python -m kit" in run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "kit.cli" in imported
    assert sorted(imported & {"pandas", "ibis", "numpy", "yaml", *HEAVY}) == []


def test_report_help_is_light_too():
    code = (
        "import contextlib, io\nfrom kit.cli import build_parser\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        build_parser().parse_args(['report', '--help'])\n    except SystemExit:\n        pass"
    )
    assert _loaded(code, "pandas", "ibis", "papermill") == []


def test_public_names_still_resolve():
    import kit
    from kit import Dataset, Ledger, MetricResult, contact_frequency, load, open_tables, poisson_ci
    from kit.core.dataset import Dataset as D
    from kit.metrics.frequency import contact_frequency as cf

    assert contact_frequency is cf and Dataset is D and kit.load is load
    assert {"contact_frequency", "decompose", "Ledger", "KitError"} <= set(dir(kit))
    assert sorted(kit.__all__) == sorted(set(kit.__all__))
    for name in kit.__all__:  # every advertised name resolves
        assert getattr(kit, name) is not None, name
    assert callable(open_tables) and callable(poisson_ci) and isinstance(Ledger(), Ledger) and MetricResult


def test_poisson_interval_matches_the_chi_square_definition():
    # Garwood's exact interval, worked from scipy.stats' chi-square quantiles (the reference definition)
    import numpy as np
    from scipy import stats

    from kit.metrics.frequency import poisson_ci

    counts, exposure = np.array([0, 1, 7, 2400]), np.array([10.0, 10.0, 3.0, 1000.0])
    lo, hi = poisson_ci(counts, exposure)
    want_lo = np.where(counts > 0, stats.chi2.ppf(0.025, 2 * counts) / 2, 0.0) / exposure
    want_hi = stats.chi2.ppf(0.975, 2 * counts + 2) / 2 / exposure
    np.testing.assert_allclose(lo, want_lo, rtol=1e-12)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-12)
    assert lo[0] == 0.0 and round(float(hi[0]), 4) == 0.3689  # 0 contacts in 10: upper bound 3.689 / 10


def test_a_duckdb_run_loads_only_duckdbs_sql_compiler():
    # Ibis' compilers package imports all 20 dialects' compilers; the kit's stand-in loads the one asked for
    code = (
        "from kit import contact_frequency\nimport pandas as pd\n"
        "c = pd.DataFrame({'contact_id': [1, 2], 'customer_id': ['a', 'b'],"
        " 'channel': 'chat',"
        " 'created_at': pd.to_datetime(['2025-01-02', '2025-01-03'], utc=True)})\n"
        "contact_frequency(c)"
    )
    others = [f"ibis.backends.sql.compilers.{d}" for d in ("postgres", "trino", "athena", "pyspark", "snowflake")]
    assert _loaded(code, "ibis.backends.sql.compilers.duckdb", *others) == ["ibis.backends.sql.compilers.duckdb"]


def test_other_compilers_still_resolve_through_the_stand_in():
    # the names Ibis' package exports, its submodules, and compiling for another dialect
    code = (
        "import kit.core, sys\nimport ibis\nimport ibis.backends.sql.compilers as sc\n"
        "from ibis.backends.sql.compilers import PostgresCompiler\n"
        "assert sc.PostgresCompiler is PostgresCompiler and sc.pyspark.PySparkCompiler.__name__ == 'PySparkCompiler'\n"
        "assert set(sc.__all__) >= {'DuckDBCompiler', 'PostgresCompiler', 'TrinoCompiler'}\n"
        "sql = ibis.to_sql(ibis.table({'a': 'int64'}, name='t').a.sum(), dialect='postgres')\n"
        "assert 'SUM' in sql, sql\n"
        "assert 'ibis.backends.sql.compilers.trino' not in sys.modules"
    )
    assert _loaded(code, "ibis.backends.sql.compilers.postgres", "ibis.backends.sql.compilers.pyspark") == [
        "ibis.backends.sql.compilers.postgres",
        "ibis.backends.sql.compilers.pyspark",
    ]


def test_the_stand_in_steps_aside_for_an_unexpected_package(tmp_path):
    from kit.core.compilers import _exports

    plain = tmp_path / "plain.py"
    plain.write_text(
        '"""doc"""\nfrom __future__ import annotations\n__all__ = ["ACompiler"]\n'
        "from ibis.backends.sql.compilers.a import ACompiler\n"
        "from ibis.backends.sql.compilers.b import B as BCompiler\n"
    )
    pkg = "ibis.backends.sql.compilers"
    assert _exports(plain) == {"ACompiler": f"{pkg}.a", "BCompiler": f"{pkg}.b"}
    for extra in ("import os\n", "X = 1\n", "def f(): pass\n", "from .a import ACompiler\n", "from os import path\n"):
        odd = tmp_path / "odd.py"
        odd.write_text(plain.read_text() + extra)
        assert _exports(odd) is None, extra
    assert _exports(tmp_path / "missing.py") is None
    # in a fresh interpreter (no kit.core yet): an odd package file is left alone, and Ibis imports its own
    code = (
        "import importlib.util\nfrom pathlib import Path\n"  # the module alone: kit.core would install it
        "spec = importlib.util.spec_from_file_location('lone', 'kit/core/compilers.py')\n"
        "lone = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(lone)\n"
        f"assert lone.load_lazily(Path({str(odd)!r})) is False\n"
        "import ibis\nibis.duckdb.connect().raw_sql('SELECT 1')"
    )
    assert _loaded(code, "ibis.backends.sql.compilers.trino") == ["ibis.backends.sql.compilers.trino"]
