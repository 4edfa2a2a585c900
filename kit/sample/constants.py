"""The fixed parameters of the synthetic sample (rates, effects, shares, names).

Every constant here is either planted into the data or reported in the ground truth;
changing one changes the sample.
"""

from __future__ import annotations

import numpy as np

#: Table names in the order they are written.
TABLES = ("customers", "contacts", "surveys", "orders", "stakeholders", "events")

DAY = 86_400  # seconds

# --------------------------------------------------------------------------- customers
TIERS = np.array(["basic", "pro", "enterprise"])
TIER_P = np.array([0.55, 0.30, 0.15])
TIER_RATE = np.array([0.35, 0.60, 1.00])  # primary inbound contacts per month
ECOM_RATE_MULT = 0.6
FRAILTY_SHAPE = 2.0  # gamma frailty, mean 1, variance 0.5
REGIONS = np.array(["NA", "EMEA", "APAC", "LATAM"])
REGION_P = np.array([0.40, 0.30, 0.20, 0.10])
INDUSTRY_SAAS, INDUSTRY_ECOM = "SaaS (B2B)", "E-commerce"
ECOM_SHARE = 0.15
EXISTING_SHARE = 0.55
EXISTING_SPREAD_DAYS = 3 * 365

# --------------------------------------------------------------------------- seasonality
YEARLY_AMPLITUDE = 0.3
PEAK_MONTH = 12
WEEKDAY_W = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.35, 0.35])  # Mon..Sun
ONBOARD_FACTOR, ONBOARD_DAYS = 3.0, 14

FOLLOWUP_P = 0.21
FOLLOWUP_HOURS = (1.0, 40.0)

# --------------------------------------------------------------------------- churn and CSAT
HAZARD_BASE = 0.012
HAZARD_TIER = np.array([0.15, -0.10, -0.45])
HAZARD_CONTACT_COEF = 0.30

WINDOW = 90
CHURN_OR = 1.35
CHURN_TIER = {"basic": 0.0, "pro": -0.3, "enterprise": -0.6}
CHURN_TARGET = 0.10

CSAT_P0 = 0.85
CSAT_SLOPE = -0.12
SURVEY_P = 0.30
SURVEY_HOURS = (1.0, 8.0)

# --------------------------------------------------------------------------- orders and spikes
ORDERS_PER_MONTH = 2.0
ORDER_ISSUE_P = 0.08
ORDER_ISSUE_MAX_DAYS = 7

N_SPIKES = 8
SPIKE_MIN_GAP = 30
SPIKE_EDGE = 60
SPIKE_FACTOR = (2.0, 2.5)

INBOUND_TOPICS = np.array(["how-to", "bug", "billing", "login", "integration", "feature request"])
INBOUND_TOPIC_P = np.array([0.30, 0.22, 0.18, 0.14, 0.10, 0.06])
INBOUND_CHANNELS = np.array(["phone", "email", "chat"])
INBOUND_CHANNEL_P = np.array([0.25, 0.45, 0.30])
#: lognormal handle time: (median minutes, sigma)
HANDLE = {
    ("inbound", "phone"): (11.0, 0.5),
    ("inbound", "email"): (7.0, 0.7),
    ("inbound", "chat"): (9.0, 0.55),
    ("outbound", "meeting"): (40.0, 0.3),
    ("outbound", "email"): (5.0, 0.5),
    ("outbound", "phone"): (15.0, 0.45),
}

# --------------------------------------------------------------------------- strategic accounts
STRATEGIC_MAX = 40
STRATEGIC_MIN = 12
N_UNDER_SERVED, N_DM_LEFT, N_QBR_ONLY = 6, 3, 2
UNDER_SERVED_MONTHS = 6
HEALTHY_TOUCH_MIN, HEALTHY_TOUCH_EXTRA = 6, 2.0  # 6 + Poisson(2): mean 8, never < 6
ROLE_CADENCE = {"executive sponsor": 90, "decision maker": 30, "champion": 14, "user": 30}
ROLE_WEIGHT = {"executive sponsor": 0.10, "decision maker": 0.35, "champion": 0.35, "user": 0.20}
RENEWAL_UNDER_SERVED_LOG_ODDS = 1.5

# --------------------------------------------------------------------------- data-quality defects
DQ_UNPARSEABLE, DQ_DUPLICATE, DQ_UNKNOWN, DQ_CHURN_BEFORE_SIGNUP = 20, 15, 25, 2
BAD_TIMESTAMPS = np.array(
    [
        "not a date",
        "31/02/2025 25:00",
        "2025-02-30 10:00:00",
        "2025-13-45 10:00:00",
        "#VALUE!",
        "00/00/0000 00:00",
        "tomorrow-ish",
        "2025-06-31 24:61:00",
    ]
)

# --------------------------------------------------------------------------- names
NAME_A = np.array(
    [
        "Blue",
        "North",
        "Bright",
        "Silver",
        "Rapid",
        "Green",
        "Prime",
        "Clear",
        "Summit",
        "Urban",
        "Nova",
        "Iron",
        "Swift",
        "Golden",
        "Atlas",
        "Cedar",
        "Harbor",
        "Polar",
        "Vector",
        "Zenith",
    ]
)
NAME_B = np.array(
    [
        "River",
        "Peak",
        "Stone",
        "Wave",
        "Field",
        "Bridge",
        "Forge",
        "Leaf",
        "Cloud",
        "Pixel",
        "Signal",
        "Orbit",
        "Path",
        "Grid",
        "Spark",
        "Rock",
    ]
)
NAME_C = np.array(
    [
        "Labs",
        "Systems",
        "Inc",
        "GmbH",
        "Ltd",
        "Group",
        "Technologies",
        "Solutions",
        "Partners",
        "Holdings",
        "Co",
        "Analytics",
    ]
)
FIRST = np.array(
    [
        "Alex",
        "Maria",
        "Chen",
        "Priya",
        "John",
        "Fatima",
        "Lucas",
        "Sofia",
        "Kenji",
        "Amara",
        "David",
        "Elena",
        "Omar",
        "Hannah",
        "Mateo",
        "Aisha",
        "Lars",
        "Yuki",
    ]
)
LAST = np.array(
    [
        "Smith",
        "Garcia",
        "Wang",
        "Patel",
        "Muller",
        "Okafor",
        "Silva",
        "Rossi",
        "Tanaka",
        "Kim",
        "Novak",
        "Berg",
        "Haddad",
        "Cohen",
        "Lopez",
        "Dubois",
    ]
)
