"""Periods that stand out from the seasonal pattern, matched to known events.

:func:`anomalies` flags periods whose remainder (from :func:`kit.analysis.decompose.decompose`)
has a robust z-score above a threshold, and names the release or outage next to each one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core import periods
from ..core.results import GrainedResult, json_safe
from ..core.types import TableSource
from ..errors import ParameterError
from ..present import narrative
from ._series import ZERO, f, unit
from .decompose import Decomposition, robust_z
from .events import read_events

__all__ = ["Anomalies", "anomalies"]


@dataclass(frozen=True, repr=False)
class Anomalies(GrainedResult):
    """Flagged periods of one decomposed series.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per flagged period, largest first: ``period, observed, expected, resid,
        z, direction ("spike"/"dip"), size`` (observed / expected - 1), ``event, kind,
        event_date, explanation`` ("explained by: release 4.2" or "unexplained").
    threshold : float
        Periods with ``|robust z| > threshold`` are flagged.
    tolerance : int
        An event explains a flag at most this many periods away.
    scale : str
        ``"poisson"`` or ``"none"``: how the remainder was scaled before the robust z.
    grain : str
        Period grain (``.freq`` is the same value).
    name : str
        What the series measures.
    n_periods : int
        Periods checked.
    notes : tuple of str
        Caveats (e.g. event rows without a usable date).
    """

    frame: pd.DataFrame
    threshold: float
    tolerance: int
    scale: str
    grain: str
    name: str = "value"
    n_periods: int = 0
    notes: tuple = ()

    @property
    def empty(self) -> bool:
        """True when no period was flagged."""
        return self.frame.empty

    def __len__(self) -> int:
        return len(self.frame)

    def describe(self) -> str:
        """One sentence about the flagged periods and how many an event explains."""
        table, word = self.frame, unit(self.grain)
        n = len(table)
        if n == 0:
            return (
                f"No {word} stands out from the expected pattern"
                f"{f' in {self.n_periods} {word}s' if self.n_periods else ''} "
                f"(robust z above {narrative.num(self.threshold, 1)})."
            )
        explained = int(table["event"].notna().sum())
        top = table.iloc[0]
        what = "spike" if top["direction"] == "spike" else "dip"
        size = narrative.pct(abs(top["size"])) if not pd.isna(top["size"]) else "n/a"
        cause = f"({top['event']})" if top["event"] is not None and not pd.isna(top["event"]) else "(no known event)"
        return (
            f"{n} {word}{'s' if n != 1 else ''} stand{'s' if n == 1 else ''} out from the expected "
            f"pattern; {explained} of them {'is' if explained == 1 else 'are'} explained by a known event. The "
            f"largest is a {what} of {size} {'above' if what == 'spike' else 'below'} expected on "
            f"{periods.label(top['period'], self.grain)} {cause}."
        )

    def to_dict(self) -> dict:
        """Options and the flagged periods (period labels, JSON-safe)."""
        flagged = [
            {
                "period": periods.label(r["period"], self.grain),
                "direction": r["direction"],
                "z": f(r["z"]),
                "size": f(r["size"]),
                "observed": f(r["observed"]),
                "expected": f(r["expected"]),
                "event": None if pd.isna(r["event"]) else str(r["event"]),
                "explanation": r["explanation"],
            }
            for _, r in self.frame.iterrows()
        ]
        return {
            "name": self.name,
            "grain": self.grain,
            "threshold": json_safe(self.threshold),
            "tolerance": self.tolerance,
            "scale": self.scale,
            "n_periods": self.n_periods,
            "flagged": flagged,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return f"Anomalies({self.describe()})"


def anomalies(
    result: Decomposition,
    *,
    threshold: float = 3.5,
    events: TableSource = None,
    tolerance: int | None = None,
    scale: str = "auto",
    tz: str | None = None,
) -> Anomalies:
    """Periods whose remainder is extreme, each matched to a known event when one is near.

    Parameters
    ----------
    result : Decomposition
        From :func:`kit.analysis.decompose.decompose`.
    threshold : float
        Flag periods with ``|robust z| > threshold`` (robust z of the remainder,
        median/MAD; 3.5 is Iglewicz and Hoaglin's recommendation).
    events : source, optional
        Releases, outages and other dated events (columns ``date, label[, kind]``):
        a DataFrame, CSV/Parquet path, a Dataset's ``.events`` or anything
        :func:`kit.core.sources.open_tables` reads.
    tolerance : int, optional
        An event explains a flag when its period is at most this many periods away.
        Default: 1 for daily data (an evening release shows up the next day), else 0.
    scale : {"auto", "poisson", "none"}
        ``"poisson"`` divides each remainder by the square root of its expected value
        before the robust z (counts and rates spread with their level); ``"auto"`` does
        so when the series is non-negative with a positive expected value everywhere.
    tz : str, optional
        Business time zone used to read event timestamps (default UTC).

    Returns
    -------
    Anomalies
        ``.frame`` has one row per flagged period, largest first; interpolated periods
        are never flagged.

    Examples
    --------
    >>> from kit.analysis.decompose import decompose
    >>> idx = pd.date_range("2026-01-01", periods=28, freq="D")
    >>> y = pd.Series(100 + 10 * (idx.dayofweek < 5) + np.tile([1, -1], 14), index=idx)
    >>> y.iloc[17] = 250
    >>> ev = pd.DataFrame({"date": ["2026-01-18"], "label": ["release 4.2"]})
    >>> found = anomalies(decompose(y, period=7), events=ev)
    >>> found.frame[["period", "direction", "explanation"]].to_dict("records")
    [{'period': Timestamp('2026-01-18 00:00:00'), 'direction': 'spike', 'explanation': 'explained by: release 4.2'}]
    """
    if not isinstance(result, Decomposition):
        raise ParameterError("anomalies() takes the result of decompose(); call decompose(series) first")
    if not (isinstance(threshold, (int, float)) and threshold > 0):
        raise ParameterError(f"threshold must be a positive number of robust standard deviations, not {threshold!r}")
    if scale not in ("auto", "poisson", "none"):
        raise ParameterError(f"scale must be 'auto', 'poisson' or 'none', not {scale!r}")
    expected = result.observed - result.resid
    if scale == "auto":
        scale = "poisson" if (result.observed.min() >= 0 and expected.to_numpy().min() > ZERO) else "none"
    tol = (1 if result.grain == "day" else 0) if tolerance is None else int(tolerance)
    if tol < 0:
        raise ParameterError("tolerance must be >= 0 periods")
    resid = result.resid.to_numpy()
    if scale == "poisson":
        # Counts and rates vary with their level (Poisson: sd ~ sqrt(mean)), so a quiet
        # Sunday and a busy Monday are put on one scale before the robust z.
        resid = resid / np.sqrt(np.maximum(expected.to_numpy(), ZERO))
    z = pd.Series(robust_z(resid), index=result.resid.index)
    z[result.interpolated.to_numpy()] = 0.0
    hit = z.abs() > threshold
    out = pd.DataFrame(
        {
            "period": result.observed.index[hit.to_numpy()],
            "observed": result.observed[hit].to_numpy(),
            "expected": expected[hit].to_numpy(),
            "resid": result.resid[hit].to_numpy(),
            "z": z[hit].to_numpy(),
        }
    )
    out["direction"] = np.where(out["resid"] > 0, "spike", "dip")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["size"] = np.where(np.abs(out["expected"]) > ZERO, out["observed"] / out["expected"] - 1, np.nan)
    ev, bad = read_events(events, tz=tz) if events is not None else (None, 0)
    out = _explain(out, ev, result.grain, tol)
    out = out.reindex(out["z"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    notes = (f"{bad} event row(s) without a usable date were ignored",) if bad else ()
    return Anomalies(
        frame=out,
        threshold=threshold,
        tolerance=tol,
        scale=scale,
        grain=result.grain,
        name=result.name,
        n_periods=len(result.observed),
        notes=notes,
    )


def _explain(out: pd.DataFrame, ev: pd.DataFrame | None, grain: str, tol: int) -> pd.DataFrame:
    """Add ``event, kind, event_date, explanation`` to the flagged rows."""
    labels, kinds, dates = [], [], []
    for p in out["period"]:
        match = _match_event(p, ev, grain, tol) if ev is not None else None
        labels.append(None if match is None else match["label"])
        kinds.append(None if match is None else match["kind"])
        dates.append(pd.NaT if match is None else match["date"])
    out["event"], out["kind"] = labels, kinds
    out["event_date"] = pd.to_datetime(pd.Series(dates, dtype="datetime64[ns]"))
    none = "unexplained" if ev is not None else "unexplained (no event list given)"
    out["explanation"] = [f"explained by: {lab}" if lab is not None else none for lab in labels]
    return out


def _match_event(period: pd.Timestamp, events: pd.DataFrame, grain: str, tol: int):
    """Nearest event within ``tol`` periods; ties go to the event before the flag."""
    if events.empty:
        return None
    ev_periods = pd.DatetimeIndex([periods.truncate(d, grain) for d in events["date"]])
    step = pd.tseries.frequencies.to_offset(periods.GRAINS[grain][1])
    best, best_key = None, None
    for i, ep in enumerate(ev_periods):
        lo, hi = (ep, period) if ep <= period else (period, ep)
        dist = len(pd.date_range(lo, hi, freq=step)) - 1
        if dist <= tol:
            key = (dist, ep > period)
            if best_key is None or key < best_key:
                best, best_key = events.iloc[i], key
    return best
