"""What the overview notebook shows: trend, headline, comparisons, rankings, onboarding, data quality.

Every number here comes from :func:`kit.contact_frequency` or from an engine-side
aggregate; the notebook calls these functions with its :class:`~kit.report.context.ReportContext`
and shows the results, and :mod:`kit.report.summary` builds ``summary.json`` from the same
functions and the same context, so the two agree. Results carry their words
(``.describe()``) and figures (``.plot(ax=)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
import numpy as np
import pandas as pd

from ..analysis import anomalies as anomaly_mod
from ..analysis import benchmarks as bench_mod
from ..analysis import compare as compare_mod
from ..analysis import decompose as decompose_mod
from ..analysis import forecast as forecast_mod
from ..analysis._series import partial_periods
from ..config import DEFAULT_DEDUP_WINDOW, DEFAULT_FREQ
from ..core import engine, periods
from ..core.dataset import TableSource, accepts_dataset
from ..core.ledger import Ledger
from ..core.periods import parse_period
from ..core.results import MetricResult, Result, frame_of, json_safe
from ..core.sources import open_tables
from ..errors import DataError, KitError, renamed_parameters
from ..metrics.frequency import contact_frequency
from ..present import narrative
from ..present.plots import date_axis, legend_outside, mark_events, mark_partial, new_axes
from .newcustomers import NewVsExisting, new_vs_existing  # noqa: F401 - the notebooks' facade
from .onboarding import ONBOARDING_WEEKS, OnboardingCurve, onboarding_curve  # noqa: F401 - the notebooks' facade
from .rankings import Rankings, rankings  # noqa: F401 - the notebooks' facade

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from matplotlib.axes import Axes

    from ..core.dataset import Dataset
    from ..core.types import DateLike, MappingSpec, Window

#: Periods a year per grain: the "same period last year" is this many periods back.
PERIODS_PER_YEAR = {"day": 364, "week": 52, "month": 12, "quarter": 4, "year": 1}
_UNIT = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}


# --------------------------------------------------------------------------- trend
@dataclass(frozen=True, repr=False)
class Trend(MetricResult):
    """All-customer contact frequency for the periods up to the report period.

    Attributes
    ----------
    frame : pandas.DataFrame
        :func:`kit.contact_frequency` columns, from the first period with contacts.
    periods_shown : int
        Periods the trend chart shows.
    data_start, data_end : str or None
        First and last contact date of the source (ISO, business time zone).
    """

    periods_shown: int = 24
    data_start: str | None = None
    data_end: str | None = None

    def plot(
        self, *, ax: Axes | None = None, events: pd.DataFrame | None = None, periods_shown: int | None = None
    ) -> Axes:
        """Frequency with its 95% CI over the last periods, with event markers; returns the Axes."""
        df = self.frame.tail(periods_shown or self.periods_shown)
        _, ax = new_axes(ax, figsize=(11, 4.2))  # wider: the event key sits beside the chart
        ax.fill_between(df["period"], df["frequency_ci_low"], df["frequency_ci_high"], alpha=0.25, label="95% CI")
        line = ax.plot(df["period"], df["frequency"], marker="o", lw=1.8, label="contacts per active customer")[0]
        mark_partial(ax, line, df.get("complete"))  # partial periods hollow, with a note
        marks = []
        if events is not None and len(events):
            first, last = df["period"].min(), df["period"].max()
            shown = events[
                (events["date"] >= first)
                & (events["date"] <= periods.period_end(last, self.freq or DEFAULT_FREQ) + pd.Timedelta(days=1))
            ]
            # at the start of the event's period, where that period's point is drawn
            marks = mark_events(ax, shown, freq=self.freq or DEFAULT_FREQ)
        date_axis(ax)
        ax.set_ylabel("contacts per active customer")
        ax.set_xlabel("")
        ax.set_title(f"Contact frequency, last {len(df)} {self.freq or 'period'}s", pad=16 if marks else None)
        handles, labels = ax.get_legend_handles_labels()
        legend_outside(ax, handles + marks, labels + [h.get_label() for h in marks])
        return ax

    def plot_cases(self, *, ax: Axes | None = None, periods_shown: int | None = None) -> Axes:
        """Contacts and cases per period side by side, with the repeat-contact rate; returns the Axes."""
        df = self.frame.tail(periods_shown or self.periods_shown)
        _, ax = new_axes(ax)
        width = pd.Timedelta(days={"week": 2, "quarter": 25}.get(self.freq, 9))
        ax.bar(df["period"] - width / 2, df["contacts"], width=width, label="contacts")
        ax.bar(df["period"] + width / 2, df["cases"], width=width, label="cases (follow-ups merged)")
        ax.set_ylabel("count")
        ax2 = ax.twinx()
        ax2.plot(df["period"], df["repeat_contact_rate"] * 100, color="C3", marker=".", label="repeat-contact rate")
        ax2.set_ylabel("repeat-contact rate (%)")
        ax2.set_ylim(0, max(5, float(np.nanmax(df["repeat_contact_rate"] * 100)) * 1.3))
        ax2.grid(False)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        legend_outside(ax2, h1 + h2, l1 + l2, where="top")  # above: the right edge holds the rate's axis
        date_axis(ax)
        ax.set_title("Contacts and cases", pad=24)
        return ax

    def cases_table(self, *, periods_shown: int = 6) -> pd.DataFrame:
        """The last periods' contacts, cases, follow-ups and repeat-contact rate."""
        df = self.frame.tail(periods_shown)
        return pd.DataFrame(
            {
                "period": [periods.label(p, self.freq or DEFAULT_FREQ) for p in df["period"]],
                "contacts": df["contacts"].to_numpy(),
                "cases": df["cases"].to_numpy(),
                "follow_ups": df["follow_ups"].to_numpy(),
                "repeat_contact_rate": df["repeat_contact_rate"].to_numpy(),
                "case_frequency": df["case_frequency"].to_numpy(),
            }
        )


@accepts_dataset
@renamed_parameters(grain="freq")
def trend(
    contacts: TableSource,
    customers: TableSource,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    tz: str | None = None,
    periods_shown: int = 24,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    active_lookback: Window | None = None,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
) -> Trend:
    """All-customer contact frequency for the periods up to ``period``.

    Covers ``periods_shown`` periods, or a year and one period when that is longer, so
    that the same period last year is always included. Periods before the first
    contact are dropped (they are not "zero contacts"). Without a customers table
    (``customers=None``) the denominator is derived from the contacts with ``active_lookback``.

    Examples
    --------
    >>> t = trend("data/examples/contacts.csv", "data/examples/customers.csv", period="2026-02")
    >>> t.frame["period"].iloc[-1], t.freq, t.data_end
    (Timestamp('2026-02-01 00:00:00'), 'month', '2026-02-27')
    """
    freq = periods.check_grain(freq)
    end = parse_period(period, freq)
    # one extra period: a week-grain "same week last year" can be 53 weeks back
    back = max(int(periods_shown) - 1, PERIODS_PER_YEAR[freq] + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty early periods are reported in .notes
        res = contact_frequency(
            contacts,
            customers,
            freq=freq,
            tz=tz,
            start=periods.shift(end, freq, -back),
            end=end,
            dedup_window=dedup_window,
            active_lookback=active_lookback if customers is None else None,
            mapping=mapping,
            con=con,
        )
    df = res.frame
    started = df["contacts"].gt(0).cummax()
    first, last = data_range(contacts, tz=tz, mapping=mapping, con=con)
    return Trend(
        frame=df[started.to_numpy()].reset_index(drop=True),
        ledger=res.ledger,
        notes=tuple(res.notes),
        params=dict(res.params),
        periods_shown=int(periods_shown),
        data_start=first,
        data_end=last,
    )


@accepts_dataset
def data_range(
    contacts: TableSource, *, tz: str | None = None, mapping: MappingSpec = None, con: BaseBackend | None = None
) -> tuple[str | None, str | None]:
    """First and last contact date (business time zone) of the contacts source, as ISO dates.

    Implausible times (see :func:`kit.core.engine.plausible_range`, e.g. 9999-12-31) are left out:
    they say nothing about where the data starts or ends.

    Examples
    --------
    >>> data_range("data/examples/contacts.csv")
    ('2026-01-03', '2026-02-27')
    """
    tables = open_tables(contacts=contacts, mapping=mapping, con=con, tz=tz)
    t = tables["contacts"].table
    instant = engine.parse_instant(t.created_at)
    day = engine.local_time(instant).date()
    plausible = t.filter(~engine.is_implausible(t.created_at, instant))
    got = engine.fetch(tables.con, plausible.aggregate(first=day.min(), last=day.max()))
    as_iso = lambda v: None if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")  # noqa: E731
    return as_iso(got["first"].iloc[0]), as_iso(got["last"].iloc[0])


# --------------------------------------------------------------------------- headline and comparisons
@dataclass(frozen=True)
class Change:
    """The headline period against a reference period."""

    reference: str
    frequency: float
    relative_change: float
    p_value: float | None = None
    significant: bool | None = None
    method: str = "relative change only"


@dataclass(frozen=True, repr=False)
class Headline(Result):
    """The all-customer numbers of one period, with comparisons (``grain`` is the period's freq)."""

    period: str
    grain: str
    start: str
    end: str
    frequency: float
    ci_low: float
    ci_high: float
    contacts: int
    cases: int
    follow_ups: int
    active_customers: int
    contacting_customers: int
    case_frequency: float
    repeat_contact_rate: float
    previous: Change | None = None
    last_year: Change | None = None
    complete: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return json_safe(asdict(self))

    def describe(self) -> str:
        """The period's frequency, its comparisons and its repeat contacts, in plain sentences."""
        return " ".join(_headline_sentences(self))

    def table(self) -> pd.DataFrame:
        """The headline and its two comparisons as rows, ready to show."""
        rows = [
            {
                "period": self.period,
                "frequency": self.frequency,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "contacts": self.contacts,
                "active_customers": self.active_customers,
                "change": np.nan,
                "test": "",
            }
        ]
        for what, ch in (("previous period", self.previous), ("same period last year", self.last_year)):
            if ch is None:
                continue
            # plain words here; the test and its p-value are in method_note()
            verdict = "" if ch.significant is None else compare_mod.VERDICT[bool(ch.significant)]
            rows.append(
                {
                    "period": f"{ch.reference} ({what})",
                    "frequency": ch.frequency,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "contacts": np.nan,
                    "active_customers": np.nan,
                    "change": ch.relative_change,
                    "test": verdict,
                }
            )
        # "change" on a reference row is how the headline period differs from that reference
        df = pd.DataFrame(rows)
        for col in ("contacts", "active_customers"):
            df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{int(v):,}")
        return df.rename(columns={"change": "change vs reference", "test": "significance"})

    def method_note(self) -> str:
        """How the comparisons were tested, with their p-values (for a method-notes section)."""
        bits = [
            f"{what} ({ch.reference}): p = {ch.p_value:.2g}"
            for what, ch in (("previous period", self.previous), ("same period last year", self.last_year))
            if ch is not None and ch.p_value is not None
        ]
        if not bits:
            return "The comparisons give the relative change only (no test could run)."
        return (
            "Headline comparisons: exact conditional Poisson test of the two periods' rates (contacts over active "
            "customers), widened for overdispersion; a change is called unlikely to be noise when p < 0.05. "
            + "; ".join(bits)
            + ". The frequency's 95% interval is the Garwood interval of the dispersion-adjusted contact count "
            "(customers as the sampling unit)."
        )

    def __repr__(self) -> str:
        return f"Headline({self.period}: {self.frequency:.4f} contacts per active customer)"


@renamed_parameters(grain="freq")
def headline(trend_result: MetricResult | pd.DataFrame, *, period: DateLike, freq: str = DEFAULT_FREQ) -> Headline:
    """The headline row of ``period`` from :func:`trend`, compared with the previous period
    and the same period last year.

    A plain :func:`kit.contact_frequency` frame works too; only a :class:`Trend` knows where
    the data ends, so only it can tell an incomplete period.

    Examples
    --------
    >>> t = trend("data/examples/contacts.csv", "data/examples/customers.csv", period="2026-02")
    >>> h = headline(t, period="2026-02")
    >>> h.contacts, h.complete, h.ci_low < h.frequency < h.ci_high
    (3, False, True)
    """
    freq = periods.check_grain(freq)
    frame = frame_of(trend_result)
    start = parse_period(period, freq)
    rows = frame.set_index("period")
    data_start, data_end = getattr(trend_result, "data_start", None), getattr(trend_result, "data_end", None)
    if data_end is not None and start > pd.Timestamp(data_end):  # far past the data: say where it ends
        raise DataError(
            f"no data for {periods.label(start, freq)}: the data ends on {data_end}; choose a period up to "
            f"{periods.label(data_end, freq)} (or load newer data)"
        )
    if data_start is not None and periods.period_end(start, freq) < pd.Timestamp(data_start):
        raise DataError(
            f"no data for {periods.label(start, freq)}: the data starts on {data_start}; choose a period from "
            f"{periods.label(data_start, freq)}"
        )
    if start not in rows.index:
        raise DataError(
            f"period {periods.label(start, freq)} is not in the computed trend; pass the same period to trend()"
        )
    row = rows.loc[start]
    if int(row["active_customers"]) == 0 or int(row["contacts"]) == 0:
        raise DataError(
            f"no contacts or no active customers in {periods.label(start, freq)}; "
            "check --period against the date range of the data"
        )
    previous, last_year = comparisons(trend_result, period=start, freq=freq)
    end = periods.period_end(start, freq)
    complete = data_end is None or pd.Timestamp(data_end) >= end
    # The metric's complete column also knows a period the data starts after (and as_of).
    complete = bool(row["complete"]) if "complete" in rows.columns else complete
    notes = list(getattr(trend_result, "notes", ()))
    if not complete and data_start is not None and pd.Timestamp(data_start) > start:
        notes.insert(
            0,
            f"the data starts on {data_start}, after {periods.label(start, freq)} begins on "
            f"{start:%Y-%m-%d}: the period is incomplete, so its frequency is understated",
        )
    elif not complete:
        until = f"ends on {data_end}" if data_end is not None else "does not cover it all"
        notes.insert(
            0,
            f"the data {until}, before {periods.label(start, freq)} ends on "
            f"{end:%Y-%m-%d}: the period is incomplete, so its frequency is understated",
        )
    return Headline(
        period=periods.label(start, freq),
        grain=freq,
        start=start.strftime("%Y-%m-%d"),
        end=end.strftime("%Y-%m-%d"),
        frequency=float(row["frequency"]),
        ci_low=float(row["frequency_ci_low"]),
        ci_high=float(row["frequency_ci_high"]),
        contacts=int(row["contacts"]),
        cases=int(row["cases"]),
        follow_ups=int(row["follow_ups"]),
        active_customers=int(row["active_customers"]),
        contacting_customers=int(row["contacting_customers"]),
        case_frequency=float(row["case_frequency"]),
        repeat_contact_rate=float(row["repeat_contact_rate"]),
        previous=previous,
        last_year=last_year,
        complete=complete,
        notes=tuple(notes),
    )


@renamed_parameters(grain="freq")
def comparisons(
    trend_result: MetricResult | pd.DataFrame, *, period: DateLike, freq: str = DEFAULT_FREQ
) -> tuple[Change | None, Change | None]:
    """``period`` against the previous period and the same period last year.

    Each comparison carries the exact conditional Poisson test of
    :func:`kit.analysis.compare.compare_periods`; when the test cannot run, the relative
    change is given without one. A reference period outside the frame or without
    contacts gives None.
    """
    freq = periods.check_grain(freq)
    frame = frame_of(trend_result)
    start = parse_period(period, freq)
    rows = frame.set_index("period")
    refs = {
        "previous period": periods.shift(start, freq, -1),
        "same period last year": periods.truncate(start - pd.DateOffset(years=1), freq),
    }
    try:
        tested = frame_of(compare_mod.compare_periods(trend_result, start, by=[])).set_index("comparison")
    except KitError:
        tested = None
    partial = set(partial_periods(frame))  # a partial reference period is no basis for a change
    out = []
    for name, ref in refs.items():
        if (
            ref not in rows.index
            or ref in partial
            or not rows.loc[ref, "active_customers"]
            or not rows.loc[ref, "contacts"]
        ):
            out.append(None)
            continue
        base = float(rows.loc[ref, "frequency"])
        rel = float(rows.loc[start, "frequency"] / base - 1)
        if tested is not None and name in tested.index and pd.notna(tested.loc[name, "p_value"]):
            p = float(tested.loc[name, "p_value"])
            out.append(
                Change(
                    periods.label(ref, freq),
                    base,
                    rel,
                    p,
                    bool(tested.loc[name, "significant"]),
                    "exact conditional Poisson test (kit.analysis.compare.compare_periods)",
                )
            )
        else:
            out.append(Change(periods.label(ref, freq), base, rel))
    return out[0], out[1]


# --------------------------------------------------------------------------- events and data quality
@accepts_dataset
def events_between(
    events: TableSource, *, start: DateLike, end: DateLike, tz: str | None = None, con: BaseBackend | None = None
) -> pd.DataFrame:
    """Events (``date, label, kind``) dated between ``start`` and ``end`` inclusive, oldest first."""
    if events is None:
        return pd.DataFrame(columns=["date", "label", "kind"])
    tables = open_tables(events=events, con=con, tz=tz)
    con = tables.con
    t = tables["events"].table
    kind = t.kind.cast("string") if "kind" in t.columns else ibis.literal("")
    t = t.select(date=engine.local_date(t.date), label=t.label.cast("string"), kind=kind)
    t = t.filter((t.date >= pd.Timestamp(start).date()) & (t.date <= pd.Timestamp(end).date()))
    out = engine.fetch(con, t.order_by("date"), max_rows=10_000)
    out["date"] = pd.to_datetime(out["date"])
    return out.reset_index(drop=True)


def measured_causes(
    ds: Dataset,
    new: NewVsExisting | None,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    active_lookback: Window | None = None,
) -> dict[str, float | None]:
    """The causes of contact a report measures, for :func:`benchmark`'s ``context=``: the new customers'
    share of the period's contacts (``new``, None without a customers table) and the share made on an
    event day. The overview page and ``summary.json`` both call this, so their benchmark texts agree on
    what is measured."""
    events = None
    if ds.events is not None:
        start = parse_period(period, freq)
        events = events_between(ds.events, start=start, end=periods.period_end(start, freq), tz=ds.tz)
    release = event_day_share(
        ds, period=period, freq=freq, events=events, dedup_window=dedup_window, active_lookback=active_lookback
    )
    return {"onboarding_share": None if new is None else new.share, "release_share": release}


def data_quality(ledger: Ledger | MetricResult, *, redact: bool = False) -> pd.DataFrame:
    """The ledger (of a result such as :class:`Trend`, or a Ledger) as a table: rows read, used and excluded
    by reason, with the share of rows read.

    Examples are raw values from the data; ``redact=True`` leaves them out.
    """
    df = getattr(ledger, "ledger", ledger).frame()  # a result's ledger, or a Ledger
    read = df[df["reason"] == "read"].set_index("table")["rows"]
    df = df.assign(share=df["rows"] / df["table"].map(read).where(lambda s: s > 0))
    cols = ["table", "reason", "kind", "rows", "share"] + ([] if redact else ["examples"])
    return df[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- benchmark, anomalies, forecast
@renamed_parameters(grain="freq")
def benchmark(
    trend_result: MetricResult | pd.DataFrame,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    profile: Mapping[str, Any] | None = None,
    context: Mapping[str, float | None] | None = None,
) -> dict:
    """Where the period's frequency (with its CI) sits against published industry estimates.

    Delegates to :func:`kit.analysis.benchmarks.place`. ``context`` adds the causes the page
    measures (``onboarding_share``, ``release_share``, ...; see ``Placement.sentences``), so the
    text does not call them unmeasured. Returns a JSON-ready dict: ``available``,
    ``reading`` (high / moderate / low / mixed), ``per_month``, ``ci_per_month``,
    ``bands`` (one dict per matched band) and ``text`` (the generated interpretation);
    or ``{"available": False, "note": ...}`` when placement is not possible.
    """
    freq = periods.check_grain(freq)
    start = parse_period(period, freq)
    frame = frame_of(trend_result)
    rows = frame[frame["period"] == start]
    if rows.empty:
        return {"available": False, "note": f"no frequency for {periods.label(start, freq)}"}
    try:
        placed = bench_mod.place(rows.iloc[0], profile or None, freq=freq)
        text = placed.sentences(**{k: v for k, v in (context or {}).items() if v is not None and np.isfinite(v)})
    except KitError as exc:
        return {"available": False, "note": f"benchmark placement not available: {exc}"}
    return {
        "available": True,
        "profile": json_safe(profile),
        "reading": placed.reading,
        "per_month": float(placed.value),
        "ci_per_month": list(map(float, placed.ci)) if placed.ci else None,
        "bands": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in placed.rows.to_dict("records")
        ],
        "text": list(text),
        "notes": list(placed.notes),
    }


@accepts_dataset
@renamed_parameters(grain="freq")
def event_day_share(
    contacts: TableSource,
    customers: TableSource,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    events: pd.DataFrame | None = None,
    tz: str | None = None,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    active_lookback: Window | None = None,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
) -> float | None:
    """Share of the period's contacts made on a day with an event (release, outage; :func:`events_between`).

    0.0 when no event falls in the period; None without an events table or without contacts.
    """
    if events is None:
        return None
    freq = periods.check_grain(freq)
    start = parse_period(period, freq)
    end = periods.period_end(start, freq)
    days = {d for d in pd.to_datetime(events["date"]).dt.normalize() if start <= d <= end}
    if not days:  # no event in the period: nothing fell on an event day, and no daily query is needed
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily = frame_of(
            contact_frequency(
                contacts,
                customers,
                freq="day",
                tz=tz,
                start=start,
                end=end,
                dedup_window=dedup_window,
                active_lookback=active_lookback if customers is None else None,
                mapping=mapping,
                con=con,
            )
        )
    total = float(daily["contacts"].sum())
    if total <= 0:
        return None
    return float(daily.loc[daily["period"].isin(days), "contacts"].sum()) / total


def benchmark_table(bench: dict) -> pd.DataFrame:
    """The matched benchmark bands of :func:`benchmark` and where the frequency sits against each."""
    cols = ["category", "segment", "low", "high", "position", "reason"]
    return pd.DataFrame(bench.get("bands") or [], columns=cols)


def anomalies(
    trend_result: MetricResult | pd.DataFrame,
    *,
    events: TableSource = None,
    threshold: float = 3.5,
    tz: str | None = None,
) -> dict:
    """Flagged periods of the trend (robust STL remainder, :func:`kit.analysis.anomalies.anomalies`).

    Returns a JSON-ready dict: ``available``, ``flagged`` (list of period, direction,
    size, z, explanation), ``latest_flagged`` (whether the last period is one), or a note.
    """
    grain = getattr(trend_result, "freq", None) or DEFAULT_FREQ
    frame = frame_of(trend_result)
    series = frame.set_index("period")["frequency"]
    # The frame (with its complete column), not the bare series: partial periods are left out.
    used = frame[["period", "frequency", *(["complete"] if "complete" in frame.columns else [])]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dec = decompose_mod.decompose(used, value="frequency", freq=grain)
            flagged = frame_of(anomaly_mod.anomalies(dec, threshold=threshold, events=events, tz=tz or "UTC"))
    except KitError as exc:
        return {"available": False, "note": f"anomaly detection not available: {exc}"}
    items = [
        {
            "period": periods.label(r["period"], grain),
            "direction": r["direction"],
            "size": None if pd.isna(r["size"]) else float(r["size"]),
            "z": float(r["z"]),
            "explanation": str(r["explanation"]),
        }
        for _, r in flagged.iterrows()
    ]
    last = periods.label(series.index.max(), grain)
    return {
        "available": True,
        "threshold": float(threshold),
        "periods_checked": int(len(dec.observed)),
        "partial_left_out": [periods.label(p, grain) for p in partial_periods(frame)],
        "flagged": items,
        "latest_flagged": any(i["period"] == last for i in items),
    }


def forecast(trend_result: MetricResult | pd.DataFrame, *, horizon: int = 3) -> dict:
    """Next periods' frequency with 80%/95% intervals (:func:`kit.analysis.forecast.forecast`), JSON-ready."""
    grain = getattr(trend_result, "freq", None) or DEFAULT_FREQ
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = frame_of(trend_result)  # with its complete column: partial periods are left out
            used = frame[["period", "frequency", *(["complete"] if "complete" in frame.columns else [])]]
            fc = forecast_mod.forecast(used, value="frequency", horizon=horizon, freq=grain)
    except KitError as exc:
        return {"available": False, "note": f"forecast not available: {exc}"}
    return {"available": True, **fc.to_dict()}


# --------------------------------------------------------------------------- words
def _headline_sentences(head: Headline) -> list[str]:
    """The headline, its comparisons and its repeat contacts (plain text; escape for display)."""
    unit = _UNIT[head.grain]
    per = "" if head.grain == "month" else f" per {unit}"  # a quarterly headline says so; months are the default
    out = [
        f"In {head.period}, customers contacted support {narrative.num(head.frequency)} times per active customer"
        f"{per} {narrative.interval(head.ci_low, head.ci_high)}: {head.contacts:,} contacts from "
        f"{head.active_customers:,} active customers."
        + ("" if head.complete else f" The data ends before the {unit} does, so this is a partial {unit}.")
    ]
    parts = []
    for change, what in ((head.previous, "the previous " + unit), (head.last_year, f"the same {unit} last year")):
        if change is None:
            continue
        word = narrative.change_word(change.relative_change)
        text = (
            f"{word} {narrative.pct(abs(change.relative_change))} against {what} ({change.reference}, "
            f"{narrative.num(change.frequency)})"
            if word != "was flat"
            else f"was flat against {what} ({change.reference})"
        )
        if change.significant is not None:
            text += ", " + compare_mod.VERDICT[bool(change.significant)]
        parts.append(text)
    if parts:
        sentence = "Frequency " + "; it ".join(parts)
        prev, ly = head.previous, head.last_year
        # Seasonal peaks are not service problems: say so when last year moved the same way.
        if (
            prev is not None
            and ly is not None
            and abs(prev.relative_change) >= 0.05
            and abs(ly.relative_change) < abs(prev.relative_change) / 2
        ):
            sentence += f", so most of the change against the previous {unit} is the seasonal pattern seen last year"
        out.append(sentence + ".")
    rr = (
        f"{narrative.pct(head.repeat_contact_rate)} of contacts were repeat contacts within the follow-up window, "
        f"so {head.cases:,} distinct cases remain ({narrative.num(head.case_frequency)} per active customer)."
    )
    out.append(rr[0].upper() + rr[1:])
    return out


def describe_period(
    head: Headline,
    *,
    ranked: Rankings | None = None,
    bench: dict | None = None,
    onboarding: OnboardingCurve | None = None,
    new: NewVsExisting | None = None,
) -> list[str]:
    """Three to five plain sentences that summarise the period (plain text; escape for display).

    The headline and its comparisons, the top segment and channel, the repeat contacts,
    then the benchmark reading (or, without one, the onboarding load); with ``new``, the new
    customers' share of the contacts against last year, before the benchmark, in place of the
    top segment and channel when all five are there (the rankings table shows them).
    """
    own = _headline_sentences(head)
    out = own[:-1]
    top = ranked.describe() if ranked is not None and len(ranked.frame) else ""
    if top:
        out.append(top)
    out.append(own[-1])
    if bench and bench.get("available"):
        out.append(
            f"Against industry estimates, {narrative.num(bench['per_month'])} contacts per customer per "
            f"month reads as {bench['reading']} ({_band_words(bench['bands'])})."
        )
    elif onboarding is not None and np.isfinite(onboarding.onboarding_ratio):
        out.append(
            f"New customers contact support {narrative.num(onboarding.onboarding_ratio, 1)} times as "
            "often in their first two weeks as later on."
        )
    if new is not None and np.isfinite(new.share):  # its own sentence: the share of contacts, not the rate
        out.insert(min(4, len(out)), new.share_sentence())
        if len(out) > 5 and top:  # five sentences at most: the top segment gives way (its table is on the page)
            out.remove(top)
    return out[:5]


def _band_words(bands) -> str:
    return narrative.join(
        f"{b['position']} the {b['segment']} band {narrative.num(b['low'])}–{narrative.num(b['high'])}"
        for b in bands[:3]
    )
