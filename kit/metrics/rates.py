"""Contact rate by segment: support contacts per order (e-commerce).

The denominator is **orders** (never shipments): a customer can contact support
about an order that has not shipped, and one shipment can hold several orders.
Only customers who placed at least one order (the ordering segment) contribute
contacts. Gross (every contact) and net (contacts less follow-ups within the
dedup window, i.e. cases) are reported side by side.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from ..config import DEFAULT_DEDUP_WINDOW, DEFAULT_FREQ
from ..core import engine, periods
from ..core.dataset import accepts_dataset
from ..core.ledger import SCOPE_PREFIX, Ledger
from ..core.prepare import (
    AFTER_AS_OF,
    REASON,
    _first_reason,
    after_as_of,
    classify_contacts,
    classify_customers,
    count_reasons,
    customer_lookup,
    example_metrics,
    record_ledger,
)
from ..core.results import MetricResult
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, Grouping, MappingSpec, TableSource, Window
from ..errors import KitWarning, ParameterError
from ..present.narrative import num

if TYPE_CHECKING:
    from matplotlib.axes import Axes
from .frequency import poisson_ci

__all__ = ["contacts_per_order", "OrderRates"]
OUT_OF_RANGE = f"{SCOPE_PREFIX}outside the requested periods"

COLUMNS = [
    "orders",
    "contacts",
    "follow_ups",
    "cases",
    "contacts_per_order_pct",
    "net_contacts_per_order_pct",
    "contacts_per_order_ci_low",
    "contacts_per_order_ci_high",
    "orders_with_contact",
    "orders_with_contact_pct",
    "follow_up_window_complete",
    "complete",
]


@dataclass(frozen=True, repr=False)
class OrderRates(MetricResult):
    """Contacts per 100 orders per period and segment (see :func:`contacts_per_order`).

    ``.frame`` is the period x segment table, ``.params`` holds ``freq, by, within_days,
    denominator, dedup_window, topics, direction``; ``.total()`` sums the whole range,
    ``.plot(period=, ax=)`` draws one period, ``.describe()`` says the totals in words.
    """

    def total(self) -> dict:
        """Whole-range totals: orders, contacts, cases and the gross, net and followed-by-contact rates.

        Examples
        --------
        >>> df = pd.DataFrame({"orders": [100, 0], "contacts": [10, 3], "cases": [8, 3],
        ...                    "orders_with_contact": [7, 0]})
        >>> OrderRates(df).total()["contacts_per_order_pct"]
        13.0
        """
        df = self.frame
        orders = int(df["orders"].sum())
        contacts, cases = int(df["contacts"].sum()), int(df["cases"].sum())
        rate = lambda x: 100.0 * x / orders if orders else np.nan
        return {
            "orders": orders,
            "contacts": contacts,
            "cases": cases,
            "contacts_per_order_pct": rate(contacts),
            "net_contacts_per_order_pct": rate(cases),
            "orders_with_contact_pct": rate(int(df["orders_with_contact"].sum())),
        }

    def describe(self) -> str:
        """The whole-range rates in one sentence."""
        if self.frame.empty:
            return "No orders and no counted contacts remain after exclusions (see .ledger)."
        t = self.total()
        grain = self.params.get("freq", "month")
        labels = sorted({periods.label(p, grain) for p in self.frame["period"]})
        span = labels[0] if len(labels) == 1 else f"{labels[0]} to {labels[-1]}"
        if not t["orders"]:
            return f"No orders in {span}, so contacts per order is undefined."
        return (
            f"{t['orders']:,} orders and {t['contacts']:,} contacts in {span}: "
            f"{num(t['contacts_per_order_pct'], 1)} contacts per 100 orders, "
            f"{num(t['net_contacts_per_order_pct'], 1)} net of follow-ups; "
            f"{num(t['orders_with_contact_pct'], 1)}% of orders were followed by a contact within "
            f"{self.params.get('within_days', 7)} days."
        )

    def plot(self, *, period: DateLike = None, ax: Axes | None = None) -> Axes:
        """Gross and net contacts per 100 orders by segment for one period (default: the last complete one).

        Returns the matplotlib Axes.
        """
        from ..present.plots import legend_outside, new_axes

        df, by, grain = self.frame, self.by, self.params.get("freq", "month")
        if df.empty:
            raise ParameterError("nothing to plot: the contacts-per-order table is empty")
        if period is None:
            done = df[df["follow_up_window_complete"]] if df["follow_up_window_complete"].any() else df
            period = done["period"].max()
        p = periods.truncate(period, grain)
        rows = df[df["period"] == p]
        if rows.empty:
            raise ParameterError(f"period {periods.label(p, grain)} is not in the table; pass one of its periods")
        labels = rows[by].astype(str).agg(" / ".join, axis=1) if by else pd.Series(["all"], index=rows.index)
        _, ax = new_axes(ax, figsize=(8, max(2.5, 0.4 * len(rows) + 1.2)))
        y = np.arange(len(rows))
        ax.barh(y - 0.2, rows["contacts_per_order_pct"], height=0.4, label="gross (contacts)", color="#0072b2")
        ax.barh(
            y + 0.2, rows["net_contacts_per_order_pct"], height=0.4, label="net of follow-ups (cases)", color="#56b4e9"
        )
        ax.errorbar(
            rows["contacts_per_order_pct"],
            y - 0.2,
            xerr=[
                rows["contacts_per_order_pct"] - rows["contacts_per_order_ci_low"],
                rows["contacts_per_order_ci_high"] - rows["contacts_per_order_pct"],
            ],
            fmt="none",
            ecolor="#333333",
            capsize=3,
            linewidth=1,
        )
        ax.set_yticks(y, labels)
        ax.set_xlabel("contacts per 100 orders")
        ax.set_title(f"Contacts per order, {periods.label(p, grain)}")
        legend_outside(ax)
        return ax


def _classify_orders(src, lookup, known_only: bool):
    t = src.table
    t = t.mutate(
        _oid=engine.blank_to_null(engine.as_key(t.order_id)),
        _ocust=engine.blank_to_null(engine.as_key(t.customer_id)),
        _oinstant=engine.parse_instant(t.ordered_at),
    )
    t = t.left_join(lookup, t._ocust == lookup._cid)
    pre = _first_reason(
        (t._oid.isnull(), "missing order_id"),
        (t._ocust.isnull(), "missing customer_id"),
        (
            engine.blank_to_null(t.ordered_at).isnull() if t.ordered_at.type().is_string() else t.ordered_at.isnull(),
            "missing ordered_at",
        ),
        (t._oinstant.isnull(), "unparseable ordered_at"),
        *([(t._cid.isnull(), "unknown customer"), (~t._cust_ok, "customer excluded")] if known_only else []),
    )
    t = t.mutate(_pre=pre)
    rank = ibis.row_number().over(group_by=t._oid, order_by=[t._pre.isnull().desc(), t._oinstant])
    t = t.mutate(_orank=rank)
    reason = ibis.cases(
        (t._pre.notnull(), t._pre), (t._orank > 0, ibis.literal("duplicate order_id")), else_=ibis.null(dt.string)
    )
    return t.mutate(**{REASON: reason}, _olocal=engine.local_time(t._oinstant))


def _materialise(con, expr):
    try:
        return con.create_table(ibis.util.gen_name("kit_rates"), expr, temp=True)
    except Exception:  # noqa: BLE001 - a backend without temp tables: recompute instead
        return expr


@accepts_dataset
def contacts_per_order(
    contacts: TableSource,
    orders: TableSource,
    customers: TableSource = None,
    *,
    by: Grouping = None,
    freq: str = DEFAULT_FREQ,
    within_days: int = 7,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    direction: str = "inbound",
    topics: Sequence[str] | None = None,
    start: DateLike = None,
    end: DateLike = None,
    as_of: DateLike = None,
    tz: str | None = None,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> OrderRates:
    """Support contacts per 100 orders, gross and net of follow-ups, per period and segment.

    Parameters
    ----------
    contacts, orders, customers
        Any source accepted by :func:`kit.core.sources.open_tables`, or a
        :class:`kit.core.dataset.Dataset` as the first argument. ``customers`` is
        needed for ``by`` and validates customer ids; without it every id is accepted.
    by : str or list of str, optional
        Customer segment columns (e.g. ``region``, ``tier``).
    freq : str
        Period grain. Contacts count in the period they were made, orders in the
        period they were placed.
    within_days : int
        ``orders_with_contact``: orders followed by a counted contact of the same
        customer within this many days (elapsed, after the order time).
    dedup_window : str
        Follow-ups (a contact less than this after the customer's previous counted
        contact) are removed for the net figure (reuses :func:`kit.core.prepare.classify_contacts`).
    direction : {"inbound", "outbound", "all"}
    topics : list of str, optional
        Count only contacts with these topics (e.g. ``["order issue"]``); follow-ups
        are then detected within the same topic.
    start, end : date-like, optional
        First and last period.
    as_of : date-like, optional
        Compute as of the end of this day (business time zone): contacts and orders dated
        later are not counted (reason ``"out of scope: after as_of"`` in the ledger), and the
        follow-up window of ``orders_with_contact`` ends there.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    mapping, con
        As in :func:`kit.contact_frequency`.

    Returns
    -------
    OrderRates
        ``.frame`` has ``period, [by...], orders, contacts, follow_ups, cases,
        contacts_per_order_pct`` (gross, contacts / orders x 100),
        ``net_contacts_per_order_pct`` (cases / orders x 100), its exact Poisson
        interval ``contacts_per_order_ci_low/high``, ``orders_with_contact``,
        ``orders_with_contact_pct`` and ``follow_up_window_complete`` (False when
        orders of the period had less than ``within_days`` of data after them) and
        ``complete`` (the period lies wholly inside the data's coverage: the days that both
        the counted contacts and the counted orders span, up to ``as_of`` when given; see
        :func:`kit.contact_frequency`).
        Rows without orders have NaN rates and a note in ``.notes``; ``.ledger``
        has the data-quality ledger, ``.params`` the options; ``.total()`` sums the
        whole range and ``.plot()`` draws one period.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": [1, 2, 3, 4], "customer_id": ["a", "a", "b", "b"],
    ...     "ordered_at": ["2026-03-01 10:00", "2026-03-10 10:00", "2026-03-02 09:00", "2026-03-20 09:00"]})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2], "customer_id": ["a", "a"],
    ...     "created_at": ["2026-03-03 10:00", "2026-03-03 12:00"], "channel": "email"})
    >>> res = contacts_per_order(contacts, orders)
    >>> res.frame[["orders", "contacts", "cases", "contacts_per_order_pct", "net_contacts_per_order_pct",
    ...     "orders_with_contact"]].to_dict("records")
    [{'orders': 4, 'contacts': 2, 'cases': 1, 'contacts_per_order_pct': 50.0, 'net_contacts_per_order_pct':
    25.0, 'orders_with_contact': 1}]
    >>> res.describe()
    '4 orders and 2 contacts in 2026-03: 50.0 contacts per 100 orders, 25.0 net of follow-ups; 25.0% of
    orders were followed by a contact within 7 days.'
    """
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    within = _check_options(direction, within_days)
    window = periods.parse_window(dedup_window)
    tables = open_tables(contacts=contacts, orders=orders, customers=customers, mapping=mapping, con=con, tz=tz)
    con = tables.con
    csrc, osrc, usrc = tables["contacts"], tables["orders"], tables.get("customers")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))
    topics, notes = _check_columns(csrc, usrc, by, topics, direction)
    params = {
        "freq": grain,
        "by": by,
        "within_days": within,
        "denominator": "orders",
        "dedup_window": str(dedup_window),
        "topics": topics,
        "direction": direction,
        "as_of": None if as_of is None else periods.parse_date(as_of).strftime("%Y-%m-%d"),
    }
    ledger = Ledger()
    lookup = _lookup(con, ledger, csrc, osrc, usrc, by)
    first = periods.truncate(start, grain) if start is not None else None
    last = periods.truncate(end, grain) if end is not None else None
    in_range = _range_test(first, last)

    o = _classify_orders(osrc, lookup, known_only=usrc is not None)
    o_period = engine.period_start(o._olocal, unit)
    late = [] if as_of is None else [(after_as_of(o.ordered_at, o._oinstant, as_of), ibis.literal(AFTER_AS_OF))]
    o = o.mutate(
        period=o_period,
        **{
            REASON: ibis.cases(
                *late,
                (o[REASON].notnull(), o[REASON]),
                (~in_range(o_period), ibis.literal(OUT_OF_RANGE)),
                else_=ibis.null(dt.string),
            )
        },
    )
    used_orders = o.filter(o[REASON].isnull())
    c = _scoped_contacts(
        csrc,
        lookup,
        used_orders,
        unit,
        in_range,
        direction=direction,
        dedup_seconds=window.total_seconds(),
        topics=topics,
        as_of=as_of,
    )

    cagg = engine.fetch(
        con,
        c.group_by([REASON, "period", *by]).aggregate(
            n=c.count(),
            follow_ups=c.follow_up.cast("int64").sum(),
            _t_lo=c.local_ts.min(),
            _t_hi=c.local_ts.max(),
            **example_metrics(c, "contacts"),
        ),
    )
    record_ledger(ledger, csrc, cagg)
    oagg = engine.fetch(
        con, o.group_by([REASON, "period", *by]).aggregate(n=o.count(), _t_lo=o._olocal.min(), _t_hi=o._olocal.max())
    )
    record_ledger(ledger, osrc, oagg)
    coverage = _coverage(cagg, oagg, as_of)
    hit, data_end = _followed_by_contact(con, csrc, c, used_orders, by, within)
    if as_of is not None:  # the follow-up window ends with the as-of day
        cutoff = periods.parse_date(as_of).normalize() + pd.Timedelta(days=1)
        data_end = cutoff if data_end is None or pd.isna(data_end) else min(pd.Timestamp(data_end), cutoff)

    cagg = cagg[cagg[REASON].isna()].rename(columns={"n": "contacts"})[["period", *by, "contacts", "follow_ups"]]
    oagg = oagg[oagg[REASON].isna()].rename(columns={"n": "orders"})[["period", *by, "orders"]]
    for frame in (cagg, oagg, hit):
        frame["period"] = pd.to_datetime(frame["period"])
    if cagg.empty and oagg.empty and (first is None or last is None):
        notes.append("no orders and no counted contacts remain after exclusions; see the ledger")
        return OrderRates(
            frame=pd.DataFrame(columns=["period", *by, *COLUMNS]), ledger=ledger, notes=tuple(notes), params=params
        )
    lo = first if first is not None else min(pd.concat([cagg["period"], oagg["period"]]))
    hi = last if last is not None else max(pd.concat([cagg["period"], oagg["period"]]))
    # Segments of every ordering customer, whatever the period, so a segment without orders
    # in a period shows as a NaN row rather than disappearing.
    seg = (
        engine.fetch(con, o.filter(o[REASON].isnull() | (o[REASON] == OUT_OF_RANGE)).select(*by).distinct())
        if by
        else None
    )
    out = _rate_table(periods.spine(lo, hi, grain), by, cagg, oagg, hit, seg, data_end, grain, within)
    out["complete"] = periods.complete(out["period"], grain, *coverage)
    for note in _table_notes(out, by, grain, within):
        notes.append(note)
        if "no orders" in note:
            warnings.warn(note, KitWarning, stacklevel=3)
    return OrderRates(frame=out, ledger=ledger, notes=tuple(notes), params=params)


def _coverage(cagg: pd.DataFrame, oagg: pd.DataFrame, as_of) -> tuple:
    """The data's coverage, first and last day: the days both the counted contacts and the counted
    orders span (each counting rows outside ``start``/``end`` too), ending on ``as_of`` when given.
    ``(None, None)`` when either has none."""
    spans = []
    for agg in (cagg, oagg):
        used = agg[agg[REASON].isna() | (agg[REASON] == OUT_OF_RANGE)]
        lo, hi = pd.to_datetime(used["_t_lo"]).min(), pd.to_datetime(used["_t_hi"]).max()
        if pd.isna(lo):
            return None, None
        spans.append((pd.Timestamp(lo).normalize(), pd.Timestamp(hi).normalize()))
    last = periods.parse_date(as_of).normalize() if as_of is not None else min(hi for _, hi in spans)
    return max(lo for lo, _ in spans), last


def _check_options(direction, within_days) -> int:
    if direction not in ("inbound", "outbound", "all"):
        raise ParameterError(f"direction must be inbound, outbound or all, not {direction!r}")
    try:
        within = int(within_days)
    except (TypeError, ValueError):
        raise ParameterError(f"within_days must be a whole number of days, not {within_days!r}") from None
    if within < 1:
        raise ParameterError(f"within_days must be at least 1, not {within_days!r}")
    return within


def _check_columns(csrc, usrc, by, topics, direction):
    """Validate ``by`` and ``topics`` against the tables; return ``(topics as a list, notes)``."""
    notes: list[str] = []
    if by and usrc is None:
        raise ParameterError(f"by={by!r} needs the customers table (pass customers=...) for the segment columns")
    if usrc is not None:
        bad = [b for b in by if b not in usrc.columns]
        if bad:
            raise ParameterError(
                f"cannot group by {', '.join(bad)}: not a customers column ({', '.join(usrc.columns)})"
            )
    if topics is not None:
        topics = [topics] if isinstance(topics, str) else [str(t) for t in topics]
        if "topic" not in csrc.columns:
            raise ParameterError(f"topics= needs a topic column in the contacts table ({csrc.label})")
    if direction != "all" and "direction" not in csrc.columns:
        notes.append(f"contacts have no direction column, so every contact is counted as {direction}")
    return topics, notes


def _lookup(con, ledger, csrc, osrc, usrc, by):
    """Customer lookup: classified customers, or every id of contacts and orders when there is no table."""
    if usrc is not None:
        cust = classify_customers(usrc)
        count_reasons(con, ledger, usrc, cust)
        return customer_lookup(cust, by)
    ids = csrc.table.select(_cid=engine.blank_to_null(engine.as_key(csrc.table.customer_id)))
    oids = osrc.table.select(_cid=engine.blank_to_null(engine.as_key(osrc.table.customer_id)))
    return (
        ids.union(oids)
        .distinct()
        .filter(lambda t: t._cid.notnull())
        .mutate(_cust_ok=ibis.literal(True), _signup=ibis.null(dt.date), _churn=ibis.null(dt.date))
    )


def _range_test(first, last):
    return functools.partial(engine.in_periods, first=first, last=last)


def _scoped_contacts(csrc, lookup, used_orders, unit, in_range, *, direction, dedup_seconds, topics, as_of=None):
    """Classified contacts with period and reason: only ordering customers, topics and periods in scope."""
    ordering = used_orders.select(_ocid=used_orders._ocust).distinct()
    c = classify_contacts(
        csrc, lookup, direction=direction, dedup_seconds=dedup_seconds, same_topic=topics is not None, as_of=as_of
    )
    c = c.left_join(ordering, c._cust == ordering._ocid)
    c_period = engine.period_start(c.local_ts, unit)
    scope = [(c._ocid.isnull(), ibis.literal(f"{SCOPE_PREFIX}customer placed no order"))]
    if topics is not None:
        scope.insert(0, (~c.topic.isin(topics), ibis.literal(f"{SCOPE_PREFIX}topic not in {', '.join(topics)}")))
    return c.mutate(
        period=c_period,
        **{
            REASON: ibis.cases(
                (c[REASON].notnull(), c[REASON]),
                *scope,
                (~in_range(c_period), ibis.literal(OUT_OF_RANGE)),
                else_=ibis.null(dt.string),
            )
        },
    )


def _followed_by_contact(con, csrc, c, used_orders, by, within):
    """Orders followed by a counted contact of the same customer within N days (range join on the engine)."""
    used_c = _materialise(con, c.filter(c[REASON].isnull()).select(_ccust=c._cust, _cinstant=c.instant))
    uo = used_orders.select("_oid", "_ocust", "_oinstant", "period", *by)
    horizon = within * 86400
    j = uo.join(
        used_c,
        [
            uo._ocust == used_c._ccust,
            used_c._cinstant > uo._oinstant,
            engine.elapsed_seconds(used_c._cinstant, uo._oinstant) <= horizon,
        ],
    )
    hit = engine.fetch(con, j.group_by(["period", *by]).aggregate(orders_with_contact=j._oid.nunique()))
    data_end = engine.fetch(
        con, csrc.table.aggregate(m=engine.local_time(engine.parse_instant(csrc.table.created_at)).max())
    )["m"].iloc[0]
    return hit, data_end


def _rate_table(spine, by, cagg, oagg, hit, seg, data_end, grain, within) -> pd.DataFrame:
    """Period x segment grid with counts, gross/net rates, the Poisson interval and the follow-up share."""
    levels = [spine] + [sorted(pd.concat([cagg[b], oagg[b], seg[b]]).dropna().unique().tolist(), key=str) for b in by]
    grid = pd.MultiIndex.from_product(levels, names=["period", *by]).to_frame(index=False)
    out = (
        grid.merge(oagg, on=["period", *by], how="left")
        .merge(cagg, on=["period", *by], how="left")
        .merge(hit, on=["period", *by], how="left")
    )
    for col in ("orders", "contacts", "follow_ups", "orders_with_contact"):
        out[col] = out[col].fillna(0).astype("int64")
    out["cases"] = out["contacts"] - out["follow_ups"]
    orders_f = out["orders"].astype(float).where(out["orders"] > 0)
    out["contacts_per_order_pct"] = 100 * out["contacts"] / orders_f
    out["net_contacts_per_order_pct"] = 100 * out["cases"] / orders_f
    lo_ci, hi_ci = poisson_ci(out["contacts"], out["orders"])
    out["contacts_per_order_ci_low"], out["contacts_per_order_ci_high"] = 100 * lo_ci, 100 * hi_ci
    out["orders_with_contact_pct"] = 100 * out["orders_with_contact"] / orders_f
    data_end = pd.Timestamp(data_end) if data_end is not None and pd.notna(data_end) else None
    ends = out["period"].map(lambda p: periods.period_end(p, grain))
    out["follow_up_window_complete"] = (ends + pd.Timedelta(days=within) <= data_end) if data_end is not None else False
    out["complete"] = False  # set by the caller, which knows the data's coverage
    return out[["period", *by, *COLUMNS]].sort_values(["period", *by], kind="stable").reset_index(drop=True)


def _table_notes(out, by, grain, within) -> list[str]:
    """Notes on rows without orders (NaN rates) and periods whose follow-up window is cut off."""
    notes = []
    empty = out[out["orders"] == 0]
    if len(empty):
        groups = (
            empty[["period", *by]]
            .assign(period=empty["period"].map(lambda p: periods.label(p, grain)))
            .astype(str)
            .agg("/".join, axis=1)
            .tolist()
        )
        notes.append(
            f"{len(empty)} period-group row(s) have no orders, so contacts per order is NaN "
            f"(e.g. {', '.join(groups[:3])})"
        )
    incomplete = out.loc[~out["follow_up_window_complete"], "period"].drop_duplicates()
    if len(incomplete):
        notes.append(
            f"orders in {', '.join(periods.label(p, grain) for p in incomplete[-3:])} have less than "
            f"{within} days of data after them, so orders_with_contact_pct is a lower bound there"
        )
    return notes
