"""The benchmark harness (bench/) imports, and a tiny Job A and Job B run works end to end with the
DuckDB reference agreeing with the project's outputs (docs/spec.md §2 and §4)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _bench_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # bench/ is a top-level folder of the repository, not part of the installed package.
    monkeypatch.syspath_prepend(str(REPO))
    for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
        monkeypatch.delitem(sys.modules, name)


def test_every_bench_module_imports_and_is_listed() -> None:
    # GIVEN the bench package WHEN its modules are imported THEN the runner lists each benchmark
    import importlib

    from bench.__main__ import available

    assert {"gate", "generator", "job_a", "job_b"} <= set(available())
    for name in available():
        importlib.import_module(f"bench.{name}")
    assert "_realistic" not in available()


@pytest.mark.slow
def test_a_tiny_job_a_and_job_b_run_and_duckdb_agrees_with_the_project(tmp_path: Path, spark: Any) -> None:
    from bench import _realistic as R
    from bench import job_a, job_b

    # GIVEN a tiny realistic feed: 2 days, full extracts, several activity files a day
    tiny = R.Params(customers=300, events_per_customer_day=2.0, activity_files=2, days=2, seed=3)
    # WHEN Job A's bench runs on its last day
    a = job_a.run(spark, tiny, tmp_path, per_dataset=False, warm=False)
    # THEN every engine was timed and DuckDB's clean equals the project's clean
    assert a.errors == []
    assert a.project_total_s and a.floor_total_s and a.duckdb_total_s
    assert {c.table for c in a.checks} == {"clean customers", "clean plans", "clean activity"}
    assert all(c.equal for c in a.checks), [c.describe() for c in a.checks]
    assert "all (one run_clean)" in job_a.table(a)
    # WHEN Job B's bench builds every snapshot in date order
    b = job_b.run(spark, tiny, tmp_path, warm=False)
    # THEN each day was timed, and DuckDB's full recompute equals the project's four tables
    assert b.errors == []
    assert [f.history_days for f in b.days] == [1, 2] == b.measured
    assert all(len(f.checks) == 4 and all(c.equal for c in f.checks) for f in b.days), job_b.table(b)
    assert "Job B(2 days)/Job B(2 days)" in job_b.table(b)
