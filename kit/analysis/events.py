"""Known events (releases, outages, campaigns) that may explain a spike, read from any source."""

from __future__ import annotations

import pandas as pd

from ..core import engine
from ..core.dataset import accepts_dataset
from ..core.sources import open_tables
from ..core.types import Backend, TableSource

__all__ = ["load_events"]


@accepts_dataset
def load_events(events: TableSource, *, tz: str | None = None, con: Backend = None) -> pd.DataFrame:
    """Events (date, label, kind) from any source, as a small pandas frame sorted by date.

    Parameters
    ----------
    events : source or Dataset
        A DataFrame, CSV/Parquet path or anything :func:`kit.core.sources.open_tables` reads,
        with columns ``date, label[, kind]``; or a :class:`~kit.core.dataset.Dataset` (its
        ``events`` table).
    tz : str, optional
        Business time zone used to read event timestamps (default: the Dataset's, else UTC).
    con : Ibis backend, optional
        Where to run.

    Returns
    -------
    pandas.DataFrame
        ``date`` (naive day), ``label``, ``kind`` (None when not given). Rows without a
        usable date are dropped; :func:`read_events` also counts them.

    Examples
    --------
    >>> load_events(pd.DataFrame({"date": ["2026-01-14"], "label": ["release 4.0"]})).to_dict("records")
    [{'date': Timestamp('2026-01-14 00:00:00'), 'label': 'release 4.0', 'kind': None}]
    """
    return read_events(events, tz=tz, con=con)[0]


def read_events(events: TableSource, *, tz: str | None = None, con: Backend = None) -> tuple[pd.DataFrame, int]:
    """:func:`load_events` and the number of rows dropped for an unreadable date."""
    if isinstance(events, pd.DataFrame) and events.empty:
        return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "label": [], "kind": []}), 0
    src = open_tables(events=events, con=con, tz=tz or "UTC")
    t = src["events"].table
    kind = t["kind"].cast("string") if "kind" in t.columns else None
    expr = t.select(
        date=engine.local_date(t["date"]),
        label=t["label"].cast("string"),
        kind=kind if kind is not None else t["label"].cast("string").isnull().ifelse("", None),
    )
    df = engine.fetch(src.con, expr, max_rows=100_000)
    bad = int(df["date"].isna().sum())
    df = df.dropna(subset=["date"])
    df["date"] = pd.to_datetime(df["date"]).astype("datetime64[ns]")
    df["kind"] = df["kind"].astype(object).where(df["kind"].notna(), None)
    df = df.sort_values("date", kind="stable").reset_index(drop=True)
    return df[["date", "label", "kind"]], bad
