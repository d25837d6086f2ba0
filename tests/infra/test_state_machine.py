"""The real pipeline ASL, run by moto's Step Functions interpreter against moto's Glue and SNS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sfn_harness import CLEAN_JOB, LAKE_ROOT, STAGE_JOB, GlueScript, Pipeline, fixture_input, pipeline

RunPipeline = Callable[..., AbstractContextManager[Pipeline]]


@pytest.fixture
def glue_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunPipeline]:
    def start(script: GlueScript | None = None) -> AbstractContextManager[Pipeline]:
        return pipeline(monkeypatch, script)

    yield start


def started(runs: list[tuple[str, dict[str, str]]]) -> list[tuple[str, str]]:
    """(job, run date) of every Glue run, in start order."""
    return [("clean" if job == CLEAN_JOB else "stage", args["--run_date"]) for job, args in runs]


def test_rerun_runs_clean_then_stage_with_run_date_and_lake_root(glue_pipeline: RunPipeline) -> None:
    # GIVEN a rerun request for one date (the reference fixture)
    with glue_pipeline() as machine:
        # WHEN it runs
        outcome = machine.run(fixture_input("sfn_rerun.json"))
    # THEN job A then job B ran for that date against the lake, and no alert was sent
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("clean", "2025-01-15"), ("stage", "2025-01-15")]
    assert all(args["--lake_root"] == LAKE_ROOT for _, args in outcome.runs)
    assert outcome.alerts == []
    assert outcome.output is not None
    assert outcome.output["stage"]["JobRunState"] == "SUCCEEDED"
    assert set(outcome.output["clean"]) == {"JobName", "JobRunId", "JobRunState", "ExecutionTime"}


def test_failed_clean_job_stops_before_stage_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A fails
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["FAILED"]})) as machine:
        # WHEN a date is rerun
        outcome = machine.run({"run_date": "2025-01-15"})
        failed_run_ids = machine.job_run_ids(CLEAN_JOB)
    # THEN job B never started, one alert names the step, date, error and the Glue run, and the run FAILED
    assert outcome.status == "FAILED"
    assert outcome.error == "PipelineFailed"
    assert started(outcome.runs) == [("clean", "2025-01-15")]
    assert len(outcome.alerts) == 1
    alert = outcome.alerts[0]
    assert (alert["step"], alert["run_date"], alert["error"]) == ("clean", "2025-01-15", "States.TaskFailed")
    assert failed_run_ids[0] in alert["cause"]
    assert "clean" in alert["subject"] and "2025-01-15" in alert["subject"]
    assert outcome.cause is not None and "clean job failed for run date 2025-01-15" in outcome.cause


def test_failed_stage_job_alerts_once_naming_stage(glue_pipeline: RunPipeline) -> None:
    # GIVEN job B fails
    with glue_pipeline(GlueScript(outcomes={STAGE_JOB: ["FAILED"]})) as machine:
        outcome = machine.run({"run_date": "2025-01-15"})
    # THEN both ran once, the execution FAILED and the single alert blames stage
    assert outcome.status == "FAILED"
    assert started(outcome.runs) == [("clean", "2025-01-15"), ("stage", "2025-01-15")]
    assert [(a["step"], a["run_date"]) for a in outcome.alerts] == [("stage", "2025-01-15")]


def test_transient_glue_error_is_retried_then_succeeds(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A's first two StartJobRun calls hit ConcurrentRunsExceededException
    with glue_pipeline(GlueScript(start_errors={CLEAN_JOB: 2})) as machine:
        outcome = machine.run({"run_date": "2025-01-15"})
    # THEN the retries got it started once and the pipeline succeeded without an alert
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("clean", "2025-01-15"), ("stage", "2025-01-15")]
    assert outcome.alerts == []


def test_transient_errors_past_the_retry_budget_fail_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A cannot be started at all (more errors than the 4 retries)
    with glue_pipeline(GlueScript(start_errors={CLEAN_JOB: 10})) as machine:
        outcome = machine.run({"run_date": "2025-01-15"})
    # THEN after 1 + 4 attempts the pipeline fails with an alert carrying the Glue error
    assert outcome.status == "FAILED"
    assert outcome.runs == []
    assert [a["error"] for a in outcome.alerts] == ["Glue.ConcurrentRunsExceededException"]


def test_failed_job_run_is_not_retried(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A fails once and would succeed on a second run
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["FAILED", "SUCCEEDED"]})) as machine:
        outcome = machine.run({"run_date": "2025-01-15"})
    # THEN a real job failure is not retried blindly: one run only
    assert outcome.status == "FAILED"
    assert started(outcome.runs) == [("clean", "2025-01-15")]


def test_rerun_from_stage_never_starts_clean(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_rerun_stage.json"))
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("stage", "2025-01-15")]


def test_backfill_runs_each_date_in_order_across_a_month_end(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_backfill.json"))
    assert outcome.status == "SUCCEEDED"
    dates = ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]
    assert started(outcome.runs) == [(step, d) for d in dates for step in ("clean", "stage")]


def test_backfill_from_stage_runs_only_stage_for_each_date(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_backfill_stage.json"))
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("stage", d) for d in ("2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02")]


def test_backfill_crosses_leap_day_and_year_end(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        leap = machine.run({"from_date": "2024-02-28", "to_date": "2024-03-01", "from_step": "stage"})
        year_end = machine.run({"from_date": "2023-12-31", "to_date": "2024-01-01", "from_step": "stage"})
    assert leap.status == year_end.status == "SUCCEEDED"
    assert [d for _, d in started(year_end.runs)] == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
        "2023-12-31",
        "2024-01-01",
    ]


def test_backfill_stops_at_the_first_failed_date(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A succeeds for the first date and fails for the second
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["SUCCEEDED", "FAILED"]})) as machine:
        outcome = machine.run(fixture_input("sfn_backfill.json"))
    # THEN nothing runs after the failure and one alert names the failed date
    assert outcome.status == "FAILED"
    assert started(outcome.runs) == [("clean", "2025-01-30"), ("stage", "2025-01-30"), ("clean", "2025-01-31")]
    assert [(a["step"], a["run_date"]) for a in outcome.alerts] == [("clean", "2025-01-31")]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2025, 1, 16, 2, 0, 5, tzinfo=UTC), "2025-01-15"),
        (datetime(2025, 5, 1, 2, 0, tzinfo=UTC), "2025-04-30"),
        (datetime(2024, 3, 1, 2, 0, tzinfo=UTC), "2024-02-29"),
        (datetime(2025, 3, 1, 2, 0, tzinfo=UTC), "2025-02-28"),
        (datetime(2025, 1, 1, 0, 30, tzinfo=UTC), "2024-12-31"),
    ],
)
def test_scheduled_run_processes_the_previous_utc_day(
    glue_pipeline: RunPipeline, start: datetime, expected: str
) -> None:
    # GIVEN the schedule's empty input and an execution started at `start`
    with glue_pipeline(GlueScript(start_time=start)) as machine:
        outcome = machine.run(fixture_input("sfn_scheduled.json"))
    # THEN both jobs ran for the day before
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("clean", expected), ("stage", expected)]


def test_scheduled_run_with_the_real_start_time(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run({})
    day_before = (outcome.start_date.astimezone(UTC) - timedelta(days=1)).date().isoformat()
    assert outcome.status == "SUCCEEDED"
    assert started(outcome.runs) == [("clean", day_before), ("stage", day_before)]


@pytest.mark.parametrize(
    ("payload", "cause_part"),
    [
        (fixture_input("sfn_invalid_date.json"), "2025-02-30"),
        ({"run_date": "2025-1-15"}, "2025-1-15"),
        ({"run_date": "2025/01/15"}, "2025/01/15"),
        ({"run_date": "2025-01-15-01"}, "2025-01-15-01"),
        ({"run_date": "2025--01-15"}, "2025--01-15"),
        ({"run_date": "2025-13-01"}, "2025-13-01"),
        ({"run_date": "2025-00-10"}, "2025-00-10"),
        ({"run_date": "2023-02-29"}, "2023-02-29"),
        ({"run_date": "1999-12-31"}, "1999-12-31"),
        ({"run_date": 20250115}, "20250115"),
        ({"run_date": ""}, "dates must be"),
        ({"run_date": "2025-01-15", "from_step": "load"}, "from_step"),
        ({"run_date": "2025-01-15", "from_step": 1}, "from_step"),
        ({"from_date": "2025-02-02", "to_date": "2025-01-30"}, "after to_date"),
        ({"from_date": "2025-01-30"}, "both from_date and to_date"),
        ({"run_date": "2025-01-15", "from_date": "2025-01-15", "to_date": "2025-01-16"}, "not both"),
        ({"from_step": "stage"}, "unknown input"),
        ({"rundate": "2025-01-15"}, "unknown input"),
    ],
)
def test_bad_input_fails_at_once_and_runs_no_job(
    glue_pipeline: RunPipeline, payload: dict[str, Any], cause_part: str
) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(payload)
    assert outcome.status == "FAILED"
    assert outcome.error == "InvalidInput"
    assert outcome.cause is not None and cause_part in outcome.cause
    assert outcome.runs == []
    assert outcome.alerts == []
