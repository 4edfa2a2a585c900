"""The one escaper and the one table formatter for everything a notebook or report page shows.

Data-derived text (segment names, event labels, generated sentences) may hold ``<``, ``&`` or
Markdown punctuation. It reaches a page only through :func:`escape_html` (HTML) or
:func:`escape_markdown` (Markdown cells), and frames only through :func:`table`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

import pandas as pd

from .narrative import num, pct

if TYPE_CHECKING:
    from IPython.display import HTML, Markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def escape_html(text: object) -> str:
    """``text`` safe inside HTML element content and quoted attributes.

    Examples
    --------
    >>> escape_html('R&D "North" <b>')
    'R&amp;D &quot;North&quot; &lt;b&gt;'
    """
    return html.escape(str(text), quote=True)


def escape_markdown(text: object) -> str:
    """Escape data-derived text for Markdown output: HTML-escaped, then Markdown punctuation.

    Examples
    --------
    >>> escape_markdown("<script>alert(1)</script> & [x](y)")
    '&lt;script&gt;alert\\\\(1\\\\)&lt;/script&gt; &amp; \\\\[x\\\\]\\\\(y\\\\)'
    """
    return _MD_SPECIAL.sub(r"\\\1", escape_html(text))


def markdown(lines: str | Iterable[object], *, bullets: bool = True) -> Markdown:
    """An ``IPython.display.Markdown`` of escaped sentences (a bulleted list by default).

    Examples
    --------
    >>> markdown(["a < b", "c_d"]).data
    '- a &lt; b\\n- c\\\\_d'
    >>> markdown("one line", bullets=False).data
    'one line'
    """
    from IPython.display import Markdown

    if isinstance(lines, str):
        lines = [lines]
    body = "\n".join(("- " if bullets else "") + escape_markdown(s) for s in lines)
    return Markdown(body)


def _formatted(df: pd.DataFrame, *, percent=(), digits: int = 2) -> pd.DataFrame:
    shown = df.copy()
    for col in shown.columns:
        if col in percent:
            shown[col] = shown[col].map(lambda v: pct(v, 1))
        elif pd.api.types.is_float_dtype(shown[col]):
            whole = bool(((shown[col].dropna() % 1) == 0).all())  # ranks and counts stored as float (NaN gaps)
            shown[col] = shown[col].map(
                lambda v, whole=whole: "–" if pd.isna(v) else f"{v:,.0f}" if whole else num(v, digits)
            )
        elif pd.api.types.is_integer_dtype(shown[col]) and not pd.api.types.is_bool_dtype(shown[col]):
            shown[col] = shown[col].map(lambda v: f"{v:,}")
        elif pd.api.types.is_datetime64_any_dtype(shown[col]):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d")
    return shown


def table(df: pd.DataFrame, *, percent: Collection[str] = (), digits: int = 2, index: bool = False) -> HTML:
    """A DataFrame shown as escaped HTML (``IPython.display.HTML``) with numbers formatted for reading.

    Columns named in ``percent`` show as percentages, floats with ``digits`` decimals (whole
    floats without), integers with thousands separators, dates as ISO days, missing as "–".

    Examples
    --------
    >>> df = pd.DataFrame({"group": ["<b>x</b>"], "share": [0.1234], "contacts": [12345], "rate": [1.5]})
    >>> page = table(df, percent=["share"]).data
    >>> "&lt;b&gt;x&lt;/b&gt;" in page, "12.3%" in page, "12,345" in page, "1.50" in page
    (True, True, True, True)
    """
    from IPython.display import HTML

    shown = _formatted(df, percent=percent, digits=digits)
    return HTML(shown.to_html(index=index, escape=True, border=0, classes="kit-table", na_rep="–"))
