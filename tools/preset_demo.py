"""Write the two-year HubSpot demo export used by the README's "Your own data" walk-through.

``data/examples/presets/hubspot_tickets_2y.csv`` (tickets, HubSpot's export header and ``2026-10-05 14:03``
times) and ``hubspot_companies_2y.csv`` (the companies export). Deterministic: the same files every run.
The tiny per-preset examples next to them are hand-written; this one is long enough for seasonality
and forecasts (two years of months), which a report needs.

    .venv/bin/python tools/preset_demo.py
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "examples" / "presets"
START, END = datetime(2024, 11, 1), datetime(2026, 11, 12, 18, 0)
INDUSTRIES = ["COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES"]
SOURCES = ["Email", "Chat", "Form", "Phone"]
CATEGORIES = ["Billing issue", "Product issue", "General inquiry", "Feature request"]
HEADER = [
    "Ticket ID",
    "Ticket name",
    "Pipeline",
    "Ticket status",
    "Create date",
    "Priority",
    "Source",
    "Category",
    "Ticket owner",
    "Last activity date",
    "Associated Company",
    "Associated Company IDs",
]


def main() -> None:
    rng = random.Random(14)
    companies = []
    for i in range(30):
        signup = START + timedelta(days=rng.randrange(0, 500), hours=rng.randrange(8, 18))
        companies.append((str(9300001 + i), f"Company {i + 1:02d}", signup, INDUSTRIES[i % 3]))
    with open(OUT / "hubspot_companies_2y.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Record ID", "Company name", "Create Date", "Industry", "Lifecycle Stage"])
        for cid, name, signup, industry in companies:
            w.writerow([cid, name, f"{signup:%Y-%m-%d %H:%M}", industry, "Customer"])
    tickets = []
    for cid, name, signup, _ in companies:
        t = signup
        while True:
            # about one ticket a month, more in December
            t += timedelta(hours=rng.expovariate(1 / (24 * (18 if t.month == 12 else 30))))
            if t > END:
                break
            tickets.append((t.replace(second=0, microsecond=0), cid, name))
    tickets.sort()
    with open(OUT / "hubspot_tickets_2y.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for n, (t, cid, name) in enumerate(tickets):
            stamp = f"{t:%Y-%m-%d %H:%M}"
            missing = n % 97 == 13  # a few tickets without a company, as real exports have
            w.writerow(
                [
                    2100001 + n,
                    "Question",
                    "Support Pipeline",
                    "Closed",
                    stamp,
                    "Medium",
                    SOURCES[n % 4],
                    CATEGORIES[(n * 7) % 4],
                    "Sam Agent",
                    stamp,
                    "" if missing else name,
                    "" if missing else cid,
                ]
            )
    print(f"wrote {len(tickets)} tickets and {len(companies)} companies to {OUT}")


if __name__ == "__main__":
    main()
