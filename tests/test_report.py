"""End-to-end report rendering: papermill + nbconvert into an atomic period folder, summary.json, indexes.

Expected values come from calling kit.contact_frequency directly, from hand-written notebooks
with a known failing cell, and from a planted dummy secret and hostile segment names.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import kit
from kit import config
from kit.errors import ParameterError, ReportError
from kit.report import context as reportconfig
from kit.report import html as pages
from kit.report import render as report
from kit.report import summary as summaries

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "<script>alert(1)</script>"
AMP_NAME = "R&D \"North\" 'x'"
EVENT = "<img src=x onerror=alert(2)> launch"
SECRET = "s3cr3t-DUMMY-7f9a"
EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v]


def hrefs(page: Path) -> list[str]:
    p = Links()
    p.feed(page.read_text())
    return [h for h in p.hrefs if not h.startswith("#")]


def hostile_sample(small_sample, folder: Path) -> Path:
    """The small sample with a <script> tier, an '&'-and-quotes region and an HTML event label."""
    tables = {k: v.copy() for k, v in small_sample.tables().items()}
    cust = tables["customers"]
    cust.loc[cust.index[::5], "tier"] = SCRIPT
    cust.loc[cust.index[1::7], "region"] = AMP_NAME
    tables["events"].loc[tables["events"].index[-1], "label"] = EVENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def render_overview_once(base: Path, small_sample) -> tuple[Path, Path]:
    """Render 2026-10 with every real notebook once per session (test_browser reuses it)."""
    out, data = base / "reports", base / "data"
    if not (out / "2026-10" / "summary.json").exists():
        hostile_sample(small_sample, data)
        report.render("2026-10", data_dir=data, out=out, progress=False)
    return out, data


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, small_sample):
    return render_overview_once(tmp_path_factory.getbasetemp() / "kit_report_e2e", small_sample)


def write_nb(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('period = "2026-10"\ngrain = "month"\ndata_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "Python", "language": "python"}
    nbformat.write(nb, str(path))
    return path


# --------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_period_folder_contents(rendered):
    out, _ = rendered
    folder = out / "2026-10"
    names = sorted(p.name for p in folder.iterdir())
    listed = json.loads((folder / "summary.json").read_text())["notebooks"]
    assert listed[0]["ipynb"] == "01_overview.ipynb"
    for nb in listed:
        assert nb["ipynb"] in names and nb["html"] in names  # executed notebook kept for audit
    assert {"index.html", "summary.json"} <= set(names)
    assert not list(out.glob(".*tmp*")), "temporary folders must not be left behind"


@pytest.mark.slow
def test_html_has_no_code_and_has_figures(rendered):
    page = (rendered[0] / "2026-10" / "01_overview.html").read_text()
    # code inputs render as highlighted editors with prompts; markdown cells are kept as text
    assert not re.search(r'class="[^"]*(cm-editor|hl-ipython|jp-InputPrompt|jp-OutputPrompt)', page)
    assert "ov.trend(" not in page and "import warnings" not in page and "tags=" not in page
    assert page.count('src="data:image/png;base64,') >= 4  # trend, rankings, contacts/cases, onboarding
    assert "Summary" in page and "Data quality" in page


@pytest.mark.slow
def test_every_notebook_shows_its_figures_as_images(rendered):
    # A figure that reached the HTML as its text repr means the inline backend was lost.
    for page in sorted((rendered[0] / "2026-10").glob("[0-9][0-9]_*.html")):
        text = page.read_text()
        assert 'src="data:image/png;base64,' in text, page.name
        assert "&lt;Figure size" not in text and "<Figure size" not in text, page.name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["2026-10/01_overview.html", "2026-10/index.html", "index.html"])
def test_html_is_offline(rendered, name):
    page = (rendered[0] / name).read_text()
    assert not EXTERNAL.findall(page)
    assert "@import url(http" not in page and "cdnjs" not in page and "mathjax" not in page.lower()


@pytest.mark.slow
def test_summary_headline_equals_contact_frequency(rendered):
    out, data = rendered
    s = json.loads((out / "2026-10" / "summary.json").read_text())
    direct = kit.contact_frequency(
        data / "contacts.parquet", data / "customers.parquet", freq="month", start="2026-10-01", end="2026-10-01"
    ).frame.iloc[0]
    assert s["period"] == "2026-10" and s["grain"] == "month"
    assert s["frequency"] == pytest.approx(direct["frequency"], rel=1e-12)
    assert s["ci"] == pytest.approx([direct["frequency_ci_low"], direct["frequency_ci_high"]], rel=1e-12)
    for key in ("contacts", "active_customers", "cases"):
        assert s[key] == int(direct[key])
    assert s["repeat_contact_rate"] == pytest.approx(direct["repeat_contact_rate"])
    for key in ("benchmark", "anomalies", "forecast"):
        assert "available" in s[key]
    assert 3 <= len(s["sentences"]) <= 5


@pytest.mark.slow
def test_index_links_resolve(rendered):
    out, _ = rendered
    # the period index, the top index, and a notebook page's back links
    for page in (out / "index.html", out / "2026-10" / "index.html", out / "2026-10" / "01_overview.html"):
        links = hrefs(page)
        assert links, f"{page} has no links"
        for h in (h for h in links if not h.startswith("data:")):  # CSV downloads are inline data URIs
            assert (page.parent / h).resolve().exists(), f"{page.name} links to missing {h}"
    assert "2026-10/index.html" in hrefs(out / "index.html")


@pytest.mark.slow
def test_data_derived_strings_are_escaped(rendered):
    out, _ = rendered
    for page in [out / "index.html", *(out / "2026-10").glob("*.html")]:
        text = page.read_text()
        assert SCRIPT not in text, page.name
        assert "<img src=x" not in text and "R&D " not in text, page.name
    overview = (out / "2026-10" / "01_overview.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in overview  # shown, as text
    assert "R&amp;D" in overview


# --------------------------------------------------------------------------- secrets
@pytest.mark.slow
def test_secret_never_reaches_reports(tmp_path, small_sample, monkeypatch):
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    for name, df in small_sample.tables().items():
        con.register("df", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM df")
        con.unregister("df")
    con.close()
    cfg = tmp_path / "report.yml"
    cfg.write_text(
        textwrap.dedent(f"""
        data:
          connection:
            url: "duckdb:///{db}?custom_user_agent={{secret}}"
            secret_env: KIT_TEST_SECRET
        segments: [tier]
    """)
    )
    monkeypatch.delenv("KIT_TEST_SECRET", raising=False)
    with pytest.raises(ParameterError, match="KIT_TEST_SECRET"):
        reportconfig.load(cfg).sources()
    monkeypatch.setenv("KIT_TEST_SECRET", SECRET)  # the kernels inherit the environment, not a parameter
    out = tmp_path / "reports"
    # the overview reads the connection through the config; other notebooks take data_dir
    r = report.render(
        "2026-10", config_path=cfg, out=out, progress=False, notebooks=[config.NOTEBOOKS_DIR / "01_overview.ipynb"]
    )
    assert r.summary["contacts"] > 0
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.name == "summary.json" for p in files)
    for p in files:
        assert SECRET not in p.read_text(errors="replace"), f"secret leaked into {p}"
    executed = nbformat.read(str(out / "2026-10" / "01_overview.ipynb"), as_version=4)
    assert executed.metadata["papermill"]["parameters"]["config_path"] == str(cfg)


def test_password_in_config_url_is_refused(tmp_path):
    cfg = tmp_path / "r.yml"
    cfg.write_text("data:\n  connection:\n    url: postgres://me:hunter2@db/x\n")
    with pytest.raises(ParameterError, match="secret_env"):
        reportconfig.load(cfg)


def test_config_parameters_and_paths(tmp_path):
    cfg = tmp_path / "sub" / "r.yml"
    cfg.parent.mkdir()
    cfg.write_text("data:\n  dir: ../data\ntz: Europe/Berlin\nsegments: tier\nthresholds: {min_customers: 5}\n")
    c = reportconfig.load(cfg)
    assert c.data_dir == (tmp_path / "data").resolve()
    p = c.parameters()
    assert p["tz"] == "Europe/Berlin" and p["segments"] == ["tier"] and p["thresholds"]["min_customers"] == 5
    assert p["data_dir"] == str((tmp_path / "data").resolve())
    cfg.write_text("dataa: {}\n")
    with pytest.raises(ParameterError, match="unknown key 'dataa' in the top level; valid keys: title, data,"):
        reportconfig.load(cfg)


@pytest.mark.parametrize(
    "text, key, valid",
    [
        (
            "thresholds: {anomaly: 3}\n",
            "'anomaly' in thresholds",
            "anomaly_z, alert_change, min_customers, trend_periods, churn_gap",
        ),
        ("bands: {account: []}\n", "'account' in bands", "accounts"),
        ("benchmark: {industry: SaaS}\n", "'industry' in benchmark", "profile"),
        ("data: {folder: x}\n", "'folder' in data", "dir, tables, connection"),
    ],
)
def test_unknown_nested_key_is_one_line_error(tmp_path, text, key, valid):
    cfg = tmp_path / "r.yml"
    cfg.write_text(text)
    with pytest.raises(ParameterError) as err:
        reportconfig.load(cfg)
    assert str(err.value) == f"report config: unknown key {key}; valid keys: {valid}"


def test_context_carries_report_yml_to_every_notebook():
    ctx = reportconfig.load(ROOT / "report.yml", period="2026-10", grain="quarter")
    p = ctx.parameters()
    assert (p["period"], p["grain"], p["dedup_window"], p["mapping"]) == ("2026-10", "quarter", "48h", None)
    assert p["thresholds"]["anomaly_z"] == 3.5 and p["benchmark_profile"] == {"industry": "SaaS (B2B)"}
    assert p["bands"]["accounts"][-1] == ["possibly excessive", 11, float("inf")]
    assert ctx.account_bands[0] == ["at risk", 0, 4]
    # every parameter any report notebook declares comes from the context, and the context comes back whole
    import papermill

    for nb in report.report_notebooks():
        declared = set(papermill.inspect_notebook(str(nb)))
        assert {"period", "grain", "tz", "mapping", "dedup_window", "config_path", "data_dir"} <= declared, nb.name
    again = reportconfig.from_parameters(**p)
    assert again.parameters() == p


def test_report_yml_comment_matches_the_alert_rule():
    text = (ROOT / "report.yml").read_text()
    line = next(x for x in text.splitlines() if x.strip().startswith("alert_change"))
    assert "same period last year" in line and "previous period" in line


# --------------------------------------------------------------------------- failures, ranges, CLI
@pytest.fixture()
def tiny_notebooks(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    write_nb(folder / "01_ok.ipynb", "print('ok', period)")
    return folder


@pytest.mark.slow
def test_failure_keeps_previous_report(tmp_path, tiny_notebooks, small_sample_dir):
    out = tmp_path / "reports"
    report.render(
        "2026-10", data_dir=small_sample_dir, out=out, notebooks=report.report_notebooks(tiny_notebooks), progress=False
    )
    before = {p.name: p.read_bytes() for p in (out / "2026-10").iterdir()}
    write_nb(tiny_notebooks / "02_fail.ipynb", "x = 1", "raise ValueError('boom ' + period)")
    with pytest.raises(ReportError) as err:
        report.render(
            "2026-10",
            data_dir=small_sample_dir,
            out=out,
            notebooks=report.report_notebooks(tiny_notebooks),
            progress=False,
        )
    # cell 4 of 02_fail: markdown, parameters, "x = 1", the raise
    assert str(err.value).startswith("notebook 02_fail.ipynb failed at cell 4: ValueError: boom 2026-10")
    assert {p.name: p.read_bytes() for p in (out / "2026-10").iterdir()} == before
    failed = out / "2026-10.failed" / "02_fail.ipynb"
    assert failed.exists() and "boom 2026-10" in failed.read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert "2026-10.failed" not in (out / "index.html").read_text()


@pytest.mark.slow
def test_backfill_range_and_cli(tmp_path, tiny_notebooks, small_sample_dir):
    out = tmp_path / "reports"
    cmd = [
        sys.executable,
        "-m",
        "kit",
        "report",
        "--from",
        "2026-08",
        "--to",
        "2026-09",
        "--data-dir",
        str(small_sample_dir),
        "--out",
        str(out),
        "--notebooks",
        str(tiny_notebooks),
        "--no-progress",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    links = hrefs(out / "index.html")
    # newest first; each period's one-page report.html comes before its index
    assert [h for h in links if h.endswith("/index.html")][:2] == ["2026-09/index.html", "2026-08/index.html"]
    for period in ("2026-08", "2026-09"):
        s = json.loads((out / period / "summary.json").read_text())
        direct = kit.contact_frequency(
            small_sample_dir / "contacts.parquet", small_sample_dir / "customers.parquet", start=period, end=period
        ).frame.iloc[0]
        assert s["contacts"] == int(direct["contacts"])
    bad = subprocess.run(
        [sys.executable, "-m", "kit", "report", "--period", "2026-10", "--from", "2026-01"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "either --period" in bad.stderr


@pytest.mark.slow
def test_cli_failure_exits_nonzero_with_one_line(tmp_path, tiny_notebooks, small_sample_dir):
    write_nb(tiny_notebooks / "02_fail.ipynb", "raise KeyError('nope')")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kit",
            "report",
            "--period",
            "2026-10",
            "--data-dir",
            str(small_sample_dir),
            "--out",
            str(tmp_path / "r"),
            "--notebooks",
            str(tiny_notebooks),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: notebook 02_fail.ipynb failed at cell 3: KeyError")


def test_strip_external_fetches():
    page = (
        '<head><script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="http://x/y.css">'
        '<style>@import url(https://fonts.example/f.css);</style></head><a href="https://docs.example">doc</a>'
    )
    clean = pages.strip_external_fetches(page)
    assert pages.external_fetches(clean) == [] and not EXTERNAL.findall(clean)
    assert '<a href="https://docs.example">' in clean  # a link is not a fetch


def test_kernel_fallback(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def missing(self, name):
        raise NoSuchKernel(name)

    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", missing)
    with pytest.warns(UserWarning, match="not installed"):
        assert report.kernel_name() == "python3"


def _seasonal_history(folder: Path, *, oct_2026: int) -> Path:
    """200 customers all along; 50 contacts a month, 100 each October, ``oct_2026`` in October 2026."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)], "signup_date": "2024-01-01"}).to_parquet(
        folder / "customers.parquet", index=False
    )
    rows = []
    for start in pd.date_range("2024-10-01", "2026-10-01", freq="MS"):
        n = oct_2026 if start == pd.Timestamp("2026-10-01") else 100 if start.month == 10 else 50
        for i in range(n):  # one contact per customer per month, spread over the month: no follow-ups
            day = start + pd.Timedelta(days=i % start.days_in_month, hours=10)
            rows.append(
                {"contact_id": f"{start:%Y-%m}-{i}", "customer_id": f"c{i}", "created_at": day, "channel": "email"}
            )
    pd.DataFrame(rows).to_parquet(folder / "contacts.parquet", index=False)
    return folder


@pytest.mark.parametrize("oct_2026, alert", [(100, False), (150, True)])
def test_alert_judges_change_against_same_period_last_year(tmp_path, oct_2026, alert):
    # September -> October doubles every year: that seasonal rise is no alert; +50% against last October is.
    folder = _seasonal_history(tmp_path / "data", oct_2026=oct_2026)
    data = summaries.summary(reportconfig.load(None, period="2026-10", grain="month", data_dir=folder))
    assert data["complete"]
    assert data["previous"]["relative_change"] == pytest.approx(oct_2026 / 50 - 1)
    assert data["last_year"]["relative_change"] == pytest.approx(oct_2026 / 100 - 1)
    assert data["alert"] is alert
    if alert:
        assert (
            "frequency changed +50.0% against 2025-10 (the same period last year, significant)" in data["alert_reasons"]
        )


# --------------------------------------------------------------------------- one context for pages and summary
def _zendesk_export(folder: Path) -> Path:
    """A Zendesk-style CSV export (columns need the zendesk mapping) worked out by hand.

    Four customers, all active in October 2026. October contacts: c1 at 1 Oct 10:00, 3 Oct 09:00
    (47 h later) and 6 Oct 08:00 (71 h later); c2 at 10 Oct 10:00 and 12 Oct 20:00 (58 h later);
    c3 at 20 Oct 10:00. With a 72 h window the 2nd and 3rd of c1 and the 2nd of c2 are follow-ups:
    6 contacts / 4 customers = 1.5, repeat-contact rate 3/6 = 50%, 3 cases. (48 h would give 1/6.)
    """
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"Id": ["c1", "c2", "c3", "c4"], "Created at": "2025-01-01"}).to_csv(
        folder / "customers.csv", index=False
    )
    pd.DataFrame(
        {
            "Id": [1, 2, 3, 4, 5, 6, 7],
            "Requester id": ["c4", "c1", "c1", "c1", "c2", "c2", "c3"],
            "Created at": [
                "2026-09-15 10:00",
                "2026-10-01 10:00",
                "2026-10-03 09:00",
                "2026-10-06 08:00",
                "2026-10-10 10:00",
                "2026-10-12 20:00",
                "2026-10-20 10:00",
            ],
            "Via": "email",
        }
    ).to_csv(folder / "contacts.csv", index=False)
    return folder


@pytest.mark.slow
def test_page_and_summary_use_the_configured_mapping_and_dedup_window(tmp_path):
    data = _zendesk_export(tmp_path / "export")
    cfg = tmp_path / "report.yml"
    cfg.write_text(
        textwrap.dedent("""
        data:
          tables: {contacts: export/contacts.csv, customers: export/customers.csv}
        mapping: zendesk
        dedup_window: 72h
        segments: [tier]
    """)
    )
    assert data.exists()
    out = tmp_path / "reports"
    r = report.render(
        "2026-10", config_path=cfg, out=out, progress=False, notebooks=[config.NOTEBOOKS_DIR / "01_overview.ipynb"]
    )
    s = json.loads((out / "2026-10" / "summary.json").read_text())
    assert (s["contacts"], s["active_customers"], s["cases"]) == (6, 4, 3)
    assert s["frequency"] == 1.5 and s["repeat_contact_rate"] == 0.5 and s["dedup_window"] == "72h"
    assert r.summary["repeat_contact_rate"] == s["repeat_contact_rate"]
    page = (out / "2026-10" / "01_overview.html").read_text()
    # the overview page's own sentence, computed in the notebook's kernel from the same context
    assert "In 2026-10, customers contacted support 1.50 times per active customer" in page
    assert "50% of contacts were repeat contacts within the follow-up window, so 3 distinct cases remain" in page
