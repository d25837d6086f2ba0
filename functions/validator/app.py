"""The validation gate as an S3-triggered Lambda (docs/spec.md §3).

For each object created under ``raw/``: stream it through ``telco360.gate.validate_and_index`` (never
read whole), move it to ``archive/`` or ``rejected/`` (copy, confirm, then delete: ``telco360.storage.s3``
through ``router``); for an archived uncompressed file write the index of its lines (learnt in the same
pass) to ``_lines/<file>.json`` beside it, for Job A; for a rejection write ``<file>.reason.json``
beside it and send one SNS alert. Each record of an event is settled on its own; a folder marker (a
key ending in ``/``) is skipped. Alerts, reason files and logs name the problem (reason code, message,
line), never a record value: raw files hold customer PII.

Whatever happens while validating (an unexpected error, a run about to time out) still ends with the
file in ``rejected/`` and an alert. When even that fails the error is raised, so the asynchronous
invocation retries and finally hands the event to its on-failure destination; the file is then still
in ``raw/``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import boto3
import router
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from telco360 import zones
from telco360.contracts import detect_dataset_from_key
from telco360.formats import file_kind
from telco360.gate import Indexed, Reason, Verdict, routing, validate_and_index

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "telco360-validator")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Telco360")
ALERT_TOPIC_ARN = os.environ.get("ALERT_TOPIC_ARN", "")
# Time kept back to move the file to rejected/ and alert when validation must stop early.
TIMEOUT_MARGIN_MS = int(float(os.environ.get("TIMEOUT_MARGIN_SECONDS", "10")) * 1000)
RAW_PREFIX = f"{zones.RAW}/"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
s3: S3Client = boto3.client("s3")
sns = boto3.client("sns")


class ValidationTimeout(Exception):
    """The invocation is about to time out; raised from inside the validator's read loop."""


class RecordsFailed(RuntimeError):
    """Some records could not be settled; raised so the async invocation retries them."""


class DeadlineReader:
    """The object's body as the validator reads it, stopping the run while there is still time left to
    move the file to rejected/ (the Lambda's remaining time is checked before every read)."""

    def __init__(self, body: router.Readable, context: LambdaContext, margin_ms: int) -> None:
        self._body = body
        self._context = context
        self._margin_ms = margin_ms
        self.bytes_read = 0
        self.timed_out = False

    def read(self, n: int = -1) -> bytes:
        if self._context.get_remaining_time_in_millis() < self._margin_ms:
            self.timed_out = True
            raise ValidationTimeout(f"less than {self._margin_ms} ms left")
        chunk = self._body.read(n)
        self.bytes_read += len(chunk)
        return chunk


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    for record in S3Event(event).records:
        try:
            results.append(process_record(record, context))
        except Exception:
            # S3 errors only (the validator's own are caught below): their text holds no record value.
            logger.exception("record not settled; the object stays where it is", extra={"key": _key_of(record)})
            failed.append(_key_of(record))
    if failed:
        raise RecordsFailed(f"{len(failed)} record(s) not settled: {', '.join(failed)}")
    return {"records": results}


def _key_of(record: S3EventRecord) -> str:
    return unquote_plus(record.s3.get_object.key)


@tracer.capture_method(capture_response=False)
def process_record(record: S3EventRecord, context: LambdaContext) -> dict[str, Any]:
    bucket, key = record.s3.bucket.name, _key_of(record)
    with logger.append_context_keys(key=key):
        if not key.startswith(RAW_PREFIX):
            # The notification filter already limits events to raw/: a count here means it is missing.
            logger.info("ignored: only objects under raw/ are validated")
            metrics.add_metric(name="ObjectsIgnored", unit=MetricUnit.Count, value=1)
            return summary(key, "ignored")
        if key.endswith("/"):
            # A console "Create folder" writes an empty object named like a folder: nobody's data file,
            # so it is neither archived nor rejected (no alert), and is left where it is.
            logger.info("skipped: a folder marker, not a file")
            metrics.add_metric(name="FolderMarkersSkipped", unit=MetricUnit.Count, value=1)
            return summary(key, "skipped")
        event_time = datetime.fromisoformat(record.event_time)
        sequencer = record.s3.get_object.get("sequencer") or ""
        # In a versioned bucket the event names the version it announces: that one is validated and
        # moved, even if a newer upload of the same key has arrived since (it has its own event).
        version_id = record.s3.get_object.version_id or None
        try:
            source, body = router.open_source(s3, bucket, key, sequencer, version_id)
        except router.SourceGone:
            logger.info("source already gone: a redelivered event, nothing to do")
            metrics.add_metric(name="SourceAlreadyGone", unit=MetricUnit.Count, value=1)
            return summary(key, "already_processed")
        checked = validate(body, key, context)
        return settle(source, checked, zones.ingest_date_of(event_time), event_token(event_time, sequencer))


def event_token(event_time: datetime, sequencer: str) -> str:
    """Unique per upload and ordered by arrival: the compact UTC event time, then S3's sequencer."""
    utc = event_time.astimezone(UTC)
    return f"{utc:%Y%m%dT%H%M%S}{utc.microsecond // 1000:03d}Z" + (f"-{sequencer}" if sequencer else "")


@tracer.capture_method(capture_response=False)
def validate(body: router.Readable, key: str, context: LambdaContext) -> Indexed:
    """The verdict, with the index of the file's lines when it is valid and uncompressed; a timeout or
    a validator failure is a rejection (with no index)."""
    reader = DeadlineReader(body, context, TIMEOUT_MARGIN_MS)
    started = time.perf_counter()
    checked: Indexed | None = None
    error_type = ""
    try:
        checked = validate_and_index(reader, key)
    except Exception as exc:
        error_type = type(exc).__name__
        if not reader.timed_out:
            # The type and the frames only: an exception's text may quote the record it choked on.
            logger.error("the validator failed", extra={"error_type": error_type,
                                                        "frames": "".join(traceback.format_tb(exc.__traceback__))})
    finally:
        body.close()
    metrics.add_metric(name="ValidationDuration", unit=MetricUnit.Milliseconds,
                       value=(time.perf_counter() - started) * 1000)
    metrics.add_metric(name="BytesValidated", unit=MetricUnit.Bytes, value=reader.bytes_read)
    # Checked first: the validator may have caught the timeout as a read error and returned a verdict.
    if reader.timed_out:
        return Indexed(failed_verdict(
            key, Reason.VALIDATION_TIMEOUT, reader.bytes_read,
            f"validation stopped after {reader.bytes_read} bytes: the run was about to time out"), None)
    if checked is None:
        return Indexed(failed_verdict(key, Reason.VALIDATOR_ERROR, reader.bytes_read,
                                      f"the validator failed with {error_type}"), None)
    return checked


def failed_verdict(key: str, reason: Reason, bytes_read: int, message: str) -> Verdict:
    """A rejection the validator could not reach by itself; the dataset comes from the key alone."""
    kind = file_kind(zones.file_name_of(key))
    return Verdict(valid=False, dataset=detect_dataset_from_key(key), format=kind.format,
                   compressed=kind.gzipped, rows=0, bytes_read=bytes_read, reason=reason, message=message)


@tracer.capture_method(capture_response=False)
def settle(source: router.Source, checked: Indexed, ingest_date: str, token: str) -> dict[str, Any]:
    """Move the file to its zone; before the source goes, write the line index beside an archived file
    (again on a retry: the same bytes), or for a rejection alert and write its reason."""
    verdict = checked.verdict
    wanted = routing.destination_key(verdict, source.file_name, ingest_date)
    placement = router.choose_destination(s3, source, wanted, token)
    router.copy_confirmed(s3, source, placement)
    if checked.lines is not None:
        router.put_line_index(s3, source.bucket, zones.line_index_key(placement.key), checked.lines)
    if not verdict.valid:
        reason_key = zones.reason_key(placement.key)
        # A retry after a failed delete finds the reason file written, so the alert was already sent.
        if not (placement.already_there and router.exists(s3, source.bucket, reason_key)):
            send_alert(verdict, source, placement.key)
            router.put_json(s3, source.bucket, reason_key,
                            routing.reason_document(verdict, source.key, placement.key, ingest_date))
    router.delete_source(s3, source)
    count_outcome(verdict)
    outcome = "archived" if verdict.valid else "rejected"
    logger.info(f"file {outcome}", extra={"destination": placement.key, "dataset": verdict.dataset,
                                           "reason": verdict.reason, "line": verdict.line, "rows": verdict.rows,
                                           "detail": verdict.message})
    return summary(source.key, outcome, placement.key, verdict.reason)


def send_alert(verdict: Verdict, source: router.Source, rejected_key: str) -> None:
    if not ALERT_TOPIC_ARN:
        logger.warning("ALERT_TOPIC_ARN is not set: rejection not alerted")
        return
    dataset = verdict.dataset or zones.UNKNOWN_DATASET
    reason = verdict.reason.value if verdict.reason else ""
    message = {"bucket": source.bucket, "key": source.key, "rejected_key": rejected_key, "dataset": dataset,
               "reason": reason, "message": verdict.message, "line": verdict.line}
    sns.publish(TopicArn=ALERT_TOPIC_ARN, Subject=f"Telco360: {dataset} file rejected ({reason})"[:100],
                Message=json.dumps(message))


def count_outcome(verdict: Verdict) -> None:
    """One EMF document per file, counted under two dimension sets: the service alone (what the alarm
    and the dashboard read) and service + dataset (+ reason for a rejection)."""
    outcome = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    dimensions = {"dataset": verdict.dataset or zones.UNKNOWN_DATASET}
    if verdict.reason:
        dimensions["reason"] = verdict.reason.value
    outcome.add_dimensions(service=SERVICE, **dimensions)
    outcome.add_metric(name="FilesAccepted" if verdict.valid else "FilesRejected", unit=MetricUnit.Count, value=1)
    outcome.flush_metrics()


def summary(key: str, outcome: str, destination: str | None = None, reason: Reason | None = None) -> dict[str, Any]:
    return {"key": key, "outcome": outcome, "destination": destination, "reason": reason.value if reason else None}
