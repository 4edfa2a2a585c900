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
mapping = None  # column mapping of a help-desk export: a preset name, a YAML file or a dict
dedup_window = "48h"
active_lookback = "365D"  # without a customers table: a contact keeps its customer active this long
drilldown = None  # [column, value]: the report of one segment's customers (kit report --segment)

# %%
from IPython.display import Markdown, display

from kit.analysis import drivers
from kit.present import plots
from kit.present.display import escape_markdown, markdown, table
from kit.report import context
from kit.report import denominator as den

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()

# the render's report context again: the same sources, mapping, dedup window, time zone as summary.json
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
)
ds = ctx.dataset()
proxy_note = den.page_note(ds, active_lookback=ctx.active_lookback)  # None with a customers table
report = drivers.analyze(
    ds.contacts,
    ds.customers,
    ds.surveys,
    window=window,
    cutoff=cutoff,
    controls=controls,
    segment=segment,
    freq=grain,
    tz=tz,
    gap=f"{int(ctx.threshold('churn_gap'))}D",  # report.yml thresholds.churn_gap: contacts made while leaving stay out
    as_of=ctx.as_of,  # the default cutoff's outcome window ends by the period's end, not at the data's end
    dedup_window=ctx.dedup_window,
)

# %% [markdown]
# ## Summary

# %%
if proxy_note:  # without a customers table every page says what the denominator is
    display(markdown(proxy_note, bullets=False))
display(markdown(report.sentences()))

# %% [markdown]
# ## Churn by contact frequency (customer level)

# %%
if report.churn is not None:  # the model's coefficient table is in the method notes at the end
    plots.show(report.churn.plot())
    display(
        table(
            report.churn.binned,
            percent=["churn_rate", "ci_low", "ci_high"],
            labels={
                "bucket": "Contacts per month",
                "churn_rate": "Churn rate",
                "ci_low": "95% interval from",
                "ci_high": "95% interval to",
            },
        )
    )
    for note in report.churn.notes:
        display(Markdown(f"*Note: {escape_markdown(note)}*"))
elif not den.has_customers(ds):
    display(markdown(den.needs_customers("churn analysis", "a customers table with churn dates"), bullets=False))

# %% [markdown]
# ## CSAT by contact frequency

# %%
if report.csat is not None:  # the model's coefficient table is in the method notes at the end
    plots.show(report.csat.plot())
    display(markdown(report.csat.describe(), bullets=False))

# %% [markdown]
# ## Churn odds ratio across segments

# %%
if report.by_segment is not None:
    plots.show(report.by_segment.plot())
    display(markdown(report.by_segment.describe(), bullets=False))
    display(
        table(
            report.by_segment.frame[["level", "customers", "churned", "odds_ratio", "ci_low", "ci_high", "note"]],
            labels={
                "level": report.by_segment.segment.capitalize() or "Group",
                "odds_ratio": "Odds ratio per extra contact a month",
                "ci_low": "95% interval from",
                "ci_high": "95% interval to",
            },
        )
    )
elif not den.has_customers(ds):
    display(markdown(den.needs_customers("segments", "a customers table"), bullets=False))

# %% [markdown]
# ## Period-level lagged correlation (adjusted series, never raw levels)

# %%
if report.periods is not None:
    plots.show(report.periods.plot())
    for note in report.periods.notes:
        display(Markdown(f"*Note: {escape_markdown(note)}*"))
elif not den.has_customers(ds):
    display(markdown(den.needs_customers("period-level churn rate", "a customers table"), bullets=False))

# %% [markdown]
# ## Strategic accounts: CSM touchpoints and renewal

# %%
if report.touchpoints is not None:
    plots.show(report.touchpoints.plot())
    display(
        table(
            report.touchpoints.by_band,
            percent=["churn_rate", "ci_low", "ci_high"],
            labels={
                "band": "Touchpoint band",
                "churn_rate": "Churn rate",
                "ci_low": "95% interval from",
                "ci_high": "95% interval to",
            },
        )
    )
    display(markdown(report.touchpoints.describe(), bullets=False))
elif not den.has_customers(ds):
    display(markdown(den.needs_customers("strategic accounts", "a customers table that flags them"), bullets=False))

# %% [markdown]
# ## Method notes
# The models behind the sentences above, with their p-values and coefficient tables, for analysts.

# %%
coef_labels = {
    "term": "Term",
    "coef": "Coefficient",
    "std_err": "Standard error",
    "stat": "Test statistic",
    "df": "Degrees of freedom",
    "p_value": "p-value",
    "ci_low": "95% interval from",
    "ci_high": "95% interval to",
    "odds_ratio": "Odds ratio",
    "or_ci_low": "Odds ratio from",
    "or_ci_high": "Odds ratio to",
}
for effect, what in ((report.churn, "Churn model"), (report.csat, "CSAT model")):
    if effect is not None:
        display(markdown(effect.method_note(), bullets=False))
        display(table(effect.table, labels=coef_labels, digits=3, caption=f"{what}: coefficients"))
if report.by_segment is not None:
    display(
        table(
            report.by_segment.frame[["level", "p_value"]],
            labels={"level": "Group", "p_value": "p-value of the odds ratio"},
            digits=4,
            caption="Churn odds ratio by segment: p-values",
        )
    )
if report.periods is not None:
    display(
        markdown(
            "Period-level correlations: Pearson (and Spearman) correlation of seasonally adjusted, detrended series, "
            "with Fisher intervals; lags Holm-corrected.",
            bullets=False,
        )
    )
