"""Optional dependencies: import them in one place, and say which extra to install when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

#: module -> the pyproject extra that installs it
EXTRAS = {
    "pyspark": "spark",
    "psycopg": "postgres",
    "psycopg2": "postgres",
    "papermill": "report",
    "nbconvert": "report",
    "nbformat": "report",
    "jupytext": "report",
    "ibis.backends.pyspark": "spark",
    "ibis.backends.postgres": "postgres",
}


def require(module: str, *, extra: str | None = None, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`~kit.errors.MissingDependencyError` naming the extra to install.

    Examples
    --------
    >>> require("json").__name__
    'json'
    >>> try:
    ...     require("no_such_module_here", extra="spark")
    ... except MissingDependencyError as e:
    ...     print(str(e).split(";")[0])
    no_such_module_here is not installed
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = extra or EXTRAS.get(module) or EXTRAS.get(module.split(".")[0])
        how = f"make install EXTRAS=report,test,{extra}" if extra else "make install"
        why = f" (needed for {purpose})" if purpose else ""
        raise MissingDependencyError(
            f"{module} is not installed{why}; install it with `{how}` "
            f"or `pip install -e '.[{extra or 'report'}]'` in .venv ({e})"
        ) from None


def available(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it twice)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


#: the modules every ``python -m kit`` command needs (the kit's core dependencies)
CORE_MODULES = ("ibis", "duckdb", "pandas", "pyarrow", "yaml")


def missing_core() -> str | None:
    """The first core dependency this Python cannot import, or None when all are there (nothing is imported).

    >>> missing_core() is None
    True
    """
    import importlib.util

    for module in CORE_MODULES:
        if importlib.util.find_spec(module) is None:
            return module
    return None


def exit_if_core_missing() -> None:
    """End a ``python -m kit`` run with one line (exit 2) when the kit's dependencies are not installed.

    A fresh shell's ``python`` is usually not the project's ``.venv``: say so instead of a traceback.
    """
    module = missing_core()
    if module is None:
        return
    import sys

    print(
        f"error: {module} is not installed for {sys.executable}: run `make install`, then use "
        "`.venv/bin/python -m kit ...` (or `source .venv/bin/activate` first)",
        file=sys.stderr,
    )
    raise SystemExit(2)
