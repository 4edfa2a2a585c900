# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
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
# # Strategic accounts, CSM coverage and contacts per order
#
# Touchpoints per strategic account against the bands of the domain material, whether every
# relationship a CSM must keep is contacted on cadence, support contacts per order, and where
# the contact frequency sits against the published benchmarks. Every number is computed by `kit`;
# this notebook only shows the results. With redaction switched on, account and person names and ids
# are replaced by stable pseudonyms for wider sharing (see the method notes).

# %% tags=["parameters"]
import os

from kit.config import SAMPLE_DIR

data_dir = os.environ.get("KIT_DATA_DIR", str(SAMPLE_DIR))  # folder with contacts/customers/stakeholders/orders
config_path = ""  # report.yml; used for a database connection (its secret is read from the environment)
period = "2026-10"  # the report is "as of" the last day of this period
grain = "month"
tz = "UTC"
mapping = None  # column mapping of a help-desk export: a preset name, a YAML file or a dict
dedup_window = "48h"
active_lookback = "365D"  # without a customers table: a contact keeps its customer active this long
drilldown = None  # [column, value]: the report of one segment's customers (kit report --segment)
segments = ["tier", "region", "industry"]
benchmark_profile = {"industry": "SaaS (B2B)", "model": "B2B Enterprise"}
thresholds = {}
bands = {}  # {"accounts": [[label, low, high), ...]}: touchpoints per account per month; default the kit's bands
redact = False  # replace account and person names/ids with stable pseudonyms
strategic = "strategic"  # customers column flag, or a rule such as "top 20 by arr"
n_periods = 3  # recent window for the under-served rule
quiet_days = 30  # accounts with no touch in this many days are quiet
order_segments = ["region"]  # customer columns for contacts per order
within_days = 7

# %%
import warnings

from IPython.display import Markdown, display

import kit
from kit.analysis import benchmarks
from kit.core import periods
from kit.metrics import accounts, coverage, rates
from kit.present import plots
from kit.present.display import markdown, table
from kit.report import context
from kit.report import denominator as den

# %matplotlib inline
plots.theme()
warnings.filterwarnings("ignore", category=FutureWarning)


def say(lines):
    """Generated sentences as a markdown list (data-derived text escaped)."""
    display(markdown([str(line) for line in lines]))


def pick(df, columns):
    """The columns of ``df`` that are there, in this order (names and owners are optional)."""
    return df[[c for c in columns if c in df.columns]]


LABELS = {
    "customer_id": "Account id",
    "name": "Account",
    "csm_owner": "CSM",
    "owner": "CSM",
    "recent_band": "Band now",
    "recent_per_month": "Touchpoints a month now",
    "previous_band": "Band before",
    "change_per_month": "Change a month",
    "last_touch": "Last touch",
    "days_since_touch": "Since last touch",
    "reason": "Why flagged",
    "role": "Role",
    "status": "Status",
    "cadence_days": "Cadence",
    "days_overdue": "Overdue by",
    "holders": "People in role",
    "warning": "Warning",
    "coverage": "Share on cadence",
    "required": "Required relationships",
    "on_cadence": "On cadence (count)",
}
DAYS = {"cadence_days": "days", "days_overdue": "days", "days_since_touch": "days"}


# the render's report context again: the same sources, mapping, dedup window, bands as the other pages
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
    segments=segments,
    benchmark_profile=benchmark_profile,
    thresholds=thresholds,
    bands=bands,
    redact=redact,
)
ds = ctx.dataset()
proxy_note = den.page_note(ds, active_lookback=ctx.active_lookback)  # None with a customers table
as_of = ctx.as_of  # the last day of the period: ctx.dataset() holds nothing later
# an export without a strategic-account flag (a help-desk export, `kit init`) has no accounts section
no_flag = ds.customers is None or (
    isinstance(strategic, str) and " " not in strategic and strategic not in ds.customers.columns
)
freq = (
    None
    if no_flag
    else accounts.account_frequency(
        ds.contacts,
        ds.customers,
        strategic=strategic,
        freq=ctx.grain,
        tz=ctx.tz,
        bands=ctx.account_bands,
        n_periods=n_periods,
        quiet_days=quiet_days,
        as_of=as_of,
    )
)
cov = (
    coverage.coverage(ds.contacts, ds.stakeholders, ds.customers, as_of=as_of, tz=ctx.tz)
    if ds.stakeholders is not None and den.has_customers(ds)
    else None
)
if ctx.redact and freq is not None:
    freq = freq.redact()
    cov = cov.redact() if cov is not None else None

# %%
if proxy_note:  # without a customers table every page says what the denominator is
    display(markdown(proxy_note, bullets=False))

# %% [markdown]
# ## Strategic account contact frequency
# Outbound touchpoints per account and month, coloured by band: below 4 a month at risk, 4-6
# healthy, 7-10 optimal, 11+ possibly excessive. Blank cells are partial months. Flagged
# accounts (at risk over the recent window, or quiet) are listed first.

# %%
if not den.has_customers(ds):
    display(markdown(den.needs_customers("strategic accounts", "a customers table that flags them"), bullets=False))
elif freq is None:
    display(Markdown(f"The customers have no `{strategic}` column, so no accounts are strategic (set `strategic`)."))
else:
    say(freq.sentences() + list(freq.notes))
    plots.show(freq.plot())

# %%
if freq is not None:
    display(
        table(
            pick(
                freq.accounts,
                ["name", "csm_owner", "recent_band", "recent_per_month", "previous_band", "change_per_month"]
                + ["last_touch", "days_since_touch", "reason"],
            ),
            labels=LABELS,
            units=DAYS,
            digits=1,
            max_rows=15,
            caption="Strategic accounts, flagged first",
        )
    )

# %% [markdown]
# ## CSM contact coverage
# Each required relationship (account x stakeholder role) is on cadence when someone in the role
# was touched within their cadence. Vacant roles and the material's warning cases come first.

# %%
if not den.has_customers(ds):
    display(markdown(den.needs_customers("CSM coverage", "a customers table and a stakeholders table"), bullets=False))
elif cov is None:
    display(Markdown("No stakeholders table was found, so coverage cannot be computed."))
else:
    say(cov.sentences() + list(cov.notes))
    plots.show(cov.plot())
    display(
        table(cov.by_role, labels=LABELS, percent=[c for c in cov.by_role.columns if "coverage" in c or "share" in c])
    )
    if cov.owners is not None:
        plots.show(cov.plot_owners())
        display(
            table(cov.owners, labels=LABELS, percent=[c for c in cov.owners.columns if "coverage" in c or "share" in c])
        )

# %% [markdown]
# ### Overdue relationships

# %%
if cov is not None:
    display(
        table(
            pick(
                cov.overdue,
                ["customer_id", "name", "role", "status", "holders", "cadence_days", "last_touch", "days_overdue"],
            ),
            labels=LABELS,
            units=DAYS,
            digits=0,
            max_rows=20,
            caption="Relationships not on cadence (vacant roles first, then the most overdue)",
        )
    )
    warn = cov.accounts[cov.accounts["warning"] != ""]
    if len(warn):
        display(
            table(
                pick(warn, ["customer_id", "name", "required", "on_cadence", "coverage", "warning"]),
                labels=LABELS,
                percent=["coverage"],
                caption="Accounts with a warning from the domain material",
            )
        )

# %% [markdown]
# ## Contacts per order by segment
# Support contacts of ordering customers per 100 orders (the denominator is orders, not
# shipments), gross and net of follow-ups, and the share of orders followed by a contact within
# the window.

# %%
if ds.orders is not None:
    cpo = rates.contacts_per_order(
        ds.contacts,
        ds.orders,
        ds.customers,
        by=(order_segments or None) if den.has_customers(ds) else None,  # segments are customer columns
        freq=ctx.grain,
        within_days=within_days,
        dedup_window=ctx.dedup_window,
        tz=ctx.tz,
        end=ctx.period,
    )
    plots.show(cpo.plot(period=ctx.period))
    shown = cpo.frame[cpo.frame["period"] == periods.truncate(ctx.period, ctx.grain)]
    display(
        table(
            pick(
                shown,
                [c for c in shown.columns if c in (order_segments or [])]
                + ["orders", "contacts", "cases", "contacts_per_order_pct", "net_contacts_per_order_pct"]
                + ["contacts_per_order_ci_low", "contacts_per_order_ci_high", "orders_with_contact_pct"],
            ),
            labels={
                "contacts_per_order_pct": "Contacts per 100 orders",
                "net_contacts_per_order_pct": "Cases per 100 orders",
                "contacts_per_order_ci_low": "95% interval from",
                "contacts_per_order_ci_high": "95% interval to",
                "orders_with_contact_pct": "Orders followed by a contact",
            },
            units={"orders_with_contact_pct": f"% within {within_days} days"},
            caption=f"Contacts per 100 orders, {ctx.period}",
        )
    )
    say(cpo.notes)
else:
    display(Markdown("No orders table was found, so contacts per order cannot be computed."))

# %% [markdown]
# ## Benchmark placement
# The period's contact frequency (inbound contacts per active customer) against the benchmark
# bands for the profile. "Within" means the 95% interval overlaps the band.

# %%
cf = kit.contact_frequency(
    ds,
    freq=ctx.grain,
    start=ctx.period,
    end=ctx.period,
    dedup_window=ctx.dedup_window,
    active_lookback=den.lookback(ds, ctx.active_lookback),
)
placed = benchmarks.place(cf, ctx.benchmark_profile)
display(
    table(
        pick(placed.rows, ["category", "segment", "low", "high", "position"]),
        labels={"category": "Benchmark", "segment": "Band", "low": "From", "high": "To", "position": "This period"},
        units={"low": "per month", "high": "per month"},
    )
)
say(placed.sentences())

# %% [markdown]
# ## Method notes

# %%
display(
    markdown(
        [
            "Bands: outbound touchpoints per account per month, at risk below 4, healthy 4-6, optimal 7-10, "
            "possibly excessive 11 or more (report.yml bands.accounts). A move to a worse band compares the "
            f"last {n_periods} complete periods with the {n_periods} before; optimal is best, so a move from "
            "possibly excessive to optimal is an improvement, not a drop.",
            f"Quiet: no touch in the last {quiet_days} days up to the period's end.",
            "Redaction: with redact: true in report.yml, names and ids become stable pseudonyms keyed by the "
            "KIT_REDACT_SALT environment variable (the same salt gives the same pseudonyms across reports).",
        ]
    )
)
