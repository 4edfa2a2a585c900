"""The one escaper and the one table formatter for everything a notebook or report page shows.

Data-derived text (segment names, event labels, generated sentences) may hold ``<``, ``&`` or
Markdown punctuation. It reaches a page only through :func:`escape_html` (HTML) or
:func:`escape_markdown` (Markdown cells), and frames only through :func:`table`.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .narrative import num, pct

if TYPE_CHECKING:
    from IPython.display import HTML, Markdown

# "$" too: nbconvert and Lab read "$...$" as math and would show its text raw (literal "\\(" and "&gt;")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>$])")


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
    >>> escape_markdown(">$10M") == "&gt;\\\\$10M"  # a dollar sign is no math delimiter
    True
    >>> escape_markdown("the forecast's error")  # no "&#x27;" entity for Markdown to break
    "the forecast's error"
    """
    # quote=False: quotes need no escaping in Markdown text, and "&#x27;" would lose its "#" to the Markdown pass
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


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


# --------------------------------------------------------------------------- tables
#: CSS for :func:`table`: tables never get wider than their page; long text wraps, short numbers and
#: dates do not break; a wrapper scrolls only as a last resort (a table with very many columns).
TABLE_CSS = """
.kit-table-wrap { max-width: 100%; overflow-x: auto; margin: .5em 0 1em; }
table.kit-table { border-collapse: collapse; font-size: 13px; max-width: 100%; }
table.kit-table caption { caption-side: top; text-align: left; font-weight: 600; padding: 2px 0 6px; }
table.kit-table th, table.kit-table td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left;
  vertical-align: top; overflow-wrap: break-word; }
table.kit-table th { border-bottom: 2px solid #bbb; font-weight: 600; }
table.kit-table th.num, table.kit-table td.num { text-align: right; font-variant-numeric: tabular-nums;
  overflow-wrap: normal; }
table.kit-table td.date { overflow-wrap: normal; }
.kit-table-note { font-size: 12px; color: #555; margin: -.6em 0 1em; }
@media print { .kit-table-wrap { overflow: visible; } table.kit-table tr { break-inside: avoid; } }
""".strip()

_DASH = "–"
_NUMERIC_KINDS = {"int", "float", "whole", "percent", "timedelta"}
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def label(name: object) -> str:
    """The default human column label: ``snake_case`` as words, first letter capitalised.

    Examples
    --------
    >>> label("share_of_contacts"), label("CSAT_score"), label("change vs reference")
    ('Share of contacts', 'CSAT score', 'Change vs reference')
    """
    words = " ".join(str(name).replace("_", " ").split())
    return words[:1].upper() + words[1:]


def _missing(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # lists and arrays in a cell are values, not gaps
        return False


def _date(v: pd.Timestamp, *, with_time: bool) -> str:
    return v.strftime("%Y-%m-%d %H:%M") if with_time else v.strftime("%Y-%m-%d")


def _days(v: pd.Timedelta, digits: int) -> str:
    days = v.total_seconds() / 86400
    if abs(days) < 1 and days != 0:
        return f"{num(days * 24, 1)} hours"
    return f"{num(days, 0 if float(days).is_integer() else 1)} days"


def _cell(v: object, kind: str, digits: int) -> str:
    """One value as text; ``kind`` says how its column reads (per-value types decide for ``auto``)."""
    if _missing(v):
        return _DASH
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if kind == "percent" and isinstance(v, (int, float, np.number)):
        return pct(float(v), 1)
    if isinstance(v, (pd.Timestamp, datetime.datetime)):
        t = pd.Timestamp(v)
        return _date(t, with_time=t != t.normalize())
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (pd.Timedelta, datetime.timedelta, np.timedelta64)):
        return _days(pd.Timedelta(v), digits)
    if isinstance(v, (int, np.integer)):
        return str(int(v)) if kind == "id" else f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            return "∞" if v > 0 else "−∞"
        if kind == "whole" or (kind == "auto" and float(v).is_integer()):
            return f"{float(v):,.0f}"
        return f"{float(v):,.{digits}f}"
    if isinstance(v, pd.Period):
        return str(v)
    return str(v)


def _is_id(name: object) -> bool:
    words = str(name).lower().replace("-", "_").replace(" ", "_").split("_")
    return words[-1] in ("id", "ids", "key", "number", "no") or words[0] == "id"


def _kind(col: pd.Series, *, percent: bool) -> str:
    dtype = col.dtype
    if percent:
        return "percent"
    if _is_id(col.name) and (pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_object_dtype(dtype)):
        return "id"  # identifiers read as codes: no thousands separators
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        vals = col.dropna()
        vals = vals[np.isfinite(vals.astype(float))]
        return "whole" if bool(((vals % 1) == 0).all()) else "float"  # counts stored as float (NaN gaps)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        vals = col.dropna()
        midnight = bool((vals == vals.dt.normalize()).all()) if len(vals) else True
        return "date" if midnight else "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.PeriodDtype):
        return "date"
    vals = [v for v in col if not _missing(v)]
    if vals and all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in vals):
        return "auto_num"
    if vals and all(isinstance(v, (datetime.date, pd.Timestamp)) for v in vals):
        return "auto_date"
    return "auto"


def _csv_data_uri(df: pd.DataFrame) -> str:
    """The whole frame as a base64 CSV data URI (base64: no quoting of data-derived text in an attribute).

    Text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) get a leading
    apostrophe, the usual guard against CSV injection; numbers are written as numbers.
    """

    def guard(v: object) -> object:
        return "'" + v if isinstance(v, str) and v.startswith(_CSV_FORMULA) else v

    safe = df.copy()
    for c in safe.columns:
        if safe[c].dtype == object or isinstance(safe[c].dtype, pd.StringDtype):
            safe[c] = safe[c].map(guard)
    text = safe.to_csv(index=False, lineterminator="\n")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def _file_name(caption: str | None) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", caption or "").strip("-").lower()[:60]
    return (stem or "table") + ".csv"


def table_html(
    df: pd.DataFrame,
    *,
    labels: Mapping[object, str] | None = None,
    percent: Collection[object] = (),
    units: Mapping[object, str] | None = None,
    digits: int = 2,
    max_rows: int | None = None,
    caption: str | None = None,
    download: bool | str | None = None,
    index: bool = False,
    style: bool = True,
) -> str:
    """:func:`table` as an HTML string (for pages that are not notebook outputs, such as the single-file report).

    ``style=False`` leaves out the ``<style>`` block (the page then includes :data:`TABLE_CSS` once).

    Examples
    --------
    >>> html_ = table_html(pd.DataFrame({"ok": [True, None]}), style=False)
    >>> "<td>yes</td>" in html_, "<td>–</td>" in html_, "<style>" in html_
    (True, True, False)
    """
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    full = df.reset_index() if index else df
    if isinstance(full.columns, pd.MultiIndex):
        full = full.set_axis([" ".join(str(p) for p in c if str(p)) for c in full.columns], axis=1)
    labels = dict(labels or {})
    units = dict(units or {})
    percent = set(percent)
    n = len(full)
    capped = max_rows is not None and n > max_rows
    shown = full.iloc[: max_rows if capped else n]

    head, kinds = [], []
    for pos, col in enumerate(full.columns):
        kind = _kind(full.iloc[:, pos], percent=col in percent)
        kinds.append(kind)
        text = labels.get(col, label(col))
        if col in units and units[col]:
            text = f"{text} ({units[col]})"
        cls = ' class="num"' if kind in _NUMERIC_KINDS or kind == "auto_num" else ""
        head.append(f'<th scope="col"{cls}>{escape_html(text)}</th>')

    cls_of = []
    for kind in kinds:
        if kind in _NUMERIC_KINDS or kind == "auto_num":
            cls_of.append(' class="num"')
        elif kind in ("date", "datetime", "auto_date"):
            cls_of.append(' class="date"')
        else:
            cls_of.append("")
    cell_kind = [k if k in ("percent", "whole", "float", "int", "id") else "auto" for k in kinds]
    rows = []
    for values in shown.itertuples(index=False, name=None):
        cells = "".join(
            f"<td{cls}>{escape_html(_cell(v, kind, digits))}</td>" for v, kind, cls in zip(values, cell_kind, cls_of)
        )
        rows.append(f"<tr>{cells}</tr>")

    parts = [f"<style>{TABLE_CSS}</style>"] if style else []
    parts.append('<div class="kit-table-wrap"><table class="kit-table">')
    if caption:
        parts.append(f"<caption>{escape_html(caption)}</caption>")
    parts.append(f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    attach = bool(download) or (download is None and capped)
    if capped or attach:
        note = f"Showing the first {len(shown):,} of {n:,} rows. " if capped else ""
        if attach:
            name = download if isinstance(download, str) else _file_name(caption)
            note += (
                f'<a download="{escape_html(name)}" href="{_csv_data_uri(full)}">'
                f"Download the full table ({n:,} rows, CSV)</a>"
            )
        parts.append(f'<p class="kit-table-note">{note}</p>')
    return "".join(parts)


def table(
    df: pd.DataFrame,
    *,
    labels: Mapping[object, str] | None = None,
    percent: Collection[object] = (),
    units: Mapping[object, str] | None = None,
    digits: int = 2,
    max_rows: int | None = None,
    caption: str | None = None,
    download: bool | str | None = None,
    index: bool = False,
) -> HTML:
    """A DataFrame as a table for people (``IPython.display.HTML``): the one table formatter of the kit.

    Plain HTML generated here, not pandas ``Styler`` or great_tables: one escaping path
    (:func:`escape_html` on every label and cell), deterministic markup without per-render ids,
    no jinja2 or extra dependency in the ``present`` layer, and the same string for notebook
    outputs and the single-file report (:func:`table_html`).

    Parameters
    ----------
    df
        The frame; never modified. Its index is left out (``index=True`` shows it as first column).
    labels
        Column name -> label. Columns not named get their name as words (``share_of_contacts``
        -> "Share of contacts").
    percent
        Columns holding fractions, shown as percentages with one decimal (0.1234 -> "12.3%").
    units
        Column name -> unit, shown in the column label ("Days overdue (days)").
    digits
        Decimals for non-whole floats; whole floats (counts stored as float) show none.
    max_rows
        Show only the first ``max_rows`` rows; the full table is attached as a CSV data-URI link.
    caption
        A heading for the table (also names the CSV download).
    download
        ``None``: attach the CSV only when capped; ``True`` or a file name: always; ``False``: never.

    Integers and floats get thousands separators (not identifier columns such as ``account_id``),
    dates show as days (with the time only when it is not midnight), missing values as "–",
    booleans as "yes"/"no".

    Examples
    --------
    >>> df = pd.DataFrame({"group": ["<b>x</b>"], "share": [0.1234], "contacts": [12345], "rate": [1.5]})
    >>> page = table(df, percent=["share"]).data
    >>> "&lt;b&gt;x&lt;/b&gt;" in page, "12.3%" in page, "12,345" in page, "1.50" in page
    (True, True, True, True)
    >>> page = table(pd.DataFrame({"due_on": pd.to_datetime(["2026-10-06", None]), "days": [14.0, 2.0]}),
    ...              units={"days": "days"}).data
    >>> "2026-10-06" in page, "00:00" in page, "Due on" in page, "Days (days)" in page, ">14<" in page
    (True, False, True, True, True)
    >>> "Showing the first 2 of 5 rows" in table(pd.DataFrame({"n": range(5)}), max_rows=2).data
    True
    """
    from IPython.display import HTML

    return HTML(
        table_html(
            df,
            labels=labels,
            percent=percent,
            units=units,
            digits=digits,
            max_rows=max_rows,
            caption=caption,
            download=download,
            index=index,
        )
    )
