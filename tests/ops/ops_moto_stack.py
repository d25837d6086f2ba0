"""The deployed stack, recreated in moto from the real ``template.yaml`` and ``statemachine/pipeline.asl.json``.

The state machine's ``DefinitionSubstitutions`` are read from the template and resolved against the
resources created here (the data bucket, the alert topic, the two Glue jobs), the way CloudFormation
would; the stack's ``Outputs`` are resolved the same way and published by a small moto stack, so
``describe_stacks`` answers as it does for the real deployment. moto's two pitfalls are patched as
DEVELOPERS.md says: the Glue ``.sync`` pattern and the retrier's real sleeps.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto_support import (
    MOTO_CONFIG,
    Transitions,
    condition_holds,
    load_template,
    patch_step_functions,
    scripted_glue_runs,
)

from telco360 import runs
from telco360.reports import SnapshotReport, StageReport

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "pipeline.asl.json"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/telco360-test"
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
PIPELINE = "PipelineStateMachine"
LAMBDA_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


class Unresolvable(Exception):
    """An intrinsic that needs a resource this harness does not create."""


@dataclass
class Resolver:
    """CloudFormation's Ref/GetAtt/Sub/Join/If over the physical values of the resources created here."""

    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)  # for the Conditions an Fn::If names

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
        if name == "Fn::If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if condition_holds(self.template, condition, self.refs) else when_false)
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
    state_machine_arns: list[str] = field(default_factory=list)  # the pipeline's and the release-lock's

    def job_runs(self) -> list[tuple[str, dict[str, str]]]:
        """(job name, arguments) of every Glue run, in start order."""
        glue = boto3.client("glue", region_name=REGION)
        runs = [(job, r) for job in (self.clean_job, self.stage_job) for r in glue.get_job_runs(JobName=job)["JobRuns"]]
        runs.sort(key=lambda pair: pair[1]["StartedOn"])
        return [(job, r.get("Arguments", {})) for job, r in runs]


def _resources(template: dict[str, Any], kind: str) -> list[str]:
    return [name for name, r in template["Resources"].items() if r["Type"] == kind]


def _state_machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    machines = {n: r["Properties"] for n, r in template["Resources"].items() if r["Type"] in STATE_MACHINE_TYPES}
    assert PIPELINE in machines, f"the template defines the {PIPELINE} state machine"
    return machines


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
    resolver = Resolver(template=template)
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
    _create_tables_queues_and_functions(template, stack_name, resolver)

    machines = _state_machines(template)
    raw = machines[PIPELINE].get("DefinitionSubstitutions", {})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arns = {}
    for logical, machine in machines.items():
        substitutions = {key: str(resolver.resolve(value)) for key, value in machine.get("DefinitionSubstitutions",
                                                                                         {}).items()}
        definition = (REPO / machine["DefinitionUri"]).read_text(encoding="utf-8")
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", value)
        assert "${" not in definition, f"every ${{...}} of {machine['DefinitionUri']} has a substitution"
        arns[logical] = sfn.create_state_machine(name=f"{stack_name}-{logical}", definition=definition,
                                                 roleArn=ROLE_ARN)["stateMachineArn"]
        resolver.refs[logical] = arns[logical]
        resolver.attrs[(logical, "Arn")] = arns[logical]
        resolver.attrs[(logical, "Name")] = arns[logical].rsplit(":", 1)[-1]
    machine_arn = arns[PIPELINE]
    substitutions = {key: str(resolver.resolve(value)) for key, value in raw.items()}

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
                    resolver.refs[stage_logical], outputs, sorted(arns.values()))


def _create_tables_queues_and_functions(template: dict[str, Any], stack_name: str, resolver: Resolver) -> None:
    """The template's DynamoDB tables, SQS queues and Lambda functions (moto answers an invoke of a
    function without running it: ``lambda.use_docker`` is off)."""
    dynamodb, sqs = boto3.client("dynamodb", region_name=REGION), boto3.client("sqs", region_name=REGION)
    for logical in _resources(template, "AWS::DynamoDB::Table"):
        props = template["Resources"][logical]["Properties"]
        name = str(resolver.resolve(props.get("TableName", f"{stack_name}-{logical}")))
        arn = dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=props["KeySchema"],
                                    AttributeDefinitions=props["AttributeDefinitions"])["TableDescription"]["TableArn"]
        resolver.refs[logical] = name
        resolver.attrs[(logical, "Arn")] = arn
    for logical in _resources(template, "AWS::SQS::Queue"):
        url = sqs.create_queue(QueueName=f"{stack_name}-{logical}")["QueueUrl"]
        resolver.refs[logical] = url
        resolver.attrs[(logical, "Arn")] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.attrs[(logical, "QueueName")] = url.rsplit("/", 1)[-1]
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{stack_name}-functions", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    awslambda = boto3.client("lambda", region_name=REGION)
    for logical in [n for n, r in template["Resources"].items() if r["Type"] in LAMBDA_TYPES]:
        name = f"{stack_name}-{logical}"
        arn = awslambda.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                                        Code={"ZipFile": _zip_of("def handler(event, context):\n    return None\n")},
                                        )["FunctionArn"]
        resolver.refs[logical] = name
        resolver.attrs[(logical, "Arn")] = arn


def _zip_of(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _settle(deployed: Deployed, timeout: float = 30.0) -> None:
    """Wait for executions still running (a test that did not --wait): moto runs them on threads that
    would otherwise start Glue runs in the next test's backend."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    for arn in deployed.state_machine_arns:
        while sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
            assert time.monotonic() < deadline, "an execution is still running"
            time.sleep(0.05)


def _write_stage_report(arguments: dict[str, str]) -> None:
    """Job B's run report for the dates it was asked for (no later snapshot exists in these tests)."""
    first, last = runs.job_dates({k.removeprefix("--"): v for k, v in arguments.items()})
    dates = [d.isoformat() for d in runs.date_range(date.fromisoformat(first), date.fromisoformat(last))]
    report = StageReport(run_date=dates[0], through=dates[-1], snapshots=[SnapshotReport(
        snapshot_date=d, build="full", why_full="no state", row_counts={"customer_360": 1}, seconds=0.1,
        manifest_key=f"staging/_manifests/snapshot_date={d}/manifest.json") for d in dates])
    bucket = arguments["--lake_root"].removeprefix("s3://").split("/", 1)[0]
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=arguments["--report_key"],
                                                      Body=json.dumps(report.to_dict()).encode())


@contextmanager
def moto_stack(monkeypatch: Any, stack_name: str, failing_jobs: tuple[str, ...] = ()) -> Iterator[Deployed]:
    """The stack in moto with Step Functions executing the real ASL; Glue runs of the logical jobs in
    ``failing_jobs`` ("clean", "stage") end FAILED, every other run SUCCEEDED."""
    patch_step_functions(monkeypatch)
    failing: set[str] = set()

    def scripted(job: Any, run: Any) -> Transitions:
        final = "FAILED" if job.name in failing else "SUCCEEDED"
        arguments = run.arguments or {}
        if final == "SUCCEEDED" and "--report_key" in arguments:
            _write_stage_report(arguments)  # what Job B writes before it ends; the state machine reads it
        return [("STARTING", "RUNNING"), ("RUNNING", final)]

    with scripted_glue_runs(monkeypatch, scripted), mock_aws(config=MOTO_CONFIG):
        deployed = deploy(stack_name)
        failing.update({"clean": deployed.clean_job, "stage": deployed.stage_job}[j] for j in failing_jobs)
        yield deployed
        _settle(deployed)
