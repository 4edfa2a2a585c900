"""Write environment.yml (conda) from pyproject.toml, the single source of truth for dependencies.

    python tools/environment.py            # print it
    python tools/environment.py --write    # rewrite environment.yml (`make environment.yml`)
    python tools/environment.py --check    # exit 1 when environment.yml differs (a test runs this)

The conda environment mirrors the default install: the core dependencies plus the extras in ``EXTRAS``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("report", "test")  # what `make install` installs by default
PYTHON = "python>=3.10,<3.13"
#: PyPI name (lower case, extras included) -> conda-forge name
CONDA_NAMES = {
    "ibis-framework[duckdb]": "ibis-duckdb",
    "duckdb": "python-duckdb",
    "types-pyyaml": "types-pyyaml",
}
HEADER = """\
# Generated from pyproject.toml by tools/environment.py (`make environment.yml`); do not edit by hand.
# conda users: `conda env create -f environment.yml && conda activate contact-kit`
"""


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The core dependencies and the default extras, as conda-forge specs, in pyproject order, without repeats."""
    project = tomllib.loads(pyproject.read_text())["project"]
    specs = list(project["dependencies"])
    for extra in EXTRAS:
        specs += project["optional-dependencies"][extra]
    out: list[str] = []
    for spec in specs:
        name, version = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)\s*(.*)$", spec).groups()
        name = CONDA_NAMES.get(name.lower(), name.lower())
        conda = f"{name}{version.replace(' ', '')}"
        if conda not in out:
            out.append(conda)
    return out


def render() -> str:
    lines = [HEADER.rstrip("\n"), "name: contact-kit", "channels:", "  - conda-forge", "dependencies:"]
    lines += [f"  - {spec}" for spec in [PYTHON, *requirements()]]
    lines += ["  - pip", "  - pip:", "      - -e ."]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    target = ROOT / "environment.yml"
    text = render()
    if "--write" in argv:
        target.write_text(text)
        print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)
    elif "--check" in argv:
        if target.read_text() != text:
            print("environment.yml differs from pyproject.toml: run `make environment.yml`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
