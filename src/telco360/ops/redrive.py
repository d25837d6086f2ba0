"""``telco360 redrive``: send the S3 events parked in the validator's on-failure queue through the
validator again, after the cause is fixed.

Lambda's asynchronous on-failure destination writes one JSON record per event that ran out of
retries: ``requestPayload`` is the original S3 event, ``requestContext`` and ``responsePayload`` say
why it failed. Each event is invoked again asynchronously (what S3 itself does), and its message is
deleted only once that invoke is accepted, so nothing is lost when an invoke fails."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Long enough for an invoke and a delete; a message not deleted (a failed invoke, a crash) comes back.
VISIBILITY_SECONDS = 120
_BATCH = 10  # SQS's maximum per ReceiveMessage

Send = Callable[[dict[str, Any]], None]  # invokes the validator with an S3 event; raises on failure


@dataclass(frozen=True)
class ParkedEvent:
    """One message of the on-failure queue."""

    message_id: str
    receipt_handle: str
    payload: dict[str, Any] | None  # the original S3 event; None when the message is not a Lambda record
    keys: list[str]  # s3://bucket/key of each record of the event
    condition: str  # why Lambda gave up: RetriesExhausted, EventAgeExceeded, ...
    error: str  # the function's error type and message, if it answered one


@dataclass
class RedriveResult:
    sent: list[ParkedEvent]
    kept: list[tuple[ParkedEvent, str]]  # (event, why it stays in the queue)


def parse(message: dict[str, Any]) -> ParkedEvent:
    """A queue message as a ``ParkedEvent`` (``payload`` is None for anything but a Lambda record)."""
    try:
        record = json.loads(message.get("Body") or "")
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("requestPayload"), dict):
        return ParkedEvent(message["MessageId"], message["ReceiptHandle"], None, [], "",
                           "not a Lambda on-failure record")
    payload: dict[str, Any] = record["requestPayload"]
    response = record.get("responsePayload")
    error = f"{response.get('errorType', '')}: {response.get('errorMessage', '')}" if isinstance(response, dict) else ""
    context = record.get("requestContext")
    condition = str(context.get("condition", "")) if isinstance(context, dict) else ""
    return ParkedEvent(message["MessageId"], message["ReceiptHandle"], payload, _object_uris(payload), condition,
                       error.strip(": "))


def _object_uris(event: dict[str, Any]) -> list[str]:
    records = event.get("Records")
    uris = []
    for record in records if isinstance(records, list) else []:
        s3 = record.get("s3", {}) if isinstance(record, dict) else {}
        uris.append(f"s3://{s3.get('bucket', {}).get('name', '?')}/{s3.get('object', {}).get('key', '?')}")
    return uris


def parked_events(sqs: Any, queue_url: str, *, limit: int, visibility: int) -> Iterator[ParkedEvent]:
    """Up to ``limit`` messages of the queue, each once, hidden for ``visibility`` seconds while the
    caller handles them (a receive that brings only messages seen already ends the listing)."""
    seen: set[str] = set()
    while len(seen) < limit:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(_BATCH, limit - len(seen)),
                                     VisibilityTimeout=visibility, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in seen]
        for again in (m for m in messages if m["MessageId"] in seen):
            # Seen already (kept, or listed by a dry run): this receive hid it again, undo that.
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield parse(message)


def redrive(sqs: Any, queue_url: str, send: Send, *, limit: int = 1000, dry_run: bool = False) -> RedriveResult:
    """Send every parked S3 event again and delete its message once the send is accepted. With
    ``dry_run`` nothing is sent or deleted, and the messages are made visible again at once."""
    result = RedriveResult([], [])
    for event in parked_events(sqs, queue_url, limit=limit, visibility=VISIBILITY_SECONDS):
        if event.payload is None or dry_run:
            if event.payload is None:
                result.kept.append((event, event.error))
            else:
                result.sent.append(event)
            # Back in the queue now: a listing must not hide messages from a redrive or the alarm.
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=event.receipt_handle, VisibilityTimeout=0)
            continue
        try:
            send(event.payload)
        except Exception as exc:  # whatever the sender raises, the message stays and the reason is shown
            result.kept.append((event, f"{type(exc).__name__}: {exc}"))
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=event.receipt_handle, VisibilityTimeout=0)
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=event.receipt_handle)
        result.sent.append(event)
    return result


def lambda_sender(lambda_client: Any, function_name: str) -> Send:
    """Invoke ``function_name`` asynchronously, as S3 does; raise unless Lambda accepted the event."""

    def send(payload: dict[str, Any]) -> None:
        answer = lambda_client.invoke(FunctionName=function_name, InvocationType="Event",
                                      Payload=json.dumps(payload).encode("utf-8"))
        if answer.get("StatusCode") != 202:
            raise RuntimeError(f"Lambda answered {answer.get('StatusCode')} instead of 202 (accepted)")

    return send
