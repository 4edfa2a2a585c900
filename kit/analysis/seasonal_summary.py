"""One paragraph from several seasonal results (decomposition, anomalies, comparison, forecast, backtest).

Each result says what it found with ``.describe()`` and gives its numbers with ``.to_dict()``;
:func:`summary` puts the sentences of several results together. Text is plain: escape it
where it is shown (:func:`kit.present.display.escape_markdown` or ``escape_html``).
"""

from __future__ import annotations

from ..core.results import Result
from ..errors import ParameterError

__all__ = ["summary"]


def summary(*results: Result | None, sep: str = " ") -> str:
    """The ``describe()`` sentences of the given results, in order; ``None`` entries are skipped.

    Parameters
    ----------
    *results : Result or None
        E.g. a :class:`~kit.analysis.decompose.Decomposition`, an
        :class:`~kit.analysis.anomalies.Anomalies` and a :class:`~kit.analysis.forecast.Forecast`.
    sep : str
        Put between the sentences (``"\\n\\n"`` for one paragraph each).

    Returns
    -------
    str
        Plain text (empty when no result is given).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from kit.analysis.decompose import decompose
    >>> from kit.analysis.anomalies import anomalies
    >>> idx = pd.date_range("2023-01-01", periods=36, freq="MS")
    >>> dec = decompose(pd.Series(1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12), index=idx, name="frequency"))
    >>> summary(dec, anomalies(dec))  # doctest: +ELLIPSIS
    'December runs 30% above the yearly average; ... No month stands out from the expected pattern in 36 months ...'
    >>> summary()
    ''
    """
    texts = []
    for r in results:
        if r is None:
            continue
        if not isinstance(r, Result):
            raise ParameterError(f"summary() takes results (decompose(), anomalies(), ...), not {type(r).__name__}")
        texts.append(r.describe())
    return sep.join(texts)
