"""Report faults (issue 15): debris of killed renders, concurrent renders, kernel noise, relative paths,
report.yml's mapping and dedup window on every page, and a period far past the data.

Fast tests work on the render's pieces (the lock, the sweep, the kernel manager, the data check) with
hand-made folders; the slow ones run the CLI on tiny notebooks, and once on every real notebook.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_report import write_nb  # one small notebook writer for both report test files

import kit
from kit.errors import DataError, ReportError
from kit.report import html as pages
from kit.report import kernels
from kit.report import render as report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"  # contacts from 2026-01-03 to 2026-02-27


@pytest.fixture
def tiny(tmp_path):
    """Three quick notebooks; each prints its kernel's working directory."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    for name in ("01_a", "02_b", "03_c"):
        write_nb(folder / f"{name}.ipynb", "import os\nprint('cwd=' + os.getcwd())", "print('ok', period)")
    return folder


def cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    return subprocess.run(
        [sys.executable, "-m", "kit", "report", *args, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


HOLD = textwrap.dedent("""
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"pid %d, started by the test" % os.getpid())
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process holding a render's lock, as a running render does."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


# --------------------------------------------------------------------------- killed renders leave no debris
def debris(out: Path, label: str) -> list[Path]:
    """What a render killed by SIGKILL leaves: a partial temp folder, a replaced copy, a lock file."""
    tmp = out / f".{label}.k3x_9abq.tmp"
    tmp.mkdir(parents=True)
    (tmp / "01_overview.ipynb").write_text("{partial")
    (tmp / "summary.json").write_text(json.dumps({"period": label, "frequency": 9.9}))
    old = out / f".{label}.old-4242"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    lock = out / f".{label}.lock"
    lock.write_text("pid 4242, started 2026-11-01T03:00:00")  # its process is gone: nobody holds the flock
    return [tmp, old, lock]


def test_sweep_removes_debris_of_killed_renders_but_not_of_running_ones(tmp_path):
    out = tmp_path / "reports"
    killed = debris(out, "2026-09")
    running = debris(out, "2026-10")
    (out / "2026-08").mkdir()  # a rendered period and a kept failure are not debris
    (out / "2026-08" / "summary.json").write_text("{}")
    (out / "2026-10.failed").mkdir()
    holder = hold_lock(out / ".2026-10.lock", 30)  # a render of 2026-10 is running now
    try:
        removed = report.sweep(out)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(removed) == sorted(killed[:2])
    left = sorted(p.name for p in out.iterdir())
    assert left == [".2026-10.k3x_9abq.tmp", ".2026-10.lock", ".2026-10.old-4242", "2026-08", "2026-10.failed"]
    # the running render's lock file is its own; the killed render's lock file went with its debris
    assert not killed[2].exists()
    # once that render is gone too, the next sweep takes the rest
    assert sorted(report.sweep(out)) == sorted(running[:2])
    assert sorted(p.name for p in out.iterdir()) == ["2026-08", "2026-10.failed"]


def test_hidden_folders_are_never_listed_in_an_index(tmp_path):
    out = tmp_path / "reports"
    debris(out, "2026-10")  # holds a summary.json that looks rendered
    (out / "2026-09").mkdir()
    (out / "2026-09" / "summary.json").write_text(json.dumps({"period": "2026-09", "frequency": 0.5, "ci": [0.4, 0.6]}))
    page = pages.write_top_index(out).read_text()
    assert "2026-09/index.html" in page
    assert "2026-10" not in page and ".tmp" not in page and "old-" not in page


# --------------------------------------------------------------------------- two renders of one period
def test_second_render_waits_for_the_lock_and_says_so(tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    holder = hold_lock(out / ".2026-10.lock", 1.5)
    t0 = time.monotonic()
    with report.period_lock(out, "2026-10", wait=60):
        waited = time.monotonic() - t0
        assert (out / ".2026-10.lock").read_text().startswith(f"pid {os.getpid()},")
    holder.wait()
    assert 0.5 < waited < 30
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"another render of 2026-10 into {out} is running (pid {holder.pid}, started by the test)" in err
    assert not (out / ".2026-10.lock").exists()  # the lock file goes with the lock


def test_second_render_gives_up_with_a_plain_message(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    out.mkdir()
    monkeypatch.setenv("KIT_REPORT_LOCK_WAIT", "0.3")
    holder = hold_lock(out / ".2026-10.lock", 30)
    try:
        with pytest.raises(ReportError) as err, report.period_lock(out, "2026-10"):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert str(err.value).startswith(f"another render of 2026-10 into {out} is still running (pid {holder.pid}")
    assert "KIT_REPORT_LOCK_WAIT" in str(err.value)
    with report.period_lock(out, "2026-10", wait=0):  # a dead holder's lock is free at once
        pass


@pytest.mark.slow
def test_two_concurrent_renders_of_one_period_both_succeed(tmp_path, tiny):
    out = tmp_path / "reports"
    args = ["--period", "2026-02", "--data-dir", str(EXAMPLES), "--out", str(out), "--notebooks", str(tiny)]
    cmd = [sys.executable, "-m", "kit", "report", *args, "--no-progress", "--jobs", "1"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in runs]
    for code, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "OSError" not in err
    assert sum("waiting for it" in err for _, err in results) == 1
    assert sorted(p.name for p in out.iterdir()) == ["2026-02", "index.html"]  # no .tmp, no .old-PID, no lock
    assert json.loads((out / "2026-02" / "summary.json").read_text())["contacts"] == 3


# --------------------------------------------------------------------------- kernel noise
def test_kernels_are_not_interrupted_when_they_shut_down():
    """jupyter_client sends SIGINT to every kernel it shuts down; a busy kernel logs
    '[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel' for it. Ours shut down without it."""
    signals: list[int] = []

    class Recording(kernels.kernel_manager()):
        async def _async_signal_kernel(self, signum):
            signals.append(signum)
            return await super()._async_signal_kernel(signum)

    async def run():
        km = Recording(kernel_name=report.kernel_name())
        await km.start_kernel()
        assert await km.is_alive()
        await km.interrupt_kernel()  # an interrupt asked for while running still goes through
        await km.shutdown_kernel()
        return await km.is_alive()

    alive = asyncio.run(run())
    assert not alive
    assert signals.count(signal.SIGINT) == 1  # the one asked for; none from the shutdown


# --------------------------------------------------------------------------- relative --out and --notebooks
def test_relative_notebooks_folder_is_resolved(tmp_path, tiny, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = report.report_notebooks("nbs")
    assert [p.name for p in found] == ["01_a.ipynb", "02_b.ipynb", "03_c.ipynb"]
    assert all(p.is_absolute() and p.parent == tiny.resolve() for p in found)


@pytest.mark.slow
def test_relative_out_and_notebooks_with_notebooks_in_threads_after_a_killed_render(tmp_path, tiny):
    # papermill's cwd= is an os.chdir of the whole process: with two notebooks at once the other
    # thread wrote "reports/.2026-02.x.tmp/02_b.ipynb" relative to the notebooks' folder and failed
    out = tmp_path / "reports"
    debris(out, "2026-02")  # a killed render of this period
    debris(out, "2026-01")  # and of another one: swept too, as no render holds it
    run = cli(
        "--period", "2026-02", "--data-dir", str(EXAMPLES), "--out", "reports", "--notebooks", "nbs", "--jobs", "3",
        cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["2026-02", "index.html"]
    assert "k3x_9abq" not in (out / "index.html").read_text()
    folder = out / "2026-02"
    pages = ["01_a.html", "02_b.html", "03_c.html", "index.html", "report.html"]  # report.html: the single file
    assert sorted(p.name for p in folder.glob("*.html")) == pages
    for nb in folder.glob("*.ipynb"):  # every kernel ran in the notebooks' folder
        assert f"cwd={tiny.resolve()}" in nb.read_text()
    # a normal render's stderr: the config line, the headline, the index; no kernel chatter
    assert "IPKernelApp" not in run.stderr and "KeyboardInterrupt" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 3, run.stderr


# --------------------------------------------------------------------------- a period far past the data
def test_period_past_the_data_says_where_the_data_ends(tmp_path, tiny):
    out = tmp_path / "reports"
    with pytest.raises(DataError) as err:  # before any notebook runs
        report.render("2030-01", data_dir=EXAMPLES, out=out, notebooks=report.report_notebooks(tiny), progress=False)
    assert str(err.value) == (
        "no data for 2030-01: the data ends on 2026-02-27; choose a period up to 2026-02 (or load newer data)"
    )
    with pytest.raises(DataError, match="no data for 2025-W30: the data starts on 2026-01-03; choose a period from"):
        report.render("2025-W30", freq="week", data_dir=EXAMPLES, out=out, notebooks=[tiny / "01_a.ipynb"])
    assert not out.exists() or not list(out.iterdir())
    # a backfill range that runs past the data is refused as a whole, before rendering anything
    with pytest.raises(DataError, match="no data for 2026-03: the data ends on 2026-02-27"):
        report.render_range("2026-01", "2026-04", data_dir=EXAMPLES, out=out, notebooks=[tiny / "01_a.ipynb"])


def test_overview_headline_says_where_the_data_ends():
    from kit.report import overview

    t = overview.trend(EXAMPLES / "contacts.csv", EXAMPLES / "customers.csv", period="2026-06")
    with pytest.raises(DataError) as err:
        overview.headline(t, period="2026-06")
    assert "pass the same period" not in str(err.value)
    assert str(err.value).startswith("no data for 2026-06: the data ends on 2026-02-27")


def test_cli_period_past_the_data_is_one_line_exit_2(tmp_path, tiny):
    run = cli(
        "--period", "2031-03", "--data-dir", str(EXAMPLES), "--out", str(tmp_path / "r"), "--notebooks", str(tiny)
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("error: no data for 2031-03: the data ends on 2026-02-27;")
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------------- report.yml reaches every notebook
def zendesk_export(small_sample, folder: Path) -> Path:
    """The small sample as a Zendesk export: the preset's headers, no direction column, no other table."""
    folder.mkdir(parents=True, exist_ok=True)
    t = small_sample.tables()
    contacts = t["contacts"].drop(columns=["direction", "handle_time", "person_id"])
    contacts = contacts.rename(
        columns={
            "contact_id": "Id",
            "customer_id": "Requester id",
            "created_at": "Created at",
            "channel": "Via",
            "topic": "Ticket type",
        }
    )
    contacts.to_csv(folder / "tickets.csv", index=False)
    customers = t["customers"].rename(columns={"customer_id": "Id", "signup_date": "Created at"})
    customers.to_csv(folder / "users.csv", index=False, date_format="%Y-%m-%d")
    return folder


@pytest.mark.slow
def test_mapping_and_zero_dedup_window_reach_every_page(tmp_path, small_sample):
    zendesk_export(small_sample, tmp_path / "export")
    cfg = tmp_path / "report.yml"
    cfg.write_text(
        textwrap.dedent("""
        data:
          tables: {contacts: export/tickets.csv, customers: export/users.csv}
        mapping: zendesk
        dedup_window: "0"
        segments: [tier, region]
    """)
    )
    out = tmp_path / "reports"
    r = report.render("2026-10", config_path=cfg, out=out, progress=False)  # every real notebook
    s = json.loads((out / "2026-10" / "summary.json").read_text())
    direct = kit.contact_frequency(
        tmp_path / "export" / "tickets.csv",
        tmp_path / "export" / "users.csv",
        mapping="zendesk",
        dedup_window=0,
        start="2026-10",
        end="2026-10",
    ).frame.iloc[0]
    assert s["contacts"] == int(direct["contacts"]) > 0
    assert s["follow_ups"] == 0 and s["repeat_contact_rate"] == 0 and s["cases"] == s["contacts"]
    assert s["dedup_window"] == "0"
    assert len(r.html) == 4
    overview = (out / "2026-10" / "01_overview.html").read_text()
    assert "0% of contacts were repeat contacts" in overview or "no repeat contacts" in overview
    for page in r.html:  # no page computed follow-ups with another window
        text = re.sub(r"<[^>]+>", " ", page.read_text())
        assert not re.search(r"\b[1-9]\d?(\.\d)?% of contacts were repeat", text), page.name


@pytest.mark.parametrize(
    ("failures", "message", "expected"),
    [
        (1, "Kernel died before replying to kernel_info", "ran"),  # the port race: started again, once
        (report.KERNEL_START_ATTEMPTS, "Kernel died before replying to kernel_info", ReportError),
        (1, "something else broke", ReportError),  # not a start-up death: not retried
    ],
)
def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch, capsys, failures, message, expected):
    import papermill

    calls = []

    def fake_execute(src, dst, **kwargs):
        calls.append(dst)
        if len(calls) <= failures:
            raise RuntimeError(message)
        Path(dst).write_text("{}")

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setattr(report, "_declared_parameters", lambda path: None)
    src, dst = tmp_path / "01_a.ipynb", tmp_path / "out.ipynb"
    src.write_text("{}")
    if expected == "ran":
        report._execute(src, dst, {}, "python3", tmp_path / "failed")
        assert len(calls) == 2 and dst.exists()
        assert "its kernel died while starting (attempt 1)" in capsys.readouterr().err
    else:
        with pytest.raises(ReportError, match=message):
            report._execute(src, dst, {}, "python3", tmp_path / "failed")
        assert len(calls) == min(failures, report.KERNEL_START_ATTEMPTS)
