"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The team's real sample extracts and conformance suites sit beside the repository (../shared);
# on a user's machine they are absent and the tests that read them skip.
SHARED = Path(os.environ.get("TELCO360_SHARED", REPO.parent / "shared"))
SAMPLE = SHARED / "data" / "telco-sample"
TESTSUITES = SHARED / "testsuites"

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared sample data is only on the team's machines)")
    return path


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return require(SAMPLE)


@pytest.fixture(scope="session")
def testsuites_dir() -> Path:
    return require(TESTSUITES)


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
