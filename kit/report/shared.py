"""What the notebooks of one render share: the as-of-cut tables, written once as Parquet by the render.

Every notebook (and ``summary.json``) reads the report's data cut at the period's end
(:meth:`kit.report.context.ReportContext.dataset`). On text timestamps that cut is a parse of
every date in every query of every notebook: about 40% of a ``contact_frequency`` call on
the sample. The render therefore evaluates the cut once (:func:`write`), into a hidden folder
of its temporary output folder, and starts each kernel with :data:`ENV` naming that folder;
:func:`cut` then swaps each table of the notebook's dataset for the Parquet copy. The rows,
columns and types are those of the cut itself, so every number is the same; only the work is
not repeated.

A folder is used only when its manifest was written for the same data: the same sources, time
zone, mapping, segment and as-of day (:func:`key`), on DuckDB. Otherwise (a notebook opened in
Jupyter, another period, a warehouse connection) :func:`cut` cuts as before.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pickle
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.dataset import Dataset
    from .context import ReportContext

#: Environment variable (set in each notebook kernel by the render) naming the shared folder.
ENV = "KIT_REPORT_SHARED"
MANIFEST = "manifest.json"
#: Datasets read from a shared folder (by id) -> that folder: :func:`memo` shares results computed on them.
_DATASETS: dict[int, str] = {}
#: The shared folder of this thread's render (the render's summary runs in-process; kernels get :data:`ENV`).
_FOLDER: ContextVar[str | None] = ContextVar("kit_report_shared", default=None)


@contextmanager
def use(folder: str | Path | None) -> Iterator[None]:
    """Read the shared tables in ``folder`` (None: none) in this thread while the block runs."""
    token = _FOLDER.set(str(folder) if folder else None)
    try:
        yield
    finally:
        _FOLDER.reset(token)


def key(ctx: ReportContext) -> dict[str, Any] | None:
    """What the cut data depends on, as plain values; None when a source is not a file (not shared).

    Examples
    --------
    >>> from kit.report.context import load
    >>> k = key(load(None, period="2026-02", data_dir="data/examples"))
    >>> k["as_of"], k["tz"], sorted(k["sources"])[:2]
    ('2026-02-28', 'UTC', ['contacts', 'customers'])
    """
    from .context import plain

    if ctx.as_of is None or ctx.connection is not None:
        return None
    sources = ctx.sources()
    if not all(isinstance(s, (str, os.PathLike)) for s in sources.values()):
        return None
    files = {}
    for name, src in sources.items():
        p = Path(src)
        st = p.stat() if p.exists() else None  # a changed file is other data
        files[name] = [str(p), st.st_size if st else None, st.st_mtime_ns if st else None]
    return {
        "sources": files,
        "tz": ctx.tz,
        "mapping": plain(ctx.mapping),
        "segment": list(ctx.segment) if getattr(ctx, "segment", None) else None,
        "as_of": str(ctx.as_of.date()),
    }


def write(ctx: ReportContext, folder: Path) -> Path | None:
    """Evaluate ``ctx.dataset()`` (the cut) once into ``folder/<table>.parquet``; None when not shareable."""
    k = key(ctx)
    if k is None:
        return None
    ds = ctx.dataset()
    if getattr(ds.con, "name", None) != "duckdb":
        return None
    folder.mkdir(parents=True, exist_ok=True)
    for name, src in ds.tables.sources.items():
        ds.con.to_parquet(src.table, folder / f"{name}.parquet")
    # the manifest last: a folder without it is never read
    (folder / MANIFEST).write_text(json.dumps({"key": k, "tables": sorted(ds.tables.sources)}), encoding="utf-8")
    return folder


def cut(ctx: ReportContext, ds: Dataset) -> Dataset:
    """``ds`` cut at ``ctx.as_of``: the render's shared copy when :data:`ENV` names one for this data,
    else :func:`kit.core.asof.known_by` (the same rows either way)."""
    from ..core import engine
    from ..core.asof import as_of_day, known_by

    folder = _FOLDER.get() or os.environ.get(ENV)
    if not folder or ctx.as_of is None or getattr(ds.con, "name", None) != "duckdb":
        return known_by(ds, ctx.as_of)
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return known_by(ds, ctx.as_of)
    if manifest.get("key") != key(ctx) or sorted(manifest.get("tables", ())) != sorted(ds.tables.sources):
        return known_by(ds, ctx.as_of)
    from ..core.dataset import Dataset
    from ..core.sources import Tables

    # the copy is the cut at as_of in the session's time zone: a later cut of it (analyze(as_of=...)) is skipped
    known = (as_of_day(ctx.as_of), engine.session_tz(ds.con))
    sources = {
        name: _shared_source(src, ds.con, Path(folder) / f"{name}.parquet", known)
        for name, src in ds.tables.sources.items()
    }
    out = Dataset(Tables(ds.con, sources), tz=ds.tz, mapping=ds.mapping, timestamp_format=ds.timestamp_format)
    _DATASETS[id(out)] = str(folder)
    weakref.finalize(out, _DATASETS.pop, id(out), None)
    return out


def _shared_source(src, con, path: Path, known_by: tuple):
    """``src`` (label, detected formats) over the shared Parquet copy, keyed by that file (see
    :func:`kit.core.sources.loaded_identity`), so the kit's per-source caches work within each kernel
    (measured on the sample: 1-2.5 s instead of about 9 s CPU a call)."""
    from ..core.sources import loaded_identity

    table = con.read_parquet(path)
    return dataclasses.replace(
        src,
        table=table,
        identity=loaded_identity(str(path), src.name, None, None),
        loaded=table.op(),
        known_by=known_by,
    )


def memo(func: Callable) -> Callable:
    """Decorator: a result computed on a shared dataset is computed once per render.

    ``func(ds, **options)`` on a dataset from :func:`cut` (the render's shared copy) runs in the
    first process that asks (the summary or a notebook) while the others wait for it, and is read
    back from ``<shared folder>/results/`` by the others (pickled there by the same kit version; the
    folder lives and dies with the render). Any other call runs ``func`` as usual.
    """

    @functools.wraps(func)
    def inner(*args, **kwargs):
        # the dataset is the one positional argument; keyword calls (contacts=..., customers=...) pass through
        folder = _DATASETS.get(id(args[0])) if len(args) == 1 else None
        if folder is None:
            return func(*args, **kwargs)
        try:  # plain options only: str() of a frame or an object is no key (two could share it)
            options = json.dumps(kwargs, sort_keys=True)
        except (TypeError, ValueError):
            return func(*args, **kwargs)
        ds = args[0]
        import fcntl

        name = f"{func.__module__}.{func.__qualname__}:{options}"
        path = Path(folder) / "results" / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.pkl"
        path.parent.mkdir(exist_ok=True)
        with open(path.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one computes, the others wait for its result
            if path.is_file():
                return pickle.loads(path.read_bytes())  # noqa: S301 - written by this render, in its own folder
            value = func(ds, **kwargs)
            try:
                data = pickle.dumps(value)
            except Exception:  # noqa: BLE001 - a result that holds a live connection is not shared
                return value
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
            return value

    return inner
