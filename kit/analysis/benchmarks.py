"""The benchmark table of the domain material, placement of a measured frequency, and its reading.

The table (``kit/data/benchmarks.csv``) is the material's "Customer Contact
Frequency Benchmarks": contacts per customer per month, low-high, by industry,
company stage, business model and contract type. The source labels every row
an *industry estimate*, and every generated interpretation says so.

Placement is honest about uncertainty: a value is "within" a band when its
confidence interval overlaps the band, and "below"/"above" only when the whole
interval is outside it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

from ..core import periods
from ..core.results import Result, frame_of, params_of
from ..errors import KitDeprecationWarning, ParameterError
from ..present.narrative import interval, join, num, pct

#: Profile keys -> the ``category`` values of the table.
CATEGORIES = ("industry", "stage", "model", "contract")
CATEGORY_NAMES = {
    "industry": "industry",
    "stage": "company stage",
    "model": "business model",
    "contract": "contract type",
}
UNIT = "contacts per customer per month"
SOURCE_NOTE = (
    "The benchmark figures are labelled by their source as industry estimates, "
    "not audited measurements; treat them as reference points, not targets."
)


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    with resources.files("kit").joinpath("data/benchmarks.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh)
    return df


def table() -> pd.DataFrame:
    """The benchmark table: ``category, segment, low, high, unit, source`` (a copy).

    Examples
    --------
    >>> t = table()
    >>> t.loc[t["segment"] == "SaaS (B2B)", ["low", "high"]].to_dict("records")
    [{'low': 0.3, 'high': 0.8}]
    >>> sorted(t["category"].unique())
    ['contract', 'industry', 'model', 'stage']
    """
    return _table().copy()


def segments(category: str | None = None) -> list[str]:
    """The segment labels of one category (or all), exactly as the material writes them."""
    t = _table()
    if category is not None:
        t = t[t["category"] == _check_category(category)]
    return t["segment"].tolist()


def _check_category(key: str) -> str:
    k = str(key).strip().lower()
    if k not in CATEGORIES:
        raise ParameterError(f"unknown benchmark profile key {key!r}; use {', '.join(CATEGORIES)}")
    return k


def _norm(text: str) -> str:
    return " ".join(str(text).lower().replace("–", "-").split())


def _match(profile) -> pd.DataFrame:
    t = _table()
    if profile is None:
        return t.copy()
    if isinstance(profile, str):
        raise ParameterError('profile must be a dict such as {"industry": "SaaS (B2B)"}, not a string')
    rows = []
    for key, value in dict(profile).items():
        cat = _check_category(key)
        options = t[t["category"] == cat]
        for v in [value] if isinstance(value, str) else list(value):
            hit = options[options["segment"].map(_norm) == _norm(v)]
            if hit.empty:
                raise ParameterError(
                    f"no {CATEGORY_NAMES[cat]} benchmark named {v!r}; use one of: {'; '.join(options['segment'])}"
                )
            rows.append(hit)
    if not rows:
        raise ParameterError("profile is empty; give at least one of " + ", ".join(CATEGORIES))
    return pd.concat(rows).drop_duplicates().reset_index(drop=True)


@dataclass(frozen=True)
class Placement(Result):
    """Where a contact frequency sits against the matched benchmark bands.

    Attributes
    ----------
    value : float
        The frequency in contacts per customer per **month** (converted from ``freq``).
    ci : tuple of float or None
        Its confidence interval per month, when known.
    freq : str
        The grain the value was measured on.
    rows : pandas.DataFrame
        One row per matched band: ``category, segment, low, high, position``
        (below / within / above), ``point_position`` (where the point estimate
        alone falls), ``straddles`` (the interval crosses a band edge) and ``reason``.
    context : dict
        Optional numbers used by :meth:`interpret` (``repeat_contact_rate``,
        ``onboarding_share``, ``release_share``, ``self_service_rate``).
    notes : list of str
    """

    value: float
    ci: tuple | None
    freq: str
    rows: pd.DataFrame = field(repr=False)
    context: dict = field(default_factory=dict, repr=False)
    notes: tuple = ()

    @property
    def reading(self) -> str:
        """``"high"``, ``"moderate"``, ``"low"`` or ``"mixed"`` from the positions of all matched bands."""
        pos = set(self.rows["position"])
        if pos == {"above"}:
            return "high"
        if pos == {"below"}:
            return "low"
        if pos == {"within"}:
            return "moderate"
        return "mixed"

    def sentences(self, **context: Any) -> list[str]:
        """Plain-language reading generated from the numbers, one sentence per item: position, causes, levers.

        Keyword arguments add to (and override) :attr:`context`: ``repeat_contact_rate``
        (share of contacts that are follow-ups), ``onboarding_share`` (share of contacts
        from customers in onboarding), ``release_share`` (share of contacts on release or
        outage days), ``self_service_rate`` (self-service success rate).

        Examples
        --------
        >>> p = place(0.95, {"industry": "SaaS (B2B)"}, ci=(0.9, 1.0))
        >>> p.sentences(repeat_contact_rate=0.22)[0][:48]
        'At 0.95 contacts per customer per month (95% CI '
        >>> any("industry estimates" in s for s in p.sentences())
        True
        """
        ctx = {**self.context, **{k: v for k, v in context.items() if v is not None}}
        return _interpret(self, ctx)

    def interpret(self, **context: Any) -> list[str]:
        """Deprecated name of :meth:`sentences`."""
        warnings.warn(
            "Placement.interpret() is deprecated; use .sentences() (a list) or .describe() (a string)",
            KitDeprecationWarning,
            stacklevel=2,
        )
        return self.sentences(**context)

    def describe(self, **context: Any) -> str:
        """:meth:`sentences` as one paragraph."""
        return " ".join(self.sentences(**context))


def _position(lo: float, hi: float, band_lo: float, band_hi: float) -> str:
    if hi < band_lo:
        return "below"
    if lo > band_hi:
        return "above"
    return "within"


def _from_frame(value, freq, ci):
    """Value, CI, grain and context from a contact_frequency row or one-period frame."""
    if isinstance(value, Result):
        freq = freq or params_of(value).get("freq")
        value = frame_of(value)
    if isinstance(value, pd.DataFrame):
        frame = value
        if frame.empty:
            raise ParameterError("the frequency table is empty; there is nothing to place")
        if len(frame) > 1:
            if "period" not in frame.columns:
                raise ParameterError("pass one row of the frequency table (one period, one group)")
            last = frame[frame["period"] == frame["period"].max()]
            if len(last) != 1:
                raise ParameterError(
                    "the frequency table has several groups per period; pass the one row to place, e.g. df.iloc[-1]"
                )
            frame = last
        row = frame.iloc[0]
    else:
        row = value
    if "frequency" not in row.index:
        raise ParameterError("a frequency row needs a 'frequency' column (from kit.contact_frequency)")
    if ci is None and {"frequency_ci_low", "frequency_ci_high"} <= set(row.index):
        ci = (row["frequency_ci_low"], row["frequency_ci_high"])
    ctx = {}
    if "repeat_contact_rate" in row.index and pd.notna(row["repeat_contact_rate"]):
        ctx["repeat_contact_rate"] = float(row["repeat_contact_rate"])
    if "case_frequency" in row.index and pd.notna(row["case_frequency"]):
        ctx["case_frequency"] = float(row["case_frequency"])
    if "period" in row.index and pd.notna(row["period"]):
        ctx["period"] = row["period"]
    return float(row["frequency"]), freq, ci, ctx


def place(
    value: float | pd.Series | pd.DataFrame | Result,
    profile: Mapping[str, str | Sequence[str]] | None = None,
    *,
    ci: tuple[float, float] | None = None,
    freq: str | None = None,
    level: float = 0.95,
) -> Placement:
    """Place a contact frequency against the benchmark bands that match ``profile``.

    Stable public signature (used by the overview report).

    Parameters
    ----------
    value : float, pandas.Series or pandas.DataFrame
        Contacts per customer per period. A :class:`~kit.FrequencyResult` (its grain comes
        from ``.params``), a row of its ``.frame``, or a frame whose last period has one row
        also supplies the interval (``frequency_ci_low/high``) and the
        repeat-contact rate for the interpretation.
    profile : dict, optional
        Keys ``industry``, ``stage``, ``model``, ``contract`` with segment labels as
        in :func:`table` (case-insensitive), e.g. ``{"industry": "SaaS (B2B)",
        "model": "B2B Enterprise"}``; a value may be a list. ``None`` places against
        every band.
    ci : (low, high), optional
        Confidence interval of ``value`` on the same grain.
    freq : str, optional
        Grain of ``value`` (default month). A quarterly value is divided by 3, a
        weekly one multiplied by 52.18/12, and so on, before it is compared with
        the per-month bands.
    level : float
        Confidence level of ``ci``, for the wording only.

    Returns
    -------
    Placement
        ``.rows`` has one row per matched band with ``position`` below / within /
        above. "within" means the interval overlaps the band (band edges
        inclusive); without an interval the point estimate decides, and the
        reason says so.

    Examples
    --------
    >>> p = place(0.75, {"industry": "SaaS (B2B)", "model": "B2B Enterprise"}, ci=(0.70, 0.82))
    >>> p.rows[["segment", "position", "straddles"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'segment': 'SaaS (B2B)', 'position': 'within', 'straddles': True},
     {'segment': 'B2B Enterprise', 'position': 'within', 'straddles': True}]
    >>> place(1.5, {"industry": "SaaS (B2B)"}, freq="quarter").value
    0.5
    """
    ctx: dict = {}
    if isinstance(value, (pd.DataFrame, pd.Series, Result)):
        value, freq, ci, ctx = _from_frame(value, freq, ci)
    grain = periods.check_grain(freq or "month")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"value must be a number or a frequency row, not {type(value).__name__}") from None
    if math.isnan(value):
        raise ParameterError("the frequency is NaN (no active customers?); there is nothing to place")
    if value < 0:
        raise ParameterError(f"a contact frequency cannot be negative ({value})")
    scale = periods.MONTHS_PER_PERIOD[grain]
    notes = []
    if grain != "month":
        notes.append(f"converted from per {grain} to per month by dividing by {scale:g}")
    per_month = value / scale
    ci_m = None
    if ci is not None:
        try:
            lo, hi = (float(ci[0]), float(ci[1]))
        except (TypeError, ValueError, IndexError):
            raise ParameterError(f"ci must be a (low, high) pair of numbers, not {ci!r}") from None
        if math.isnan(lo) or math.isnan(hi):
            ci = None
        elif lo > hi or not (lo <= value <= hi):
            raise ParameterError(f"ci {ci!r} must be (low, high) around the value {value}")
        else:
            ci_m = (lo / scale, hi / scale)
    if "case_frequency" in ctx:
        ctx["case_frequency"] /= scale
    bands = _match(profile)
    out = []
    lo, hi = ci_m if ci_m else (per_month, per_month)
    for r in bands.itertuples(index=False):
        pos = _position(lo, hi, r.low, r.high)
        point = _position(per_month, per_month, r.low, r.high)
        straddles = ci_m is not None and pos == "within" and (lo < r.low <= hi or lo <= r.high < hi)
        band_txt = f"{r.segment} band {num(r.low)}–{num(r.high)}"
        shown = f"{num(per_month)}" + (f" {interval(*ci_m)}" if ci_m else "")
        if ci_m is None:
            reason = f"{shown} is {pos} the {band_txt}; no confidence interval was given, so the point estimate decides"
        elif straddles:
            reason = (
                f"{shown} overlaps the {band_txt}: the point estimate is {point} the band, but the "
                f"interval crosses its edge, so it is counted as within"
            )
        elif pos == "within":
            reason = f"{shown} lies inside the {band_txt}"
        else:
            reason = f"the whole interval {shown} is {pos} the {band_txt}"
        out.append(
            dict(
                category=r.category,
                segment=r.segment,
                low=r.low,
                high=r.high,
                position=pos,
                point_position=point,
                straddles=bool(straddles),
                reason=reason,
            )
        )
    rows = pd.DataFrame(
        out, columns=["category", "segment", "low", "high", "position", "point_position", "straddles", "reason"]
    )
    return Placement(value=per_month, ci=ci_m, freq=grain, rows=rows, context=ctx, notes=tuple(notes))


# --------------------------------------------------------------------------- interpretation


#: Bands named one by one in the placement sentence; more are counted (the table lists each).
MAX_CLAUSES = 3


def _interpret(p: Placement, ctx: dict) -> list[str]:
    v = p.value
    ci_txt = f" {interval(*p.ci)}" if p.ci else ""
    lines = []
    parts = []
    for r in p.rows.itertuples(index=False):
        if r.position == "within":
            where = "within" + (" (the interval crosses an edge)" if r.straddles else "")
        elif r.position == "above":
            where = f"above, {num(v - r.high)} over its top ({num(v / r.high, 1)}x the upper bound)"
        else:
            where = f"below, {num(r.low - v)} under its floor"
        parts.append(f"the {CATEGORY_NAMES[r.category]} band {r.segment} ({num(r.low)}–{num(r.high)}): {where}")
    grain_note = f", converted from a {p.freq}ly figure" if p.freq != "month" else ""
    if len(parts) > MAX_CLAUSES:  # no profile matches every band: a 14-clause sentence reads as noise
        counts = p.rows["position"].value_counts()
        parts = parts[:MAX_CLAUSES] + [
            f"{len(p.rows) - MAX_CLAUSES} more bands (all {len(p.rows)}: "
            + join(f"{n} {pos}" for pos, n in counts.items())
            + "; set benchmark.profile in report.yml to compare with yours only)"
        ]
    lines.append(f"At {num(v)} {UNIT}{ci_txt}{grain_note}, the frequency sits against " + join(parts) + ".")
    reading = p.reading
    if reading == "high":
        lines.append(
            "Reading: high. Customers reach support more often than the matched benchmarks suggest; "
            "in the source material that is usually a symptom of product, self-service or "
            "resolution problems rather than engagement."
        )
    elif reading == "low":
        lines.append(
            "Reading: low. Fewer contacts than the benchmarks can mean strong self-service and a "
            "stable product, but also disengaged customers who stopped asking; check it against "
            "churn and CSAT before celebrating."
        )
    elif reading == "moderate":
        lines.append(
            "Reading: moderate. The frequency is inside the expected range; watch the trend and "
            "the mix of contacts rather than the level."
        )
    else:
        counts = p.rows["position"].value_counts()
        lines.append(
            "Reading: mixed. The matched benchmarks disagree ("
            + join(f"{n} {pos}" for pos, n in counts.items())
            + "); the profile spans bands with different norms, so judge against the one closest to "
            "your business."
        )
    lines.extend(_causes(p, ctx, reading))
    lines.extend(_levers(reading, ctx))
    lines.append(SOURCE_NOTE)
    return lines


def _causes(p: Placement, ctx: dict, reading: str) -> list[str]:
    """Causes to check, most evidenced first, each quoting the number that supports it."""
    found = []
    rcr = ctx.get("repeat_contact_rate")
    if rcr is not None:
        case = ctx.get("case_frequency")
        tail = f"; counting cases instead of contacts gives {num(case)} per month" if case is not None else ""
        weight = rcr
        found.append(
            (
                weight,
                f"repeat contacts: {pct(rcr)} of contacts were follow-ups of an earlier "
                f"contact within the follow-up window{tail}"
                + (" — high enough to point at first-contact resolution" if rcr >= 0.15 else ""),
            )
        )
    onb = ctx.get("onboarding_share")
    if onb is not None:
        found.append(
            (
                onb,
                f"onboarding cohorts: {pct(onb)} of contacts came from customers in their "
                "onboarding period" + (" — new customers drive a large share" if onb >= 0.2 else ""),
            )
        )
    rel = ctx.get("release_share")
    if rel is not None:
        found.append((rel, f"releases and announcements: {pct(rel)} of contacts fell on release or outage days"))
    ss = ctx.get("self_service_rate")
    if ss is not None:
        found.append(
            (
                1 - ss,
                f"self-service: the self-service success rate is {pct(ss)}"
                + (" — customers default to contacting support" if ss < 0.5 else ""),
            )
        )
    found.sort(key=lambda t: -t[0])
    given = {"repeat_contact_rate", "onboarding_share", "release_share", "self_service_rate"} & set(ctx)
    unmeasured = [
        name
        for key, name in (
            ("repeat_contact_rate", "repeat contacts"),
            ("onboarding_share", "onboarding cohorts"),
            ("release_share", "contacts after releases"),
            ("self_service_rate", "self-service success"),
        )
        if key not in given
    ]
    if reading == "low":
        head = "Causes to check for a low frequency: whether customers still use the product, "
        head += "and whether contacts are being lost (channels not captured)."
        out = [head]
        if found:
            out.append("Measured: " + "; ".join(t for _, t in found) + ".")
        return out
    head = "Likely causes to check" if reading in ("high", "mixed") else "Things to keep an eye on"
    out = []
    if found:
        out.append(f"{head}, most evidenced first: " + "; ".join(t for _, t in found) + ".")
    if unmeasured:
        out.append(("Not measured here: " if found else f"{head}: ") + join(unmeasured) + ".")
    return out


def _levers(reading: str, ctx: dict) -> list[str]:
    if reading == "low":
        return [
            "Levers: confirm engagement (usage, CSAT, churn) for the quiet segments, and make sure every "
            "support channel is captured before reading the low figure as good news."
        ]
    levers = []
    rcr = ctx.get("repeat_contact_rate")
    if rcr is not None and rcr >= 0.15:
        levers.append("improve first-contact resolution (the follow-up share is the quickest win)")
    onb = ctx.get("onboarding_share")
    if onb is not None and onb >= 0.2:
        levers.append("strengthen onboarding with guided tutorials and milestone check-ins")
    levers.append(
        "strengthen self-service resources for the most common questions (the source cites "
        "20-30% reductions from successful implementations)"
    )
    levers.append("communicate proactively before releases and policy changes")
    levers.append("fix root-cause product issues found by segmenting contacts by topic and cohort")
    if reading == "moderate":
        return ["Levers, if you want to go lower: " + "; ".join(levers) + "."]
    return ["Levers: " + "; ".join(levers) + "."]
