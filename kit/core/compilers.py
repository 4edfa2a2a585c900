"""Ibis' SQL compilers loaded one at a time, when a backend first asks for its own.

Ibis' ``ibis.backends.sql.compilers`` package imports the compilers of all 20 dialects it knows
whenever any SQL backend loads, each building its sqlglot tokenizer: about 0.1 s of every
``python -m kit`` run and notebook kernel, for one dialect. :func:`load_lazily` puts a module in
that package's place which imports a compiler (or a compiler's submodule) on first access, so a
DuckDB run loads DuckDB's compiler alone and a PostgreSQL or Spark connection still finds its own.
It reads the package's ``__init__.py`` first and steps aside (Ibis imports its package as usual)
unless that file holds nothing but imports of compilers from its submodules and ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path

PACKAGE = "ibis.backends.sql.compilers"


def _exports(init: Path) -> dict[str, str] | None:
    """Each name the package's ``__init__.py`` imports -> the submodule it comes from; None for any other content."""
    try:
        tree = ast.parse(init.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    exports: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith(PACKAGE + "."):
            exports.update({alias.asname or alias.name: node.module for alias in node.names})  # type: ignore[misc]
        elif isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            continue
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # a docstring
            continue
        else:
            return None
    return exports or None


def load_lazily(init: Path | None = None) -> bool:
    """Install the lazy package (see the module's text); whether it was installed.

    Nothing happens when Ibis' package is already imported or its ``__init__.py`` (``init``; by
    default the installed Ibis') holds anything unexpected.
    """
    if PACKAGE in sys.modules:
        return False
    if init is None:
        spec = importlib.util.find_spec("ibis")  # finds the package without importing it
        if spec is None or spec.origin is None:
            return False
        init = Path(spec.origin).parent / "backends" / "sql" / "compilers" / "__init__.py"
    exports = _exports(init)
    if exports is None:
        return False
    folder = init.parent
    spec = importlib.util.spec_from_file_location(PACKAGE, init, submodule_search_locations=[str(folder)])
    if spec is None:
        return False
    module = importlib.util.module_from_spec(spec)
    module.__all__ = list(exports)  # type: ignore[attr-defined]

    def __getattr__(name: str) -> object:  # noqa: N807 - a module's attribute hook
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            setattr(module, name, value)
            return value
        if (folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file():
            return importlib.import_module(f"{PACKAGE}.{name}")  # a submodule (``sc.duckdb.compiler``)
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = module
    parent = sys.modules.get(PACKAGE.rpartition(".")[0])
    if isinstance(parent, types.ModuleType):  # as the import system sets a loaded submodule on its parent
        parent.compilers = module  # type: ignore[attr-defined]
    return True
