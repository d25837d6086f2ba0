"""Step Functions executions in the state machine's own input format (statemachine/pipeline.asl.json):
``{"run_date": D}``, ``{"run_date": D, "from_step": "clean"|"stage"}``, and
``{"from_date": D1, "to_date": D2}`` (optionally with ``from_step``) for a backfill in one execution."""

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
MAX_BACKFILL_DAYS = 366
# The state machine's own date check (ParseDates in pipeline.asl.json) accepts these years only.
YEARS = range(2000, 2100)


def _date(value: str) -> date:
    parsed = runs.parse_run_date(value)
    if parsed.year not in YEARS:
        raise ValueError(f"run date {value} is outside {YEARS.start}-{YEARS.stop - 1}, which the state machine accepts")
    return parsed


def run_input(run_date: str, from_step: str | None = None) -> dict[str, str]:
    return {"run_date": _date(run_date).isoformat()} | _from_step(from_step)


def backfill_input(from_date: str, to_date: str, from_step: str | None = None) -> dict[str, str]:
    first, last = _date(from_date), _date(to_date)
    if last < first:
        raise ValueError(f"the range is reversed: {from_date} is after {to_date}")
    if (last - first).days + 1 > MAX_BACKFILL_DAYS:
        raise ValueError(f"a backfill covers at most {MAX_BACKFILL_DAYS} days; split {from_date}..{to_date}")
    return {"from_date": first.isoformat(), "to_date": last.isoformat()} | _from_step(from_step)


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
    run_date: str | None = None  # the date the task worked on (a backfill has one per date)
    error: str | None = None


@dataclass
class ExecutionView:
    name: str
    arn: str
    status: str
    start: datetime
    stop: datetime | None
    dates: str  # "2025-01-02", "2025-01-01..2025-01-07" or "(scheduled)"
    payload: dict[str, Any]
    error: str | None = None
    cause: str | None = None
    tasks: list[TaskRun] = field(default_factory=list)

    def covers(self, run_date: str) -> bool:
        if "from_date" in self.payload:
            return self.payload["from_date"] <= run_date <= self.payload.get("to_date", "")
        return self.payload.get("run_date") == run_date


def dates_of(payload: dict[str, Any]) -> str:
    if "from_date" in payload:
        return f"{payload['from_date']}..{payload.get('to_date', '?')}"
    return str(payload.get("run_date") or "(scheduled)")


def tasks_of(sfn: Any, execution_arn: str) -> list[TaskRun]:
    """The task states an execution went through, from its history (one call for a small one)."""
    tasks: list[TaskRun] = []
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    for page in pages:
        for event in page["events"]:
            kind = event["type"]
            if kind == "TaskStateEntered":
                details = event["stateEnteredEventDetails"]
                tasks.append(TaskRun(details["name"], "RUNNING", _run_date_of(details.get("input"))))
            elif kind == "TaskStateExited" and tasks and tasks[-1].status == "RUNNING":
                tasks[-1].status = "SUCCEEDED"
            elif kind in ("TaskFailed", "TaskTimedOut") and tasks:
                details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
                tasks[-1].status, tasks[-1].error = "FAILED", details.get("error")
    return tasks


def _run_date_of(state_input: str | None) -> str | None:
    try:
        value = json.loads(state_input or "{}")
    except json.JSONDecodeError:
        return None
    return value.get("run_date") if isinstance(value, dict) else None


def view(sfn: Any, execution_arn: str, with_tasks: bool = True) -> ExecutionView:
    answer = sfn.describe_execution(executionArn=execution_arn)
    try:
        payload = json.loads(answer.get("input") or "{}")
    except json.JSONDecodeError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    return ExecutionView(
        name=answer["name"], arn=execution_arn, status=answer["status"], start=answer["startDate"],
        stop=answer.get("stopDate"), dates=dates_of(payload), payload=payload, error=answer.get("error"),
        cause=answer.get("cause"), tasks=tasks_of(sfn, execution_arn) if with_tasks else [],
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
