"""Type aliases shared by the public signatures (one name per kind of argument)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from .dataset import TableSource

#: Group columns: one name, a comma-separated string, or a list of names.
Grouping: TypeAlias = str | Sequence[str] | None
#: A date or timestamp as text (``"2026-10"``, ``"2026-10-31"``), a pandas Timestamp or a date.
DateLike: TypeAlias = str | pd.Timestamp | dt.date | None
#: A duration: ``"48h"``, ``"2D"``, seconds as a number, or a Timedelta.
Window: TypeAlias = str | int | float | pd.Timedelta | dt.timedelta
#: A column mapping: a dict, a YAML path or a preset name.
MappingSpec: TypeAlias = Mapping[str, Any] | str | Path | None
#: Timestamp formats: one strftime pattern (or iso/epoch_s/epoch_ms/excel), ``{table: pattern}`` or
#: ``{table: {column: pattern}}`` (see :func:`kit.core.timeformats.override_for`).
TimestampFormatSpec: TypeAlias = str | Mapping[str, Any] | None
#: An Ibis backend connection (DuckDB, PostgreSQL, Spark...).
Backend: TypeAlias = Any

__all__ = ["Backend", "DateLike", "Grouping", "MappingSpec", "TableSource", "TimestampFormatSpec", "Window"]
