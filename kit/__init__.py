"""Contact Frequency Kit: Customer Contact Frequency and related KPIs on Ibis (DuckDB by default)."""
from .errors import KitError
from .frequency import contact_frequency, poisson_ci
from .ledger import Ledger
from .sources import load, open_tables

__all__ = ["KitError", "Ledger", "contact_frequency", "load", "open_tables", "poisson_ci", "ledger_of"]
__version__ = "0.1.0"


def ledger_of(result) -> Ledger:
    """The data-quality ledger attached to a result frame (``result.attrs['ledger']``)."""
    return result.attrs["ledger"]
