"""Contact Frequency Kit: Customer Contact Frequency and related KPIs on Ibis (DuckDB by default).

The public API, re-exported from the layers (``kit.core`` -> ``kit.present`` -> ``kit.metrics`` ->
``kit.analysis`` -> ``kit.report``; imports run in that direction only).
"""

from __future__ import annotations

import sys as _sys

from .config import VERSION
from .deps import exit_if_core_missing as _exit_if_core_missing

if _sys.argv[:1] == ["-m"]:  # `python -m kit` (argv[0] is "-m" while the module is located): one line if deps lack
    _exit_if_core_missing()

from .core.dataset import Dataset, load
from .core.ledger import Ledger
from .core.results import MetricResult, Result
from .core.sources import open_tables
from .errors import KitError, KitWarning
from .metrics.frequency import FrequencyResult, contact_frequency, poisson_ci

#: The analyses, imported on first use (``kit.decompose``...), so that ``import kit`` stays light.
_LAZY = {
    "contacts_per_order": "kit.metrics.rates",
    "account_frequency": "kit.metrics.accounts",
    "coverage": "kit.metrics.coverage",
    "customer_features": "kit.metrics.features",
    "cohorts": "kit.metrics.cohorts",
    "decompose": "kit.analysis.decompose",
    "decompose_by": "kit.analysis.decompose",
    "anomalies": "kit.analysis.anomalies",
    "compare_periods": "kit.analysis.compare",
    "forecast": "kit.analysis.forecast",
    "backtest": "kit.analysis.forecast",
    "churn_effect": "kit.analysis.churn",
    "csat_effect": "kit.analysis.csat",
    "touchpoint_effect": "kit.analysis.touchpoints",
    "period_correlation": "kit.analysis.correlation",
    "analyze": "kit.analysis.drivers",
    "place": "kit.analysis.benchmarks",
    "generate_sample": "kit.sample",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = getattr(module, "generate" if name == "generate_sample" else name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kit' has no attribute {name!r}")


__all__ = [
    *sorted(_LAZY),
    "Dataset",
    "FrequencyResult",
    "KitError",
    "KitWarning",
    "Ledger",
    "MetricResult",
    "Result",
    "contact_frequency",
    "ledger_of",
    "load",
    "open_tables",
    "poisson_ci",
]
__version__ = VERSION


def ledger_of(result) -> Ledger:
    """The data-quality ledger of a metric result (``result.ledger``).

    Also reads the ``attrs["ledger"]`` of frames saved by earlier versions of the kit.
    """
    ledger = getattr(result, "ledger", None)
    if isinstance(ledger, Ledger):
        return ledger
    return result.attrs["ledger"]
