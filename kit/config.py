"""Paths and defaults in one place (cookiecutter-data-science style)."""

from __future__ import annotations

import os
from pathlib import Path

#: The kit's version (re-exported as ``kit.__version__``; written into summary.json).
VERSION = "0.2.0"

#: Repository root when the kit runs from a checkout; overridable for installed use.
PROJECT_ROOT = Path(os.environ.get("KIT_PROJECT_ROOT", Path(__file__).resolve().parents[1]))
DATA_DIR = PROJECT_ROOT / "data"
SAMPLE_DIR = DATA_DIR / "sample"
REPORTS_DIR = PROJECT_ROOT / "reports"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"

#: Average month length used whenever a count is turned into "per month".
DAYS_PER_MONTH = 365.25 / 12

DEFAULT_TZ = "UTC"
DEFAULT_DEDUP_WINDOW = "48h"
#: Without a customers table, a customer is active in a period when they have a counted contact
#: between this long before the period start and the period end.
DEFAULT_ACTIVE_LOOKBACK = "365D"
DEFAULT_FREQ = "month"
#: A customer is "new" in a period when they signed up less than this before the period start
#: (the ``new_vs_existing`` grouping).
DEFAULT_NEW_WINDOW = "90D"
#: Edges of the ``tenure`` bands in months at the period start: 0-3 months, 3-12 months, 1-2 years, 2+ years.
DEFAULT_TENURE_BANDS = (3, 12, 24)
DEFAULT_SEED = 42
#: Contact times outside [PLAUSIBLE_FROM, today + PLAUSIBLE_YEARS_AHEAD years] are excluded as
#: "implausible created_at" (9999-12-31 placeholders, 1900-01-01, two-digit years read as 0026, "epoch").
#: The environment variables KIT_PLAUSIBLE_FROM / KIT_PLAUSIBLE_UNTIL (YYYY-MM-DD) override both
#: (read at each call, see kit.core.engine.plausible_range).
PLAUSIBLE_FROM = "1990-01-01"
PLAUSIBLE_YEARS_AHEAD = 1
#: Period-change and year-over-year sentences are left out when the base period has fewer contacts
#: than this: a "75% fall" from four contacts to one is noise, not news.
MIN_CHANGE_BASE = 20
#: The sample ends here so that the example report period 2026-10 is complete.
SAMPLE_END = "2026-10-31"

#: Strategic-account bands, touchpoints per account per month (domain material).
ACCOUNT_BANDS = (
    ("at risk", 0, 4),
    ("healthy", 4, 7),
    ("optimal", 7, 11),
    ("possibly excessive", 11, float("inf")),
)

#: Optional cap on the embedded DuckDB's memory (e.g. "3.5GB"); beyond it DuckDB spills to disk.
#: Unset: DuckDB's default (80% of RAM).
DUCKDB_MEMORY_LIMIT = os.environ.get("KIT_DUCKDB_MEMORY_LIMIT", "").strip() or None
#: Where DuckDB spills beyond its memory limit (a fast local disk with room for a few times the
#: data's size). Unset: DuckDB's default (``.tmp`` beside a database file; in memory, none).
DUCKDB_TEMP_DIR = os.environ.get("KIT_DUCKDB_TEMP_DIR", "").strip() or None
#: DuckDB worker threads (unset: one per core).
DUCKDB_THREADS = os.environ.get("KIT_DUCKDB_THREADS", "").strip() or None
#: report.yml ``engine`` key -> (environment variable, attribute of this module, example value).
DUCKDB_SETTINGS = {
    "memory_limit": ("KIT_DUCKDB_MEMORY_LIMIT", "DUCKDB_MEMORY_LIMIT", "3.5GB"),
    "temp_directory": ("KIT_DUCKDB_TEMP_DIR", "DUCKDB_TEMP_DIR", "/fast/disk/kit-spill"),
    "threads": ("KIT_DUCKDB_THREADS", "DUCKDB_THREADS", "4"),
}

#: Name of the Jupyter kernel that `make lab` registers and papermill uses.
KERNEL_NAME = "contact-kit"
