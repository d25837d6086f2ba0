"""Generated lakes shared by the generator tests: generating is fast, but once per module is enough."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from telco360.generator import GenerationSummary, generate

START = date(2025, 1, 1)


@pytest.fixture(scope="package")
def clean_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate(out, customers=500, days=3, start_date=START, seed=7)


@pytest.fixture(scope="package")
def faulty_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("faulty")
    return out, generate(out, customers=8_000, days=3, start_date=START, seed=7, faults=True)
