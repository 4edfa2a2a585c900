"""Result objects: what every metric and analysis returns, with one vocabulary.

``.describe()`` returns a sentence or short paragraph (a string), ``.plot(*, ax=None)`` returns
the matplotlib Axes, ``.to_dict()`` returns JSON-safe values and ``_repr_html_`` shows the
result in JupyterLab. Metrics add ``.frame``, ``.ledger``, ``.notes`` and ``.params``: nothing
the kit needs later travels in ``DataFrame.attrs``, which pandas drops on most operations.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..errors import KitError
from .ledger import Ledger

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: NaN and NaT become None, frames become lists of records.

    Examples
    --------
    >>> json_safe({"a": np.float64(1.5), "b": float("nan"), "c": pd.Timestamp("2026-01-02")})
    {'a': 1.5, 'b': None, 'c': '2026-01-02'}
    """
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, Ledger):
        return json_safe(value.frame())
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            return None
        return ts.date().isoformat() if ts == ts.normalize() and ts.tz is None else ts.isoformat()
    if isinstance(value, pd.Timedelta):
        return None if pd.isna(value) else value.total_seconds()
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NaT or (not isinstance(value, (str, bytes)) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return str(value)


class Result:
    """Base class of every result: ``describe()``, ``plot(ax=)``, ``to_dict()``, an HTML repr.

    Subclasses are dataclasses; ``to_dict`` turns their fields into JSON-safe values, and they
    override ``describe`` and ``plot`` where they have words or a figure to offer.
    """

    def describe(self) -> str:
        """A plain-language summary of the result."""
        return f"{type(self).__name__} with fields {', '.join(self._field_names())}."

    def plot(self, *, ax: Axes | None = None) -> Axes:
        """Draw the result and return the Axes."""
        raise KitError(f"{type(self).__name__} has no plot; use .frame or .to_dict() and draw it yourself")

    def to_dict(self) -> dict:
        """Every field as JSON-safe values (frames as lists of records)."""
        return {name: json_safe(getattr(self, name)) for name in self._field_names()}

    def _field_names(self) -> list[str]:
        if dataclasses.is_dataclass(self):
            return [f.name for f in dataclasses.fields(self) if f.repr]
        return [k for k in vars(self) if not k.startswith("_")]

    def _repr_html_(self) -> str:
        parts = [f"<p><b>{html.escape(type(self).__name__)}</b>: {html.escape(self.describe())}</p>"]
        frame = getattr(self, "frame", None)
        if isinstance(frame, pd.DataFrame):
            parts.append(frame.head(20).to_html(index=False, escape=True, na_rep=""))
            if len(frame) > 20:
                parts.append(f"<p>… {len(frame) - 20:,} more rows in <code>.frame</code></p>")
        ledger = getattr(self, "ledger", None)
        if isinstance(ledger, Ledger) and ledger.tables:
            parts.append("<pre>" + html.escape(str(ledger)) + "</pre>")
        notes = getattr(self, "notes", None) or ()
        if notes:
            parts.append("<ul>" + "".join(f"<li>{html.escape(str(n))}</li>" for n in notes) + "</ul>")
        return "\n".join(parts)


class GrainedResult(Result):
    """A result whose period grain is its ``grain`` field; ``.freq`` is the kit's parameter name for it."""

    grain: str

    @property
    def freq(self) -> str:
        """The period grain (``day``, ``week``, ``month``, ``quarter`` or ``year``)."""
        return self.grain


@dataclass(frozen=True, repr=False)
class MetricResult(Result):
    """A metric's answer: the period x group ``frame``, its data-quality ``ledger``, ``notes`` and ``params``.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per period and group.
    ledger : Ledger
        Rows read, used and excluded by reason, per table.
    notes : tuple of str
        Caveats a reader must see next to the numbers.
    params : dict
        The options the metric was computed with (``freq``, ``tz``, ``by``...).
    """

    frame: pd.DataFrame
    ledger: Ledger = field(default_factory=Ledger)
    notes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def freq(self) -> str | None:
        return self.params.get("freq")

    @property
    def by(self) -> list[str]:
        return list(self.params.get("by") or [])

    def __len__(self) -> int:
        return len(self.frame)

    def describe(self) -> str:
        rows = len(self.frame)
        grain = self.params.get("freq", "period")
        by = self.by
        what = f"{rows:,} {grain} rows" + (f" by {', '.join(by)}" if by else "")
        used = sum(a.used for a in self.ledger.tables.values())
        excluded = sum(sum(a.excluded.values()) for a in self.ledger.tables.values())
        return f"{what}; {used:,} input rows used, {excluded:,} excluded (see .ledger)."

    def to_dict(self) -> dict:
        return {
            "frame": json_safe(self.frame),
            "ledger": json_safe(self.ledger),
            "notes": list(self.notes),
            "params": json_safe(self.params),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    def replace(self, **changes: Any) -> MetricResult:
        """A copy with some fields changed (the frame is never modified in place)."""
        return dataclasses.replace(self, **changes)


def frame_of(obj: Result | pd.DataFrame) -> pd.DataFrame:
    """The frame of a result, or ``obj`` itself when it is already a DataFrame."""
    if isinstance(obj, Result) and hasattr(obj, "frame"):
        return obj.frame
    return cast(pd.DataFrame, obj)  # a DataFrame; anything else passes through unchanged, as it always did


def params_of(obj: Result | pd.DataFrame) -> dict[str, Any]:
    """The parameters a result was computed with (empty for a plain DataFrame)."""
    return dict(getattr(obj, "params", None) or {})
