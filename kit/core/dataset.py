"""One data handle: ``kit.load`` binds the tables, the time zone, the mapping and the connection once.

Every analysis accepts a :class:`Dataset` in place of its table arguments, and keeps accepting
the separate tables (DataFrame, path, Ibis table...) it always took.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from ..config import DEFAULT_TZ
from ..errors import ParameterError, SourceError
from .schema import TABLES
from .sources import Source, Tables, find_tables, open_tables

if TYPE_CHECKING:
    from .types import MappingSpec, TimestampFormatSpec

#: Anything a table argument accepts: a DataFrame, a CSV/Parquet path, folder or glob, a DuckDB
#: file (``file.duckdb::table``), an Ibis table, an Ibis connection (its table of the canonical name),
#: a ``(connection, "table")`` pair or a loaded Source; None where the table is optional.
TableSource: TypeAlias = pd.DataFrame | str | Path | ir.Table | BaseBackend | tuple[BaseBackend, str] | Source | None

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Dataset:
    """The tables of one analysis, bound to one engine connection, time zone and mapping.

    Attributes
    ----------
    tables : Tables
        The loaded sources (``.contacts``, ``.customers``, ``.surveys``, ``.orders``,
        ``.stakeholders``, ``.events``; None when absent).
    tz : str
        Business time zone: periods are cut and naive timestamps read in it.
    mapping : dict, str or None
        The column mapping the tables were loaded with.
    timestamp_format : str, dict or None
        The explicit timestamp format(s) the tables were loaded with (None: detected; the format
        of each text date column is in ``ds.contacts.formats``...).

    Examples
    --------
    >>> ds = load("data/examples")
    >>> ds.tz, ds.customers.name, ds.orders is None
    ('UTC', 'customers', False)
    """

    tables: Tables
    tz: str = DEFAULT_TZ
    mapping: Any = None
    timestamp_format: Any = None

    @property
    def con(self) -> BaseBackend:
        """The engine connection every table lives on."""
        return self.tables.con

    def _get(self, name: str) -> Source | None:
        return self.tables.get(name)

    contacts = property(lambda self: self._get("contacts"), doc="The contacts table (a Source).")
    customers = property(lambda self: self._get("customers"), doc="The customers table, or None.")
    surveys = property(lambda self: self._get("surveys"), doc="The surveys table, or None.")
    orders = property(lambda self: self._get("orders"), doc="The orders table, or None.")
    stakeholders = property(lambda self: self._get("stakeholders"), doc="The stakeholders table, or None.")
    events = property(lambda self: self._get("events"), doc="The events table, or None.")

    @property
    def names(self) -> list[str]:
        """The tables present, in canonical order."""
        return [t for t in TABLES if t in self.tables]

    def describe(self) -> str:
        """The tables present, the engine and the time zone, in one line."""
        return (
            f"{len(self.names)} tables ({', '.join(self.names)}) on {getattr(self.con, 'name', 'an engine')}, "
            f"time zone {self.tz}"
        )

    def __repr__(self) -> str:
        return f"Dataset({self.describe()})"


def load(
    data: str | Path | Mapping[str, TableSource] | Dataset,
    *,
    tz: str = DEFAULT_TZ,
    mapping: MappingSpec = None,
    con: BaseBackend | None = None,
    timestamp_format: TimestampFormatSpec = None,
) -> Dataset:
    """Open a folder (or a dict of table sources) once, as a :class:`Dataset`.

    Parameters
    ----------
    data : str, Path, Mapping or Dataset
        A folder holding ``contacts.parquet``, ``customers.csv``... (any canonical table), or a
        mapping ``{"contacts": source, "customers": source, ...}`` of any accepted sources.
    tz : str
        Business time zone (default UTC). The engine's session time zone is set here, once.
    mapping : dict, str or Path, optional
        Column mapping for help-desk exports (see :func:`kit.core.schema.load_mapping`).
    con : Ibis backend, optional
        Where to run (default: the backend of any Ibis input, else an embedded DuckDB).
    timestamp_format : str or dict, optional
        Format of text timestamps in strftime syntax (``"%d/%m/%Y %H:%M"``), for every date column
        or per table/column (``{"contacts": {"created_at": ...}}``); default: detected from the data.

    Examples
    --------
    >>> import kit
    >>> ds = kit.load("data/examples", tz="Europe/Berlin")
    >>> ds.names
    ['contacts', 'customers', 'surveys', 'orders', 'stakeholders', 'events']
    >>> kit.contact_frequency(ds).params["tz"]
    'Europe/Berlin'
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, Mapping):
        given = dict(data)
        label = "the given tables"
    else:
        folder = Path(data).expanduser()
        if not folder.is_dir():
            raise SourceError(
                f"data folder {folder} not found; run `make sample` or pass the folder holding contacts.*"
            )
        given = find_tables(folder)
        label = str(folder)
    if "contacts" not in given:
        raise SourceError(f"{label} has no contacts table (contacts.parquet, contacts.csv or contacts/)")
    tables = open_tables(mapping=mapping, con=con, tz=tz, timestamp_format=timestamp_format, **given)
    return Dataset(tables, tz=tz, mapping=mapping, timestamp_format=timestamp_format)


def accepts_dataset(func: F) -> F:
    """Decorator: let ``func`` take a :class:`Dataset` as its first argument.

    The Dataset fills every table parameter the caller did not pass (``contacts``,
    ``customers``, ``surveys``...), and ``con``, ``tz`` and ``mapping`` where the function
    takes them. ``tz=None`` means the Dataset's time zone, else UTC.
    """
    sig = inspect.signature(func)
    params = sig.parameters
    table_params = [name for name in params if name in TABLES]

    @functools.wraps(func)
    def inner(*args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], Dataset):
            ds = args[0]
            if len(args) > 1:
                raise ParameterError(f"{func.__name__}(dataset, ...) takes its other options by keyword")
            for name in table_params:
                if kwargs.get(name) is None:
                    kwargs[name] = ds.tables.get(name)
            if "con" in params:
                kwargs["con"] = ds.con
            if "tz" in params and kwargs.get("tz") is None:
                kwargs["tz"] = ds.tz
            args = ()
        if "tz" in params and kwargs.get("tz", params["tz"].default) is None:
            kwargs["tz"] = DEFAULT_TZ
        return func(*args, **kwargs)

    inner.__signature__ = sig  # type: ignore[attr-defined]
    return cast(F, inner)
