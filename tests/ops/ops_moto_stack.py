"""The deployed stack, recreated in moto from the real ``template.yaml`` and ``statemachine/pipeline.asl.json``.

The state machine's ``DefinitionSubstitutions`` are read from the template and resolved against the
resources created here (the data bucket, the alert topic, the two Glue jobs), the way CloudFormation
would; the stack's ``Outputs`` are resolved the same way and published by a small moto stack, so
``describe_stacks`` answers as it does for the real deployment. moto's two pitfalls are patched as
DEVELOPERS.md says: the Glue ``.sync`` pattern and the retrier's real sleeps.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.moto_api import state_manager
from moto_support import load_template, patch_step_functions

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "pipeline.asl.json"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/telco360-test"
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


class Unresolvable(Exception):
    """An intrinsic that needs a resource this harness does not create."""


@dataclass
class Resolver:
    """CloudFormation's Ref/GetAtt/Sub/Join over the physical values of the resources created here."""

    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        (name, arg), = value.items()
        if name == "Ref":
            return self._ref(arg)
        if name == "Fn::GetAtt":
            return self._att(*(arg.split(".", 1) if isinstance(arg, str) else arg))
        if name == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_var(m.group(1), names), text)
        if name == "Fn::Join":
            return arg[0].join(str(self.resolve(v)) for v in arg[1])
        if name.startswith("Fn::"):
            raise Unresolvable(name)
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        if name not in self.refs:
            raise Unresolvable(f"Ref {name}")
        return self.refs[name]

    def _att(self, logical: str, attr: str) -> str:
        if (logical, attr) not in self.attrs:
            raise Unresolvable(f"GetAtt {logical}.{attr}")
        return self.attrs[(logical, attr)]

    def _sub_var(self, name: str, names: dict[str, str]) -> str:
        if name in names:
            return str(names[name])
        return self._att(*name.split(".", 1)) if "." in name else self._ref(name)


# --- the stack in moto --------------------------------------------------------------------------------
@dataclass
class Deployed:
    stack_name: str
    bucket: str
    topic_arn: str
    state_machine_arn: str
    clean_job: str
    stage_job: str
    outputs: dict[str, str]

    def job_runs(self) -> list[tuple[str, dict[str, str]]]:
        """(job name, arguments) of every Glue run, in start order."""
        glue = boto3.client("glue", region_name=REGION)
        runs = [(job, r) for job in (self.clean_job, self.stage_job) for r in glue.get_job_runs(JobName=job)["JobRuns"]]
        runs.sort(key=lambda pair: pair[1]["StartedOn"])
        return [(job, r.get("Arguments", {})) for job, r in runs]


def _resources(template: dict[str, Any], kind: str) -> list[str]:
    return [name for name, r in template["Resources"].items() if r["Type"] == kind]


def _state_machine(template: dict[str, Any]) -> dict[str, Any]:
    machines = [r for r in template["Resources"].values() if r["Type"] in STATE_MACHINE_TYPES]
    assert len(machines) == 1, "the template defines exactly one state machine"
    return machines[0]["Properties"]


def _job_for(template: dict[str, Any], substitutions: dict[str, Any], marker: str) -> str:
    """The logical id of the Glue job a substitution whose name contains ``marker`` refers to."""
    for key, value in substitutions.items():
        if marker in key.lower() and isinstance(value, dict) and "Ref" in value:
            return str(value["Ref"])
    raise AssertionError(f"no DefinitionSubstitutions entry for the {marker} job in template.yaml")


def deploy(stack_name: str) -> Deployed:
    """Create the template's bucket(s), topic(s), Glue jobs and state machine in moto, and a stack
    named ``stack_name`` whose outputs are the template's outputs resolved against them."""
    template = load_template()
    resolver = Resolver()
    resolver.refs |= {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": stack_name,
                      "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
    for name, parameter in template.get("Parameters", {}).items():
        if "Default" in parameter:
            resolver.refs[name] = str(parameter["Default"])
    s3, sns, glue = (boto3.client(s, region_name=REGION) for s in ("s3", "sns", "glue"))
    for logical in _resources(template, "AWS::S3::Bucket"):
        bucket = f"{stack_name}-{logical}".lower()
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        resolver.refs[logical] = bucket
        resolver.attrs[(logical, "Arn")] = f"arn:aws:s3:::{bucket}"
    for logical in _resources(template, "AWS::SNS::Topic"):
        arn = sns.create_topic(Name=f"{stack_name}-{logical}")["TopicArn"]
        resolver.refs[logical] = arn
        resolver.attrs[(logical, "TopicArn")] = arn
        resolver.attrs[(logical, "TopicName")] = arn.rsplit(":", 1)[-1]
    for logical in _resources(template, "AWS::Glue::Job"):
        job = f"{stack_name}-{logical}"
        glue.create_job(Name=job, Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": "s3://a/b.py"},
                        ExecutionProperty={"MaxConcurrentRuns": 1}, GlueVersion="5.1")
        resolver.refs[logical] = job

    machine = _state_machine(template)
    raw = machine.get("DefinitionSubstitutions", {})
    substitutions = {key: str(resolver.resolve(value)) for key, value in raw.items()}
    definition = ASL.read_text(encoding="utf-8")
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", value)
    assert "${" not in definition.replace("{{}}", ""), "every ${...} of the ASL has a substitution"
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine_arn = sfn.create_state_machine(name=f"{stack_name}-pipeline", definition=definition,
                                           roleArn=ROLE_ARN)["stateMachineArn"]
    for logical, r in template["Resources"].items():
        if r["Type"] in STATE_MACHINE_TYPES:
            resolver.refs[logical] = machine_arn
            resolver.attrs[(logical, "Arn")] = machine_arn
            resolver.attrs[(logical, "Name")] = machine_arn.rsplit(":", 1)[-1]

    outputs: dict[str, str] = {}
    for key, output in template.get("Outputs", {}).items():
        try:
            outputs[key] = str(resolver.resolve(output["Value"]))
        except Unresolvable:
            continue  # an output about a resource this harness does not create (a function, a dashboard)
    stack_template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},  # a stack needs one resource
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=stack_name, TemplateBody=json.dumps(stack_template))
    clean_logical = _job_for(template, raw, "clean")
    stage_logical = _job_for(template, raw, "stage")
    data_bucket = str(resolver.resolve(raw["LakeRoot"])).removeprefix("s3://").split("/", 1)[0]
    topics = [v for k, v in substitutions.items() if "topic" in k.lower()]
    return Deployed(stack_name, data_bucket, topics[0], machine_arn, resolver.refs[clean_logical],
                    resolver.refs[stage_logical], outputs)


def _settle(deployed: Deployed, timeout: float = 30.0) -> None:
    """Wait for executions still running (a test that did not --wait): moto runs them on threads that
    would otherwise start Glue runs in the next test's backend."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    while sfn.list_executions(stateMachineArn=deployed.state_machine_arn, statusFilter="RUNNING")["executions"]:
        assert time.monotonic() < deadline, "an execution is still running"
        time.sleep(0.05)


@contextmanager
def moto_stack(monkeypatch: Any, stack_name: str, failing_jobs: tuple[str, ...] = ()) -> Iterator[Deployed]:
    """The stack in moto with Step Functions executing the real ASL; Glue runs of the logical jobs in
    ``failing_jobs`` ("clean", "stage") end FAILED, every other run SUCCEEDED."""
    from moto.glue import models as glue_models

    patch_step_functions(monkeypatch)
    original_start = glue_models.FakeJob.start_job_run
    failing: set[str] = set()

    def scripted_start(self: Any, *args: Any, **kwargs: Any) -> str:
        run_id = original_start(self, *args, **kwargs)
        final = "FAILED" if self.name in failing else "SUCCEEDED"
        self.job_runs[-1]._transitions = [("STARTING", "RUNNING"), ("RUNNING", final)]
        return run_id

    monkeypatch.setattr(glue_models.FakeJob, "start_job_run", scripted_start)
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "immediate"})
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            deployed = deploy(stack_name)
            failing.update({"clean": deployed.clean_job, "stage": deployed.stage_job}[j] for j in failing_jobs)
            yield deployed
            _settle(deployed)
    finally:
        state_manager.unset_transition("glue::job_run")
