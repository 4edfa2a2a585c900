"""Contact Frequency Kit: Customer Contact Frequency and related KPIs on Ibis (DuckDB by default).

The public API, re-exported from the layers (``kit.core`` -> ``kit.present`` -> ``kit.metrics`` ->
``kit.analysis`` -> ``kit.report``; imports run in that direction only).
"""

from __future__ import annotations

from .config import VERSION
from .core.dataset import Dataset, load
from .core.ledger import Ledger
from .core.results import MetricResult, Result
from .core.sources import open_tables
from .errors import KitError, KitWarning
from .metrics.frequency import FrequencyResult, contact_frequency, poisson_ci

__all__ = [
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
