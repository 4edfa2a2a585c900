"""Synthetic Contact Frequency dataset with planted, documented ground truth.

:func:`generate` builds six related tables (customers, contacts, surveys, orders,
stakeholders, events) for a B2B SaaS support organisation, plus a
``ground_truth`` dictionary that states every effect planted in the data and
how to recover it.  Everything is pure numpy/pandas, vectorised and
deterministic for a given seed.

Planted effects (all recorded in ``Sample.ground_truth``)
---------------------------------------------------------
* **Yearly and weekly seasonality** of inbound contacts.  The expected number of
  primary inbound contacts of an active customer in calendar month ``M`` is
  ``rate * m(M)`` with ``m(M) = 1 + A cos(2 pi (M - 12) / 12)``, ``A = 0.3``;
  the monthly expectation is spread over the month's days with weights
  Mon-Fri 1.0, Sat/Sun 0.35 normalised *within the month*, so month length and
  the number of weekends do not change the monthly expectation.
* **Onboarding**: the daily rate is x3 in the first 14 days after signup.
* **Spikes**: about eight one-day spikes on release/outage dates, where the
  day's inbound total is multiplied by ``factor`` (2.0-2.5); follow-ups of the
  extra contacts are thinned so the next day is not raised.
* **Churn vs contact frequency** in the driver-module design (window 90 days,
  ``cutoff = end + 1 day - 90 days``): for the population the outcome is drawn
  from ``Bernoulli(expit(a + b x + tier effect))`` only.
* **CSAT vs contact frequency**: ``score = 1 + Binomial(4, p)`` with
  ``p = clip(p0 + slope / 4 * x, 0, 1)``.
* **Strategic accounts**: CSM touchpoints, under-served accounts, departed
  decision makers, QBR-only relationships.
* **Orders**: "order issue" contacts after a share of E-commerce orders.
* **Data-quality rows**: unparseable timestamps, duplicate ids, unknown
  customers, churn before signup (exact counts in the ground truth).

Notes for consumers
-------------------
* Times are naive and in the business time zone (UTC).  ``end`` is the last
  day with data; the observation period is ``[start, end + 1 day)``.
* With ``data_quality=True`` the ``contacts.created_at`` column holds ISO
  strings ``"YYYY-MM-DD HH:MM:SS"`` (so that unparseable values can exist);
  with ``data_quality=False`` it is ``datetime64[ns]``.
* Inbound "contacts" in the churn/CSAT feature count every inbound row,
  follow-ups included (no de-duplication).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kit.config import DEFAULT_SEED, SAMPLE_END

from .accounts import plant_accounts, stakeholders_frame
from .churn import hazard_churn, plant_churn
from .constants import TABLES
from .contacts import contacts_frame, draw_followups, draw_primaries
from .customers import customer_ids, customers_frame, draw_customers
from .defects import no_defects, plant_defects
from .events import draw_events, events_frame
from .orders import draw_orders, orders_frame
from .run import Run, validate
from .sample import Sample
from .surveys import draw_surveys, surveys_frame
from .truth import Planted, ground_truth

if TYPE_CHECKING:
    from kit.core.types import DateLike

__all__ = ["Sample", "generate", "TABLES"]


def generate(
    *,
    customers: int = 20_000,
    months: int = 36,
    seed: int = DEFAULT_SEED,
    end: DateLike = SAMPLE_END,
    seasonality: bool = True,
    effects: bool = True,
    data_quality: bool = True,
) -> Sample:
    """Generate a realistic synthetic contact-frequency dataset.

    Parameters
    ----------
    customers : int, keyword-only
        Number of (clean) customers, 300..998000.  With ``data_quality=True``
        two more customer rows with churn before signup are appended.
    months : int, keyword-only
        Calendar months of data ending with the month of ``end`` (9..240).
    seed : int, keyword-only
        Seed for :func:`numpy.random.default_rng`; same seed, same sample.
    end : str or datetime-like, keyword-only
        Last day with data (inclusive).  Default :data:`kit.config.SAMPLE_END`.
    seasonality : bool, keyword-only
        ``False`` switches off yearly and weekly seasonality.
    effects : bool, keyword-only
        ``False`` sets the churn and CSAT effects of contact frequency to zero
        (null model).
    data_quality : bool, keyword-only
        ``False`` leaves out the planted bad rows (the clean rows are the same
        as with ``True``).

    Returns
    -------
    Sample
        Tables plus ``ground_truth`` with keys ``generated_with``, ``params``,
        ``window``, ``rates``, ``seasonality``, ``onboarding``, ``followups``,
        ``spikes``, ``events_without_spike``, ``churn``, ``csat``,
        ``accounts``, ``orders``, ``data_quality`` and ``counts``.

    Raises
    ------
    kit.errors.ParameterError
        An argument has an impossible value.

    Notes
    -----
    Churn design (exactly as the driver module analyses it): ``obs_end = end +
    1 day``, ``cutoff = obs_end - 90 days``.  Population: ``signup_date <=
    cutoff - 90 days`` and churn_date missing or ``>= cutoff``.  Feature ``x``:
    inbound contacts (follow-ups included) with ``created_at`` in ``[cutoff -
    90 days, cutoff)`` divided by ``90 / DAYS_PER_MONTH``.  Outcome: churn_date
    in ``[cutoff, obs_end)``, drawn only from ``Bernoulli(expit(intercept +
    log_odds * x + tier_effect))``.

    CSAT: surveys responded in ``[cutoff, obs_end)`` use the same ``x``;
    other surveys use the customer's inbound contacts in the 90 days before
    ``responded_at`` per month.

    Strategic accounts are the top enterprise customers by ARR among those
    still active at ``end`` and signed up at least a year before it, so that
    churn never confounds account-health checks.

    Examples
    --------
    >>> s = generate(customers=500, months=12, seed=7)
    >>> s.ground_truth["seasonality"]["yearly_amplitude"]
    0.3
    >>> set(s.contacts["direction"]) == {"inbound", "outbound"}
    True
    >>> generate(customers=500, months=12, seed=7, seasonality=False).ground_truth[
    ...     "seasonality"]["yearly_amplitude"]
    0.0
    """
    end_ts = validate(
        customers, months, seed, end, {"seasonality": seasonality, "effects": effects, "data_quality": data_quality}
    )
    run = Run(int(customers), int(months), int(seed), end_ts, bool(seasonality), bool(effects), bool(data_quality))
    return _build(run)


def _build(run: Run) -> Sample:
    """Draw every part in a fixed order (the random stream is shared), then assemble the tables."""
    cu = draw_customers(run)
    ev = draw_events(run)
    pr = draw_primaries(run, cu, ev)
    hazard = hazard_churn(run, cu, pr)
    orders = draw_orders(run, cu)
    followups = draw_followups(run, pr)
    churn, inbound, orders = plant_churn(run, cu, hazard, pr, orders, followups)
    acc = plant_accounts(run, cu, churn.day)
    sv = draw_surveys(run, inbound, churn.x)

    cid, order = customer_ids(cu.signup)
    customers = customers_frame(run, cu, cid, order, churn.day, acc.strat)
    contacts, contact_id, n_followups = contacts_frame(run, cid, inbound, acc.touch)
    tables = {
        "customers": customers,
        "contacts": contacts,
        "surveys": surveys_frame(run, cid, contact_id, sv),
        "orders": orders_frame(run, cid, orders),
        "stakeholders": stakeholders_frame(run, cid, acc),
        "events": events_frame(run, ev),
    }
    dq = no_defects()
    if run.data_quality:
        tables["contacts"], tables["customers"], dq = plant_defects(
            run, contacts, customers, set(cid[acc.strat].tolist()), ev.spike_day
        )
    planted = Planted(
        run=run,
        cid=cid,
        events=ev,
        spike_primary=pr.spike_primary,
        churn=churn,
        accounts=acc,
        inbound=inbound,
        n_orders=len(orders.cust),
        n_followups=n_followups,
    )
    return Sample(**tables, ground_truth=ground_truth(planted, tables, dq))
