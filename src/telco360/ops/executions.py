"""Step Functions executions in the state machine's own input format (statemachine/pipeline.asl.json):
``{"run_date": D}``, ``{"run_date": D, "from_step": "clean"|"stage"}``, ``{"from_date": D1, "to_date": D2}``
(optionally with ``from_step``) for a backfill in one execution, and the schedule's
``{"scheduled_time": T}`` (or ``{}``: the day before the execution's start).

The state machine checks only the shape of a request; the dates are parsed by ``telco360.runs``, here
before an execution starts and in the jobs themselves."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from telco360 import runs

FROM_STEPS: tuple[str, ...] = ("clean", "stage")  # the state machine's from_step values
FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
MAX_BACKFILL_DAYS = runs.MAX_RANGE_DAYS
# Task states of the pipeline that `status` shows (the lock and the per-snapshot events are details).
SHOWN_TASKS = frozenset({"CleanData", "BuildSnapshots"})


def run_input(run_date: str, from_step: str | None = None) -> dict[str, str]:
    return {"run_date": runs.parse_run_date(run_date).isoformat()} | _from_step(from_step)


def backfill_input(from_date: str, to_date: str, from_step: str | None = None) -> dict[str, str]:
    dates = runs.date_range(runs.parse_run_date(from_date), runs.parse_run_date(to_date))
    return {"from_date": dates[0].isoformat(), "to_date": dates[-1].isoformat()} | _from_step(from_step)


def _from_step(from_step: str | None) -> dict[str, str]:
    if from_step is None:
        return {}
    if from_step not in FROM_STEPS:
        raise ValueError(f"from_step must be one of {', '.join(FROM_STEPS)}, got {from_step!r}")
    return {"from_step": from_step}


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


def requested_dates(payload: dict[str, Any], start: datetime | None = None) -> tuple[date | None, date | None]:
    """The first and last date a request names, as the jobs resolve them (``None`` when they would not)."""
    if "from_date" in payload:
        first, last = payload.get("from_date"), payload.get("to_date")
    else:
        first = last = payload.get("run_date") or payload.get("scheduled_time")
        if first is None and not payload and start is not None:
            first = last = start.isoformat()  # `{}`: the day before the execution's start
    try:
        return runs.resolve_run_date(str(first)), runs.resolve_run_date(str(last))
    except ValueError:
        return None, None


def dates_of(payload: dict[str, Any], start: datetime | None = None) -> str:
    """``2025-01-02``, ``2025-01-01..2025-01-07``, ``2025-01-02 (scheduled)`` or the raw request."""
    first, last = requested_dates(payload, start)
    scheduled = " (scheduled)" if "scheduled_time" in payload or not payload else ""
    if first is None or last is None:
        return "(scheduled)" if scheduled else json.dumps(payload)
    span = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return span + scheduled


def tasks_of(sfn: Any, execution_arn: str) -> list[TaskRun]:
    """The Glue steps an execution went through (``SHOWN_TASKS``) and any other task that failed for
    good, from its history (one call for a small one)."""
    tasks: list[TaskRun] = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    for page in pages:
        for event in page["events"]:
            kind = event["type"]
            if kind == "TaskStateEntered":
                details = event["stateEnteredEventDetails"]
                tasks.append(TaskRun(details["name"], "RUNNING", _dates_of_state(details.get("input"))))
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


def _dates_of_state(state_input: str | None) -> str | None:
    """``run_date`` (``..through`` when it differs) of a state's input, as the request wrote them."""
    try:
        value = json.loads(state_input or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("run_date"), str):
        return None
    through = value.get("through")
    return value["run_date"] if through in (None, value["run_date"]) else f"{value['run_date']}..{through}"


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
        tasks=tasks_of(sfn, execution_arn) if with_tasks else [], rebuilt=_rebuilt_dates(answer.get("output")),
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
                candidate.tasks = tasks_of(sfn, candidate.arn)
                views.append(candidate)
            if len(views) >= limit:
                return views
    return views
