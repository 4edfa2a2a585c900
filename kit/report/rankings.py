"""Segments and channels ranked by contact frequency for one period (each segment over its own active customers)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import DEFAULT_DEDUP_WINDOW, DEFAULT_FREQ
from ..core import engine, periods
from ..core.dataset import TableSource, accepts_dataset
from ..core.periods import parse_period
from ..core.results import MetricResult
from ..core.sources import open_tables
from ..errors import renamed_parameters
from ..metrics.frequency import contact_frequency, poisson_ci
from ..present import narrative
from ..present.plots import new_axes
from . import shared

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from matplotlib.axes import Axes

    from ..core.types import DateLike, MappingSpec, Window


# --------------------------------------------------------------------------- rankings
@dataclass(frozen=True, repr=False)
class Rankings(MetricResult):
    """Segments and channels of one period ranked by contact frequency (``.frame``), with ``period``."""

    period: str = ""

    def describe(self) -> str:
        """Which segment has the highest frequency and which channel carries the most contacts."""
        ranked = self.frame
        top = ranked[ranked["ranked"].astype(bool)].dropna(subset=["rank"])
        seg = top[top["dimension"] != "channel"].sort_values("frequency", ascending=False).head(1)
        ch = top[top["dimension"] == "channel"].sort_values("contacts", ascending=False).head(1)
        bits = []
        if len(seg):
            r = seg.iloc[0]
            bits.append(
                f"by {r['dimension']}, {r['group']} customers contact support most often "
                f"({narrative.num(r['frequency'])} contacts per active customer)"
            )
        if len(ch):
            r = ch.iloc[0]
            bits.append(f"{r['group']} carries the most contacts ({narrative.pct(r['share_of_contacts'])} of them)")
        if not bits:
            return ""
        sentence = narrative.join(bits)
        return sentence[0].upper() + sentence[1:] + "."

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Horizontal bars of frequency with 95% CI whiskers, grouped by dimension; returns the Axes."""
        ranked = self.frame
        df = ranked.iloc[::-1].reset_index(drop=True)
        _, ax = new_axes(ax, figsize=(9, max(2.5, 0.32 * len(df) + 1)))
        labels = df["dimension"].astype(str) + ": " + df["group"].astype(str)
        order = list(dict.fromkeys(ranked["dimension"]))
        colors = [f"C{order.index(d) % 10}" for d in df["dimension"]]
        err = np.vstack([df["frequency"] - df["ci_low"], df["ci_high"] - df["frequency"]]).clip(min=0)
        ax.barh(range(len(df)), df["frequency"], xerr=err, color=colors, alpha=0.85, ecolor="0.3", capsize=2)
        ax.set_yticks(range(len(df)), labels, fontsize=8)
        ax.set_xlabel("contacts per active customer (95% CI)")
        ax.set_title(f"Segments and channels, {self.period}")
        return ax


@shared.memo  # computed once per render: the summary and the overview page share it
@accepts_dataset
@renamed_parameters(grain="freq")
def rankings(
    contacts: TableSource,
    customers: TableSource,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    tz: str | None = None,
    segments: Sequence[str] | None = ("tier", "region", "industry"),
    channel: bool = True,
    min_customers: int = 30,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
    active_lookback: Window | None = None,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
) -> Rankings:
    """Segments and channels of ``period`` ranked by contact frequency, with 95% CIs.

    Each segment column is ranked on its own (its customers are the denominator);
    channels share the all-customer denominator, so channel frequencies add up to the
    total. Groups with fewer than ``min_customers`` active customers are listed but
    not ranked (``ranked`` False). Segment columns absent from the data are skipped
    with a note in ``.notes``.

    Without a customers table (``customers=None``) there are no segments: the contact
    attributes ``channel`` and ``topic`` (those present) are ranked over the customers derived
    from the contacts (``active_lookback``, see :func:`kit.contact_frequency`), with one note.

    Returns
    -------
    Rankings
        ``.frame``: ``dimension, group, frequency, ci_low, ci_high, contacts, active_customers,
        share_of_contacts, rank, ranked``; ``.period``: the period label.

    Examples
    --------
    >>> r = rankings("data/examples/contacts.csv", "data/examples/customers.csv", period="2026-02",
    ...              segments=["tier", "plan"], min_customers=1)
    >>> r.period, r.notes
    ('2026-02', ("segment column 'plan' is not in the customers table; skipped",))
    """
    grain = periods.check_grain(freq)
    start = parse_period(period, grain)
    tables = open_tables(contacts=contacts, customers=customers, mapping=mapping, con=con, tz=tz)
    con = tables.con
    contact_cols = tables["contacts"].columns
    if tables.get("customers") is None:  # contacts only: no segments; contact attributes share the proxy denominator
        asked = [s for s in (segments or []) if s]
        segs: list[str] = []
        contact_dims = [d for d in (["channel"] if channel else []) + ["topic"] if d in contact_cols]
        notes = [
            "no customers table, so no segments"
            + (f" ({', '.join(asked)})" if asked else "")
            + f"; ranked by contact attributes ({', '.join(contact_dims) or 'none in the contacts'}) instead"
        ]
    else:
        cust_cols = tables["customers"].columns
        notes = [
            f"segment column {seg!r} is not in the customers table; skipped"
            for seg in (segments or [])
            if seg and seg not in cust_cols
        ]
        segs = list(dict.fromkeys(s for s in (segments or []) if s and s in cust_cols))
        contact_dims = ["channel"] if channel else []
    dims = segs + contact_dims
    lookback = active_lookback if tables.get("customers") is None else None
    if not dims:
        by_dim = {}
    elif not segs or _cells(con, tables["customers"].table, segs) <= MAX_CROSS_CELLS:
        # one engine pass for every dimension: segments partition the customers, so counts add up
        cross = _frequency_at(tables, start, grain, tz, dims, dedup_window, lookback)
        by_dim = {dim: _collapse(cross, dim, segs, contact_dims) for dim in dims}
    else:  # many segment levels: one pass per dimension keeps the grid small
        by_dim = {
            dim: _frequency_at(tables, start, grain, tz, [dim], dedup_window, lookback)[
                [dim, "contacts", "active_customers"]
            ]
            for dim in dims
        }
    frames = []
    for dim, df in by_dim.items():
        total = df["contacts"].sum()
        lo, hi = poisson_ci(df["contacts"], df["active_customers"])
        frames.append(
            pd.DataFrame(
                {
                    "dimension": dim,
                    "group": df[dim].astype(str).to_numpy(),
                    "frequency": (df["contacts"] / df["active_customers"].where(df["active_customers"] > 0)).to_numpy(),
                    "ci_low": lo,
                    "ci_high": hi,
                    "contacts": df["contacts"].to_numpy(),
                    "active_customers": df["active_customers"].to_numpy(),
                    "share_of_contacts": (df["contacts"] / total).to_numpy() if total else np.nan,
                }
            )
        )
    cols = [
        "dimension",
        "group",
        "frequency",
        "ci_low",
        "ci_high",
        "contacts",
        "active_customers",
        "share_of_contacts",
        "rank",
        "ranked",
    ]
    if not frames:
        out = pd.DataFrame(columns=cols)
    else:
        out = pd.concat(frames, ignore_index=True)
        out["ranked"] = (out["active_customers"] >= min_customers) | out["dimension"].isin(contact_dims)
        out = out.sort_values(["dimension", "ranked", "frequency"], ascending=[True, False, False], kind="stable")
        out["rank"] = out.groupby("dimension").cumcount() + 1
        out.loc[~out["ranked"], "rank"] = np.nan
        order = {d: i for i, d in enumerate(dims)}
        out = out.sort_values(
            ["dimension", "rank"], key=lambda s: s.map(order) if s.name == "dimension" else s, kind="stable"
        )[cols].reset_index(drop=True)
    return Rankings(
        frame=out,
        notes=tuple(notes),
        params={
            "freq": grain,
            "tz": tz,
            "segments": list(segs),
            "min_customers": int(min_customers),
            "dedup_window": dedup_window,
            **({"active_lookback": str(lookback)} if tables.get("customers") is None else {}),
        },
        period=periods.label(start, grain),
    )


#: Above this many segment combinations, rankings use one engine pass per dimension.
MAX_CROSS_CELLS = 5_000


def _cells(con, customers, segs) -> int:
    if not segs:
        return 1
    n = engine.fetch(con, customers.aggregate(**{f"n{i}": customers[s].nunique() for i, s in enumerate(segs)}))
    return int(np.prod([max(int(v), 1) + 1 for v in n.iloc[0]]))  # +1: a "(missing)" level


def _frequency_at(tables, start, grain, tz, by, dedup_window, active_lookback=None) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty groups have NaN frequency; they are shown as such
        return contact_frequency(
            tables["contacts"],
            tables.get("customers"),
            active_lookback=active_lookback,
            freq=grain,
            tz=tz,
            by=by,
            start=start,
            end=start,
            dedup_window=dedup_window,
            con=tables.con,
        ).frame


def _collapse(cross: pd.DataFrame, dim: str, segs: list[str], contact_dims: list[str]) -> pd.DataFrame:
    """Contacts and active customers of one dimension from a segments x contact attributes frame."""
    contacts = cross.groupby(dim, sort=True)["contacts"].sum()
    # active customers repeat on every channel row of a segment combination: count each combination once
    per_combo = cross.drop_duplicates(segs) if segs else cross.head(1)
    if dim in contact_dims:  # a contact attribute: the all-customer denominator of its segment combination
        active = pd.Series(per_combo["active_customers"].sum(), index=contacts.index)
    else:
        active = per_combo.groupby(dim, sort=True)["active_customers"].sum()
    return pd.DataFrame(
        {
            dim: contacts.index,
            "contacts": contacts.to_numpy(),
            "active_customers": active.reindex(contacts.index).to_numpy(),
        }
    )
