"""Plain-language formatting shared by every generated sentence.

Sentences are built from numbers; the helpers here make them read the same way
everywhere. Text is plain; HTML escaping happens where HTML is written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def num(x: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals, thousands separators, 'n/a' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if float(x).is_integer() and abs(x) >= 100:
        return f"{int(x):,}"
    return f"{x:,.{digits}f}"


def pct(x: float | None, digits: int = 0, *, signed: bool = False) -> str:
    """A fraction as a percentage: 0.123 -> '12%' ('+12%' when signed)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"


def change_word(rel: float | None, *, flat: float = 0.005) -> str:
    """'rose', 'fell' or 'was flat' for a relative change."""
    if rel is None or (isinstance(rel, float) and math.isnan(rel)):
        return "cannot be compared"
    if abs(rel) < flat:
        return "was flat"
    return "rose" if rel > 0 else "fell"


def interval(lo: float | None, hi: float | None, digits: int = 2) -> str:
    """'(95% CI 1.20-1.35)'."""
    return f"(95% CI {num(lo, digits)}–{num(hi, digits)})"


def join(items: Iterable[object]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = [str(i) for i in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
