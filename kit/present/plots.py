"""One seaborn theme and small figure helpers shared by every module's ``.plot()``.

Figure functions take data first, keyword-only options after, and return a
matplotlib Figure (or draw on ``ax`` when given and return it).
"""

from __future__ import annotations

# No matplotlib.use() here: it would replace Jupyter's inline backend and the report
# notebooks would show "<Figure ...>" text instead of images. Headless runs pick Agg anyway.
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.lines import Line2D

PALETTE = "colorblind"
#: Consistent colours for categorical outcomes across reports.
BAND_COLORS = {
    "at risk": "#d55e00",
    "healthy": "#009e73",
    "optimal": "#0072b2",
    "possibly excessive": "#cc79a7",
    "below": "#0072b2",
    "within": "#009e73",
    "above": "#d55e00",
}


def theme() -> None:
    """Apply the kit's seaborn theme (idempotent)."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE,
        rc={
            "figure.figsize": (9, 4),
            "figure.dpi": 100,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "axes.spines.right": False,
            "axes.spines.top": False,
        },
    )


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (9, 4)) -> tuple[Figure | SubFigure, Axes]:
    """Return ``(fig, ax)``: the given axes' figure, or a new themed figure."""
    theme()
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


#: The note a chart carries when it shows partial periods.
PARTIAL_NOTE = "hollow points: partial periods (the data covers only part of them)"


def mark_partial(ax: Axes, line: Line2D, complete) -> bool:
    """Draw the partial periods of ``line`` hollow, with one note and legend entry per Axes.

    ``complete`` holds one flag per point of the line (a metric's ``complete`` column; None:
    all complete). Complete points keep the line's filled markers; partial ones get an
    unfilled marker (a scatter with facecolor ``"none"`` and gid ``"partial"``). Returns
    whether any point is partial.
    """
    if complete is None:
        return False
    done = pd.Series(complete).fillna(False).astype(bool).to_numpy()
    if done.all():
        return False
    if line.get_marker() in (None, "None", "none", "", " "):
        line.set_marker("o")
    if done.any():
        line.set_markevery(np.flatnonzero(done).tolist())
    else:
        line.set_marker("None")
    first = not any(c.get_gid() == "partial" for c in ax.collections)
    size = max(float(line.get_markersize()), 4.0) + 2
    ax.scatter(
        np.asarray(line.get_xdata())[~done],
        np.asarray(line.get_ydata())[~done],
        s=size**2,
        facecolors="none",
        edgecolors=line.get_color(),
        linewidths=1.3,
        zorder=3,
        gid="partial",
        label="partial period" if first else "_nolegend_",
    )
    if first:
        ax.annotate(
            PARTIAL_NOTE,
            xy=(0.99, 0.01),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.35",
            gid="partial-note",
        )
    return True


def show(fig: Figure) -> None:
    """Display ``fig`` here and close it, so that the inline backend does not show it twice
    and outputs keep the order of the cell."""
    from IPython.display import display

    display(fig)
    plt.close(fig)
