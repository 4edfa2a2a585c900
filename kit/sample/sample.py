"""The :class:`Sample` returned by :func:`kit.sample.generate`: six tables, the ground truth, ``write``."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kit.errors import ParameterError

from .constants import TABLES

__all__ = ["Sample", "TABLES"]


# --------------------------------------------------------------------------- Sample
@dataclass(frozen=True)
class Sample:
    """A generated dataset: six tables and the ground truth planted in them.

    Attributes
    ----------
    contacts, customers, surveys, orders, stakeholders, events : pandas.DataFrame
        The tables, with the canonical column names the engine reads.
    ground_truth : dict
        JSON-serialisable description of every planted effect (see
        :func:`kit.sample.generate`).

    Examples
    --------
    >>> from kit.sample import generate
    >>> s = generate(customers=500, months=12, seed=1)
    >>> sorted(s.tables())
    ['contacts', 'customers', 'events', 'orders', 'stakeholders', 'surveys']
    >>> s.ground_truth["generated_with"]
    'kit.sample'
    """

    contacts: pd.DataFrame = field(repr=False)
    customers: pd.DataFrame = field(repr=False)
    surveys: pd.DataFrame = field(repr=False)
    orders: pd.DataFrame = field(repr=False)
    stakeholders: pd.DataFrame = field(repr=False)
    events: pd.DataFrame = field(repr=False)
    ground_truth: dict = field(repr=False)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables().items())
        return f"Sample({sizes})"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables by name.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``{"customers": ..., "contacts": ..., ...}`` in :data:`TABLES` order.

        Examples
        --------
        >>> from kit.sample import generate
        >>> s = generate(customers=500, months=12, seed=1)
        >>> list(s.tables())[:2]
        ['customers', 'contacts']
        """
        return {name: getattr(self, name) for name in TABLES}

    def write(self, out: str | os.PathLike[str], *, fmt: str = "parquet") -> Path:
        """Write every table and ``ground_truth.json`` into directory ``out``.

        The files are first written into a temporary directory next to ``out``
        which then replaces ``out``, so a crash never leaves half a sample.

        Parameters
        ----------
        out : str or os.PathLike
            Target directory; replaced if it exists.
        fmt : {"parquet", "csv"}, keyword-only
            File format of the tables.  CSV writes dates as ``YYYY-MM-DD`` and
            timestamps as ``YYYY-MM-DD HH:MM:SS``; missing values are empty.

        Returns
        -------
        pathlib.Path
            The directory written.

        Raises
        ------
        kit.errors.ParameterError
            Unknown ``fmt`` or ``out`` is an existing file.

        Examples
        --------
        >>> import tempfile
        >>> from kit.sample import generate
        >>> s = generate(customers=500, months=12, seed=1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = s.write(Path(d) / "sample", fmt="csv")
        ...     sorted(f.name for f in p.iterdir())[:3]
        ['contacts.csv', 'customers.csv', 'events.csv']
        """
        if fmt not in ("parquet", "csv"):
            raise ParameterError(f"Sample.write: fmt must be 'parquet' or 'csv', got {fmt!r}.")
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ParameterError(f"Sample.write: {out} exists and is not a directory; choose another path.")
        out.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:10]
        tmp = out.parent / f".{out.name}.tmp-{tag}"
        old = out.parent / f".{out.name}.old-{tag}"
        try:
            tmp.mkdir()
            for name, df in self.tables().items():
                if fmt == "parquet":
                    # Spark reads microseconds
                    df.to_parquet(tmp / f"{name}.parquet", index=False, coerce_timestamps="us")
                else:
                    _csv_frame(df).to_csv(tmp / f"{name}.csv", index=False)
            with open(tmp / "ground_truth.json", "w", encoding="utf-8") as fh:
                json.dump(self.ground_truth, fh, indent=2, sort_keys=False)
                fh.write("\n")
            if out.exists():
                os.replace(out, old)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old.exists() and not out.exists():
                os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return out


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with dates/timestamps rendered as ISO strings for CSV."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            ok = s.notna()
            is_date = bool((s[ok] == s[ok].dt.normalize()).all()) and col.endswith("date")
            fmt = "%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S"
            out[col] = s.dt.strftime(fmt).where(ok, "")
    return out
