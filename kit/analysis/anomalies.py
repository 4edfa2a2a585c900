"""Periods that stand out from the seasonal pattern, matched to known events.

:func:`anomalies` flags periods whose remainder (from :func:`kit.analysis.decompose.decompose`)
has a calibrated z-score above a threshold (low counts: a Poisson tail probability), and names
the release or outage next to each one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..core import periods
from ..core.results import GrainedResult, json_safe
from ..core.types import TableSource
from ..errors import ParameterError
from ..present import narrative
from ._series import ZERO, f, unit
from .decompose import Decomposition, remainder
from .events import read_events

#: Below this typical expected count, a count series is scored by its Poisson tail probability.
LOW_COUNT = 20.0
#: Per-period false-flag rate on noise that the default threshold (3.5) is calibrated to.
NOISE_RATE = 0.008
_DEFAULT_Z = 3.5
#: Calibrated cuts, from :func:`_simulate_cut`: (seasonal periods fitted, robust) -> [(length, cut)].
#: Each cut is the 99.2th percentile of the score ``|r - median(r)| / (MAD(r0) / 0.6745)`` over
#: iid Gaussian noise series of that length, ``r`` the remainder of the fit :func:`decompose` makes
#: and ``r0`` that of the same fit without robustness weights (``benchmarks/calibration.py
#: --anomaly-table`` regenerates them). Between lengths the cut is interpolated in log length.
_CUTS: dict[tuple[tuple[int, ...], bool], list[tuple[int, float]]] = {
    ((12,), True): [(24, 6.134), (30, 5.094), (36, 4.569), (48, 4.259), (60, 3.944), (84, 4.794), (120, 4.654)],
    ((4,), True): [(8, 5.901), (12, 5.703), (16, 5.303), (24, 4.814), (40, 5.114)],
    ((52,), True): [(104, 5.232), (156, 4.1), (260, 3.38)],
    ((7,), True): [
        (14, 7.136),
        (21, 5.205),
        (28, 4.818),
        (42, 4.346),
        (60, 4.747),
        (92, 4.666),
        (180, 4.433),
        (365, 4.253),
        (729, 4.316),
    ],
    ((7, 365), True): [(730, 2.804), (1095, 2.856)],
}

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
        Periods with ``|z| > threshold`` are flagged (``z`` calibrated on noise, see
        :func:`anomalies`).
    tolerance : int
        An event explains a flag at most this many periods away.
    scale : str
        ``"poisson"``, ``"none"`` or ``"counts"`` (low counts scored by a Poisson tail
        probability): how the remainder was scored.
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
                f"(calibrated z above {narrative.num(self.threshold, 1)})."
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
        Flag periods with ``|z| > threshold``. ``z`` is calibrated so that the default 3.5
        flags at most about 0.8 periods per 100 on pure noise whatever the series' length (see Notes).
    events : source, optional
        Releases, outages and other dated events (columns ``date, label[, kind]``):
        a DataFrame, CSV/Parquet path, a Dataset's ``.events`` or anything
        :func:`kit.core.sources.open_tables` reads.
    tolerance : int, optional
        An event explains a flag when its period is at most this many periods away.
        Default: 1 for daily data (an evening release shows up the next day), else 0.
    scale : {"auto", "poisson", "none"}
        ``"poisson"`` divides each remainder by the square root of its expected value
        before scoring (counts and rates spread with their level); ``"auto"`` does so when
        the series is non-negative, mostly non-zero, with a positive expected value
        everywhere, and scores a low count series (whole numbers, typical expected count
        below :data:`LOW_COUNT`) by its Poisson tail probability instead.
    tz : str, optional
        Business time zone used to read event timestamps (default UTC).

    Returns
    -------
    Anomalies
        ``.frame`` has one row per flagged period, largest first; interpolated periods
        are never flagged.

    Notes
    -----
    How the threshold is calibrated. The expected values come from the (robust) STL fit,
    so a spike stays in the remainder instead of bending the seasonal pattern. The spread,
    however, is the MAD of the remainder of the same fit *without* robustness weights: on a
    short series the robust fit hugs most points and its remainder's MAD shrinks (36 months
    of iid noise gave 9.6 flags per 100 periods at robust z > 3.5). Even so the robust
    remainder has heavier tails than a normal one, so the score is divided by a cut found
    by simulation: for each seasonal set-up (12 months, 4 quarters, 52 weeks, 7 days, 7 and
    365 days, none) and series length, the 99.2th percentile of the score over thousands of
    iid Gaussian noise series (:data:`_CUTS`; ``benchmarks/calibration.py --anomaly-table``).
    ``z = 3.5 * score / cut``, so ``|z| > 3.5`` flags at most 0.8% of noise periods (on
    series longer than 125 periods, one period per series: 1/n), see
    ``benchmarks/calibration.py`` for the measured rates on monthly and daily noise of 24 to 60
    periods, and the recall of planted spikes). Low counts are scored by the one-sided
    Poisson tail probability of the observed count given its expected value (floored at a
    quarter of the series' mean), mapped to a normal z: a mostly-zero series has no spread to
    divide by.

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
        raise ParameterError(f"threshold must be a positive number of standard deviations, not {threshold!r}")
    if scale not in ("auto", "poisson", "none"):
        raise ParameterError(f"scale must be 'auto', 'poisson' or 'none', not {scale!r}")
    expected = result.observed - result.resid
    tol = (1 if result.grain == "day" else 0) if tolerance is None else int(tolerance)
    if tol < 0:
        raise ParameterError("tolerance must be >= 0 periods")
    z_values, scale, notes = _scores(result, expected, scale)
    z = pd.Series(z_values, index=result.resid.index)
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
    notes = tuple(notes) + ((f"{bad} event row(s) without a usable date were ignored",) if bad else ())
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


def _scores(result: Decomposition, expected: pd.Series, scale: str) -> tuple[np.ndarray, str, list[str]]:
    """Calibrated z per period, the scale used, and notes (see :func:`anomalies`, Notes)."""
    obs = result.observed.to_numpy(dtype=float)
    exp = expected.to_numpy(dtype=float)
    notes: list[str] = []
    if np.ptp(obs) <= ZERO:
        return np.zeros(len(obs)), "none" if scale == "auto" else scale, notes
    counts = bool(obs.min() >= 0 and np.allclose(obs, np.round(obs)))
    mostly_zero = float(np.mean(obs <= ZERO)) > 0.3
    if scale == "auto" and counts and float(np.median(np.maximum(exp, 0))) < LOW_COUNT:
        return _count_z(obs, exp), "counts", ["low counts: scored by their Poisson tail probability"]
    if scale == "auto":
        scale = "poisson" if (obs.min() >= 0 and exp.min() > ZERO and not mostly_zero) else "none"
    fitted = tuple(sorted(result.periods.values()))
    r = result.resid.to_numpy(dtype=float)
    r0 = r if not result.robust else remainder(obs, fitted, robust=False, fallback=_fallback(result))
    if scale == "poisson":
        # Counts and rates vary with their level (Poisson: sd ~ sqrt(mean)), so a quiet
        # Sunday and a busy Monday are put on one scale before scoring.
        root = np.sqrt(np.maximum(exp, ZERO))
        r, r0 = r / root, r0 / root
    spread = float(np.median(np.abs(r0 - np.median(r0)))) / 0.6745
    level = float(np.mean(np.abs(obs))) or 1.0
    if mostly_zero or spread <= 1e-6 * (level if scale == "none" else np.sqrt(level)):
        # A mostly-zero series, or more than half the periods exactly on the fit: the MAD is no
        # basis for a z score; the standard deviation bounds the score by sqrt(n).
        spread = float(np.std(r0))
        notes.append("most periods equal their expected value; scores use the standard deviation")
        if spread <= 1e-9 * level:
            return np.zeros(len(obs)), scale, notes
        return (r - np.median(r)) / spread, scale, notes
    cut = calibrated_cut(fitted if result.robust else (), result.robust, len(obs))
    return _DEFAULT_Z * (r - np.median(r)) / spread / cut, scale, notes


def _fallback(result: Decomposition) -> int:
    """The moving-average window :func:`decompose` uses when no seasonal period is fitted."""
    wanted = [p for p in result.seasonal.columns]
    lengths = {"weekly": 7, "yearly": {"day": 365, "week": 52, "month": 12, "quarter": 4}.get(result.grain, 3)}
    return max([lengths.get(c, 3) for c in wanted] or [3])


def _count_z(obs: np.ndarray, exp: np.ndarray) -> np.ndarray:
    """Signed normal z of the one-sided Poisson tail probability of each count."""
    mu = np.maximum(exp, 0.25 * max(float(obs.mean()), ZERO))
    upper = stats.poisson.sf(obs - 1, mu)  # P(X >= obs)
    lower = stats.poisson.cdf(obs, mu)  # P(X <= obs)
    z_up = stats.norm.isf(np.clip(upper, 1e-300, 1.0))
    z_down = stats.norm.ppf(np.clip(lower, 1e-300, 1.0))
    z = np.where(obs > mu, np.maximum(z_up, 0.0), np.where(obs < mu, np.minimum(z_down, 0.0), 0.0))
    return np.clip(z, -8.0, 8.0)


def calibrated_cut(fitted: tuple[int, ...], robust: bool, n: int) -> float:
    """The simulated 99.2th-percentile score on noise for this set-up and length (see :data:`_CUTS`).

    Series longer than 125 periods aim at one false flag per series instead (rate ``1 / n``):
    the cut grows by the ratio of normal quantiles, which the near-normal tails of long
    series' scores justify. A set-up without a table uses the normal quantile.
    """
    rate = min(NOISE_RATE, 1.0 / max(n, 1))
    stretch = float(stats.norm.isf(rate / 2) / stats.norm.isf(NOISE_RATE / 2))
    table = _CUTS.get((tuple(fitted), bool(robust)))
    if not table:
        return float(stats.norm.isf(rate / 2))
    lengths = np.log([t[0] for t in table])
    return stretch * float(np.interp(np.log(max(n, 2)), lengths, [t[1] for t in table]))


def _simulate_cut(fitted: tuple[int, ...], robust: bool, n: int, *, reps: int, seed: int = 0) -> float:
    """99.2th percentile of the anomaly score on ``reps`` iid Gaussian series of length ``n``."""
    rng = np.random.default_rng(seed)
    fallback = max(fitted) if fitted else 12
    out = []
    for _ in range(reps):
        v = rng.normal(size=n)
        r = remainder(v, fitted, robust=robust, fallback=fallback)
        r0 = r if not robust else remainder(v, fitted, robust=False, fallback=fallback)
        spread = np.median(np.abs(r0 - np.median(r0))) / 0.6745
        out.append(np.abs(r - np.median(r)) / spread)
    return float(np.quantile(np.concatenate(out), 1 - NOISE_RATE))


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
