"""Strategic Account Contact Frequency: touchpoints per strategic account per period, banded.

:func:`account_frequency` counts outbound touchpoints per strategic account per period,
banded 4-6 a month healthy, 7-10 optimal, 11+ possibly excessive, below 4 at risk
(:data:`kit.config.ACCOUNT_BANDS`), with a per-account trend and flags for under-served
accounts. The Customer Contact KPI (stakeholder coverage) is in :mod:`kit.metrics.coverage`.

Row-level work runs on the engine; only per-account x period counts are fetched.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from ..config import ACCOUNT_BANDS, DEFAULT_FREQ, DEFAULT_TZ
from ..core import engine, periods
from ..core.asof import cut_source
from ..core.dataset import accepts_dataset
from ..core.ledger import SCOPE_PREFIX, Ledger
from ..core.prepare import REASON, classify_contacts, customer_lookup, example_metrics, record_ledger
from ..core.prepare import start as start_tables
from ..core.redact import redact_frame
from ..core.results import Result
from ..core.sources import open_tables
from ..core.types import Backend, DateLike, MappingSpec, TableSource
from ..errors import DataError, ParameterError
from ..present.narrative import join, num

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["account_frequency", "band", "band_health", "check_bands", "top_n", "TopN", "AccountFrequency"]

_TRUE = ("true", "1", "yes", "y", "t")


# --------------------------------------------------------------------------- bands


def check_bands(bands: Sequence[tuple] | None = None) -> tuple:
    """Validate ``(label, low_inclusive, high_exclusive)`` bands: ascending, contiguous, from 0 to infinity."""
    bands = ACCOUNT_BANDS if bands is None else bands
    try:
        bands = tuple((str(lab), float(lo), float(hi)) for lab, lo, hi in bands)
    except (TypeError, ValueError):
        raise ParameterError("bands must be (label, low, high) triples, e.g. ('healthy', 4, 7)") from None
    if not bands:
        raise ParameterError("bands must not be empty")
    if bands[0][1] != 0 or bands[-1][2] != float("inf"):
        raise ParameterError("bands must start at 0 and the last one must be open-ended (high = inf)")
    for (l1, _, hi1), (l2, lo2, _) in zip(bands, bands[1:]):
        if hi1 != lo2:
            raise ParameterError(f"bands {l1!r} and {l2!r} must meet: {l1!r} ends at {hi1:g}, {l2!r} starts at {lo2:g}")
    if any(lo >= hi for _, lo, hi in bands):
        raise ParameterError("every band needs low < high")
    if len({b[0] for b in bands}) != len(bands):
        raise ParameterError("band labels must be unique")
    return bands


def band(per_month: float | Sequence[float] | pd.Series, *, bands: Sequence[tuple] | None = None) -> pd.Series:
    """Band label for touchpoints per month (an ordered categorical; NaN stays NaN).

    Bands are half-open ``[low, high)``. For whole counts this is exactly the
    material: 4-6 healthy, 7-10 optimal, 11+ possibly excessive, below 4 at risk.
    A fractional value (an average, or a converted weekly/quarterly count) keeps
    the band it has reached: 6.5 is still healthy because it has not reached the
    7 that optimal starts at, and 3.9 is at risk.

    Examples
    --------
    >>> band([3, 4, 6, 6.5, 7, 10, 10.5, 11]).tolist()
    ['at risk', 'healthy', 'healthy', 'healthy', 'optimal', 'optimal', 'optimal', 'possibly excessive']
    """
    bands = check_bands(bands)
    values = pd.Series(per_month, dtype=float) if not isinstance(per_month, pd.Series) else per_month.astype(float)
    if (values < 0).any():
        raise ParameterError("touchpoints per month cannot be negative")
    edges = [b[1] for b in bands] + [float("inf")]
    return pd.cut(values, edges, right=False, labels=[b[0] for b in bands], ordered=True)


def band_health(bands: Sequence[tuple] | None = None) -> dict[int, int]:
    """How good each band is, by its position (higher is better), for telling a drop from an improvement.

    With a band labelled ``"optimal"``, the closer a band is to it the better (so "possibly
    excessive" above it is worse than "optimal", like "healthy" below it); without one, more
    touchpoints are better.

    Examples
    --------
    >>> band_health()  # at risk, healthy, optimal, possibly excessive
    {0: -2, 1: -1, 2: 0, 3: -1}
    """
    labels = [b[0] for b in check_bands(bands)]
    if "optimal" not in labels:
        return {i: i for i in range(len(labels))}
    best = labels.index("optimal")
    return {i: -abs(i - best) for i in range(len(labels))}


# --------------------------------------------------------------------------- strategic selection


@dataclass(frozen=True)
class TopN:
    """Rule "the ``n`` customers with the largest ``by``" (e.g. top 20 by ARR)."""

    n: int
    by: str = "arr"


def top_n(n: int, by: str = "arr") -> TopN:
    """Strategic accounts = the ``n`` usable customers with the largest ``by`` (ties by id).

    Examples
    --------
    >>> top_n(20)
    TopN(n=20, by='arr')
    """
    if int(n) < 1:
        raise ParameterError(f"top_n needs n >= 1, not {n!r}")
    return TopN(int(n), by)


def _truthy(col):
    typ = col.type()
    if typ.is_boolean():
        return col.fill_null(False)
    if typ.is_numeric():
        return (col != 0).fill_null(False)
    return col.cast(dt.string).strip().lower().isin(list(_TRUE)).fill_null(False)


def _select_strategic(ok, strategic, columns):
    """Usable customers that are strategic, as an Ibis table (rule evaluated on the engine)."""
    if isinstance(strategic, str):
        m = re.fullmatch(r"\s*top\s+(\d+)(?:\s+by\s+(\w+))?\s*", strategic, flags=re.I)
        if m:
            strategic = TopN(int(m.group(1)), m.group(2) or "arr")
        elif strategic in columns:
            return ok.filter(_truthy(ok[strategic])), f"customers with the {strategic} flag"
        else:
            raise ParameterError(
                f"strategic={strategic!r} is not a customers column ({', '.join(columns)}) "
                "nor a rule like 'top 20 by arr'; pass a column, a list of ids or top_n(20)"
            )
    if isinstance(strategic, TopN):
        if strategic.by not in columns:
            raise ParameterError(f"cannot rank by {strategic.by!r}: not a customers column ({', '.join(columns)})")
        val = (
            ok[strategic.by].try_cast(dt.float64)
            if not ok[strategic.by].type().is_numeric()
            else ok[strategic.by].cast(dt.float64)
        )
        return (
            ok.mutate(_rank_val=val).order_by([ibis.desc("_rank_val"), "cid"]).limit(strategic.n).drop("_rank_val"),
            f"the top {strategic.n} customers by {strategic.by}",
        )
    if isinstance(strategic, (list, tuple, set, frozenset, pd.Series, pd.Index, np.ndarray)):
        ids = sorted({str(v).strip() for v in strategic if v is not None and str(v).strip()})
        if not ids:
            raise ParameterError("the list of strategic account ids is empty")
        return ok.filter(ok.cid.isin(ids)), f"{len(ids)} listed account ids"
    raise ParameterError("strategic must be a column name, a list of ids, top_n(n, by=...) or 'top N by COLUMN'")


def _info_columns(columns, owner) -> list[str]:
    return [c for c in ("name", owner, "arr") if c and c in columns]


def _as_of(con, src, as_of) -> pd.Timestamp:
    """``as_of`` as a date, default the last contact date (any direction) read from the raw table."""
    if as_of is not None:
        return periods.parse_date(as_of).normalize()
    # A plain scan of the raw column: cheaper than the classified table's window pass.
    ts = engine.local_time(engine.parse_instant(src.table.created_at))
    got = engine.fetch(con, src.table.aggregate(m=ts.max()))
    value = got["m"].iloc[0] if len(got) else None
    if value is None or pd.isna(value):
        raise DataError(
            f"no contact in {src.label} has a readable created_at, so there is no last day of data; pass as_of="
        )
    return pd.Timestamp(value).normalize()


# --------------------------------------------------------------------------- account frequency


@dataclass(frozen=True, repr=False)
class AccountFrequency(Result):
    """Touchpoints per strategic account per period, banded, with per-account flags.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per account and period while the account is a customer:
        ``customer_id, [name, owner], period, label, touchpoints, per_month, complete, band``.
        ``band`` is set for complete periods only (a partial month would read as at risk).
    accounts : pandas.DataFrame
        One row per account: ``last_touch, days_since_touch, recent_per_month,
        recent_band, previous_per_month, previous_band, change_per_month,
        dropped_band, quiet, at_risk, flagged, reason``.
    as_of : pandas.Timestamp
    freq : str
    bands : tuple
    n_periods, quiet_days : int
        The flag rule: mean per month over the last ``n_periods`` complete periods
        below the first band's upper edge (at risk), or no touch in ``quiet_days``.
    window : tuple of str
        Labels of the periods in the recent window.
    notes : tuple of str
    ledger : Ledger
    selection : str
        How the strategic accounts were chosen, in words.

    ``describe()`` says it in sentences, ``plot(ax=)`` draws the band heatmap,
    ``to_dict()`` gives JSON-safe values.
    """

    table: pd.DataFrame
    accounts: pd.DataFrame
    as_of: pd.Timestamp
    freq: str
    bands: tuple
    n_periods: int
    quiet_days: int
    window: tuple
    notes: tuple = ()
    ledger: Ledger | None = None
    selection: str = ""

    def __repr__(self) -> str:
        return f"AccountFrequency({self.sentences()[0]})"

    @property
    def frame(self) -> pd.DataFrame:
        """The account x period table (:attr:`table`), for displays that show a result's frame."""
        return self.table

    @property
    def flagged(self) -> list[str]:
        """Ids of flagged (under-served) accounts."""
        return self.accounts.loc[self.accounts["flagged"], "customer_id"].tolist()

    def redact(self, *, salt: str | None = None) -> AccountFrequency:
        """A copy with account names and ids replaced by stable pseudonyms (see :mod:`kit.core.redact`)."""
        return dataclasses.replace(
            self, table=redact_frame(self.table, salt=salt), accounts=redact_frame(self.accounts, salt=salt)
        )

    def _labels(self) -> dict:
        """Row label per account id: the name, with the id when two accounts share a name."""
        if "name" not in self.accounts.columns:
            return dict(zip(self.accounts["customer_id"], self.accounts["customer_id"]))
        names = self.accounts["name"].astype(str)
        dup = names.duplicated(keep=False)
        shown = names.where(
            ~dup | (names == self.accounts["customer_id"]),
            names + " (" + self.accounts["customer_id"].astype(str) + ")",
        )
        return dict(zip(self.accounts["customer_id"], shown))

    def band_table(self) -> pd.DataFrame:
        """Accounts (ids) x period labels of bands (the heatmap's data)."""
        return self.table.pivot(index="customer_id", columns="label", values="band")

    def plot(self, *, ax: Axes | None = None, annotate: bool = True, periods_shown: int | None = 12) -> Axes:
        """Heatmap of accounts (rows, flagged first) by period (columns), coloured by band; returns the Axes.

        Cells are annotated with the touchpoints; shows the last ``periods_shown`` periods
        (all when ``None``).
        """
        import seaborn as sns
        from matplotlib.colors import ListedColormap

        from ..present.plots import BAND_COLORS, new_axes

        order = self.accounts.sort_values(["flagged", "recent_per_month"], ascending=[False, True])[
            "customer_id"
        ].tolist()
        labels = [b[0] for b in self.bands]
        t = self.table.assign(_code=self.table["band"].cat.codes.replace(-1, np.nan))
        if periods_shown:
            keep = sorted(t["period"].unique())[-int(periods_shown) :]
            t = t[t["period"].isin(keep)]
        codes = t.pivot(index="customer_id", columns="label", values="_code").reindex(order)
        counts = t.pivot(index="customer_id", columns="label", values="touchpoints").reindex(order)
        names = self._labels()
        codes.index = [names[i] for i in codes.index]
        _, ax = new_axes(ax, figsize=(max(8, 0.45 * codes.shape[1] + 3), max(3, 0.28 * len(order) + 1.5)))
        cmap = ListedColormap([BAND_COLORS.get(lab, "#999999") for lab in labels])
        sns.heatmap(
            codes,
            ax=ax,
            cmap=cmap,
            vmin=-0.5,
            vmax=len(labels) - 0.5,
            cbar=True,
            annot=counts.to_numpy() if annotate else False,
            fmt=".0f",
            annot_kws={"fontsize": 7},
            linewidths=0.5,
            linecolor="white",
        )
        cbar = ax.collections[0].colorbar
        assert cbar is not None  # heatmap(cbar=True) always draws one
        cbar.set_ticks(range(len(labels)))
        cbar.set_ticklabels(labels)
        ax.set_xlabel(f"{self.freq} (blank: partial period or not a customer)")
        ax.set_ylabel("")
        ax.set_title(f"Strategic account touchpoints per {self.freq}, banded per month")
        return ax

    def describe(self) -> str:
        """The band mix of the recent window and each flagged account, in sentences."""
        return " ".join(self.sentences())

    def sentences(self) -> list[str]:
        """The sentences of :meth:`describe`, one per list item (for bullet lists)."""
        a = self.accounts.assign(_shown=self.accounts["customer_id"].map(self._labels()))
        key = "_shown"
        counts = a["recent_band"].value_counts().reindex([b[0] for b in self.bands], fill_value=0)
        win = (
            f"{self.window[0]} to {self.window[-1]}"
            if len(self.window) > 1
            else (self.window[0] if self.window else "n/a")
        )
        lines = [
            f"{len(a)} strategic accounts ({self.selection}) as of {self.as_of:%Y-%m-%d}. Over the last "
            f"{len(self.window)} complete {self.freq}s ({win}), by mean touchpoints per month: "
            + join(f"{n} {lab}" for lab, n in counts.items())
            + "."
        ]
        flagged = a[a["flagged"]].sort_values("recent_per_month")
        if flagged.empty:
            lines.append(
                f"No account is under-served (below {num(self.bands[0][2], 0)} touchpoints a month, "
                f"or quiet for {self.quiet_days} days)."
            )
        else:
            lines.append(
                f"{len(flagged)} account(s) need attention: "
                + "; ".join(f"{r[key]} ({r['reason']})" for _, r in flagged.iterrows())
                + "."
            )
        dropped = a[a["dropped_band"] & ~a["flagged"]]
        if len(dropped):
            lines.append(
                f"{len(dropped)} more moved to a worse band than in the {len(self.window)} {self.freq}s before: "
                + ", ".join(f"{r[key]} ({r['previous_band']} to {r['recent_band']})" for _, r in dropped.iterrows())
                + "."
            )
        excessive = a[a["recent_band"] == self.bands[-1][0]]
        if len(excessive):
            lines.append(
                f"{len(excessive)} account(s) are {self.bands[-1][0]}: check the client's preferred "
                "cadence before adding more touches."
            )
        return lines


@accepts_dataset
def account_frequency(
    contacts: TableSource,
    customers: TableSource,
    *,
    strategic: str | Sequence[str] = "strategic",
    freq: str = DEFAULT_FREQ,
    direction: str = "outbound",
    bands: Sequence[tuple] | None = None,
    n_periods: int = 3,
    quiet_days: int = 30,
    as_of: DateLike = None,
    start: DateLike = None,
    owner: str = "csm_owner",
    tz: str | None = None,
    mapping: MappingSpec = None,
    con: Backend = None,
) -> AccountFrequency:
    """Strategic Account Contact Frequency: touchpoints per strategic account per period, banded.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables`, or a
        :class:`kit.core.dataset.Dataset` as the first argument.
    strategic : str, list of ids or TopN
        A boolean column of ``customers`` (default ``"strategic"``; text such as
        "true"/"1"/"yes" counts), a list of customer ids, :func:`top_n` or a
        rule string like ``"top 20 by arr"``.
    freq : str
        Period grain. Counts are converted to per month
        (:data:`kit.core.periods.MONTHS_PER_PERIOD`) before banding.
    direction : {"outbound", "inbound", "all"}
        Which contacts are touchpoints (default: outbound CSM touches).
    bands : sequence of (label, low, high), optional
        Default :data:`kit.config.ACCOUNT_BANDS`; see :func:`band`.
    n_periods : int
        Recent window: the last ``n_periods`` complete periods (a period is
        complete when it ends on or before ``as_of``). Its mean per month is
        banded; the ``n_periods`` before it give the comparison for ``dropped_band`` (a move to a
        worse band, see :func:`band_health`: optimal is best, so possibly excessive to optimal is not a drop).
    quiet_days : int
        An account with no touch in the last ``quiet_days`` days (including
        ``as_of``) is quiet.
    as_of : date-like, optional
        Default: the last day of data (the latest contact date, any direction). When given,
        customers who signed up after it are not accounts yet and later churn dates are not
        known (see :func:`kit.core.asof.known_by`); later contacts are out of scope in the ledger.
    start : date-like, optional
        First period shown in ``table`` (the flags do not depend on it).
    owner : str
        Customers column of the CSM owner, carried along when present.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    mapping, con
        As in :func:`kit.contact_frequency`.

    Returns
    -------
    AccountFrequency
        ``.table`` (account x period), ``.accounts`` (flags), ``.flagged``,
        ``.plot()`` (band heatmap), ``.describe()``, ``.redact()``.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["A", "B"], "signup_date": ["2025-01-01"] * 2,
    ...                           "strategic": [True, True]})
    >>> days = pd.date_range("2026-01-05", periods=5, freq="D").strftime("%Y-%m-%d 10:00").tolist()
    >>> contacts = pd.DataFrame({"contact_id": range(6), "customer_id": ["A"] * 5 + ["B"],
    ...     "created_at": days + ["2026-01-30 10:00"], "channel": "email", "direction": "outbound"})
    >>> res = account_frequency(contacts, customers, n_periods=1, as_of="2026-01-31")
    >>> res.table[["customer_id", "touchpoints", "band"]].to_dict("records")
    [{'customer_id': 'A', 'touchpoints': 5, 'band': 'healthy'}, {'customer_id': 'B', 'touchpoints': 1,
    'band': 'at risk'}]
    >>> res.flagged
    ['B']
    >>> print(res.describe())  # doctest: +ELLIPSIS
    2 strategic accounts (...) as of 2026-01-31. ... 1 account(s) need attention: B (1.0 touchpoints/month ...).
    """
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    bands = check_bands(bands)
    if int(n_periods) < 1:
        raise ParameterError(f"n_periods must be at least 1, not {n_periods!r}")
    if int(quiet_days) < 1:
        raise ParameterError(f"quiet_days must be at least 1, not {quiet_days!r}")
    n_periods, quiet_days = int(n_periods), int(quiet_days)
    if as_of is not None:  # the accounts as known on the as-of day (a strategic rule such as top N too)
        opened = open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con)
        contacts, customers = opened["contacts"], cut_source(opened["customers"], as_of)
        con, mapping = opened.con, None
    begun = start_tables(
        contacts,
        customers,
        tz=tz or DEFAULT_TZ,
        direction=direction,
        mapping=mapping,
        con=con,
        counted_as=f"a {direction} touchpoint",
    )
    con, ledger, notes, cust = begun.con, begun.ledger, begun.notes, begun.customers
    assert cust is not None  # accounts always open a customers table
    tables = begun.tables
    csrc, usrc = tables["contacts"], tables["customers"]
    ok = cust.filter(cust[REASON].isnull())
    strat, selection = _select_strategic(ok, strategic, usrc.columns)
    info = _info_columns(usrc.columns, owner)
    accounts = engine.fetch(
        con, strat.select(customer_id=strat.cid, signup=strat.signup, churn=strat.churn, **{c: strat[c] for c in info})
    )
    if accounts.empty:
        raise DataError(f"no strategic accounts found ({selection}); check the strategic= option")
    if isinstance(strategic, (list, tuple, set, frozenset, pd.Series, pd.Index, np.ndarray)):
        missing = sorted({str(v).strip() for v in strategic} - set(accounts["customer_id"]))
        if missing:
            notes.append(
                f"{len(missing)} listed strategic id(s) are not usable customers and were skipped "
                f"(e.g. {', '.join(missing[:3])})"
            )

    lookup = customer_lookup(cust, [])
    c = classify_contacts(csrc, lookup, direction=direction, dedup_seconds=0)
    cut = _as_of(con, csrc, as_of)
    sid = strat.select(_sid=strat.cid)
    c = c.left_join(sid, c._cust == sid._sid)
    day = c.local_ts.date()
    reason = ibis.cases(
        (c[REASON].notnull(), c[REASON]),
        (c._sid.isnull(), ibis.literal(f"{SCOPE_PREFIX}not a strategic account")),
        (day > cut.date(), ibis.literal(f"{SCOPE_PREFIX}after the as-of date")),
        else_=ibis.null(dt.string),
    )
    c = c.mutate(**{REASON: reason}, period=engine.period_start(c.local_ts, unit))
    acct = ibis.ifelse(c[REASON].isnull(), c._cust, ibis.null(dt.string))
    # One pass: the ledger counts and the per-account touchpoints come from the same query.
    agg = engine.fetch(
        con,
        c.group_by([c[REASON], acct.name("customer_id"), c.period]).aggregate(
            touchpoints=c.count(), last=c.local_ts.max(), **example_metrics(c, "contacts")
        ),
    )
    record_ledger(ledger, csrc, agg.rename(columns={"touchpoints": "n"}))
    agg = agg[agg[REASON].isna()].drop(columns=[REASON, "_ex_lo", "_ex_hi"], errors="ignore")
    agg["period"] = pd.to_datetime(agg["period"])

    table = _account_table(accounts, agg, grain, cut, bands, info)
    summary, window = _account_summary(accounts, table, agg, grain, cut, bands, n_periods, quiet_days, info)
    if start is not None:
        table = table[table["period"] >= periods.truncate(start, grain)].reset_index(drop=True)
    if not window:
        notes.append(f"no complete {grain} before {cut:%Y-%m-%d}, so no account could be banded")
    elif len(window) < n_periods:
        notes.append(f"only {len(window)} complete {grain}(s) of data, fewer than n_periods={n_periods}")
    return AccountFrequency(
        table=table,
        accounts=summary,
        as_of=cut,
        freq=grain,
        bands=bands,
        n_periods=n_periods,
        quiet_days=quiet_days,
        window=tuple(window),
        notes=tuple(notes),
        ledger=ledger,
        selection=selection,
    )


def _account_table(accounts, agg, grain, as_of, bands, info) -> pd.DataFrame:
    first = agg["period"].min() if len(agg) else periods.truncate(as_of, grain)
    first = min(first, periods.truncate(as_of, grain))
    spine = periods.spine(first, as_of, grain)
    acc = accounts.assign(signup=pd.to_datetime(accounts["signup"]), churn=pd.to_datetime(accounts["churn"]))
    grid = acc.merge(pd.DataFrame({"period": spine}), how="cross")
    p_end = grid["period"].map(lambda p: periods.period_end(p, grain))
    sign_p = grid["signup"].map(lambda d: periods.truncate(d, grain))
    churn_p = grid["churn"].map(lambda d: periods.truncate(d, grain) if pd.notna(d) else pd.NaT)
    active = (sign_p <= grid["period"]) & (churn_p.isna() | (grid["period"] <= churn_p))
    grid["complete"] = (
        (p_end <= as_of) & (grid["signup"] <= grid["period"]) & (grid["churn"].isna() | (grid["churn"] >= p_end))
    )
    grid = grid[active].merge(agg[["customer_id", "period", "touchpoints"]], on=["customer_id", "period"], how="left")
    grid["touchpoints"] = grid["touchpoints"].fillna(0).astype("int64")
    grid["per_month"] = grid["touchpoints"] / periods.MONTHS_PER_PERIOD[grain]
    grid["band"] = band(grid["per_month"].where(grid["complete"]), bands=bands)
    grid["label"] = grid["period"].map(lambda p: periods.label(p, grain))
    cols = ["customer_id", *info, "period", "label", "touchpoints", "per_month", "complete", "band"]
    return grid[cols].sort_values(["customer_id", "period"], kind="stable").reset_index(drop=True)


def _window_mean(table, window_periods, scale) -> pd.Series:
    sel = table[table["period"].isin(window_periods) & table["complete"]]
    g = sel.groupby("customer_id")["touchpoints"]
    return g.sum() / (g.count() * scale)


def _account_summary(accounts, table, agg, grain, as_of, bands, n_periods, quiet_days, info):
    complete_periods = sorted(table.loc[table["complete"], "period"].unique())
    spine_complete = [
        p for p in periods.spine(table["period"].min(), as_of, grain) if periods.period_end(p, grain) <= as_of
    ]
    recent = spine_complete[-n_periods:]
    previous = spine_complete[-2 * n_periods : -n_periods] if len(spine_complete) > n_periods else []
    del complete_periods
    scale = periods.MONTHS_PER_PERIOD[grain]
    out = accounts[["customer_id", *info]].copy()
    out["recent_per_month"] = out["customer_id"].map(_window_mean(table, recent, scale))
    out["previous_per_month"] = out["customer_id"].map(_window_mean(table, previous, scale))
    out["recent_band"] = band(out["recent_per_month"], bands=bands)
    out["previous_band"] = band(out["previous_per_month"], bands=bands)
    out["change_per_month"] = out["recent_per_month"] - out["previous_per_month"]
    rc, pc = out["recent_band"].cat.codes, out["previous_band"].cat.codes
    # A drop is a move to a worse band: from possibly excessive down to optimal is an improvement.
    health = band_health(bands)
    out["dropped_band"] = (rc >= 0) & (pc >= 0) & (rc.map(health) < pc.map(health))
    last = agg.groupby("customer_id")["last"].max() if len(agg) else pd.Series(dtype="datetime64[ns]")
    out["last_touch"] = pd.to_datetime(out["customer_id"].map(last)).dt.normalize()
    out["days_since_touch"] = (as_of - out["last_touch"]).dt.days
    # "No touch in the last X days" counts as_of itself: a touch X days ago is already outside.
    out["quiet"] = out["days_since_touch"].isna() | (out["days_since_touch"] >= quiet_days)
    out["at_risk"] = out["recent_band"] == bands[0][0]
    out["flagged"] = out["at_risk"] | out["quiet"]
    limit = bands[0][2]

    def _reason(r) -> str:
        bits = []
        if r["at_risk"]:
            bits.append(
                f"{num(r['recent_per_month'], 1)} touchpoints/month over the last {len(recent)} "
                f"{grain}s, below {num(limit, 0)}"
            )
        if r["quiet"]:
            bits.append(
                "never touched" if pd.isna(r["days_since_touch"]) else f"no touch for {int(r['days_since_touch'])} days"
            )
        if r["dropped_band"]:
            bits.append(f"worse than before: {r['previous_band']} to {r['recent_band']}")
        return "; ".join(bits)

    out["reason"] = out.apply(_reason, axis=1) if len(out) else pd.Series(dtype=str)
    cols = [
        "customer_id",
        *info,
        "last_touch",
        "days_since_touch",
        "recent_per_month",
        "recent_band",
        "previous_per_month",
        "previous_band",
        "change_per_month",
        "dropped_band",
        "quiet",
        "at_risk",
        "flagged",
        "reason",
    ]
    out = (
        out[cols]
        .sort_values(["flagged", "recent_per_month", "customer_id"], ascending=[False, True, True], kind="stable")
        .reset_index(drop=True)
    )
    return out, [periods.label(p, grain) for p in recent]
