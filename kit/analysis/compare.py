"""A period against the previous one and the same period last year, with an exact Poisson test.

:func:`compare_periods` takes a :func:`kit.contact_frequency` result (or its frame) and returns
a :class:`Comparison`; :func:`poisson_rate_test` is the test behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from ..core import periods
from ..core.results import GrainedResult, Result, frame_of, json_safe, params_of
from ..core.types import DateLike, Grouping
from ..errors import ParameterError
from ..present import narrative
from ._series import infer_grain

__all__ = ["Comparison", "compare_periods", "poisson_rate_test"]

_NO_TEST = {"rate_ratio": math.nan, "ratio_low": math.nan, "ratio_high": math.nan, "p_value": math.nan}


@dataclass(frozen=True, repr=False)
class Comparison(GrainedResult):
    """Changes of one period against the previous period and the same period last year.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per group and comparison (``"previous period"``, ``"same period last
        year"``): group columns, ``comparison, period, base_period, count, exposure, rate,
        base_count, base_exposure, base_rate, change`` (relative), ``rate_ratio, ratio_low,
        ratio_high, p_value, significant``. Rows whose base period is not in the data have
        NaN tests.
    grain : str
        Period grain (``.freq`` is the same value).
    value, exposure : str
        Count column and exposure column (rate = value / exposure).
    alpha : float
        Significance level of ``significant``.
    by : tuple of str
        Group columns.
    """

    frame: pd.DataFrame
    grain: str
    value: str = "contacts"
    exposure: str = "active_customers"
    alpha: float = 0.05
    by: tuple = ()

    def describe(self) -> str:
        """One sentence per group: change against the previous period and last year, with the test's verdict."""
        by = list(self.by)
        sentences = []
        for _, part in self.frame.groupby(by if by else (lambda _: 0), sort=False):
            who = "/".join(str(part.iloc[0][b]) for b in by) + ": " if by else ""
            bits = []
            for _, r in part.iterrows():
                if pd.isna(r["change"]):
                    bits.append(f"no {r['comparison']} to compare with")
                    continue
                verdict = "beyond Poisson noise" if r["significant"] else "within Poisson noise"
                bits.append(
                    f"{narrative.change_word(r['change'])} {narrative.pct(abs(r['change']))} against the "
                    f"{r['comparison']} ({periods.label(r['base_period'], self.grain)}, "
                    f"p = {_p(r['p_value'])}, {verdict})"
                )
            sentences.append(
                f"{who}In {periods.label(part.iloc[0]['period'], self.grain)} the rate " + "; ".join(bits) + "."
            )
        return " ".join(sentences)

    def to_dict(self) -> dict:
        return {
            "grain": self.grain,
            "value": self.value,
            "exposure": self.exposure,
            "alpha": self.alpha,
            "by": list(self.by),
            "rows": json_safe(self.frame),
        }

    def __repr__(self) -> str:
        return f"Comparison({self.describe()})"


def _p(p) -> str:
    if pd.isna(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def poisson_rate_test(n1: int, e1: float, n2: int, e2: float, *, level: float = 0.95) -> dict:
    """Exact conditional test that two Poisson rates ``n1/e1`` and ``n2/e2`` are equal.

    Conditional on ``n1 + n2``, ``n1 ~ Binomial(n1 + n2, e1 / (e1 + e2))`` under H0
    (Przyborowski and Wilenski); the p-value is scipy's exact two-sided binomial test.
    The rate-ratio interval maps the Clopper-Pearson interval of the binomial share.

    Parameters
    ----------
    n1, n2 : int
        Event counts (contacts).
    e1, e2 : float
        Exposures (active customers).
    level : float
        Confidence level of the rate-ratio interval.

    Returns
    -------
    dict
        ``rate_ratio, ratio_low, ratio_high, p_value``.

    Examples
    --------
    >>> r = poisson_rate_test(10, 100, 2, 100)
    >>> round(r["rate_ratio"], 1), round(r["p_value"], 4)
    (5.0, 0.0386)
    """
    n1, n2 = int(n1), int(n2)
    if n1 < 0 or n2 < 0:
        raise ParameterError("contact counts must be >= 0")
    if not (e1 > 0 and e2 > 0):
        return dict(_NO_TEST)
    n = n1 + n2
    if n == 0:
        return {"rate_ratio": math.nan, "ratio_low": 0.0, "ratio_high": math.inf, "p_value": 1.0}
    p0 = e1 / (e1 + e2)
    res = stats.binomtest(n1, n, p0)
    ci = res.proportion_ci(confidence_level=level, method="exact")
    to_ratio = lambda q: (q / (1 - q)) * (e2 / e1) if q < 1 else math.inf  # noqa: E731
    ratio = (n1 / e1) / (n2 / e2) if n2 > 0 else math.inf
    return {
        "rate_ratio": float(ratio),
        "ratio_low": float(to_ratio(ci.low)),
        "ratio_high": float(to_ratio(ci.high)),
        "p_value": float(res.pvalue),
    }


def compare_periods(
    frame: Result | pd.DataFrame,
    period: DateLike,
    *,
    by: Grouping = None,
    value: str = "contacts",
    exposure: str = "active_customers",
    alpha: float = 0.05,
) -> Comparison:
    """Change of a period against the previous period and the same period last year.

    Each comparison carries an exact conditional test of two Poisson rates
    (contacts with active customers as exposures, see :func:`poisson_rate_test`), so
    a small segment's noisy swing is not called a change.

    Parameters
    ----------
    frame : FrequencyResult or pandas.DataFrame
        Output of :func:`kit.contact_frequency` (``period``, group columns, counts).
    period : date-like
        The period to report, e.g. ``"2026-10"``.
    by : str or list, optional
        Group columns (default: the result's ``by``); compared per group.
    value, exposure : str
        Count column and exposure column (rate = value / exposure).
    alpha : float
        Significance level for the ``significant`` column.

    Returns
    -------
    Comparison
        ``.frame`` has one row per group and comparison.

    Examples
    --------
    >>> df = pd.DataFrame({"period": pd.to_datetime(["2025-10-01", "2026-09-01", "2026-10-01"]),
    ...                    "contacts": [100, 120, 150], "active_customers": [1000, 1000, 1000]})
    >>> out = compare_periods(df, "2026-10", value="contacts")
    >>> out.frame[["comparison", "change"]].round(3).to_dict("records")
    [{'comparison': 'previous period', 'change': 0.25}, {'comparison': 'same period last year', 'change': 0.5}]
    """
    params, source = params_of(frame), frame_of(frame)
    if not isinstance(source, pd.DataFrame) or "period" not in source.columns:
        raise ParameterError("compare_periods needs the result of contact_frequency (a frame with a 'period' column)")
    for col in (value, exposure):
        if col not in source.columns:
            raise ParameterError(f"column {col!r} is not in the frame; columns: {', '.join(map(str, source.columns))}")
    by = (params.get("by") or []) if by is None else by
    by = [by] if isinstance(by, str) else list(by)
    for b in by:
        if b not in source.columns:
            raise ParameterError(f"group column {b!r} is not in the frame")
    if not 0 < alpha < 1:
        raise ParameterError("alpha must be between 0 and 1")
    df = source.copy()
    df["period"] = pd.to_datetime(df["period"]).astype("datetime64[ns]")
    grain = params.get("freq") or infer_grain(pd.DatetimeIndex(df["period"].drop_duplicates().sort_values()))
    current = periods.truncate(period, grain)
    if current not in set(df["period"]):
        have = (
            f"{periods.label(df['period'].min(), grain)} to {periods.label(df['period'].max(), grain)}"
            if len(df)
            else "none"
        )
        raise ParameterError(f"period {periods.label(current, grain)} is not in the data (periods {have})")
    bases = {
        "previous period": periods.shift(current, grain, -1),
        "same period last year": periods.truncate(current - pd.DateOffset(years=1), grain),
    }
    keyed = df.groupby(["period", *by], dropna=False)[[value, exposure]].sum(min_count=1)
    groups = [()] if not by else sorted(df[by].drop_duplicates().itertuples(index=False, name=None), key=str)
    rows = []
    for g in groups:
        cur = _lookup(keyed, current, g)
        for comp, base in bases.items():
            rows.append(_row(dict(zip(by, g)), comp, current, base, cur, _lookup(keyed, base, g), alpha))
    return Comparison(frame=pd.DataFrame(rows), grain=grain, value=value, exposure=exposure, alpha=alpha, by=tuple(by))


def _row(row: dict, comp: str, current, base, cur: tuple, prev: tuple, alpha: float) -> dict:
    row.update(
        comparison=comp,
        period=current,
        base_period=base,
        count=cur[0],
        exposure=cur[1],
        rate=_rate(*cur),
        base_count=prev[0],
        base_exposure=prev[1],
        base_rate=_rate(*prev),
    )
    row["change"] = row["rate"] / row["base_rate"] - 1 if row["base_rate"] and row["base_rate"] > 0 else math.nan
    if any(pd.isna(v) for v in (*cur, *prev)):
        test = dict(_NO_TEST)
    else:
        test = poisson_rate_test(cur[0], cur[1], prev[0], prev[1], level=1 - alpha)
    row.update(test)
    row["significant"] = bool(test["p_value"] < alpha) if not math.isnan(test["p_value"]) else False
    return row


def _lookup(keyed: pd.DataFrame, period, group: tuple):
    key = (period, *group)
    try:
        row = keyed.loc[key if len(key) > 1 else period]
    except KeyError:
        return (math.nan, math.nan)
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    return (float(row.iloc[0]), float(row.iloc[1]))


def _rate(count, exposure) -> float:
    if pd.isna(count) or pd.isna(exposure) or exposure <= 0:
        return math.nan
    return count / exposure
