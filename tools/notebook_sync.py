"""Check (or restore) that each notebook's jupytext pair holds the same cells.

    python tools/notebook_sync.py --check notebooks   # exit 1 and name the pairs that differ
    python tools/notebook_sync.py notebooks           # rewrite each .ipynb from its .py (the reviewed source)

The ``.py`` percent file is the source of truth (it is what reviews and diffs show); the ``.ipynb``
is what papermill executes, so the two must hold the same cells.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext


def cells(nb) -> list[tuple[str, str, tuple]]:
    """(type, source, tags) of every cell: what a pair must agree on (outputs and ids do not count)."""
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def out_of_sync(folder: Path) -> list[str]:
    problems = []
    for py in sorted(folder.glob("[0-9]*.py")):
        ipynb = py.with_suffix(".ipynb")
        if not ipynb.exists():
            problems.append(f"{ipynb} is missing (run `make format`)")
            continue
        a, b = cells(jupytext.read(py)), cells(jupytext.read(ipynb))
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"{py.name} and {ipynb.name} differ from cell {first + 1} on (run `make format`)")
    for ipynb in sorted(folder.glob("[0-9]*.ipynb")):
        if not ipynb.with_suffix(".py").exists():
            problems.append(f"{ipynb} has no .py pair")
    return problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--check", action="store_true", help="only report pairs that differ")
    args = p.parse_args(argv)
    if args.check:
        problems = out_of_sync(args.folder)
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    for py in sorted(args.folder.glob("[0-9]*.py")):
        nb = jupytext.read(py)
        jupytext.write(nb, py.with_suffix(".ipynb"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
