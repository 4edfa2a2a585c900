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

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kit.config import DAYS_PER_MONTH, DEFAULT_SEED, SAMPLE_END
from kit.errors import ParameterError

__all__ = ["Sample", "generate", "TABLES"]

#: Table names in the order they are written.
TABLES = ("customers", "contacts", "surveys", "orders", "stakeholders", "events")

# --------------------------------------------------------------------------- constants
_TIERS = np.array(["basic", "pro", "enterprise"])
_TIER_P = np.array([0.55, 0.30, 0.15])
_TIER_RATE = np.array([0.35, 0.60, 1.00])  # primary inbound contacts per month
_ECOM_RATE_MULT = 0.6
_FRAILTY_SHAPE = 2.0  # gamma frailty, mean 1, variance 0.5
_REGIONS = np.array(["NA", "EMEA", "APAC", "LATAM"])
_REGION_P = np.array([0.40, 0.30, 0.20, 0.10])
_INDUSTRY_SAAS, _INDUSTRY_ECOM = "SaaS (B2B)", "E-commerce"
_ECOM_SHARE = 0.15
_EXISTING_SHARE = 0.55
_EXISTING_SPREAD_DAYS = 3 * 365

_YEARLY_AMPLITUDE = 0.3
_PEAK_MONTH = 12
_WEEKDAY_W = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.35])  # Mon..Sun
_ONBOARD_FACTOR, _ONBOARD_DAYS = 3.0, 14

_FOLLOWUP_P = 0.21
_FOLLOWUP_HOURS = (1.0, 40.0)

_HAZARD_BASE = 0.012
_HAZARD_TIER = np.array([0.15, -0.10, -0.45])
_HAZARD_CONTACT_COEF = 0.30

_WINDOW = 90
_CHURN_OR = 1.35
_CHURN_TIER = {"basic": 0.0, "pro": -0.3, "enterprise": -0.6}
_CHURN_TARGET = 0.10

_CSAT_P0 = 0.85
_CSAT_SLOPE = -0.12
_SURVEY_P = 0.30
_SURVEY_HOURS = (1.0, 8.0)

_ORDERS_PER_MONTH = 2.0
_ORDER_ISSUE_P = 0.08
_ORDER_ISSUE_MAX_DAYS = 7

_N_SPIKES = 8
_SPIKE_MIN_GAP = 30
_SPIKE_EDGE = 60
_SPIKE_FACTOR = (2.0, 2.5)

_INBOUND_TOPICS = np.array(["how-to", "bug", "billing", "login", "integration", "feature request"])
_INBOUND_TOPIC_P = np.array([0.30, 0.22, 0.18, 0.14, 0.10, 0.06])
_INBOUND_CHANNELS = np.array(["phone", "email", "chat"])
_INBOUND_CHANNEL_P = np.array([0.25, 0.45, 0.30])
# lognormal handle time: (median minutes, sigma)
_HANDLE = {
    ("inbound", "phone"): (11.0, 0.5),
    ("inbound", "email"): (7.0, 0.7),
    ("inbound", "chat"): (9.0, 0.55),
    ("outbound", "meeting"): (40.0, 0.3),
    ("outbound", "email"): (5.0, 0.5),
    ("outbound", "phone"): (15.0, 0.45),
}

_STRATEGIC_MAX = 40
_STRATEGIC_MIN = 12
_N_UNDER_SERVED, _N_DM_LEFT, _N_QBR_ONLY = 6, 3, 2
_UNDER_SERVED_MONTHS = 6
_HEALTHY_TOUCH_MIN, _HEALTHY_TOUCH_EXTRA = 6, 2.0  # 6 + Poisson(2): mean 8, never < 6
_ROLE_CADENCE = {"executive sponsor": 90, "decision maker": 30, "champion": 14, "user": 30}
_ROLE_WEIGHT = {"executive sponsor": 0.10, "decision maker": 0.35, "champion": 0.35, "user": 0.20}
_RENEWAL_UNDER_SERVED_LOG_ODDS = 1.5

_DQ_UNPARSEABLE, _DQ_DUPLICATE, _DQ_UNKNOWN, _DQ_CHURN_BEFORE_SIGNUP = 20, 15, 25, 2
_BAD_TIMESTAMPS = np.array([
    "not a date", "31/02/2025 25:00", "2025-02-30 10:00:00", "2025-13-45 10:00:00",
    "#VALUE!", "00/00/0000 00:00", "tomorrow-ish", "2025-06-31 24:61:00",
])

_NAME_A = np.array(["Blue", "North", "Bright", "Silver", "Rapid", "Green", "Prime", "Clear",
                    "Summit", "Urban", "Nova", "Iron", "Swift", "Golden", "Atlas", "Cedar",
                    "Harbor", "Polar", "Vector", "Zenith"])
_NAME_B = np.array(["River", "Peak", "Stone", "Wave", "Field", "Bridge", "Forge", "Leaf",
                    "Cloud", "Pixel", "Signal", "Orbit", "Path", "Grid", "Spark", "Rock"])
_NAME_C = np.array(["Labs", "Systems", "Inc", "GmbH", "Ltd", "Group", "Technologies",
                    "Solutions", "Partners", "Holdings", "Co", "Analytics"])
_FIRST = np.array(["Alex", "Maria", "Chen", "Priya", "John", "Fatima", "Lucas", "Sofia", "Kenji",
                   "Amara", "David", "Elena", "Omar", "Hannah", "Mateo", "Aisha", "Lars", "Yuki"])
_LAST = np.array(["Smith", "Garcia", "Wang", "Patel", "Muller", "Okafor", "Silva", "Rossi",
                  "Tanaka", "Kim", "Novak", "Berg", "Haddad", "Cohen", "Lopez", "Dubois"])

_DAY = 86_400


# --------------------------------------------------------------------------- Sample
@dataclass(frozen=True)
class Sample:
    """A generated dataset: six tables and the ground truth planted in them.

    Attributes
    ----------
    contacts, customers, surveys, orders, stakeholders, events : pandas.DataFrame
        The tables, with the canonical column names the engine reads.
    ground_truth : dict
        JSON-serialisable description of every planted effect (see
        :func:`generate`).

    Examples
    --------
    >>> s = generate(customers=500, months=12, seed=1)
    >>> sorted(s.tables())
    ['contacts', 'customers', 'events', 'orders', 'stakeholders', 'surveys']
    >>> s.ground_truth["generated_with"]
    'kit.sample'
    """

    contacts: pd.DataFrame = field(repr=False)
    customers: pd.DataFrame = field(repr=False)
    surveys: pd.DataFrame = field(repr=False)
    orders: pd.DataFrame = field(repr=False)
    stakeholders: pd.DataFrame = field(repr=False)
    events: pd.DataFrame = field(repr=False)
    ground_truth: dict = field(repr=False)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables().items())
        return f"Sample({sizes})"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return the tables by name.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``{"customers": ..., "contacts": ..., ...}`` in :data:`TABLES` order.

        Examples
        --------
        >>> s = generate(customers=500, months=12, seed=1)
        >>> list(s.tables())[:2]
        ['customers', 'contacts']
        """
        return {name: getattr(self, name) for name in TABLES}

    def write(self, out, *, fmt: str = "parquet") -> Path:
        """Write every table and ``ground_truth.json`` into directory ``out``.

        The files are first written into a temporary directory next to ``out``
        which then replaces ``out``, so a crash never leaves half a sample.

        Parameters
        ----------
        out : str or os.PathLike
            Target directory; replaced if it exists.
        fmt : {"parquet", "csv"}, keyword-only
            File format of the tables.  CSV writes dates as ``YYYY-MM-DD`` and
            timestamps as ``YYYY-MM-DD HH:MM:SS``; missing values are empty.

        Returns
        -------
        pathlib.Path
            The directory written.

        Raises
        ------
        kit.errors.ParameterError
            Unknown ``fmt`` or ``out`` is an existing file.

        Examples
        --------
        >>> import tempfile
        >>> s = generate(customers=500, months=12, seed=1)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = s.write(Path(d) / "sample", fmt="csv")
        ...     sorted(f.name for f in p.iterdir())[:3]
        ['contacts.csv', 'customers.csv', 'events.csv']
        """
        if fmt not in ("parquet", "csv"):
            raise ParameterError(f"Sample.write: fmt must be 'parquet' or 'csv', got {fmt!r}.")
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ParameterError(f"Sample.write: {out} exists and is not a directory; choose another path.")
        out.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:10]
        tmp = out.parent / f".{out.name}.tmp-{tag}"
        old = out.parent / f".{out.name}.old-{tag}"
        try:
            tmp.mkdir()
            for name, df in self.tables().items():
                if fmt == "parquet":
                    df.to_parquet(tmp / f"{name}.parquet", index=False, coerce_timestamps="us")  # Spark reads microseconds
                else:
                    _csv_frame(df).to_csv(tmp / f"{name}.csv", index=False)
            with open(tmp / "ground_truth.json", "w", encoding="utf-8") as fh:
                json.dump(self.ground_truth, fh, indent=2, sort_keys=False)
                fh.write("\n")
            if out.exists():
                os.replace(out, old)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            if old.exists() and not out.exists():
                os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return out


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with dates/timestamps rendered as ISO strings for CSV."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            ok = s.notna()
            is_date = bool((s[ok] == s[ok].dt.normalize()).all()) and col.endswith("date")
            fmt = "%Y-%m-%d" if is_date else "%Y-%m-%d %H:%M:%S"
            out[col] = s.dt.strftime(fmt).where(ok, "")
    return out


# --------------------------------------------------------------------------- helpers
def _expit(z):
    return 1.0 / (1.0 + np.exp(-z))


def _logit(p):
    return np.log(p / (1.0 - p))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    s = pd.Series(np.asarray(numbers, dtype=np.int64)).astype(str).str.zfill(width)
    return (prefix + s).to_numpy(dtype=object)


def _ts(base: pd.Timestamp, seconds: np.ndarray) -> np.ndarray:
    """Seconds since ``base`` -> datetime64[ns] array."""
    return np.datetime64(base, "ns") + np.asarray(seconds, dtype=np.int64).astype("timedelta64[s]").astype(
        "timedelta64[ns]")


def _iso_seconds(values: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(values.astype("datetime64[s]"), unit="s")
    return pd.Series(s).str.replace("T", " ", regex=False).to_numpy(dtype=object)


def _lognormal(rng, median: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.round(median * np.exp(sigma * rng.standard_normal(len(median))), 1)


def _names(rng, n: int) -> np.ndarray:
    a = rng.choice(_NAME_A, n)
    b = rng.choice(_NAME_B, n)
    c = rng.choice(_NAME_C, n)
    return (pd.Series(a) + " " + pd.Series(b) + " " + pd.Series(c)).to_numpy(dtype=object)


def _validate(customers, months, seed, end, flags) -> pd.Timestamp:
    if isinstance(customers, bool) or not isinstance(customers, (int, np.integer)):
        raise ParameterError(f"generate: customers must be an int, got {customers!r}.")
    if not 300 <= customers <= 998_000:
        raise ParameterError(f"generate: customers must be between 300 and 998000, got {customers}.")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)):
        raise ParameterError(f"generate: months must be an int, got {months!r}.")
    if not 9 <= months <= 240:
        raise ParameterError(
            f"generate: months must be between 9 and 240 (the churn design needs 180 days), got {months}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"generate: seed must be a non-negative int, got {seed!r}.")
    for name, v in flags.items():
        if not isinstance(v, (bool, np.bool_)):
            raise ParameterError(f"generate: {name} must be True or False, got {v!r}.")
    try:
        ts = pd.Timestamp(end)
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"generate: end must be a date like '2026-10-31', got {end!r}.") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"generate: end must be a date like '2026-10-31', got {end!r}.")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


# --------------------------------------------------------------------------- generate
def generate(
    *,
    customers: int = 20_000,
    months: int = 36,
    seed: int = DEFAULT_SEED,
    end=SAMPLE_END,
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
    end_ts = _validate(customers, months, seed, end,
                       {"seasonality": seasonality, "effects": effects, "data_quality": data_quality})
    return _Builder(int(customers), int(months), int(seed), end_ts,
                    bool(seasonality), bool(effects), bool(data_quality)).build()


class _Builder:
    """Holds the intermediate arrays of one generation run (times in seconds since start)."""

    def __init__(self, n, months, seed, end, seasonality, effects, data_quality):
        self.n, self.months, self.seed, self.end = n, months, seed, end
        self.seasonality, self.effects, self.data_quality = seasonality, effects, data_quality
        self.rng = np.random.default_rng(seed)
        self.start = (end.to_period("M") - (months - 1)).to_timestamp()
        self.obs_end = end + pd.Timedelta(days=1)
        self.n_days = int((self.obs_end - self.start).days)
        self.cutoff = self.n_days - _WINDOW  # day index
        self.fstart = self.cutoff - _WINDOW

    # ------------------------------------------------------------------ calendar
    def _calendar(self):
        last_full = (self.end.to_period("M") + 1).to_timestamp()
        full = pd.date_range(self.start, last_full - pd.Timedelta(days=1), freq="D")
        month_key = np.array(full.year * 12 + full.month - 1, dtype=np.int64)
        month_key -= month_key[0]
        cal_month = full.month.to_numpy()
        dow = full.dayofweek.to_numpy()
        w = _WEEKDAY_W[dow] if self.seasonality else np.ones(len(full))
        wsum = np.bincount(month_key, weights=w)
        amp = _YEARLY_AMPLITUDE if self.seasonality else 0.0
        m_of_month = 1.0 + amp * np.cos(2 * np.pi * (np.arange(1, 13) - _PEAK_MONTH) / 12)
        day_m = m_of_month[cal_month - 1]
        self.dayfac = (day_m * w / wsum[month_key])[: self.n_days]  # expected share of monthly rate
        self.day_month = month_key[: self.n_days]
        self.day_m = day_m[: self.n_days]
        self.dow = dow[: self.n_days]
        # month starts (day index), lengths (full calendar), multiplier
        self.ms = np.flatnonzero(np.r_[True, np.diff(self.day_month) != 0])
        self.me = np.r_[self.ms[1:], self.n_days]
        self.month_len = np.bincount(month_key)[: len(self.ms)]
        self.month_m = m_of_month[cal_month[self.ms] - 1]
        self.m_of_month = m_of_month
        self.amp = amp

    # ------------------------------------------------------------------ customers
    def _customers(self):
        rng, n = self.rng, self.n
        n_exist = int(round(_EXISTING_SHARE * n))
        signup = np.empty(n, dtype=np.int64)
        signup[:n_exist] = -rng.integers(1, _EXISTING_SPREAD_DAYS + 1, n_exist)
        signup[n_exist:] = rng.integers(0, self.n_days, n - n_exist)
        self.signup = signup
        self.tier = rng.choice(3, n, p=_TIER_P)
        self.ecom = rng.random(n) < _ECOM_SHARE
        self.region = rng.choice(_REGIONS, n, p=_REGION_P)
        annual_p = np.array([0.25, 0.45, 0.8])[self.tier]
        self.contract = np.where(rng.random(n) < annual_p, "Annual contracts", "Monthly billing")
        arr_median = np.array([6_000.0, 24_000.0, 120_000.0])[self.tier]
        self.arr = np.round(arr_median * np.exp(0.6 * rng.standard_normal(n)), 2)
        self.names = _names(rng, n)
        self.frailty = rng.gamma(_FRAILTY_SHAPE, 1.0 / _FRAILTY_SHAPE, n)
        self.base_rate = _TIER_RATE[self.tier] * np.where(self.ecom, _ECOM_RATE_MULT, 1.0)
        self.rate = self.base_rate * self.frailty

    # ------------------------------------------------------------------ events
    def _events(self):
        rng = self.rng
        lo, hi = _SPIKE_EDGE, self.n_days - _SPIKE_EDGE - 1
        span = hi - lo
        k = int(min(_N_SPIKES, span // (_SPIKE_MIN_GAP + 15) + 1))
        slack = span - _SPIKE_MIN_GAP * (k - 1)
        pos = np.sort(rng.integers(0, slack + 1, k)) + _SPIKE_MIN_GAP * np.arange(k) + lo
        kinds = rng.choice(np.array(["release", "outage"]), k, p=[0.5, 0.5])
        factors = np.round(rng.uniform(*_SPIKE_FACTOR, k), 2)
        outages = [("outage: EU login", "login"), ("outage: payments API", "billing"),
                   ("outage: US-East API", "bug"), ("outage: SSO provider", "login"),
                   ("outage: email delivery", "bug"), ("outage: APAC dashboard", "bug")]
        labels, topics, rel, out_i = [], [], 0, 0
        for kind in kinds:
            if kind == "release":
                labels.append(f"release 4.{rel}")
                topics.append("how-to" if rel % 2 else "bug")
                rel += 1
            else:
                lab, top = outages[out_i % len(outages)]
                labels.append(lab)
                topics.append(top)
                out_i += 1
        self.spike_day = pos.astype(np.int64)
        self.spike_factor = factors
        self.spike_label = labels
        self.spike_kind = list(kinds)
        self.spike_topic = np.array(topics)
        # events that caused no spike: at least 10 days from any spike
        quiet = []
        quiet_defs = [("billing change: new invoice layout", "billing"),
                      ("release 4.x maintenance patch", "release"),
                      ("billing change: annual price update", "billing")]
        for label, kind in quiet_defs:
            for _ in range(1000):
                d = int(rng.integers(14, self.n_days - 14))
                if np.min(np.abs(self.spike_day - d)) >= 10 and all(abs(d - q[0]) >= 10 for q in quiet):
                    quiet.append((d, label, kind))
                    break
        self.quiet = quiet

    # ------------------------------------------------------------------ inbound primaries
    def _primaries(self):
        rng, n, nd = self.rng, self.n, self.n_days
        # spike primary factor f so that the day's *total* inbound (primaries +
        # follow-ups + order issues arriving) is multiplied by `factor`.
        exp_primary = float(np.sum(self.rate))
        exp_orders = float(np.sum(self.ecom) * _ORDERS_PER_MONTH * _ORDER_ISSUE_P)
        o = exp_orders / exp_primary
        self.spike_primary = 1.0 + (self.spike_factor - 1.0) * (1.0 + _FOLLOWUP_P + o)
        dayfac = self.dayfac.copy()
        dayfac[self.spike_day] *= self.spike_primary
        days = np.arange(nd)
        cust, day, cnt = [], [], []
        # trailing-90-day counts at each month start, for the churn hazard
        n_m = len(self.ms)
        trail = np.zeros((n, n_m))
        lo_idx = np.maximum(self.ms - _WINDOW, 0)
        chunk = 2048
        for c0 in range(0, n, chunk):
            c1 = min(c0 + chunk, n)
            s = self.signup[c0:c1, None]
            lam = self.rate[c0:c1, None] * dayfac[None, :]
            rel = days[None, :] - s
            lam = np.where(rel < 0, 0.0, np.where(rel < _ONBOARD_DAYS, lam * _ONBOARD_FACTOR, lam))
            k = rng.poisson(lam)
            cs = np.zeros((c1 - c0, nd + 1), dtype=np.int32)
            np.cumsum(k, axis=1, out=cs[:, 1:])
            trail[c0:c1] = cs[:, self.ms] - cs[:, lo_idx]
            ci, di = np.nonzero(k)
            cust.append(ci + c0)
            day.append(di)
            cnt.append(k[ci, di])
        ci, di, kk = np.concatenate(cust), np.concatenate(day), np.concatenate(cnt)
        ci, di = np.repeat(ci, kk), np.repeat(di, kk)
        self.trail = trail
        self.trail_lo = lo_idx
        secs = self._time_of_day(len(ci))
        self.p_cust = ci.astype(np.int64)
        self.p_day = di.astype(np.int64)
        self.p_t = di.astype(np.int64) * _DAY + secs
        topic = rng.choice(_INBOUND_TOPICS, len(ci), p=_INBOUND_TOPIC_P).astype(object)
        # on spike days the extra contacts are about the event
        spike_idx = np.full(nd, -1)
        spike_idx[self.spike_day] = np.arange(len(self.spike_day))
        si = spike_idx[di]
        on = si >= 0
        share = np.zeros(len(ci))
        share[on] = 1.0 - 1.0 / self.spike_primary[si[on]]
        ev = on & (rng.random(len(ci)) < share)
        topic[ev] = self.spike_topic[si[ev]]
        self.p_topic = topic
        self.p_spike_f = np.where(on, self.spike_primary[np.maximum(si, 0)], 1.0)

    def _time_of_day(self, k: int) -> np.ndarray:
        rng = self.rng
        hours = np.clip(rng.normal(13.5, 2.7, k), 6.0, 21.9)
        night = rng.random(k) < 0.12
        hours[night] = rng.uniform(0.0, 24.0, int(night.sum()))
        return np.minimum((hours * 3600).astype(np.int64), _DAY - 1)

    # ------------------------------------------------------------------ churn hazard
    def _hazard_churn(self):
        rng, n = self.rng, self.n
        churn = np.full(n, np.iinfo(np.int64).max)
        alive = np.ones(n, dtype=bool)
        for j, ms in enumerate(self.ms):
            lo = np.maximum(self.trail_lo[j], self.signup)
            cover = ms - lo
            rate = np.where(cover >= 15, self.trail[:, j] / np.maximum(cover, 1) * DAYS_PER_MONTH,
                            self.base_rate)
            z = _logit(_HAZARD_BASE) + _HAZARD_TIER[self.tier] + _HAZARD_CONTACT_COEF * (rate - self.base_rate)
            at_risk = alive & (self.signup < ms)
            hit = at_risk & (rng.random(n) < _expit(z))
            day = ms + rng.integers(0, self.me[j] - ms, n)
            churn[hit] = day[hit]
            alive &= ~hit
        self.hazard_churn = churn

    # ------------------------------------------------------------------ orders
    def _orders(self):
        rng = self.rng
        e = np.flatnonzero(self.ecom)
        n_m = len(self.ms)
        ee = np.repeat(e, n_m)
        jj = np.tile(np.arange(n_m), len(e))
        lo = np.maximum(self.ms[jj], self.signup[ee])
        hi = self.me[jj]
        ok = hi > lo
        ee, jj, lo, hi = ee[ok], jj[ok], lo[ok], hi[ok]
        m = self.month_m[jj] if self.seasonality else np.ones(len(jj))
        lam = _ORDERS_PER_MONTH * m * (hi - lo) / self.month_len[jj]
        k = rng.poisson(lam)
        oc = np.repeat(ee, k)
        olo, ohi = np.repeat(lo, k), np.repeat(hi, k)
        ot = (olo * _DAY + rng.random(len(oc)) * (ohi - olo) * _DAY).astype(np.int64)
        self.o_cust, self.o_t = oc, ot
        issue = rng.random(len(oc)) < _ORDER_ISSUE_P
        delay = rng.integers(1800, _ORDER_ISSUE_MAX_DAYS * _DAY, int(issue.sum()))
        it = ot[issue] + delay
        keep = it < self.n_days * _DAY
        self.oi_cust, self.oi_t = oc[issue][keep], it[keep]

    # ------------------------------------------------------------------ follow-ups
    def _followups(self):
        rng = self.rng
        p = _FOLLOWUP_P / self.p_spike_f
        has = rng.random(len(self.p_cust)) < p
        delay = (rng.uniform(*_FOLLOWUP_HOURS, int(has.sum())) * 3600).astype(np.int64)
        ft = self.p_t[has] + delay
        keep = ft < self.n_days * _DAY
        self.f_cust = self.p_cust[has][keep]
        self.f_t = ft[keep]
        self.f_topic = self.p_topic[has][keep]

    # ------------------------------------------------------------------ assemble inbound + churn
    def _inbound_and_churn(self):
        rng, n = self.rng, self.n
        cust = np.concatenate([self.p_cust, self.oi_cust, self.f_cust])
        t = np.concatenate([self.p_t, self.oi_t, self.f_t])
        topic = np.concatenate([self.p_topic, np.full(len(self.oi_cust), "order issue", dtype=object),
                                self.f_topic])
        kind = np.concatenate([np.zeros(len(self.p_cust), np.int8), np.ones(len(self.oi_cust), np.int8),
                               np.full(len(self.f_cust), 2, np.int8)])
        inf = np.iinfo(np.int64).max
        pop = (self.signup <= self.fstart) & (self.hazard_churn >= self.cutoff)
        churn = np.where(pop, inf, self.hazard_churn)
        keep = t < np.where(churn[cust] == inf, inf, churn[cust] * _DAY)
        cust, t, topic, kind = cust[keep], t[keep], topic[keep], kind[keep]
        in_f = (t >= self.fstart * _DAY) & (t < self.cutoff * _DAY)
        x = np.bincount(cust[in_f], minlength=n) / (_WINDOW / DAYS_PER_MONTH)
        b = float(np.log(_CHURN_OR)) if self.effects else 0.0
        tier_eff = np.array([_CHURN_TIER[t_] for t_ in _TIERS])[self.tier]
        lin = b * x[pop] + tier_eff[pop]
        lo_a, hi_a = -15.0, 5.0
        for _ in range(80):  # bisection: mean churn probability = target
            mid = 0.5 * (lo_a + hi_a)
            if _expit(mid + lin).mean() > _CHURN_TARGET:
                hi_a = mid
            else:
                lo_a = mid
        a = 0.5 * (lo_a + hi_a)
        pop_idx = np.flatnonzero(pop)
        y = rng.random(len(pop_idx)) < _expit(a + lin)
        churn[pop_idx[y]] = self.cutoff + rng.integers(0, _WINDOW, int(y.sum()))
        keep = t < np.where(churn[cust] == inf, inf, churn[cust] * _DAY)
        cust, t, topic, kind = cust[keep], t[keep], topic[keep], kind[keep]
        self.churn = churn
        self.x = x
        self.pop = pop
        self.pop_churned = np.zeros(n, dtype=bool)
        self.pop_churned[pop_idx[y]] = True
        self.churn_a, self.churn_b = a, b
        self.in_cust, self.in_t, self.in_topic, self.in_kind = cust, t, topic, kind
        okeep = self.o_t < np.where(churn[self.o_cust] == inf, inf, churn[self.o_cust] * _DAY)
        self.o_cust, self.o_t = self.o_cust[okeep], self.o_t[okeep]

    # ------------------------------------------------------------------ strategic accounts
    def _strategic(self):
        rng, n = self.rng, self.n
        inf = np.iinfo(np.int64).max
        n_strat = int(np.clip(n // 500, _STRATEGIC_MIN, _STRATEGIC_MAX))
        elig = np.flatnonzero((self.tier == 2) & (self.churn == inf) & (self.signup <= self.n_days - 1 - 365))
        if len(elig) < n_strat:
            raise ParameterError(
                f"generate: only {len(elig)} enterprise customers qualify as strategic accounts "
                f"(need {n_strat}); increase customers.")
        strat = elig[np.argsort(-self.arr[elig], kind="stable")[:n_strat]]
        perm = rng.permutation(n_strat)
        under = strat[perm[:_N_UNDER_SERVED]]
        dm_left = strat[perm[_N_UNDER_SERVED:_N_UNDER_SERVED + _N_DM_LEFT]]
        qbr_only = strat[perm[_N_UNDER_SERVED + _N_DM_LEFT:_N_UNDER_SERVED + _N_DM_LEFT + _N_QBR_ONLY]]
        self.strat, self.under, self.dm_left, self.qbr_only = strat, under, dm_left, qbr_only
        under_set, dm_set, qbr_set = set(under.tolist()), set(dm_left.tolist()), set(qbr_only.tolist())
        nd = self.n_days
        last90 = nd - 90
        us_start_month = len(self.ms) - _UNDER_SERVED_MONTHS
        self.us_since = int(self.ms[max(us_start_month, 0)])
        weekday_days = np.flatnonzero(self.dow < 5)
        roles_other = np.array(["executive sponsor", "champion", "user"])
        sh_rows, t_rows = [], []
        pid = 0
        new_dm_for = dm_left[:1].tolist()  # the first one got a new decision maker, the others not
        for a in strat:
            a = int(a)
            s0 = max(int(self.signup[a]), 0)
            # ---- stakeholders
            n_p = int(rng.integers(3, 6))
            roles = ["decision maker", "champion"] + list(rng.choice(roles_other, n_p - 2,
                                                                      p=[0.4, 0.2, 0.4]))
            people = []
            for role in roles:
                pid += 1
                people.append({"person_id": f"P{pid:05d}", "role": role, "start": int(self.signup[a]),
                               "end": None})
            if a in dm_set:
                people[0]["end"] = int(nd - 1 - 120 + rng.integers(-10, 11))
                if a in new_dm_for:
                    pid += 1
                    people.append({"person_id": f"P{pid:05d}", "role": "decision maker",
                                   "start": people[0]["end"] + int(rng.integers(20, 41)), "end": None})
            # ---- check-ins
            days = []
            for j, (ms, me) in enumerate(zip(self.ms, self.me)):
                lo = max(ms, s0)
                if me <= lo:
                    continue
                if a in under_set and j >= us_start_month:
                    k = int(rng.integers(0, 3))
                else:
                    k = _HEALTHY_TOUCH_MIN + int(rng.poisson(_HEALTHY_TOUCH_EXTRA))
                pool = weekday_days[(weekday_days >= lo) & (weekday_days < me)]
                if len(pool) == 0:
                    pool = np.arange(lo, me)
                days.append(rng.choice(pool, k))
            cdays = np.sort(np.concatenate(days)) if days else np.zeros(0, np.int64)
            # ---- QBRs: one per calendar quarter, 5..25 days into the quarter
            qdays = []
            for j, ms in enumerate(self.ms):
                cal_month = (self.start + pd.Timedelta(days=int(ms))).month
                if (cal_month - 1) % 3 == 0:
                    d = int(ms + rng.integers(5, 26))
                    if s0 <= d < nd:
                        qdays.append(d)
            qdays = np.array(qdays, dtype=np.int64)
            pidx = np.array([p["person_id"] for p in people])
            prole = np.array([p["role"] for p in people])
            pstart = np.array([p["start"] for p in people])
            pend = np.array([p["end"] if p["end"] is not None else nd + 1 for p in people])
            w = np.array([_ROLE_WEIGHT[r] for r in prole])
            is_dm = prole == "decision maker"

            def _pick(dd, exclude_dm):
                act = (pstart[None, :] <= dd[:, None]) & (dd[:, None] < pend[None, :])
                ww = act * w[None, :]
                if exclude_dm is not None:
                    ww = np.where(exclude_dm[:, None] & is_dm[None, :], 0.0, ww)
                ww = np.where(ww.sum(1, keepdims=True) > 0, ww, act + 1e-9)
                cum = np.cumsum(ww, axis=1)
                u = rng.random(len(dd))[:, None] * cum[:, -1:]
                return np.minimum((u > cum).sum(1), len(pidx) - 1)

            excl = (cdays >= last90) if a in qbr_set else None
            cp = _pick(cdays, excl)
            if a not in qbr_set:
                # every other account has at least one non-QBR touch of an active
                # decision maker in the last 90 days (when one exists)
                dm_active = is_dm[None, :] & (pstart[None, :] <= cdays[:, None]) & (cdays[:, None] < pend[None, :])
                recent = cdays >= last90
                has_dm_touch = np.any(recent & is_dm[cp] & dm_active[np.arange(len(cdays)), cp])
                if not has_dm_touch:
                    cand = np.flatnonzero(recent & dm_active.any(1))
                    if len(cand):
                        i = int(rng.choice(cand))
                        cp[i] = int(np.flatnonzero(dm_active[i])[0])
                    else:
                        dm_now = np.flatnonzero(is_dm & (pstart <= nd - 30) & (pend > nd - 1))
                        if len(dm_now):
                            d = int(rng.integers(max(last90, int(pstart[dm_now[0]])), nd))
                            cdays = np.r_[cdays, d]
                            cp = np.r_[cp, dm_now[0]]
            # QBR to the active decision maker, else the executive sponsor / champion
            qp = np.empty(len(qdays), dtype=np.int64)
            for i, d in enumerate(qdays):
                act = (pstart <= d) & (d < pend)
                for role in ("decision maker", "executive sponsor", "champion", "user"):
                    hit = np.flatnonzero(act & (prole == role))
                    if len(hit):
                        qp[i] = hit[0]
                        break
                else:
                    qp[i] = 0
            ch = rng.choice(np.array(["meeting", "email", "phone"]), len(cdays), p=[0.3, 0.45, 0.25])
            all_days = np.r_[cdays, qdays]
            secs = (rng.uniform(9.0, 17.0, len(all_days)) * 3600).astype(np.int64)
            t_rows.append(pd.DataFrame({
                "cust": a,
                "t": all_days.astype(np.int64) * _DAY + secs,
                "channel": np.r_[ch, np.full(len(qdays), "meeting")],
                "topic": np.r_[np.full(len(cdays), "check-in"), np.full(len(qdays), "qbr")],
                "person_id": pidx[np.r_[cp, qp].astype(np.int64)],
            }))
            for p in people:
                sh_rows.append({"cust": a, **p})
        self.touch = pd.concat(t_rows, ignore_index=True)
        self.sh = pd.DataFrame(sh_rows)

    # ------------------------------------------------------------------ surveys
    def _surveys(self):
        rng = self.rng
        m = len(self.in_cust)
        pick = np.flatnonzero(rng.random(m) < _SURVEY_P)
        r = self.in_t[pick] + (rng.uniform(*_SURVEY_HOURS, len(pick)) * 3600).astype(np.int64)
        ok = r < self.n_days * _DAY
        pick, r = pick[ok], r[ok]
        c = self.in_cust[pick]
        big = np.int64(10) ** 11
        keys = np.sort(self.in_cust.astype(np.int64) * big + self.in_t)
        hi = np.searchsorted(keys, c * big + r, side="left")
        lo = np.searchsorted(keys, c * big + r - _WINDOW * _DAY, side="left")
        trailing = (hi - lo) / (_WINDOW / DAYS_PER_MONTH)
        in_out = (r >= self.cutoff * _DAY) & (r < self.n_days * _DAY)
        x = np.where(in_out, self.x[c], trailing)
        slope = _CSAT_SLOPE if self.effects else 0.0
        p = np.clip(_CSAT_P0 + slope / 4.0 * x, 0.0, 1.0)
        self.s_contact_row, self.s_cust, self.s_t = pick, c, r
        self.s_score = 1 + rng.binomial(4, p)

    # ------------------------------------------------------------------ frames
    def build(self) -> Sample:
        self._calendar()
        self._customers()
        self._events()
        self._primaries()
        self._hazard_churn()
        self._orders()
        self._followups()
        self._inbound_and_churn()
        self._strategic()
        self._surveys()
        return self._frames()

    def _frames(self) -> Sample:
        rng, n = self.rng, self.n
        inf = np.iinfo(np.int64).max
        start_ns = np.datetime64(self.start, "ns")
        # ---- customer ids by signup order
        order = np.argsort(self.signup, kind="stable")
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        cid = _ids("C", rank + 1, 6)
        strategic = np.zeros(n, dtype=bool)
        strategic[self.strat] = True
        csm = np.full(n, "", dtype=object)
        csm[self.strat] = [f"csm_{i % 8 + 1:02d}" for i in range(len(self.strat))]
        day_ns = np.timedelta64(_DAY * 10**9, "ns")
        signup_dt = start_ns + self.signup * day_ns
        churn_dt = np.where(self.churn == inf, np.datetime64("NaT", "ns"),
                            start_ns + np.where(self.churn == inf, 0, self.churn) * day_ns)
        customers = pd.DataFrame({
            "customer_id": cid,
            "name": self.names,
            "signup_date": signup_dt.astype("datetime64[ns]"),
            "churn_date": churn_dt.astype("datetime64[ns]"),
            "tier": _TIERS[self.tier].astype(object),
            "region": self.region.astype(object),
            "industry": np.where(self.ecom, _INDUSTRY_ECOM, _INDUSTRY_SAAS).astype(object),
            "contract": self.contract.astype(object),
            "arr": self.arr,
            "strategic": strategic,
            "csm_owner": csm,
        }).iloc[order].reset_index(drop=True)

        # ---- contacts
        n_in = len(self.in_cust)
        kind_in = self.in_kind
        ch_in = rng.choice(_INBOUND_CHANNELS, n_in, p=_INBOUND_CHANNEL_P).astype(object)
        to = self.touch
        cust_all = np.r_[self.in_cust, to["cust"].to_numpy()]
        t_all = np.r_[self.in_t, to["t"].to_numpy()]
        direction = np.r_[np.full(n_in, "inbound", dtype=object), np.full(len(to), "outbound", dtype=object)]
        channel = np.r_[ch_in, to["channel"].to_numpy(dtype=object)]
        topic = np.r_[self.in_topic, to["topic"].to_numpy(dtype=object)]
        person = np.r_[np.full(n_in, "", dtype=object), to["person_id"].to_numpy(dtype=object)]
        med = np.empty(len(t_all))
        sig = np.empty(len(t_all))
        for (d, c), (mu, s) in _HANDLE.items():
            sel = (direction == d) & (channel == c)
            med[sel], sig[sel] = mu, s
        handle = _lognormal(rng, med, sig)
        corder = np.lexsort((cust_all, t_all))
        inv = np.empty(len(corder), dtype=np.int64)
        inv[corder] = np.arange(len(corder))
        contact_id = _ids("CT", inv + 1, 7)
        created = _ts(self.start, t_all)
        contacts = pd.DataFrame({
            "contact_id": contact_id,
            "customer_id": cid[cust_all],
            "created_at": created,
            "channel": channel,
            "direction": direction,
            "topic": topic,
            "handle_time": handle,
            "person_id": person,
        }).iloc[corder].reset_index(drop=True)
        n_followups = int(np.sum(kind_in == 2))

        # ---- surveys
        surveys = pd.DataFrame({
            "customer_id": cid[self.s_cust],
            "responded_at": _ts(self.start, self.s_t),
            "score": self.s_score.astype(np.int64),
            "contact_id": contact_id[self.s_contact_row],
        }).sort_values(["responded_at", "contact_id"], kind="stable").reset_index(drop=True)

        # ---- orders
        oo = np.lexsort((self.o_cust, self.o_t))
        orders = pd.DataFrame({
            "order_id": _ids("O", np.arange(1, len(oo) + 1), 7),
            "customer_id": cid[self.o_cust[oo]],
            "ordered_at": _ts(self.start, self.o_t[oo]),
        })

        # ---- stakeholders
        sh = self.sh
        first = rng.choice(_FIRST, len(sh))
        last = rng.choice(_LAST, len(sh))
        stakeholders = pd.DataFrame({
            "customer_id": cid[sh["cust"].to_numpy()],
            "person_id": sh["person_id"].to_numpy(dtype=object),
            "name": (pd.Series(first) + " " + pd.Series(last)).to_numpy(dtype=object),
            "role": sh["role"].to_numpy(dtype=object),
            "cadence_days": sh["role"].map(_ROLE_CADENCE).to_numpy(dtype=np.int64),
            "start_date": (start_ns + sh["start"].to_numpy(dtype=np.int64) * day_ns).astype("datetime64[ns]"),
            "end_date": pd.to_datetime(
                [None if pd.isna(e) else self.start + pd.Timedelta(days=int(e)) for e in sh["end"]]
            ).astype("datetime64[ns]"),
        })

        # ---- events
        ev_days = np.r_[self.spike_day, [q[0] for q in self.quiet]].astype(np.int64)
        events = pd.DataFrame({
            "date": (start_ns + ev_days * day_ns).astype("datetime64[ns]"),
            "label": self.spike_label + [q[1] for q in self.quiet],
            "kind": self.spike_kind + [q[2] for q in self.quiet],
        }).sort_values("date", kind="stable").reset_index(drop=True)

        dq = self._data_quality(contacts, customers, cid, strategic)
        contacts, customers, dq_gt = dq
        return Sample(contacts=contacts, customers=customers, surveys=surveys, orders=orders,
                      stakeholders=stakeholders, events=events,
                      ground_truth=self._ground_truth(cid, contacts, customers, surveys, orders,
                                                      n_followups, dq_gt))

    # ------------------------------------------------------------------ data quality
    def _data_quality(self, contacts, customers, cid, strategic):
        zero = {"contacts": {"unparseable created_at": 0, "duplicate contact_id": 0, "unknown customer": 0},
                "customers": {"churn before signup": 0},
                "contact_ids": {"unparseable created_at": [], "duplicate contact_id": [], "unknown customer": []},
                "customer_ids": {"churn before signup": []}}
        if not self.data_quality:
            return contacts, customers, zero
        # separate stream: the clean rows do not depend on data_quality
        rng = np.random.default_rng([self.seed, 7919])
        strat_ids = set(cid[strategic].tolist())
        t = contacts["created_at"].to_numpy()
        fstart_ns = np.datetime64(self.start + pd.Timedelta(days=self.fstart), "ns")
        day = ((t - np.datetime64(self.start, "ns")) // np.timedelta64(1, "D")).astype(np.int64)
        bad_day = np.zeros(self.n_days + 1, dtype=bool)
        bad_day[self.spike_day] = True
        pool = np.flatnonzero(
            (contacts["direction"].to_numpy() == "inbound")
            & (t < fstart_ns)
            & ~bad_day[np.clip(day, 0, self.n_days)]
            & ~contacts["customer_id"].isin(strat_ids).to_numpy()
        )
        need = _DQ_UNPARSEABLE + _DQ_DUPLICATE + _DQ_UNKNOWN
        if len(pool) < need:
            raise ParameterError("generate: too few contacts to plant data-quality rows; increase customers.")
        src = rng.choice(pool, need, replace=False)
        s_dup = src[:_DQ_DUPLICATE]
        s_unp = src[_DQ_DUPLICATE:_DQ_DUPLICATE + _DQ_UNPARSEABLE]
        s_unk = src[_DQ_DUPLICATE + _DQ_UNPARSEABLE:]
        n0 = len(contacts)
        clean = contacts.copy()
        clean["created_at"] = _iso_seconds(t)
        dup = clean.iloc[s_dup].copy()
        unp = clean.iloc[s_unp].copy()
        unp["contact_id"] = _ids("CT", np.arange(n0 + 1, n0 + 1 + len(unp)), 7)
        unp["created_at"] = rng.choice(_BAD_TIMESTAMPS, len(unp))
        unk = clean.iloc[s_unk].copy()
        unk["contact_id"] = _ids("CT", np.arange(n0 + 1 + len(unp), n0 + 1 + len(unp) + len(unk)), 7)
        unk["customer_id"] = _ids("C999", rng.choice(1000, len(unk), replace=False), 3)
        bad = pd.concat([dup, unp, unk], ignore_index=True)
        key = np.r_[np.arange(n0, dtype=float), rng.uniform(0, n0, len(bad))]
        out = pd.concat([clean, bad], ignore_index=True).iloc[np.argsort(key, kind="stable")]
        out = out.reset_index(drop=True)
        # customers whose churn_date precedes their signup_date (no contacts)
        k = _DQ_CHURN_BEFORE_SIGNUP
        sd = rng.integers(0, max(self.fstart - 30, 1), k)
        cd = sd - rng.integers(1, 91, k)
        bad_c = pd.DataFrame({
            "customer_id": _ids("C", np.arange(self.n + 1, self.n + 1 + k), 6),
            "name": _names(rng, k),
            "signup_date": (self.start + pd.to_timedelta(sd, unit="D")).astype("datetime64[ns]"),
            "churn_date": (self.start + pd.to_timedelta(cd, unit="D")).astype("datetime64[ns]"),
            "tier": "basic", "region": rng.choice(_REGIONS, k).astype(object), "industry": _INDUSTRY_SAAS,
            "contract": "Monthly billing", "arr": np.round(rng.uniform(3000, 9000, k), 2),
            "strategic": False, "csm_owner": "",
        })
        customers = pd.concat([customers, bad_c], ignore_index=True)
        gt = {
            "contacts": {"unparseable created_at": len(unp), "duplicate contact_id": len(dup),
                         "unknown customer": len(unk)},
            "customers": {"churn before signup": k},
            "contact_ids": {"unparseable created_at": unp["contact_id"].tolist(),
                            "duplicate contact_id": dup["contact_id"].tolist(),
                            "unknown customer": unk["contact_id"].tolist()},
            "customer_ids": {"churn before signup": bad_c["customer_id"].tolist()},
            "placement": "inbound contacts of non-strategic customers before the churn/CSAT feature "
                         "window, never on spike dates; duplicates are exact copies of a clean row; "
                         "contacts.created_at is an ISO string column when data_quality=True",
        }
        return out, customers, gt

    # ------------------------------------------------------------------ ground truth
    def _ground_truth(self, cid, contacts, customers, surveys, orders, n_followups, dq) -> dict:
        d = lambda i: (self.start + pd.Timedelta(days=int(i))).strftime("%Y-%m-%d")  # noqa: E731
        weekly_names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        wk = _WEEKDAY_W if self.seasonality else np.ones(7)
        n_in_clean = len(self.in_cust)
        n_orders = len(self.o_cust)
        n_oi = int(np.sum(self.in_kind == 1))
        tier_eff = {k: (float(v) if v else 0.0) for k, v in _CHURN_TIER.items()}
        return {
            "generated_with": "kit.sample",
            "params": {"seed": self.seed, "customers": self.n, "months": self.months,
                       "end": self.end.strftime("%Y-%m-%d"), "seasonality": self.seasonality,
                       "effects": self.effects, "data_quality": self.data_quality},
            "window": {"start": self.start.strftime("%Y-%m-%d"), "end": self.end.strftime("%Y-%m-%d"),
                       "obs_end_exclusive": self.obs_end.strftime("%Y-%m-%d"), "days": self.n_days,
                       "timezone": "UTC", "days_per_month": DAYS_PER_MONTH},
            "rates": {"primary_inbound_per_month_by_tier": dict(zip(_TIERS.tolist(), _TIER_RATE.tolist())),
                      "ecommerce_multiplier": _ECOM_RATE_MULT,
                      "customer_frailty": {"distribution": "gamma", "mean": 1.0,
                                           "variance": 1.0 / _FRAILTY_SHAPE},
                      "existing_share_at_start": _EXISTING_SHARE,
                      "baseline_monthly_churn_hazard": _HAZARD_BASE,
                      "hazard_log_odds_per_trailing_contact_per_month": _HAZARD_CONTACT_COEF,
                      "hazard_tier_log_odds": dict(zip(_TIERS.tolist(), _HAZARD_TIER.tolist()))},
            "seasonality": {
                "yearly_amplitude": float(self.amp), "peak_month": _PEAK_MONTH,
                "formula": "m(month) = 1 + yearly_amplitude * cos(2*pi*(month - peak_month)/12)",
                "monthly_multiplier": {str(i + 1): float(v) for i, v in enumerate(self.m_of_month)},
                "weekly": {"weights": dict(zip(weekly_names, [float(v) for v in wk])),
                           "normalised_within": "calendar month"},
            },
            "onboarding": {"factor": _ONBOARD_FACTOR, "days": _ONBOARD_DAYS},
            "followups": {"probability": _FOLLOWUP_P, "hours": list(_FOLLOWUP_HOURS),
                          "same_topic": True, "count": n_followups,
                          "share_of_inbound": n_followups / max(n_in_clean, 1),
                          "note": "follow-ups are generated for regular primary contacts (not order "
                                  "issues, not follow-ups); on spike days the probability is divided by "
                                  "the primary spike factor so the next day is not raised"},
            "spikes": [{"date": d(day), "label": lab, "factor": float(f), "kind": k,
                        "primary_factor": float(pf)}
                       for day, lab, f, k, pf in zip(self.spike_day, self.spike_label, self.spike_factor,
                                                     self.spike_kind, self.spike_primary)],
            "events_without_spike": [{"date": d(q[0]), "label": q[1], "kind": q[2]} for q in self.quiet],
            "churn": {
                "window_days": _WINDOW, "cutoff": d(self.cutoff),
                "feature_window": [d(self.fstart), d(self.cutoff)],
                "outcome_window": [d(self.cutoff), self.obs_end.strftime("%Y-%m-%d")],
                "population": "signup_date <= cutoff - 90 days and (churn_date is missing or >= cutoff)",
                "feature": "inbound contacts (follow-ups included) in the feature window / (90 / DAYS_PER_MONTH)",
                "odds_ratio_per_contact_per_month": _CHURN_OR if self.effects else 1.0,
                "log_odds": float(self.churn_b), "controls": ["tier"], "tier_effects": tier_eff,
                "intercept": float(self.churn_a),
                "population_size": int(self.pop.sum()), "churned_in_window": int(self.pop_churned.sum()),
                "target_churn_rate": _CHURN_TARGET,
            },
            "csat": {"slope_per_contact_per_month": _CSAT_SLOPE if self.effects else 0.0,
                     "window_days": _WINDOW, "cutoff": d(self.cutoff), "p0": _CSAT_P0,
                     "intercept": 1.0 + 4.0 * _CSAT_P0,
                     "model": "score = 1 + Binomial(4, clip(p0 + slope/4 * x, 0, 1))",
                     "x_in_outcome_window": "the churn feature x of the customer (any customer, "
                                            "population or not) for surveys responded in [cutoff, cutoff+90d)",
                     "x_elsewhere": "customer's inbound contacts in the 90 days before responded_at per month",
                     "response_probability": _SURVEY_P},
            "accounts": {
                "strategic": sorted(cid[self.strat].tolist()),
                "under_served": sorted(cid[self.under].tolist()),
                "decision_maker_left": sorted(cid[self.dm_left].tolist()),
                "decision_maker_replaced": sorted(cid[self.dm_left[:1]].tolist()),
                "qbr_only": sorted(cid[self.qbr_only].tolist()),
                "touchpoints_per_month_healthy": 8,
                "touchpoints_per_month_under_served": 1,
                "under_served_since": d(self.us_since),
                "flag_rule": "mean touchpoints/month over the last 3 complete months < 4 "
                             "or no touch in the last 30 days",
                "healthy_model": "6 + Poisson(2) check-ins per month (never below 6) plus one QBR per quarter",
                "renewal_effect": {
                    "under_served_log_odds": _RENEWAL_UNDER_SERVED_LOG_ODDS,
                    "note": "under-served strategic accounts are at higher risk at their next renewal "
                            "(opposite sign to inbound contacts). Strategic accounts are chosen among "
                            "customers active at the end of the data, so this renewal churn falls after "
                            "the sample and is not observable in it.",
                },
            },
            "orders": {"contacts_per_order_pct": 100.0 * _ORDER_ISSUE_P, "segment": _INDUSTRY_ECOM,
                       "orders_per_month": _ORDERS_PER_MONTH, "max_days_after_order": _ORDER_ISSUE_MAX_DAYS,
                       "realized_orders": n_orders, "realized_order_issue_contacts": n_oi,
                       "realized_contacts_per_order_pct": 100.0 * n_oi / max(n_orders, 1)},
            "data_quality": dq,
            "counts": {name: int(len(df)) for name, df in
                       (("customers", customers), ("contacts", contacts), ("surveys", surveys),
                        ("orders", orders))},
        }
