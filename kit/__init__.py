"""Contact Frequency Kit: Customer Contact Frequency and related KPIs on Ibis (DuckDB by default).

The public API, re-exported from the layers (``kit.core`` -> ``kit.present`` -> ``kit.metrics`` ->
``kit.analysis`` -> ``kit.report``; imports run in that direction only). Every public name is
imported on first use (PEP 562), so ``import kit`` costs almost nothing and the CLI's ``--help``
never loads pandas or Ibis.

Examples
--------
>>> import kit
>>> kit.contact_frequency.__module__, "contact_frequency" in dir(kit)
('kit.metrics.frequency', True)
"""

from __future__ import annotations

import sys as _sys
from typing import TYPE_CHECKING

from .config import VERSION
from .deps import exit_if_core_missing as _exit_if_core_missing
from .errors import KitError, KitWarning

if _sys.argv[:1] == ["-m"]:  # `python -m kit` (argv[0] is "-m" while the module is located): one line if deps lack
    _exit_if_core_missing()

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .core.dataset import Dataset, load
    from .core.ledger import Ledger
    from .core.results import MetricResult, Result
    from .core.sources import open_tables
    from .metrics.frequency import FrequencyResult, contact_frequency, poisson_ci

#: Public name -> the module that defines it, imported on first use (``kit.contact_frequency``...).
_LAZY = {
    "Dataset": "kit.core.dataset",
    "load": "kit.core.dataset",
    "Ledger": "kit.core.ledger",
    "MetricResult": "kit.core.results",
    "Result": "kit.core.results",
    "open_tables": "kit.core.sources",
    "FrequencyResult": "kit.metrics.frequency",
    "contact_frequency": "kit.metrics.frequency",
    "poisson_ci": "kit.metrics.frequency",
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
#: Public names that differ from the defining module's own name.
_ATTRIBUTE = {"generate_sample": "generate"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = getattr(module, _ATTRIBUTE.get(name, name))
        globals()[name] = value  # resolved once: later lookups are plain attribute reads
        return value
    raise AttributeError(f"module 'kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [  # every lazy name (tests/test_architecture.py checks), the errors and ledger_of
    "Dataset",
    "FrequencyResult",
    "KitError",
    "KitWarning",
    "Ledger",
    "MetricResult",
    "Result",
    "account_frequency",
    "analyze",
    "anomalies",
    "backtest",
    "churn_effect",
    "cohorts",
    "compare_periods",
    "contact_frequency",
    "contacts_per_order",
    "coverage",
    "csat_effect",
    "customer_features",
    "decompose",
    "decompose_by",
    "forecast",
    "generate_sample",
    "ledger_of",
    "load",
    "open_tables",
    "period_correlation",
    "place",
    "poisson_ci",
    "touchpoint_effect",
]
__version__ = VERSION


def ledger_of(result) -> Ledger:
    """The data-quality ledger of a metric result (``result.ledger``).

    Also reads the ``attrs["ledger"]`` of frames saved by earlier versions of the kit.
    """
    from .core.ledger import Ledger

    ledger = getattr(result, "ledger", None)
    if isinstance(ledger, Ledger):
        return ledger
    return result.attrs["ledger"]
