"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Third-party inputs vendored with their licences and origins (tests/data/README.md): a fresh clone
# runs every test with nothing beside it.
DATA = REPO / "tests" / "data"
SAMPLE = DATA / "telco-sample"

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """A slice of the real extracts: the plans, some customers, a week of activity."""
    # Missing vendored data is a broken checkout, never a reason to skip.
    assert SAMPLE.is_dir(), f"{SAMPLE} is missing: see tests/data/README.md"
    return SAMPLE


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local SparkSession for the whole run (Spark start-up costs seconds). Tests using it are
    marked ``spark`` and grouped on one xdist worker (see ``pytest_collection_modifyitems``)."""
    from telco360.spark.session import local_spark

    session = local_spark("telco360-tests", cores=2)
    yield session
    session.stop()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the group markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test that asks for the SparkSession runs on the same xdist worker, so the suite starts
    # one JVM, not one per worker.
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
            item.add_marker(pytest.mark.xdist_group("spark"))
