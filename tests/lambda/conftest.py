"""Fixtures for the validator Lambda: a moto bucket and alert topic (with an SQS queue subscribed, to
read the alerts back), the handler module, and a Powertools-style fake LambdaContext."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from handler_support import BUCKET, REGION, REPO, FakeContext, Lake
from moto import mock_aws

# Read when the handler module is imported: no X-Ray in tests, metrics in a test namespace.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Telco360Test")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
    os.environ.setdefault(_name, "testing")
sys.path.insert(0, str(REPO / "functions" / "validator"))


@pytest.fixture(scope="session")
def app() -> ModuleType:
    import app as handler_module

    return handler_module


@pytest.fixture(scope="session")
def clients() -> dict[str, Any]:
    """Made once (loading the S3 model costs a noticeable share of a test): moto intercepts the calls of
    clients created after it is imported, whichever mock is active, and each test starts its own."""
    session = boto3.session.Session(region_name=REGION)
    return {name: session.client(name) for name in ("s3", "sns", "sqs")}


@pytest.fixture
def lake(app: ModuleType, clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    s3, sns, sqs = clients["s3"], clients["sns"], clients["sqs"]
    with mock_aws():
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        topic_arn = sns.create_topic(Name="telco360-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="telco360-alerts-test")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        # The module's clients were made at import, before moto: hand it these.
        monkeypatch.setattr(app, "s3", s3)
        monkeypatch.setattr(app, "sns", sns)
        monkeypatch.setattr(app, "ALERT_TOPIC_ARN", topic_arn)
        yield Lake(s3, sns, sqs, queue_url, topic_arn)


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def log_stream(app: ModuleType) -> Iterator[io.StringIO]:
    """Everything the handler logs (Powertools JSON lines), captured whatever stdout was at import."""
    buffer = io.StringIO()
    handler = app.logger.registered_handler
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


