"""Time-varying segments: ``new_vs_existing`` and ``tenure``, groupings whose value depends on the period.

A customer's static segment (tier, region) is the same in every period; whether the customer is
*new* is not. Both groupings are read at the period start P.start from the customer's signup date:

* ``new_vs_existing``: **new** when ``signup_date > P.start - new_window`` (so a signup during or
  after P, e.g. a pre-sales contact before signup, is new), else **existing**.
* ``tenure``: the band holding ``P.start - signup_date`` in months, with negative tenure (signup
  during or after P) in the first band.

Both are bands of the same kind: a customer moves into band ``i`` in the first period whose start
is on or after ``signup + edge_i``. On the engine, each customer gets one column per edge, the last
period *before* that move (``_b1``, ``_b2``...): ``period_start(signup + edge_i - 1 day)``. A
contact in period P falls in the band of the last edge with ``P > _bi``; the active-customer count
splits each customer's lifetime into one piece per band (see :func:`band_pieces`), so that each
group divides by its own active customers and the groups add up to the total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from ..config import DEFAULT_NEW_WINDOW, DEFAULT_TENURE_BANDS
from ..core import engine, periods
from ..core.types import Window
from ..errors import ParameterError

NEW, EXISTING = "new", "existing"
#: The derived groupings ``by`` accepts besides customer segments and contact attributes.
DERIVED = ("new_vs_existing", "tenure")


@dataclass(frozen=True)
class Bands:
    """One derived grouping: its column name, labels in order and edges (``(unit, n)``, unit days or months).

    Examples
    --------
    >>> bands("tenure").labels
    ('0–3 months', '3–12 months', '1–2 years', '2+ years')
    >>> bands("new_vs_existing", new_window="30D").labels, bands("new_vs_existing", new_window="30D").edges
    (('new', 'existing'), (('days', 30),))
    """

    name: str
    labels: tuple[str, ...]
    edges: tuple[tuple[str, int], ...]

    def boundaries(self, signup: ir.DateValue, unit: str) -> dict[str, ir.DateValue]:
        """``_b1.._bk``: per edge, the customer's last period before they move into the next band."""
        out = {}
        for i, (kind, n) in enumerate(self.edges, start=1):
            if kind == "days":
                last_day = signup + ibis.interval(days=n - 1)
            else:
                last_day = (signup + ibis.interval(months=n)) - ibis.interval(days=1)
            out[f"_b{i}"] = engine.period_start(last_day, unit)
        return out

    def label(self, period: ir.DateValue, t: ir.Table) -> ir.StringValue:
        """The band of a contact in ``period`` (``t`` holds the customer's ``_b*`` columns)."""
        k = len(self.edges)
        return ibis.cases(
            *[(period > t[f"_b{i}"], ibis.literal(self.labels[i])) for i in range(k, 0, -1)],
            else_=ibis.literal(self.labels[0]),
        )

    def order(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def describe(self) -> str:
        """The definition in words, for the result's notes."""
        if self.name == "new_vs_existing":
            days = self.edges[0][1]
            return (
                f"new_vs_existing: a customer is new in a period when they signed up less than {days} days before "
                "its start (or during or after it: contacts before signup count as new), else existing"
            )
        return f"tenure: months from signup to the period start, in bands {', '.join(self.labels)}"


def bands(name: str, *, new_window: Window = DEFAULT_NEW_WINDOW, tenure_bands: Sequence[int] | None = None) -> Bands:
    """The :class:`Bands` of derived grouping ``name`` (``new_vs_existing`` or ``tenure``).

    ``new_window`` is read as a duration; signup dates are whole days, so a fraction of a day
    rounds up (``36h`` is 2 days) and it must be at least one day. ``tenure_bands`` are the band
    edges in months (default ``(3, 12, 24)``), strictly increasing and positive.

    Examples
    --------
    >>> bands("tenure", tenure_bands=[6, 18]).labels
    ('0–6 months', '6–18 months', '18+ months')
    >>> bands("new_vs_existing", new_window="36h").edges
    (('days', 2),)
    """
    if name == "new_vs_existing":
        td = periods.parse_window(new_window)
        days = math.ceil(td / pd.Timedelta(days=1))
        if days < 1:
            raise ParameterError(f"new_window must be at least one day (e.g. '90D'), not {new_window!r}")
        return Bands(name, (NEW, EXISTING), (("days", days),))
    if name == "tenure":
        edges = list(DEFAULT_TENURE_BANDS if tenure_bands is None else tenure_bands)
        if isinstance(tenure_bands, str):
            edges = [e for e in tenure_bands.replace(" ", "").split(",") if e]
        try:
            months = [int(e) for e in edges]
        except (TypeError, ValueError):
            raise ParameterError(
                f"tenure_bands must be band edges in whole months, e.g. [3, 12, 24], not {tenure_bands!r}"
            ) from None
        if not months or months[0] < 1 or any(b <= a for a, b in zip(months, months[1:])):
            raise ParameterError(
                f"tenure_bands must be increasing band edges in months, at least 1, e.g. [3, 12, 24], not {edges}"
            )
        return Bands(name, tenure_labels(months), tuple(("months", m) for m in months))
    raise ParameterError(f"unknown derived grouping {name!r}; use one of {', '.join(DERIVED)}")


def tenure_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Band labels for edges in months: whole years read as years once past the first year.

    Examples
    --------
    >>> tenure_labels([3, 12, 24])
    ('0–3 months', '3–12 months', '1–2 years', '2+ years')
    """
    lows = [0, *edges]
    labels = []
    for lo, hi in zip(lows, [*edges, None]):
        years = lo >= 12 and lo % 12 == 0 and (hi is None or hi % 12 == 0)
        if hi is None:
            labels.append(f"{lo // 12}+ years" if years else f"{lo}+ months")
        else:
            labels.append(f"{lo // 12}–{hi // 12} years" if years else f"{lo}–{hi} months")
    return tuple(labels)


def derived_in(by: Sequence[str]) -> list[str]:
    """The derived groupings named in ``by``; at most one (their pieces would need crossing)."""
    found = [b for b in by if b in DERIVED]
    if len(found) > 1:
        raise ParameterError(
            f"group by one of {', '.join(DERIVED)} at a time (got {', '.join(found)}); "
            "either combines with segments and channel"
        )
    return found


def band_pieces(lookup: ir.Table, spec: Bands, keep: Sequence[str]) -> ir.Table:
    """Each usable customer's lifetime cut into one piece per band it passes through.

    ``lookup`` has ``_sp`` (first active period), ``_cp`` (churn period, NULL while a customer)
    and the ``_b*`` columns of ``spec``. A piece has ``_sp`` and ``_kind``: ``start`` (the first
    band, active from ``_sp``) or ``after`` (active from the period *after* ``_sp``, which is the
    previous band's ``_b``), ``_cp`` its last period (NULL: open) and the band label in
    ``spec.name``. Counting pieces by their first and last period, as the active-customer count
    counts customers, gives each band's active customers; they add up to the customers' count.
    """
    k = len(spec.edges)
    parts = []
    for i in range(k + 1):
        lo = lookup._sp if i == 0 else lookup[f"_b{i}"]
        cp = lookup._cp
        if i < k:
            hi = lookup[f"_b{i + 1}"]
            end = ibis.cases((cp.isnull() | (hi < cp), hi), else_=cp)
        else:
            end = cp
        exists = (lo <= end) if i == 0 else (end.isnull() | (lo < end))
        parts.append(
            lookup.filter(exists).select(
                *keep,
                _sp=lo,
                _cp=end,
                _kind=ibis.literal("start" if i == 0 else "after"),
                **{spec.name: ibis.literal(spec.labels[i])},
            )
        )
    return ibis.union(*parts, distinct=False)


def sort_key(spec: Bands | None) -> Callable[[pd.Series], pd.Series]:
    """A ``sort_values`` key that puts ``spec``'s labels in band order (other columns as they are)."""
    order = spec.order() if spec is not None else {}

    def key(col: pd.Series) -> pd.Series:
        if spec is not None and col.name == spec.name:
            return col.map(order).fillna(len(order))
        return col

    return key


def run_pieces(runs: ir.Table, spec: Bands) -> ir.Table:
    """Without a customers table: each run of active periods (``_lo`` to ``_hi``, from the contacts'
    lookback windows) cut into one piece per band, as :func:`band_pieces` cuts a lifetime.

    ``runs`` holds the customer's ``_b*`` columns (from the first contact, the signup there). A band
    after the first starts in the period after its ``_b`` (``_kind`` "after") unless the run starts
    later, then with the run (``_kind`` "start").
    """
    k = len(spec.edges)
    parts = []
    lo, hi = runs._lo, runs._hi
    for i in range(k + 1):
        end = hi if i == k else ibis.ifelse(runs[f"_b{i + 1}"] < hi, runs[f"_b{i + 1}"], hi)
        if i == 0:
            start, kind, exists = lo, ibis.literal("start"), lo <= end
        else:
            b = runs[f"_b{i}"]
            later = lo > b
            start = ibis.ifelse(later, lo, b)
            kind = ibis.ifelse(later, ibis.literal("start"), ibis.literal("after"))
            exists = ibis.ifelse(later, lo <= end, b < end)
        parts.append(
            runs.filter(exists).select(_sp=start, _kind=kind, _cp=end, **{spec.name: ibis.literal(spec.labels[i])})
        )
    return ibis.union(*parts, distinct=False)
