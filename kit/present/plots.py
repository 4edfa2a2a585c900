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


def date_axis(ax: Axes, *, max_ticks: int = 7) -> None:
    """Date ticks that never run into each other: at most ``max_ticks``, labelled concisely ("Jan", "2026")."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=max_ticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def legend_outside(ax: Axes, handles: list | None = None, labels: list | None = None, *, where: str = "right", **kw):
    """A legend outside the data: to the right of the axes (default) or in a row above them.

    Legends inside the plot cover bars and points; constrained layout makes room for one
    outside. ``where="top"`` suits panels without a title. Returns the Legend.
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    opts = (
        {"loc": "lower left", "bbox_to_anchor": (0.0, 1.01), "ncol": max(1, min(len(handles), 4))}
        if where == "top"
        else {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
    )
    opts.update({"fontsize": 8, "frameon": False, "borderaxespad": 0.0})
    opts.update(kw)
    return ax.legend(handles, labels, **opts)


def mark_events(ax: Axes, events: pd.DataFrame | None, *, freq: str | None = None) -> list:
    """Event markers on a period chart: one dotted line per period that holds events, at the period's start
    (where its point is drawn, not at the event's exact date), numbered just above the axes.

    ``events`` has ``date`` and ``label`` columns. Events in the same period share a marker.
    The numbers sit outside the data, so no label crosses the line; the labels themselves go
    into the legend as "1 release 4.2 (14 Mar)". Returns the legend handles (empty without events).
    """
    from matplotlib.lines import Line2D
    from matplotlib.transforms import blended_transform_factory

    from ..core import periods

    if events is None or not len(events):
        return []
    ev = events.assign(
        _x=[periods.truncate(pd.Timestamp(d), freq) if freq else pd.Timestamp(d) for d in events["date"]]
    )
    handles = []
    on_top = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (x, group) in enumerate(ev.groupby("_x", sort=True), start=1):
        ax.axvline(x, color="0.4", ls=":", lw=1, gid="event")
        ax.text(
            x, 1.01, str(i), transform=on_top, ha="center", va="bottom", fontsize=8, color="0.25", gid="event-number"
        )
        words = "; ".join(f"{lab} ({pd.Timestamp(d):%d %b %Y})" for d, lab in zip(group["date"], group["label"]))
        words = words.replace("$", r"\$")  # a data "$" would start matplotlib mathtext
        handles.append(Line2D([], [], color="0.4", ls=":", lw=1, label=f"{i}  {words}"))
    return handles


def alt_text(fig: Figure | SubFigure) -> str:
    """A figure's alternative text from what it says: its titles and axis labels ("Chart: ...").

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_title("Contacts and cases"); _ = ax.set_ylabel("count")
    >>> alt_text(fig)
    'Chart: Contacts and cases (count).'
    >>> plt.close(fig)
    """
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    for ax in fig.get_axes():
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        title = ax.get_title()
        labels = [t for t in (ax.get_ylabel(), ax.get_xlabel()) if t]
        if title or labels:
            parts.append(title + (f" ({', '.join(labels)})" if labels else "") if title else ", ".join(labels))
    text = "; ".join(dict.fromkeys(" ".join(p.split()) for p in parts if p.strip()))  # one line, no "\n"
    return f"Chart: {text}." if text else "Chart."


def show(fig: Figure | Axes | np.ndarray, *, alt: str | None = None) -> None:
    """Display a figure (or the figure of an Axes or an array of Axes) as a PNG with alternative text, and close it.

    The alt text (default :func:`alt_text`: the titles and axis labels) travels in the output's
    ``image/png`` metadata, where the report's HTML conversion puts it on the ``<img>``. Closing
    keeps the inline backend from showing the figure a second time, so outputs keep the cell's order.
    """
    import io

    from IPython.display import Image, display

    if isinstance(fig, np.ndarray):
        fig = fig.flat[0]
    figure = getattr(fig, "figure", fig) if not hasattr(fig, "savefig") else fig
    figure = getattr(figure, "figure", figure)  # a SubFigure's parent
    buf = io.BytesIO()
    figure.savefig(buf, format="png", bbox_inches="tight")
    display(Image(data=buf.getvalue(), format="png", metadata={"alt": alt or alt_text(figure)}))
    plt.close(figure)


#: Candidate ticks of a ratio axis: the plain numbers a reader expects on an odds or rate ratio scale.
_RATIO_TICKS = (0.1, 0.2, 0.25, 0.5, 0.75, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2, 3, 4, 5, 10, 20, 50, 100)


def ratio_axis(ax: Axes, *, axis: str = "x", max_ticks: int = 6) -> list[float]:
    """Log scale for a ratio axis with a few plain tick labels ("0.8", "1", "1.25"), never "1.3×10⁰".

    Matplotlib labels a narrow log axis with crowded scientific minor ticks; here the minor
    labels are off and the major ticks are plain ratios inside the data range, spread evenly
    on the log scale and including 1 when it is in range. A range too narrow for these gets
    plain evenly spaced ticks. Returns the tick values.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0.9, 1.6], [0, 1])
    >>> ratio_axis(ax)
    [0.9, 1.0, 1.1, 1.25, 1.5]
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter, NullLocator

    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    ax.relim()
    ax.autoscale_view()
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    inside = [t for t in _RATIO_TICKS if lo <= t <= hi]
    if len(inside) < 3:  # narrow: plain evenly spaced values
        ticks = [float(t) for t in MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi) if lo <= t <= hi]
    else:
        gap = (np.log(hi) - np.log(lo)) / (max_ticks + 1)  # no two labels closer than this on the log scale
        ticks = [1.0] if lo <= 1 <= hi else []
        for t in sorted(inside, key=lambda t: abs(np.log(t))):  # outward from 1
            if all(abs(np.log(t) - np.log(c)) >= gap for c in ticks):
                ticks.append(float(t))
        ticks.sort()
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_locator(NullLocator())
    target.set_minor_formatter(NullFormatter())
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)
    return [round(t, 10) for t in ticks]
