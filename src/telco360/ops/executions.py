"""Step Functions executions in the state machine's own input format (statemachine/pipeline.asl.json):
``{"run_date": D}``, ``{"run_date": D, "from_step": "clean"|"stage"}``, ``{"from_date": D1, "to_date": D2}``
(optionally with ``from_step``) for a backfill in one execution, and the schedule's
``{"scheduled_time": T}`` (or ``{}``: the day before the execution's start).

The state machine checks only the shape of a request; ``telco360.runs.resolve_request`` resolves it,
here (before an execution starts, and to show one) and in the jobs themselves, which get the request
as text."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from telco360 import runs

FROM_STEPS: tuple[str, ...] = runs.FROM_STEPS  # the state machine's from_step values
FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
MAX_BACKFILL_DAYS = runs.MAX_RANGE_DAYS
# Task states of the pipeline that `status` shows (the lock and the per-snapshot events are details).
SHOWN_TASKS = frozenset({"CleanData", "BuildSnapshots"})


def run_input(run_date: str, from_step: str | None = None) -> dict[str, str]:
    """``{"run_date": D}`` (plus ``from_step``) for a date ``YYYY-MM-DD``, checked as the jobs will."""
    return _checked({"run_date": runs.parse_run_date(run_date).isoformat()}, from_step)


def backfill_input(from_date: str, to_date: str, from_step: str | None = None) -> dict[str, str]:
    """``{"from_date": D1, "to_date": D2}`` (plus ``from_step``), a range in order of at most
    ``MAX_BACKFILL_DAYS``, checked as the jobs will."""
    first, last = runs.parse_run_date(from_date), runs.parse_run_date(to_date)
    return _checked({"from_date": first.isoformat(), "to_date": last.isoformat()}, from_step)


def _checked(payload: dict[str, str], from_step: str | None) -> dict[str, str]:
    payload = payload | ({} if from_step is None else {"from_step": from_step})
    runs.resolve_request(payload)  # what the jobs will do with it: refused here rather than in job A
    return payload


def execution_name(payload: dict[str, str]) -> str:
    """A readable, unique name (Step Functions keeps names for 90 days): ``run-2025-01-02-clean-1a2b3c4d``."""
    if "from_date" in payload:
        what = f"backfill-{payload['from_date']}-to-{payload['to_date']}"
    else:
        what = f"run-{payload['run_date']}"
    step = f"-{payload['from_step']}" if "from_step" in payload else ""
    return f"{what}{step}-{uuid.uuid4().hex[:8]}"


def start(sfn: Any, state_machine_arn: str, payload: dict[str, str]) -> str:
    """Start one execution; returns its ARN."""
    answer = sfn.start_execution(stateMachineArn=state_machine_arn, name=execution_name(payload),
                                 input=json.dumps(payload))
    return str(answer["executionArn"])


def wait(sfn: Any, execution_arn: str, *, poll_seconds: float = 10.0, timeout_seconds: float | None = None,
         on_poll: Callable[[dict[str, Any]], None] | None = None,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll ``describe_execution`` until the execution ends (or ``timeout_seconds`` pass: then the
    last answer, still RUNNING, is returned)."""
    started = time.monotonic()
    while True:
        answer: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if on_poll:
            on_poll(answer)
        if answer["status"] in FINAL:
            return answer
        if timeout_seconds is not None and time.monotonic() - started >= timeout_seconds:
            return answer
        sleep(poll_seconds)


@dataclass
class TaskRun:
    state: str
    status: str  # RUNNING, SUCCEEDED or FAILED
    dates: str | None = None  # the dates the task worked on: "2025-01-02" or "2025-01-01..2025-01-07"
    error: str | None = None


@dataclass
class ExecutionView:
    name: str
    arn: str
    status: str
    start: datetime
    stop: datetime | None
    dates: str  # "2025-01-02", "2025-01-01..2025-01-07" or "2025-01-02 (scheduled)"
    payload: dict[str, Any]
    error: str | None = None
    cause: str | None = None
    tasks: list[TaskRun] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)  # snapshots Job B (re)built, roll-forward included

    def covers(self, run_date: str) -> bool:
        """Whether the execution's request names ``run_date`` (a backfill: anywhere in its range)."""
        first, last = requested_dates(self.payload, self.start)
        return first is not None and last is not None and first.isoformat() <= run_date <= last.isoformat()


def requested_dates(payload: Any, start: datetime | None = None) -> tuple[date | None, date | None]:
    """The first and last date a request names, as the jobs resolve them (``telco360.runs.resolve_request``,
    ``{}`` with the execution's ``start``); ``None`` when they would refuse it."""
    try:
        request = runs.resolve_request(payload, _instant(start))
    except ValueError:
        return None, None
    return request.first, request.last


def _instant(start: datetime | None) -> str | None:
    """An execution's start as Step Functions' ``$$.Execution.StartTime`` writes it."""
    if start is None:
        return None
    at = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def dates_of(payload: Any, start: datetime | None = None) -> str:
    """``2025-01-02``, ``2025-01-01..2025-01-07``, ``2025-01-02 (scheduled)`` or the raw request."""
    first, last = requested_dates(payload, start)
    scheduled = " (scheduled)" if payload == {} or (isinstance(payload, dict) and "scheduled_time" in payload) else ""
    if first is None or last is None:
        return "(scheduled)" if scheduled else json.dumps(payload)
    span = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return span + scheduled


def tasks_of(sfn: Any, execution_arn: str, start: datetime | None = None) -> list[TaskRun]:
    """The Glue steps an execution went through (``SHOWN_TASKS``) and any other task that failed for
    good, from its history (one call for a small one); ``start`` (the execution's) resolves ``{}``."""
    tasks: list[TaskRun] = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    for page in pages:
        for event in page["events"]:
            kind = event["type"]
            if kind == "TaskStateEntered":
                details = event["stateEnteredEventDetails"]
                tasks.append(TaskRun(details["name"], "RUNNING", _dates_of_state(details.get("input"), start)))
            elif kind == "TaskScheduled" and tasks:
                tasks[-1].status = "RUNNING"  # again, after a failure a Retry absorbed
            elif kind == "TaskSucceeded" and tasks:
                tasks[-1].status, tasks[-1].error = "SUCCEEDED", None
            elif kind == "TaskStateExited" and tasks and tasks[-1].status == "RUNNING":
                tasks[-1].status = "SUCCEEDED"
            elif kind in ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed") and tasks:
                failure: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
                tasks[-1].status, tasks[-1].error = "FAILED", failure.get("error")
    return [t for t in tasks if t.state in SHOWN_TASKS or t.status == "FAILED"]


def _dates_of_state(state_input: str | None, start: datetime | None) -> str | None:
    """The dates of the request a state's input carries (``request``, which the jobs resolve):
    ``2025-01-02`` or ``2025-01-01..2025-01-07``; None without one, or for one the jobs refuse."""
    try:
        value = json.loads(state_input or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or "request" not in value:
        return None
    first, last = requested_dates(value["request"], start)
    if first is None or last is None:
        return None
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def _rebuilt_dates(output: str | None) -> list[str]:
    """The snapshot dates Job B rebuilt, from a successful execution's output."""
    try:
        report = json.loads(output or "{}").get("stage_report", {}).get("report", {})
    except (json.JSONDecodeError, AttributeError):
        return []
    dates = report.get("rebuilt_dates", []) if isinstance(report, dict) else []
    return [str(d) for d in dates] if isinstance(dates, list) else []


def view(sfn: Any, execution_arn: str, with_tasks: bool = True) -> ExecutionView:
    answer = sfn.describe_execution(executionArn=execution_arn)
    try:
        payload = json.loads(answer.get("input") or "{}")
    except json.JSONDecodeError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return ExecutionView(
        name=answer["name"], arn=execution_arn, status=answer["status"], start=answer["startDate"],
        stop=answer.get("stopDate"), dates=dates_of(payload, answer["startDate"]), payload=payload,
        error=answer.get("error"), cause=answer.get("cause"),
        tasks=tasks_of(sfn, execution_arn, answer["startDate"]) if with_tasks else [],
        rebuilt=_rebuilt_dates(answer.get("output")),
    )


def recent(sfn: Any, state_machine_arn: str, *, limit: int = 10, run_date: str | None = None,
           scan: int = 200) -> list[ExecutionView]:
    """The newest executions (at most ``limit``), those covering ``run_date`` only when it is given;
    the input of at most ``scan`` executions is read to find them."""
    views: list[ExecutionView] = []
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn,
                                                          PaginationConfig={"MaxItems": scan})
    for page in pages:
        for item in page["executions"]:
            candidate = view(sfn, item["executionArn"], with_tasks=False)
            if run_date is None or candidate.covers(run_date):
                candidate.tasks = tasks_of(sfn, candidate.arn, candidate.start)
                views.append(candidate)
            if len(views) >= limit:
                return views
    return views
