"""A kernel lane runs several notebooks on one kernel, and each starts as it would on a fresh kernel."""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import Future

import pytest
from test_report import write_nb

from kit.errors import ReportError
from kit.report import kernels
from kit.report import render as report


def outputs(path) -> list[str]:
    """Each code cell's printed text, in order."""
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    return ["".join("".join(o.get("text", "")) for o in c.get("outputs", [])) for c in code]


def counts(path) -> list[int | None]:
    return [c.get("execution_count") for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_a_lane_reuses_its_kernel_and_resets_what_a_notebook_left_behind(tmp_path):
    first = write_nb(
        tmp_path / "01_a.ipynb",
        "import os, matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
        "leak = 1\nplt.figure()\nmatplotlib.rcParams['lines.linewidth'] = 9.0\nos.chdir('/')\n"
        "print('pid', os.getpid())",
    )
    second = write_nb(
        tmp_path / "02_b.ipynb",
        "import os, sys, matplotlib\nprint('pid', os.getpid())",
        "print('leak' in globals(), 'plt' in globals(), 'matplotlib.pyplot' in sys.modules)",
        "import matplotlib.pyplot as plt\n"
        "print(len(plt.get_fignums()), matplotlib.rcParams['lines.linewidth'], os.getcwd())",
        "print(len(In), Out)",  # the history of the notebook before is gone too
    )
    with kernels.KernelLane(report.kernel_name()) as lane:
        lane.run(first, tmp_path / "a.ipynb", {"period": "2026-09"})
        lane.run(second, tmp_path / "b.ipynb", {"period": "2026-10"})
        assert lane.used == 2
    a, b = outputs(tmp_path / "a.ipynb"), outputs(tmp_path / "b.ipynb")
    assert a[-1].startswith("pid") and a[-1] == b[-4]  # the same kernel process ran both
    assert b[-3] == "False False True\n"  # the namespace is new; the imported module stays loaded
    # no open figure; matplotlib's default line width again; back in the notebook's folder
    assert b[-2] == f"0 1.5 {tmp_path}\n"
    # the execution count starts again at 1 (parameters, injected parameters, four cells), and In
    # holds only this notebook's cells ('' at 0, then 1-6), Out nothing of the notebook before
    assert counts(tmp_path / "b.ipynb") == [1, 2, 3, 4, 5, 6]
    assert b[-1] == "7 {}\n"


def test_a_failing_notebook_stops_its_lane_and_later_notebooks_never_start(tmp_path):
    nbs = [
        write_nb(tmp_path / "01_ok.ipynb", "print('ok')"),
        write_nb(tmp_path / "02_fails.ipynb", "raise ValueError('planted')"),
        write_nb(tmp_path / "03_later.ipynb", "print('later')"),
    ]
    out = tmp_path / "out"
    out.mkdir()
    runs = [Future() for _ in nbs]
    queue = deque(zip(nbs, runs))
    titles = {src: src.stem for src in nbs}
    report._lane(queue, out, {}, report.kernel_name(), tmp_path / "failed", titles, ())
    assert runs[0].result()[0] == out / "01_ok.ipynb"
    with pytest.raises(ReportError, match=r"02_fails.ipynb failed at cell .*ValueError: planted"):
        runs[1].result()
    assert runs[2].cancelled() and not (out / "03_later.ipynb").exists()
    assert (tmp_path / "failed" / "02_fails.ipynb").exists()
