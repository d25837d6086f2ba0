"""Run the real pipeline ASL (and the release-lock ASL) in moto's Step Functions interpreter against
moto's Glue, S3, DynamoDB, EventBridge and SNS.

The Glue jobs never run here; a scripted stand-in decides each run's outcome the way the real jobs
would: a run whose ``--request``/``--requested_at`` ``telco360.runs.job_dates`` refuses FAILS (the jobs
resolve their request first, with the same function), and a successful Job B run writes its run report
(``StageReport``) to ``--report_key`` in the data bucket, rebuilding the requested dates and then every
later snapshot that exists (docs/spec.md §4). The definition's substitutions are the template's
(``GlueRunRetriedOn`` as CloudFormation resolves it for the script's execution class). moto's own gaps
are patched as DEVELOPERS.md says (``moto_support``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
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
ASL_PATH = REPO / "statemachine" / "pipeline.asl.json"
RELEASE_ASL_PATH = REPO / "statemachine" / "release_lock.asl.json"
EVENTS = REPO / "events"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLEAN_JOB = "telco360-test-clean"
STAGE_JOB = "telco360-test-stage"
BUCKET = "telco360-test-data"
LAKE_ROOT = f"s3://{BUCKET}"
LOCK_TABLE = "telco360-test-pipeline-lock"
EVENT_SOURCE = "telco360.test"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/telco360-test-sfn"
FINAL_STATES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
TABLES = ("customers", "plans", "customer_360", "activity")


def substituted(path: Path, values: dict[str, str]) -> str:
    """A definition as CloudFormation would substitute it (DefinitionSubstitutions in template.yaml)."""
    text = path.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, f"{path.name} has a substitution the harness does not provide"
    return text


def fixture_input(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@cache
def _template_text() -> str:
    return json.dumps(load_template())


def template_substitution(name: str, glue_execution_class: str) -> str:
    """The pipeline's DefinitionSubstitutions entry ``name`` as CloudFormation resolves it for a stack
    whose GlueExecutionClass is ``glue_execution_class`` (an ``Fn::If`` on its condition, or a literal)."""
    template = json.loads(_template_text())
    value = template["Resources"]["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"][name]
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        holds = condition_holds(template, condition, {"GlueExecutionClass": glue_execution_class})
        value = when_true if holds else when_false
    assert isinstance(value, str), f"{name} = {value!r}: not resolved here"
    return value


@dataclass
class GlueScript:
    """What moto's Glue does per job: final run states in start order (default SUCCEEDED; FAILED when
    the dates are refused), how many StartJobRun calls fail first with ConcurrentRunsExceededException,
    the snapshots that exist before the test (Job B rolls them forward), and the jobs whose runs stay
    RUNNING until the test releases them."""

    outcomes: dict[str, list[str]] = field(default_factory=dict)
    start_errors: dict[str, int] = field(default_factory=dict)
    start_time: datetime | None = None  # $$.Execution.StartTime seen by the machine (default: real)
    snapshots: set[str] = field(default_factory=set)
    hold: set[str] = field(default_factory=set)
    write_report: bool = True  # False: a Job B that ends SUCCEEDED without its report
    execution_class: str = "STANDARD"  # the stack's GlueExecutionClass (FLEX: a failed run runs once more)
    # What the retrier does instead of sleeping (the lock's waits, Glue's backoff): default nothing.
    on_retry_wait: Callable[[float], None] | None = None

    def next_outcome(self, job: str, arguments: dict[str, str]) -> str:
        try:
            requested_dates(arguments)
        except ValueError:
            return "FAILED"  # what the real jobs do with a request telco360.runs refuses
        queue = self.outcomes.get(job, [])
        return queue.pop(0) if queue else "SUCCEEDED"

    def stage_report(self, arguments: dict[str, str]) -> StageReport:
        """Job B's report: the requested dates, then every later existing snapshot (roll-forward)."""
        requested = [d.isoformat() for d in requested_dates(arguments)]
        later = sorted(d for d in self.snapshots if d > requested[-1])
        self.snapshots.update(requested)
        return StageReport(
            run_date=requested[0], through=requested[-1],
            snapshots=[SnapshotReport(
                snapshot_date=d, build="incremental", why_full=None,
                manifest_key=f"staging/_manifests/snapshot_date={d}/manifest.json",
                row_counts={t: 10 + n for n, t in enumerate(TABLES)}, seconds=1.0,
            ) for d in requested + later],
        )


def requested_dates(arguments: dict[str, str]) -> list[date]:
    """The dates a Glue run covers, resolved from its arguments as the job scripts do."""
    first, last = runs.job_dates({k.removeprefix("--"): v for k, v in arguments.items()})
    return runs.date_range(date.fromisoformat(first), date.fromisoformat(last))


@dataclass
class Outcome:
    arn: str
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    runs: list[tuple[str, dict[str, str]]]  # (job name, arguments) of every run so far, in start order
    alerts: list[dict[str, Any]]  # every alert so far
    events: list[dict[str, Any]]  # every telco360.snapshot.ready event so far (EventBridge envelopes)
    lock: dict[str, Any] | None  # the lock item now
    start_date: Any
    stop_date: Any


class Pipeline:
    def __init__(self, script: GlueScript) -> None:
        self.script = script
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.glue = boto3.client("glue", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.held: list[Any] = []  # moto job runs kept RUNNING
        self._alerts: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        for job in (CLEAN_JOB, STAGE_JOB):
            self.glue.create_job(
                Name=job, Role=ROLE_ARN, Command={"Name": "glueetl", "ScriptLocation": f"s3://artifacts/{job}.py"},
                ExecutionProperty={"MaxConcurrentRuns": 1}, GlueVersion="5.1",
            )
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.dynamodb.create_table(
            TableName=LOCK_TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "lock_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lock_id", "KeyType": "HASH"}],
        )
        sns = boto3.client("sns", region_name=REGION)
        topic_arn = sns.create_topic(Name="telco360-test-alerts")["TopicArn"]
        self.alert_queue = self._queue("alerts")
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self._queue_arn(self.alert_queue))
        # A warehouse loader's subscription: the snapshot events land in a queue the tests read.
        self.event_queue = self._queue("snapshot-events")
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="snapshot-ready", EventPattern=json.dumps(
            {"source": [EVENT_SOURCE], "detail-type": ["telco360.snapshot.ready"]}))
        events.put_targets(Rule="snapshot-ready", Targets=[{"Id": "loader", "Arn": self._queue_arn(self.event_queue)}])
        values = {"CleanJobName": CLEAN_JOB, "StageJobName": STAGE_JOB, "LakeRoot": LAKE_ROOT,
                  "DataBucketName": BUCKET, "AlertTopicArn": topic_arn, "LockTableName": LOCK_TABLE,
                  "SnapshotEventSource": EVENT_SOURCE, "EnvironmentName": "test",
                  "GlueRunRetriedOn": template_substitution("GlueRunRetriedOn", script.execution_class)}
        self.machine_arn = self.sfn.create_state_machine(
            name="telco360-test-pipeline", definition=substituted(ASL_PATH, values), roleArn=ROLE_ARN
        )["stateMachineArn"]
        self.release_machine_arn = self.sfn.create_state_machine(
            name="telco360-test-release-lock", definition=substituted(RELEASE_ASL_PATH, values), roleArn=ROLE_ARN
        )["stateMachineArn"]

    def _queue(self, name: str) -> str:
        return str(self.sqs.create_queue(QueueName=name)["QueueUrl"])

    def _queue_arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    # --- executions --------------------------------------------------------------------------------
    def start(self, payload: dict[str, Any], machine_arn: str | None = None) -> str:
        # moto names every unnamed execution "None": a second one would clash.
        return str(self.sfn.start_execution(stateMachineArn=machine_arn or self.machine_arn,
                                            name=f"run-{uuid.uuid4().hex}", input=json.dumps(payload))["executionArn"])

    def wait(self, arn: str, timeout: float = 120.0) -> Outcome:
        # A guard against a hang, not a speed check: alone, the slowest execution here takes about
        # 5 s; on a 2-core CI machine whose other worker runs the Spark tests, one took over 30 s.
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=arn)
            if described["status"] in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"execution still {described['status']} after {timeout}s")
            time.sleep(0.02)
        return Outcome(
            arn=arn, status=described["status"], error=described.get("error"), cause=described.get("cause"),
            output=json.loads(described["output"]) if described.get("output") else None,
            runs=self.runs(), alerts=self._drain(self.alert_queue, self._alerts, alert=True),
            events=self._drain(self.event_queue, self._events), lock=self.lock(),
            start_date=described["startDate"], stop_date=described.get("stopDate"),
        )

    def run(self, payload: dict[str, Any], timeout: float = 30.0) -> Outcome:
        return self.wait(self.start(payload), timeout)

    def release_lock_of_ended(self, execution_arn: str, status: str) -> Outcome:
        """What the EventBridge rule does when a pipeline execution ends: start the release-lock machine
        with the ``Step Functions Execution Status Change`` event."""
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states", "account": ACCOUNT, "time": "2025-01-16T03:00:00Z", "region": REGION,
            "resources": [execution_arn],
            "detail": {"executionArn": execution_arn, "stateMachineArn": self.machine_arn, "status": status,
                       "name": execution_arn.rsplit(":", 1)[-1]},
        }
        return self.wait(self.start(event, self.release_machine_arn))

    # --- what happened -----------------------------------------------------------------------------
    def runs(self) -> list[tuple[str, dict[str, str]]]:
        found = [(job, r) for job in (CLEAN_JOB, STAGE_JOB) for r in self.glue.get_job_runs(JobName=job)["JobRuns"]]
        found.sort(key=lambda pair: pair[1]["StartedOn"])
        return [(job, r.get("Arguments", {})) for job, r in found]

    def job_run_ids(self, job: str) -> list[str]:
        """The Glue run ids of ``job``, in start order."""
        found = sorted(self.glue.get_job_runs(JobName=job)["JobRuns"], key=lambda r: r["StartedOn"])
        return [run["Id"] for run in found]

    def attempts(self, arn: str) -> list[tuple[str, str, str | None, str | None]]:
        """(state, what happened, error, cause) for every task attempt of an execution, from its
        history: ``entered`` when a task state is entered, then ``failed`` or ``succeeded`` per attempt
        (a Retry attempts again inside the same state, without entering it again)."""
        found: list[tuple[str, str, str | None, str | None]] = []
        state = ""
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for event in (e for page in pages for e in page["events"]):
            if event["type"] == "TaskStateEntered":
                state = event["stateEnteredEventDetails"]["name"]
                found.append((state, "entered", None, None))
            elif event["type"] == "TaskFailed":
                details = event["taskFailedEventDetails"]
                found.append((state, "failed", details.get("error"), details.get("cause")))
            elif event["type"] == "TaskSucceeded":
                found.append((state, "succeeded", None, None))
        return found

    def lock(self) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=LOCK_TABLE, Key={"lock_id": {"S": "pipeline"}},
                                      ConsistentRead=True).get("Item")
        return {k: v["S"] for k, v in item.items()} if item else None

    def take_lock(self, owner: str) -> None:
        """A lock left behind by ``owner`` (an execution that timed out or was aborted)."""
        self.dynamodb.put_item(TableName=LOCK_TABLE, Item={"lock_id": {"S": "pipeline"}, "owner": {"S": owner}})

    def wait_for_runs(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.runs()) < count:
            assert time.monotonic() < deadline, f"fewer than {count} Glue runs started"
            time.sleep(0.02)

    def release_held(self) -> None:
        """Let the held runs end (with their scripted outcome) and stop holding new ones."""
        self.script.hold.clear()
        for run, final in self.held:
            run._transitions = [("STARTING", "RUNNING"), ("RUNNING", final)]
        self.held.clear()

    def _drain(self, queue_url: str, seen: list[dict[str, Any]], alert: bool = False) -> list[dict[str, Any]]:
        while messages := self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                body = json.loads(m["Body"])
                seen.append(json.loads(body["Message"]) | {"subject": body.get("Subject")} if alert else body)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return list(seen)


@contextmanager
def pipeline(monkeypatch: Any, script: GlueScript | None = None) -> Iterator[Pipeline]:
    from moto.glue.exceptions import ConcurrentRunsExceededException

    script = script or GlueScript()
    holder: list[Pipeline] = []
    patch_step_functions(monkeypatch, sleep=lambda seconds: script.on_retry_wait and script.on_retry_wait(seconds),
                         start_time=lambda: script.start_time)

    def refuse_when_scripted(job: Any) -> None:
        if script.start_errors.get(job.name, 0) > 0:
            script.start_errors[job.name] -= 1
            raise ConcurrentRunsExceededException(f"Job with name {job.name} already running")

    def scripted(job: Any, run: Any) -> Transitions:
        arguments = run.arguments or {}
        final = script.next_outcome(job.name, arguments)
        if job.name == STAGE_JOB and final == "SUCCEEDED" and script.write_report:
            # Job B writes its report before it ends; the state machine reads it next.
            boto3.client("s3", region_name=REGION).put_object(
                Bucket=BUCKET, Key=arguments["--report_key"],
                Body=json.dumps(script.stage_report(arguments).to_dict()).encode())
        if job.name in script.hold:
            holder[0].held.append((run, final))
            return [("STARTING", "RUNNING")]  # RUNNING until release_held()
        return [("STARTING", "RUNNING"), ("RUNNING", final)]

    with scripted_glue_runs(monkeypatch, scripted, before_start=refuse_when_scripted), mock_aws(config=MOTO_CONFIG):
        machine = Pipeline(script)
        holder.append(machine)
        yield machine
        machine.release_held()
        _settle(machine)


def _settle(machine: Pipeline, timeout: float = 30.0) -> None:
    """Wait for executions still running: moto runs them on threads that would otherwise outlive the
    mock and start Glue runs in the next test's backend."""
    deadline = time.monotonic() + timeout
    for arn in (machine.machine_arn, machine.release_machine_arn):
        while machine.sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
            assert time.monotonic() < deadline, "an execution is still running"
            time.sleep(0.02)
