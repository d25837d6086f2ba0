"""``telco360 start | backfill | replay | replay-rejected | redrive | status`` against the stack in
moto, with the real ASL executed by moto's interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from ops_moto_stack import REGION, REPO, Deployed

from telco360 import runs
from telco360.cli import main

D = "2025-01-02"
# Not imported from conftest: with tests/ops before tests/local on the command line, `conftest` is
# tests/local's module by then (pytest's prepend import mode caches one module per name).
SAMCONFIG = REPO / "samconfig.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--samconfig", str(SAMCONFIG), "--poll", "0.2"] if argv[0] in ("start", "backfill", "replay")
                else [*argv, "--samconfig", str(SAMCONFIG)])
    out, err = capsys.readouterr()
    return code, out, err


def _dates(args: dict[str, str]) -> tuple[str, str]:
    """The first and last date a Glue run covers, as the job resolves its arguments."""
    return runs.job_dates({k.removeprefix("--"): v for k, v in args.items()})


def _inputs(stack: Deployed) -> list[dict[str, str]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    executions = sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


def test_start_and_wait_runs_job_a_then_job_b_for_the_date(stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN a run for D is started and awaited
    code, out, _ = run(capsys, "start", "--date", D, "--wait")

    # THEN it succeeded, both jobs ran in order with the date, and the outcome names the steps
    assert code == 0, out
    assert [(job, _dates(args)) for job, args in stack.job_runs()] == [(stack.clean_job, (D, D)),
                                                                        (stack.stage_job, (D, D))]
    assert [args["--request"] for _, args in stack.job_runs()] == [
        json.dumps({"run_date": D}, separators=(",", ":"))] * 2
    assert f"CleanData {D}: SUCCEEDED" in out and f"BuildSnapshots {D}: SUCCEEDED" in out
    assert f"snapshots rebuilt (1): {D}" in out
    assert _inputs(stack) == [{"run_date": D}]


def test_start_from_stage_runs_job_b_only(stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "start", "--date", D, "--from", "stage", "--wait")
    assert code == 0
    assert [job for job, _ in stack.job_runs()] == [stack.stage_job]
    assert _inputs(stack) == [{"run_date": D, "from_step": "stage"}]


def test_start_without_wait_returns_once_started(stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "start", "--date", D)
    assert code == 0
    assert "started arn:aws:states" in out and f"run-{D}-" in out


def test_a_failed_execution_exits_non_zero_and_job_b_never_starts(
        failing_clean_stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "start", "--date", D, "--wait")
    assert code == 1
    assert f"CleanData {D}: FAILED (States.TaskFailed)" in out
    failed = '{"clean":{"Error":"States.TaskFailed"'
    assert f'error: PipelineFailed: the request {{"run_date":"{D}"}} failed: {failed}' in out
    assert [job for job, _ in failing_clean_stack.job_runs()] == [failing_clean_stack.clean_job]


def test_backfill_is_one_execution_processing_the_dates_in_order(
        stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "backfill", "--from", "2025-01-30", "--to", "2025-02-01", "--wait")
    assert code == 0
    assert _inputs(stack) == [{"from_date": "2025-01-30", "to_date": "2025-02-01"}]
    # one run of each job over the whole range, in order
    ranges = [(job, _dates(args)) for job, args in stack.job_runs()]
    assert ranges == [(stack.clean_job, ("2025-01-30", "2025-02-01")), (stack.stage_job, ("2025-01-30", "2025-02-01"))]
    assert "dates 2025-01-30..2025-02-01" in out and "BuildSnapshots 2025-01-30..2025-02-01: SUCCEEDED" in out
    assert "snapshots rebuilt (3): 2025-01-30, 2025-01-31, 2025-02-01" in out


def test_replay_starts_job_a_for_the_date_when_files_are_archived(
        stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one archived plans file for D, with the gate's line index beside it
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=stack.bucket, Key=f"archive/plans/ingest_date={D}/plans.csv", Body=b"plan_id\nP1\n")
    s3.put_object(Bucket=stack.bucket, Key=f"archive/plans/ingest_date={D}/_lines/plans.csv.json", Body=b"{}")

    # WHEN it is replayed
    code, out, _ = run(capsys, "replay", "--date", D, "--dataset", "plans", "--wait")

    # THEN the file (not its index: Job A does not read it as data) is listed and a run from Job A is
    # started for D
    assert code == 0
    assert f"archive/plans/ingest_date={D}/plans.csv" in out
    assert "1 archived plans file(s)" in out and "_lines" not in out
    assert _inputs(stack) == [{"run_date": D, "from_step": "clean"}]


def test_replay_without_archived_files_fails_clearly_and_starts_nothing(
        stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "replay", "--date", D, "--dataset", "customers")
    assert code == 1
    assert "no archived customers files" in err
    assert _inputs(stack) == []


def test_replay_rejected_copies_the_fixed_file_back_to_raw_then_deletes_the_rejected_pair(
        stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a rejected file the user has replaced with a fixed one, and its reason file
    s3 = boto3.client("s3", region_name=REGION)
    key = f"rejected/plans/ingest_date={D}/plans_20250102.csv"
    s3.put_object(Bucket=stack.bucket, Key=key, Body=b"plan_id,plan_name\nP1,Basic\n")
    s3.put_object(Bucket=stack.bucket, Key=key + ".reason.json", Body=b"{}")

    # WHEN it is replayed (by its s3:// URI)
    code, out, _ = run(capsys, "replay-rejected", f"s3://{stack.bucket}/{key}")

    # THEN the fixed bytes are in raw/plans/, and neither the rejected file nor its reason remain
    assert code == 0, out
    body = s3.get_object(Bucket=stack.bucket, Key="raw/plans/plans_20250102.csv")["Body"].read()
    assert body == b"plan_id,plan_name\nP1,Basic\n"
    left = s3.list_objects_v2(Bucket=stack.bucket, Prefix="rejected/").get("KeyCount", 0)
    assert left == 0


@pytest.mark.parametrize("key", ["rejected/plans/ingest_date=2025-01-02/missing.csv",
                                 "rejected/plans/ingest_date=2025-01-02/plans.csv.reason.json",
                                 "archive/plans/ingest_date=2025-01-02/plans.csv"])
def test_replay_rejected_refuses_what_is_not_an_existing_rejected_file(
        key: str, stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=stack.bucket, Key="rejected/plans/ingest_date=2025-01-02/plans.csv.reason.json", Body=b"{}")
    code, _, err = run(capsys, "replay-rejected", key)
    assert code == 1 and err
    assert s3.list_objects_v2(Bucket=stack.bucket, Prefix="raw/").get("KeyCount", 0) == 0
    assert s3.list_objects_v2(Bucket=stack.bucket, Prefix="rejected/")["KeyCount"] == 1


def test_status_lists_recent_executions_with_their_dates_and_steps(
        stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a run for D and a run from stage for another date
    run(capsys, "start", "--date", D, "--wait")
    run(capsys, "start", "--date", "2025-01-05", "--from", "stage", "--wait")

    # WHEN the status is asked, for all and then for D only
    code, everything, _ = run(capsys, "status")
    _, only_d, _ = run(capsys, "status", "--date", D)

    # THEN both executions appear with their dates, steps and status; the filter keeps D's
    assert code == 0
    assert everything.count("SUCCEEDED  dates") == 2 and "dates 2025-01-05" in everything
    assert "dates 2025-01-02" in only_d and "2025-01-05" not in only_d
    assert f"CleanData {D}: SUCCEEDED" in only_d


def test_an_unknown_stack_is_a_clear_error(stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "--stack", "no-such-stack")
    assert code == 1 and "no-such-stack" in err


def test_the_prod_environment_names_another_stack(stack: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "--config-env", "prod")
    assert code == 1 and "telco360-prod" in err


@pytest.mark.parametrize("argv", [
    ["start", "--date", "2025-02-30"],
    ["start", "--date", "2025-01-02", "--from", "validate"],
    ["start", "--date", "2025-01-02T00:00:00Z"],
    ["redrive", "--limit", "0"],
    ["backfill", "--from", "2025-01-03", "--to", "2025-01-01"],
    ["backfill", "--from", "2025-01-01"],
    ["replay", "--date", "2025-01-02", "--dataset", "inventory"],
    ["status", "--date", "yesterday"],
    ["status", "--config-env", "nope"],
])
def test_usage_errors_exit_2_before_any_aws_call(argv: list[str], capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # GIVEN no AWS at all: a session would fail loudly if anything tried to create one
    import boto3.session

    def no_aws(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("AWS was called")

    monkeypatch.setattr(boto3.session.Session, "client", no_aws)
    with pytest.raises(SystemExit) as exit_info:
        code = main([*argv, "--samconfig", str(SAMCONFIG)])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


# --- redrive --------------------------------------------------------------------------------------------
def _park(stack: Deployed, key: str, error: str = "TimeoutError") -> dict[str, object]:
    """What Lambda's on-failure destination writes when an S3 event ran out of retries."""
    s3_event = {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": stack.bucket}, "object": {"key": key, "size": 12}}}]}
    record = {"version": "1.0", "timestamp": "2025-01-02T03:04:05.000Z",
              "requestContext": {"requestId": "r-1", "functionArn": stack.outputs["ValidatorFunctionArn"] + ":$LATEST",
                                 "condition": "RetriesExhausted", "approximateInvokeCount": 3},
              "requestPayload": s3_event,
              "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
              "responsePayload": {"errorType": error, "errorMessage": "Task timed out"}}
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=stack.outputs["ValidatorFailedEventsQueueUrl"], MessageBody=json.dumps(record))
    return s3_event


def _queue_depth(stack: Deployed) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.outputs["ValidatorFailedEventsQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def invocations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, object]]]:
    """(function, invocation type, event) of every Lambda invoke moto accepts (it runs nothing)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    seen: list[tuple[str, str, dict[str, object]]] = []
    accept = LambdaSimpleBackend.invoke

    def record(self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: object,
               headers: dict[str, str], response_headers: dict[str, str]) -> object:
        kind = {k.lower(): v for k, v in headers.items()}.get("x-amz-invocation-type", "RequestResponse")
        seen.append((function_name, kind, json.loads(body)))  # type: ignore[arg-type]
        return accept(self, function_name, qualifier, body, headers, response_headers)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", record)
    return seen


def test_redrive_invokes_the_validator_again_then_empties_the_queue(
        stack: Deployed, invocations: list[tuple[str, str, dict[str, object]]],
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN two S3 events parked in the validator's on-failure queue
    first = _park(stack, "raw/plans/plans.csv")
    second = _park(stack, "raw/customers/customers 1.csv")

    # WHEN they are redriven
    code, out, _ = run(capsys, "redrive")

    # THEN the validator got each original S3 event asynchronously (as S3 sends it), and the queue is empty
    assert code == 0, out
    function = stack.outputs["ValidatorFunctionArn"]
    assert sorted((f, kind, json.dumps(e)) for f, kind, e in invocations) == sorted(
        (function, "Event", json.dumps(e)) for e in (first, second))
    assert _queue_depth(stack) == 0
    assert f"sent s3://{stack.bucket}/raw/plans/plans.csv (RetriesExhausted: TimeoutError: Task timed out)" in out
    assert "2 event(s) sent to the validator, 0 kept" in out


def test_redrive_dry_run_lists_and_keeps_everything(
        stack: Deployed, invocations: list[tuple[str, str, dict[str, object]]],
        capsys: pytest.CaptureFixture[str]) -> None:
    _park(stack, "raw/plans/plans.csv")
    code, out, _ = run(capsys, "redrive", "--dry-run")
    # THEN nothing was invoked, the message is still there and visible at once for a real redrive
    assert code == 0
    assert invocations == []
    assert f"would send s3://{stack.bucket}/raw/plans/plans.csv" in out
    assert _queue_depth(stack) == 1
    code, out, _ = run(capsys, "redrive")
    assert code == 0 and len(invocations) == 1 and _queue_depth(stack) == 0


def test_redrive_keeps_a_message_whose_invoke_fails(stack: Deployed, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a parked event and a validator Lambda refuses the invoke (throttled, deleted, ...)
    from moto.awslambda_simple.models import LambdaSimpleBackend

    from telco360.ops.stack import OUTPUT_KEYS  # noqa: F401  (the stack is found as for every command)

    _park(stack, "raw/plans/plans.csv")

    def refuse(*_args: object, **_kwargs: object) -> None:
        return None  # moto answers 404 ResourceNotFound for an invoke that returns nothing

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", refuse)
    code, out, _ = run(capsys, "redrive")
    # THEN it is reported, exit 1, and the message stays to be redriven later
    assert code == 1
    assert f"kept s3://{stack.bucket}/raw/plans/plans.csv" in out
    assert _queue_depth(stack) == 1


def test_redrive_keeps_what_is_not_a_lambda_record(stack: Deployed, capsys: pytest.CaptureFixture[str],
                                                   invocations: list[tuple[str, str, dict[str, object]]]) -> None:
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=stack.outputs["ValidatorFailedEventsQueueUrl"], MessageBody="not json")
    code, out, _ = run(capsys, "redrive")
    assert code == 1 and invocations == []
    assert "not a Lambda on-failure record" in out
    assert _queue_depth(stack) == 1
