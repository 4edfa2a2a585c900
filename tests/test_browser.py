"""Headless Chromium opens the rendered index and report: images render, no console errors, no network.

Driven over the DevTools protocol with websocket-client. Skips only where Chromium is
not installed (CI installs it with .ci/install-chromium.sh).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from test_report import render_overview_once

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless Chromium is not installed (apt-get install chromium; .ci/install-chromium.sh does it in CI)",
    ),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-default-apps",
    "--remote-allow-origins=*",
    "--window-size=1280,2000",
]


class Browser:
    """Just enough of the DevTools protocol: navigate, evaluate, screenshot, collect errors."""

    def __init__(self, profile: Path):
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint within 30 s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                    pages = [t for t in json.load(resp) if t.get("type") == "page"]
                if pages:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("Chromium lists no page target")
            time.sleep(0.2)
        import websocket

        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def open(self, url: str, *, timeout: float = 30) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory, small_sample):
    return render_overview_once(tmp_path_factory.getbasetemp() / "kit_report_e2e", small_sample)[0]


def test_index_renders(browser, reports, tmp_path):
    browser.open((reports / "index.html").as_uri())
    assert browser.errors() == []
    assert browser.evaluate("document.querySelectorAll('a[href$=\"index.html\"]').length") >= 1
    shot = browser.screenshot(tmp_path / "index.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000


def test_report_renders_images_offline(browser, reports, tmp_path):
    browser.open((reports / "2026-10" / "01_overview.html").as_uri())
    assert browser.errors() == []
    rendered = browser.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
    assert rendered >= 4
    assert browser.evaluate("document.images.length") == rendered  # no broken image
    remote = [u for u in browser.requested() if not u.startswith(("file:", "data:"))]
    assert remote == [], f"the report fetched {remote}"
    assert browser.evaluate("document.body.innerText").count("contacts per active customer") >= 1
    shot = browser.screenshot(tmp_path / "report.png")
    assert shot.stat().st_size > 20_000


#: Where CI keeps the browser screenshots (reports/ is not committed); KIT_CI_ARTEFACTS overrides it.
ARTEFACTS = Path(os.environ.get("KIT_CI_ARTEFACTS") or Path(__file__).resolve().parents[1] / "reports" / "ci-artefacts")
MISSING_TEXT = """Array.from((function* () {
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n; while ((n = w.nextNode())) yield n;
})()).map(n => n.textContent.trim()).filter(t => ["NaN", "NaT", "None", "nan"].includes(t))"""


def test_single_file_report_at_1280(browser, reports):
    page = reports / "2026-10" / "report.html"
    browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=1000, deviceScaleFactor=1, mobile=False)
    try:
        browser.open(page.as_uri())
        assert browser.errors() == []
        assert [u for u in browser.requested() if not u.startswith(("file:", "data:"))] == []
        assert not any(e.get("method") == "Page.javascriptDialogOpening" for e in browser.events)  # no alert(1)
        assert browser.evaluate("window.innerWidth") == 1280
        # nothing wider than the page, and no table that needs its own scroll bar
        assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert browser.evaluate(
            "Array.from(document.querySelectorAll('.kit-table-wrap')).every(w => w.scrollWidth <= w.clientWidth + 1)"
        )
        assert browser.evaluate(MISSING_TEXT) == []
        assert browser.evaluate("Array.from(document.images).filter(i => !(i.alt || '').trim()).length") == 0
        assert (
            browser.evaluate(
                "Array.from(document.querySelectorAll('svg')).filter(s => s.getAttribute('role') !== 'img'"
                " || !(s.getAttribute('aria-label') || '').trim()).length"
            )
            == 0
        )
        assert browser.evaluate("document.scripts.length") == 0
        # the hostile sample's <script> tier is on the page as text
        assert "<script>alert(1)</script>" in browser.evaluate("document.body.innerText")
        hrefs = browser.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
        internal = [h for h in hrefs if not h.startswith(("data:", "http:", "https:", "mailto:"))]
        assert any(h.startswith("#") for h in internal)
        for h in internal:
            if h.startswith("#"):
                assert browser.evaluate(f"document.getElementById({json.dumps(h[1:])}) !== null"), h
            else:
                assert (page.parent / h.split("#")[0]).exists(), h
        assert browser.evaluate("document.title").startswith("Customer Contact Frequency: 2026-10")
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        shot = browser.screenshot(ARTEFACTS / "report-2026-10-top.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
