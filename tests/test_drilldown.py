"""Drill-down (``kit report --segment COLUMN=VALUE``) and summary.json's headline numbers, recomputed.

The data is a tiny hand-made population with planted rates: each EMEA customer contacts support twice
a month (days 3 and 17, two weeks apart, so every contact is its own case), every other customer once
(day 10); five late customers sign up after the report period, one contact names an unknown
customer, and three EMEA contacts of 2022 lie before the 36 months the summary's trend covers (out
of scope). Expected values are worked out from those rules or from ``kit.contact_frequency`` on data
filtered and cut by hand with pandas.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import kit
from kit import config
from kit.errors import ParameterError
from kit.report import context
from kit.report.html import segment_folder
from kit.report.summary import summary

PERIOD, AS_OF = "2026-06", pd.Timestamp("2026-06-30")
HOSTILE = "<script>alert(1)</script>/../../x"
SECRET = "s3cr3t-DRILL-41d2"
REGIONS = {"EMEA": 10, "AMER": 10, HOSTILE: 4}
MONTHS = pd.date_range("2025-01-01", "2026-10-01", freq="MS")


def tiny_population() -> dict[str, pd.DataFrame]:
    rows, contacts = [], []
    for region, n in REGIONS.items():
        for i in range(n):
            rows.append({"customer_id": f"{region[:4]}-{i}", "signup_date": "2021-12-01", "region": region})
    for i in range(5):  # sign up after the period: not known on its as-of day
        rows.append({"customer_id": f"late-{i}", "signup_date": "2026-08-15", "region": "AMER"})
    customers = pd.DataFrame(rows)
    customers["churn_date"] = pd.NaT
    for c in customers.itertuples():
        days = (3, 17) if c.region == "EMEA" else (10,)
        for m in MONTHS:
            for d in days:
                at = m + pd.Timedelta(days=d - 1, hours=9)
                if at >= pd.Timestamp(c.signup_date):
                    contacts.append({"customer_id": c.customer_id, "created_at": at, "channel": "email"})
    contacts.append({"customer_id": "nobody", "created_at": pd.Timestamp("2026-06-05 10:00"), "channel": "email"})
    for d in (4, 5, 6):  # before the summary's 36-month trend (from 2023-07): out of scope
        contacts.append({"customer_id": "EMEA-0", "created_at": pd.Timestamp(f"2022-03-{d:02d} 10:00"), "channel": "x"})
    contacts = pd.DataFrame(contacts)
    contacts.insert(0, "contact_id", [f"k{i}" for i in range(len(contacts))])
    return {"customers": customers, "contacts": contacts}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("drilldown_data")
    tables = tiny_population()
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder, tables


def cut_by_hand(tables, region=None):
    """The tables as known on the as-of day, for one region (pandas, not kit)."""
    cust, cont = tables["customers"], tables["contacts"]
    cust = cust[pd.to_datetime(cust["signup_date"]) <= AS_OF]
    cont = cont[cont["created_at"] < AS_OF + pd.Timedelta(days=1)]
    if region is not None:
        cust = cust[cust["region"] == region]
        cont = cont[cont["customer_id"].isin(cust["customer_id"])]
    return cont.reset_index(drop=True), cust.reset_index(drop=True)


@pytest.fixture(scope="module")
def summaries(tiny):
    folder, _ = tiny
    return {
        seg: summary(context.load(None, period=PERIOD, data_dir=folder, segment=seg)) for seg in (None, "region=EMEA")
    }


def expected(tables, region=None):
    cont, cust = cut_by_hand(tables, region)
    months = kit.contact_frequency(cont, cust, freq="month", start="2025-06", end=PERIOD).frame.set_index("period")
    return months


@pytest.mark.parametrize("seg, region", [(None, None), ("region=EMEA", "EMEA")])
def test_every_headline_number_equals_contact_frequency_on_the_cut_data(tiny, summaries, seg, region):
    _, tables = tiny
    s, f = summaries[seg], expected(tables, region)
    row = f.loc[pd.Timestamp("2026-06-01")]
    assert s["frequency"] == pytest.approx(row["frequency"], rel=1e-12)
    assert s["ci"] == pytest.approx([row["frequency_ci_low"], row["frequency_ci_high"]], rel=1e-12)
    for key in ("contacts", "active_customers", "cases", "follow_ups", "contacting_customers"):
        assert s[key] == int(row[key]), key
    for key in ("case_frequency", "repeat_contact_rate"):
        assert s[key] == pytest.approx(row[key], rel=1e-12), key
    for key, ref in (("previous", "2026-05-01"), ("last_year", "2025-06-01")):
        base = f.loc[pd.Timestamp(ref), "frequency"]
        assert s[key]["frequency"] == pytest.approx(base, rel=1e-12)
        assert s[key]["relative_change"] == pytest.approx(row["frequency"] / base - 1, abs=1e-12)
    # the one headline change is against the same month last year, the alert's basis too
    assert s["headline_change"]["reference"] == "2025-06" and s["headline_change"]["basis"] == "same period last year"
    assert s["headline_change"]["relative_change"] == s["last_year"]["relative_change"]


def test_planted_rates_and_the_segment_denominator(summaries):
    emea, everyone = summaries["region=EMEA"], summaries[None]
    # by hand: 10 EMEA customers x 2 contacts; all: 10 x 2 + 14 x 1 (the late five are not known yet) + 1 unknown
    assert (emea["contacts"], emea["active_customers"], emea["frequency"]) == (20, 10, 2.0)
    assert (everyone["contacts"], everyone["active_customers"]) == (34, 24)
    assert everyone["frequency"] == pytest.approx(34 / 24)
    assert emea["segment"] == {"column": "region", "value": "EMEA"} and everyone["segment"] is None


def test_data_quality_balances_with_out_of_scope_rows(tiny, summaries):
    _, tables = tiny
    for s, region in ((summaries[None], None), (summaries["region=EMEA"], "EMEA")):
        cont, _ = cut_by_hand(tables, region)
        q = s["data_quality"]["contacts"]
        assert q["read"] == len(cont)  # with the unknown customer's contact (all customers only)
        assert q["read"] == q["used"] + sum(q["excluded"].values()) and q["balanced"]
        assert q["excluded_quality"] == (1 if region is None else 0)
        assert q["out_of_scope"] == 3  # the 2022 contacts, before the trend's first month 2023-07
        assert q["used"] == len(cont) - 3 - q["excluded_quality"]


def test_unknown_segment_column_or_value_is_a_one_line_error(tiny):
    folder, _ = tiny
    for seg, words in (("planet=Mars", "valid columns: region"), ("region=Mars", "valid values: <script>")):
        ctx = context.load(None, period=PERIOD, data_dir=folder, segment=seg)
        with pytest.raises(ParameterError) as err:
            ctx.dataset()
        assert "\n" not in str(err.value) and words in str(err.value)
        assert "AMER" in str(err.value) or "planet" in str(err.value)
    with pytest.raises(ParameterError, match="COLUMN=VALUE"):
        context.load(None, segment="EMEA")


def test_segment_folder_names_are_safe_and_distinct():
    names = {v: segment_folder("region", v) for v in ("EMEA", HOSTILE, "../..", "a/b", "a_b", ".hidden", "R&D")}
    assert names["EMEA"] == "region=EMEA" and names["a_b"] == "region=a_b"
    assert len(set(names.values())) == len(names)  # "a/b" and "a_b" do not share a folder
    for name in names.values():
        assert "/" not in name and ".." not in name and not name.startswith(".") and Path(name).name == name


DRILL_NB = """
import json
from kit.report import context
ctx = context.from_parameters(config_path=config_path, data_dir=data_dir, period=period, grain=grain,
                              drilldown=drilldown)
ds = ctx.dataset()
print(json.dumps({"segment": list(ctx.segment), "customers": int(ds.con.execute(ds.customers.table.count())),
                  "contacts": int(ds.con.execute(ds.contacts.table.count()))}))
"""


@pytest.mark.slow
def test_hostile_segment_report_is_escaped_safe_on_disk_and_keeps_the_secret(tiny, tmp_path, monkeypatch, capsys):
    """One small render (one tiny notebook) of the hostile segment, read from a database whose URL holds a secret."""
    import duckdb

    from kit.cli import main

    _, tables = tiny
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    for name, df in tables.items():
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
        segments: [region]
    """)
    )
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'config_path = ""\ndata_dir = ""\nperiod = "2026-10"\ngrain = "month"\ndrilldown = None'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Drill"), params, nbformat.v4.new_code_cell(DRILL_NB)]
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "Python", "language": "python"}
    nbformat.write(nb, str(nbs / "01_drill.ipynb"))
    monkeypatch.setenv("KIT_TEST_SECRET", SECRET)
    out = tmp_path / "reports"
    argv = ["report", "--period", PERIOD, "--config", str(cfg), "--out", str(out), "--notebooks", str(nbs)]
    assert main([*argv, "--segment", f"region={HOSTILE}", "--no-progress"]) == 0, capsys.readouterr().err
    # everything lands inside reports/segments/<one safe folder>/
    files = [p for p in tmp_path.rglob("*") if p.is_file() and tmp_path / "reports" in p.parents]
    seg_dirs = [p for p in (out / "segments").iterdir() if p.is_dir()]
    assert [p.name for p in seg_dirs] == [segment_folder("region", HOSTILE)]
    assert {p.name for p in tmp_path.iterdir()} <= {
        "warehouse.duckdb",
        "warehouse.duckdb.wal",
        "report.yml",
        "nbs",
        "reports",
    }
    assert not [p for p in tmp_path.rglob("*") if p.name == "x"] and not list(tmp_path.parent.glob("x"))
    for p in files:
        text = p.read_text(errors="replace")
        assert SECRET not in text, f"secret leaked into {p}"
        if p.suffix == ".html":
            assert "<script>alert(1)" not in text, p
    folder = seg_dirs[0] / PERIOD
    page = (folder / "index.html").read_text()
    assert "region = &lt;script&gt;alert(1)&lt;/script&gt;/../../x" in page
    # the notebook saw the same segment: 4 customers and their contacts as known on the as-of day
    executed = nbformat.read(str(folder / "01_drill.ipynb"), as_version=4)
    seen = json.loads(executed.cells[-1].outputs[0]["text"])
    cont, cust = cut_by_hand(tables, HOSTILE)
    assert seen == {"segment": ["region", HOSTILE], "customers": len(cust), "contacts": len(cont)}
    s = json.loads((folder / "summary.json").read_text())
    assert (s["contacts"], s["active_customers"]) == (4, 4)  # one contact a month each
    # the segment list links the segment's own index, the top index links the list
    assert f'href="{segment_folder("region", HOSTILE)}/index.html"' in (out / "segments" / "index.html").read_text()
    assert 'href="segments/index.html"' in (out / "index.html").read_text()


@pytest.mark.slow
def test_each_renders_one_report_per_value_with_its_own_denominator(tiny, tmp_path, capsys):
    """``--each region``: one report per region value, each with its planted rate, all listed in one index."""
    from kit.cli import main

    folder, tables = tiny
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'config_path = ""\ndata_dir = ""\nperiod = "2026-10"\ngrain = "month"\ndrilldown = None'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(DRILL_NB)]
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "Python", "language": "python"}
    nbformat.write(nb, str(nbs / "01_drill.ipynb"))
    out = tmp_path / "reports"
    argv = ["report", "--period", PERIOD, "--data-dir", str(folder), "--out", str(out), "--notebooks", str(nbs)]
    assert main([*argv, "--each", "region", "--no-progress"]) == 0, capsys.readouterr().err

    seg_dirs = sorted(p.name for p in (out / "segments").iterdir() if p.is_dir())
    assert seg_dirs == sorted(segment_folder("region", r) for r in REGIONS)
    index = (out / "segments" / "index.html").read_text()
    # planted: EMEA customers contact twice a month, the others once; late sign-ups are not yet customers
    planted = {"EMEA": (20, 10), "AMER": (10, 10), HOSTILE: (4, 4)}
    for region, (contacts, active) in planted.items():
        name = segment_folder("region", region)
        s = json.loads((out / "segments" / name / PERIOD / "summary.json").read_text())
        assert s["segment"] == {"column": "region", "value": region}
        assert (s["contacts"], s["active_customers"]) == (contacts, active)
        assert s["frequency"] == pytest.approx(contacts / active)
        assert f'href="{name}/index.html"' in index
    assert "<script>alert(1)" not in index
    assert 'href="segments/index.html"' in (out / "index.html").read_text()


@pytest.mark.parametrize("params", ['period = "2026-10"', None])
def test_segment_report_refuses_a_notebook_without_drilldown(tiny, tmp_path, capsys, params):
    """A custom notebook that cannot take the segment would show every customer under a segment's title."""
    from kit.cli import main

    folder, _ = tiny
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell("print('all customers')")]
    if params is not None:
        cells.insert(0, nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": config.KERNEL_NAME, "display_name": "Python", "language": "python"}
    nbformat.write(nb, str(nbs / "09_custom.ipynb"))
    argv = ["report", "--period", PERIOD, "--data-dir", str(folder), "--out", str(tmp_path / "r"), "--notebooks"]
    assert main([*argv, str(nbs), "--segment", "region=EMEA", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: notebook(s) 09_custom.ipynb have no `drilldown` parameter")
    assert not (tmp_path / "r" / "segments").exists() or not any((tmp_path / "r" / "segments").rglob("*.html"))


@pytest.mark.parametrize(("data_ends", "complete"), [("2026-10-31", True), ("2026-06-20", False)])
def test_a_quiet_segment_is_complete_where_all_the_data_is(tmp_path, data_ends, complete):
    """A segment whose customers last called on 10 June is not a partial June when the other customers'
    contacts run past the month (its own last contact says nothing about the export's end); when the
    whole export ends on 20 June, June is partial for every segment."""
    customers = pd.DataFrame(
        {"customer_id": ["b1", "b2", "q1", "q2"], "signup_date": "2025-01-01", "region": ["busy"] * 2 + ["quiet"] * 2}
    )
    days = pd.date_range("2026-01-01", data_ends, freq="D") + pd.Timedelta(hours=9)
    busy = [{"customer_id": f"b{1 + i % 2}", "created_at": d} for i, d in enumerate(days)]
    quiet = [
        {"customer_id": c, "created_at": m + pd.Timedelta(days=9, hours=9)} for m in MONTHS[12:] for c in ("q1", "q2")
    ]
    contacts = pd.DataFrame(busy + [q for q in quiet if q["created_at"] <= pd.Timestamp(data_ends)])
    contacts.insert(0, "contact_id", [f"k{i}" for i in range(len(contacts))])
    contacts["channel"] = "email"
    customers.to_parquet(tmp_path / "customers.parquet", index=False)
    contacts.to_parquet(tmp_path / "contacts.parquet", index=False)
    s = summary(context.load(None, period=PERIOD, data_dir=tmp_path, segment="region=quiet"))
    assert (s["contacts"], s["active_customers"], s["complete"]) == (2, 2, complete)
    whole = summary(context.load(None, period=PERIOD, data_dir=tmp_path))
    assert whole["complete"] is complete
