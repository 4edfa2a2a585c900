"""Validated canonical tables: typed columns, one exclusion reason per bad row, ledger counts.

Every row of an input keeps exactly one ``_reason`` (NULL when the row is used),
so counting by reason always balances against the rows read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from ..errors import ParameterError
from . import engine, periods, templates
from .ledger import SCOPE_PREFIX, Ledger
from .sources import BoundedCache, Source, Tables, open_tables

if TYPE_CHECKING:
    from .dataset import TableSource
    from .types import DateLike, MappingSpec

MISSING_SEGMENT = "(missing)"
REASON = "_reason"
#: Rows dated after the ``as_of`` day: not read by a metric computed as of that day.
AFTER_AS_OF = f"{SCOPE_PREFIX}after as_of"
EXAMPLES_PER_REASON = 3
#: Contact times outside the plausible range (see :func:`kit.core.engine.plausible_range`).
IMPLAUSIBLE = "implausible created_at"


@dataclass
class Start:
    """What every contacts-and-customers metric starts from: bound tables, validated customers, a ledger."""

    tables: Tables
    customers: ir.Table | None  # classify_customers() output, every row with its _reason; None: no customers table
    ledger: Ledger
    notes: list[str] = field(default_factory=list)
    padded: frozenset[str] = frozenset()  # customers' text columns that need trimming (engine.padded_columns)
    key: dt.DataType | None = None  # the type customer ids are compared in (engine.key_type); None: text
    cached: bool = False  # customers is a materialised table (cached_customers): every use reads it

    @property
    def con(self) -> BaseBackend:
        """The engine connection both tables live on."""
        return self.tables.con


def start(
    contacts: TableSource,
    customers: TableSource | None,
    *,
    tz: str,
    direction: str = "all",
    counted_as: str | None = None,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
    count_customers: bool = True,
    padded: frozenset[str] | None = None,
    unique_ids: bool = False,
    timestamp_format: Any = None,
    typed_keys: bool = False,
    cache: bool = False,
) -> Start:
    """Open both tables on one backend, set its time zone, validate customers into a new ledger.

    ``direction`` is checked here; when the contacts have no direction column, a note says
    every contact is counted as ``counted_as`` (default: the direction itself).
    ``count_customers=False`` leaves the customers' ledger entry to the caller, which can then
    fold the counts into a query of its own (see :func:`kit.metrics.frequency.contact_frequency`).
    ``customers=None``: contacts only; ``Start.customers`` is None and the caller derives the customers.
    ``padded``: the customers' text columns to trim, when the caller knows or assumes them
    (None: :func:`kit.core.engine.padded_columns` looks, with one scan). ``unique_ids``: see
    :func:`classify_customers`. ``timestamp_format``: see :func:`kit.core.sources.open_tables`.
    ``typed_keys``: compare customer ids in their stored type when both tables share it
    (``Start.key``, :func:`kit.core.engine.key_type`); the caller then passes ``key`` on to the contacts' tests.
    ``cache``: on DuckDB, take the contacts and the classified customers from :func:`prepared_contacts`
    and :func:`cached_customers` (what the data alone determines, computed once per source).
    """
    if direction not in ("inbound", "outbound", "all"):
        raise ParameterError(f"direction must be inbound, outbound or all, not {direction!r}")
    tables = open_tables(
        contacts=contacts, customers=customers, mapping=mapping, con=con, timestamp_format=timestamp_format
    )
    engine.set_session_tz(tables.con, tz)
    notes = []
    if direction != "all" and "direction" not in tables["contacts"].columns:
        notes.append(f"contacts have no direction column, so every contact is counted as {counted_as or direction}")
    ledger = Ledger()
    if cache and "contacts" in tables:
        sources = dict(tables.sources, contacts=prepared_contacts(tables["contacts"], tables.con, tz=tz))
        tables = Tables(tables.con, sources)
    ids = [tables[n].table.customer_id for n in ("contacts", "customers") if n in tables]
    key = engine.key_type(*ids) if typed_keys else None
    if "customers" not in tables:  # contacts only: the caller derives the customers from the contacts
        return Start(tables, None, ledger, notes, frozenset(), key)
    if padded is None:
        padded = engine.padded_columns(tables["customers"].table)
    cust = classify_customers(tables["customers"], padded=padded, unique_ids=unique_ids, key=key)
    cached = False
    if cache:
        uncached = cust
        cust = cached_customers(tables["customers"], cust, tables.con, (tz, padded, unique_ids, str(key)))
        cached = cust is not uncached
    if count_customers:
        count_reasons(tables.con, ledger, tables["customers"], cust)
    return Start(tables, cust, ledger, notes, padded, key, cached)


#: Tables the data alone determines, materialised once per source on DuckDB (see :func:`prepared_contacts`).
PREPARED = BoundedCache(8)
#: Sources up to this many rows are prepared at their first call; larger ones at their second
#: (a one-off run, such as the CLI's, never pays for a copy it would not reuse), and sources over
#: :data:`PREPARE_MAX_ROWS` never (a copy of them would cost more memory than it saves time), except
#: contacts with text times, which are always prepared (see :func:`_cacheable`).
PREPARE_AT_ONCE_ROWS = 1_000_000
PREPARE_MAX_ROWS = 5_000_000
#: Contacts with text times are prepared at their first call, whatever their size.
PREPARE_TEXT_TIMES = True
_SEEN = BoundedCache(32)  # row counts of the sources met so far
#: Within :func:`single_use`: the views made for it, by connection (dropped when it ends); else None.
_SINGLE_USE_VIEWS: list[tuple[BaseBackend, str]] | None = None


@contextmanager
def single_use() -> Iterator[None]:
    """Within it, nothing is copied: a source is read by one call only, so a copy would not be reused.

    For a caller that reads each source once, such as the CLI: a prepared copy costs memory (70 MiB
    for a million customers, 450 MiB for 10M contacts) and the copy's time. Contacts with text times
    are still parsed once, in a view the call reads (see :func:`prepared_contacts`); the views are
    dropped at the end. No SQL template is made either (:mod:`kit.core.templates`): it costs a second
    compile, which only a next call would repay.
    """
    global PREPARE_AT_ONCE_ROWS, _SINGLE_USE_VIEWS
    before, PREPARE_AT_ONCE_ROWS = PREPARE_AT_ONCE_ROWS, 0
    views_before, _SINGLE_USE_VIEWS = _SINGLE_USE_VIEWS, []
    templates_before, templates.ENABLED = templates.ENABLED, False  # a template is for a next call
    try:
        yield
    finally:
        views, _SINGLE_USE_VIEWS = _SINGLE_USE_VIEWS, views_before
        PREPARE_AT_ONCE_ROWS, templates.ENABLED = before, templates_before
        for con, name in reversed(views):  # the contacts' view reads the parse's: last made, first dropped
            with suppress(Exception):  # a closed connection has dropped them; never mask the call's own error
                _drop_view(con, name)


def _drop_view(con: BaseBackend, name: str) -> None:
    con.raw_sql(f'DROP VIEW IF EXISTS "{name}"')


def _cacheable(src: Source, con: BaseBackend, key: Any) -> bool:
    """Whether to materialise now: DuckDB, an identified source, and small, or mid-sized and seen before."""
    if con.name != "duckdb":
        return False
    if PREPARE_TEXT_TIMES and "created_at" in src.table.columns and src.table.created_at.type().is_string():
        # text times are parsed in every scan of an unprepared source: at 10M contacts the query took
        # 21x the parse-once reference; one copy with parsed times costs far less at any size
        return True
    rows = _SEEN.get(con, key)
    if rows is not None:
        return rows <= PREPARE_MAX_ROWS
    try:
        rows = int(con.execute(src.table.count()))
    except Exception:  # noqa: BLE001 - not countable here: leave it uncached
        return False
    _SEEN.put(con, key, rows)
    return rows <= PREPARE_AT_ONCE_ROWS


def prepared_contacts(src: Source, con: BaseBackend, *, tz: str) -> Source:
    """The contacts with what the data alone determines worked out once, as a DuckDB temp table.

    ``customer_id``, ``channel`` and ``topic`` trimmed (blank as NULL) where padded, ``direction`` lower-cased and
    trimmed, and text ``created_at`` parsed into an instant (in the business time zone ``tz``; in a UTC zone, the
    naive UTC time, read then as a naive timestamp column), with ``_kit_raw_ts`` keeping the stored text of the
    values that did not parse or lie outside :func:`kit.core.engine.plausible_range` (the ledger's reasons and
    examples). Every other column as stored, and every row kept: :func:`row_tests` gives the same reasons on it as
    on the source. Cached in :data:`PREPARED` by the source's :meth:`~kit.core.sources.Source.data_key`, the time
    zone and the plausible range; the source itself is returned on other engines, for sources that cannot be
    identified (warehouse tables), or for large ones at their first call. Within :func:`single_use`, text times
    are parsed in a view instead (the other columns as stored, nothing cached) and nothing else is prepared.
    """
    data = src.data_key()
    t = src.table
    if data is None or "_kit_raw_ts" in t.columns or engine.is_all_null(t.created_at):
        return src
    typ = t.created_at.type()
    if not (typ.is_string() or typ.is_timestamp() or typ.is_date()):
        return src  # numbers that are not dates: the uncached path says so
    key = ("contacts", data, tz, engine.plausible_range())
    entry = PREPARED.get(con, key)
    single = False
    if entry is None:
        if not _cacheable(src, con, key):
            return src
        parse_view = None
        if typ.is_string():
            t = _parsed_once(con, t, tz)
            parse_view = t.get_name()
        # One call reads it: the parse in a view, no copy, nothing cached (1.3 s and 450 MiB at 10M). The
        # text columns are left as they are: the call trims only those that need it, as for any source.
        single = _SINGLE_USE_VIEWS is not None and parse_view is not None
        cols: dict[str, ir.Value] = {}
        clean = set()
        for c in () if single else ("customer_id", "channel", "topic"):
            if c in t.columns and t[c].type().is_string():
                dense = c == "customer_id"  # about as many values as rows; labels are dictionary-encoded
                padded = engine.is_padded(t[c], dense=dense)
                cols[c] = ibis.cases((padded, engine.blank_to_null(t[c], dense=dense)), else_=t[c])
                clean.add(c)
        if "direction" in t.columns and t.direction.type().is_string() and not single:
            cols["direction"] = engine.blank_to_null(t.direction).lower().strip()
            clean.add("direction")
        if parse_view is not None:
            parsed = t._kit_ts
            wrong = parsed.isnull() | engine.is_implausible(parsed, parsed)
            bad = ibis.ifelse(wrong, engine.blank_to_null(t.created_at, dense=True).notnull(), False)
            cols["created_at"] = parsed
            cols["_kit_raw_ts"] = ibis.cases((bad, t.created_at), else_=ibis.null(dt.string))
            expr = t.mutate(**cols).drop("_kit_ts")
            if single:
                assert _SINGLE_USE_VIEWS is not None
                _SINGLE_USE_VIEWS.append((con, parse_view))
                table = _view(con, "kit_contacts", expr)
                _SINGLE_USE_VIEWS.append((con, table.get_name()))
            else:
                try:
                    table = _materialise(con, "kit_contacts", expr)
                finally:
                    _drop_view(con, parse_view)
        else:
            table = _materialise(con, "kit_contacts", t.mutate(**cols))
        entry = (table, frozenset(clean))
        if not single:
            PREPARED.put(con, key, entry)
    table, clean_cols = entry
    return Source(
        src.name,
        table,
        src.label,
        src.formats,
        src.timestamp_formats,
        identity=lambda: key,  # results worked out from it can be cached under the same key
        clean=clean_cols,
        loaded=table.op(),
        covers=src.covers,
        parsed_per_read=single,
    )


def _parsed_once(con: BaseBackend, t: ir.Table, tz: str) -> ir.Table:
    """``t`` with ``_kit_ts``, its text ``created_at`` parsed, as a temp view (the caller drops it).

    The view is opaque to Ibis, which would otherwise inline the parse into each of its uses (the
    value, the calendar and plausibility tests, the raw text kept): six parses a row, not one. In
    a UTC zone the parse is the wall-clock time, stored naive (see :func:`clock_is_local`).
    """
    parse = engine.parse_utc_clock if tz in engine.UTC_ZONES else engine.parse_instant
    return _view(con, "kit_parse", t.mutate(_kit_ts=parse(t.created_at)))


def _view(con: BaseBackend, prefix: str, expr: ir.Table) -> ir.Table:
    """``expr`` as a new temp view, which Ibis reads as a table (the caller drops it)."""
    name = ibis.util.gen_name(prefix)
    con._register_in_memory_tables(expr)  # DataFrames are registered when a query first runs: now
    con.raw_sql(f'CREATE TEMP VIEW "{name}" AS {con.compile(expr)}')
    return con.table(name)


def cached_customers(src: Source, classified: ir.Table, con: BaseBackend, options: Any) -> ir.Table:
    """:func:`classify_customers`' output for ``src`` under ``options``, materialised once (see
    :func:`prepared_contacts`); ``classified`` itself when it cannot be cached."""
    data = src.data_key()
    if data is None:
        return classified
    key = ("customers", data, options)
    table = PREPARED.get(con, key)
    if table is None:
        if not _cacheable(src, con, key):
            return classified
        table = PREPARED.put(con, key, _materialise(con, "kit_customers", classified))
    return table


def _materialise(con: BaseBackend, prefix: str, expr: ir.Table) -> ir.Table:
    """``expr`` as a temp table; columns typed NULL (all empty in a DataFrame) as all-NULL text,
    which every test reads the same way (DuckDB tables cannot hold the NULL type)."""
    nulls = {c: expr[c].cast(dt.string) for c in expr.columns if expr[c].type().is_null()}
    return con.create_table(ibis.util.gen_name(prefix), expr.mutate(**nulls) if nulls else expr, temp=True)


def _first_reason(*pairs) -> ir.StringValue:
    """The first reason whose condition holds, else NULL."""
    return ibis.cases(
        *[(cond.fill_null(False), ibis.literal(reason)) for cond, reason in pairs], else_=ibis.null(dt.string)
    )


def classify_customers(
    src: Source, *, padded: frozenset[str] | None = None, unique_ids: bool = False, key: dt.DataType | None = None
) -> ir.Table:
    """Customers with ``cid``, ``signup``, ``churn`` (dates in the business tz) and ``_reason``.

    Reasons: missing customer_id, missing/unparseable signup_date, unparseable
    churn_date, churn before signup, duplicate customer_id (the first valid row is kept).
    ``padded``: the text columns known to need trimming (None: check the id column).
    ``unique_ids``: the caller takes the ids to be unique and checks it (see
    :func:`kit.metrics.frequency.contact_frequency`), which spares the ranking window.
    ``key``: the type of ``cid`` (see :func:`kit.core.engine.clean_key`; None: text).
    """
    t = src.table
    cid = engine.clean_key(t.customer_id, padded=None if padded is None else "customer_id" in padded, key=key)
    signup = engine.local_date(t.signup_date)
    has_churn = "churn_date" in t.columns
    # PostgreSQL's open-ended `infinity` churn date means "not churned": no date, not a bad one.
    churn_raw = engine.open_ended(t.churn_date) if has_churn else None
    churn = engine.local_date(churn_raw) if churn_raw is not None else ibis.null(dt.date)
    pre = _first_reason(
        (cid.isnull() | engine.is_blank(t.customer_id), "missing customer_id"),
        (engine.blank_to_null(t.signup_date).isnull(), "missing signup_date"),
        (signup.isnull(), "unparseable signup_date"),
        *([(engine.is_unparseable(churn_raw, churn), "unparseable churn_date")] if churn_raw is not None else []),
        (churn < signup, "churn before signup"),
    )
    t = t.mutate(cid=cid, signup=signup, churn=churn, _pre=pre)  # one projection (compiles faster)
    if unique_ids:
        t = t.mutate(_rank=ibis.literal(0))
    else:
        t = t.mutate(_rank=ibis.row_number().over(group_by=t.cid, order_by=[t._pre.isnull().desc(), t.signup, t.churn]))
    reason = ibis.cases(
        (t._pre.notnull(), t._pre),
        (t._rank > 0, ibis.literal("duplicate customer_id")),
        else_=ibis.null(dt.string),
    )
    return t.mutate(**{REASON: reason})


def customer_lookup(classified: ir.Table, segments: list[str], *, padded: frozenset[str] | None = None) -> ir.Table:
    """One row per known customer id: whether it is usable, its dates and segment labels.

    ``padded``: the text columns known to need trimming (None: check each segment column).
    """
    first = classified.filter(classified.cid.notnull() & (classified._rank == 0))
    seg = {s: segment_label(first[s], padded=None if padded is None else s in padded) for s in segments}
    return first.select(
        _cid=first.cid, _cust_ok=first[REASON].isnull(), _signup=first.signup, _churn=first.churn, **seg
    )


def segment_label(col: ir.Value, *, padded: bool | None = True) -> ir.StringValue:
    """Segment values as text, missing ones labelled so that they are never silently dropped.

    ``padded`` as in :func:`kit.core.engine.clean_key`: False when no value needs trimming, None to
    check first (one scan); worth knowing for columns that end up in a join or grouping of a
    large query, where a per-row TRIM is costly.
    """
    return engine.clean_key(col, padded=padded).fill_null(MISSING_SEGMENT)


def row_checks(
    src: Source,
    *,
    direction: str,
    padded_ids: bool | None = None,
    as_of: DateLike = None,
    key: dt.DataType | None = None,
) -> ir.Table:
    """The row-level tests alone: ``_cust``, ``_contact``, ``instant``, ``_missing_ts``, ``_unparseable``,
    ``_wrong_direction`` and ``_row_ok`` (the row itself is usable), plus ``_raw_ts`` for text times.

    ``padded_ids``: whether ``customer_id`` needs trimming, when the caller knows or assumes it
    (see :func:`kit.core.engine.clean_key`; None: check). One projection (fewer nodes compile faster).
    """
    return src.table.mutate(**row_tests(src, direction=direction, padded_ids=padded_ids, as_of=as_of, key=key))


def after_as_of(col: ir.Value, instant: ir.TimestampValue, as_of: DateLike) -> ir.BooleanValue:
    """Whether a time column is later than the end of the ``as_of`` day in the business time zone
    (the session's). Missing and unparseable times are not (they keep their own reason)."""
    cutoff = periods.parse_date(as_of).normalize() + pd.Timedelta(days=1)  # local midnight after as_of
    typ = col.type()
    if typ.is_date():
        return (col >= cutoff.date()).fill_null(False)
    if typ.is_timestamp() and typ.timezone is None:  # naive: already the local wall-clock time
        return (col >= cutoff.to_pydatetime()).fill_null(False)
    return (engine.local_time(instant) >= cutoff.to_pydatetime()).fill_null(False)


def row_tests(
    src: Source,
    *,
    direction: str,
    padded_ids: bool | None = None,
    as_of: DateLike = None,
    key: dt.DataType | None = None,
) -> dict[str, ir.Value]:
    """The columns of :func:`row_checks` as expressions on ``src.table``, for callers that filter
    or aggregate the table directly instead of projecting it first. With ``as_of``, also
    ``_after_as_of`` (see :func:`after_as_of`), and such rows are not ``_row_ok``. ``key``: the type of
    ``_cust`` (:func:`kit.core.engine.clean_key`)."""
    t = src.table
    typed_ts = not t.created_at.type().is_string()
    prepared = "_kit_raw_ts" in t.columns  # see prepared_contacts: parsed once, the bad text kept
    cols = dict(
        # contact ids are only compared within one table, so they keep their type (no cast per row)
        _contact=t.contact_id,
        # the raw ids when none needs trimming (see engine.clean_key): a cheaper window key
        _cust=engine.clean_key(t.customer_id, padded=padded_ids, key=key),
        instant=engine.parse_instant(t.created_at),
    )
    # the stored value, for the ledger's examples (unparseable text, implausible times)
    cols["_raw_ts"] = t._kit_raw_ts if prepared else t.created_at
    # a blank id is missing whether or not this run trims ids (engine.is_blank: no TRIM for clean values)
    if "customer_id" in src.clean:  # blanks are NULL already (see prepared_contacts)
        cols["_missing_cust"] = cols["_cust"].isnull()
    else:
        cols["_missing_cust"] = cols["_cust"].isnull() | engine.is_blank(t.customer_id)
    if prepared:
        cols["_missing_ts"] = t.created_at.isnull() & t._kit_raw_ts.isnull()
        cols["_unparseable"] = t.created_at.isnull() & t._kit_raw_ts.notnull()
        cols["_implausible"] = t.created_at.notnull() & t._kit_raw_ts.notnull()
    else:
        # IS NULL is never NULL itself: plain tests, which the engine can push into its scan.
        cols["_missing_ts"] = (
            engine.blank_to_null(t.created_at, dense=True).isnull() if not typed_ts else t.created_at.isnull()
        )
        # A typed timestamp is never unparseable; testing the parsed value would cost a conversion per row.
        cols["_unparseable"] = cols["instant"].isnull() if not typed_ts else ibis.literal(False)
        # 9999-12-31 placeholders, 1900-01-01, years read as 0026, "epoch": not contacts (engine.plausible_range)
        cols["_implausible"] = engine.is_implausible(t.created_at, cols["instant"])
    cols["_wrong_direction"] = ibis.literal(False)
    if "direction" in t.columns and "direction" in src.clean:  # lower-cased and trimmed (prepared_contacts)
        cols["direction"] = t.direction
        if direction != "all":
            cols["_wrong_direction"] = ~(t.direction == direction).fill_null(False)
    elif "direction" in t.columns:
        raw = t.direction.cast(dt.string)
        cols["direction"] = engine.blank_to_null(raw).lower().strip()
        if direction != "all":
            # Exact matches skip the per-row lower/trim (CASE only evaluates the ELSE for the rest).
            cols["_wrong_direction"] = ibis.cases(
                (raw == direction, False), else_=cols["direction"].isnull() | (cols["direction"] != direction)
            ).fill_null(True)
    cols["_row_ok"] = (
        ~cols["_missing_cust"]
        & ~cols["_missing_ts"]
        & ~cols["_unparseable"]
        & ~cols["_implausible"]
        & ~cols["_wrong_direction"]
    )
    if as_of is not None:
        cols["_after_as_of"] = after_as_of(t.created_at, cols["instant"], as_of)
        cols["_row_ok"] = cols["_row_ok"] & ~cols["_after_as_of"]
    return cols


def row_reasons(cols: ir.Table | Mapping[str, ir.Value], direction: str) -> list[tuple[ir.BooleanValue, str]]:
    """The row-level exclusion reasons in ledger order, as ``(test, reason)`` pairs: the row's own
    defects, then out of scope. They come before any customer-level reason: a row out of scope is
    never a data-quality problem of this metric, whoever its customer is. ``cols``: a
    :func:`row_checks` table or a :func:`row_tests` dict.

    A row dated after ``as_of`` (when the tests have ``_after_as_of``) is out of scope before
    anything else: data after the as-of day is not read, so its defects are not this metric's.
    """
    names = cols.columns if isinstance(cols, ir.Table) else cols
    first = [(cols["_after_as_of"], AFTER_AS_OF)] if "_after_as_of" in names else []
    return first + [
        (cols["_missing_cust"], "missing customer_id"),
        (cols["_missing_ts"], "missing created_at"),
        (cols["_unparseable"], "unparseable created_at"),
        (cols["_implausible"], IMPLAUSIBLE),
        (cols["_wrong_direction"], f"{SCOPE_PREFIX}direction is not {direction}"),
    ]


def _contact_base(
    src: Source,
    *,
    direction: str,
    weight: str | None,
    tz: str | None,
    padded_ids: bool | None = None,
    as_of: DateLike = None,
    key: dt.DataType | None = None,
    padded_labels: bool = True,
) -> ir.Table:
    """Row-level typing of contacts, before any join: :func:`row_checks` plus the labelled
    ``channel`` and ``topic``, ``_weight``, ``local_ts`` and ``_clock``.

    ``padded_labels=False``: the caller knows no channel or topic needs trimming, so the labels are
    the stored values with missing ones named (no TRIM per row, e.g. in the follow-up window's input).
    """
    t = row_checks(src, direction=direction, padded_ids=padded_ids, as_of=as_of, key=key)
    typ = src.table.created_at.type()
    cols = {"channel": segment_label(t.channel, padded=padded_labels)}
    if "topic" in t.columns:
        cols["topic"] = segment_label(t.topic, padded=padded_labels)
    if weight is not None:
        # non-numeric, NaN and infinite weights: the contact counts, its weight does not (``_wbad``: the value)
        cols["_weight"] = engine.parse_number(t[weight])
        cols["_wbad"] = engine.bad_number(t[weight], cols["_weight"])
    # Naive timestamps and dates already are wall-clock times in the business time zone.
    naive = (typ.is_timestamp() and typ.timezone is None) or typ.is_date()
    cols["local_ts"] = (
        (t.created_at.cast(dt.timestamp) if typ.is_date() else t.created_at) if naive else engine.local_time(t.instant)
    )
    cols["_clock"] = cols["local_ts"] if clock_is_local(src, tz) else t.instant
    return t.mutate(**cols)


def clock_is_local(src: Source, tz: str | None) -> bool:
    """Whether ``_clock`` is the local wall-clock time itself (naive timestamps in UTC on DuckDB)."""
    typ = src.table.created_at.type()
    naive = (typ.is_timestamp() and typ.timezone is None) or typ.is_date()
    return naive and tz in engine.UTC_ZONES and engine.backend_name(src.table.created_at) == "duckdb"


def _attach_customers(t: ir.Table, lookup: ir.Table, direction: str) -> ir.Table:
    """Join the customer lookup and give every row its first exclusion reason (``_pre``)."""
    t = t.left_join(lookup, t._cust == lookup._cid)
    pre = _first_reason(
        *row_reasons(t, direction), (t._cid.isnull(), "unknown customer"), (~t._cust_ok, "customer excluded")
    )
    return t.mutate(_pre=pre)


def mark_follow_ups(
    rows: ir.Table,
    *,
    dedup_seconds: float = 48 * 3600,
    same_topic: bool = False,
    partition: Sequence[ir.Value] = (),
    tiebreak: Sequence[str] = (),
    period_unit: str | None = None,
) -> ir.Table:
    """One window pass: ``_duplicate`` (same contact_id and instant as the previous row) and ``follow_up``.

    ``rows`` should hold only counted candidates (or pass ``partition`` columns that separate them).
    ``tiebreak`` columns order exact duplicates, so that which copy counts (e.g. its channel) is defined.
    With ``period_unit``, the same pass also marks ``_first``: the first row of its partition (the
    customer, or customer and topic) in its ``period``. ``period`` is taken from ``rows`` when present,
    else cut from ``_clock``, which must then be the local wall-clock time.
    """
    keys = [rows._cust, *partition] + ([rows.topic] if same_topic and "topic" in rows.columns else [])
    w = ibis.window(group_by=keys, order_by=[rows._clock, rows._contact, *[rows[c] for c in tiebreak]])
    lags = dict(_prev_contact=rows._contact.lag().over(w), _prev_clock=rows._clock.lag().over(w))
    has_period = "period" in rows.columns
    if period_unit is not None and has_period:
        lags["_prev_period"] = rows.period.lag().over(w)
    t = rows.mutate(**lags)
    duplicate = ((t._prev_contact == t._contact) & (t._prev_clock == t._clock)).fill_null(False)
    follow_up = engine.within(t._clock, t._prev_clock, dedup_seconds) if dedup_seconds > 0 else ibis.literal(False)
    cols = dict(_duplicate=duplicate, follow_up=follow_up.fill_null(False) & ~duplicate)
    # An exact duplicate follows its original at the same instant, so it is never first.
    if period_unit is not None and has_period:
        cols["_first"] = (t._prev_period != t.period).fill_null(True)
    elif period_unit is not None:
        # Rows are in time order, so the first of a period is the one whose predecessor is older.
        period_start = t._clock.truncate(period_unit)
        cols.update(period=period_start.date(), _first=(t._prev_clock < period_start).fill_null(True))
    return t.mutate(**cols)


def classify_contacts(
    src: Source,
    lookup: ir.Table,
    *,
    direction: str = "inbound",
    dedup_seconds: float = 48 * 3600,
    same_topic: bool = False,
    weight: str | None = None,
    tz: str | None = None,
    as_of: DateLike = None,
) -> ir.Table:
    """Contacts with typed time columns, customer attributes, ``follow_up`` and ``_reason``.

    With ``as_of``, rows dated after the end of that day (business time zone) get the reason
    ``"out of scope: after as_of"`` and take no part in the follow-up window.

    A follow-up is a counted contact whose customer (and topic, with
    ``same_topic``) had a previous counted contact less than ``dedup_seconds``
    of elapsed time earlier. Exact duplicates (same contact_id, customer and
    timestamp) are found in the same window pass. Every row is kept (excluded
    ones with their reason); :func:`mark_follow_ups` on the usable rows alone is
    the faster route when only counted rows need the window (see :mod:`kit.metrics.frequency`).
    """
    # The window runs on the contacts alone (a slim sort), before the customer join. Partitioning
    # by customer and row-level usability equals partitioning by full eligibility, because the
    # customer-level reasons (unknown, excluded) are the same for every row of a customer.
    t = _contact_base(src, direction=direction, weight=weight, tz=tz, as_of=as_of)
    t = mark_follow_ups(t, dedup_seconds=dedup_seconds, same_topic=same_topic, partition=[t._row_ok])
    t = _attach_customers(t, lookup, direction)
    duplicate = t._pre.isnull() & t._duplicate
    reason = ibis.cases(
        (t._pre.notnull(), t._pre), (duplicate, ibis.literal("duplicate contact_id")), else_=ibis.null(dt.string)
    )
    return t.mutate(**{REASON: reason}, follow_up=t.follow_up & reason.isnull())


#: Which column shows a useful example of each quality problem.
EXAMPLE_COLUMNS = {
    "contacts": {
        "unparseable created_at": "_raw_ts",
        "implausible created_at": "_raw_ts",
        "unknown customer": "_cust",
        "customer excluded": "_cust",
        "duplicate contact_id": "_contact",
        "missing created_at": "_contact",
    },
    "customers": {
        "duplicate customer_id": "cid",
        "unparseable signup_date": "cid",
        "unparseable churn_date": "cid",
        "churn before signup": "cid",
        "missing signup_date": "cid",
    },
}


def example_metrics(t: ir.Table, table: str) -> dict[str, ir.Scalar]:
    """Aggregates that carry up to two example values per exclusion reason (min and max).

    Folded into the same query as the counts, so examples cost no extra pass over the data.
    """
    cases = [
        (t[REASON] == reason, t[col].cast(dt.string))
        for reason, col in EXAMPLE_COLUMNS.get(table, {}).items()
        if col in t.columns
    ]
    if not cases:
        return {}
    example = ibis.cases(*cases, else_=ibis.null(dt.string))
    return {"_ex_lo": example.min(), "_ex_hi": example.max()}


def record_ledger(ledger: Ledger, src: Source, summary: pd.DataFrame) -> None:
    """Add ``src``'s counts to the ledger from a frame with ``_reason``, ``n`` and example columns.

    ``summary`` may hold several rows per reason (e.g. one per period); they are summed.
    """
    reasons = summary[REASON].astype(object).where(summary[REASON].notna(), None)
    counts: dict = {}
    candidates: dict = {}
    for i, reason in enumerate(reasons):
        counts[reason] = counts.get(reason, 0) + int(summary["n"].iloc[i])
        if reason is not None and "_ex_lo" in summary:
            for col in ("_ex_lo", "_ex_hi"):
                value = summary[col].iloc[i]
                if isinstance(value, str):
                    candidates.setdefault(reason, set()).add(value)
    # Sorted, so that every engine (whatever order its rows come back in) shows the same examples.
    examples = {reason: sorted(values)[:EXAMPLES_PER_REASON] for reason, values in candidates.items()}
    read = sum(counts.values())
    used = counts.pop(None, 0)
    ledger.record(src.name, src.label, read=read, used=used, excluded=counts, examples=examples)


def count_reasons(con: BaseBackend, ledger: Ledger, src: Source, classified: ir.Table) -> None:
    """Count ``classified`` rows by reason (one query) and add them to the ledger."""
    summary = engine.fetch(
        con, classified.group_by(REASON).aggregate(n=classified.count(), **example_metrics(classified, src.name))
    )
    record_ledger(ledger, src, summary)
