"""Run the real pipeline ASL in moto's Step Functions interpreter against moto's Glue and SNS.

Two moto 5.2.5 pitfalls are patched here (DEVELOPERS.md): its Glue service task refuses the `.sync`
pattern unless `WaitForTaskToken` is listed as supported, and the retrier sleeps for real.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.moto_api import state_manager
from moto_support import patch_step_functions

REPO = Path(__file__).resolve().parents[2]
ASL_PATH = REPO / "statemachine" / "pipeline.asl.json"
EVENTS = REPO / "events"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLEAN_JOB = "telco360-test-clean"
STAGE_JOB = "telco360-test-stage"
LAKE_ROOT = "s3://telco360-test-data"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/telco360-test-sfn"
FINAL_STATES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def substituted_asl(topic_arn: str) -> str:
    """The definition as CloudFormation would substitute it (DefinitionSubstitutions in template.yaml)."""
    text = ASL_PATH.read_text()
    for name, value in {
        "CleanJobName": CLEAN_JOB,
        "StageJobName": STAGE_JOB,
        "LakeRoot": LAKE_ROOT,
        "AlertTopicArn": topic_arn,
    }.items():
        text = text.replace("${" + name + "}", value)
    return text


def fixture_input(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@dataclass
class GlueScript:
    """What moto's Glue does per job: final run states in start order (default SUCCEEDED), and how many
    StartJobRun calls fail first with ConcurrentRunsExceededException."""

    outcomes: dict[str, list[str]] = field(default_factory=dict)
    start_errors: dict[str, int] = field(default_factory=dict)
    start_time: datetime | None = None  # $$.Execution.StartTime seen by the machine (default: real)

    def next_outcome(self, job: str) -> str:
        queue = self.outcomes.get(job, [])
        return queue.pop(0) if queue else "SUCCEEDED"


@dataclass
class Outcome:
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    runs: list[tuple[str, dict[str, str]]]  # (job name, arguments) in start order
    alerts: list[dict[str, Any]]
    start_date: Any


class Pipeline:
    def __init__(self, script: GlueScript) -> None:
        self.script = script
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.glue = boto3.client("glue", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        for job in (CLEAN_JOB, STAGE_JOB):
            self.glue.create_job(
                Name=job,
                Role=ROLE_ARN,
                Command={"Name": "glueetl", "ScriptLocation": f"s3://artifacts/{job}.py"},
                ExecutionProperty={"MaxConcurrentRuns": 1},
                GlueVersion="5.1",
            )
        topic_arn = sns.create_topic(Name="telco360-test-alerts")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.machine_arn = self.sfn.create_state_machine(
            name="telco360-test-pipeline", definition=substituted_asl(topic_arn), roleArn=ROLE_ARN
        )["stateMachineArn"]

    def run(self, payload: dict[str, Any], timeout: float = 30.0) -> Outcome:
        # moto names every unnamed execution "None": a second one would clash.
        name = f"run-{uuid.uuid4().hex}"
        arn = self.sfn.start_execution(stateMachineArn=self.machine_arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still {described['status']} after {timeout}s")
            time.sleep(0.05)
        return Outcome(
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(described["output"]) if described.get("output") else None,
            runs=self._runs(),
            alerts=self._alerts(),
            start_date=described["startDate"],
        )

    def _runs(self) -> list[tuple[str, dict[str, str]]]:
        runs = [(job, run) for job in (CLEAN_JOB, STAGE_JOB) for run in self.glue.get_job_runs(JobName=job)["JobRuns"]]
        runs.sort(key=lambda pair: pair[1]["StartedOn"])
        return [(job, run.get("Arguments", {})) for job, run in runs]

    def job_run_ids(self, job: str) -> list[str]:
        return [run["Id"] for run in self.glue.get_job_runs(JobName=job)["JobRuns"]]

    def _alerts(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        envelopes = [json.loads(m["Body"]) for m in messages]
        return [json.loads(e["Message"]) | {"subject": e.get("Subject")} for e in envelopes]


@contextmanager
def pipeline(monkeypatch: Any, script: GlueScript | None = None) -> Iterator[Pipeline]:
    from moto.glue import models as glue_models
    from moto.glue.exceptions import ConcurrentRunsExceededException
    from moto.stepfunctions.parser.backend import execution as execution_module

    script = script or GlueScript()
    patch_step_functions(monkeypatch)

    original_start = glue_models.FakeJob.start_job_run

    def scripted_start(self: Any, *args: Any, **kwargs: Any) -> str:
        if script.start_errors.get(self.name, 0) > 0:
            script.start_errors[self.name] -= 1
            raise ConcurrentRunsExceededException(f"Job with name {self.name} already running")
        run_id = original_start(self, *args, **kwargs)
        run = self.job_runs[-1]
        # A run goes straight to the scripted final state ("immediate" progression below).
        run._transitions = [("STARTING", "RUNNING"), ("RUNNING", script.next_outcome(self.name))]
        return run_id

    monkeypatch.setattr(glue_models.FakeJob, "start_job_run", scripted_start)

    original_details = execution_module.Execution.get_start_execution_details

    def aws_start_time(self: Any) -> Any:
        # AWS puts $$.Execution.StartTime in the context object as ISO 8601 text (milliseconds, Z);
        # moto 5.2.5 hands over the datetime itself, which no intrinsic function accepts.
        details = original_details(self)
        start = (script.start_time or self.start_date).astimezone(UTC)
        details.start_time = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
        return details

    monkeypatch.setattr(execution_module.Execution, "get_start_execution_details", aws_start_time)
    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "immediate"})
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            yield Pipeline(script)
    finally:
        state_manager.unset_transition("glue::job_run")
