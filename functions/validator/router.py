"""The S3 side of the validator: read the raw object an event announces, and move it to its zone with
``telco360.storage.s3`` (copy, confirm, then delete; docs/spec.md §1, §3).

Where a file goes is decided by ``telco360.gate.routing`` and ``telco360.zones``. What is the
validator's own: the copy is marked with the event's sequencer, so a redelivered event recognises its
own earlier copy (and reuses its unique name) instead of archiving the file twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aws_lambda_powertools import Logger, Tracer

from telco360 import zones
from telco360.gate.lines import LineIndex
from telco360.storage import s3 as storage
from telco360.storage.s3 import CopyNotConfirmed, ObjectMissing, ObjectVersion, Placement

if TYPE_CHECKING:  # stubs from the dev tools; the Lambda runtime needs none
    from mypy_boto3_s3 import S3Client

__all__ = ["CopyNotConfirmed", "Placement", "Readable", "Source", "SourceGone"]

logger = Logger(child=True)
tracer = Tracer()

SEQUENCER_METADATA = "telco360-source-sequencer"
# The raw object no longer exists: an earlier delivery of the same event already moved it.
SourceGone = ObjectMissing


class Readable(Protocol):
    def read(self, n: int = -1) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Source:
    """The version of a raw object that was validated, and the event that announced it."""

    version: ObjectVersion
    sequencer: str

    @property
    def bucket(self) -> str:
        return self.version.bucket

    @property
    def key(self) -> str:
        return self.version.key

    @property
    def file_name(self) -> str:
        return zones.file_name_of(self.version.key)

    @property
    def marker(self) -> Mapping[str, str]:
        return {SEQUENCER_METADATA: self.sequencer}


@tracer.capture_method(capture_response=False)
def open_source(s3: S3Client, bucket: str, key: str, sequencer: str,
                version_id: str | None = None) -> tuple[Source, Readable]:
    """The object's identity and its body as a stream (never read whole): the version the event names
    when it names one. Raises SourceGone."""
    version, response = storage.open_version(s3, bucket, key, version_id)
    return Source(version, sequencer), response["Body"]


def choose_destination(s3: S3Client, source: Source, wanted_key: str, token: str) -> Placement:
    """``wanted_key``, or a unique name beside it when another file holds it (see storage.free_key)."""
    return storage.free_key(s3, source.version, wanted_key, token, source.marker)


@tracer.capture_method(capture_response=False)
def copy_confirmed(s3: S3Client, source: Source, placement: Placement) -> None:
    storage.copy_confirmed(s3, source.version, placement.key, source.marker, already_there=placement.already_there)


@tracer.capture_method(capture_response=False)
def delete_source(s3: S3Client, source: Source) -> bool:
    """Delete the validated version of the raw object; False (logged) when it is already gone or was
    replaced by a newer upload, which its own event validates."""
    deleted = storage.delete_if_unchanged(s3, source.version)
    if not deleted:
        logger.warning("source not deleted: gone or replaced since it was validated", extra={"key": source.key})
    return deleted


def exists(s3: S3Client, bucket: str, key: str) -> bool:
    return storage.head(s3, bucket, key) is not None


def put_json(s3: S3Client, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=orjson.dumps(document, option=orjson.OPT_INDENT_2),
                  ContentType="application/json")


def put_line_index(s3: S3Client, bucket: str, key: str, index: LineIndex) -> None:
    """The index of an archived file's lines (``zones.line_index_key``); writing it again is harmless."""
    s3.put_object(Bucket=bucket, Key=key, Body=index.to_json(), ContentType="application/json")
