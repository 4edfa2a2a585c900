"""What a report's denominator is: a customers table, or customers derived from the contacts (a proxy).

Without a customers table every page says so once, with the lookback (:func:`page_note`), and
``summary.json`` records the kind and the lookback (:func:`denominator`); sections that need
customer data (segments, signup dates, churn dates, strategic flags, stakeholders) say in one
line why they are missing (:func:`needs_customers`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import DEFAULT_ACTIVE_LOOKBACK
from ..metrics.frequency import proxy_note

if TYPE_CHECKING:
    from ..core.dataset import Dataset
    from ..core.types import Window

#: ``summary.json``'s ``denominator.kind``.
TABLE = "customers table"
PROXY = "derived from contacts"


def has_customers(ds: Dataset) -> bool:
    """True when the data has a customers table (the denominator is then real, not a proxy)."""
    return ds.customers is not None


def lookback(ds: Dataset, active_lookback: Window | None) -> Window | None:
    """``active_lookback`` for :func:`kit.contact_frequency` on ``ds``: None with a customers table (it is unused).

    Examples
    --------
    >>> from kit.core.dataset import load
    >>> lookback(load("data/examples"), "90D") is None
    True
    """
    return None if has_customers(ds) else active_lookback


def denominator(ds: Dataset, *, active_lookback: Window | None = None) -> dict:
    """The denominator's kind and lookback for ``summary.json``.

    Examples
    --------
    >>> from kit.core.dataset import load
    >>> denominator(load({"contacts": "data/examples/contacts.csv"}), active_lookback="90D")["kind"]
    'derived from contacts'
    >>> denominator(load("data/examples"))
    {'kind': 'customers table', 'active_lookback': None, 'note': None}
    """
    if has_customers(ds):
        return {"kind": TABLE, "active_lookback": None, "note": None}
    lookback = str(active_lookback or DEFAULT_ACTIVE_LOOKBACK)
    return {"kind": PROXY, "active_lookback": lookback, "note": page_note(ds, active_lookback=lookback)}


def page_note(ds: Dataset, *, active_lookback: Window | None = None) -> str | None:
    """The proxy sentence every report page shows without a customers table (None with one).

    Examples
    --------
    >>> from kit.core.dataset import load
    >>> page_note(load({"contacts": "data/examples/contacts.csv"}), active_lookback="90D")[:48]
    'Denominator: no customers table: customers are d'
    >>> page_note(load("data/examples")) is None
    True
    """
    if has_customers(ds):
        return None
    return f"Denominator: {proxy_note(active_lookback)}."


def needs_customers(what: str, needed: str = "a customers table") -> str:
    """One plain line for a section that cannot run without customer data.

    Examples
    --------
    >>> needs_customers("signup cohorts", "a customers table with signup dates")
    'No signup cohorts without a customers table with signup dates: this data has only contacts.'
    """
    return f"No {what} without {needed}: this data has only contacts."
