"""The data as it was known at the end of a day: every table cut at ``as_of``, in one place.

A report for a past period must not change as later data arrives, so everything it computes
reads the tables through :func:`known_by` (see :meth:`kit.report.context.ReportContext.dataset`):

* contacts, surveys, orders and events dated after the ``as_of`` day are left out;
* customers who signed up after it, and stakeholders who started after it, are left out;
* a churn date (customers) or end date (stakeholders) after it is not known yet: it becomes NULL.

Days are calendar days in the business time zone (the session's). A row whose date is missing
or unparseable is kept: it is counted under its own reason downstream, as it would be in a copy
of the data exported on the ``as_of`` day. The cut is a filter on the engine, so nothing is read
into memory here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, overload

import ibis

from . import engine, periods
from .dataset import Dataset
from .sources import Source, Tables

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from .types import DateLike

#: Per table: the columns whose later dates drop the row, and those whose later dates become NULL.
DROP_AFTER: dict[str, tuple[str, ...]] = {
    "contacts": ("created_at",),
    "customers": ("signup_date",),
    "surveys": ("responded_at",),
    "orders": ("ordered_at",),
    "stakeholders": ("start_date",),
    "events": ("date",),
}
UNKNOWN_AFTER: dict[str, tuple[str, ...]] = {
    "customers": ("churn_date",),
    "stakeholders": ("end_date",),
}


def as_of_day(as_of: DateLike) -> pd.Timestamp:
    """``as_of`` as a midnight timestamp (the day it names); a period label means its last day.

    Examples
    --------
    >>> as_of_day("2025-12-31 17:00"), as_of_day("2025-12-31")
    (Timestamp('2025-12-31 00:00:00'), Timestamp('2025-12-31 00:00:00'))
    """
    return periods.parse_date(as_of).normalize()


def _after(col: ir.Value, day: pd.Timestamp) -> ir.BooleanValue:
    """The column's local day is after ``day``; missing and unparseable dates are not."""
    return (engine.local_date(col) > day.date()).fill_null(False)


def cut_source(src: Source, as_of: DateLike, *, tz: str | None = None) -> Source:
    """One loaded table as known at the end of the ``as_of`` day (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> from kit.core.sources import open_tables
    >>> t = open_tables(customers=pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...     "signup_date": ["2025-01-01", "2025-03-01", "not a date"],
    ...     "churn_date": ["2025-03-10", "2025-04-01", "2025-02-01"]}), tz="UTC")
    >>> cut = cut_source(t["customers"], "2025-02-28")  # b signed up later; a's churn is not known yet
    >>> t.con.execute(cut.table).fillna("NULL").to_dict("list")
    {'customer_id': ['a', 'c'], 'signup_date': ['2025-01-01', 'not a date'], 'churn_date': ['NULL', '2025-02-01']}
    """
    day = as_of_day(as_of)
    if src.known_by is not None and src.known_by[1] == tz and src.known_by[0] <= day:
        return src  # cut already, at this day or before, in the same time zone: nothing to drop
    t = src.table
    drop = [c for c in DROP_AFTER.get(src.name, ()) if c in t.columns]
    unknown = [c for c in UNKNOWN_AFTER.get(src.name, ()) if c in t.columns]
    if not drop and not unknown:
        return src
    if drop:
        t = t.filter(*[~_after(t[c], day) for c in drop])
    if unknown:
        # a later end is not known yet on the as-of day: the row stays, its date does not
        t = t.mutate(**{c: ibis.ifelse(_after(t[c], day), ibis.null(t[c].type()), t[c]) for c in unknown})
    # the same source (label, detected formats), fewer rows
    return dataclasses.replace(src, table=t, known_by=(day, tz))


@overload
def known_by(data: Dataset, as_of: DateLike) -> Dataset: ...
@overload
def known_by(data: Tables, as_of: DateLike) -> Tables: ...
def known_by(data: Dataset | Tables, as_of: DateLike) -> Dataset | Tables:
    """Every table of ``data`` cut at the end of the ``as_of`` day; ``as_of=None`` returns ``data`` as is.

    Parameters
    ----------
    data : Dataset or Tables
        Loaded tables (``kit.load(...)`` or :func:`kit.core.sources.open_tables`).
    as_of : date-like or None
        The last day whose data is known, in the business time zone.

    Examples
    --------
    >>> import kit
    >>> ds = kit.load("data/examples")
    >>> cut = known_by(ds, "2026-01-31")
    >>> ds.con.execute(cut.contacts.table.count()) < ds.con.execute(ds.contacts.table.count())
    True
    >>> known_by(ds, None) is ds
    True
    """
    if as_of is None:
        return data
    tables = data.tables if isinstance(data, Dataset) else data
    tz = engine.session_tz(tables.con)
    cut = Tables(tables.con, {name: cut_source(src, as_of, tz=tz) for name, src in tables.sources.items()})
    if isinstance(data, Dataset):
        return Dataset(cut, tz=data.tz, mapping=data.mapping)
    return cut
