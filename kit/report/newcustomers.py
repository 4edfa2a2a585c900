"""New vs existing customers in the report period: their frequencies with intervals, their share of contacts.

A customer is new in a period when they signed up less than ``new_window`` before its start
(see :mod:`kit.metrics.timesegments`); the numbers come from :func:`kit.contact_frequency` with
``by="new_vs_existing"``, for the report period and the same period a year earlier.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..config import DEFAULT_DEDUP_WINDOW, DEFAULT_FREQ, DEFAULT_NEW_WINDOW
from ..core import periods
from ..core.periods import parse_period
from ..core.results import Result
from ..errors import KitError, KitWarning
from ..metrics.cohorts import rate_ratio
from ..metrics.frequency import contact_frequency
from ..metrics.timesegments import bands
from ..present import narrative
from . import shared

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..core.types import DateLike, Window


@dataclass(frozen=True, repr=False)
class NewVsExisting(Result):
    """New and existing customers' frequency in the report period and a year earlier.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``period, new_vs_existing, contacts, active_customers, frequency, frequency_ci_low,
        frequency_ci_high`` for the report period and the same period last year (when in the data).
    share, share_last_year : float
        New customers' share of the period's contacts (NaN when unknown).
    ratio, ci_low, ci_high : float
        New customers' frequency over existing customers' in the period, with a 95% Poisson interval.
    """

    frame: pd.DataFrame
    period: str
    grain: str
    new_window: str
    share: float = float("nan")
    share_last_year: float = float("nan")
    last_year: str = ""
    ratio: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    notes: tuple[str, ...] = ()

    @property
    def window_words(self) -> str:
        """``new_window`` in days, as the grouping reads it (``"90D"`` -> ``"90 days"``)."""
        days = bands("new_vs_existing", new_window=self.new_window).edges[0][1]
        return f"{days} day" + ("s" if days != 1 else "")

    def describe(self) -> str:
        """How much of the period's contacts came from new customers, against last year, and how often they write."""
        return " ".join(t for t in (self.share_sentence(), self.ratio_sentence()) if t)

    def share_sentence(self) -> str:
        """New customers' share of the period's contacts, and how it moved against the same period last year."""
        if not np.isfinite(self.share):
            return f"No contacts in {self.period}, so there is no new vs existing split."
        now = self.frame[self.frame["period"] == self.frame["period"].max()].set_index("new_vs_existing")
        n_new, n_all = int(now.loc["new", "contacts"]), int(now["contacts"].sum())
        text = (
            f"New customers (signed up less than {self.window_words} before the {self.grain} began) made "
            f"{narrative.pct(self.share)} of the contacts in {self.period} ({n_new:,} of {n_all:,})"
        )
        if np.isfinite(self.share_last_year):
            points = 100 * (self.share - self.share_last_year)
            move = "the same share as" if abs(points) < 0.5 else f"{'up' if points > 0 else 'down'} from"
            text += f", {move} {narrative.pct(self.share_last_year)} in {self.last_year}"
        return text + "."

    def ratio_sentence(self) -> str:
        """New customers' frequency against existing customers', with its interval ("" when unknown)."""
        if not np.isfinite(self.ratio):
            return ""
        return (
            f"They contacted support {narrative.num(self.ratio)} times as often per customer as existing "
            f"customers {narrative.interval(self.ci_low, self.ci_high)}."
        )

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Frequency of new and existing customers with 95% intervals, this period beside last year's."""
        from ..present.plots import legend_outside, new_axes

        _, ax = new_axes(ax, figsize=(5, 4))
        groups = ["new", "existing"]
        shown = sorted(self.frame["period"].unique())
        width = 0.8 / max(len(shown), 1)
        for i, p in enumerate(shown):
            rows = self.frame[self.frame["period"] == p].set_index("new_vs_existing").reindex(groups)
            x = np.arange(len(groups)) + (i - (len(shown) - 1) / 2) * width
            err = np.vstack(
                [rows["frequency"] - rows["frequency_ci_low"], rows["frequency_ci_high"] - rows["frequency"]]
            )
            label = periods.label(p, self.grain)
            alpha = 1.0 if p == shown[-1] else 0.45
            ax.bar(x, rows["frequency"], width, yerr=err, capsize=4, alpha=alpha, label=label)
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f"new (< {self.window_words})", "existing"])
        ax.set_ylabel("contacts per active customer")
        legend_outside(ax, where="top")
        return ax


@shared.memo  # computed once per render: the summary and the overview page share it
def new_vs_existing(
    ds,
    *,
    period: DateLike,
    freq: str = DEFAULT_FREQ,
    new_window: Window = DEFAULT_NEW_WINDOW,
    dedup_window: Window = DEFAULT_DEDUP_WINDOW,
) -> NewVsExisting:
    """New vs existing customers in ``period`` and the same period last year (a :class:`kit.Dataset`).

    Examples
    --------
    >>> import kit
    >>> nve = new_vs_existing(kit.load("data/examples"), period="2026-01", new_window="30D")
    >>> now = nve.frame[nve.frame["period"] == "2026-01-01"]
    >>> now[["new_vs_existing", "contacts", "active_customers"]].values.tolist()
    [['new', 2, 2], ['existing', 2, 1]]
    >>> round(nve.share, 2), nve.share_last_year  # no data a year earlier
    (0.5, nan)
    """
    start = parse_period(str(period), freq)
    back = pd.DateOffset(weeks=52) if freq == "week" else pd.DateOffset(years=1)
    last_year = periods.truncate(start - back, freq)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KitWarning)
            res = contact_frequency(
                ds,
                freq=freq,
                by="new_vs_existing",
                new_window=new_window,
                dedup_window=dedup_window,
                start=last_year,
                end=start,
            )
    except KitError as exc:
        return NewVsExisting(pd.DataFrame(), str(period), freq, str(new_window), notes=(str(exc),))
    f = res.frame
    keep = ["period", "new_vs_existing", "contacts", "active_customers", "frequency"]
    keep += ["frequency_ci_low", "frequency_ci_high"]
    f = f[f["period"].isin([last_year, start])][keep].reset_index(drop=True)

    def share(p) -> float:
        rows = f[f["period"] == p].set_index("new_vs_existing")
        total = rows["contacts"].sum() if len(rows) else 0
        return float(rows.loc["new", "contacts"] / total) if total > 0 else float("nan")

    now = f[f["period"] == start].set_index("new_vs_existing")
    ratio = (
        rate_ratio(
            *now.loc["new", ["contacts", "active_customers"]], *now.loc["existing", ["contacts", "active_customers"]]
        )
        if len(now) == 2
        else (float("nan"),) * 3
    )
    return NewVsExisting(
        f,
        str(period),
        freq,
        str(new_window),
        share=share(start),
        share_last_year=share(last_year),
        last_year=periods.label(last_year, freq),
        ratio=ratio[0],
        ci_low=ratio[1],
        ci_high=ratio[2],
        notes=tuple(n for n in res.notes if not n.startswith("new_vs_existing:")),
    )
