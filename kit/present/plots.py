"""One seaborn theme and small figure helpers shared by every module's ``.plot()``.

Figure functions take data first, keyword-only options after, and return a
matplotlib Figure (or draw on ``ax`` when given and return it).
"""

from __future__ import annotations

# No matplotlib.use() here: it would replace Jupyter's inline backend and the report
# notebooks would show "<Figure ...>" text instead of images. Headless runs pick Agg anyway.
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import seaborn as sns

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

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


def show(fig: Figure) -> None:
    """Display ``fig`` here and close it, so that the inline backend does not show it twice
    and outputs keep the order of the cell."""
    from IPython.display import display

    display(fig)
    plt.close(fig)
