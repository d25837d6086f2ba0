"""Test support shared by the folders that drive the real template and state machines in moto."""

from __future__ import annotations

import json
from collections.abc import Callable
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


def patch_step_functions(monkeypatch: Any, sleep: Callable[[float], None] | None = None,
                         start_time: Callable[[], datetime | None] | None = None) -> None:
    """The moto 5.2.5 workarounds DEVELOPERS.md lists, for executing the real ASL:

    - every ``glue:startJobRun.sync`` task fails unless ``WaitForTaskToken`` is a supported pattern;
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
