# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (contact-kit)
#     language: python
#     name: contact-kit
# ---

# %% [markdown]
# # Contact frequency overview
#
# Support contacts per active customer for the period, how it moved, where it comes from,
# and how much of the data was usable. Every number is computed by `kit`; this notebook only
# shows the results.

# %% tags=["parameters"]
import os

from kit.config import SAMPLE_DIR

data_dir = os.environ.get("KIT_DATA_DIR", str(SAMPLE_DIR))  # folder with contacts/customers/events tables
config_path = ""  # report.yml; used for a database connection (its secret is read from the environment)
period = "2026-10"
grain = "month"
tz = "UTC"
mapping = None  # column mapping of a help-desk export: a preset name, a YAML file or a dict
dedup_window = "48h"
active_lookback = "365D"  # without a customers table: a contact keeps its customer active this long
drilldown = None  # [column, value]: the report of one segment's customers (kit report --segment)
new_window = "90D"  # a customer is new in a period when they signed up less than this before its start
segments = ["tier", "region", "industry"]
benchmark_profile = {"industry": "SaaS (B2B)"}
thresholds = {}
bands = {}
redact = False

# %%
import warnings

import matplotlib.pyplot as plt
from IPython.display import display

import kit
from kit.present import plots
from kit.present.display import markdown, table
from kit.report import context
from kit.report import denominator as den
from kit.report import overview as ov

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()
warnings.filterwarnings("ignore", category=FutureWarning)

# the render's report context again: the same sources, mapping, dedup window, thresholds as summary.json;
# ctx.dataset() reads only the data known at the end of the period (ctx.as_of), so a past report never changes
ctx = context.from_parameters(
    config_path=config_path,
    drilldown=drilldown,
    data_dir=data_dir,
    period=period,
    grain=grain,
    tz=tz,
    mapping=mapping,
    dedup_window=dedup_window,
    active_lookback=active_lookback,
    new_window=new_window,
    segments=segments,
    benchmark_profile=benchmark_profile,
    thresholds=thresholds,
    bands=bands,
    redact=redact,
)
ds = ctx.dataset()
proxy_note = den.page_note(ds, active_lookback=ctx.active_lookback)  # None with a customers table
trend = ov.trend(
    ds,
    period=ctx.period,
    freq=ctx.grain,
    periods_shown=int(ctx.threshold("trend_periods")),
    dedup_window=ctx.dedup_window,
    active_lookback=den.lookback(ds, ctx.active_lookback),
)
head = ov.headline(trend, period=ctx.period, freq=ctx.grain)
ranked = ov.rankings(
    ds,
    period=ctx.period,
    freq=ctx.grain,
    segments=ctx.segments,
    min_customers=int(ctx.threshold("min_customers")),
    dedup_window=ctx.dedup_window,
    active_lookback=den.lookback(ds, ctx.active_lookback),
)
onboarding = ov.onboarding_curve(ds, as_of=ctx.as_of)  # signups and contacts up to the period's end only
new = ov.new_vs_existing(
    ds, period=ctx.period, freq=ctx.grain, new_window=ctx.new_window, dedup_window=ctx.dedup_window
)
events = ov.events_between(ds.events, start=trend.frame["period"].min(), end=head.end, tz=ctx.tz)
# the causes this page measures, so the benchmark text does not call them unmeasured
measured = ov.measured_causes(
    ds,
    new if den.has_customers(ds) else None,
    period=ctx.period,
    freq=ctx.grain,
    dedup_window=ctx.dedup_window,
    active_lookback=den.lookback(ds, ctx.active_lookback),
)
bench = ov.benchmark(trend, period=ctx.period, freq=ctx.grain, profile=ctx.benchmark_profile, context=measured)
cohort_table = (  # signup cohorts need signup dates: none without a customers table
    kit.cohorts(ds, freq="month", periods=12, dedup_window=ctx.dedup_window) if den.has_customers(ds) else None
)

# %% [markdown]
# ## Summary

# %%
if proxy_note:  # without a customers table every page says what the denominator is
    display(markdown(proxy_note, bullets=False))
display(markdown(ov.describe_period(head, ranked=ranked, bench=bench, onboarding=onboarding, new=new)))

# %% [markdown]
# ## Headline
# Contacts per active customer in the period, with its 95% confidence interval, against the
# previous period and the same period last year.

# %%
display(
    table(
        head.table(),
        percent=["change vs reference"],
        labels={
            "period": "Period",
            "frequency": "Contacts per active customer",
            "ci_low": "95% interval from",
            "ci_high": "95% interval to",
            "contacts": "Contacts",
            "active_customers": "Active customers",
            "change vs reference": "Change of this period against it",
            "significance": "Reading",
        },
    )
)

# %% [markdown]
# ## Trend
# The last periods with their 95% intervals; dotted lines mark releases, outages and other events.

# %%
plots.show(trend.plot(events=events), alt=f"Line chart of contacts per active customer, last periods to {head.period}.")

# %% [markdown]
# ## Segments and channels
# Each segment is measured against its own active customers; channels share the all-customer
# denominator, so they add up to the total. Small groups are listed but not ranked.

# %%
plots.show(ranked.plot())
display(
    table(
        ranked.frame,
        percent=["share_of_contacts"],
        labels={
            "dimension": "Split by",
            "group": "Group",
            "frequency": "Contacts per active customer",
            "ci_low": "95% interval from",
            "ci_high": "95% interval to",
            "share_of_contacts": "Share of contacts",
            "rank": "Rank",
            "ranked": "Ranked (enough customers)",
        },
    )
)
if ranked.notes:
    display(markdown(ranked.notes))

# %% [markdown]
# ## Contacts and cases
# Contacts from the same customer within the follow-up window are merged into one case; the
# repeat-contact rate is the share of contacts that were such follow-ups.

# %%
plots.show(trend.plot_cases())
display(
    table(
        trend.cases_table(periods_shown=6),
        percent=["repeat_contact_rate"],
        labels={
            "follow_ups": "Follow-ups",
            "repeat_contact_rate": "Repeat-contact rate",
            "case_frequency": "Cases per active customer",
        },
    )
)

# %% [markdown]
# ## New customers and the onboarding load
# Left: contacts per active customer of new customers (signed up shortly before the period start; the
# sentence below gives the window) and existing ones, with 95% intervals, this period beside the same period last year;
# each group is measured against its own active customers. Right: contacts per customer in each
# week after signup, for customers who signed up inside the data.

# %%
if not den.has_customers(ds):  # both read signup dates; a first-contact signup would show only the proxy
    what = "new vs existing split and no onboarding load"
    display(markdown(den.needs_customers(what, "a customers table with signup dates"), bullets=False))
else:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), width_ratios=[2, 3], layout="constrained")
    new.plot(ax=left)
    onboarding.plot(ax=right)
    plots.show(fig)
    display(markdown([new.describe(), onboarding.describe()]))

# %% [markdown]
# ## Signup cohorts
# Contacts per active member of each signup month's cohort, in the months since signup
# (month 0 is the signup month; contacts before signup count there).

# %%
if cohort_table is None:
    display(markdown(den.needs_customers("signup cohorts", "a customers table with signup dates"), bullets=False))
else:
    plots.show(cohort_table.plot())
    display(markdown(cohort_table.describe(), bullets=False))

# %% [markdown]
# ## Benchmark placement
# Published industry estimates are rough; read the placement as context, not as a target.

# %%
if bench["available"]:
    display(markdown(bench["text"]))
    display(
        table(
            ov.benchmark_table(bench).drop(columns=["reason"]),
            labels={"category": "Benchmark", "segment": "Band", "low": "From", "high": "To", "position": "This period"},
            units={"low": "per month", "high": "per month"},
        )
    )
else:
    display(markdown(bench["note"], bullets=False))

# %% [markdown]
# ## Data quality
# Every input row is either used or excluded for a reason (rows outside the shown periods are
# out of scope, not errors).

# %%
display(
    table(
        ov.data_quality(trend, redact=ctx.redact),
        percent=["share"],
        labels={"kind": "Kind", "rows": "Rows", "share": "Share of rows read", "examples": "Examples"},
    )
)
if head.notes:
    display(markdown(head.notes))

# %% [markdown]
# ## Method notes
# The technical detail behind the words above, for analysts.

# %%
display(
    markdown(
        [
            head.method_note(),
            f"Follow-ups: a contact from the same customer within {ctx.dedup_window} of the previous one "
            "(the follow-up window, report.yml dedup_window) is merged into that case.",
            "Rankings: each segment's frequency is its contacts over its own active customers, with the same "
            "interval as the headline; groups below the minimum number of customers are listed but not ranked.",
        ]
    )
)
