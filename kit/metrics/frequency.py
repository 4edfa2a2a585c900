"""The contact-frequency engine: contacts per active customer per period and group.

All row-level work runs on the engine (DuckDB by default) as Ibis expressions;
only period x group aggregates come back to pandas.
"""

from __future__ import annotations

import copy
import functools
import inspect
import operator
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ..config import DEFAULT_ACTIVE_LOOKBACK, DEFAULT_DEDUP_WINDOW, DEFAULT_FREQ, DEFAULT_NEW_WINDOW, DEFAULT_TZ
from ..core import engine, periods
from ..core.dataset import accepts_dataset
from ..core.ledger import SCOPE_PREFIX
from ..core.prepare import (
    EXAMPLE_COLUMNS,
    REASON,
    _contact_base,
    _first_reason,
    classify_customers,
    clock_is_local,
    customer_lookup,
    example_metrics,
    mark_follow_ups,
    record_ledger,
    row_reasons,
    row_tests,
)
from ..core.prepare import start as start_tables
from ..core.results import MetricResult
from ..core.schema import CONTACT_ATTRIBUTES, TABLES
from ..core.sources import BoundedCache, data_key_of, default_con
from ..core.types import Backend, DateLike, Grouping, MappingSpec, TableSource, TimestampFormatSpec, Window
from ..errors import KitWarning, ParameterError
from ..present import narrative
from . import timesegments

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from numpy.typing import ArrayLike

COLUMNS = [
    "contacts",
    "follow_ups",
    "cases",
    "active_customers",
    "contacting_customers",
    "frequency",
    "case_frequency",
    "contacts_per_contacting_customer",
    "repeat_contact_rate",
    "frequency_ci_low",
    "frequency_ci_high",
    "dispersion",
]
OUT_OF_RANGE = f"{SCOPE_PREFIX}outside the requested periods"
SIGNED_UP_LATER = f"{SCOPE_PREFIX}signed up after as_of"
#: The ledger's warning for contact ids that several customers' rows carry (the rows are all counted).
REUSED_CONTACT_ID = "contact_id reused by different customers"
#: The ledger's warning for counted contacts whose weight is not a number (the contact counts, its weight not).
BAD_WEIGHT = "not a finite number (weight left out) in"
#: Reasons that exclude all of a customer's contacts (their example in the ledger is the customer id).
CUSTOMER_REASONS = ("unknown customer", "customer excluded")


def _proxy_words(lookback: pd.Timedelta) -> str:
    """The contacts-only denominator in words (notes, ledger, report pages)."""
    return f"active = a counted contact from {_span(lookback)} before the period start to the period end"


def proxy_note(active_lookback: Window | None = None) -> str:
    """What the denominator means without a customers table, in one sentence (notes and report pages).

    Examples
    --------
    >>> proxy_note("90D")[:81]
    'no customers table: customers are derived from the contacts, and active customers'
    """
    lookback = periods.parse_window(DEFAULT_ACTIVE_LOOKBACK if active_lookback is None else active_lookback)
    return (
        "no customers table: customers are derived from the contacts, and active customers (the denominator) are "
        f"a proxy: {_proxy_words(lookback)}; customers who never contact are not counted (frequency biased up) and "
        "customers who left count until the lookback runs out (biased down), so compare it only with figures under "
        "the same lookback"
    )


def _span(td: pd.Timedelta) -> str:
    days, rest = divmod(td, pd.Timedelta(days=1))
    if not rest:
        return f"{days} days" if days != 1 else "1 day"
    return str(td)


def poisson_ci(
    counts: ArrayLike, exposure: ArrayLike, *, level: float = 0.95, dispersion: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson interval for ``counts``, divided by ``exposure``; widened for dispersion.

    With ``dispersion`` (the between-customer variance of contacts over its Poisson value, see
    :func:`dispersion`), the interval is the Garwood interval of the *effective* count
    ``counts / d`` over the effective exposure ``exposure / d`` with ``d = max(dispersion, 1)``:
    a quasi-Poisson interval whose variance is the customers' observed variance (a ratio-estimator
    variance), and never narrower than the exact Poisson interval, which stays the floor for
    small or Poisson-like counts.

    Examples
    --------
    >>> lo, hi = poisson_ci(np.array([2400]), np.array([1000]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (2.305, 2.498)
    >>> lo, hi = poisson_ci(np.array([2400]), np.array([1000]), dispersion=np.array([4.0]))
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (2.212, 2.6)
    """
    n = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    if dispersion is not None:
        d = np.asarray(dispersion, dtype=float)
        d = np.where(np.isfinite(d) & (d > 1.0), d, 1.0)
        n, e = n / d, e / d
    # chi2.ppf(q, 2k) / 2 is gammaincinv(k, q), bit for bit; scipy.special loads in a fraction of scipy.stats' time
    from scipy.special import gammaincinv

    alpha = 1 - level
    lo = np.where(n > 0, gammaincinv(n, alpha / 2), 0.0)
    hi = gammaincinv(n + 1, 1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, lo / e, np.nan), np.where(e > 0, hi / e, np.nan)


@dataclass(frozen=True, repr=False)
class FrequencyResult(MetricResult):
    """Contacts per active customer per period and group: ``.frame``, ``.ledger``, ``.notes``, ``.params``."""

    def describe(self) -> str:
        """The latest period's total in one sentence (groups: the latest period's range)."""
        df = self.frame
        if df.empty:
            return "No contacts were counted; see the ledger for why."
        last = df[df["period"] == df["period"].max()]
        when = periods.label(last["period"].iloc[0], self.params.get("freq", "month"))
        if not self.by:
            r = last.iloc[0]
            return (
                f"In {when}, {int(r.contacts):,} contacts over {int(r.active_customers):,} active customers: "
                f"{narrative.num(r.frequency)} contacts per customer "
                f"(95% CI {narrative.num(r.frequency_ci_low)}-{narrative.num(r.frequency_ci_high)})."
            )
        ranked = last.dropna(subset=["frequency"]).sort_values("frequency")
        if ranked.empty:
            return f"In {when}, no group had active customers."
        name = lambda r: "/".join(str(r[c]) for c in self.by)  # noqa: E731
        lo, hi = ranked.iloc[0], ranked.iloc[-1]
        return (
            f"In {when}, contacts per active customer ranged from {narrative.num(lo.frequency)} "
            f"({name(lo)}) to {narrative.num(hi.frequency)} ({name(hi)}) across {len(ranked)} groups."
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Frequency per period with its 95% interval, one line per group; partial periods
        (``complete`` False) are hollow points, with a note."""
        from ..present.plots import mark_partial, new_axes

        _, ax = new_axes(ax)
        df = self.frame
        groups = df.groupby(self.by, sort=True) if self.by else [("all customers", df)]
        for key, g in groups:
            label = "/".join(map(str, key)) if isinstance(key, tuple) else str(key)
            line = ax.plot(g["period"], g["frequency"], marker="o", ms=3, label=label)[0]
            mark_partial(ax, line, g.get("complete"))  # partial periods hollow, with a note
            ax.fill_between(
                g["period"], g["frequency_ci_low"], g["frequency_ci_high"], alpha=0.15, color=line.get_color()
            )
        ax.set_ylabel("contacts per active customer")
        ax.set_xlabel("")
        if self.by:
            ax.legend(title=", ".join(self.by), fontsize="small")
        return ax


def _split_by(by, contact_cols, customer_cols) -> tuple[list[str], list[str], list[str]]:
    """Order-preserving split of ``by`` into contact attributes and customer segments."""
    if by is None:
        return [], [], []
    customer_side_cols = customer_cols or []
    by = [by] if isinstance(by, str) else list(by)
    by = [b.strip() for item in by for b in str(item).split(",") if b.strip()]
    by = list(dict.fromkeys(by))  # each column once: "tier,tier" groups by tier
    contact_side, customer_side = [], []
    for col in by:
        if col in timesegments.DERIVED:  # new_vs_existing, tenure: per period, from signup (own denominator)
            customer_side.append(col)  # without a customers table, signup is the first contact (a note says so)
        elif col in CONTACT_ATTRIBUTES and col in contact_cols:
            contact_side.append(col)
        elif col in customer_side_cols and col not in TABLES["customers"].required + TABLES["customers"].optional:
            customer_side.append(col)
        elif col in contact_cols and col not in TABLES["contacts"].required[:3]:
            contact_side.append(col)
        else:
            attributes = [c for c in CONTACT_ATTRIBUTES if c in contact_cols]
            if customer_cols is None:
                raise ParameterError(
                    f"cannot group by {col!r}: without a customers table only contact attributes "
                    f"({', '.join(attributes)}) or contact columns can group; give a customers table for segments"
                )
            segments = [c for c in customer_cols if c not in ("customer_id", "signup_date", "churn_date")]
            raise ParameterError(
                f"cannot group by {col!r}: it is neither a contact attribute ({', '.join(attributes)}) "
                f"nor a customer segment column ({', '.join(segments) or 'none'})"
            )
    return by, contact_side, customer_side


#: Results of earlier calls, per connection, keyed by the data's identity and every option (see _memoised).
RESULTS = BoundedCache(32)


#: Only calls on DataFrames this small are memoised (hashing them costs less than a query).
MEMO_ROWS = 100_000


def _memoised(func):
    """Return an earlier result for DataFrames of the same content (see :data:`MEMO_ROWS`) and the
    same options, as a copy; otherwise compute it. Files, Datasets and warehouse tables are always
    computed (their prepared tables are cached instead, see :func:`kit.core.prepare.start`)."""
    sig = inspect.signature(func)

    @functools.wraps(func)
    def inner(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        frames = [options[n] for n in ("contacts", "customers") if options[n] is not None]
        if not all(isinstance(f, pd.DataFrame) for f in frames) or sum(map(len, frames)) > MEMO_ROWS:
            return func(*args, **kwargs)
        con = options["con"] if options["con"] is not None else default_con()
        data = tuple(
            None if options[n] is None else data_key_of(options[n], n, options["mapping"], options["timestamp_format"])
            for n in ("contacts", "customers")
        )
        rest = tuple((k, repr(v)) for k, v in options.items() if k not in ("contacts", "customers", "con"))
        key = (data, rest, engine.plausible_range(), engine.MAX_FETCH_ROWS)
        hit = RESULTS.get(con, key)
        if hit is None:
            hit = RESULTS.put(con, key, func(*args, **kwargs))
        else:
            for note in hit.notes:
                if "NaN" in note:
                    warnings.warn(note, KitWarning, stacklevel=3)
        return copy.deepcopy(hit)

    return inner


@accepts_dataset
@_memoised
def contact_frequency(
    contacts: TableSource,
    customers: TableSource = None,
    *,
    freq: str = DEFAULT_FREQ,
    by: Grouping = None,
    new_window: Window = DEFAULT_NEW_WINDOW,
    tenure_bands: Sequence[int] | None = None,
    tz: str | None = None,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    active_lookback: Window | None = None,
    same_topic: bool = False,
    direction: str = "inbound",
    weight: str | None = None,
    start: DateLike = None,
    end: DateLike = None,
    as_of: DateLike = None,
    mapping: MappingSpec = None,
    con: Backend = None,
    timestamp_format: TimestampFormatSpec = None,
) -> FrequencyResult:
    """Customer Contact Frequency per period (and group): contacts / active customers.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables` (DataFrame, CSV/Parquet path,
        folder or glob, DuckDB file, Ibis table or connection). ``customers=None``: no customers
        table; the customers are derived from the contacts (see ``active_lookback``).
    freq : {"day", "week", "month", "quarter", "year"}
        Period grain, cut in ``tz``. Weeks are ISO weeks starting on Monday.
    by : str or list of str, optional
        Segment columns of ``customers`` (denominator: active customers of that segment)
        and/or contact attributes such as ``channel`` or ``topic`` (denominator: all
        active customers, so per-channel frequencies add up to the total). Also the derived
        groupings ``new_vs_existing`` and ``tenure`` (one of them), read per period from the
        signup date (see :mod:`kit.metrics.timesegments`); each divides by its own active customers.
    new_window : str
        For ``new_vs_existing``: a customer is new in period P when ``signup_date > P.start -
        new_window`` (default ``"90D"``); contacts before signup are new.
    tenure_bands : list of int, optional
        For ``tenure``: band edges in months of tenure at the period start (default ``[3, 12, 24]``:
        ``0–3 months``, ``3–12 months``, ``1–2 years``, ``2+ years``).
    tz : str
        Business time zone. Naive timestamps are read in it; offsets are converted.
    dedup_window : str
        Contacts less than this elapsed time after the customer's previous contact are
        follow-ups; ``cases = contacts - follow_ups``. ``0`` disables.
    same_topic : bool
        Only a previous contact with the same topic makes a follow-up.
    active_lookback : str, optional
        Only without a customers table (default ``"365D"``): a customer is active in a period when
        they have a counted contact from this long before the period start to the period end.
        Counted contacts are those the metric counts (after exclusions, in the ``direction`` asked
        for), including those before ``start``. This denominator is a proxy: customers who never
        contact are invisible (the frequency is biased up), customers who left count until the
        lookback runs out (biased down), and the lookback moves the number.
    direction : {"inbound", "outbound", "all"}
        Which contacts count (when the column exists; otherwise all do).
    weight : str, optional
        A numeric contacts column (e.g. ``handle_time``) for ``weighted_frequency``.
    start, end : date-like, optional
        First and last period to report (each taken whole). Default: the periods
        spanned by the counted contacts.
    as_of : date-like, optional
        Compute as of the end of this day (business time zone): contacts dated later are not
        counted (the ledger gives them the reason ``"out of scope: after as_of"``), customers
        who sign up later are not active (the customers' ledger says so) and churn dates after
        it are not known yet. The data's coverage then ends on this day.
    mapping : dict or path, optional
        Column mapping for help-desk exports (see :func:`kit.core.schema.load_mapping`).
    timestamp_format : str or dict, optional
        Format of text timestamps in strftime syntax (``"%d/%m/%Y %H:%M"``), for every date column
        or per table/column; default: detected from the data (see :func:`kit.core.sources.open_tables`).

    Returns
    -------
    FrequencyResult
        ``.frame`` has one row per period (start date, column ``period``) and group, with
        ``contacts, follow_ups, cases, active_customers, contacting_customers,
        frequency, case_frequency, contacts_per_contacting_customer,
        repeat_contact_rate, frequency_ci_low, frequency_ci_high`` and
        ``weighted_frequency`` when ``weight`` is given, then ``complete``: True when the
        period lies wholly inside the data's coverage, from the day of the first counted
        contact to the day of the last one (to ``as_of`` when given). The coverage is the
        whole table's, not each group's (a group without contacts in a complete month is a
        real zero), and contacts outside ``start``/``end`` still count for it. Seasonality,
        anomalies, comparisons and forecasts leave partial periods out. ``.ledger`` holds the
        data-quality :class:`~kit.core.ledger.Ledger`, ``.notes`` the caveats and
        ``.params`` the options used (``freq``, ``tz``, ``by``, ``direction``...).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "signup_date": ["2026-01-01"] * 2})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2, 3], "customer_id": ["a", "a", "b"],
    ...     "created_at": ["2026-01-05 10:00", "2026-01-05 12:00", "2026-01-20 09:00"],
    ...     "channel": ["chat", "chat", "email"]})
    >>> result = contact_frequency(contacts, customers)
    >>> result.frame[["period", "contacts", "cases", "active_customers", "frequency"]].to_dict("records")
    [{'period': Timestamp('2026-01-01 00:00:00'), 'contacts': 3, 'cases': 2, 'active_customers': 2, 'frequency': 1.5}]
    >>> result.describe()
    'In 2026-01, 3 contacts over 2 active customers: 1.50 contacts per customer (95% CI 0.31-4.38).'
    >>> result.ledger.balanced
    True
    """
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    window = periods.parse_window(dedup_window)
    contacts_only = customers is None
    lookback = periods.parse_window(DEFAULT_ACTIVE_LOOKBACK if active_lookback is None else active_lookback)
    params = dict(
        freq=grain,
        tz=tz,
        direction=direction,
        dedup_window=str(dedup_window),
        same_topic=same_topic,
        weight=weight,
        start=start,
        end=end,
        as_of=None if as_of is None else periods.parse_date(as_of).strftime("%Y-%m-%d"),
        customers="derived from contacts" if contacts_only else "table",
        active_lookback=str(active_lookback or DEFAULT_ACTIVE_LOOKBACK) if contacts_only else None,
    )
    first = periods.truncate(start, grain) if start is not None else None
    last = periods.truncate(end, grain) if end is not None else None
    if first is not None and last is not None and first > last:
        raise ParameterError(f"start ({start}) is after end ({end}); give the earlier period as start")
    # The first query takes ids and segment labels as stored (trimming every value costs about a
    # third of the query) and customer ids as unique (ranking repeated ids costs about a tenth). It
    # also counts the exceptions (``_recheck``): values that trimming would change (padded customer
    # values, contact ids that match no customer because they are padded) and repeated customer
    # ids. Only when it finds some does it run again, trimming and ranking as needed (trimmed ids
    # may repeat, so trimming implies ranking).
    trim = rank = labels = False
    for first_try in (True, False):
        begun = start_tables(
            contacts,
            customers,
            tz=tz or DEFAULT_TZ,
            direction=direction,
            mapping=mapping,
            con=con,
            timestamp_format=timestamp_format,
            count_customers=False,
            padded=None if trim else frozenset(),
            unique_ids=not rank,
            typed_keys=True,
            cache=True,
        )
        ledger, notes = begun.ledger, begun.notes
        csrc, usrc = begun.tables["contacts"], begun.tables.get("customers")
        if weight is not None and weight not in csrc.columns:
            raise ParameterError(
                f"weight column {weight!r} is not in the contacts table ({csrc.label}); "
                f"columns: {', '.join(c for c in csrc.columns if not c.startswith('_kit'))}"
            )
        if weight is not None and engine.decimal_comma(begun.con, csrc.table[weight]):  # "12,5" means 12.5
            csrc = replace(csrc, table=csrc.table.mutate(**{weight: csrc.table[weight].replace(",", ".")}))
            notes.append(f"{weight} uses a decimal comma (e.g. 12,5), read as 12.5")
        if same_topic and "topic" not in csrc.columns:
            raise ParameterError(
                f"same_topic needs a topic column, and the contacts table ({csrc.label}) has none; "
                "map one (--mapping) or drop --same-topic"
            )
        cols, contact_by, segment_by = _split_by(
            by, csrc.columns, None if contacts_only or usrc is None else usrc.columns
        )
        # A derived grouping (new_vs_existing, tenure) is a customer-side group whose value depends on the period.
        derived = timesegments.derived_in(segment_by)
        spec = timesegments.bands(derived[0], new_window=new_window, tenure_bands=tenure_bands) if derived else None
        static_by = [s for s in segment_by if s not in derived]
        lookup = functools.partial(_lookup, begun, static_by, unit, own_read=not rank, spec=spec)
        rows = _classified_rows(
            csrc,
            lookup=None if contacts_only else lookup(),
            lookback_seconds=lookback.total_seconds(),
            unit=unit,
            direction=direction,
            weight=weight,
            tz=tz,
            same_topic=same_topic,
            dedup_seconds=window.total_seconds(),
            contact_by=contact_by,
            first=first,
            last=last,
            padded_ids=trim and "customer_id" not in csrc.clean,  # prepared ids are trimmed already
            padded_labels=labels,
            key=begun.key,
            as_of=as_of,
            spec=spec,
        )
        agg = _aggregate(
            rows, cols, contact_by=contact_by, same_topic=same_topic, weighted=weight is not None, recheck=first_try
        )
        # Parts the data alone settles (with the options named in their key) are fetched once per
        # prepared source and then taken from FACTS: the repeated call's query is the option-dependent rest.
        ckey = csrc.data_key() if csrc.clean else None  # a prepared source (kit.core.prepare.prepared_contacts)
        ukey = usrc.data_key() if begun.cached and usrc is not None else None
        # the time zone too: local signup and as_of days move with it
        as_of_key, id_key = (params["as_of"], tz or DEFAULT_TZ), str(begun.key)
        trim_ids = trim and "customer_id" not in csrc.clean
        # Where every read parses text times (the CLI's view, or text read as stored), the rejected rows are
        # screened: the rows a check without times rejects (few, parsed for the reasons that come first),
        # and the table's row count; the rest, only when the counts do not add up (see below).
        screened = csrc.reads_parse and begun.con.name == "duckdb" and as_of is None
        rejected = functools.partial(
            _rejected_counts, csrc, direction=direction, padded_ids=trim_ids, as_of=as_of, key=begun.key
        )
        keyed: list[tuple[Any, ir.Table]] = [
            (
                ckey and ("rejected", ckey, direction, as_of_key, id_key, screened),
                p.mutate(_part=ibis.literal("rejected")),
            )
            for p in rejected(screen="untimed" if screened else None)
        ]
        if screened:
            keyed.append((None, csrc.table.aggregate(contacts=ibis._.count()).mutate(_part=ibis.literal("read"))))
        if contacts_only:
            keyed += [(None, p) for p in _derived_customer_parts(rows, spec=spec)]
        else:
            cparts = _customer_parts(begun, lookup, segment_by, recheck=first_try, as_of=as_of, spec=spec)
            static = tuple(s for s in segment_by if spec is None or s != spec.name)
            names = [None, None, ukey and ("customers", ukey, as_of_key, trim, rank, id_key)]
            names += [ukey and ("padded", ukey, static), ukey and ("repeated", ukey)]
            keyed += list(zip(names, cparts, strict=False))
        reuse_check = functools.partial(
            _reused_contact_ids, csrc, padded_ids=trim_ids, key=begun.key, hashed=begun.con.name == "duckdb"
        )
        # Integer ids: their span first (a Parquet footer answers it), for the bitmap screen.
        span = _fetch_fact(begun.con, ckey and ("id span", ckey), csrc.table.contact_id, fetch=engine.value_span)
        keyed += [(ckey and ("repeated ids", ckey, i), p) for i, p in enumerate(reuse_check(screen=True, span=span))]
        if first_try:
            used = {*contact_by, *(["topic"] if same_topic else [])}  # labels this query reads
            keyed += [(ckey and ("labels", ckey, *sorted(used)), p) for p in _padded_labels(csrc, used)]
        if weight is not None:
            keyed.append((None, _bad_weights(rows)))
        result = _fetch_parts(begun.con, agg, keyed)
        if not first_try:
            break
        found = result.groupby("_part")["_recheck"].sum()
        trim = found.get("contacts", 0) + found.get("padded", 0) > 0
        rank = trim or found.get("repeated", 0) > 0
        labels = found.get("labels", 0) > 0  # padded channel or topic values: labels trimmed on the rerun
        if not rank and not labels:
            break
    con = begun.con
    if screened:  # rows read, less those counted or rejected so far: rejected only by their times
        read = result["_part"] == "read"
        seen = result.loc[result["_part"] == "contacts", "contacts"].sum()
        rest = int(result.loc[read, "contacts"].sum()) - int(seen)
        result = result[~read]
        if rest:
            found = [engine.fetch(con, p) for p in rejected(screen="timed")]
            result = pd.concat([result, *[f.assign(_part="contacts") for f in found]], ignore_index=True)
    part = result.pop("_part")
    step_parts = part.isin(["start", "after", "end"])  # "after": a derived band's piece (see timesegments)
    steps = result[step_parts].rename(columns={"contacts": "n"})
    steps = steps.assign(_step=part[step_parts])[["_step", "period", *segment_by, "n"]]
    if spec is not None:
        params.update(new_window=str(new_window)) if spec.name == "new_vs_existing" else params.update(
            tenure_bands=[n for _, n in spec.edges]
        )
        notes.append(spec.describe())
        if contacts_only:
            notes.append(
                f"no customers table: for {spec.name}, each customer's signup is their first contact, so every "
                "new customer contacts in their first period by construction and new customers' frequency reads high"
            )
    if contacts_only:
        n_derived = int(result.loc[part == "derived", "contacts"].sum())
        ledger.record(
            "customers", f"derived from {csrc.label}: {_proxy_words(lookback)}", read=n_derived, used=n_derived
        )
        notes.append(proxy_note(lookback).replace("customers are derived", f"the {n_derived:,} customers are derived"))
    else:
        assert usrc is not None  # a customers table was given
        record_ledger(ledger, usrc, result[part == "customers"].rename(columns={"contacts": "n"}))
        if active_lookback is not None:
            notes.append("active_lookback applies only without a customers table; it was ignored")
    agg = result[part == "contacts"]
    record_ledger(ledger, csrc, agg.rename(columns={"contacts": "n"}))
    if result.loc[part == "ids", "contacts"].sum() > 0:  # some contact id repeats: is it another customer's?
        reused = _fetch_fact(con, ckey and ("reused", ckey, id_key), reuse_check())
    else:
        reused = result.iloc[:0]
    if len(reused) and reused["contacts"].sum() > 0:
        examples = sorted({v for c in ("_ex_lo", "_ex_hi") for v in reused[c] if isinstance(v, str)})
        ledger.warn("contacts", REUSED_CONTACT_ID, int(reused["contacts"].sum()), examples=examples)
    bad = result[part == "badweight"]
    if len(bad) and bad["contacts"].sum() > 0:
        examples = sorted({v for c in ("_ex_lo", "_ex_hi") for v in bad[c] if isinstance(v, str)})
        ledger.warn("contacts", f"{BAD_WEIGHT} {weight}", int(bad["contacts"].sum()), examples=examples)
    coverage = _coverage(agg, as_of, covers=csrc.covers)
    agg = agg[agg[REASON].isna()].drop(
        columns=[REASON, "_ex_lo", "_ex_hi", "_recheck", "_t_lo", "_t_hi"], errors="ignore"
    )
    agg["period"] = pd.to_datetime(agg["period"])

    if agg.empty and (first is None or last is None):
        notes.append("no contacts remain after exclusions and filters; see the ledger")
        out = pd.DataFrame(columns=["period", *cols, *COLUMNS, "complete"]).astype({"complete": bool})
        return FrequencyResult(out, ledger, tuple(notes), dict(params, by=cols))
    first = first if first is not None else agg["period"].min()
    last = last if last is not None else agg["period"].max()
    spine = periods.spine(first, last, grain)

    active = _active_customers(steps, segment_by, unit, spine)
    if contact_by and same_topic and agg["_extra_active"].sum() > 0:
        # Per-topic windows mark no per-customer first row, and one customer contacts through
        # several channels: customers active outside their lifetime are counted distinctly.
        outside = rows.filter(rows[REASON].isnull() & rows._outside)
        extra = engine.fetch(
            con, outside.group_by(["period", *segment_by]).aggregate(_extra_active=outside._cust.nunique())
        )
        extra["period"] = pd.to_datetime(extra["period"])
    else:
        extra = agg.groupby(["period", *segment_by], as_index=False)["_extra_active"].sum()
    active = active.merge(extra, on=["period", *segment_by], how="left")
    active["active_customers"] = active["active_customers"] + active["_extra_active"].fillna(0).astype("int64")
    active = active.drop(columns="_extra_active")

    # Every period x group is a row: no contacts -> 0, not a gap.
    levels = [spine] + [_levels(active if col in segment_by else agg, col) for col in cols]
    if spec is not None:  # every band, in band order
        levels[1 + cols.index(spec.name)] = list(spec.labels)
    grid = pd.MultiIndex.from_product(levels, names=["period", *cols]).to_frame(index=False)
    out = grid.merge(agg.drop(columns="_extra_active"), on=["period", *cols], how="left")
    out = out.merge(active, on=["period", *segment_by], how="left")
    for col in ("contacts", "follow_ups", "contacting_customers", "active_customers"):
        out[col] = out[col].fillna(0).astype("int64")
    out = _derive(out, weight is not None)
    out["complete"] = periods.complete(out["period"], grain, *coverage)
    if not out["complete"].all():
        notes.append(_partial_note(out, grain, coverage))
    empty = out[out["active_customers"] == 0]
    if len(empty):
        groups = empty[cols].drop_duplicates().astype(str).agg("/".join, axis=1).tolist() if cols else ["all customers"]
        notes.append(
            f"{len(empty)} period-group row(s) have no active customers, so their frequency is NaN "
            f"(e.g. {', '.join(groups[:3])})"
        )
    out = out.sort_values(["period", *cols], kind="stable", key=timesegments.sort_key(spec)).reset_index(drop=True)
    for note in notes:
        warnings.warn(note, KitWarning, stacklevel=3) if "NaN" in note else None
    return FrequencyResult(out, ledger, tuple(notes), dict(params, by=cols))


def _lookup(begun, segment_by, unit, *, own_read: bool, spec=None) -> ir.Table:
    """:func:`kit.core.prepare.customer_lookup` with each customer's first and last active period
    (``_sp``, ``_cp``), computed once per customer, not per contact.

    ``own_read``: classify the customers afresh from their own read, so that each use of the lookup
    stays a plain scan instead of a result the engine materialises to share (cheaper when there is
    no ranking window to share, i.e. with ``unique_ids``); otherwise every call returns the same
    expression, which the query computes once.
    """
    classified = begun.customers
    if own_read and not begun.cached:
        usrc = begun.tables["customers"]
        classified = classify_customers(
            replace(usrc, table=usrc.table.view()), padded=begun.padded, unique_ids=True, key=begun.key
        )
    lookup = customer_lookup(classified, segment_by, padded=begun.padded)
    bounds = spec.boundaries(lookup._signup, unit) if spec is not None else {}  # _b1.._bk: see timesegments
    return lookup.mutate(
        _sp=engine.period_start(lookup._signup, unit), _cp=engine.period_start(lookup._churn, unit), **bounds
    )


def _classified_rows(
    csrc,
    *,
    padded_ids: bool,
    padded_labels: bool = True,
    key=None,
    lookup,
    unit,
    direction,
    weight,
    tz,
    same_topic,
    dedup_seconds,
    contact_by,
    first,
    last,
    lookback_seconds: float = 0,
    as_of=None,
    spec=None,
) -> ir.Table:
    """The contact rows that pass the row-level checks, with their customer's segments and their
    exclusion reason (NULL: counted); with a customers table, grouped.

    The window runs only on these rows (slim: id, clock, contact id, period). With a customers
    table its rows are then grouped per customer, period, contact attributes and duplicate id
    (every row of a group shares its reason), and the groups meet the customer lookup: a row per
    group with ``_n`` rows, ``_nf`` follow-ups, ``_tl``/``_th`` (first and last ``_clock``),
    ``_nfirst`` (over contact attributes without same_topic: the customer's first row of the
    period) and, with a weight, ``_w`` (its exact sum), ``_nb``/``_bl``/``_bh`` (bad weights: count,
    two examples). Outside ``first``/``last`` a group has no period (all such rows of a customer are
    one group; duplicates keep theirs). Without a customers table (``lookup=None``) every row is
    returned, with ``follow_up``, ``_first``, ``_clock`` and ``_w``/``_wbad``, and ``_until``: the
    last period the contact keeps its customer active, the one holding the contact's local time
    plus ``lookback_seconds``; every counted contact's customer exists (no customer-level reason,
    no lifetime to fall outside). Either way: ``_reason, period, *contact_by, <segments>, _cust,
    _cid, _outside`` and ``_x`` (a duplicate's contact id, its example in the ledger). The rows
    that fail a row-level check are counted apart (:func:`_rejected_counts`).
    """
    c = _contact_base(
        csrc,
        direction=direction,
        weight=weight,
        tz=tz,
        padded_ids=padded_ids,
        as_of=as_of,
        key=key,
        padded_labels=padded_labels,
    )
    # The period is cut after the window (less to sort and hold) unless the window reads it: for
    # ``_first`` (below) when the clock is an instant, whose period needs the local time.
    local_clock = clock_is_local(csrc, tz)
    needs_first = bool(contact_by) and not same_topic
    if not local_clock and (needs_first or lookup is None):
        c = c.mutate(period=engine.period_start(c.local_ts, unit))
    extra_cols = [
        *contact_by,
        *(["_weight", "_wbad"] if weight is not None else []),
        *(["topic"] if same_topic and "topic" in c.columns and "topic" not in contact_by else []),
    ]
    until = {}
    if lookup is None:  # period p starts at or before t + lookback  <=>  p <= the period holding t + lookback
        until["_until"] = engine.period_start(c.local_ts + ibis.interval(seconds=round(lookback_seconds)), unit)
        if spec is not None:  # a derived grouping reads signup as the customer's first contact (its day)
            until["_day"] = c.local_ts.date()
    row_ok = c._row_ok
    if csrc.reads_parse:
        # DuckDB prices every filter it cannot read from the file's statistics at a fifth of its input.
        # Split, the checks of parsed times are one such filter above the scan's own (direction): the
        # groups were priced below the customers, and the join was built on the groups (at 10M contacts
        # 1.2 s against 0.6 s). As one filter (NULL is not kept either way) they are priced once.
        row_ok = row_ok.fill_null(False)
    ok = c.filter(row_ok).select("_cust", "_clock", "_contact", *(["period"] if "period" in c.columns else []),
                                 *extra_cols, **until)  # fmt: skip
    # With contact attributes as groups, the copy of an exact duplicate that counts is the one with
    # the smallest attribute values (a defined choice rather than the engine's row order).
    # ``_first`` (a customer's first row of a period) only matters over contact attributes (see
    # _aggregate); with the local clock the window cuts the period anyway, and its _first costs nothing.
    ok = mark_follow_ups(
        ok,
        dedup_seconds=dedup_seconds,
        same_topic=same_topic,
        tiebreak=contact_by,
        period_unit=unit if needs_first or local_clock else None,
    )
    if "period" not in ok.columns:  # an instant clock: the local time once per row, after the window
        ok = ok.mutate(period=engine.period_start(engine.local_time(ok._clock), unit))
    # A duplicate's contact id: its example in the ledger (and, below, the key that keeps it apart).
    # In the contact id's own type: an 8-byte group key for integer ids (text only for its example).
    dup = ibis.ifelse(ok._duplicate, ok._contact, ibis.null(ok._contact.type())).name("_x")
    grouped = lookup is not None
    if lookup is None:
        j = ok.mutate(_cid=ok._cust, _cust_ok=ibis.literal(True), _sp=ok.period, _cp=ibis.null("date"))
        if spec is not None:
            j = j.mutate(_signup=j._day.min().over(ibis.window(group_by=j._cust)))
            j = j.mutate(**spec.boundaries(j._signup, unit))
        j = j.mutate(dup)
    else:
        # Every row of a customer, period (contact attributes) and duplicate id shares its reason and
        # group, so those groups (6M for 9M contacts) meet the lookup instead of the rows, on narrow keys.
        minute = engine.minute_of(ok._clock)  # the data's coverage is read in days
        group = dict(_n=ok.count(), _nf=ok.count(where=ok.follow_up), _tl=minute.min(), _th=minute.max())
        if needs_first:
            group["_nfirst"] = ok.count(where=ok._first)
        if weight is not None:  # an exact decimal sum (see _aggregate); bad weights with two examples
            group.update(
                _w=ok._weight.cast("decimal(38, 9)").sum(), _nb=ok._wbad.count(), _bl=ok._wbad.min(), _bh=ok._wbad.max()
            )
        # Rows outside start/end need no period (their reason and coverage do not use it): one group
        # per customer for all of them, and a NULL period marks them. Duplicates keep theirs (their
        # reason comes first, and the ledger's examples are taken per period).
        keep = engine.in_periods(ok.period, first, last) | ok._duplicate
        period = ibis.ifelse(keep, ok.period, ibis.null("date"))
        ok = ok.group_by(["_cust", period.name("period"), *contact_by, dup]).aggregate(**group)
        j = ok.left_join(lookup, ok._cust == lookup._cid)
    in_range = engine.in_periods(j.period, first, last) & (j.period.notnull() if grouped else True)
    # Exact duplicates of a known customer's contacts are their own reason (they count as such even
    # outside the requested periods); under a customer-level reason they stay in its count.
    reason = ibis.cases(
        (j._cid.isnull(), ibis.literal("unknown customer")),
        (~j._cust_ok, ibis.literal("customer excluded")),
        (j._x.notnull(), ibis.literal("duplicate contact_id")),
        *([] if first is None and last is None else [(~in_range, ibis.literal(OUT_OF_RANGE))]),
        else_=ibis.null("string"),
    )
    outside = ((j.period < j._sp) | (j._cp.notnull() & (j.period > j._cp))).fill_null(False)
    segments = [
        col
        for col in (lookup.columns if lookup is not None else [])
        if col not in ("_cid", "_cust_ok", "_signup", "_churn", "_sp", "_cp") and not col.startswith("_b")
    ]
    if spec is not None:  # the contact's band in its own period (before signup: the first band, "new")
        derived_label = {spec.name: spec.label(j.period, j)}
    return j.select(
        reason.name(REASON),
        "period",
        *contact_by,
        *segments,
        **(derived_label if spec is not None else {}),
        _cust=j._cust,
        _cid=j._cid,
        **(
            {c: j[c] for c in ("_n", "_nf", "_tl", "_th", *(["_nfirst"] if needs_first else []))}
            if grouped
            else {
                "follow_up": j.follow_up,
                **({"_first": j._first} if needs_first else {}),
                "_clock": j._clock,  # the data's coverage (see _aggregate)
            }
        ),
        **({c: j[c] for c in ("_w", "_nb", "_bl", "_bh")} if weight is not None and grouped else {}),
        **({"_w": j._weight, "_wbad": j._wbad} if weight is not None and not grouped else {}),
        _outside=outside,
        _x=j._x,
        **({"_until": j._until} if lookup is None else {}),
        **({f"_b{i}": j[f"_b{i}"] for i in range(1, len(spec.edges) + 1)} if lookup is None and spec else {}),
    )


def _bad_weights(rows: ir.Table) -> ir.Table:
    """Counted contacts whose weight is not a finite number (``_part`` "badweight"), with two examples."""
    if "_nb" in rows.columns:  # grouped rows (see _classified_rows)
        bad = rows.filter(rows[REASON].isnull() & (rows._nb > 0))
        counts = dict(contacts=bad._nb.sum(), _ex_lo=bad._bl.min(), _ex_hi=bad._bh.max())
    else:
        bad = rows.filter(rows[REASON].isnull() & rows._wbad.notnull())
        counts = dict(contacts=bad.count(), _ex_lo=bad._wbad.min(), _ex_hi=bad._wbad.max())
    return bad.aggregate(**counts).mutate(_part=ibis.literal("badweight"))


def _rejected_counts(
    csrc, *, direction: str, padded_ids: bool, as_of=None, key=None, screen: str | None = None
) -> list[ir.Table]:
    """Counts (``contacts``) and examples of the contact rows that fail a row-level check, by
    ``_reason``: missing customer_id or created_at, unparseable created_at and, out of scope, the
    wrong direction. They need no customer: a row's own defect or scope comes before its customer's.

    Typed timestamps are never unparseable: there is one read per reason, each a filter on one
    column that the engine applies in its scan (Parquet statistics skip the null checks), and an
    aggregate of the table itself (no projection: fewer nodes to compile). Text timestamps are
    read once, every rejected row getting the first reason that applies. ``screen`` splits that
    read where each read parses the text again (see :func:`contact_frequency`): ``"untimed"``, the
    rows failing a check that reads no time (customer id, direction), whose times are then parsed
    for the reasons that come first; ``"timed"``, every other rejected row, which needs every time parsed.
    """
    t = csrc.table.view()
    tests = row_tests(replace(csrc, table=t), direction=direction, padded_ids=padded_ids, as_of=as_of, key=key)
    checks = [(r, test) for test, r in row_reasons(tests, direction)]
    example_of = {r: tests[col] for r, col in EXAMPLE_COLUMNS["contacts"].items() if col in tests and col != "_cust"}

    def counted(where, reason: ir.StringValue, example: ir.Value | None) -> ir.Table:
        # Grouped by reason: no row for a reason no row has
        bad = t.filter(where).mutate(**{REASON: reason})
        if example is None:
            return bad.group_by(REASON).aggregate(contacts=bad.count())
        example = example.cast("string")
        return bad.group_by(REASON).aggregate(contacts=bad.count(), _ex_lo=example.min(), _ex_hi=example.max())

    if t.created_at.type().is_string() or "_kit_raw_ts" in t.columns:  # text, parsed or not (prepared_contacts)
        reason = _first_reason(*[(test, r) for r, test in checks])
        example = ibis.cases(
            *[(reason == r, e.cast("string")) for r, e in example_of.items()], else_=ibis.null("string")
        )
        where = ~tests["_row_ok"]
        if screen is not None:  # the engine filters the rows before it parses their times
            untimed = (tests["_missing_cust"] | tests["_wrong_direction"]).fill_null(False)
            where = untimed if screen == "untimed" else where & ~untimed
        return [counted(where, reason, example)]
    # Each read takes the rows that fail its check and pass every earlier one.
    checks = [
        (r, test)
        for r, test in checks
        if r != "unparseable created_at"
        and not (r.startswith(f"{SCOPE_PREFIX}direction") and (direction == "all" or "direction" not in t.columns))
    ]
    return [
        counted(
            functools.reduce(operator.and_, [~earlier for _, earlier in checks[:i]], test),
            ibis.literal(r),
            example_of.get(r),
        )
        for i, (r, test) in enumerate(checks)
    ]


def _aggregate(
    rows: ir.Table, by: list[str], *, contact_by, same_topic: bool, weighted: bool, recheck: bool = False
) -> ir.Table:
    """Counts per reason, period and group, with two examples per reason, in one pass over ``rows``.

    Two levels: first per customer (only counted rows and customer-level reasons keep their
    customer; other excluded rows collapse), then per period and group. Rows that
    :func:`_classified_rows` grouped (``_n``) are the first level already. The customer level gives the
    distinct customers as a plain count and the sum of squared per-customer counts (``_sumsq``,
    see :func:`dispersion`) without a second pass over the rows, which would repeat the follow-up
    window. ``_extra_active`` counts counted customers contacting outside their active lifetime,
    who are active in that period too; over contact attributes (``contact_by``) it must add up to
    the customers of a period, so there each customer counts at its first row of the period
    (``_first``, from the per-customer window), and with ``same_topic`` (no per-customer window)
    it only says whether :func:`contact_frequency` needs a distinct count.
    """
    used = rows[REASON].isnull()
    keys = [REASON, "period", *by]
    # The customer level's keys carry the examples, so no per-customer state holds them: the customer
    # for counted rows and customer-level reasons (their example), the contact id for duplicates.
    customer_reason = rows[REASON].isin(list(CUSTOMER_REASONS))
    cust = ibis.ifelse(used | customer_reason, rows._cust, ibis.null(rows._cust.type()))
    # The data's coverage: first and last time of a contact that counts or would count but for
    # start/end (see _coverage).
    covered = used | (rows[REASON] == OUT_OF_RANGE)
    # padded ids: only those without a customer are tested (see contact_frequency); integer ids never are
    padded = ibis.literal(False)
    if rows._cust.type().is_string():
        padded = ibis.cases((rows._cid.isnull() & rows._cust.notnull(), engine.is_padded(rows._cust)), else_=False)
    if "_n" in rows.columns:  # grouped already, per customer (see _classified_rows): these are the groups
        none = ibis.null(rows._tl.type())
        per = rows.select(
            *keys,
            _c=rows._cust,
            _d=rows._x,
            _n=rows._n,
            _f=ibis.ifelse(used, rows._nf, 0),
            _o=ibis.ifelse(used & rows._outside, rows._nfirst if contact_by and not same_topic else rows._n, 0),
            _tl=ibis.ifelse(covered, rows._tl, none),
            _th=ibis.ifelse(covered, rows._th, none),
            **({"_w": ibis.ifelse(used, rows._w, ibis.null(rows._w.type()))} if weighted else {}),
            **({"_r": padded.cast("int64")} if recheck else {}),
        )
    else:
        first_rows = rows._first if contact_by and not same_topic else ibis.literal(True)
        outside = rows.count(where=used & first_rows & rows._outside)
        minute = engine.minute_of(rows._clock)
        first = dict(
            _n=rows.count(),
            _f=rows.count(where=used & rows.follow_up),
            _o=outside,
            _tl=minute.min(where=covered),
            _th=minute.max(where=covered),
        )
        if weighted:
            # Summed as an exact decimal: a float sum depends on the engine's thread order in the last digit,
            # and the same inputs must give the same numbers.
            first["_w"] = rows._w.cast("decimal(38, 9)").sum(where=used)
        if recheck:
            first["_r"] = rows.count(where=padded)
        per = rows.group_by([*keys, cust.name("_c"), rows._x.name("_d")]).aggregate(**first)
    counted = per[REASON].isnull()
    example = ibis.cases(
        (counted, ibis.null("string")),
        (per[REASON].isin(list(CUSTOMER_REASONS)), per._c.cast("string")),
        else_=per._d.cast("string"),
    )
    # Minutes become instants; a naive clock is UTC wall-clock time in a UTC zone, where an instant's
    # local time is that wall-clock time. Once per group, not per row.
    lo, hi = engine.from_minute(per._tl.min()), engine.from_minute(per._th.max())
    if lo.type().timezone is not None:
        lo, hi = engine.local_time(lo), engine.local_time(hi)
    metrics = dict(
        contacts=per._n.sum(),
        follow_ups=per._f.sum(),
        contacting_customers=per.count(where=counted),
        _extra_active=per._o.sum() if contact_by else per.count(where=per._o > 0),
        _ex_lo=example.min(),
        _ex_hi=example.max(),
        _t_lo=lo,
        _t_hi=hi,
        _sumsq=(per._n * per._n).sum(where=counted),
    )
    if weighted:
        metrics["_weight_sum"] = per._w.sum().cast("float64")
    if recheck:
        metrics["_recheck"] = per._r.sum()
    return per.group_by(keys).aggregate(**metrics)


def _coverage(agg: pd.DataFrame, as_of, *, covers=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The data's coverage, first and last day, from the contacts' aggregate rows (:func:`_aggregate`):
    the days of the first and last contact that counts or would count but for ``start``/``end``;
    with ``as_of``, the last day is ``as_of``. ``covers`` (:attr:`Source.covers`: the span of the data
    these contacts were filtered from) widens it. ``(None, None)`` when no contact counts.
    """
    lo, hi = pd.to_datetime(agg["_t_lo"]).min(), pd.to_datetime(agg["_t_hi"]).max()
    if pd.isna(lo):
        return None, None
    if covers is not None and covers[0] is not None:
        lo, hi = min(lo, pd.Timestamp(covers[0])), max(hi, pd.Timestamp(covers[1]))
    last = periods.parse_date(as_of).normalize() if as_of is not None else pd.Timestamp(hi).normalize()
    return pd.Timestamp(lo).normalize(), last


def _partial_note(out: pd.DataFrame, grain: str, coverage) -> str:
    """Which periods are partial and why, in one line."""
    partial = sorted(out.loc[~out["complete"], "period"].unique())
    shown = ", ".join(periods.label(p, grain) for p in partial[:4]) + (", ..." if len(partial) > 4 else "")
    lo, hi = coverage
    span = "no counted contacts" if lo is None else f"the data covers {lo:%Y-%m-%d} to {hi:%Y-%m-%d}"
    return (
        f"{len(partial)} partial {grain}(s) ({shown}): {span}, so they are marked complete=False and "
        "left out of seasonality, anomalies, comparisons and forecasts"
    )


def _levels(frame: pd.DataFrame, col: str) -> list:
    return sorted(frame[col].dropna().unique().tolist(), key=str)


def _customer_parts(begun, lookup, segment_by, *, recheck: bool = False, as_of=None, spec=None) -> list[ir.Table]:
    """Aggregates over the customers that ride along in the contacts query (one round trip):
    the steps of the active-customer count (usable customers by first period and by churn period)
    and the customers' counts by reason for the ledger. Columns as in :func:`_one_query`.
    ``lookup``: a callable returning the :func:`_lookup` expression.
    ``recheck``: also count (in ``_recheck``; see :func:`contact_frequency`) the customers whose
    id or segment value is padded text (``_part`` "padded") and the repeated customer ids
    ("repeated"), as stored. ``as_of``: customers who sign up later are not active (their reason in
    the ledger says so) and later churn dates are not known yet.
    """
    classified, src = begun.customers, begun.tables["customers"]
    ok = lookup().filter(ibis._._cust_ok)
    gone = lookup().filter(ibis._._cust_ok & ibis._._cp.notnull())
    if as_of is not None:
        day = periods.parse_date(as_of).date()
        ok = ok.filter(ok._signup <= day)
        gone = gone.filter((gone._signup <= day) & (gone._churn <= day))
        late = classified[REASON].isnull() & (classified.signup > day)
        classified = classified.mutate(**{REASON: ibis.ifelse(late, ibis.literal(SIGNED_UP_LATER), classified[REASON])})
    static = [s for s in segment_by if spec is None or s != spec.name]
    if spec is not None:
        # A derived band changes over a customer's lifetime: count each lifetime's pieces, one per band.
        if as_of is not None:  # churn after the as_of day is not known yet
            ok = ok.mutate(_cp=ibis.ifelse(ok._churn <= day, ok._cp, ibis.null("date")))
        ok = timesegments.band_pieces(ok, spec, static)
        gone = ok.filter(ok._cp.notnull())
    parts = [
        ok.group_by(["_sp", *segment_by, *(["_kind"] if spec is not None else [])])
        .aggregate(contacts=ok.count())
        .mutate(_part=ibis._._kind if spec is not None else ibis.literal("start"), period=ibis._._sp),
        gone.group_by(["_cp", *segment_by])
        .aggregate(contacts=gone.count())
        .mutate(_part=ibis.literal("end"), period=ibis._._cp),
        classified.group_by(REASON)
        .aggregate(contacts=classified.count(), **example_metrics(classified, src.name))
        .mutate(_part=ibis.literal("customers")),
    ]
    if recheck:
        t = src.table.view()
        text = [c for c in ["customer_id", *static] if t[c].type().is_string()]
        # ids are dense (a test of the first and last character settles nearly every one); labels are not
        padded = functools.reduce(
            operator.or_, [engine.is_padded(t[c], dense=c == "customer_id") for c in text], ibis.literal(False)
        )
        ids = src.table.view()
        ids = ids.filter(ids.customer_id.notnull()).group_by("customer_id").aggregate(n=ibis._.count())
        # Two aggregates, each over its own read: with a distinct count beside the padded count, the
        # engine would materialise the customers to combine them.
        parts += [
            t.aggregate(_recheck=t.count(where=padded)).mutate(_part=ibis.literal("padded")),
            ids.filter(ids.n > 1).aggregate(_recheck=ibis._.count()).mutate(_part=ibis.literal("repeated")),
        ]
    return parts


def _derived_customer_parts(rows: ir.Table, *, spec=None) -> list[ir.Table]:
    """Without a customers table: the steps of the active-customer count and the number of customers.

    Each counted contact keeps its customer active from its own period to ``_until`` (see
    :func:`_classified_rows`); contacts outside the requested periods count too, since a contact
    before ``start`` makes its customer active in the lookback. Both ends grow with the contact's
    time, so in each customer's time order a run of overlapping windows opens where a contact's
    period lies after the previous contact's ``_until``, and closes where the next contact's
    period lies after its own ``_until``: one step per run (``_part`` "start" and "end", as
    :func:`_active_customers` reads them), not one per contact and period. ``_part`` "derived":
    the number of customers (one first run each). With a derived grouping (``spec``), each run is
    cut into one piece per band (:func:`kit.metrics.timesegments.run_pieces`).
    """
    counted = rows.filter(rows[REASON].isnull() | (rows[REASON] == OUT_OF_RANGE))
    bounds = [c for c in rows.columns if c.startswith("_b")] if spec is not None else []
    spans = counted.select("_cust", "period", "_until", *bounds).distinct()
    w = ibis.window(group_by=spans._cust, order_by=[spans.period, spans._until])
    s = spans.mutate(_prev=spans._until.lag().over(w), _next=spans.period.lead().over(w))
    opens = s.filter(s._prev.isnull() | (s.period > s._prev))
    closes = s.filter(s._next.isnull() | (s._next > s._until))
    if spec is not None:
        # Runs numbered by their opening contact, then each run's first period and last active period.
        s = s.mutate(_open=ibis.ifelse(s._prev.isnull() | (s.period > s._prev), 1, 0))
        s = s.mutate(_run=s._open.sum().over(ibis.cumulative_window(group_by=s._cust, order_by=[s.period, s._until])))
        runs = s.group_by(["_cust", "_run", *bounds]).aggregate(_lo=s.period.min(), _hi=s._until.max())
        p = timesegments.run_pieces(runs, spec)
        return [
            p.group_by(["_sp", "_kind", spec.name])
            .aggregate(contacts=ibis._.count())
            .mutate(_part=ibis._._kind, period=ibis._._sp),
            p.group_by(["_cp", spec.name])
            .aggregate(contacts=ibis._.count())
            .mutate(_part=ibis.literal("end"), period=ibis._._cp),
            opens.filter(opens._prev.isnull()).aggregate(contacts=ibis._.count()).mutate(_part=ibis.literal("derived")),
        ]
    return [
        opens.group_by("period").aggregate(contacts=ibis._.count()).mutate(_part=ibis.literal("start")),
        closes.group_by(period=closes._until).aggregate(contacts=ibis._.count()).mutate(_part=ibis.literal("end")),
        opens.filter(opens._prev.isnull()).aggregate(contacts=ibis._.count()).mutate(_part=ibis.literal("derived")),
    ]


def _reused_contact_ids(
    csrc, *, padded_ids: bool, key=None, hashed: bool = False, screen: bool = False, span=None
) -> ir.Table | list[ir.Table]:
    """The rows whose contact_id other customers' rows carry too (``_part`` "reused"), with two example ids.

    Such rows are all counted (each is a contact of its own customer); the ledger warns about them.
    Two customers' ids differ when the smallest and largest of a contact id's customers do (cheaper
    than a distinct count). ``hashed`` (DuckDB) narrows the ids to check with 64-bit hashes first;
    it misses a reused id only if its customers' ids share a 64-bit hash.

    ``screen``: instead, two parts (``_part`` "ids", in ``contacts``) that add up to the number of
    rows whose contact id is not the first with its value: the ids, and minus their distinct count
    (with ``hashed``, hashes stand for text ids, and a collision only adds one). When the sum is 0,
    no id repeats, so none is reused: a distinct count costs less than half the grouping below
    (0.52 s against 1.25 s at 10M contacts), which then runs only for data whose ids do repeat.
    With ``span`` (integer ids' smallest and largest value, :func:`kit.core.engine.value_span`), one
    part counts the repeats with a bitmap instead (0.09 s).
    """
    t = csrc.table.view()
    if screen and span is not None:  # integer ids of a known span: one streaming count (engine.repeated_values)
        return [t.aggregate(contacts=engine.repeated_values(t.contact_id, span=span)).mutate(_part=ibis.literal("ids"))]
    if screen:  # over every id (rows without a customer only add false alarms, never hide a reuse)
        ids = t.contact_id.hash() if hashed and t.contact_id.type().is_string() else t.contact_id
        # Apart, so that the engine streams each (together, DuckDB shares the read between them through a buffer).
        return [
            t.aggregate(contacts=t.contact_id.count()).mutate(_part=ibis.literal("ids")),
            t.aggregate(contacts=-ids.nunique()).mutate(_part=ibis.literal("ids")),
        ]
    t = t.select(_id=t.contact_id, _c=engine.clean_key(t.customer_id, padded=padded_ids, key=key))
    t = t.filter(t._id.notnull() & t._c.notnull())
    if hashed:
        # A group-by over every contact id's text held 1.4 GiB at 10M contacts. First over 8-byte hashes:
        # an id whose customers' hashes differ is a candidate (a colliding id only adds one), and only
        # the candidates' rows are grouped by their real id below.
        h = t.mutate(_h=t._id.hash(), _ch=t._c.hash())
        cand = h.group_by("_h").aggregate(_hlo=h._ch.min(), _hhi=h._ch.max())
        cand = cand.filter(cand._hlo != cand._hhi).select("_h")
        t = h.filter(h._h.isin(cand._h)).select("_id", "_c")
    ids = t.group_by("_id").aggregate(_lo=t._c.min(), _hi=t._c.max(), _n=t.count())
    ids = ids.filter(ids._lo != ids._hi)
    example = ids._id.cast("string")
    return ids.aggregate(contacts=ids._n.sum(), _ex_lo=example.min(), _ex_hi=example.max()).mutate(
        _part=ibis.literal("reused")
    )


#: Fetched parts that the data alone settles, per connection (see contact_frequency): small frames.
FACTS = BoundedCache(64)


def _fetch_parts(con, agg: ir.Table, keyed: list[tuple[Any, ir.Table]]) -> pd.DataFrame:
    """Fetch ``agg`` and the parts in one query, except the keyed parts already in :data:`FACTS`;
    the fetched keyed parts go there. The rejected rows' ``_part`` comes back as "contacts"."""
    known, live = [], []
    for i, (key, expr) in enumerate(keyed):
        hit = FACTS.get(con, key) if key else None
        if hit is not None:
            known.append(hit)
        else:
            live.append(expr.mutate(_i=ibis.literal(i if key else -1, "int32")))
    result = engine.fetch(con, _one_query(agg.mutate(_i=ibis.literal(-1, "int32")), live))
    for i, (key, _) in enumerate(keyed):
        if key:
            frame = result[result["_i"] == i]
            if len(frame) or FACTS.get(con, key) is None:
                FACTS.put(con, key, frame.drop(columns="_i"))
    result = result.drop(columns="_i")
    if known:  # stored under other options: only this query's columns (an earlier grouping's are not ours)
        dtypes = result.dtypes
        result = pd.concat([result, *[k.reindex(columns=result.columns) for k in known]], ignore_index=True)
        for col, dtype in dtypes.items():  # the types the query gave (text stays text, not object)
            if result[col].dtype != dtype:
                try:
                    result[col] = result[col].astype(dtype)
                except (TypeError, ValueError):  # integers now holding NULLs stay as pandas made them
                    pass
    result["_part"] = result["_part"].replace("rejected", "contacts")
    return result


def _fetch_fact(con, key, expr: ir.Expr, *, fetch=None) -> Any:
    """``fetch(con, expr)`` (default :func:`kit.core.engine.fetch`: a part on its own) from
    :data:`FACTS` when ``key`` is there, else fetched and stored under ``key``."""
    hit = FACTS.get(con, key) if key else None
    if hit is None:
        hit = (fetch or engine.fetch)(con, expr)
        if key:
            FACTS.put(con, key, hit)
    return hit


def _padded_labels(csrc, used) -> list[ir.Table]:
    """The contacts whose channel or topic is blank or padded text (``_part`` "labels", in ``_recheck``).

    The first query labels them as stored (no TRIM per row in the follow-up window's input); when
    some need trimming, :func:`contact_frequency` runs again with trimmed labels.
    """
    t = csrc.table.view()
    text = [
        c
        for c in ("channel", "topic")
        if c in used and c in t.columns and t[c].type().is_string() and c not in csrc.clean
    ]
    if not text:
        return []
    padded = functools.reduce(operator.or_, [engine.is_padded(t[c]) for c in text])
    return [t.aggregate(_recheck=t.count(where=padded)).mutate(_part=ibis.literal("labels"))]


def dispersion(counts: ArrayLike, sumsq: ArrayLike, customers: ArrayLike) -> np.ndarray:
    """Variance of contacts between customers over its Poisson value (1: Poisson; NaN: undefined).

    ``s^2 = (sumsq - counts^2 / N) / (N - 1)`` is the sample variance of the per-customer counts
    (customers without a contact count as 0); the dispersion is ``s^2 / (counts / N)``.

    Examples
    --------
    >>> dispersion([4], [6], [4]).round(3).tolist()  # counts 2, 1, 1, 0: variance 2/3, mean 1
    [0.667]
    """
    c, q, n = (np.asarray(v, dtype=float) for v in (counts, sumsq, customers))
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (q - c**2 / n) / (n - 1)
        return np.where((n > 1) & (c > 0), np.maximum(var, 0.0) / (c / n), np.nan)


def _one_query(agg: ir.Table, parts: list[ir.Table]) -> ir.Table:
    """``agg`` (``_part`` "contacts") and ``parts`` as one union, missing columns as NULL."""
    agg = agg.mutate(_part=ibis.literal("contacts"))
    return ibis.union(
        agg,
        *[p.select(**{c: p[c] if c in p.columns else ibis.null(agg[c].type()) for c in agg.columns}) for p in parts],
        distinct=False,
    )


def _active_customers(steps: pd.DataFrame, segment_by, unit, spine) -> pd.DataFrame:
    """Active customers per period by an interval count, never a customer x period cross join.

    A customer is active in period p when signup <= end(p) and (no churn or churn >= start(p)),
    i.e. trunc(signup) <= p <= trunc(churn). ``steps`` comes from :func:`_customer_steps`.
    """
    starts = steps[steps["_step"] != "end"].reset_index(drop=True)
    ends = steps[steps["_step"] == "end"].drop(columns="_step").reset_index(drop=True)
    step = periods.GRAINS[[g for g, v in periods.GRAINS.items() if v[0] == unit][0]][1]
    offset = pd.tseries.frequencies.to_offset(step)
    starts["period"] = pd.to_datetime(starts["period"])
    # "after": a derived band's piece starts in the period after the one given (see timesegments.band_pieces)
    after = (starts["_step"] == "after").to_numpy()
    starts.loc[after, "period"] = starts.loc[after, "period"] + offset
    starts = starts.drop(columns="_step")
    ends["period"] = pd.to_datetime(ends["period"]) + offset  # churned customers leave after their churn period
    keys = segment_by or ["_all"]
    for frame in (starts, ends):
        if not segment_by:
            frame["_all"] = "all"
    delta = pd.concat([starts.assign(d=starts["n"]), ends.assign(d=-ends["n"])])
    # Fold everything before the spine into its first period, drop what comes after it.
    delta["period"] = delta["period"].clip(lower=spine[0])
    delta = delta[delta["period"] <= spine[-1]]
    groups = sorted(set(map(tuple, pd.concat([starts[keys], ends[keys]]).drop_duplicates().values.tolist())), key=str)
    if not groups:
        groups = [("all",)] if not segment_by else []
    table = delta.groupby(["period", *keys])["d"].sum().unstack(keys, fill_value=0).reindex(spine, fill_value=0)
    table = table.reindex(
        columns=pd.MultiIndex.from_tuples(groups, names=keys)
        if len(keys) > 1
        else pd.Index([g[0] for g in groups], name=keys[0]),
        fill_value=0,
    )
    counts = table.cumsum().stack(list(range(len(keys))), future_stack=True).rename("active_customers").reset_index()
    counts = counts.rename(columns={"level_0": "period"})
    counts.columns = ["period", *keys, "active_customers"]
    if not segment_by:
        counts = counts.drop(columns="_all")
    counts["active_customers"] = counts["active_customers"].astype("int64")
    return counts


def _derive(out: pd.DataFrame, weighted: bool) -> pd.DataFrame:
    active = out["active_customers"].astype(float).where(out["active_customers"] > 0)
    out["cases"] = out["contacts"] - out["follow_ups"]
    out["frequency"] = out["contacts"] / active
    out["case_frequency"] = out["cases"] / active
    contacting = out["contacting_customers"].astype(float).where(out["contacting_customers"] > 0)
    out["contacts_per_contacting_customer"] = out["contacts"] / contacting
    out["repeat_contact_rate"] = out["follow_ups"] / out["contacts"].astype(float).where(out["contacts"] > 0)
    if "_sumsq" in out.columns:
        out["dispersion"] = dispersion(out["contacts"], out["_sumsq"].fillna(0), out["active_customers"])
    else:
        out["dispersion"] = np.nan
    out["frequency_ci_low"], out["frequency_ci_high"] = poisson_ci(
        out["contacts"], out["active_customers"], dispersion=out["dispersion"]
    )
    keep = [c for c in out.columns if c not in COLUMNS and not c.startswith("_")]
    cols = keep + COLUMNS
    if weighted:
        out["weighted_frequency"] = out["_weight_sum"].fillna(0) / active
        cols.append("weighted_frequency")
    return out[cols]
