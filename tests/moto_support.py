"""Test support shared by the folders that drive the real template and state machine in moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads ``!Ref X`` as ``{"Ref": X}``, ``!GetAtt A.B`` as ``{"Fn::GetAtt": [A, B]}``, ``!Sub``..."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as data, short-form intrinsics included."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)


def patch_step_functions(monkeypatch: Any) -> None:
    """The moto 5.2.5 workarounds DEVELOPERS.md lists, for executing the real ASL:

    - every ``glue:startJobRun.sync`` task fails unless ``WaitForTaskToken`` is a supported pattern;
    - the retrier sleeps for real: its ``time`` module reference is replaced (not ``time.sleep``
      globally, which the tests' own polling needs);
    - the ``.sync`` poll loop waits between GetJobRun calls; the scripted runs are final at once.
    """
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_glue as glue_task,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition

    monkeypatch.setattr(glue_task, "_SUPPORTED_INTEGRATION_PATTERNS",
                        {ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

    class _NoSleep:
        @staticmethod
        def sleep(_seconds: float) -> None:
            return None

    monkeypatch.setattr(retrier_decl, "time", _NoSleep)
    monkeypatch.setattr(callback_task, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.0)
