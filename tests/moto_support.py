"""Test support shared by the folders that drive the real template and state machines in moto."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"
# What moto needs to execute the ASL and answer a Lambda invoke without Docker.
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as plain data, read by cfn-lint's loader (short-form intrinsics become their
    long form: ``!GetAtt A.B`` is ``{"Fn::GetAtt": ["A", "B"]}``)."""
    from cfnlint.decode import decode

    template, matches = decode(str(path))
    assert template is not None and not matches, f"{path} does not parse: {matches}"
    return json.loads(json.dumps(template))


def condition_holds(template: dict[str, Any], name: str, refs: dict[str, str]) -> bool:
    """Whether the template's condition ``name`` holds for these parameter values (``Ref`` name ->
    value): the ``Fn::Equals``/``Not``/``And``/``Or``/``Condition`` CloudFormation evaluates."""

    def value(expr: Any) -> Any:
        return refs[expr["Ref"]] if isinstance(expr, dict) and "Ref" in expr else expr

    def holds(expr: dict[str, Any]) -> bool:
        (function, arg), = expr.items()
        if function == "Fn::Equals":
            return bool(value(arg[0]) == value(arg[1]))
        if function == "Fn::Not":
            return not holds(arg[0])
        if function in ("Fn::And", "Fn::Or"):
            return (all if function == "Fn::And" else any)(holds(e) for e in arg)
        if function == "Condition":
            return holds(template["Conditions"][arg])
        raise AssertionError(f"condition function {function} is not evaluated here")

    return holds(template["Conditions"][name])


def patch_step_functions(monkeypatch: Any, sleep: Callable[[float], None] | None = None,
                         start_time: Callable[[], datetime | None] | None = None) -> None:
    """The moto 5.2.5 workarounds DEVELOPERS.md lists, for executing the real ASL:

    - every ``glue:startJobRun.sync`` task fails unless ``WaitForTaskToken`` is a supported pattern;
    - with that pattern, the task token is made once per state (``_eval_body``) and each attempt's end
      interrupts its endpoint, so a ``Retry`` of a Glue task would reuse a dead token and fail at once
      with ``States.Timeout``: each attempt gets a fresh token, as on AWS;
    - the retrier sleeps for real: its ``time`` module reference is replaced (not ``time.sleep``
      globally, which the tests' own polling needs) by ``sleep`` (default: return at once), so a test
      can decide what happens while an execution "waits" (e.g. let the lock holder finish);
    - the ``.sync`` poll loop waits 0.5 s between GetJobRun calls: 10 ms is enough for a run a test
      holds RUNNING, and a scripted run is final at the first call anyway;
    - an ``aws-sdk:s3:getObject`` task hands its ``Body`` on as botocore's stream, where AWS hands
      over the text (moto stubs out the response normalisation), so ``States.StringToJson($.Body)``
      fails: the stream is read into text;
    - ``$$.Execution.StartTime`` reaches the ASL as a Python datetime, where AWS puts ISO 8601 text
      (milliseconds, ``Z``) that intrinsic functions and DynamoDB items accept; ``start_time`` may
      return another instant for it (the test of a schedule's day).
    """
    from botocore.response import StreamingBody
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.backend import execution as execution_module

    monkeypatch.setattr(glue_task, "_SUPPORTED_INTEGRATION_PATTERNS",
                        {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})
    run_attempt = callback_task.StateTaskServiceCallback._eval_integration_pattern

    def with_fresh_token(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        env.callback_pool_manager.add(env.states.context_object.update_task_token())
        run_attempt(self, env, *args, **kwargs)

    monkeypatch.setattr(glue_task.StateTaskServiceGlue, "_eval_integration_pattern", with_fresh_token)

    class _Clock:
        @staticmethod
        def sleep(seconds: float) -> None:
            if sleep is not None:
                sleep(seconds)

    monkeypatch.setattr(retrier_decl, "time", _Clock)
    monkeypatch.setattr(callback_task, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.01)

    def read_streams(_self: Any, response: Any, *_args: Any, **_kwargs: Any) -> None:
        if isinstance(response, dict):
            for key, value in response.items():
                if isinstance(value, StreamingBody):
                    response[key] = value.read().decode("utf-8")

    monkeypatch.setattr(aws_sdk_task.StateTaskServiceAwsSdk, "_normalise_response", read_streams)

    original_details = execution_module.Execution.get_start_execution_details

    def aws_start_time(self: Any) -> Any:
        details = original_details(self)
        start = ((start_time and start_time()) or self.start_date).astimezone(UTC)
        details.start_time = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
        return details

    monkeypatch.setattr(execution_module.Execution, "get_start_execution_details", aws_start_time)


# A Glue run's (from, to) state transitions in moto: straight to a final state, or held RUNNING.
Transitions = list[tuple[str, str]]


@contextmanager
def scripted_glue_runs(monkeypatch: Any, transitions: Callable[[Any, Any], Transitions],
                       before_start: Callable[[Any], None] | None = None) -> Iterator[None]:
    """Glue runs started in moto (by the state machine's ``.sync`` tasks) follow a script: each new
    run takes the transitions ``transitions(job, run)`` returns, with moto's "immediate" progression;
    ``before_start(job)`` may raise instead, as StartJobRun does. Starts are serialized: moto starts
    runs from the executions' threads."""
    from moto.glue import models as glue_models
    from moto.moto_api import state_manager

    original_start = glue_models.FakeJob.start_job_run
    lock = threading.Lock()

    def scripted_start(self: Any, *args: Any, **kwargs: Any) -> str:
        with lock:
            if before_start is not None:
                before_start(self)
            run_id: str = original_start(self, *args, **kwargs)
            self.job_runs[-1]._transitions = transitions(self, self.job_runs[-1])
            return run_id

    monkeypatch.setattr(glue_models.FakeJob, "start_job_run", scripted_start)
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "immediate"})
    try:
        yield
    finally:
        state_manager.unset_transition("glue::job_run")
