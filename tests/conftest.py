"""Shared fixtures. The default sample is generated once per test process."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def sample():
    """The default sample (20k customers, 36 months, default seed) as a kit.sample.Sample."""
    from kit.sample import generate

    return generate()


@pytest.fixture(scope="session")
def sample_dir(sample, tmp_path_factory):
    """The default sample written as Parquet (plus ground_truth.json)."""
    return sample.write(tmp_path_factory.mktemp("sample"), fmt="parquet")


@pytest.fixture(scope="session")
def small_sample():
    """A small sample (1,500 customers, 24 months) for end-to-end tests."""
    from kit.sample import generate

    return generate(customers=1500, months=24)


@pytest.fixture(scope="session")
def small_sample_dir(small_sample, tmp_path_factory):
    return small_sample.write(tmp_path_factory.mktemp("small_sample"), fmt="parquet")
