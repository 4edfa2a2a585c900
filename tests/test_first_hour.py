"""Issue 19, the first hour of a new user: commands that work as written, a lean install, readable output."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block of ``text``."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)


# --------------------------------------------------------------------------- commands from .venv
@pytest.mark.parametrize("command", [["frequency", "--help"], ["report", "--period", "2026-10"]])
def test_python_without_the_dependencies_gets_one_line_not_a_traceback(command):
    # -S: no site-packages, so this Python has the kit (found in the current folder) but not ibis
    res = subprocess.run(
        [sys.executable, "-S", "-m", "kit", *command], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert "is not installed" in res.stderr and "make install" in res.stderr and ".venv/bin/python -m kit" in res.stderr


def test_readme_code_blocks_run_the_kit_from_the_venv():
    bare = []
    for lang, body in _fenced_blocks(README):
        if lang not in ("bash", "cron", ""):
            continue
        for line in body.splitlines():
            if re.search(r"(?<![\w/.])python3? (-m|benchmarks/)", line) and "# =" not in line.split("python")[0]:
                bare.append(line)
    assert bare == [], "README commands must say .venv/bin/python (a fresh shell has no kit):\n" + "\n".join(bare)
    assert "source .venv/bin/activate" in README.split("## Layout")[0]  # said once, near the top
    assert (ROOT / "pyproject.toml").read_text().count('contact-kit = "kit.cli:main"') == 1


# --------------------------------------------------------------------------- lean install with progress
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make_dry_run(tmp_path: Path, *args: str) -> str:
    res = subprocess.run(
        ["make", "-n", *args, f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


@needs_make
def test_default_install_is_lean_and_says_what_it_installs(tmp_path):
    out = _make_dry_run(tmp_path, "install")
    assert "-e '.[report,test]'" in out and "spark" not in out and "postgres" not in out
    assert "installing the kit with extras [report,test]" in out and "minutes" in out and "GB" in out
    assert "uv pip install -q" not in out  # uv's progress shows
    everything = _make_dry_run(tmp_path, "install-all")
    assert "-e '.[report,test,spark,postgres]'" in everything


@needs_make
def test_other_extras_install_even_when_the_default_install_is_done(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed-report-test").touch()  # newer than pyproject.toml
    assert "uv pip install" not in _make_dry_run(tmp_path, "install")
    assert "-e '.[report,test,spark]'" in _make_dry_run(tmp_path, "install", "EXTRAS=report,test,spark")


def test_ci_installs_spark_and_postgres_before_lint_and_test():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    install = lines.index("make install EXTRAS=report,test,spark,postgres")
    assert install < lines.index("make lint") < lines.index("make test")


# --------------------------------------------------------------------------- CLI output
def test_readme_frequency_example_matches_what_the_cli_prints(capsys, monkeypatch):
    blocks = _fenced_blocks(README)
    at = next(i for i, (_, body) in enumerate(blocks) if "-m kit frequency --contacts data/examples/" in body)
    command = shlex.split(blocks[at][1].strip())
    assert command[:3] == [".venv/bin/python", "-m", "kit"]
    monkeypatch.chdir(ROOT)
    assert main(command[3:]) == 0
    out, err = capsys.readouterr()
    assert out == blocks[at + 1][1]
    assert "7 read, 7 used" in err


def _examples(*extra: str) -> list[str]:
    return [
        "frequency",
        "--contacts",
        str(ROOT / "data/examples/contacts.csv"),
        "--customers",
        str(ROOT / "data/examples/customers.csv"),
        "--weight",
        "handle_time",
        *extra,
    ]


def test_precision_options_and_full_precision_parquet(capsys, tmp_path):
    def csv(*extra):
        assert main(_examples(*extra)) == 0
        return pd.read_csv(io.StringIO(capsys.readouterr().out))

    default, two, full = csv(), csv("--precision", "2"), csv("--full-precision")
    assert default["frequency"].tolist() == [1.333, 1.0] and default["frequency_ci_high"].tolist() == [3.414, 2.922]
    assert two["frequency"].tolist() == [1.3, 1.0] and two["frequency_ci_low"].tolist() == [0.36, 0.21]
    assert full["frequency"].iloc[0] == pytest.approx(4 / 3, rel=1e-15)
    assert default["weighted_frequency"].iloc[0] == float(f"{full['weighted_frequency'].iloc[0]:.4g}")
    assert default["contacts"].tolist() == full["contacts"].tolist() == [4, 3]

    target = tmp_path / "out" / "freq.parquet"
    assert main(_examples("--output", str(target))) == 0
    assert capsys.readouterr().out == ""
    parquet = pd.read_parquet(target)
    assert parquet["frequency"].iloc[0] == 4 / 3 and parquet["frequency_ci_high"].tolist() == pytest.approx(
        full["frequency_ci_high"].tolist(), rel=1e-15
    )
    assert str(parquet["period"].dtype).startswith("datetime64")
    assert sorted(p.name for p in target.parent.iterdir()) == ["freq.parquet"]  # no temp file left

    with pytest.raises(SystemExit) as exit_:
        main(_examples("--precision", "3", "--full-precision"))
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main(_examples("--precision", "0"))
    assert "1 to 17" in capsys.readouterr().err


def test_atomic_write_bytes_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    from kit.core import io as kio

    target = tmp_path / "a" / "x.bin"
    kio.atomic_write_bytes(target, b"old")
    monkeypatch.setattr(kio.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        kio.atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in target.parent.iterdir()] == ["x.bin"]


# --------------------------------------------------------------------------- report config
def test_report_reads_report_yml_from_the_current_folder_and_says_so(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.yml").write_text("bogus_key: 1\n")  # proves the file is read: the kit names the key
    assert main(["report", "--period", "2026-10"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("config: report.yml (found in the current folder")
    assert "unknown key 'bogus_key'" in lines[1]

    (tmp_path / "other.yml").write_text("another_key: 1\n")
    assert main(["report", "--period", "2026-10", "--config", "other.yml"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "config: other.yml" and "unknown key 'another_key'" in lines[1]

    (tmp_path / "report.yml").unlink()
    (tmp_path / "empty").mkdir()
    assert main(["report", "--period", "2026-10", "--notebooks", "empty"]) == 2  # stops before rendering
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("config: none (no --config and no ./report.yml") and "no report notebooks" in lines[1]

    assert main(["report", "--period", "2026-10", "--from", "2026-01"]) == 2  # a usage error stays one line
    assert capsys.readouterr().err.count("\n") == 1


def test_readme_report_examples_pass_the_config():
    commands = [ln for _, body in _fenced_blocks(README) for ln in body.splitlines() if "-m kit report" in ln]
    assert commands and all(re.search(r"--config \S*report\.yml", ln) for ln in commands)


# --------------------------------------------------------------------------- environment.yml
def test_environment_yml_agrees_with_pyproject(tmp_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "environment.py"), "--check"], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    env = (ROOT / "environment.yml").read_text()
    for needed in ("pytest-xdist>=3.5", "nbformat>=5.9", "ibis-duckdb>=10,<13", "python-duckdb>=1.1", "- -e ."):
        assert needed in env
    assert "pyspark" not in env  # the conda environment mirrors the default (lean) install

    # a dependency added to pyproject.toml and not to environment.yml is caught
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import environment
    finally:
        sys.path.remove(str(ROOT / "tools"))
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text((ROOT / "pyproject.toml").read_text().replace('"pyyaml>=6",', '"pyyaml>=6", "rich>=13",'))
    assert "rich>=13" in environment.requirements(pyproject) and "rich>=13" not in environment.requirements()


# --------------------------------------------------------------------------- JupyterLab shows each notebook once
def test_lab_shows_each_notebook_once_and_saves_both_files(tmp_path):
    pytest.importorskip("jupyterlab")
    import json
    import os
    import secrets
    import shutil as sh
    import socket
    import time
    import urllib.request

    makefile = (ROOT / "Makefile").read_text()
    assert "jupyter lab --notebook-dir=. --config=jupyter_server_config.json" in makefile  # what `make lab` runs
    root = tmp_path / "root"
    (root / "notebooks").mkdir(parents=True)
    for name in ("01_overview.ipynb", "01_overview.py", "jupytext.toml"):
        sh.copy(ROOT / "notebooks" / name, root / "notebooks" / name)
    (root / "notes.py").write_text("x = 1\n")  # other .py files stay visible
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "ws"))
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1"]
    cmd += [
        f"--IdentityProvider.token={token}",
        f"--notebook-dir={root}",
        f"--config={ROOT / 'jupyter_server_config.json'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/contents"

    def api(path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{base}/{path}", data=data, method="GET" if body is None else "PUT")
        req.add_header("Authorization", f"token {token}")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=20) as resp:
            return json.load(resp)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                listing = api("notebooks")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "lab.log").read_text()[-1500:]) from None
                time.sleep(0.5)
        assert sorted(item["name"] for item in listing["content"]) == ["01_overview.ipynb", "jupytext.toml"]
        assert "notes.py" in {item["name"] for item in api("")["content"]}

        nb = api("notebooks/01_overview.ipynb")
        nb["content"]["cells"][0]["source"] = "# Edited in Lab\n"
        api("notebooks/01_overview.ipynb", {"type": "notebook", "format": "json", "content": nb["content"]})
        assert "# # Edited in Lab" in (root / "notebooks" / "01_overview.py").read_text()  # the pair is saved too
        assert "Edited in Lab" in (root / "notebooks" / "01_overview.ipynb").read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --------------------------------------------------------------------------- cron mail
@pytest.mark.slow
def test_cron_report_output_is_a_few_lines(tmp_path, small_sample_dir):
    from test_report import write_nb

    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    write_nb(notebooks / "01_ok.ipynb", "print('ok', period)")
    (tmp_path / "report.yml").write_text(f"data:\n  dir: {small_sample_dir}\n")
    res = subprocess.run(  # the README's cron line: --config report.yml --no-progress, stderr kept (2>&1)
        [sys.executable, "-m", "kit", "report", "--period", "2026-09", "--config", "report.yml", "--no-progress"]
        + ["--out", "reports", "--notebooks", str(notebooks)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout
    lines = res.stdout.strip().splitlines()
    assert len(lines) <= 3, res.stdout  # the config, the period's headline with its path, the index
    assert lines[0] == "config: report.yml"
    assert lines[1].startswith("2026-09: frequency ") and lines[1].endswith("reports/2026-09/index.html")
    assert lines[-1] == "index: reports/index.html"


# --------------------------------------------------------------------------- a fresh shell
def _fresh_shell(command: str) -> subprocess.CompletedProcess:
    """``command`` in a new bash with a bare environment: no activated venv, no PYTHONPATH."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_readme_commands_work_in_a_fresh_shell():
    blocks = _fenced_blocks(README)
    at = next(i for i, (_, body) in enumerate(blocks) if "-m kit frequency --contacts data/examples/" in body)
    res = _fresh_shell(blocks[at][1].strip())
    assert res.returncode == 0, res.stderr
    assert res.stdout == blocks[at + 1][1]
    # every documented kit command parses as written (--help: nothing is rendered or connected)
    subcommands = {
        line.split()[3]
        for _, body in blocks
        for line in body.splitlines()
        if line.strip().startswith(".venv/bin/python -m kit ")
    }
    assert subcommands == {"frequency", "sample", "report", "inspect", "init"}
    for sub in sorted(subcommands):
        res = _fresh_shell(f".venv/bin/python -m kit {sub} --help")
        assert res.returncode == 0 and "usage:" in res.stdout, (sub, res.stderr)
    res = _fresh_shell(".venv/bin/contact-kit frequency --contacts data/examples/contacts.csv --customers x.csv")
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    if shutil.which("make", path="/usr/local/bin:/usr/bin:/bin"):  # the quick start's commands resolve in a bare shell
        for target in ("report", "test"):
            res = _fresh_shell(f"make -n {target}")
            assert res.returncode == 0 and ".venv/bin/python -m " in res.stdout, res.stderr
