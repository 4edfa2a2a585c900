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
#     display_name: contact-kit
#     language: python
#     name: contact-kit
# ---

# %% [markdown]
# # Contact frequency, CSAT and churn
#
# How strongly is inbound contact frequency **associated** with churn and satisfaction in this data?
# Every figure below carries a 95% interval. None of it shows cause: customers with problems both
# contact support more and churn more.

# %% tags=["parameters"]
import os

from kit import config

data_dir = os.environ.get("KIT_DATA_DIR", str(config.SAMPLE_DIR))  # folder with contacts/customers/surveys tables
config_path = ""  # report.yml; used for a database connection (its secret is read from the environment)
period = "2026-10"
grain = "month"
tz = "UTC"
window = "90D"
cutoff = None  # None: the latest date with a fully observed outcome window
controls = None  # None: tier (when present) plus tenure
segment = "tier"

# %%
import html

from IPython.display import Markdown, display

from kit.analysis import drivers
from kit.present import plots
from kit.report import context as reportconfig

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()

src = reportconfig.sources(config_path or None, data_dir=data_dir)
report = drivers.analyze(src["contacts"], src["customers"], src.get("surveys"), window=window, cutoff=cutoff,
                         controls=controls, segment=segment, freq=grain, tz=tz)

# %% [markdown]
# ## Summary

# %%
display(Markdown("\n\n".join(f"- {html.escape(s)}" for s in report.narrative())))

# %% [markdown]
# ## Churn by contact frequency (customer level)

# %%
if report.churn is not None:
    plots.show(report.churn.plot())
    display(report.churn.table.round(4))
    for note in report.churn.notes:
        display(Markdown(f"*Note: {html.escape(note)}*"))

# %% [markdown]
# ## CSAT by contact frequency

# %%
if report.csat is not None:
    plots.show(report.csat.plot())
    display(report.csat.table.round(4))

# %% [markdown]
# ## Churn odds ratio across segments

# %%
if report.by_segment is not None:
    plots.show(drivers.plot_forest(report.by_segment))
    display(report.by_segment.round(4))

# %% [markdown]
# ## Period-level lagged correlation (adjusted series, never raw levels)

# %%
if report.periods is not None:
    plots.show(drivers.plot_lags(report.periods))
    for note in report.periods.attrs["notes"]:
        display(Markdown(f"*Note: {html.escape(note)}*"))

# %% [markdown]
# ## Strategic accounts: CSM touchpoints and renewal

# %%
if report.touchpoints is not None:
    plots.show(report.touchpoints.plot())
    display(report.touchpoints.by_band.round(3))
    display(Markdown(html.escape(report.touchpoints.sentence())))
