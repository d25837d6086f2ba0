"""The real pipeline ASL, run by moto's Step Functions interpreter against moto's Glue, S3, DynamoDB,
EventBridge and SNS (tests/infra/sfn_harness.py scripts what the Glue jobs do)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto_support import MOTO_CONFIG, load_template, patch_step_functions
from sfn_harness import (
    ASL_PATH,
    CLEAN_JOB,
    EVENTS,
    LAKE_ROOT,
    REGION,
    ROLE_ARN,
    STAGE_JOB,
    GlueScript,
    Outcome,
    Pipeline,
    fixture_input,
    pipeline,
    requested_dates,
)

from telco360 import runs

RunPipeline = Callable[..., AbstractContextManager[Pipeline]]
D = "2025-01-15"
SUBJECT = "telco360 test: a pipeline execution failed"


@pytest.fixture
def glue_pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunPipeline]:
    def start(script: GlueScript | None = None) -> AbstractContextManager[Pipeline]:
        return pipeline(monkeypatch, script)

    yield start


def started(outcome: Outcome) -> list[tuple[str, str, str]]:
    """(job, first date, last date) of every Glue run, in start order, as the job resolves its arguments."""
    found = []
    for job, args in outcome.runs:
        dates = requested_dates(args)
        found.append(("clean" if job == CLEAN_JOB else "stage", dates[0].isoformat(), dates[-1].isoformat()))
    return found


def requests(outcome: Outcome) -> list[tuple[str, str]]:
    """(job, --request) of every Glue run, in start order: the request text as the jobs get it."""
    return [("clean" if job == CLEAN_JOB else "stage", args["--request"]) for job, args in outcome.runs]


def event_dates(outcome: Outcome) -> list[str]:
    return [e["detail"]["snapshot_date"] for e in outcome.events]


def failed_steps(outcome: Outcome) -> list[tuple[str, str]]:
    """(step, error) of each alert: the steps the alert's ``failed`` names (one per alert)."""
    return [(step, error["Error"]) for alert in outcome.alerts for step, error in alert["failed"].items()]


def text(request: dict[str, Any]) -> str:
    """A request as States.JsonToString writes it (compact)."""
    return json.dumps(request, separators=(",", ":"))


# --- the happy paths ---------------------------------------------------------------------------------
def test_rerun_runs_clean_then_stage_and_publishes_the_snapshot(glue_pipeline: RunPipeline) -> None:
    # GIVEN a rerun request for one date (the reference fixture)
    with glue_pipeline() as machine:
        # WHEN it runs
        outcome = machine.run(fixture_input("sfn_rerun.json"))
    # THEN job A then job B ran once each for that date
    assert outcome.status == "SUCCEEDED", outcome.cause
    assert started(outcome) == [("clean", D, D), ("stage", D, D)]
    # AND each got the request as text and the execution's start time, which the jobs resolve
    clean_args, stage_args = (args for _, args in outcome.runs)
    assert set(clean_args) == {"--request", "--requested_at", "--lake_root"}
    assert clean_args["--request"] == stage_args["--request"] == text({"run_date": D})
    assert clean_args["--requested_at"] == stage_args["--requested_at"]
    requested_at = datetime.fromisoformat(clean_args["--requested_at"].replace("Z", "+00:00"))
    assert abs(requested_at - outcome.start_date) < timedelta(seconds=1)
    assert clean_args["--lake_root"] == stage_args["--lake_root"] == LAKE_ROOT
    execution_name = outcome.arn.rsplit(":", 1)[-1]
    assert stage_args["--report_key"] == f"_reports/executions/{execution_name}/stage.json"
    # AND the output carries both Glue runs and the dates Job B rebuilt
    assert outcome.output is not None
    assert outcome.output["clean"]["JobRunState"] == outcome.output["stage"]["JobRunState"] == "SUCCEEDED"
    assert outcome.output["stage_report"]["report"]["rebuilt_dates"] == [D]
    assert "failed" not in outcome.output
    # AND one snapshot.ready event tells the warehouse where the manifest is; no alert; the lock is free
    assert len(outcome.events) == 1
    event = outcome.events[0]
    assert (event["source"], event["detail-type"]) == ("telco360.test", "telco360.snapshot.ready")
    assert event["detail"] == {
        "snapshot_date": D, "tables": {"customers": 10, "plans": 11, "customer_360": 12, "activity": 13},
        "manifest_key": f"staging/_manifests/snapshot_date={D}/manifest.json", "lake_root": LAKE_ROOT,
        "build": "incremental", "execution": outcome.arn,
    }
    assert outcome.arn in event["resources"]
    assert outcome.alerts == []
    assert outcome.lock is None


def test_rerun_rolls_later_snapshots_forward_and_announces_each(glue_pipeline: RunPipeline) -> None:
    # GIVEN snapshots already exist for D+1 .. D+3
    later = ["2025-01-16", "2025-01-17", "2025-01-18"]
    with glue_pipeline(GlueScript(snapshots=set(later))) as machine:
        # WHEN D is rerun
        outcome = machine.run({"run_date": D})
    # THEN Job B ran once (it rolls forward by itself) and the output and events list every rebuilt date in order
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("clean", D, D), ("stage", D, D)]
    assert outcome.output is not None
    assert outcome.output["stage_report"]["report"]["rebuilt_dates"] == [D, *later]
    assert event_dates(outcome) == [D, *later]


def test_rerun_from_stage_never_starts_clean(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_rerun_stage.json"))
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("stage", D, D)]
    assert event_dates(outcome) == [D]


def test_backfill_is_one_run_of_each_job_over_the_range(glue_pipeline: RunPipeline) -> None:
    # GIVEN a backfill across a month end
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_backfill.json"))
    # THEN job A covers the range in one run, then job B, and every date's snapshot is announced in order
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("clean", "2025-01-30", "2025-02-02"), ("stage", "2025-01-30", "2025-02-02")]
    assert event_dates(outcome) == ["2025-01-30", "2025-01-31", "2025-02-01", "2025-02-02"]


def test_backfill_from_stage_runs_only_stage(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_backfill_stage.json"))
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("stage", "2025-01-30", "2025-02-02")]
    assert len(outcome.events) == 4


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2025, 1, 16, 2, 0, 5, tzinfo=UTC), "2025-01-15"),
        (datetime(2024, 3, 1, 2, 0, tzinfo=UTC), "2024-02-29"),
        (datetime(2025, 1, 1, 0, 30, tzinfo=UTC), "2024-12-31"),
        (datetime(1999, 1, 1, 0, 30, tzinfo=UTC), "1998-12-31"),
    ],
)
def test_empty_input_runs_the_day_before_the_execution_start(
    glue_pipeline: RunPipeline, start: datetime, expected: str
) -> None:
    # GIVEN the empty input (sfn_scheduled.json) and an execution started at `start`
    with glue_pipeline(GlueScript(start_time=start)) as machine:
        outcome = machine.run(fixture_input("sfn_scheduled.json"))
    # THEN both jobs get {} and the start time itself, which telco360.runs turns into the day before
    assert outcome.status == "SUCCEEDED"
    instant = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [(args["--request"], args["--requested_at"]) for _, args in outcome.runs] == [("{}", instant)] * 2
    assert started(outcome) == [("clean", expected, expected), ("stage", expected, expected)]
    assert event_dates(outcome) == [expected]


def test_the_schedules_time_decides_the_day_not_the_start(glue_pipeline: RunPipeline) -> None:
    # GIVEN the schedule's input, delivered late (a Scheduler retry starts the execution the next day)
    scheduled = "2025-03-01T02:00:00Z"
    with glue_pipeline(GlueScript(start_time=datetime(2025, 3, 2, 9, 0, tzinfo=UTC))) as machine:
        outcome = machine.run({"scheduled_time": scheduled})
    # THEN the jobs process the day before the scheduled time
    assert outcome.status == "SUCCEEDED"
    assert requests(outcome) == [("clean", text({"scheduled_time": scheduled})),
                                 ("stage", text({"scheduled_time": scheduled}))]
    assert started(outcome) == [("clean", "2025-02-28", "2025-02-28"), ("stage", "2025-02-28", "2025-02-28")]
    assert event_dates(outcome) == ["2025-02-28"]


def test_the_scheduled_time_fixture_runs_the_day_before_it(glue_pipeline: RunPipeline) -> None:
    # GIVEN the fixture with the schedule's input shape, started on another day
    with glue_pipeline(GlueScript(start_time=datetime(2025, 1, 20, 9, 0, tzinfo=UTC))) as machine:
        outcome = machine.run(fixture_input("sfn_scheduled_time.json"))
    # THEN both jobs process the day before the scheduled time, and that snapshot is announced
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("clean", D, D), ("stage", D, D)]
    assert event_dates(outcome) == [D]


def test_template_schedule_sends_its_scheduled_time() -> None:
    # The input the machine reads as the schedule's must be what the template's schedule sends.
    events = load_template()["Resources"]["PipelineStateMachine"]["Properties"]["Events"]
    schedules = [e["Properties"] for e in events.values() if e["Type"] == "ScheduleV2"]
    assert [json.loads(s["Input"]) for s in schedules] == [{"scheduled_time": "<aws.scheduler.scheduled-time>"}]


# --- failures: fail fast, one alert, the lock released, no snapshot event -------------------------------
def test_failed_clean_job_stops_before_stage_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A fails
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["FAILED"]})) as machine:
        # WHEN a date is rerun
        outcome = machine.run({"run_date": D})
        failed_run_ids = machine.job_run_ids(CLEAN_JOB)
    # THEN job B never started, one alert names the step, its error and the Glue run, and the run FAILED
    assert outcome.status == "FAILED"
    assert outcome.error == "PipelineFailed"
    assert started(outcome) == [("clean", D, D)]
    assert len(outcome.alerts) == 1
    alert = outcome.alerts[0]
    assert set(alert) == {"summary", "failed", "request", "execution", "subject"}
    assert list(alert["failed"]) == ["clean"] and alert["failed"]["clean"]["Error"] == "States.TaskFailed"
    assert failed_run_ids[0] in alert["failed"]["clean"]["Cause"]
    assert alert["execution"] == outcome.arn and alert["request"] == {"run_date": D}
    assert alert["subject"] == SUBJECT
    # AND the summary, also the execution's cause, says which request failed and how
    summary = f'the request {text({"run_date": D})} failed: {text(alert["failed"])}'
    assert alert["summary"] == outcome.cause == summary
    # AND the lock is released and no snapshot was announced
    assert outcome.lock is None
    assert outcome.events == []


def test_failed_stage_job_alerts_once_naming_stage_and_announces_nothing(glue_pipeline: RunPipeline) -> None:
    with glue_pipeline(GlueScript(outcomes={STAGE_JOB: ["FAILED"]})) as machine:
        outcome = machine.run({"run_date": D})
    assert outcome.status == "FAILED"
    assert started(outcome) == [("clean", D, D), ("stage", D, D)]
    assert failed_steps(outcome) == [("stage", "States.TaskFailed")]
    assert outcome.cause is not None and '"stage":{"Error":"States.TaskFailed"' in outcome.cause
    assert outcome.events == []
    assert outcome.lock is None


def test_a_stage_job_without_its_report_fails_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN a Job B that succeeds but writes no run report (e.g. an older script is deployed)
    with glue_pipeline(GlueScript(write_report=False)) as machine:
        outcome = machine.run({"run_date": D})
    # THEN the run fails naming the publish step (the snapshots are built, the warehouse was not told)
    assert outcome.status == "FAILED"
    assert [list(a["failed"]) for a in outcome.alerts] == [["publish"]]
    failure = outcome.alerts[0]["failed"]["publish"]
    assert "NoSuchKey" in failure["Error"] + failure["Cause"]
    assert outcome.events == []
    assert outcome.lock is None


def test_the_alert_subject_stays_short_whatever_the_request(glue_pipeline: RunPipeline) -> None:
    # GIVEN a request with a long value, and an impossible date (SNS refuses a subject of 100 characters or more)
    with glue_pipeline() as machine:
        outcome = machine.run({"run_date": "2025-02-30" + "9" * 300})
    # THEN the one alert is sent all the same, with the constant subject
    assert outcome.status == "FAILED"
    assert [a["subject"] for a in outcome.alerts] == [SUBJECT]
    assert len(SUBJECT) < 100 and SUBJECT.isascii()


def test_a_failed_scheduled_run_names_its_request_and_releases_the_lock_before_the_alert(
    glue_pipeline: RunPipeline,
) -> None:
    # GIVEN the empty request, and job A failing
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["FAILED"]})) as machine:
        outcome = machine.run({})
        states = [state for state, what, _, _ in machine.attempts(outcome.arn) if what == "entered"]
    # THEN the summary names the request as sent ({}), and the lock was released before the alert
    assert outcome.cause is not None and outcome.cause.startswith('the request {} failed: {"clean":')
    assert states == ["AcquireLock", "CleanData", "ReleaseLockAfterFailure", "NotifyFailure"]
    assert [a["request"] for a in outcome.alerts] == [{}]


def test_transient_glue_error_is_retried_then_succeeds(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A's first two StartJobRun calls hit ConcurrentRunsExceededException
    with glue_pipeline(GlueScript(start_errors={CLEAN_JOB: 2})) as machine:
        outcome = machine.run({"run_date": D})
    # THEN the retries got it started once and the pipeline succeeded without an alert
    assert outcome.status == "SUCCEEDED"
    assert started(outcome) == [("clean", D, D), ("stage", D, D)]
    assert outcome.alerts == []


def test_transient_errors_past_the_retry_budget_fail_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN job A cannot be started at all (more errors than the 4 retries)
    with glue_pipeline(GlueScript(start_errors={CLEAN_JOB: 10})) as machine:
        outcome = machine.run({"run_date": D})
        attempts = machine.attempts(outcome.arn)
    # THEN after 1 + 4 attempts the pipeline fails with an alert carrying the Glue error
    assert outcome.status == "FAILED"
    assert outcome.runs == []
    assert [e for s, what, e, _ in attempts if s == "CleanData" and what == "failed"] == [
        "Glue.ConcurrentRunsExceededException"] * 5
    assert failed_steps(outcome) == [("clean", "Glue.ConcurrentRunsExceededException")]
    assert outcome.lock is None


@pytest.mark.parametrize("job", [CLEAN_JOB, STAGE_JOB])
def test_failed_job_run_is_not_retried(glue_pipeline: RunPipeline, job: str) -> None:
    # GIVEN a STANDARD stack (prod) and a job that fails once and would succeed on a second run
    with glue_pipeline(GlueScript(outcomes={job: ["FAILED", "SUCCEEDED"]}, execution_class="STANDARD")) as machine:
        outcome = machine.run({"run_date": D})
    # THEN a real job failure is not retried blindly: one run only
    assert outcome.status == "FAILED"
    assert started(outcome) == ([("clean", D, D)] if job == CLEAN_JOB else [("clean", D, D), ("stage", D, D)])
    assert len(outcome.alerts) == 1


@pytest.mark.parametrize(("job", "state"), [(CLEAN_JOB, "CleanData"), (STAGE_JOB, "BuildSnapshots")])
def test_on_flex_a_failed_job_run_is_retried_once_then_succeeds(glue_pipeline: RunPipeline, job: str,
                                                                 state: str) -> None:
    # GIVEN a stack on FLEX capacity, and a job whose first run ends FAILED (e.g. interrupted when its spare
    # capacity was reclaimed) and whose second run succeeds
    with glue_pipeline(GlueScript(outcomes={job: ["FAILED", "SUCCEEDED"]}, execution_class="FLEX")) as machine:
        outcome = machine.run({"run_date": D})
        run_ids = machine.job_run_ids(job)
        attempts = [(what, error, cause) for s, what, error, cause in machine.attempts(outcome.arn) if s == state]
    # THEN that job ran twice (two Glue runs), the pipeline succeeded without an alert
    assert outcome.status == "SUCCEEDED", outcome.cause
    expected = [("clean", D, D), ("clean", D, D), ("stage", D, D)] if job == CLEAN_JOB else [
        ("clean", D, D), ("stage", D, D), ("stage", D, D)]
    assert started(outcome) == expected
    assert len(set(run_ids)) == 2
    assert outcome.alerts == [] and event_dates(outcome) == [D] and outcome.lock is None
    # AND it was the task's Retry: entered once, the first attempt failed naming the first Glue run, the second
    # attempt succeeded, and the output carries the second run
    assert [(what, error) for what, error, _ in attempts] == [
        ("entered", None), ("failed", "States.TaskFailed"), ("succeeded", None)]
    assert run_ids[0] in str(attempts[1][2])
    assert outcome.output is not None
    assert outcome.output["clean" if job == CLEAN_JOB else "stage"]["JobRunId"] == run_ids[1]


def test_on_flex_a_job_run_that_fails_twice_fails_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN FLEX, and job A failing for real (a data problem fails every run)
    with glue_pipeline(GlueScript(outcomes={CLEAN_JOB: ["FAILED", "FAILED", "SUCCEEDED"]},
                                  execution_class="FLEX")) as machine:
        outcome = machine.run({"run_date": D})
        run_ids = machine.job_run_ids(CLEAN_JOB)
    # THEN the retry is bounded: two runs of job A, never job B, one alert naming the second run, the lock released
    assert outcome.status == "FAILED"
    assert started(outcome) == [("clean", D, D), ("clean", D, D)]
    assert failed_steps(outcome) == [("clean", "States.TaskFailed")]
    assert run_ids[1] in outcome.alerts[0]["failed"]["clean"]["Cause"]
    assert outcome.lock is None and outcome.events == []


def test_on_flex_transient_start_errors_keep_their_own_budget(glue_pipeline: RunPipeline) -> None:
    # GIVEN FLEX and job A that cannot be started at all: the Glue API retrier matches first and decides
    with glue_pipeline(GlueScript(start_errors={CLEAN_JOB: 10}, execution_class="FLEX")) as machine:
        outcome = machine.run({"run_date": D})
        attempts = machine.attempts(outcome.arn)
    # THEN no extra attempt from the failed-run retrier: 1 + 4 attempts, no run, one alert
    assert outcome.status == "FAILED"
    assert outcome.runs == []
    assert len([a for a in attempts if a[:2] == ("CleanData", "failed")]) == 5
    assert failed_steps(outcome) == [("clean", "Glue.ConcurrentRunsExceededException")]


@pytest.mark.parametrize(("execution_class", "expected"),
                         [("FLEX", "States.TaskFailed"), ("STANDARD", "Telco360.NoRerunOnStandard")])
def test_the_rerun_retrier_names_the_error_the_template_chooses(execution_class: str, expected: str) -> None:
    # The harness substitutes what CloudFormation would: on STANDARD a name no task raises.
    from sfn_harness import template_substitution

    assert template_substitution("GlueRunRetriedOn", execution_class) == expected


def test_an_impossible_date_fails_in_job_a_with_one_alert(glue_pipeline: RunPipeline) -> None:
    # GIVEN the invalid-date fixture (2025-02-30): the jobs refuse it (telco360.runs), the ASL does not parse dates
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input("sfn_invalid_date.json"))
    # THEN job A's run fails, job B never runs, one alert names the step and the request, the lock is free again
    assert outcome.status == "FAILED"
    assert requests(outcome) == [("clean", text({"run_date": "2025-02-30"}))]
    assert failed_steps(outcome) == [("clean", "States.TaskFailed")]
    assert outcome.alerts[0]["request"] == {"run_date": "2025-02-30"}
    assert outcome.lock is None and outcome.events == []


MALFORMED: list[Any] = [
    {"run_date": D, "from_date": D, "to_date": "2025-01-16"},
    {"from_date": "2025-01-30"},
    {"to_date": "2025-01-30"},
    {"run_date": D, "from_step": "load"},
    {"run_date": D, "from_step": 1},
    {"run_date": 20250115},
    {"from_date": "2025-01-30", "to_date": 20250131},
    {"from_step": "stage"},
    {"rundate": D},
    {"run_date": D, "from_stpe": "stage"},
    {"run_date": D, "from_step": "stage", "note": "x"},
    {"from_date": "2025-01-30", "to_date": "2025-01-31", "extra": {"a": 1, "b": 2}},
    {"scheduled_time": "2025-01-16T02:00:00Z", "from_step": "stage"},
    {"scheduled_time": "2025-01-16T02:00:00Z", "run_date": D},
    {"scheduled_time": 1},
    {"run_date": "2025-01-15,2025-01-16"},
    [],
    [D],
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_a_malformed_request_fails_at_once_without_lock_job_or_alert(glue_pipeline: RunPipeline, payload: Any) -> None:
    # GIVEN a request of a shape the machine does not know (the CLI never sends one)
    with glue_pipeline() as machine:
        outcome = machine.run(payload)
    # THEN it is refused before the lock: the caller gets the accepted shapes, nothing ran
    assert outcome.status == "FAILED"
    assert outcome.error == "InvalidInput"
    assert outcome.cause == f"expected {runs.ACCEPTED_REQUESTS}"
    assert outcome.runs == [] and outcome.alerts == [] and outcome.lock is None


@pytest.mark.parametrize("fixture", sorted(p.name for p in EVENTS.glob("sfn_*.json")))
def test_every_fixture_input_reaches_the_jobs(glue_pipeline: RunPipeline, fixture: str) -> None:
    # GIVEN each input a user may pass to `aws stepfunctions start-execution`
    with glue_pipeline() as machine:
        outcome = machine.run(fixture_input(fixture))
    # THEN each gets past the shape check to the jobs (only the impossible date fails, in job A)
    assert outcome.error != "InvalidInput"
    assert outcome.runs
    assert outcome.status == ("FAILED" if fixture == "sfn_invalid_date.json" else "SUCCEEDED")
    assert outcome.lock is None


# --- the shape guard (Route) and telco360.runs.resolve_request agree -------------------------------------
class Guard:
    """Prepare and Route of the real definition, alone in moto: whether a request passes the shape guard
    (AcquireLock is replaced by a Succeed state, so nothing else runs)."""

    def __init__(self) -> None:
        definition = json.loads(ASL_PATH.read_text())
        states = {name: definition["States"][name] for name in ("Prepare", "Route", "InvalidInput")}
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.arn = self.sfn.create_state_machine(
            name="telco360-test-guard", roleArn=ROLE_ARN,
            definition=json.dumps({"StartAt": "Prepare", "States": states | {"AcquireLock": {"Type": "Succeed"}}}),
        )["stateMachineArn"]

    def accepts(self, payload: Any) -> bool:
        arn = self.sfn.start_execution(stateMachineArn=self.arn, name=f"guard-{uuid.uuid4().hex}",
                                       input=json.dumps(payload))["executionArn"]
        deadline = time.monotonic() + 10
        while (status := self.sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert status in ("SUCCEEDED", "FAILED")
        return status == "SUCCEEDED"


@pytest.fixture
def guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    from moto import mock_aws

    patch_step_functions(monkeypatch)
    with mock_aws(config=MOTO_CONFIG):
        yield Guard()


REQUESTED_AT = "2025-01-16T02:00:05.123Z"
# What a date-valued key holds once its value is made valid: left, the guard's verdict must not change.
VALID_VALUE = {"run_date": D, "from_date": D, "to_date": D, "scheduled_time": "2025-01-16T02:00:00Z"}


def resolver_accepts(payload: Any) -> bool:
    try:
        runs.resolve_request(payload, REQUESTED_AT)
    except ValueError:
        return False
    return True


def assert_agree(guard: Guard, payload: Any) -> None:
    """The guard passes every request the resolver accepts, and refuses only what the resolver refuses
    whatever its dates: a request the guard passes is refused by the jobs for a date, if at all."""
    passes = guard.accepts(payload)
    if resolver_accepts(payload):
        assert passes, f"the guard refuses {payload}, which telco360.runs accepts"
    if passes and isinstance(payload, dict):
        fixed = {k: VALID_VALUE[k] if k in VALID_VALUE and isinstance(v, str) else v for k, v in payload.items()}
        assert resolver_accepts(fixed), f"the guard passes {payload}, whose shape telco360.runs refuses"
    elif passes:
        raise AssertionError(f"the guard passes {payload!r}, which is not an object")


@pytest.mark.parametrize("fixture", sorted(p.name for p in EVENTS.glob("sfn_*.json")))
def test_the_guard_and_the_resolver_accept_every_fixture(guard: Guard, fixture: str) -> None:
    payload = fixture_input(fixture)
    assert guard.accepts(payload)
    assert_agree(guard, payload)
    # only the impossible date is refused, by the jobs
    assert resolver_accepts(payload) == (fixture != "sfn_invalid_date.json")


@pytest.mark.parametrize("payload", MALFORMED)
def test_the_guard_and_the_resolver_refuse_every_malformed_request(guard: Guard, payload: Any) -> None:
    assert not guard.accepts(payload)
    assert not resolver_accepts(payload)


@pytest.mark.parametrize("payload", [{"run_date": "2025-02-30"}, {"from_date": "2025-02-02", "to_date": "2025-01-30"},
                                     {"from_date": "2020-01-01", "to_date": "2025-01-01"}, {"run_date": ""},
                                     {"scheduled_time": "2025-01-16"}, {"run_date": "yesterday", "from_step": "stage"}])
def test_a_wrong_value_passes_the_guard_and_the_jobs_refuse_it(guard: Guard, payload: dict[str, Any]) -> None:
    # Values are the jobs' business (one alert from job A, or job B with from_step stage), never the guard's.
    assert guard.accepts(payload)
    assert not resolver_accepts(payload)
    assert_agree(guard, payload)


_KEYS = st.sampled_from(["run_date", "from_date", "to_date", "scheduled_time", "from_step", "rundate", "x"])
_VALUES = st.sampled_from([D, "2025-02-30", "2025-01-16T02:00:00Z", "clean", "stage", "load", "", "a,b", 1, None,
                           True, {"a": 1}, [D]])


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(_KEYS, _VALUES, max_size=4))
def test_the_guard_and_the_resolver_agree_on_any_request(guard: Guard, payload: dict[str, Any]) -> None:
    assert_agree(guard, payload)


# --- the lock -----------------------------------------------------------------------------------------
def test_a_second_execution_fails_clearly_while_the_first_holds_the_lock(glue_pipeline: RunPipeline) -> None:
    # GIVEN a first execution for D whose job A is still running
    with glue_pipeline(GlueScript(hold={CLEAN_JOB})) as machine:
        first = machine.start({"run_date": D})
        machine.wait_for_runs(1)
        # WHEN a second execution for D starts and its waits for the lock run out
        second = machine.wait(machine.start({"run_date": D}))
        second_states = [state for state, what, _, _ in machine.attempts(second.arn) if what == "entered"]
        lock_meanwhile = machine.lock()
        # AND the first one then finishes
        machine.release_held()
        first_outcome = machine.wait(first)
    # THEN the second started no Glue run, failed naming the holder, and sent one alert
    assert second.status == "FAILED"
    assert requests(second) == [("clean", text({"run_date": D}))]  # the first execution's run only
    assert failed_steps(second) == [("lock", "PipelineLocked")]
    holder = f"another execution holds the pipeline lock: {first}"
    assert second.alerts[0]["failed"]["lock"]["Cause"] == holder
    assert second.cause is not None and holder in second.cause
    # AND, not holding the lock, it went straight to the alert (nothing to release)
    assert second_states == ["AcquireLock", "LockBusy", "NotifyFailure"]
    # AND the first kept its lock meanwhile (with its request), finished normally and released it
    assert lock_meanwhile is not None and lock_meanwhile["owner"] == first
    assert lock_meanwhile["request"] == text({"run_date": D})
    assert first_outcome.status == "SUCCEEDED"
    assert started(first_outcome) == [("clean", D, D), ("stage", D, D)]
    assert first_outcome.lock is None


def test_a_second_execution_waits_for_the_first_and_their_glue_runs_never_overlap(
    glue_pipeline: RunPipeline,
) -> None:
    seen_while_waiting: list[int] = []
    script = GlueScript(hold={CLEAN_JOB})
    with glue_pipeline(script) as machine:
        first = machine.start({"run_date": D})
        machine.wait_for_runs(1)

        def first_finishes_while_second_waits(_seconds: float) -> None:
            # The second execution's first wait for the lock: the first one's job A is still running.
            if not seen_while_waiting:
                seen_while_waiting.append(len(machine.runs()))
                machine.release_held()
                machine.wait(first)

        script.on_retry_wait = first_finishes_while_second_waits
        # WHEN a second execution for D starts while the first holds the lock
        second = machine.wait(machine.start({"run_date": D}))
        first_outcome = machine.wait(first)
        clean_starts = sorted(r["StartedOn"] for r in machine.glue.get_job_runs(JobName=CLEAN_JOB)["JobRuns"])
    # THEN it waited: while it waited only the first's job A had started, then it ran after the first ended
    assert seen_while_waiting == [1]
    assert first_outcome.status == second.status == "SUCCEEDED"
    assert started(second) == [("clean", D, D), ("stage", D, D)] * 2
    first_stage_key = second.runs[1][1]["--report_key"]
    assert first.rsplit(":", 1)[-1] in first_stage_key  # the first two runs are the first execution's
    assert clean_starts[-1] >= first_outcome.stop_date
    assert second.lock is None


def test_the_release_machine_frees_a_lock_left_by_an_ended_execution(glue_pipeline: RunPipeline) -> None:
    dead = "arn:aws:states:eu-west-1:123456789012:execution:telco360-test-pipeline:timed-out"
    with glue_pipeline() as machine:
        # GIVEN an execution that timed out holding the lock (no Catch ran)
        machine.take_lock(dead)
        # WHEN its status-change event reaches the release machine
        released = machine.release_lock_of_ended(dead, "TIMED_OUT")
        # THEN the lock is free and the next execution runs at once
        after_release = machine.lock()
        outcome = machine.run({"run_date": D})
    assert released.status == "SUCCEEDED"
    assert after_release is None
    assert outcome.status == "SUCCEEDED" and outcome.alerts == []


def test_the_release_machine_never_frees_another_executions_lock(glue_pipeline: RunPipeline) -> None:
    holder = "arn:aws:states:eu-west-1:123456789012:execution:telco360-test-pipeline:running"
    ended = "arn:aws:states:eu-west-1:123456789012:execution:telco360-test-pipeline:ended-earlier"
    with glue_pipeline() as machine:
        # GIVEN the lock belongs to a running execution, and an earlier one (which had released it) ends
        machine.take_lock(holder)
        released = machine.release_lock_of_ended(ended, "ABORTED")
        after_other_end = machine.lock()
        # AND an end event with no lock at all
        machine.dynamodb.delete_item(TableName="telco360-test-pipeline-lock", Key={"lock_id": {"S": "pipeline"}})
        nothing_held = machine.release_lock_of_ended(ended, "SUCCEEDED")
    # THEN the holder keeps it, and both end events are handled without error
    assert released.status == nothing_held.status == "SUCCEEDED"
    assert after_other_end is not None and after_other_end["owner"] == holder


def test_the_release_rule_matches_every_end_of_the_pipeline_only() -> None:
    # GIVEN the template's EventBridge rule that starts the release machine
    template = load_template()
    release = template["Resources"]["ReleaseLockStateMachine"]["Properties"]
    rules = [e["Properties"]["Pattern"] for e in release["Events"].values() if e["Type"] == "EventBridgeRule"]
    assert len(rules) == 1
    pipeline_arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:telco360-dev-pipeline"
    pattern = json.dumps(rules[0]).replace('{"Ref": "PipelineStateMachine"}', json.dumps(pipeline_arn))

    def event(status: str, machine_arn: str = pipeline_arn) -> dict[str, Any]:
        # PutEvents cannot use the reserved aws.* sources; moto does not check, which lets the real
        # pattern be tried against the event Step Functions sends.
        return {"Source": "aws.states", "DetailType": "Step Functions Execution Status Change", "Detail": json.dumps(
            {"status": status, "stateMachineArn": machine_arn, "executionArn": f"{machine_arn}:x"})}

    from moto import mock_aws

    with mock_aws(config=MOTO_CONFIG):
        # WHEN each candidate event is put on the bus with that rule in place (moto matches it)
        events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="release-lock")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="release-lock", EventPattern=pattern)
        events.put_targets(Rule="release-lock", Targets=[{"Id": "release", "Arn": queue_arn}])

        def matches(candidate: dict[str, Any]) -> bool:
            events.put_events(Entries=[candidate])
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            for m in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            return bool(messages)

        # THEN every end of the pipeline matches (a Catch never runs on TIMED_OUT or ABORTED) ...
        assert all(matches(event(s)) for s in ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"))
        # ... but not a start, nor another state machine's end
        assert not matches(event("RUNNING"))
        assert not matches(event("FAILED", pipeline_arn.replace("pipeline", "other")))
