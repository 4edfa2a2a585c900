"""`make lab`: JupyterLab starts from the venv, lists notebooks/ and offers the kernel papermill uses."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kit import config

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("jupyterlab")
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("lab-home")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"))
    log = open(home / "lab.log", "w")
    jupyter = Path(sys.executable).with_name("jupyter")  # what `make lab` runs
    cmd = [str(jupyter), "lab"] if jupyter.exists() else [sys.executable, "-m", "jupyterlab"]
    cmd += [
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--ServerApp.token={token}",
        "--ServerApp.password=",
        f"--notebook-dir={ROOT}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root; the server refuses otherwise
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/api/status", token)
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-1500:]}") from exc
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_lab_lists_notebooks(lab):
    base, token = lab
    listing = get(f"{base}/api/contents/notebooks", token)
    names = {item["name"] for item in listing["content"]}
    assert "01_overview.ipynb" in names and "01_overview.py" in names


def test_lab_offers_the_papermill_kernel(lab):
    from kit.report.render import kernel_name

    base, token = lab
    specs = get(f"{base}/api/kernelspecs", token)["kernelspecs"]
    assert config.KERNEL_NAME in specs, f"kernels offered: {sorted(specs)}; run `make kernel`"
    assert kernel_name() == config.KERNEL_NAME  # the kernel papermill renders with
    argv0 = specs[config.KERNEL_NAME]["spec"]["argv"][0]
    assert Path(argv0).resolve().parent == Path(sys.executable).resolve().parent  # the project's venv
