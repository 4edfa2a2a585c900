"""Every report notebook runs top to bottom with its parameter defaults (nbval --nbval-lax).

The notebooks run in place against the small sample: ``KIT_DATA_DIR`` points the
``data_dir`` default at it, and ``KIT_PROJECT_ROOT`` makes ``kit.config.SAMPLE_DIR``
resolve to it for notebooks whose default is ``str(SAMPLE_DIR)``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit import config

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE = Path(__file__).with_name("notebooks") / "sanitize.cfg"


@pytest.fixture(scope="module")
def small_root(small_sample_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("kit_root")
    (root / "data").mkdir()
    (root / "data" / "sample").symlink_to(small_sample_dir, target_is_directory=True)
    return root


def kernel() -> str:
    from kit.report.render import kernel_name

    return kernel_name()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_with_defaults(notebook, small_root, small_sample_dir):
    env = dict(
        os.environ,
        KIT_DATA_DIR=str(small_sample_dir),
        KIT_PROJECT_ROOT=str(small_root),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        "--nbval-kernel-name",
        kernel(),
        "--nbval-cell-timeout",
        "300",
        "--nbval-sanitize-with",
        str(SANITIZE),
        str(notebook.relative_to(ROOT)),
    ]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)
    tail = "\n".join(plain.strip().splitlines()[-40:])
    assert run.returncode == 0, f"{notebook.name} failed under nbval:\n{tail}"


def test_notebooks_are_stripped_and_paired():
    import nbformat

    assert NOTEBOOKS and NOTEBOOKS[0].name == "01_overview.ipynb"
    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has outputs in git"
        assert "parameters" in code[0].metadata.get("tags", []), (
            f"{path.name}: first code cell must be tagged parameters"
        )
        assert path.with_suffix(".py").exists(), f"{path.name} has no jupytext py:percent pair"
        # papermill runs the kernel the notebook names: it must be the one `make install` registers
        assert nb.metadata.kernelspec.name == config.KERNEL_NAME, f"{path.name} names another kernel"


def test_notebook_pairs_hold_the_same_cells(tmp_path):
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from notebook_sync import out_of_sync

    assert out_of_sync(ROOT / "notebooks") == []
    copy = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", copy)
    with open(copy / "01_overview.py", "a") as fh:  # an edit to the .py alone must be caught
        fh.write("\n# %%\nprint('edited')\n")
    assert [p.split()[0] for p in out_of_sync(copy)] == ["01_overview.py"]
