"""Any input becomes an Ibis table with canonical column names.

The one place that decides what a "source" is: a pandas DataFrame, a CSV or
Parquet path (a folder or glob of Parquet too), a DuckDB file (``file.duckdb``
or ``file.duckdb::table``), an Ibis table, or an Ibis connection (the table of
the canonical name is used) or a ``(connection, "table_name")`` pair.
"""

from __future__ import annotations

import glob as globlib
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from ..errors import MissingColumnError, SourceError
from . import engine, timeformats
from .schema import TABLES, load_mapping, mapping_timestamp_format

if TYPE_CHECKING:
    from .dataset import TableSource
    from .types import MappingSpec

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


@dataclass(frozen=True)
class Source:
    """A loaded table: the Ibis expression, the canonical table name and a label for messages.

    ``formats`` names the timestamp format of each text (or epoch/Excel number) date column, as
    detected or given (``{"created_at": "day-first (%d/%m/%Y %H:%M)"}``); ``timestamp_formats``
    holds the same as :class:`kit.core.timeformats.TimestampFormat` objects.
    """

    name: str
    table: ir.Table
    label: str
    formats: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    timestamp_formats: dict[str, timeformats.TimestampFormat] = field(default_factory=dict, compare=False, hash=False)
    #: What identifies the data behind ``table`` now (files: paths, sizes and mtimes; DataFrames: a
    #: content hash), recomputed at each call so that a changed file or a mutated frame is a new key;
    #: None when the data cannot be identified (warehouse tables), which is then never cached.
    identity: Callable[[], Hashable] | None = field(default=None, compare=False, hash=False, repr=False)
    #: Text columns known to hold no blank or padded value (set on prepared tables, see kit.core.prepare).
    clean: frozenset[str] = field(default=frozenset(), compare=False, hash=False)
    #: The table expression ``identity`` describes (a Source copied with another table is not described by it).
    loaded: Any = field(default=None, compare=False, hash=False, repr=False)
    #: ``(day, session time zone)`` this table is already cut at (see :func:`kit.core.asof.cut_source`):
    #: a cut at that day or later changes nothing, so it is skipped and the table stays cacheable.
    known_by: tuple[Any, str | None] | None = field(default=None, compare=False, hash=False, repr=False)
    #: ``(first day, last day)`` the data this table was filtered from covers (a segment's contacts,
    #: see :func:`kit.report.context.filter_segment`): a period is complete when that data covers it,
    #: so a small segment whose last contact falls early is not called partial.
    covers: tuple[Any, Any] | None = field(default=None, compare=False, hash=False, repr=False)
    #: Whether every read of ``table`` parses its text times again (a view, see
    #: :func:`kit.core.prepare.single_use`).
    parsed_per_read: bool = field(default=False, compare=False, hash=False, repr=False)

    @property
    def reads_parse(self) -> bool:
        """Whether reading ``table`` parses text times (stored text, or :attr:`parsed_per_read`)."""
        return self.parsed_per_read or self.table.created_at.type().is_string()

    def data_key(self) -> Hashable | None:
        """A key for what the data determines (caches, see :mod:`kit.core.prepare`): the data's current
        identity, name, mapping and timestamp formats; None when the data cannot be identified or the
        Source now holds another table than the one it was loaded with."""
        if self.identity is None or self.loaded is None or self.table.op() is not self.loaded:
            return None
        return self.identity()  # with the same data, name, mapping and formats, the loaded table is the same

    @property
    def columns(self) -> list[str]:
        return list(self.table.columns)


@dataclass(frozen=True)
class Tables:
    """The sources of one call, all bound to one backend connection."""

    con: BaseBackend
    sources: dict[str, Source]

    def __getitem__(self, name: str) -> Source:
        return self.sources[name]

    def get(self, name: str) -> Source | None:
        return self.sources.get(name)

    def __getattr__(self, name: str) -> Source:
        try:
            return self.__dict__["sources"][name]
        except KeyError:
            raise AttributeError(f"no {name} table was loaded") from None

    def __contains__(self, name: str) -> bool:
        return name in self.sources


def find_tables(folder: str | Path) -> dict[str, Path]:
    """The canonical tables present in ``folder``: ``<table>.parquet``, ``.csv``, ``.csv.gz`` or a ``<table>/`` folder.

    Examples
    --------
    >>> sorted(find_tables("data/examples"))[:2]
    ['contacts', 'customers']
    """
    folder = Path(folder).expanduser()
    found: dict[str, Path] = {}
    for name in TABLES:
        for candidate in (folder / f"{name}.parquet", folder / f"{name}.csv", folder / f"{name}.csv.gz", folder / name):
            if candidate.exists():
                found[name] = candidate
                break
    return found


def _backend_of(obj) -> BaseBackend | None:
    if isinstance(obj, Source):
        obj = obj.table
    if isinstance(obj, BaseBackend):
        return obj
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], BaseBackend):
        return obj[0]
    if isinstance(obj, ir.Table):
        try:
            return obj._find_backend(use_default=False)
        except Exception:  # noqa: BLE001 - an unbound memtable
            return None
    return None


class BoundedCache:
    """Temp tables (or any values) per engine connection, least recently used first out.

    The connection is held weakly (its temp tables die with it); each connection keeps at most
    ``size`` entries. An evicted temp table is dropped once no expression refers to it any more
    (a Dataset may still read an evicted CSV table), so the engine's memory stays bounded too.

    Examples
    --------
    >>> con = engine.default_connection()
    >>> cache = BoundedCache(2)
    >>> for key in "abc":
    ...     _ = cache.put(con, key, key.upper())
    >>> cache.get(con, "a"), cache.get(con, "c"), cache.entries(con)
    (None, 'C', 2)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        # by id: Ibis backends compare equal when they point at the same database (every in-memory DuckDB)
        self._by_con: dict[int, tuple[weakref.ref, OrderedDict]] = {}

    def _entries(self, con: BaseBackend, *, create: bool = False) -> OrderedDict | None:
        found = self._by_con.get(id(con))
        if found is not None and found[0]() is con:
            return found[1]
        if not create:
            return None
        entries: OrderedDict = OrderedDict()
        key = id(con)
        ref = weakref.ref(con, lambda _: self._forget(key, ref))
        self._by_con[key] = (ref, entries)
        return entries

    def _forget(self, key: int, ref: weakref.ref) -> None:
        found = self._by_con.get(key)
        if found is not None and found[0] is ref:
            del self._by_con[key]

    def get(self, con: BaseBackend, key: Hashable) -> Any:
        entries = self._entries(con)
        if entries is None or key not in entries:
            return None
        entries.move_to_end(key)
        return entries[key]

    def put(self, con: BaseBackend, key: Hashable, value: Any) -> Any:
        entries = self._entries(con, create=True)
        assert entries is not None
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > self.size:
            _, old = entries.popitem(last=False)
            _drop_when_unused(con, old)
        return value

    def entries(self, con: BaseBackend) -> int:
        """How many entries ``con`` holds."""
        found = self._entries(con)
        return 0 if found is None else len(found)

    def clear(self) -> None:
        for ref, entries in list(self._by_con.values()):
            con = ref()
            for value in entries.values():
                if con is not None:
                    _drop_when_unused(con, value)
        self._by_con.clear()

    def __len__(self) -> int:
        return sum(len(e) for _, e in self._by_con.values())


def _drop_when_unused(con: BaseBackend, value: Any) -> None:
    tables = value if isinstance(value, tuple) else (value,)
    for t in tables:
        if isinstance(t, ir.Table):
            op = t.op()
            name = getattr(op, "name", None)
            if name:
                weakref.finalize(op, _drop_quietly, weakref.ref(con), name)


def _drop_quietly(con_ref, name: str) -> None:
    con = con_ref()
    if con is None:
        return
    try:
        con.drop_table(name, force=True)
    except Exception:  # noqa: BLE001 - a closed connection has dropped it already
        pass


#: CSV files are parsed once per connection (key: the files' paths, sizes and mtimes) and kept as temp tables.
_CSV_CACHE = BoundedCache(8)
_DEFAULT_CON = None


def _default_con():
    global _DEFAULT_CON
    if _DEFAULT_CON is None:
        _DEFAULT_CON = engine.default_connection()
    return _DEFAULT_CON


def _read_path(con, path_text: str, table: str) -> tuple[ir.Table, str]:
    table_name = None
    if "::" in path_text:
        path_text, table_name = path_text.rsplit("::", 1)
    has_glob = any(ch in path_text for ch in "*?[")
    path = Path(path_text).expanduser()
    label = str(path)
    if con.name != "duckdb" and con.name != "pyspark":
        raise SourceError(
            f"{table} table: cannot read file {label} on a {con.name} connection; "
            "load it into the warehouse, or pass every table as a file or DataFrame to use DuckDB"
        )
    if has_glob:
        matches = sorted(globlib.glob(str(path), recursive=True))
        if not matches:
            raise SourceError(f"{table} table: no file matches {label}; check the path or glob")
        if all(m.lower().endswith(CSV_SUFFIXES) for m in matches):
            return _read_csv(con, matches, label), label
        return _read_parquet(con, str(path), table, label), label
    if not path.exists():
        raise SourceError(
            f"{table} table: file {label} not found; check the path (run `make sample` for the sample data)"
        )
    if path.is_dir():
        parquet = sorted(globlib.glob(str(path / "**" / "*.parquet"), recursive=True))
        csv = sorted(str(p) for p in path.rglob("*") if p.name.lower().endswith(CSV_SUFFIXES))
        if parquet:
            return _read_parquet(con, str(path / "**" / "*.parquet"), table, label), label
        if csv:
            return _read_csv(con, csv, label), label
        raise SourceError(f"{table} table: folder {label} holds no .parquet or .csv files")
    lower = path.name.lower()
    if lower.endswith(CSV_SUFFIXES):
        return _read_csv(con, [str(path)], label), label
    if lower.endswith(PARQUET_SUFFIXES):
        return _read_parquet(con, str(path), table, label), label
    if lower.endswith(DUCKDB_SUFFIXES):
        if con.name != "duckdb":
            raise SourceError(f"{table} table: DuckDB file {label} can only be read on a DuckDB connection")
        alias = "db_" + re.sub(r"\W", "_", path.stem)
        attached = {r[0] for r in con.raw_sql("SELECT database_name FROM duckdb_databases()").fetchall()}
        if alias not in attached:
            try:
                con.attach(str(path), name=alias, read_only=True)
            except Exception as exc:  # noqa: BLE001 - DuckDB's IOException: not a database file
                raise SourceError(
                    f"{table} table: cannot open {label} as a DuckDB database ({_first_line(exc)})"
                ) from None
        name = table_name or table
        try:
            return con.table(name, database=alias), f"{label}::{name}"
        except Exception:  # noqa: BLE001 - ibis raises backend-specific errors
            raise SourceError(f"{table} table: DuckDB file {label} has no table {name!r}; use {label}::TABLE") from None
    raise SourceError(
        f"{table} table: cannot tell the format of {label}; use .csv, .parquet, a folder of Parquet files "
        "or a .duckdb file"
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_parquet(con, path: str, table: str, label: str) -> ir.Table:
    """A Parquet file, folder or glob; a file that is empty, cut off or not Parquet is one SourceError."""
    try:
        return con.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - DuckDB's InvalidInputException/IOException
        raise SourceError(
            f"{table} table: cannot read {label} as Parquet ({_first_line(exc)}); the file may be empty, cut off "
            "by an interrupted copy, or not Parquet at all: write or copy it again"
        ) from None


def _encoding(paths: list[str]) -> str | None:
    """``None`` for UTF-8 (DuckDB's default), else the encoding to read with: UTF-16 by its byte-order
    mark, Latin-1 (which reads any byte) when the bytes are not UTF-8."""
    for p in paths:
        with open(p, "rb") as fh:
            head = fh.read(1 << 22)  # 4 MiB: enough to meet a non-UTF-8 byte in any real export
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            return "utf-16"
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 3:  # not a multi-byte character cut at the 4 MiB edge
                return "latin-1"
    return None


def ragged_rows(path: str, *, limit: int = 100_000) -> str | None:
    """Why a CSV file is not a table, when some row has a different number of fields than the header
    (in the first ``limit`` rows); None when every row has the header's width.

    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("a,b,c\\n1,2,3\\n4,5\\n")
    >>> ragged_rows(f.name)
    'the header has 3 fields but line 3 has 2'
    >>> os.unlink(f.name)
    """
    import csv

    try:
        with open(path, newline="", encoding=_encoding([path]) or "utf-8", errors="replace") as fh:
            sample = fh.read(1 << 16)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(fh, dialect)
            header = next(reader, None)
            if not header:
                return None
            odd = []
            for i, row in enumerate(reader, start=2):
                if row and len(row) != len(header):
                    odd.append(f"line {reader.line_num} has {len(row)}")
                    if len(odd) == 3:
                        break
                if i > limit:
                    break
    except (OSError, csv.Error):
        return None
    return f"the header has {len(header)} fields but {', '.join(odd)}" if odd else None


def _read_csv(con, paths: list[str], label: str) -> ir.Table:
    """CSV is read as text so that one bad value can never abort the read; typed parsing comes later.

    A file that is not UTF-8 is read as UTF-16 (byte-order mark) or Latin-1, with a warning that says so.
    """
    key = _file_stats(paths)
    cached = _CSV_CACHE.get(con, key)
    if cached is None:
        encoding = _encoding(paths)
        try:
            options = {"encoding": encoding} if encoding else {}
            raw = con.read_csv(paths if len(paths) > 1 else paths[0], all_varchar=True, **options)
            cached = _CSV_CACHE.put(con, key, con.create_table(ibis.util.gen_name("kit_csv"), raw, temp=True))
        except Exception as exc:  # noqa: BLE001 - report the reader's complaint in one line
            ragged = next((r for r in map(ragged_rows, paths) if r), None)
            if ragged:
                raise SourceError(f"CSV {label} is not a table: {ragged}; {_RAGGED_FIX}") from None
            raise SourceError(f"cannot read CSV {label}: {_first_line(exc)}") from None
        if encoding:
            import warnings

            from ..errors import KitWarning

            warnings.warn(
                f"{label} is not UTF-8; read it as {encoding.upper()} (check accented text; re-save the file as "
                "UTF-8 to be sure, e.g. iconv -f latin1 -t utf-8)",
                KitWarning,
                stacklevel=2,
            )
    return cached


def _file_stats(paths: list[str]) -> tuple:
    """The files' identity: path, size and modification time of each (a rewritten file is a new key)."""
    out = []
    for p in paths:
        st = Path(p).stat()
        out.append((str(Path(p).resolve()), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _path_identity(obj: str | Path) -> Callable[[], Hashable] | None:
    """A callable giving the current identity of the files a path names (a file, folder or glob), or
    None for a DuckDB database file (its tables can change without the file's mtime telling)."""
    text = str(obj)
    path_text = text.rsplit("::", 1)[0] if "::" in text else text
    if path_text.lower().endswith(DUCKDB_SUFFIXES):
        return None

    def identity() -> Hashable:
        path = Path(path_text).expanduser()
        if any(ch in path_text for ch in "*?["):
            files = sorted(globlib.glob(str(path), recursive=True))
        elif path.is_dir():
            files = sorted(str(p) for p in path.rglob("*") if p.is_file())
        else:
            files = [str(path)]
        return ("files", _file_stats(files))

    return identity


def _frame_identity(frame: pd.DataFrame) -> Callable[[], Hashable]:
    """A callable hashing the frame's content now (a frame mutated in place is a new key)."""
    ref = weakref.ref(frame)

    def identity() -> Hashable:
        df = ref()
        if df is None:
            return ("gone", id(ref))
        try:
            values = pd.util.hash_pandas_object(df, index=False).to_numpy()
            digest = hash(values.tobytes())
        except TypeError:  # unhashable cells (lists, dicts): not cached
            return ("unhashable", id(ref), object())
        # object columns hash 1 and "1" alike; the inferred kind of their values tells them apart
        cols = [df.iloc[:, i] for i in range(df.shape[1])]  # by position: names may repeat
        kinds = tuple(pd.api.types.infer_dtype(c, skipna=True) if c.dtype == object else str(c.dtype) for c in cols)
        return ("frame", len(df), tuple(map(str, df.columns)), kinds, digest)

    return identity


_RAGGED_FIX = (
    "every row needs as many fields as the header (a value holding the delimiter without quotes, or a line cut off "
    "or run together?); fix or re-export the file"
)


#: Whether a text ``customer_id`` is all ``123.0``, by the identity of the data it was loaded from
#: (see :func:`loaded_identity`): a warm call on the same data runs no check query.
_FLOAT_TEXT_IDS = BoundedCache(64)


def _integral_ids(t: ir.Table, con, *, known: Hashable | None = None) -> ir.Table:
    """``customer_id`` written as floats (``1.0``, as pandas writes an integer column with gaps) as integers
    (``1``), so that they match ``1`` in the other table. Floats that are not whole stay as they are; a
    text column is rewritten only when every value looks like ``123.0`` (one early-stopping check, whose
    answer is kept under ``known``, the loaded data's identity)."""
    if "customer_id" not in t.columns:
        return t
    col = t.customer_id
    typ = col.type()
    if typ.is_floating():
        whole = (col == col.floor()) & (col.abs() < 2**53)
        return t.mutate(customer_id=ibis.cases((whole, col.cast("int64").cast("string")), else_=col.cast("string")))
    if not typ.is_string() or engine.backend_name(col) != "duckdb":
        return t
    floaty = _FLOAT_TEXT_IDS.get(con, known) if known is not None else None
    if floaty is None:
        floaty = _all_float_text(t, con)
        if known is not None:
            _FLOAT_TEXT_IDS.put(con, known, floaty)
    if not floaty:
        return t
    return t.mutate(customer_id=col.re_replace(r"^\s*(-?[0-9]+)\.0+\s*$", r"\1"))


def _all_float_text(t: ir.Table, con) -> bool:
    """Whether every non-blank text ``customer_id`` looks like ``123.0`` (and some does)."""
    col = t.customer_id
    floaty = col.re_search(r"^\s*-?[0-9]+\.0+\s*$")
    try:
        given = t.filter(col.notnull() & (col.strip() != ""))
        # the usual ids ("C-17", "42") stop the first scan at once
        if len(con.execute(given.filter(~floaty).select(col).limit(1))):
            return False
        return bool(len(con.execute(given.filter(floaty).select(col).limit(1))))
    except Exception:  # noqa: BLE001 - ids stay as they are
        return False


def _normalise_name(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def _apply_mapping(t: ir.Table, table: str, mapping: Mapping[str, str]) -> ir.Table:
    renames = {new: old for old, new in mapping.items() if old in t.columns and old != new}
    if renames:
        t = t.rename(renames)
    # Forgive case and spacing differences of canonical names ("Customer ID" -> customer_id).
    spec = TABLES[table]
    wanted = set(spec.required) | set(spec.optional)
    loose: dict[str, str] = {}
    for col in t.columns:
        norm = _normalise_name(col)
        if norm in wanted and norm not in t.columns and norm not in loose.values():
            loose[norm] = col
    return t.rename(loose) if loose else t


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing types (e.g. 7.5 and "7.5") become text, and nanosecond timestamps and
    durations are truncated to microseconds (the engine's precision; Arrow refuses to drop the
    nanoseconds itself). The caller's frame is not touched."""
    mixed = [
        c
        for c in df.columns
        if df[c].dtype == object and pd.api.types.infer_dtype(df[c], skipna=True).startswith("mixed")
    ]
    nanos = [c for c in df.columns if _unit(df[c].dtype) == "ns"]
    # an empty column pandas typed float (read_csv of a blank churn_date): no values, not numbers
    empty = [c for c in df.columns if df[c].dtype.kind == "f" and len(df) and df[c].isna().all()]
    if not mixed and not nanos and not empty:
        return df
    out = df.copy(deep=False)  # new columns are assigned, never written into
    for c in empty:
        out[c] = pd.Series([None] * len(df), index=df.index, dtype=object)
    for c in mixed:
        out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    for c in nanos:
        dtype = out[c].dtype
        tz = getattr(dtype, "tz", None)
        base = "timedelta64" if dtype.kind == "m" else "datetime64"
        out[c] = out[c].astype(f"{base}[us, {tz}]" if tz is not None else f"{base}[us]")  # truncates
    return out


def _unit(dtype) -> str | None:
    """The resolution of a datetime or timedelta dtype (numpy or tz-aware), else None."""
    if dtype.kind not in "mM":
        return None
    unit = getattr(dtype, "unit", None)  # pandas' DatetimeTZDtype
    return unit if unit is not None else np.datetime_data(dtype)[0]


def _to_table(obj, con, table: str) -> tuple[ir.Table, str]:
    if isinstance(obj, pd.DataFrame):
        return ibis.memtable(_arrow_safe(obj)), f"DataFrame ({len(obj):,} rows)"
    if isinstance(obj, (str, Path)):
        return _read_path(con, str(obj), table)
    if isinstance(obj, ir.Table):
        try:  # a derived expression (filter, select...) has no name
            name = obj.get_name()
        except (AttributeError, TypeError, NotImplementedError):
            name = ""
        return obj, f"Ibis table {name}".strip()
    if isinstance(obj, BaseBackend):
        try:
            return obj.table(table), f"{obj.name} table {table}"
        except Exception:  # noqa: BLE001
            raise SourceError(
                f"{table} table: the {obj.name} connection has no table {table!r}; pass (con, 'name')"
            ) from None
    if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], BaseBackend):
        try:
            return obj[0].table(obj[1]), f"{obj[0].name} table {obj[1]}"
        except Exception:  # noqa: BLE001
            raise SourceError(f"{table} table: the {obj[0].name} connection has no table {obj[1]!r}") from None
    raise SourceError(
        f"{table} table: unsupported source of type {type(obj).__name__}; pass a DataFrame, a CSV/Parquet path, "
        "a .duckdb file, an Ibis table or an Ibis connection"
    )


#: Detected formats of file-backed columns, keyed by connection and column expression (files are cached too).
_FORMAT_CACHE: dict[tuple, timeformats.TimestampFormat] = {}


def _sample_values(t: ir.Table, col: str, con: BaseBackend, frame: pd.DataFrame | None) -> list:
    """Up to :data:`timeformats.SAMPLE_ROWS` non-null values of ``col`` (from the frame itself when there is one)."""
    if frame is not None and len(frame.columns) == len(t.columns):
        # _apply_mapping only renames, in place: the frame's column at the same position is the source
        s = frame.iloc[:, list(t.columns).index(col)]
        head = s.iloc[: 2 * timeformats.SAMPLE_ROWS].dropna()
        if len(head) < timeformats.SAMPLE_ROWS:
            head = s.dropna()
        return list(dict.fromkeys(head.iloc[: timeformats.SAMPLE_ROWS].tolist()))
    expr = t.select(_v=t[col]).filter(ibis._._v.notnull()).limit(timeformats.SAMPLE_ROWS)
    # not engine.fetch: a look at the data, not a metric query (it stays out of --explain)
    return list(dict.fromkeys(con.execute(expr)["_v"].tolist()))


def _detect(t: ir.Table, col: str, con: BaseBackend, frame: pd.DataFrame | None, where: str):
    values = _sample_values(t, col, con, frame)
    try:
        return timeformats.detect_format(values, where=where, column=col)
    except timeformats.AmbiguousTimestampError as err:
        # The sample cannot tell; one pass over the whole column looks for a day above 12.
        first = t[col].cast("string").re_extract(timeformats.DAY_MONTH_FIELDS, 1).try_cast("int32")
        second = t[col].cast("string").re_extract(timeformats.DAY_MONTH_FIELDS, 2).try_cast("int32")
        counts = con.execute(t.aggregate(a=(first > 12).fill_null(False).sum(), b=(second > 12).fill_null(False).sum()))
        return timeformats.settle_day_month(int(counts["a"].iloc[0] or 0), int(counts["b"].iloc[0] or 0), err)


def parse_dates(
    t: ir.Table,
    name: str,
    label: str,
    con: BaseBackend,
    *,
    spec: Any = None,
    frame: pd.DataFrame | None = None,
    cache: bool = False,
) -> tuple[ir.Table, dict[str, timeformats.TimestampFormat]]:
    """Detect (or take from ``spec``) the format of each text or numeric date column of table ``name``.

    Returns the table with non-ISO columns rewritten (see :func:`kit.core.timeformats.rewrite`) and
    the format of every text/numeric date column. Typed timestamp and date columns are left alone.
    """
    found: dict[str, timeformats.TimestampFormat] = {}
    changes = {}
    where = f"{name} table ({label})"
    backend = engine.backend_name(t)
    for col in timeformats.DATE_COLUMNS.get(name, ()):
        if col not in t.columns:
            continue
        typ = t[col].type()
        if not (typ.is_string() or typ.is_numeric()) or engine.is_all_null(t[col]):
            continue
        given = timeformats.override_for(spec, name, col)
        if given is not None:
            fmt = timeformats.strftime_format(given)
        else:
            key = (id(con), t[col].op())
            cached = _FORMAT_CACHE.get(key) if cache else None
            fmt = cached if cached is not None else _detect(t, col, con, frame, where)
            if cached is None and cache:
                _FORMAT_CACHE[key] = fmt
        found[col] = fmt
        if fmt.needs_parsing:
            changes[col] = timeformats.rewrite(t[col], fmt, backend=backend, where=where, column=col)
    return (t.mutate(**changes) if changes else t), found


def _identity(obj, name: str, mapping: Any, spec: Any) -> Callable[[], Hashable] | None:
    """The identity of a source as loaded: its data (see :attr:`Source.identity`), the table name, and
    the mapping and timestamp formats it was read with (they change the loaded table)."""
    if isinstance(obj, pd.DataFrame):
        data = _frame_identity(obj)
    elif isinstance(obj, (str, Path)):
        data_or_none = _path_identity(obj)
        if data_or_none is None:
            return None
        data = data_or_none
    else:
        return None
    extra = (name, repr(mapping), repr(spec))
    return lambda: (data(), extra)


def loaded_identity(obj: Any, name: str, mapping: Any, spec: Any) -> Callable[[], Hashable] | None:
    """The identity of a loaded source: the data as it was when loaded and as it is now. A CSV or a
    DataFrame is copied when loaded, so a file rewritten (or a frame mutated) since then must not key
    the copy's cached parts as the new data's; a Parquet view reads the data as it is now, which the
    second half keys."""
    identity = _identity(obj, name, mapping, spec)
    if identity is None:
        return None
    at_load = identity()

    def current() -> Hashable:
        return (at_load, identity())

    current.at_load = at_load  # type: ignore[attr-defined]  # what the loaded copy was made from
    return current


def data_key_of(obj: Any, name: str, mapping: Any = None, spec: Any = None) -> Hashable | None:
    """The data key (see :meth:`Source.data_key`) of any table argument, before loading it; None when
    the data cannot be identified (Ibis tables, connections, DuckDB files)."""
    if isinstance(obj, Source):
        return obj.data_key()
    identity = _identity(obj, name, mapping, spec)
    if identity is None:
        return None
    now = identity()
    return (now, now)  # as a source loaded now keys it (see loaded_identity)


def default_con() -> BaseBackend:
    """The embedded DuckDB connection that tables given without one run on (one per process)."""
    return _default_con()


def open_tables(
    *,
    mapping: MappingSpec = None,
    con: BaseBackend | Tables | None = None,
    tz: str | None = None,
    timestamp_format: Any = None,
    **tables: TableSource,
) -> Tables:
    """Load each named source and bind them all to one backend.

    Parameters
    ----------
    mapping : dict, str or Path, optional
        Column mapping (see :func:`kit.core.schema.load_mapping`).
    con : Ibis backend, optional
        Where to run. Defaults to the backend of any Ibis input, else an
        embedded DuckDB connection.
    tz : str, optional
        Business time zone; when given, the engine's session time zone is set to it here
        (the one place that does so), so results never depend on the machine's ``TZ``.
    timestamp_format : str or dict, optional
        The format of text date columns, in strftime syntax (``"%d/%m/%Y %H:%M"``) or one of
        ``iso``, ``epoch_s``, ``epoch_ms``, ``excel``: one for every column, or per table
        (``{"contacts": "%d/%m/%Y %H:%M"}``) or per column (``{"contacts": {"created_at": ...}}``).
        It wins over the mapping's ``timestamp_format``, which wins over detection. Without
        either, each text date column's format is detected from a sample of its values
        (:func:`kit.core.timeformats.detect_format`) and recorded in ``Source.formats``.
    **tables
        ``contacts=...``, ``customers=...`` and any other canonical table.
        ``None`` values are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> t = open_tables(customers=pd.DataFrame({"customer_id": [1], "signup_date": ["2026-01-01"]}))
    >>> t["customers"].columns
    ['customer_id', 'signup_date']
    >>> t["customers"].formats
    {'signup_date': 'ISO 8601'}
    """
    given = {k: v for k, v in tables.items() if v is not None}
    if isinstance(con, Tables):
        con = con.con
    backends = {id(b): b for b in (_backend_of(v) for v in given.values()) if b is not None}
    if con is None:
        if len(backends) > 1:
            raise SourceError("the tables live on different connections; put them on one backend or pass con=")
        con = next(iter(backends.values())) if backends else _default_con()
    maps = load_mapping(mapping)
    spec = timeformats.merge_specs(mapping_timestamp_format(mapping), timestamp_format)
    loaded = {}
    for name, obj in given.items():
        if name not in TABLES:
            raise SourceError(f"unknown table {name!r}; canonical tables are {', '.join(TABLES)}")
        if isinstance(obj, Source):
            loaded[name] = obj
            continue
        t, label = _to_table(obj, con, name)
        t = _apply_mapping(t, name, maps.get(name, {}))
        missing = [c for c in TABLES[name].required if c not in t.columns]
        if missing:
            is_csv = isinstance(obj, (str, Path)) and str(obj).lower().endswith(CSV_SUFFIXES) and Path(obj).is_file()
            ragged = ragged_rows(str(obj)) if is_csv else None
            if ragged:  # the reader took a data row for the header: the columns are not really missing
                raise SourceError(f"{name} table: CSV {label} is not a table: {ragged}; {_RAGGED_FIX}")
            raise MissingColumnError(name, label, missing, list(t.columns))
        identity = loaded_identity(obj, name, mapping, spec)
        t = _integral_ids(t, con, known=getattr(identity, "at_load", None))
        frame = obj if isinstance(obj, pd.DataFrame) else None
        t, found = parse_dates(t, name, label, con, spec=spec, frame=frame, cache=isinstance(obj, (str, Path)))
        loaded[name] = Source(
            name,
            t,
            label,
            {c: f.name for c, f in found.items()},
            found,
            identity=identity,
            loaded=t.op(),
        )
    if con.name == "postgres":  # before any query compiles, with or without a time zone to set
        engine.portable_postgres_casts()
    if tz is not None:
        engine.set_session_tz(con, tz)
    return Tables(con, loaded)
