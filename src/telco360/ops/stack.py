"""The deployed stack: its name from ``samconfig.toml`` (as ``sam deploy`` reads it), its resources
from the CloudFormation outputs."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMCONFIG = "samconfig.toml"
DEFAULT_ENV = "default"

# Stack output key -> the attribute of ``Stack`` it fills (template.yaml ``Outputs``).
OUTPUT_KEYS: dict[str, str] = {
    "DataBucketName": "bucket",
    "AlertTopicArn": "topic_arn",
    "PipelineStateMachineArn": "state_machine_arn",
}


class StackError(Exception):
    """The stack cannot be found or lacks an output this tool needs."""


@dataclass(frozen=True)
class Deployment:
    """Where ``sam deploy`` put the stack: its name and region for one ``--config-env``."""

    stack_name: str
    region: str | None


# Outputs only some commands need (``telco360 redrive``), looked up when used.
FAILED_EVENTS_QUEUE_URL = "ValidatorFailedEventsQueueUrl"
VALIDATOR_FUNCTION_ARN = "ValidatorFunctionArn"


@dataclass(frozen=True)
class Stack:
    name: str
    bucket: str
    topic_arn: str
    state_machine_arn: str
    outputs: dict[str, str] = field(default_factory=dict)

    def output(self, key: str) -> str:
        """Any other output of the stack (raises StackError when the deployed template lacks it)."""
        if key not in self.outputs:
            raise StackError(f"stack {self.name!r} has no output {key} (deploy the current template)")
        return self.outputs[key]


def find_samconfig(start: Path | None = None) -> Path | None:
    """``samconfig.toml`` in ``start`` (default: the working folder) or the nearest parent holding one."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SAMCONFIG).is_file():
            return folder / SAMCONFIG
    return None


def read_deployment(samconfig: Path, config_env: str = DEFAULT_ENV) -> Deployment:
    """The stack name and region of ``[<config_env>.deploy.parameters]`` (region may also come from
    ``[<config_env>.global.parameters]``, as SAM allows)."""
    config: dict[str, Any] = tomllib.loads(samconfig.read_text(encoding="utf-8"))
    env = config.get(config_env)
    if not isinstance(env, dict):
        known = ", ".join(k for k, v in config.items() if isinstance(v, dict)) or "none"
        raise StackError(f"{samconfig} has no [{config_env}] environment (known: {known})")
    deploy = env.get("deploy", {}).get("parameters", {})
    shared = env.get("global", {}).get("parameters", {})
    name = deploy.get("stack_name") or shared.get("stack_name")
    if not name:
        raise StackError(f"{samconfig} has no stack_name in [{config_env}.deploy.parameters]")
    return Deployment(str(name), deploy.get("region") or shared.get("region"))


def load_stack(cloudformation: Any, name: str) -> Stack:
    """The stack's resources from ``describe_stacks`` outputs."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        raise StackError(f"stack {name!r} not found: {exc.response['Error'].get('Message', exc)}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [key for key in OUTPUT_KEYS if key not in outputs]
    if missing:
        raise StackError(f"stack {name!r} has no output {', '.join(missing)} (is it fully deployed?)")
    return Stack(name=name, outputs=outputs, **{attr: outputs[key] for key, attr in OUTPUT_KEYS.items()})
