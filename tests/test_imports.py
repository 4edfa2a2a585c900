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
