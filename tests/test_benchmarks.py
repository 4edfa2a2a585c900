"""Benchmark table, placement with confidence intervals, grain conversion and generated reading."""

from __future__ import annotations

import pandas as pd
import pytest

from kit import FrequencyResult
from kit.analysis.benchmarks import place, table
from kit.errors import ParameterError


def test_table_is_the_material():
    t = table()
    assert len(t) == 14 and set(t["source"]) == {"Industry estimate"}
    assert set(t["unit"]) == {"contacts per customer per month"}
    got = {r.segment: (r.low, r.high) for r in t.itertuples()}
    # values copied by hand from the domain material's benchmark table
    assert got["SaaS (B2B)"] == (0.3, 0.8) and got["Healthcare Tech"] == (0.8, 1.5)
    assert got["Early-stage (<$1M ARR)"] == (0.8, 2.0) and got["Mature (>$10M ARR)"] == (0.2, 0.6)
    assert got["B2C Freemium"] == (0.1, 0.3) and got["Annual contracts"] == (0.2, 0.5)


def test_ci_straddling_an_edge_is_within_and_says_so():
    # point 0.85 is above the SaaS band (0.3-0.8), but the CI 0.76-0.94 reaches into it
    p = place(0.85, {"industry": "SaaS (B2B)"}, ci=(0.76, 0.94))
    row = p.rows.iloc[0]
    assert row["position"] == "within" and row["point_position"] == "above" and row["straddles"]
    assert "crosses" in row["reason"] and "within" in row["reason"]
    # the same point with a narrow CI is above
    assert place(0.85, {"industry": "SaaS (B2B)"}, ci=(0.82, 0.88)).rows.iloc[0]["position"] == "above"
    # lower edge: CI 0.25-0.31 overlaps 0.3 -> within; 0.2-0.29 -> below
    assert place(0.28, {"industry": "SaaS (B2B)"}, ci=(0.25, 0.31)).rows.iloc[0]["position"] == "within"
    assert place(0.25, {"industry": "SaaS (B2B)"}, ci=(0.2, 0.29)).rows.iloc[0]["position"] == "below"


def test_quarterly_value_is_divided_by_three():
    # 2.1 per quarter = 0.7 per month: within SaaS (0.3-0.8); read as monthly it would be above
    p = place(2.1, {"industry": "SaaS (B2B)"}, ci=(1.95, 2.25), freq="quarter")
    assert p.value == pytest.approx(0.7) and p.ci == pytest.approx((0.65, 0.75))
    assert p.rows.iloc[0]["position"] == "within" and not p.rows.iloc[0]["straddles"]
    assert place(2.1, {"industry": "SaaS (B2B)"}).rows.iloc[0]["position"] == "above"


def test_profile_matches_several_categories_and_validates():
    p = place(1.0, {"industry": "SaaS (B2B)", "model": "B2B Enterprise", "contract": "annual contracts"})
    assert p.rows[["segment", "position"]].values.tolist() == [
        ["SaaS (B2B)", "above"],
        ["B2B Enterprise", "within"],
        ["Annual contracts", "above"],
    ]
    assert p.reading == "mixed"
    with pytest.raises(ParameterError, match="SaaS"):
        place(1.0, {"industry": "Saas"})
    with pytest.raises(ParameterError, match="industry"):
        place(1.0, {"sector": "Fintech"})
    with pytest.raises(ParameterError):
        place(1.0, {"industry": "Fintech"}, ci=(1.1, 1.2))  # interval does not contain the value


def test_place_a_contact_frequency_row():
    df = pd.DataFrame(
        {
            "period": pd.to_datetime(["2026-09-01", "2026-10-01"]),
            "frequency": [0.5, 1.2],
            "frequency_ci_low": [0.45, 1.1],
            "frequency_ci_high": [0.55, 1.3],
            "repeat_contact_rate": [0.1, 0.25],
            "case_frequency": [0.45, 0.9],
        }
    )
    p = place(FrequencyResult(df, params={"freq": "month"}), {"industry": "SaaS (B2B)"})  # the last period is placed
    assert p.value == 1.2 and p.ci == (1.1, 1.3) and p.reading == "high"
    text = " ".join(p.sentences())
    assert "25%" in text and "0.90" in text  # repeat-contact rate and case frequency from the row
    assert "first-contact resolution" in text
    quarterly = place(FrequencyResult(df, params={"freq": "quarter"}), {"industry": "SaaS (B2B)"})
    assert quarterly.value == pytest.approx(0.4) and quarterly.freq == "quarter"  # 1.2 per quarter = 0.4 per month


@pytest.mark.parametrize("value, reading", [(0.1, "low"), (0.5, "moderate"), (2.0, "high")])
def test_interpretation_is_generated_from_the_numbers(value, reading):
    p = place(value, {"industry": "SaaS (B2B)"})
    lines = p.sentences(onboarding_share=0.3)
    text = " ".join(lines)
    assert p.reading == reading and f"Reading: {reading}" in text
    assert "industry estimates" in text  # every interpretation carries the source's label
    assert f"{value:.2f}" in lines[0]
    if reading != "low":
        assert "30%" in text and "onboarding" in text
    if reading == "high":
        assert "2.5x the upper bound" in text
