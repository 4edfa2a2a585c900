"""Partial periods (issue 14): the ``complete`` column, ``as_of``, and analyses on complete periods only.

Every expected value is worked out by hand in the comments (calendar arithmetic), never read
back from the code.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import kit
from kit.analysis import anomalies as anomaly_mod
from kit.analysis import compare as compare_mod
from kit.analysis import decompose as decompose_mod
from kit.analysis import forecast as forecast_mod
from kit.core import periods
from kit.errors import DataError, PartialPeriodWarning
from kit.metrics.periodic import period_series
from kit.metrics.rates import contacts_per_order
from kit.report import overview as ov

matplotlib.use("Agg")

AFTER = "out of scope: after as_of"


def _customers(ids, signup="2025-01-01", **cols):
    return pd.DataFrame({"customer_id": list(ids), "signup_date": signup, **cols})


def _contacts(rows):
    """rows: (customer_id, created_at[, channel])."""
    return pd.DataFrame(
        {
            "contact_id": [f"t{i}" for i in range(len(rows))],
            "customer_id": [r[0] for r in rows],
            "created_at": [r[1] for r in rows],
            "channel": [r[2] if len(r) > 2 else "email" for r in rows],
        }
    )


# The data starts mid-month (Wednesday 2025-11-12) and ends mid-quarter (Wednesday 2026-02-18).
SPAN = [
    ("a", "2025-11-12 10:00", "phone"),
    ("b", "2025-11-20 09:00"),
    ("a", "2025-12-03 12:00"),
    ("b", "2026-01-15 16:00"),
    ("a", "2026-02-18 15:00"),
]


@pytest.fixture(scope="module")
def span():
    return _contacts(SPAN), _customers(["a", "b"])


@pytest.mark.parametrize(
    "freq, expected",
    [
        # Nov starts before the 12th, Feb ends after the 18th; Dec and Jan lie wholly inside.
        ("month", [False, True, True, False]),
        # Q4 2025 (Oct 1-Dec 31) starts before Nov 12; Q1 2026 ends on Mar 31, after Feb 18.
        ("quarter", [False, False]),
        ("year", [False, False]),
        # ISO weeks: 2025-11-12 is a Wednesday in the week of Monday 2025-11-10, and 2026-02-18 a
        # Wednesday in the week of Monday 2026-02-16: 98 days apart = 14 weeks, so 15 weeks, the
        # first and last partial, the 13 between complete.
        ("week", [False] + [True] * 13 + [False]),
        # Every day from Nov 12 to Feb 18 is inside (days without contacts too): 19 + 31 + 31 + 18 = 99 days.
        ("day", [True] * 99),
    ],
)
def test_complete_by_grain_for_data_starting_mid_month_and_ending_mid_quarter(span, freq, expected):
    contacts, customers = span
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = kit.contact_frequency(contacts, customers, freq=freq).frame
    assert frame["complete"].dtype == bool
    assert frame["complete"].tolist() == expected
    assert int(frame["contacts"].sum()) == 5


def test_requested_periods_outside_the_coverage_are_partial_and_coverage_ignores_start_end(span):
    contacts, customers = span
    # Asking only for Dec-Jan: contacts outside still show the data runs from Nov 12 to Feb 18,
    # so Dec and Jan are complete; Oct (before any data) and Mar (after it) are partial.
    frame = kit.contact_frequency(contacts, customers, start="2025-10", end="2026-03").frame
    got = dict(zip(frame["period"].dt.strftime("%Y-%m"), frame["complete"]))
    assert got == {
        "2025-10": False,
        "2025-11": False,
        "2025-12": True,
        "2026-01": True,
        "2026-02": False,
        "2026-03": False,
    }
    only = kit.contact_frequency(contacts, customers, start="2025-12", end="2026-01").frame
    assert only["complete"].tolist() == [True, True]


def test_groups_share_the_tables_coverage_so_a_quiet_group_month_is_a_real_zero(span):
    contacts, customers = span
    frame = kit.contact_frequency(contacts, customers, by="channel").frame
    phone = frame[frame["channel"] == "phone"].set_index("period")
    phone.index = phone.index.month
    # phone has one contact, on Nov 12; in Dec and Jan it has none, yet those months are complete.
    assert phone.loc[12, "contacts"] == 0 and bool(phone.loc[12, "complete"])
    assert phone["complete"].tolist() == [False, True, True, False]


def test_as_of_cuts_the_data_counts_the_ledger_reason_and_ends_the_coverage():
    rows = [
        *SPAN[:4],
        ("a", "2026-01-31 23:59"),  # the last minute of the as-of day: counted
        ("b", "2026-02-01 00:00"),  # the first minute after: out of scope
        ("a", "2026-02-18 15:00"),  # out of scope
        ("", "2026-02-03 10:00"),  # no customer id, but dated after as_of: out of scope first
        ("b", "not a date"),  # undated: keeps its own reason
    ]
    contacts = _contacts(rows)
    # c signs up after as_of: not active in January (a and b are).
    customers = _customers(["a", "b", "c"], signup=["2025-01-01", "2025-01-01", "2026-02-10"])
    res = kit.contact_frequency(contacts, customers, as_of="2026-01-31")
    led = res.ledger
    assert led.balanced
    assert led.tables["contacts"].read == 9 and led.tables["contacts"].used == 5
    assert led.excluded("contacts") == {AFTER: 3, "unparseable created_at": 1}
    assert led.excluded("customers") == {"out of scope: signed up after as_of": 1}
    f = res.frame.set_index(res.frame["period"].dt.strftime("%Y-%m"))
    assert list(f.index) == ["2025-11", "2025-12", "2026-01"]  # nothing after January is read
    # Coverage Nov 12 to as_of (Jan 31): January is complete although its last contact is Jan 31 23:59.
    assert f["complete"].tolist() == [False, True, True]
    assert (f.loc["2026-01", "contacts"], f.loc["2026-01", "active_customers"]) == (2, 2)
    assert res.params["as_of"] == "2026-01-31"

    # as_of in mid-January: January is partial even though a contact falls on the as-of day.
    mid = kit.contact_frequency(contacts, customers, as_of="2026-01-15").frame
    assert mid["complete"].tolist() == [False, True, False]
    assert mid["contacts"].tolist() == [2, 1, 1]


def test_as_of_is_the_end_of_the_day_in_the_business_time_zone():
    # 23:30 UTC on Jan 31 is 00:30 on Feb 1 in Berlin: after an as-of of Jan 31 there, not in UTC.
    contacts = _contacts([("a", "2026-01-10T10:00:00+00:00"), ("a", "2026-01-31T23:30:00+00:00")])
    customers = _customers(["a"])
    berlin = kit.contact_frequency(contacts, customers, tz="Europe/Berlin", as_of="2026-01-31")
    utc = kit.contact_frequency(contacts, customers, tz="UTC", as_of="2026-01-31")
    assert berlin.ledger.excluded("contacts") == {AFTER: 1} and int(berlin.frame["contacts"].sum()) == 1
    assert utc.ledger.excluded("contacts") == {} and int(utc.frame["contacts"].sum()) == 2


def test_contacts_per_order_and_period_series_take_as_of_and_mark_complete():
    orders = pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "customer_id": ["a", "b", "a", "b"],
            "ordered_at": ["2025-12-02 10:00", "2026-01-05 10:00", "2026-01-20 10:00", "2026-02-10 10:00"],
        }
    )
    contacts = _contacts(SPAN)
    res = contacts_per_order(contacts, orders, _customers(["a", "b"]), as_of="2026-01-31")
    # Orders span Dec 2 to (as_of) Jan 31 and contacts Nov 12 to Jan 31: both cover only January whole.
    got = dict(zip(res.frame["period"].dt.strftime("%Y-%m"), res.frame["complete"]))
    assert got == {"2025-11": False, "2025-12": False, "2026-01": True}
    assert res.ledger.excluded("orders") == {AFTER: 1}
    assert res.ledger.excluded("contacts").get(AFTER) == 1
    assert res.ledger.balanced

    ps = period_series(contacts, _customers(["a", "b"]), as_of="2026-01-31")
    # Nov is partial (data from Nov 12); Dec and Jan are whole up to the as-of day.
    assert ps.frame["period"].dt.strftime("%Y-%m").tolist() == ["2025-12", "2026-01"]
    assert ps.dropped_partial == 1 and ps.frame["complete"].all()


# --------------------------------------------------------------------------- analyses
def _monthly(n: int = 36, *, spike_at: int = 20) -> pd.DataFrame:
    """A monthly result frame: a yearly cosine, a slow trend, one spike; every period complete."""
    idx = pd.date_range("2023-01-01", periods=n, freq="MS")
    wave = np.asarray(1 + 0.3 * np.cos(2 * np.pi * (idx.month - 12) / 12) + 0.005 * np.arange(n))
    wave[spike_at] *= 1.6
    active = np.full(n, 1000)
    contacts = np.round(wave * active).astype(int)
    return pd.DataFrame(
        {
            "period": idx,
            "contacts": contacts,
            "active_customers": active,
            "frequency": contacts / active,
            "complete": True,
        }
    )


def _with_partial_ends(df: pd.DataFrame) -> pd.DataFrame:
    """The same frame with a partial month at each end: a tenth of a month's contacts."""
    head = df.iloc[[0]].assign(period=df["period"].iloc[0] - pd.DateOffset(months=1))
    tail = df.iloc[[-1]].assign(period=df["period"].iloc[-1] + pd.DateOffset(months=1))
    partial = pd.concat([head, tail]).assign(complete=False)
    partial["contacts"] = (partial["contacts"] // 10).astype(int)
    partial["frequency"] = partial["contacts"] / partial["active_customers"]
    return pd.concat([partial.iloc[[0]], df, partial.iloc[[1]]], ignore_index=True)


def test_decompose_anomalies_and_forecast_ignore_partial_edge_periods_with_one_warning():
    full = _monthly()
    edged = _with_partial_ends(full)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dec = decompose_mod.decompose(edged, value="frequency", freq="month")
    partial_warnings = [w for w in caught if issubclass(w.category, PartialPeriodWarning)]
    assert len(partial_warnings) == 1 and "2022-12" in str(partial_warnings[0].message)
    assert "2026-01" in str(partial_warnings[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = decompose_mod.decompose(full, value="frequency", freq="month")
        a_edged = anomaly_mod.anomalies(dec, threshold=3.5)
        a_ref = anomaly_mod.anomalies(ref, threshold=3.5)
        f_edged = forecast_mod.forecast(edged, value="frequency", horizon=3, freq="month")
        f_ref = forecast_mod.forecast(full, value="frequency", horizon=3, freq="month")
        b_edged = forecast_mod.backtest(edged, value="frequency", horizon=3, folds=4, freq="month")
        b_ref = forecast_mod.backtest(full, value="frequency", horizon=3, folds=4, freq="month")
    pd.testing.assert_series_equal(dec.observed, ref.observed)
    pd.testing.assert_series_equal(dec.trend, ref.trend)
    pd.testing.assert_series_equal(dec.adjusted, ref.adjusted)
    pd.testing.assert_frame_equal(dec.seasonal, ref.seasonal)
    pd.testing.assert_frame_equal(a_edged.frame, a_ref.frame)
    assert pd.Timestamp("2024-09-01") in set(a_ref.frame["period"])  # the planted spike (index 20) is found
    assert dec.observed.index.min() == pd.Timestamp("2023-01-01")  # the partial months are gone
    pd.testing.assert_frame_equal(f_edged.table, f_ref.table)
    # The forecast starts where the complete data ends: the partial January 2026 is forecast, not used.
    assert f_edged.table.index[0] == pd.Timestamp("2026-01-01")
    pd.testing.assert_frame_equal(b_edged.errors, b_ref.errors)


def test_a_bare_series_is_taken_as_it_is_and_all_partial_is_an_error():
    full = _with_partial_ends(_monthly())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dec = decompose_mod.decompose(full.set_index("period")["frequency"], freq="month")
    assert len(dec.observed) == 38 and not [w for w in caught if issubclass(w.category, PartialPeriodWarning)]
    with pytest.raises(DataError, match="every period is partial"):
        decompose_mod.decompose(full.assign(complete=False), value="frequency", freq="month")


def test_compare_periods_gives_no_change_against_a_partial_period():
    full = _monthly()
    edged = _with_partial_ends(full)
    # 2023-01 against the previous month: with the partial Dec 2022 there is no test, exactly as
    # when Dec 2022 is absent; the same-month-last-year row is absent in both.
    with_partial = compare_mod.compare_periods(edged, "2023-01")
    without = compare_mod.compare_periods(full, "2023-01")
    cols = [c for c in without.frame.columns if c != "partial"]
    pd.testing.assert_frame_equal(with_partial.frame[cols], without.frame[cols])
    assert with_partial.frame["partial"].tolist() == [True, False]
    assert "partial" in with_partial.describe()
    # The partial month itself is never compared, though both of its references are in the data.
    last = compare_mod.compare_periods(edged, "2026-01").frame
    assert last["change"].isna().all() and last["p_value"].isna().all() and last["partial"].all()
    # A complete month against complete references keeps its exact test (+60% spike: 1.6x, p small).
    mid = compare_mod.compare_periods(edged, "2024-09").frame.set_index("comparison")
    assert not mid["partial"].any() and mid.loc["previous period", "p_value"] < 1e-6


# --------------------------------------------------------------------------- the example
def _quarters_from_november(folder):
    """100 customers all along; 2 contacts a day in Oct-Dec (the seasonal peak), 1 otherwise,
    from 2023-11-01 to 2026-09-30. The first quarter, 2023-Q4, holds only November and December."""
    folder.mkdir(parents=True, exist_ok=True)
    customers = _customers([f"c{i:03d}" for i in range(100)], signup="2020-01-01")
    rows, k = [], 0
    for day in pd.date_range("2023-11-01", "2026-09-30", freq="D"):
        for j in range(2 if day.month >= 10 else 1):
            rows.append((f"c{k % 100:03d}", day + pd.Timedelta(hours=9 + 6 * j)))
            k += 1
    contacts = _contacts(rows)
    customers.to_parquet(folder / "customers.parquet", index=False)
    contacts.to_parquet(folder / "contacts.parquet", index=False)
    return contacts, customers


def test_a_quarter_holding_only_november_and_december_is_not_a_full_quarter(tmp_path):
    from kit.report import context as reportconfig
    from kit.report import summary as summaries

    contacts, customers = _quarters_from_november(tmp_path / "data")
    tr = ov.trend(contacts, customers, period="2026-Q3", freq="quarter", periods_shown=24)
    frame = tr.frame.set_index(tr.frame["period"].map(lambda p: periods.label(p, "quarter")))
    # The trap: 2023-Q4 has 61 days x 2 = 122 contacts over 100 customers (1.22), against the
    # 92 x 2 = 184 (1.84) of a whole Q4, so as a full quarter it would look like a deep dip.
    assert frame.loc["2023-Q4", "contacts"] == 122 and frame.loc["2024-Q4", "contacts"] == 184
    assert not frame.loc["2023-Q4", "complete"] and frame["complete"].iloc[1:].all()

    # The trend chart draws it hollow, with the note.
    ax = tr.plot(periods_shown=24)
    hollow = [c for c in ax.collections if c.get_gid() == "partial"]
    assert len(hollow) == 1 and len(hollow[0].get_facecolor()) == 0  # facecolor "none"
    assert len(hollow[0].get_offsets()) == 1
    assert any("partial" in t.get_text() for t in ax.texts)

    # The analyses on the trend equal the same analyses on the complete quarters alone.
    whole = tr.replace(frame=tr.frame[tr.frame["complete"]].reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dec = decompose_mod.decompose(tr, value="frequency")
        ref = decompose_mod.decompose(whole, value="frequency")
    pd.testing.assert_series_equal(dec.adjusted, ref.adjusted)
    assert pd.Timestamp("2023-10-01") not in dec.adjusted.index
    fc = ov.forecast(tr, horizon=3)
    assert fc == ov.forecast(whole, horizon=3)
    # Every whole Q4 had 184 contacts over 100 customers: the forecast for 2026-Q4 sits on that peak
    # (with the partial 2023-Q4 taken as a whole quarter it fell to about 1.66).
    assert fc["next_period"] == "2026-Q4" and fc["mean"] == pytest.approx(1.84, rel=0.02)
    assert ov.anomalies(tr)["flagged"] == ov.anomalies(whole)["flagged"]

    data = summaries.summary(reportconfig.load(None, period="2026-Q3", grain="quarter", data_dir=tmp_path / "data"))
    assert data["complete"] and data["anomalies"]["available"]
    assert data["anomalies"]["partial_left_out"] == ["2023-Q4"]
    assert "2023-Q4" not in [i["period"] for i in data["anomalies"]["flagged"]]
    assert data["anomalies"]["periods_checked"] == 11  # 2024-Q1 to 2026-Q3
    # Same quarter last year (2025-Q3) is complete: the year-over-year comparison stands (flat).
    assert data["last_year"]["reference"] == "2025-Q3"


def test_year_over_year_is_left_out_against_a_partial_quarter():
    contacts, customers = _quarters_from_november_frames()
    tr = ov.trend(contacts, customers, period="2024-Q4", freq="quarter")
    head = ov.headline(tr, period="2024-Q4", freq="quarter")
    # 2023-Q4 (Nov-Dec only) is no basis: no "fell 34%" year-over-year sentence; the previous quarter stays.
    assert head.last_year is None and head.previous.reference == "2024-Q3"
    assert "last year" not in head.describe()


def _quarters_from_november_frames():
    rows, k = [], 0
    for day in pd.date_range("2023-11-01", "2024-12-31", freq="D"):
        for j in range(2 if day.month >= 10 else 1):
            rows.append((f"c{k % 100:03d}", day + pd.Timedelta(hours=9 + 6 * j)))
            k += 1
    return _contacts(rows), _customers([f"c{i:03d}" for i in range(100)], signup="2020-01-01")


# --------------------------------------------------------------------------- charts
def test_frequency_plot_draws_partial_periods_hollow_with_a_note(span):
    contacts, customers = span
    res = kit.contact_frequency(contacts, customers)
    ax = res.plot()
    line = ax.get_lines()[0]
    assert line.get_markevery() == [1, 2]  # filled markers on the complete Dec and Jan only
    hollow = [c for c in ax.collections if c.get_gid() == "partial"]
    assert len(hollow) == 1 and len(hollow[0].get_facecolor()) == 0  # facecolor "none"
    xs = matplotlib.dates.num2date(hollow[0].get_offsets()[:, 0])
    assert [x.strftime("%Y-%m") for x in xs] == ["2025-11", "2026-02"]
    assert any("partial periods" in t.get_text() for t in ax.texts)
    # All complete: no hollow points, no note.
    ax2 = kit.contact_frequency(contacts, customers, freq="day").plot()
    assert not [c for c in ax2.collections if c.get_gid() == "partial"] and not ax2.texts
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize(
    "tz, times, counts",
    [
        # Tokyo is UTC+9. First contact 20:00 local on Nov 1 (11:00 UTC): converting to local time twice
        # would put it on Nov 2 and cut November short. Last contact 00:30 local on Jan 31 (15:30 UTC on
        # Jan 30): read in UTC days, January would end on the 30th, short of its last day.
        (
            "Asia/Tokyo",
            ["2025-11-01T11:00:00+00:00", "2025-12-10T03:00:00+00:00", "2026-01-30T15:30:00+00:00"],
            [1, 1, 1],
        ),
        # New York (EDT, UTC-4, until 06:00 UTC on Nov 2; then EST, UTC-5). First contact 20:30 EDT on
        # Nov 1 (00:30 UTC on Nov 2: in UTC days November would start on the 2nd); the second at 01:30
        # EDT on Nov 2, in the hour that happens twice; the last at 02:00 EST on Jan 31 (07:00 UTC;
        # converted twice it would fall on Jan 30).
        (
            "America/New_York",
            ["2025-11-02T00:30:00+00:00", "2025-11-02T05:30:00+00:00", "2026-01-31T07:00:00+00:00"],
            [2, 0, 1],
        ),
        # Naive times in UTC: the wall-clock time is the instant (the kit keeps it naive).
        ("UTC", ["2025-11-01 00:00:30", "2025-12-10 03:00:00", "2026-01-31 23:59:59"], [1, 1, 1]),
    ],
)
@pytest.mark.parametrize("by", [None, "channel"])
def test_coverage_is_read_in_local_days_at_their_first_and_last_second(tz, times, counts, by):
    # The data's first and last local days are Nov 1 and Jan 31: November to January are complete
    # (the coverage is read in days of the business time zone, from per-group first and last minutes).
    contacts = _contacts([("a", times[0], "phone"), ("b", times[1]), ("a", times[2])])
    if tz == "UTC":
        contacts["created_at"] = pd.to_datetime(contacts["created_at"])
    r = kit.contact_frequency(contacts, _customers(["a", "b"]), tz=tz, by=by)
    frame = r.frame.groupby("period", as_index=False).agg(complete=("complete", "all"), contacts=("contacts", "sum"))
    assert [str(p.date()) for p in frame["period"]] == ["2025-11-01", "2025-12-01", "2026-01-01"]
    assert frame["complete"].tolist() == [True, True, True]
    assert frame["contacts"].tolist() == counts
