"""The layers import downward only, and the tooling a maintainer relies on holds.

Every ``import``/``from ... import`` in ``kit/`` is read with ``ast`` (function-level imports
too), resolved to the kit module it names, and checked against the layer order.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1] / "kit"

#: Lower number = lower layer. A module may import its own layer and lower ones.
LAYERS = {"config": 0, "errors": 0, "deps": 0, "core": 1, "present": 2, "metrics": 3, "analysis": 4, "report": 5}
SAMPLE_MAY_IMPORT = {"config", "errors", "deps", "core", "sample"}


def layer_of(module: str) -> str | None:
    """``kit.metrics.frequency`` -> ``metrics``; ``kit`` itself, ``kit.cli`` and ``kit.__main__`` have none."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "kit" else None


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute kit module) for every kit import in ``path``."""
    rel = path.relative_to(KIT.parent).with_suffix("")
    package = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            out += [(node.lineno, n) for n in names if n.startswith("kit")]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("kit")]
    return out


def violations() -> list[str]:
    found = []
    for path in sorted(KIT.rglob("*.py")):
        source = ".".join(path.relative_to(KIT.parent).with_suffix("").parts)
        own = layer_of(source)
        if own is None or own in ("__init__", "__main__", "cli"):
            continue
        for line, target in imports_of(path):
            dest = layer_of(target)
            if dest is None or dest in ("__init__",):
                found.append(f"{path.relative_to(KIT.parent)}:{line} imports the package root {target}")
                continue
            if own == "sample":
                if dest not in SAMPLE_MAY_IMPORT:
                    found.append(f"{path.relative_to(KIT.parent)}:{line} (sample) imports {target}")
            elif dest == "sample" or LAYERS.get(dest, 99) > LAYERS.get(own, -1):
                found.append(f"{path.relative_to(KIT.parent)}:{line} ({own}) imports upward: {target}")
    return found


def test_imports_run_downward_only():
    assert violations() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # The rule must be able to fail: a core module importing the report layer is reported.
    fake = tmp_path / "kit"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "bad.py").write_text("def f():\n    from ..report import render\n")
    (fake / "core" / "good.py").write_text("from .ledger import Ledger\nfrom ..errors import KitError\n")
    monkeypatch.setattr(__import__(__name__), "KIT", fake)
    assert violations() == ["kit/core/bad.py:2 (core) imports upward: kit.report"]


def test_no_result_travels_in_dataframe_attrs():
    # Results carry ledger, notes and parameters as fields; pandas drops attrs on most operations.
    use = re.compile(r"\.attrs\s*(\[|\.|=|\))")  # reads, writes, updates; not prose in docstrings
    offenders = [
        f"{p.relative_to(KIT.parent)}:{i}"
        for p in KIT.rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if use.search(line) and p.name != "__init__.py"
    ]  # kit.ledger_of reads old pickled frames
    assert offenders == []


@pytest.mark.parametrize("layer", ["core", "metrics"])
def test_public_functions_have_type_hints(layer):
    missing = []
    for path in sorted((KIT / layer).glob("*.py")):
        tree = ast.parse(path.read_text())
        methods = [m for c in tree.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_") for m in c.body]
        for node in tree.body + methods:  # module functions and the methods of public classes
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                args = [a for a in node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")]
                if node.decorator_list and any(getattr(d, "id", "") == "property" for d in node.decorator_list):
                    args = []  # a property's type is its return annotation
                if node.returns is None or any(a.annotation is None for a in args):
                    missing.append(f"{path.name}:{node.name}")
    assert missing == []


def test_public_api_reexports_the_layers_lazily():
    import subprocess
    import sys

    import kit
    from kit.analysis.decompose import decompose
    from kit.metrics.rates import contacts_per_order

    assert kit.decompose is decompose and kit.contacts_per_order is contacts_per_order
    assert set(kit._LAZY) <= set(kit.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        kit.nonsense  # noqa: B018
    # `import kit` must not pay for the analysis stack (statsmodels, matplotlib) until it is used
    code = "import sys, kit; print(sorted(m for m in ('statsmodels', 'matplotlib', 'seaborn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
