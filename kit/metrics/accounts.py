"""Strategic accounts: touchpoints per account per period with bands, and CSM stakeholder coverage.

Two KPIs of the domain material:

* **Strategic Account Contact Frequency** (:func:`account_frequency`): outbound
  touchpoints per strategic account per period, banded 4-6 a month healthy,
  7-10 optimal, 11+ possibly excessive, below 4 at risk
  (:data:`kit.config.ACCOUNT_BANDS`), with a per-account trend and flags for
  under-served accounts.
* **Customer Contact KPI** (:func:`coverage`): for every relationship a CSM must
  keep (account x stakeholder role), the last touch, days overdue against the
  cadence and on-cadence yes/no; account and portfolio coverage; the warning
  cases of the material (decision maker left, only the business review left)
  and over-contact.

Row-level work runs on the engine; only per-account x period counts and
per-stakeholder aggregates are fetched.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from ..core import engine
from ..core import periods
from ..config import ACCOUNT_BANDS, DEFAULT_FREQ, DEFAULT_TZ
from ..errors import DataError, ParameterError
from ..core.ledger import SCOPE_PREFIX, Ledger
from ..present.narrative import join, num, pct
from ..core.prepare import REASON, classify_contacts, classify_customers, count_reasons, customer_lookup, example_metrics, record_ledger
from ..core.prepare import start as start_tables
from ..core.sources import open_tables

__all__ = ["account_frequency", "coverage", "band", "top_n", "TopN", "AccountFrequency", "Coverage"]

_TRUE = ("true", "1", "yes", "y", "t")


# --------------------------------------------------------------------------- bands

def check_bands(bands=None) -> tuple:
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
    for (l1, lo1, hi1), (l2, lo2, _) in zip(bands, bands[1:]):
        if hi1 != lo2:
            raise ParameterError(f"bands {l1!r} and {l2!r} must meet: {l1!r} ends at {hi1:g}, {l2!r} starts at {lo2:g}")
    if any(lo >= hi for _, lo, hi in bands):
        raise ParameterError("every band needs low < high")
    if len({b[0] for b in bands}) != len(bands):
        raise ParameterError("band labels must be unique")
    return bands


def band(per_month, *, bands=None) -> pd.Series:
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
            return ok.filter(_truthy(ok[strategic])), f"customers flagged in column {strategic!r}"
        else:
            raise ParameterError(f"strategic={strategic!r} is not a customers column ({', '.join(columns)}) "
                                 "nor a rule like 'top 20 by arr'; pass a column, a list of ids or top_n(20)")
    if isinstance(strategic, TopN):
        if strategic.by not in columns:
            raise ParameterError(f"cannot rank by {strategic.by!r}: not a customers column ({', '.join(columns)})")
        val = ok[strategic.by].try_cast(dt.float64) if not ok[strategic.by].type().is_numeric() else ok[strategic.by].cast(dt.float64)
        return (ok.mutate(_rank_val=val).order_by([ibis.desc("_rank_val"), "cid"]).limit(strategic.n).drop("_rank_val"),
                f"the top {strategic.n} customers by {strategic.by}")
    if isinstance(strategic, (list, tuple, set, frozenset, pd.Series, pd.Index, np.ndarray)):
        ids = sorted({str(v).strip() for v in strategic if v is not None and str(v).strip()})
        if not ids:
            raise ParameterError("the list of strategic account ids is empty")
        return ok.filter(ok.cid.isin(ids)), f"{len(ids)} listed account ids"
    raise ParameterError("strategic must be a column name, a list of ids, top_n(n, by=...) or 'top N by COLUMN'")


def _info_columns(columns, owner) -> list[str]:
    return [c for c in ("name", owner, "arr") if c and c in columns]


def _as_of(con, src, as_of):
    """``as_of`` as a date, default the last contact date (any direction) read from the raw table."""
    if as_of is not None:
        return periods.parse_date(as_of).normalize()
    # A plain scan of the raw column: cheaper than the classified table's window pass.
    ts = engine.local_time(engine.parse_instant(src.table.created_at))
    got = engine.fetch(con, src.table.aggregate(m=ts.max()))
    value = got["m"].iloc[0] if len(got) else None
    if value is None or pd.isna(value):
        raise DataError(f"no contact in {src.label} has a readable created_at, so there is no last day of data; "
                        "pass as_of=")
    return pd.Timestamp(value).normalize()


# --------------------------------------------------------------------------- account frequency

@dataclass(frozen=True)
class AccountFrequency:
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
    """

    table: pd.DataFrame = field(repr=False)
    accounts: pd.DataFrame = field(repr=False)
    as_of: pd.Timestamp
    freq: str
    bands: tuple
    n_periods: int
    quiet_days: int
    window: tuple
    notes: tuple = ()
    ledger: Ledger | None = field(default=None, repr=False)
    selection: str = ""

    @property
    def flagged(self) -> list[str]:
        """Ids of flagged (under-served) accounts."""
        return self.accounts.loc[self.accounts["flagged"], "customer_id"].tolist()

    def redact(self, *, salt: str | None = None) -> "AccountFrequency":
        """A copy with account names and ids replaced by stable pseudonyms (see :mod:`kit.core.redact`)."""
        from ..core.redact import redact_frame

        return dataclasses.replace(self, table=redact_frame(self.table, salt=salt),
                                   accounts=redact_frame(self.accounts, salt=salt))

    def _labels(self) -> dict:
        """Row label per account id: the name, with the id when two accounts share a name."""
        if "name" not in self.accounts.columns:
            return dict(zip(self.accounts["customer_id"], self.accounts["customer_id"]))
        names = self.accounts["name"].astype(str)
        dup = names.duplicated(keep=False)
        shown = names.where(~dup | (names == self.accounts["customer_id"]),
                            names + " (" + self.accounts["customer_id"].astype(str) + ")")
        return dict(zip(self.accounts["customer_id"], shown))

    def band_table(self) -> pd.DataFrame:
        """Accounts (ids) x period labels of bands (the heatmap's data)."""
        return self.table.pivot(index="customer_id", columns="label", values="band")

    def heatmap(self, ax=None, *, annotate: bool = True, periods_shown: int | None = 12):
        """Accounts (rows, flagged first) by period (columns), coloured by band, annotated with touchpoints.

        Shows the last ``periods_shown`` periods (all when ``None``).
        """
        import seaborn as sns
        from matplotlib.colors import ListedColormap

        from ..present.plots import BAND_COLORS, new_axes

        order = self.accounts.sort_values(["flagged", "recent_per_month"], ascending=[False, True])["customer_id"].tolist()
        labels = [b[0] for b in self.bands]
        t = self.table.assign(_code=self.table["band"].cat.codes.replace(-1, np.nan))
        if periods_shown:
            keep = sorted(t["period"].unique())[-int(periods_shown):]
            t = t[t["period"].isin(keep)]
        codes = t.pivot(index="customer_id", columns="label", values="_code").reindex(order)
        counts = t.pivot(index="customer_id", columns="label", values="touchpoints").reindex(order)
        names = self._labels()
        codes.index = [names[i] for i in codes.index]
        fig, ax = new_axes(ax, figsize=(max(8, 0.45 * codes.shape[1] + 3), max(3, 0.28 * len(order) + 1.5)))
        cmap = ListedColormap([BAND_COLORS.get(lab, "#999999") for lab in labels])
        sns.heatmap(codes, ax=ax, cmap=cmap, vmin=-0.5, vmax=len(labels) - 0.5, cbar=True,
                    annot=counts.to_numpy() if annotate else False, fmt=".0f", annot_kws={"fontsize": 7},
                    linewidths=0.5, linecolor="white")
        cbar = ax.collections[0].colorbar
        cbar.set_ticks(range(len(labels)))
        cbar.set_ticklabels(labels)
        ax.set_xlabel(f"{self.freq} (blank: partial period or not a customer)")
        ax.set_ylabel("")
        ax.set_title(f"Strategic account touchpoints per {self.freq}, banded per month")
        return fig

    def describe(self) -> list[str]:
        """Generated sentences: the band mix of the recent window and each flagged account."""
        a = self.accounts.assign(_shown=self.accounts["customer_id"].map(self._labels()))
        key = "_shown"
        counts = a["recent_band"].value_counts().reindex([b[0] for b in self.bands], fill_value=0)
        win = f"{self.window[0]} to {self.window[-1]}" if len(self.window) > 1 else (self.window[0] if self.window else "n/a")
        lines = [f"{len(a)} strategic accounts ({self.selection}) as of {self.as_of:%Y-%m-%d}. Over the last "
                 f"{len(self.window)} complete {self.freq}s ({win}), by mean touchpoints per month: "
                 + join(f"{n} {lab}" for lab, n in counts.items()) + "."]
        flagged = a[a["flagged"]].sort_values("recent_per_month")
        if flagged.empty:
            lines.append(f"No account is under-served (below {num(self.bands[0][2], 0)} touchpoints a month, "
                         f"or quiet for {self.quiet_days} days).")
        else:
            lines.append(f"{len(flagged)} account(s) need attention: "
                         + "; ".join(f"{r[key]} ({r['reason']})" for _, r in flagged.iterrows()) + ".")
        dropped = a[a["dropped_band"] & ~a["flagged"]]
        if len(dropped):
            lines.append(f"{len(dropped)} more dropped a band against the previous {len(self.window)} {self.freq}s: "
                         + ", ".join(f"{r[key]} ({r['previous_band']} to {r['recent_band']})"
                                     for _, r in dropped.iterrows()) + ".")
        excessive = a[a["recent_band"] == self.bands[-1][0]]
        if len(excessive):
            lines.append(f"{len(excessive)} account(s) are {self.bands[-1][0]}: check the client's preferred "
                         "cadence before adding more touches.")
        return lines


def account_frequency(
    contacts,
    customers,
    *,
    strategic="strategic",
    freq: str = DEFAULT_FREQ,
    direction: str = "outbound",
    bands=None,
    n_periods: int = 3,
    quiet_days: int = 30,
    as_of=None,
    start=None,
    owner: str = "csm_owner",
    tz: str = DEFAULT_TZ,
    mapping=None,
    con=None,
) -> AccountFrequency:
    """Strategic Account Contact Frequency: touchpoints per strategic account per period, banded.

    Parameters
    ----------
    contacts, customers
        Any source accepted by :func:`kit.core.sources.open_tables`.
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
        banded; the ``n_periods`` before it give the comparison for ``dropped_band``.
    quiet_days : int
        An account with no touch in the last ``quiet_days`` days (including
        ``as_of``) is quiet.
    as_of : date-like, optional
        Default: the last day of data (the latest contact date, any direction).
    start : date-like, optional
        First period shown in ``table`` (the flags do not depend on it).
    owner : str
        Customers column of the CSM owner, carried along when present.
    tz, mapping, con
        As in :func:`kit.contact_frequency`.

    Returns
    -------
    AccountFrequency
        ``.table`` (account x period), ``.accounts`` (flags), ``.flagged``,
        ``.heatmap()``, ``.describe()``, ``.redact()``.

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
    [{'customer_id': 'A', 'touchpoints': 5, 'band': 'healthy'}, {'customer_id': 'B', 'touchpoints': 1, 'band': 'at risk'}]
    >>> res.flagged
    ['B']
    """
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    bands = check_bands(bands)
    if int(n_periods) < 1:
        raise ParameterError(f"n_periods must be at least 1, not {n_periods!r}")
    if int(quiet_days) < 1:
        raise ParameterError(f"quiet_days must be at least 1, not {quiet_days!r}")
    n_periods, quiet_days = int(n_periods), int(quiet_days)
    begun = start_tables(contacts, customers, tz=tz, direction=direction, mapping=mapping, con=con,
                         counted_as=f"a {direction} touchpoint")
    con, ledger, notes, cust = begun.con, begun.ledger, begun.notes, begun.customers
    tables = begun.tables
    csrc, usrc = tables["contacts"], tables["customers"]
    ok = cust.filter(cust[REASON].isnull())
    strat, selection = _select_strategic(ok, strategic, usrc.columns)
    info = _info_columns(usrc.columns, owner)
    accounts = engine.fetch(con, strat.select(customer_id=strat.cid, signup=strat.signup, churn=strat.churn,
                                              **{c: strat[c] for c in info}))
    if accounts.empty:
        raise DataError(f"no strategic accounts found ({selection}); check the strategic= option")
    if isinstance(strategic, (list, tuple, set, frozenset, pd.Series, pd.Index, np.ndarray)):
        missing = sorted({str(v).strip() for v in strategic} - set(accounts["customer_id"]))
        if missing:
            notes.append(f"{len(missing)} listed strategic id(s) are not usable customers and were skipped "
                         f"(e.g. {', '.join(missing[:3])})")

    lookup = customer_lookup(cust, [])
    c = classify_contacts(csrc, lookup, direction=direction, dedup_seconds=0)
    as_of = _as_of(con, csrc, as_of)
    sid = strat.select(_sid=strat.cid)
    c = c.left_join(sid, c._cust == sid._sid)
    day = c.local_ts.date()
    reason = ibis.cases(
        (c[REASON].notnull(), c[REASON]),
        (c._sid.isnull(), ibis.literal(f"{SCOPE_PREFIX}not a strategic account")),
        (day > as_of.date(), ibis.literal(f"{SCOPE_PREFIX}after the as-of date")),
        else_=ibis.null(dt.string),
    )
    c = c.mutate(**{REASON: reason}, period=engine.period_start(c.local_ts, unit))
    acct = ibis.ifelse(c[REASON].isnull(), c._cust, ibis.null(dt.string))
    # One pass: the ledger counts and the per-account touchpoints come from the same query.
    agg = engine.fetch(con, c.group_by([c[REASON], acct.name("customer_id"), c.period])
                       .aggregate(touchpoints=c.count(), last=c.local_ts.max(), **example_metrics(c, "contacts")))
    record_ledger(ledger, csrc, agg.rename(columns={"touchpoints": "n"}))
    agg = agg[agg[REASON].isna()].drop(columns=[REASON, "_ex_lo", "_ex_hi"], errors="ignore")
    agg["period"] = pd.to_datetime(agg["period"])

    table = _account_table(accounts, agg, grain, as_of, bands, info)
    summary, window = _account_summary(accounts, table, agg, grain, as_of, bands, n_periods, quiet_days, info)
    if start is not None:
        table = table[table["period"] >= periods.truncate(start, grain)].reset_index(drop=True)
    if not window:
        notes.append(f"no complete {grain} before {as_of:%Y-%m-%d}, so no account could be banded")
    elif len(window) < n_periods:
        notes.append(f"only {len(window)} complete {grain}(s) of data, fewer than n_periods={n_periods}")
    return AccountFrequency(table=table, accounts=summary, as_of=as_of, freq=grain, bands=bands,
                            n_periods=n_periods, quiet_days=quiet_days, window=tuple(window),
                            notes=tuple(notes), ledger=ledger, selection=selection)


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
    grid["complete"] = ((p_end <= as_of) & (grid["signup"] <= grid["period"])
                        & (grid["churn"].isna() | (grid["churn"] >= p_end)))
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
    spine_complete = [p for p in periods.spine(table["period"].min(), as_of, grain)
                      if periods.period_end(p, grain) <= as_of]
    recent = spine_complete[-n_periods:]
    previous = spine_complete[-2 * n_periods:-n_periods] if len(spine_complete) > n_periods else []
    del complete_periods
    scale = periods.MONTHS_PER_PERIOD[grain]
    out = accounts[["customer_id", *info]].copy()
    out["recent_per_month"] = out["customer_id"].map(_window_mean(table, recent, scale))
    out["previous_per_month"] = out["customer_id"].map(_window_mean(table, previous, scale))
    out["recent_band"] = band(out["recent_per_month"], bands=bands)
    out["previous_band"] = band(out["previous_per_month"], bands=bands)
    out["change_per_month"] = out["recent_per_month"] - out["previous_per_month"]
    rc, pc = out["recent_band"].cat.codes, out["previous_band"].cat.codes
    out["dropped_band"] = (rc >= 0) & (pc >= 0) & (rc < pc)
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
            bits.append(f"{num(r['recent_per_month'], 1)} touchpoints/month over the last {len(recent)} "
                        f"{grain}s, below {num(limit, 0)}")
        if r["quiet"]:
            bits.append("never touched" if pd.isna(r["days_since_touch"])
                        else f"no touch for {int(r['days_since_touch'])} days")
        if r["dropped_band"]:
            bits.append(f"dropped from {r['previous_band']} to {r['recent_band']}")
        return "; ".join(bits)

    out["reason"] = out.apply(_reason, axis=1) if len(out) else pd.Series(dtype=str)
    cols = ["customer_id", *info, "last_touch", "days_since_touch", "recent_per_month", "recent_band",
            "previous_per_month", "previous_band", "change_per_month", "dropped_band", "quiet", "at_risk",
            "flagged", "reason"]
    out = out[cols].sort_values(["flagged", "recent_per_month", "customer_id"], ascending=[False, True, True],
                                kind="stable").reset_index(drop=True)
    return out, [periods.label(p, grain) for p in recent]


# --------------------------------------------------------------------------- coverage

@dataclass(frozen=True)
class Coverage:
    """Customer Contact KPI: required relationships, their cadence status and warnings.

    Attributes
    ----------
    people : pandas.DataFrame
        One row per stakeholder record: ``customer_id, person_id, [person_name], role,
        cadence_days, start_date, end_date, active, last_touch, days_since_touch,
        days_overdue, on_cadence, touches_recent, over_contact_ratio, over_contact``.
    roles : pandas.DataFrame
        One row per required relationship (account x role): ``holders, cadence_days,
        last_touch, days_since_touch, days_overdue, on_cadence, status`` (on cadence /
        overdue / vacant).
    accounts : pandas.DataFrame
        One row per account: ``required, on_cadence, coverage, decision_maker_left,
        decision_maker_vacant, review_only, over_contacted, warning``.
    owners : pandas.DataFrame or None
        Portfolio coverage per CSM owner (when the customers table has the owner column).
    as_of : pandas.Timestamp
    notes : tuple of str
    ledger : Ledger
    """

    people: pd.DataFrame = field(repr=False)
    roles: pd.DataFrame = field(repr=False)
    accounts: pd.DataFrame = field(repr=False)
    owners: pd.DataFrame | None = field(repr=False)
    as_of: pd.Timestamp
    notes: tuple = ()
    ledger: Ledger | None = field(default=None, repr=False)

    @property
    def overdue(self) -> pd.DataFrame:
        """Required relationships not on cadence, most overdue first (vacant roles first)."""
        r = self.roles[~self.roles["on_cadence"]]
        return r.sort_values(["status", "days_overdue"], ascending=[False, False], na_position="first",
                             kind="stable").reset_index(drop=True)

    @property
    def over_contact(self) -> pd.DataFrame:
        """Active stakeholders touched far above their cadence."""
        return self.people[self.people["over_contact"]].sort_values("over_contact_ratio", ascending=False)\
            .reset_index(drop=True)

    @property
    def by_role(self) -> pd.DataFrame:
        """Coverage per role across all accounts: required, on cadence, share."""
        g = self.roles.groupby("role")
        out = pd.DataFrame({"required": g.size(), "on_cadence": g["on_cadence"].sum().astype("int64")})
        out["coverage"] = out["on_cadence"] / out["required"]
        return out.reset_index()

    def redact(self, *, salt: str | None = None) -> "Coverage":
        """A copy with account and person names and ids replaced by stable pseudonyms."""
        from ..core.redact import redact_frame

        r = lambda df: None if df is None else redact_frame(df, salt=salt)  # noqa: E731
        return dataclasses.replace(self, people=r(self.people), roles=r(self.roles), accounts=r(self.accounts))

    def describe(self) -> list[str]:
        """Generated sentences on coverage, the overdue list and the warning cases."""
        a, roles = self.accounts, self.roles
        key = "name" if "name" in a.columns else "customer_id"
        total_req, total_on = int(a["required"].sum()), int(a["on_cadence"].sum())
        lines = [f"As of {self.as_of:%Y-%m-%d}, {total_on} of {total_req} required relationships across "
                 f"{len(a)} accounts are on cadence ({pct(total_on / total_req if total_req else float('nan'))})."]
        br = self.by_role.sort_values("coverage")
        if len(br):
            worst = br.iloc[0]
            lines.append(f"The weakest role is {worst['role']}: {int(worst['on_cadence'])} of {int(worst['required'])} "
                         f"on cadence ({pct(worst['coverage'])}).")
        if self.owners is not None and len(self.owners):
            o = self.owners.sort_values("coverage")
            lines.append("Portfolio coverage by CSM ranges from "
                         f"{pct(o['coverage'].iloc[0])} ({o.iloc[0, 0]}) to {pct(o['coverage'].iloc[-1])} ({o.iloc[-1, 0]}).")
        vac = roles[roles["status"] == "vacant"]
        if len(vac):
            lines.append(f"{len(vac)} required relationship(s) have nobody in the role.")
        for flag, text in (("decision_maker_left", "the decision maker left"),
                           ("review_only", "the decision maker is only met at the business review")):
            hit = a[a[flag]]
            if len(hit):
                lines.append(f"Warning: in {len(hit)} account(s) {text}: {', '.join(map(str, hit[key]))}.")
        oc = self.over_contact
        if len(oc):
            lines.append(f"{len(oc)} stakeholder(s) are touched far above their cadence "
                         f"(up to {num(oc['over_contact_ratio'].max(), 1)}x); check their preferences.")
        return lines

    def plot_roles(self, ax=None):
        """Bar chart of coverage by role."""
        import seaborn as sns

        from ..present.plots import new_axes

        fig, ax = new_axes(ax, figsize=(7, 3.2))
        sns.barplot(self.by_role, x="coverage", y="role", ax=ax, color="#0072b2")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of required relationships on cadence")
        ax.set_ylabel("")
        ax.set_title("Coverage by stakeholder role")
        return fig

    def plot_owners(self, ax=None):
        """Bar chart of portfolio coverage per CSM owner."""
        import seaborn as sns

        from ..present.plots import new_axes

        if self.owners is None:
            raise DataError("no CSM owner column was available; pass customers with an owner column")
        fig, ax = new_axes(ax, figsize=(7, max(2.5, 0.3 * len(self.owners) + 1)))
        col = self.owners.columns[0]
        sns.barplot(self.owners.sort_values("coverage"), x="coverage", y=col, ax=ax, color="#009e73")
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of required relationships on cadence")
        ax.set_ylabel("")
        ax.set_title("Portfolio coverage by CSM")
        return fig


def _materialise(con, expr):
    """``expr`` as a temporary table on ``con`` (the expression itself where that is not possible)."""
    try:
        return con.create_table(ibis.util.gen_name("kit_touches"), expr, temp=True)
    except Exception:  # noqa: BLE001 - a backend without temp tables: recompute instead
        return expr


def _norm_role(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.lower().str.replace(r"[_\-\s]+", " ", regex=True)


def _stakeholder_frame(con, src, ledger) -> pd.DataFrame:
    """Typed, validated stakeholder records (a reference table: one row per person and role)."""
    t = src.table
    sel = dict(
        customer_id=engine.blank_to_null(engine.as_key(t.customer_id)),
        person_id=engine.blank_to_null(engine.as_key(t.person_id)),
        role=engine.blank_to_null(t.role.cast(dt.string)),
        cadence_days=t.cadence_days.try_cast(dt.float64) if not t.cadence_days.type().is_numeric()
        else t.cadence_days.cast(dt.float64),
    )
    for col in ("start_date", "end_date"):
        if col in t.columns:
            sel[col] = engine.local_date(t[col])
            sel[f"_{col}_bad"] = engine.is_unparseable(t[col], sel[col]) if t[col].type().is_string() \
                else ibis.literal(False)
    if "name" in t.columns:
        sel["person_name"] = t.name.cast(dt.string)
    df = engine.fetch(con, t.select(**sel))
    for col in ("start_date", "end_date"):
        df[col] = pd.to_datetime(df[col]) if col in df.columns else pd.NaT
        df[f"_{col}_bad"] = df[f"_{col}_bad"].fillna(False).astype(bool) if f"_{col}_bad" in df.columns else False
    df["role"] = _norm_role(df["role"])
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    for cond, why in (
        (df["customer_id"].isna(), "missing customer_id"),
        (df["person_id"].isna(), "missing person_id"),
        (df["role"].isna(), "missing role"),
        (~(df["cadence_days"] > 0), "missing or non-positive cadence_days"),
        (df["_start_date_bad"], "unparseable start_date"),
        (df["_end_date_bad"], "unparseable end_date"),
        (df["end_date"] < df["start_date"], "end_date before start_date"),
    ):
        reason = reason.where(reason.notna() | ~cond.fillna(False).astype(bool), why)
    dup = reason.isna() & df.duplicated(["customer_id", "person_id", "role", "start_date", "end_date"])
    reason = reason.where(~dup, "duplicate stakeholder record")
    excluded = reason.dropna().value_counts().to_dict()
    examples = {r: df.loc[reason == r, "person_id"].astype(str).head(3).tolist() for r in excluded}
    ledger.record(src.name, src.label, read=len(df), used=int(reason.isna().sum()), excluded=excluded,
                  examples=examples)
    df = df[reason.isna()].drop(columns=[c for c in df.columns if c.startswith("_")]).reset_index(drop=True)
    df["_row"] = np.arange(len(df), dtype="int64")
    return df


def coverage(
    contacts,
    stakeholders,
    customers=None,
    *,
    as_of=None,
    owner: str = "csm_owner",
    direction: str = "outbound",
    decision_role: str = "decision maker",
    review_topics=("qbr", "business review", "ebr"),
    recent_days: int = 90,
    left_within_days: int = 365,
    over_contact_factor: float = 4.0,
    over_contact_days: int = 90,
    tz: str = DEFAULT_TZ,
    mapping=None,
    con=None,
) -> Coverage:
    """Customer Contact KPI: is every relationship the CSM must keep contacted on cadence?

    Follows the material's three steps: ``stakeholders`` defines where the
    relationships should exist (account, person, role) and how often each should
    be contacted (``cadence_days``); outbound contacts carrying ``person_id`` are
    the tracked touches.

    Rules (all dates in the business time zone, tenures inclusive):

    * A touch counts for a stakeholder record only inside its tenure
      ``[start_date, end_date]``; with overlapping records (a hand-over, or a person
      holding two roles) one touch counts for each record it falls in.
    * A person is active on ``as_of`` when ``start_date <= as_of <= end_date``.
      Their next touch is due ``cadence_days`` after the last touch (after the
      start date when never touched, so a new stakeholder gets one cadence of
      grace). ``days_overdue = max(0, as_of - due)``.
    * A required relationship is an (account, role) with an active holder, or
      whose last holder left within ``left_within_days`` (then it is "vacant" and
      not on cadence). It is on cadence when any active holder is.
    * ``decision_maker_left``: a ``decision_role`` holder's end date falls within
      ``left_within_days`` before ``as_of``. ``review_only``: in the last
      ``recent_days`` the active decision makers (or the whole account) were only
      touched by contacts whose topic is one of ``review_topics``.
    * Over-contact: an active person touched at least ``over_contact_factor`` times
      as often as their cadence implies over the last ``over_contact_days``.

    Parameters
    ----------
    contacts, stakeholders, customers
        Any source accepted by :func:`kit.core.sources.open_tables`. ``customers`` is
        optional; it supplies account names and the ``owner`` column.
    as_of : date-like, optional
        Default: the last day of data (latest contact date, any direction).
    owner : str
        Customers column holding the CSM owner, for portfolio coverage.
    direction : {"outbound", "inbound", "all"}
        Which contacts are touches.

    Returns
    -------
    Coverage
        ``.people``, ``.roles``, ``.accounts``, ``.owners``, ``.overdue``,
        ``.over_contact``, ``.by_role``, ``.describe()``, ``.redact()``.

    Examples
    --------
    >>> import pandas as pd
    >>> sh = pd.DataFrame({"customer_id": ["A", "A"], "person_id": ["p1", "p2"],
    ...                    "role": ["decision maker", "champion"], "cadence_days": [30, 14]})
    >>> contacts = pd.DataFrame({"contact_id": [1, 2], "customer_id": ["A", "A"],
    ...     "created_at": ["2026-10-20 10:00", "2026-10-01 10:00"], "channel": "email",
    ...     "direction": "outbound", "person_id": ["p1", "p2"]})
    >>> cov = coverage(contacts, sh, as_of="2026-10-31")
    >>> cov.roles[["role", "days_overdue", "on_cadence"]].to_dict("records")
    [{'role': 'champion', 'days_overdue': 16.0, 'on_cadence': False}, {'role': 'decision maker', 'days_overdue': 0.0, 'on_cadence': True}]
    >>> float(cov.accounts["coverage"].iloc[0])
    0.5
    """
    if direction not in ("inbound", "outbound", "all"):
        raise ParameterError(f"direction must be inbound, outbound or all, not {direction!r}")
    for name, v in (("recent_days", recent_days), ("left_within_days", left_within_days),
                    ("over_contact_days", over_contact_days)):
        if int(v) < 1:
            raise ParameterError(f"{name} must be at least 1 day, not {v!r}")
    if not float(over_contact_factor) > 1:
        raise ParameterError(f"over_contact_factor must be above 1, not {over_contact_factor!r}")
    tables = open_tables(contacts=contacts, stakeholders=stakeholders, customers=customers,
                         mapping=mapping, con=con)
    con = tables.con
    engine.set_session_tz(con, tz)
    csrc, ssrc, usrc = tables["contacts"], tables["stakeholders"], tables.get("customers")
    if "person_id" not in csrc.columns:
        raise ParameterError(f"contacts ({csrc.label}) have no person_id column; coverage needs the person each "
                             "touch was with (map your column to person_id)")
    notes: list[str] = []
    ledger = Ledger()
    people = _stakeholder_frame(con, ssrc, ledger)
    if people.empty:
        raise DataError(f"no usable stakeholder records in {ssrc.label}; see the ledger")

    info = pd.DataFrame({"customer_id": people["customer_id"].unique()})
    if usrc is not None:
        cust = classify_customers(usrc)
        count_reasons(con, ledger, usrc, cust)
        lookup = customer_lookup(cust, [])
        cols = _info_columns(usrc.columns, owner)
        ok = cust.filter(cust[REASON].isnull())
        if cols:
            got = engine.fetch(con, ok.filter(ok.cid.isin(info["customer_id"].tolist()))
                               .select(customer_id=ok.cid, **{c: ok[c] for c in cols}))
            info = info.merge(got, on="customer_id", how="left")
        if owner not in usrc.columns:
            notes.append(f"customers have no {owner!r} column, so there is no portfolio coverage per CSM")
    else:
        # Without a customers table every contact's customer id is taken as known.
        ids = csrc.table.select(_cid=engine.blank_to_null(engine.as_key(csrc.table.customer_id))).distinct()
        lookup = ids.mutate(_cust_ok=ibis.literal(True), _signup=ibis.null(dt.date), _churn=ibis.null(dt.date))
    c = classify_contacts(csrc, lookup, direction=direction, dedup_seconds=0)
    as_of = _as_of(con, csrc, as_of)
    has_topic = "topic" in csrc.columns
    if not has_topic:
        notes.append("contacts have no topic column, so business-review-only relationships cannot be detected")
    day = c.local_ts.date()
    pid = engine.blank_to_null(engine.as_key(c.person_id))
    reason = ibis.cases(
        (c[REASON].notnull(), c[REASON]),
        (pid.isnull(), ibis.literal(f"{SCOPE_PREFIX}no person_id")),
        (day > as_of.date(), ibis.literal(f"{SCOPE_PREFIX}after the as-of date")),
        else_=ibis.null(dt.string),
    )
    review = (c.topic.cast(dt.string).lower().strip().isin([str(t).lower() for t in review_topics]).fill_null(False)
              if has_topic else ibis.literal(False))
    c = c.mutate(**{REASON: reason}, _pid=pid, _day=day, _review=review)
    count_reasons(con, ledger, csrc, c)
    # The used touches are few (CSM activity): keep them on the engine so the queries below
    # do not repeat the classification's window pass over all contacts.
    touches = _materialise(con, c.filter(c[REASON].isnull()).select("_cust", "_pid", "_day", "_review", "_contact"))

    # Per stakeholder record: touches inside the tenure (range join on the engine).
    st = ibis.memtable(people[["_row", "customer_id", "person_id", "start_date", "end_date"]]
                       .assign(start_date=people["start_date"].dt.date, end_date=people["end_date"].dt.date))
    st = st.mutate(start_date=st.start_date.cast(dt.date), end_date=st.end_date.cast(dt.date))
    j = touches.join(st, [touches._cust == st.customer_id, touches._pid == st.person_id,
                          st.start_date.isnull() | (touches._day >= st.start_date),
                          st.end_date.isnull() | (touches._day <= st.end_date)])
    recent_from = (as_of - pd.Timedelta(days=int(recent_days) - 1)).date()
    over_from = (as_of - pd.Timedelta(days=int(over_contact_days) - 1)).date()
    per = engine.fetch(con, j.group_by(j._row).aggregate(
        last_touch=j._day.max(),
        touches_recent=(j._day >= recent_from).cast("int64").sum(),
        review_recent=((j._day >= recent_from) & j._review).cast("int64").sum(),
        touches_over_window=(j._day >= over_from).cast("int64").sum(),
    ))
    known = engine.fetch(con, touches.aggregate(n=touches._contact.nunique()))["n"].iloc[0]
    matched = engine.fetch(con, j.aggregate(k=j._contact.nunique()))
    unmatched = int(known) - int(matched["k"].iloc[0])
    if unmatched > 0:
        notes.append(f"{unmatched:,} touch(es) carry a person_id that is not a stakeholder of that account "
                     "within their tenure, and were not counted")
    rt = touches.filter(touches._day >= recent_from)
    acct_recent = engine.fetch(con, rt.group_by(rt._cust).aggregate(n=rt.count(), n_review=rt._review.cast("int64").sum()))

    return _coverage_frames(people, per, acct_recent, info, as_of, owner=owner, decision_role=decision_role,
                            recent_days=int(recent_days), left_within_days=int(left_within_days),
                            factor=float(over_contact_factor), over_days=int(over_contact_days),
                            has_topic=has_topic, notes=notes, ledger=ledger)


def _coverage_frames(people, per, acct_recent, info, as_of, *, owner, decision_role, recent_days,
                     left_within_days, factor, over_days, has_topic, notes, ledger) -> Coverage:
    p = people.merge(per, on="_row", how="left")
    p["last_touch"] = pd.to_datetime(p["last_touch"])
    for col in ("touches_recent", "review_recent", "touches_over_window"):
        p[col] = p[col].fillna(0).astype("int64")
    started = p["start_date"].isna() | (p["start_date"] <= as_of)
    p = p[started].copy()  # future stakeholders are not required yet
    p["active"] = p["end_date"].isna() | (p["end_date"] >= as_of)
    p["days_since_touch"] = (as_of - p["last_touch"]).dt.days
    base = p["last_touch"].fillna(p["start_date"])
    due = base + pd.to_timedelta(p["cadence_days"], unit="D")
    p["days_overdue"] = (as_of - due).dt.days.clip(lower=0).astype(float)
    p["on_cadence"] = p["active"] & (p["days_overdue"] == 0)
    # Expected touches over the window, given the part of it the person was in the role.
    win_start = as_of - pd.Timedelta(days=over_days - 1)
    lo = p["start_date"].fillna(win_start).clip(lower=win_start)
    hi = p["end_date"].fillna(as_of).clip(upper=as_of)
    exposure = ((hi - lo).dt.days + 1).clip(lower=0)
    expected = exposure / p["cadence_days"]
    p["over_contact_ratio"] = (p["touches_over_window"] / expected.where(expected > 0)).astype(float)
    p["over_contact"] = p["active"] & (p["over_contact_ratio"] >= factor) & (p["touches_over_window"] >= 2)

    dm_role = _norm_role(pd.Series([decision_role])).iloc[0]
    is_dm = p["role"] == dm_role
    left_from = as_of - pd.Timedelta(days=left_within_days)
    departed = p["end_date"].notna() & (p["end_date"] < as_of)
    p["left_recently"] = departed & (p["end_date"] >= left_from)

    act = p[p["active"]]
    g = act.groupby(["customer_id", "role"])
    roles = pd.DataFrame({
        "holders": g.size(),
        "cadence_days": g["cadence_days"].min(),
        "last_touch": g["last_touch"].max(),
        "days_overdue": g["days_overdue"].min(),
        "on_cadence": g["on_cadence"].any(),
    }).reset_index()
    vacated = p[p["left_recently"]][["customer_id", "role"]].drop_duplicates()
    vacated = vacated.merge(roles[["customer_id", "role"]], how="left", indicator=True)
    vacated = vacated[vacated["_merge"] == "left_only"].drop(columns="_merge")
    if len(vacated):
        vacated = vacated.assign(holders=0, cadence_days=np.nan, last_touch=pd.NaT, days_overdue=np.nan,
                                 on_cadence=False)
        roles = pd.concat([roles, vacated], ignore_index=True)
    roles["on_cadence"] = roles["on_cadence"].astype(bool)
    roles["days_since_touch"] = (as_of - roles["last_touch"]).dt.days
    roles["status"] = np.where(roles["holders"] == 0, "vacant", np.where(roles["on_cadence"], "on cadence", "overdue"))
    roles = info.merge(roles, on="customer_id", how="right")
    roles = roles.sort_values(["customer_id", "role"], kind="stable").reset_index(drop=True)

    ga = roles.groupby("customer_id")
    acc = pd.DataFrame({"required": ga.size(), "on_cadence": ga["on_cadence"].sum().astype("int64")})
    acc["coverage"] = acc["on_cadence"] / acc["required"]
    dm_left = p[is_dm & p["left_recently"]].groupby("customer_id").size()
    acc["decision_maker_left"] = acc.index.isin(dm_left.index)
    acc["decision_maker_vacant"] = acc.index.isin(
        roles.loc[(roles["role"] == dm_role) & (roles["status"] == "vacant"), "customer_id"])
    if has_topic:
        dm_act = p[is_dm & p["active"]].groupby("customer_id")[["touches_recent", "review_recent"]].sum()
        dm_review_only = dm_act[(dm_act["touches_recent"] > 0) & (dm_act["touches_recent"] == dm_act["review_recent"])]
        ar = acct_recent.set_index("_cust")
        acct_review_only = ar[(ar["n"] > 0) & (ar["n"] == ar["n_review"])]
        acc["review_only"] = acc.index.isin(dm_review_only.index) | acc.index.isin(acct_review_only.index)
    else:
        acc["review_only"] = False
    acc["over_contacted"] = p[p["over_contact"]].groupby("customer_id").size().reindex(acc.index, fill_value=0)

    def _warn(r) -> str:
        bits = []
        if r["decision_maker_left"]:
            bits.append("decision maker left" + (" and nobody replaced them" if r["decision_maker_vacant"]
                                                else "; build the relationship with the new one"))
        if r["review_only"]:
            bits.append("decision maker only met at the business review")
        if r["over_contacted"]:
            bits.append(f"{int(r['over_contacted'])} person(s) touched far above cadence")
        return "; ".join(bits)

    acc["warning"] = acc.apply(_warn, axis=1) if len(acc) else pd.Series(dtype=str)
    acc = info.merge(acc.reset_index(), on="customer_id", how="right")
    acc = acc.sort_values(["coverage", "customer_id"], kind="stable").reset_index(drop=True)

    owners = None
    if owner in acc.columns:
        go = acc.groupby(acc[owner].fillna("(none)").replace("", "(none)"))
        owners = pd.DataFrame({"accounts": go.size(), "required": go["required"].sum(),
                               "on_cadence": go["on_cadence"].sum(),
                               "accounts_fully_covered": go["coverage"].apply(lambda s: int((s == 1).sum()))})
        owners["coverage"] = owners["on_cadence"] / owners["required"]
        owners = owners.reset_index().rename(columns={"index": owner})

    pcols = ["customer_id", *[c for c in info.columns if c != "customer_id"], "person_id",
             *(["person_name"] if "person_name" in p.columns else []), "role", "cadence_days", "start_date",
             "end_date", "active", "last_touch", "days_since_touch", "days_overdue", "on_cadence",
             "touches_recent", "over_contact_ratio", "over_contact"]
    p = info.merge(p, on="customer_id", how="right")[pcols].sort_values(["customer_id", "role", "person_id"],
                                                                        kind="stable").reset_index(drop=True)
    return Coverage(people=p, roles=roles, accounts=acc, owners=owners, as_of=as_of, notes=tuple(notes),
                    ledger=ledger)
