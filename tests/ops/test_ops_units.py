"""The ops commands' inputs, stack lookup and key rules, checked before anything reaches AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telco360.ops.executions import backfill_input, dates_of, execution_name, run_input
from telco360.ops.lake import LakeError, raw_key_for
from telco360.ops.redrive import parse
from telco360.ops.stack import StackError, find_samconfig, read_deployment

SAMCONFIG = """version = 0.1
[default.deploy.parameters]
stack_name = "telco360-dev"
region = "eu-west-1"

[prod.deploy.parameters]
stack_name = "telco360-prod"

[prod.global.parameters]
region = "eu-central-1"
"""


def test_run_input_is_the_state_machine_rerun_shape() -> None:
    assert run_input("2025-01-02") == {"run_date": "2025-01-02"}
    assert run_input("2025-01-02", "stage") == {"run_date": "2025-01-02", "from_step": "stage"}


@pytest.mark.parametrize(("value", "message"), [("2025-1-2", "YYYY-MM-DD"), ("2025-02-30", "calendar"),
                                                ("", "YYYY-MM-DD"), ("2023-02-29", "calendar"),
                                                ("2025-01-16T02:00:00Z", "YYYY-MM-DD")])
def test_run_input_refuses_a_malformed_date(value: str, message: str) -> None:
    # GIVEN what a user may mistype; THEN telco360.runs refuses it before any execution starts
    with pytest.raises(ValueError, match=message):
        run_input(value)


@pytest.mark.parametrize("value", ["1999-12-31", "2100-03-01", "0001-01-01", "2024-02-29"])
def test_run_input_takes_any_year(value: str) -> None:
    # The state machine no longer parses dates, so nothing limits the years (telco360.runs decides).
    assert run_input(value) == {"run_date": value}


def test_run_input_refuses_an_unknown_step() -> None:
    with pytest.raises(ValueError, match="from_step"):
        run_input("2025-01-02", "validate")


def test_backfill_input_is_one_range_and_refuses_a_reversed_one() -> None:
    assert backfill_input("2025-01-01", "2025-01-03", "clean") == {
        "from_date": "2025-01-01", "to_date": "2025-01-03", "from_step": "clean"}
    assert backfill_input("2025-01-01", "2025-01-01") == {"from_date": "2025-01-01", "to_date": "2025-01-01"}
    with pytest.raises(ValueError, match="reversed"):
        backfill_input("2025-01-03", "2025-01-01")
    with pytest.raises(ValueError, match="at most"):
        backfill_input("2024-01-01", "2025-06-01")


def test_execution_names_are_readable_unique_and_valid_for_step_functions() -> None:
    first = execution_name({"run_date": "2025-01-02", "from_step": "clean"})
    second = execution_name({"run_date": "2025-01-02", "from_step": "clean"})
    assert first.startswith("run-2025-01-02-clean-") and first != second
    backfill = execution_name({"from_date": "2025-01-01", "to_date": "2025-01-09"})
    assert backfill.startswith("backfill-2025-01-01-to-2025-01-09-")
    assert all(len(n) <= 80 and n.replace("-", "").isalnum() for n in (first, backfill))


def test_dates_of_an_execution_input() -> None:
    # GIVEN each input shape; THEN the dates are those the jobs will process
    assert dates_of({"run_date": "2025-01-02"}) == "2025-01-02"
    assert dates_of({"from_date": "2025-01-01", "to_date": "2025-01-03"}) == "2025-01-01..2025-01-03"
    assert dates_of({"scheduled_time": "2025-03-01T02:00:00Z"}) == "2025-02-28 (scheduled)"
    assert dates_of({}, datetime(2025, 1, 1, 2, 0, tzinfo=UTC)) == "2024-12-31 (scheduled)"
    assert dates_of({}) == "(scheduled)"
    assert dates_of({"run_date": "2025-02-30"}) == '{"run_date": "2025-02-30"}'  # shown as sent


def test_stack_name_and_region_come_from_the_chosen_samconfig_environment(tmp_path: Path) -> None:
    # GIVEN a samconfig.toml with a default and a prod environment
    config = tmp_path / "samconfig.toml"
    config.write_text(SAMCONFIG)

    # THEN each environment names its own stack, and prod's region comes from its global section
    default = read_deployment(config)
    prod = read_deployment(config, "prod")
    assert (default.stack_name, default.region) == ("telco360-dev", "eu-west-1")
    assert (prod.stack_name, prod.region) == ("telco360-prod", "eu-central-1")
    with pytest.raises(StackError, match=r"no \[staging\] environment"):
        read_deployment(config, "staging")


def test_samconfig_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text(SAMCONFIG)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_samconfig(nested) == tmp_path / "samconfig.toml"


def test_the_repository_samconfig_names_a_stack_for_each_environment() -> None:
    config = Path(__file__).resolve().parents[2] / "samconfig.toml"
    assert read_deployment(config).stack_name
    assert read_deployment(config, "prod").stack_name != read_deployment(config).stack_name


def test_a_rejected_file_goes_back_to_its_dataset_folder_in_raw() -> None:
    assert raw_key_for("rejected/plans/ingest_date=2025-01-02/plans.csv") == "raw/plans/plans.csv"
    assert raw_key_for("rejected/unknown/ingest_date=2025-01-02/x.csv") == "raw/x.csv"


@pytest.mark.parametrize("key", ["archive/plans/ingest_date=2025-01-02/plans.csv",
                                 "rejected/plans/plans.csv",
                                 "rejected/plans/ingest_date=2025-01-02/plans.csv.reason.json"])
def test_only_a_rejected_data_file_can_be_replayed(key: str) -> None:
    with pytest.raises(LakeError):
        raw_key_for(key)


def test_a_parked_lambda_record_names_its_files_and_why_it_failed() -> None:
    # GIVEN what Lambda's on-failure destination writes for an S3 event that ran out of retries
    record = {"requestContext": {"condition": "RetriesExhausted"},
              "requestPayload": {"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "raw/plans/p.csv"}}}]},
              "responsePayload": {"errorType": "MemoryError", "errorMessage": "out of memory"}}
    # WHEN it is read
    event = parse({"MessageId": "m1", "ReceiptHandle": "h1", "Body": json.dumps(record)})
    # THEN the original event is kept whole to be sent again, and the listing can say what it is
    assert event.payload == record["requestPayload"]
    assert (event.keys, event.condition, event.error) == (["s3://b/raw/plans/p.csv"], "RetriesExhausted",
                                                           "MemoryError: out of memory")


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"Records": []}), json.dumps({"requestPayload": "x"})])
def test_anything_else_in_the_queue_is_never_sent(body: str) -> None:
    event = parse({"MessageId": "m1", "ReceiptHandle": "h1", "Body": body})
    assert event.payload is None and event.error == "not a Lambda on-failure record"


def test_a_scheduled_execution_covers_the_day_before_its_time() -> None:
    # GIVEN a scheduled, an empty and a backfill request; THEN `status --date` finds them by the days they process
    from telco360.ops.executions import ExecutionView

    start = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    scheduled = ExecutionView("n", "arn", "SUCCEEDED", start, None, "", {"scheduled_time": "2025-03-01T02:00:00Z"})
    empty = ExecutionView("n", "arn", "SUCCEEDED", start, None, "", {})
    backfill = ExecutionView("n", "arn", "SUCCEEDED", start, None, "",
                             {"from_date": "2025-01-30", "to_date": "2025-02-02"})
    assert scheduled.covers("2025-02-28") and not scheduled.covers("2025-03-01")
    assert empty.covers("2025-02-28")
    assert backfill.covers("2025-02-01") and not backfill.covers("2025-02-03")


class _History:
    """A Step Functions client answering one execution's history (what `status` reads)."""

    def __init__(self, events: list[dict[str, object]]) -> None:
        self.events = events

    def get_paginator(self, _name: str) -> _History:
        return self

    def paginate(self, **_kwargs: object) -> list[dict[str, object]]:
        return [{"events": self.events}]


def _entered(name: str, state_input: dict[str, object]) -> dict[str, object]:
    return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name, "input": json.dumps(state_input)}}


def test_status_shows_the_glue_steps_and_what_failed_for_good() -> None:
    from telco360.ops.executions import tasks_of

    request = {"from_date": "2025-01-30", "to_date": "2025-02-02"}
    dates = {"request": request, "request_text": json.dumps(request)}
    # GIVEN a history: the lock was busy once then taken, job A failed and its failure was caught
    history = _History([
        _entered("AcquireLock", dates), {"type": "TaskScheduled"},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "DynamoDB.ConditionalCheckFailedException"}},
        {"type": "TaskScheduled"}, {"type": "TaskSucceeded"}, {"type": "TaskStateExited"},
        _entered("CleanData", dates), {"type": "TaskScheduled"},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "States.TaskFailed"}}, {"type": "TaskStateExited"},
        _entered("ReleaseLockAfterFailure", dates), {"type": "TaskSucceeded"}, {"type": "TaskStateExited"},
    ])
    # THEN the retried lock is not a failure, job A is, with its range; the plumbing is not shown
    shown = [(t.state, t.dates, t.status, t.error) for t in tasks_of(history, "arn")]
    assert shown == [("CleanData", "2025-01-30..2025-02-02", "FAILED", "States.TaskFailed")]


def test_status_shows_a_step_its_retry_ran_again_by_its_last_attempt_and_the_scheduled_day() -> None:
    from telco360.ops.executions import tasks_of

    # GIVEN a scheduled execution ({}) whose job A run failed once on FLEX and succeeded when its Retry ran it again
    state = {"request": {}, "request_text": "{}"}
    history = _History([
        _entered("CleanData", state), {"type": "TaskScheduled"},
        {"type": "TaskFailed", "taskFailedEventDetails": {"error": "States.TaskFailed"}},
        {"type": "TaskScheduled"}, {"type": "TaskSucceeded"}, {"type": "TaskStateExited"},
    ])
    # WHEN it is shown with the execution's start
    shown = [(t.state, t.dates, t.status, t.error)
             for t in tasks_of(history, "arn", datetime(2025, 3, 1, 2, 0, tzinfo=UTC))]
    # THEN the step is shown once, succeeded, for the day before the start
    assert shown == [("CleanData", "2025-02-28", "SUCCEEDED", None)]
