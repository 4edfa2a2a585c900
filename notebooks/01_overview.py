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
segments = ["tier", "region", "industry"]
benchmark_profile = {"industry": "SaaS (B2B)"}
thresholds = {}
bands = {}
redact = False

# %%
import warnings

from IPython.display import display

from kit.report import overview as ov
from kit.present import plots
from kit.report import context as reportconfig

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()
warnings.filterwarnings("ignore", category=FutureWarning)

src = reportconfig.sources(config_path or None, data_dir=data_dir)
limits = {**dict(reportconfig.DEFAULT_THRESHOLDS), **(thresholds or {})}
trend = ov.trend(src["contacts"], src["customers"], period=period, grain=grain, tz=tz,
                 periods_shown=int(limits["trend_periods"]))
head = ov.headline(trend, period=period, grain=grain)
ranked = ov.rankings(src["contacts"], src["customers"], period=period, grain=grain, tz=tz, segments=segments,
                     min_customers=int(limits["min_customers"]))
bench = ov.benchmark(trend, period=period, grain=grain, profile=benchmark_profile or None)
onboarding = ov.onboarding_curve(src["contacts"], src["customers"], tz=tz)

# %% [markdown]
# ## Summary

# %%
display(ov.markdown(ov.sentences(head, ranked=ranked, bench=bench, onboarding=onboarding)))

# %% [markdown]
# ## Headline
# Contacts per active customer in the period, with its 95% confidence interval, against the
# previous period and the same period last year.

# %%
display(ov.table(ov.headline_table(head), percent=["change vs reference"]))

# %% [markdown]
# ## Trend
# The last periods with their 95% intervals; dotted lines mark releases, outages and other events.

# %%
events = ov.events_between(src.get("events"), start=trend["period"].min(), end=head.end, tz=tz)
fig = ov.plot_trend(trend, events=events)

# %% [markdown]
# ## Segments and channels
# Each segment is measured against its own active customers; channels share the all-customer
# denominator, so they add up to the total. Small groups are listed but not ranked.

# %%
fig = ov.plot_rankings(ranked)
display(ov.table(ranked, percent=["share_of_contacts"]))
if ranked.attrs.get("notes"):
    display(ov.markdown(ranked.attrs["notes"]))

# %% [markdown]
# ## Contacts and cases
# Contacts from the same customer within the follow-up window are merged into one case; the
# repeat-contact rate is the share of contacts that were such follow-ups.

# %%
fig = ov.plot_contacts_cases(trend)
display(ov.table(ov.contacts_cases_table(trend, periods_shown=6), percent=["repeat_contact_rate"]))

# %% [markdown]
# ## Onboarding load
# Contacts per customer in each week after signup, for customers who signed up inside the data.
# A high start shows how much of the support load new customers bring.

# %%
fig = ov.plot_onboarding(onboarding)
display(ov.markdown(ov.onboarding_sentence(onboarding), bullets=False))

# %% [markdown]
# ## Benchmark placement
# Published industry estimates are rough; read the placement as context, not as a target.

# %%
if bench["available"]:
    display(ov.markdown(bench["text"]))
    display(ov.table(ov.benchmark_table(bench)))
else:
    display(ov.markdown(bench["note"], bullets=False))

# %% [markdown]
# ## Data quality
# Every input row is either used or excluded for a reason (rows outside the shown periods are
# out of scope, not errors).

# %%
display(ov.table(ov.data_quality(trend.attrs["ledger"], redact=redact), percent=["share"]))
if head.notes:
    display(ov.markdown(head.notes))
