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
folds = 8
mapping = None  # column mapping of a help-desk export: a preset name, a YAML file or a dict
dedup_window = "48h"
active_lookback = "365D"  # without a customers table: a contact keeps its customer active this long
drilldown = None  # [column, value]: the report of one segment's customers (kit report --segment)
thresholds = {}  # anomaly_z: robust z-score that flags a day (default 3.5)

# %%
from IPython.display import display

from kit.analysis.anomalies import anomalies
from kit.analysis.compare import compare_periods
from kit.analysis.decompose import decompose, decompose_by
from kit.analysis.forecast import backtest, forecast
from kit.core.periods import period_end
from kit.errors import KitError
from kit.metrics.frequency import contact_frequency
from kit.present import plots
from kit.present.display import markdown, table
from kit.report import context
from kit.report import denominator as den

# %matplotlib inline
# %config InlineBackend.figure_formats = ["png"]
plots.theme()

# the render's report context again: the same sources, mapping, dedup window, thresholds as summary.json
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
    thresholds=thresholds,
)
ds = ctx.dataset()
contacts, customers, events = ds.contacts, ds.customers, ds.events
lookback = den.lookback(ds, ctx.active_lookback)  # None with a customers table
frame = contact_frequency(
    contacts, customers, freq=grain, tz=tz, end=period, dedup_window=ctx.dedup_window, active_lookback=lookback
)
daily = contact_frequency(
    contacts,
    customers,
    freq="day",
    tz=tz,
    end=period_end(period, grain),
    dedup_window=ctx.dedup_window,
    active_lookback=lookback,
)

# %%
proxy_note = den.page_note(ds, active_lookback=ctx.active_lookback)
if proxy_note:  # without a customers table every page says what the denominator is
    display(markdown(proxy_note, bullets=False))

# %% [markdown]
# ## Decomposition per grain

# %%
monthly_result = decompose(frame, value="frequency")
# the pattern here; its seasonally adjusted year-over-year change has its own labelled section below
display(markdown(monthly_result.describe(change=False), bullets=False))
plots.show(monthly_result.plot_components(title=f"Contact frequency per {grain}: trend, seasonality, remainder"))

# %%
daily_result = decompose(daily, value="frequency")
# the weekday pattern only: a daily year-over-year change would compare one day with one day
display(markdown(daily_result.describe(change=False), bullets=False))
plots.show(daily_result.plot_components(title="Daily contact frequency: weekly and yearly patterns"))

# %%
if by:
    by_frame = contact_frequency(
        contacts,
        customers,
        freq=grain,
        tz=tz,
        by=by,
        end=period,
        dedup_window=ctx.dedup_window,
        active_lookback=lookback,
    )
    display(markdown([f"{key}: {result.describe()}" for key, result in decompose_by(by_frame).items()]))

# %% [markdown]
# ## Year over year
# The headline change: this period's contacts per active customer against the previous period and the
# same period last year, the figures of the summary and the overview page.

# %%
compared = compare_periods(frame, period)
display(markdown(compared.describe(), bullets=False))
plots.show(monthly_result.plot_yoy(title=f"Contact frequency by {grain}, one line per year"))

# %% [markdown]
# ## Seasonally adjusted trend
# A different measure from the headline: the seasonal pattern is removed first, so its year-over-year
# change (below, with its own interval) can differ from the headline change by a point or two.

# %%
display(markdown(monthly_result.describe(), bullets=False))
plots.show(monthly_result.plot(title=f"Contact frequency per {grain}: seasonally adjusted"))

# %% [markdown]
# ## Days that stand out, and what explains them

# %%
flagged = anomalies(daily_result, threshold=ctx.threshold("anomaly_z"), events=events, tz=tz)
display(markdown(flagged.describe(), bullets=False))
if not flagged.empty:
    display(
        table(
            flagged.frame[["period", "direction", "observed", "expected", "size", "explanation"]],
            percent=("size",),
            digits=3,
            labels={
                "period": "Day",
                "direction": "Spike or dip",
                "observed": "Observed",
                "expected": "Expected",
                "size": "Above (+) or below (−) expected",
                "explanation": "Explanation",
            },
            units={"observed": "contacts per active customer", "expected": "contacts per active customer"},
            max_rows=15,
            caption="Days that stand out",
        )
    )

# %% [markdown]
# ## Forecast

# %%
bt = None
try:  # a new export may hold only a few complete periods; say so instead of failing the report
    fc = forecast(frame, value="frequency", horizon=horizon)
except KitError as exc:
    fc = None
    display(markdown(f"No forecast: {exc}.", bullets=False))
if fc is not None:
    display(markdown(fc.describe(), bullets=False))
    try:  # a short history cannot be backtested; say so instead of failing the report
        bt = backtest(frame, value="frequency", horizon=horizon, folds=folds)
        display(markdown(bt.describe(), bullets=False))
    except KitError as exc:
        display(markdown(f"No backtest of this forecast: {exc}.", bullets=False))
    plots.show(fc.plot(title="Contact frequency forecast (80% and 95% ranges)"))

# %%
if fc is not None:  # the volume forecast needs the same history as the frequency forecast
    fc_volume = forecast(frame, value="contacts", horizon=horizon)
    display(markdown(fc_volume.describe(), bullets=False))
    plots.show(fc_volume.plot(title="Contact volume forecast (80% and 95% ranges)"))

# %% [markdown]
# ## Method notes
# The technical detail behind the words above, for analysts.

# %%
notes = [
    "Decomposition: STL (seasonal-trend decomposition by loess, robust fit) of the series, yearly and, on "
    "daily data, weekly components; a seasonal pattern is described only when a one-way F test by position "
    "in the cycle rejects 'no pattern' at 1%, and a single weekday only when a Holm-adjusted Welch t-test "
    "sets it apart from every other weekday.",
    "Seasonally adjusted year-over-year change: the same STL on the log scale, with a 95% interval from "
    "the remainder's spread.",
    compared.method_note(),
    f"Days that stand out: the remainder's robust z-score above {flagged.threshold:g} (calibrated on noise); "
    f"an event at most {flagged.tolerance} day(s) away explains a flag.",
]
if not flagged.empty:
    notes.append(
        "Robust z of the flagged days: "
        + ", ".join(f"{p:%Y-%m-%d} {z:.1f}" for p, z in zip(flagged.frame["period"], flagged.frame["z"]))
        + "."
    )
if fc is not None:
    notes.append(fc.method_note())
if bt is not None:
    notes.append(bt.method_note())
display(markdown(notes))
