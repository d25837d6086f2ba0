"""What the handler tests share: raw files built from the contracts (no column list is written here),
S3 events shaped like the events/ fixtures, a fake LambdaContext, and the moto account's read side."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import orjson

from telco360.contracts import Column, get_contract

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
# The bucket the events/ fixtures name (they all name the same one, checked in test_validator_events).
BUCKET: str = json.loads((EVENTS / "s3_customers_valid.json").read_text("utf-8"))["Records"][0]["s3"]["bucket"]["name"]
REGION = "eu-west-1"
# A value no log line, alert or reason file may ever contain (raw files hold customer PII).
PII = "jane.pii-7f3a91@example.com"

_SAMPLES: dict[str, Any] = {
    "date": "1990-05-17",
    "timestamp": "2025-01-01T08:00:00Z",
    "int": 10,
    "decimal": "19.99",
    "boolean": True,
    "json": {"mb_used": 12},
}


def value(column: Column, row: int) -> Any:
    if column.type == "enum":
        return column.allowed_values[0]
    if column.type == "string":
        return f"{column.name}-{row}"
    return _SAMPLES[column.type]


def records(dataset: str, rows: int = 3, drop: tuple[str, ...] = (), **overrides: Any) -> list[dict[str, Any]]:
    contract = get_contract(dataset)
    return [
        {c.name: overrides.get(c.name, value(c, i)) for c in contract.columns if c.name not in drop}
        for i in range(1, rows + 1)
    ]


def ndjson(dataset: str, rows: int = 3, drop: tuple[str, ...] = (), **overrides: Any) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records(dataset, rows, drop, **overrides))


def csv_rows(dataset: str, rows: int = 3, drop: tuple[str, ...] = ()) -> list[list[str]]:
    """The header row, then data rows, as CSV text fields."""
    table = records(dataset, rows, drop)
    header = list(table[0])
    return [header] + [[_csv_text(r[name]) for name in header] for r in table]


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def csv_file(dataset: str, rows: int = 3, drop: tuple[str, ...] = ()) -> bytes:
    return csv_bytes(csv_rows(dataset, rows, drop))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _csv_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return orjson.dumps(v).decode()
    return str(v)


@dataclass
class FakeContext:
    """What the handler reads from a LambdaContext. ``time_left_ms`` is answered in turn (the last value
    repeats), so a test can let the clock run out in the middle of a file."""

    function_name: str = "telco360-validator"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:telco360-validator"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    time_left_ms: list[int] = field(default_factory=lambda: [900_000])

    def get_remaining_time_in_millis(self) -> int:
        return self.time_left_ms.pop(0) if len(self.time_left_ms) > 1 else self.time_left_ms[0]


@dataclass
class Lake:
    """The moto account the handler runs against, with helpers to read what it did."""

    s3: Any
    sns: Any
    sqs: Any
    queue_url: str
    topic_arn: str

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def listing(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert published so far (each SNS envelope: Subject, Message, ...), consumed."""
        out: list[dict[str, Any]] = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for m in batch:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return out


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text("utf-8"))


def s3_event(key: str, event_time: str = "2025-01-01T06:02:11.418Z", sequencer: str = "0067752A3B005C8E1F",
             template: str = "s3_customers_valid", version_id: str | None = None) -> dict[str, Any]:
    """An S3 put event for ``key``, shaped like the events/ fixtures (the key URL-encoded as S3 does),
    naming ``version_id`` as a versioned bucket's events do."""
    event = copy.deepcopy(load_event(template))
    record = event["Records"][0]
    record["eventTime"] = event_time
    record["s3"]["object"].update(key=quote_plus(key, safe="/"), sequencer=sequencer)
    if version_id is not None:
        record["s3"]["object"]["versionId"] = version_id
    return event
