"""Events: one-day contact spikes on release/outage dates, events without a spike; the events table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .constants import N_SPIKES, SPIKE_EDGE, SPIKE_FACTOR, SPIKE_MIN_GAP
from .run import Run, day_ts

_OUTAGES = [
    ("outage: EU login", "login"),
    ("outage: payments API", "billing"),
    ("outage: US-East API", "bug"),
    ("outage: SSO provider", "login"),
    ("outage: email delivery", "bug"),
    ("outage: APAC dashboard", "bug"),
]
_QUIET = [
    ("billing change: new invoice layout", "billing"),
    ("release 4.x maintenance patch", "release"),
    ("billing change: annual price update", "billing"),
]


@dataclass
class Events:
    """Spike days (day index), their factors, labels, kinds and topics; quiet ``(day, label, kind)``."""

    spike_day: np.ndarray
    spike_factor: np.ndarray
    spike_label: list
    spike_kind: list
    spike_topic: np.ndarray
    quiet: list


def draw_events(run: Run) -> Events:
    """Place up to eight spikes at least 30 days apart and three quiet events 10+ days from any.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = draw_events(Run(500, 12, 1, pd.Timestamp("2026-10-31"), True, True, True))
    >>> bool((np.diff(ev.spike_day) >= 30).all()), len(ev.quiet)
    (True, 3)
    """
    rng = run.rng
    lo, hi = SPIKE_EDGE, run.n_days - SPIKE_EDGE - 1
    span = hi - lo
    k = int(min(N_SPIKES, span // (SPIKE_MIN_GAP + 15) + 1))
    slack = span - SPIKE_MIN_GAP * (k - 1)
    pos = np.sort(rng.integers(0, slack + 1, k)) + SPIKE_MIN_GAP * np.arange(k) + lo
    kinds = rng.choice(np.array(["release", "outage"]), k, p=[0.5, 0.5])
    factors = np.round(rng.uniform(*SPIKE_FACTOR, k), 2)
    labels, topics, rel, out_i = [], [], 0, 0
    for kind in kinds:
        if kind == "release":
            labels.append(f"release 4.{rel}")
            topics.append("how-to" if rel % 2 else "bug")
            rel += 1
        else:
            lab, top = _OUTAGES[out_i % len(_OUTAGES)]
            labels.append(lab)
            topics.append(top)
            out_i += 1
    spike_day = pos.astype(np.int64)
    return Events(
        spike_day=spike_day,
        spike_factor=factors,
        spike_label=labels,
        spike_kind=list(kinds),
        spike_topic=np.array(topics),
        quiet=_quiet_events(run, spike_day),
    )


def _quiet_events(run: Run, spike_day: np.ndarray) -> list:
    """Events that caused no spike: at least 10 days from any spike and from each other."""
    quiet = []
    for label, kind in _QUIET:
        for _ in range(1000):
            d = int(run.rng.integers(14, run.n_days - 14))
            if np.min(np.abs(spike_day - d)) >= 10 and all(abs(d - q[0]) >= 10 for q in quiet):
                quiet.append((d, label, kind))
                break
    return quiet


def events_frame(run: Run, ev: Events) -> pd.DataFrame:
    """The events table (spikes and quiet events) by date."""
    days = np.r_[ev.spike_day, [q[0] for q in ev.quiet]].astype(np.int64)
    return (
        pd.DataFrame(
            {
                "date": day_ts(run.start, days),
                "label": ev.spike_label + [q[1] for q in ev.quiet],
                "kind": ev.spike_kind + [q[2] for q in ev.quiet],
            }
        )
        .sort_values("date", kind="stable")
        .reset_index(drop=True)
    )
