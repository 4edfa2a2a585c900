"""Per-period outcome series: contact frequency next to mean CSAT, NPS and the churn rate.

The period-level correlation (:mod:`kit.analysis.correlation`) reads these series; all
row-level work runs on the engine, and only one row per period is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core import engine, periods
from ..core.dataset import TableSource, accepts_dataset
from ..core.prepare import REASON, classify_customers
from ..core.results import MetricResult
from ..core.sources import open_tables
from ..core.types import DateLike
from ..errors import AnalysisError, renamed_parameters
from ..present import narrative as nv
from .frequency import contact_frequency

SERIES_COLUMNS = ("period", "frequency", "contacts", "active_customers", "churned", "churn_rate", "complete")


@dataclass(frozen=True, repr=False)
class PeriodSeries(MetricResult):
    """Complete periods only: ``period, frequency, contacts, active_customers, churned, churn_rate``,
    ``complete`` (always True here) and, with surveys, ``responses, csat`` (and ``nps``).

    ``dropped_partial`` counts the partial first/last periods left out; ``params["freq"]`` is the grain.
    """

    dropped_partial: int = 0

    def describe(self) -> str:
        df = self.frame
        outcomes = [
            name
            for col, name in (("csat", "mean CSAT"), ("nps", "NPS"), ("churn_rate", "the churn rate"))
            if col in df.columns
        ]
        return (
            f"{len(df):,} complete {self.params.get('freq', 'period')}s of contact frequency and "
            f"{nv.join(outcomes)}; {self.dropped_partial} partial period(s) left out."
        )


def _churned_per_period(customers, unit: str, con, as_of=None) -> pd.DataFrame:
    cust = classify_customers(customers)
    ok = cust.filter(cust[REASON].isnull() & cust.churn.notnull())
    if as_of is not None:  # a churn after the as-of day is not known yet
        ok = ok.filter(ok.churn <= periods.parse_date(as_of).date())
    churn = engine.fetch(
        con, ok.group_by(ok.churn.truncate(unit).cast("date").name("period")).aggregate(churned=ok.count())
    )
    churn["period"] = pd.to_datetime(churn["period"])
    return churn


def _surveys_per_period(surveys, unit: str, con, as_of=None) -> pd.DataFrame:
    s = surveys.table
    local = engine.local_time(engine.parse_instant(s.responded_at))
    score = s.score.cast("float64") if s.score.type().is_numeric() else s.score.try_cast("float64")
    s = s.mutate(_local=local, _score=score)
    s = s.filter(s._local.notnull() & s._score.notnull())
    if as_of is not None:  # responses after the as-of day are not read
        s = s.filter(s._local < (periods.parse_date(as_of).normalize() + pd.Timedelta(days=1)).to_pydatetime())
    aggs = dict(responses=s.count(), csat=s._score.mean())
    if "nps" in s.columns:
        nps = s.nps.cast("float64") if s.nps.type().is_numeric() else s.nps.try_cast("float64")
        aggs.update(_nps_n=nps.count(), _prom=(nps >= 9).sum(), _detr=(nps <= 6).sum())
    sv = engine.fetch(con, s.group_by(s._local.truncate(unit).cast("date").name("period")).aggregate(**aggs))
    sv["period"] = pd.to_datetime(sv["period"])
    if "_nps_n" in sv.columns:
        sv["nps"] = 100 * (sv["_prom"] - sv["_detr"]) / sv["_nps_n"].where(sv["_nps_n"] > 0)
        sv = sv.drop(columns=["_nps_n", "_prom", "_detr"])
    return sv


@accepts_dataset
@renamed_parameters(grain="freq")
def period_series(
    contacts: TableSource,
    customers: TableSource,
    surveys: TableSource = None,
    *,
    freq: str = "month",
    tz: str | None = None,
    as_of: DateLike = None,
    mapping: Any = None,
    con: Any = None,
) -> PeriodSeries:
    """Per complete period: contact frequency, mean CSAT (and NPS), churned customers and churn rate.

    Partial first and last periods (``complete`` False in :func:`kit.contact_frequency`: not
    wholly inside the days from the first to the last counted contact, or to ``as_of``) are
    dropped so that a short period never looks quiet.

    Parameters
    ----------
    contacts, customers, surveys
        Any source accepted by :func:`kit.core.sources.open_tables`, or a Dataset first.
    freq : {"day", "week", "month", "quarter", "year"}
        Period grain.
    tz : str, optional
        Business time zone (default: the Dataset's, else UTC).
    as_of : date-like, optional
        Use only data up to the end of this day (contacts, churn dates and survey responses).

    Returns
    -------
    PeriodSeries
        ``.frame`` with one row per complete period, ``.ledger`` of the frequency metric,
        ``.dropped_partial`` and ``.params`` (``freq``, ``tz``).

    Examples
    --------
    >>> import kit
    >>> ps = period_series(kit.load("data/examples"))
    >>> list(ps.frame.columns[:4]), ps.params["freq"]
    (['period', 'frequency', 'contacts', 'active_customers'], 'month')
    """
    tables = open_tables(contacts=contacts, customers=customers, surveys=surveys, mapping=mapping, con=con, tz=tz)
    con = tables.con
    grain = periods.check_grain(freq)
    unit = periods.GRAINS[grain][0]
    fr = contact_frequency(tables["contacts"], tables["customers"], freq=grain, tz=tz, as_of=as_of, con=con)
    if fr.frame.empty:
        raise AnalysisError("no contacts remain after exclusions; the period series is empty")
    out = fr.frame[["period", "frequency", "contacts", "active_customers", "complete"]].copy()
    out = out.merge(_churned_per_period(tables["customers"], unit, con, as_of), on="period", how="left")
    out["churned"] = out["churned"].fillna(0).astype("int64")
    out["churn_rate"] = out["churned"] / out["active_customers"].where(out["active_customers"] > 0)
    if tables.get("surveys") is not None:
        out = out.merge(_surveys_per_period(tables["surveys"], unit, con, as_of), on="period", how="left")
    # Completeness: the data must cover the whole period (contact_frequency's complete column).
    keep = out["complete"].to_numpy(dtype=bool)
    dropped = int((~keep).sum())
    out = out[keep].reset_index(drop=True)
    out = out[[c for c in out.columns if c != "complete"] + ["complete"]]
    return PeriodSeries(
        frame=out,
        ledger=fr.ledger,
        notes=tuple(fr.notes),
        params={"freq": grain, "tz": tz, "as_of": fr.params.get("as_of")},
        dropped_partial=dropped,
    )
