"""Repository-wide pytest setup: docstring examples in kit/ run from the repository root.

Their paths (``data/examples``) are relative to the root, whatever directory a test before
them left the process in (papermill, for one, changes it while a notebook runs).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _doctests_run_from_the_root(request, monkeypatch):
    if isinstance(request.node, DoctestItem):
        monkeypatch.chdir(ROOT)
    yield
