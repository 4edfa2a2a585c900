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
# # Seasonality, spikes and forecast of contact frequency
#
# Seasonal peaks are not service problems: this report separates the yearly and weekly
# patterns from the trend, lists the days that stand out (and the release or outage that
# explains them), compares the report period with the previous one and with last year,
# and forecasts the next periods for staffing.

# %% tags=["parameters"]
import os

from kit.config import SAMPLE_DIR

data_dir = os.environ.get("KIT_DATA_DIR", str(SAMPLE_DIR))  # folder with contacts/customers/events tables
config_path = ""  # report.yml; used for a database connection (its secret is read from the environment)
period = "2026-10"
grain = "month"
tz = "UTC"
by = None  # e.g. "tier": one decomposition per segment
horizon = 3
threshold = 3.5
folds = 8

# %%
from IPython.display import Markdown, display

import kit.analysis.seasonality as S
from kit.present import plots
from kit.report import context as reportconfig
from kit.errors import KitError
from kit.metrics.frequency import contact_frequency

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()

src = reportconfig.sources(config_path or None, data_dir=data_dir)
contacts, customers, events = src["contacts"], src["customers"], src.get("events")
frame = contact_frequency(contacts, customers, freq=grain, tz=tz, end=period)
daily = contact_frequency(contacts, customers, freq="day", tz=tz, end=S.period_end_date(period, grain))
series = frame.set_index("period")["frequency"]
volume = frame.set_index("period")["contacts"]

# %% [markdown]
# ## Decomposition per grain

# %%
monthly_result = S.decompose(series)
display(Markdown(S.markdown(S.describe(monthly_result))))
monthly_result.plot(title=f"Contact frequency per {grain}: trend, seasonality, remainder");

# %%
daily_result = S.decompose(daily.set_index("period")["frequency"])
display(Markdown(S.markdown(S.describe(daily_result))))
daily_result.plot(title="Daily contact frequency: weekly and yearly patterns");

# %%
if by:
    by_frame = contact_frequency(contacts, customers, freq=grain, tz=tz, by=by, end=period)
    for key, result in S.decompose_by(by_frame, by=by).items():
        display(Markdown(f"**{S.markdown(str(key))}**: {S.markdown(S.describe(result))}"))

# %% [markdown]
# ## Year over year

# %%
display(Markdown(S.markdown(S.describe_comparison(S.compare_periods(frame, period)))))
S.yoy_plot(series, title="Contact frequency by month, one line per year");

# %% [markdown]
# ## Seasonally adjusted trend

# %%
display(Markdown(S.markdown(S.describe(monthly_result))))
monthly_result.plot_adjusted();

# %% [markdown]
# ## Days that stand out, and what explains them

# %%
table = S.anomalies(daily_result, threshold=threshold, events=events, tz=tz)
display(Markdown(S.markdown(S.describe_anomalies(table))))
table[["period", "direction", "observed", "expected", "size", "z", "explanation"]]

# %% [markdown]
# ## Forecast

# %%
fc = S.forecast(series, horizon=horizon)
display(Markdown(S.markdown(S.describe_forecast(fc))))
try:  # a short history cannot be backtested; say so instead of failing the report
    display(Markdown(S.markdown(S.describe_backtest(S.backtest(series, horizon=horizon, folds=folds)))))
except KitError as exc:
    display(Markdown(S.markdown(f"No backtest of this forecast: {exc}.")))
fc.plot(title="Contact frequency forecast (80% and 95% ranges)");

# %%
fc_volume = S.forecast(volume, horizon=horizon)
display(Markdown(S.markdown(S.describe_forecast(fc_volume))))
fc_volume.plot(title="Contact volume forecast (80% and 95% ranges)");
