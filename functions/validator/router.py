"""The S3 side of the gate: read a raw object, move it to its zone, and never lose it (contract.md §1, §3).

Where a file goes is decided by ``telco360.gate.routing`` and ``telco360.zones``; this module only does
the storage work, in an order that survives a crash or a redelivered event at any step:

1. copy the validated version (``CopySourceIfMatch``) to the destination, marking the copy with the
   event's sequencer, so a retry recognises its own earlier copy instead of archiving a duplicate;
2. confirm the copy (size and marker, read back with HeadObject);
3. only then delete the source, conditionally on its ETag, so an upload that replaced it meanwhile
   (it has its own event) is never deleted unvalidated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from aws_lambda_powertools import Logger, Tracer
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from telco360 import zones

if TYPE_CHECKING:  # stubs from the dev tools; the Lambda runtime needs none
    from mypy_boto3_s3 import S3Client

logger = Logger(child=True)
tracer = Tracer()

MIB = 1024 * 1024
# CopyObject copies up to 5 GB in one request; above that boto3's managed copy switches to a
# multipart UploadPartCopy (its chunk size grows by itself to stay under 10,000 parts).
COPY_CONFIG = TransferConfig(multipart_threshold=5 * 1024 * MIB, multipart_chunksize=512 * MIB, max_concurrency=8)
SEQUENCER_METADATA = "telco360-source-sequencer"
# Headers a copy keeps: replacing the metadata (to add the marker) would otherwise reset them.
_CARRIED_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_REPLACED = frozenset({"PreconditionFailed", "412"})


class Readable(Protocol):
    def read(self, n: int = -1) -> bytes: ...

    def close(self) -> None: ...


class SourceGone(Exception):
    """The raw object no longer exists: an earlier delivery of the same event already moved it."""


class CopyNotConfirmed(RuntimeError):
    """The destination does not hold the copy just made; the source is kept."""


@dataclass(frozen=True)
class Source:
    """The version of a raw object that was validated, and what its copy must carry over."""

    bucket: str
    key: str
    etag: str
    size: int
    sequencer: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return zones.file_name_of(self.key)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    return error_code(exc) in _MISSING


@tracer.capture_method(capture_response=False)
def open_source(s3: S3Client, bucket: str, key: str, sequencer: str) -> tuple[Source, Readable]:
    """The object's identity and its body as a stream (never read whole). Raises SourceGone."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            raise SourceGone(key) from exc
        raise
    source = Source(
        bucket=bucket,
        key=key,
        etag=response["ETag"],
        size=int(response["ContentLength"]),
        sequencer=sequencer,
        headers={h: response[h] for h in _CARRIED_HEADERS if response.get(h)},
        metadata=dict(response.get("Metadata") or {}),
    )
    return source, response["Body"]


def _head(s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


def exists(s3: S3Client, bucket: str, key: str) -> bool:
    return _head(s3, bucket, key) is not None


def _is_copy_of(head: Mapping[str, Any] | None, source: Source) -> bool:
    return (
        head is not None
        and (head.get("Metadata") or {}).get(SEQUENCER_METADATA) == source.sequencer
        and int(head["ContentLength"]) == source.size
    )


@dataclass(frozen=True)
class Placement:
    key: str
    already_there: bool  # an earlier delivery of this event made the copy before it stopped


def choose_destination(s3: S3Client, source: Source, wanted_key: str, token: str) -> Placement:
    """``wanted_key`` when it is free (or already holds this event's copy); otherwise the same folder
    with ``zones.unique_file_name``: a second arrival of the same name on the same day. ``token`` comes
    from the event, so a retry of that event finds the same unique key again."""
    head = _head(s3, source.bucket, wanted_key)
    if head is None or _is_copy_of(head, source):
        return Placement(wanted_key, already_there=head is not None)
    folder = wanted_key[: -len(zones.file_name_of(wanted_key))]
    unique_key = folder + zones.unique_file_name(zones.file_name_of(wanted_key), token)
    return Placement(unique_key, already_there=_is_copy_of(_head(s3, source.bucket, unique_key), source))


@tracer.capture_method(capture_response=False)
def copy_confirmed(s3: S3Client, source: Source, placement: Placement) -> None:
    """Copy the validated version byte for byte, then read the destination back. Raises on failure,
    with the source untouched."""
    if not placement.already_there:
        s3.copy(
            CopySource={"Bucket": source.bucket, "Key": source.key},
            Bucket=source.bucket,
            Key=placement.key,
            ExtraArgs={
                "CopySourceIfMatch": source.etag,
                "MetadataDirective": "REPLACE",
                "Metadata": {**source.metadata, SEQUENCER_METADATA: source.sequencer},
                **source.headers,
            },
            Config=COPY_CONFIG,
        )
    if not _is_copy_of(_head(s3, source.bucket, placement.key), source):
        raise CopyNotConfirmed(f"s3://{source.bucket}/{placement.key} does not hold the copy of {source.key}")


def put_json(s3: S3Client, bucket: str, key: str, document: Mapping[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=orjson.dumps(document, option=orjson.OPT_INDENT_2),
                  ContentType="application/json")


@tracer.capture_method(capture_response=False)
def delete_source(s3: S3Client, source: Source) -> bool:
    """Delete the raw object if it is still the validated version. False when it is already gone or
    was replaced by a newer upload (which its own event will validate)."""
    try:
        s3.delete_object(Bucket=source.bucket, Key=source.key, IfMatch=source.etag)
    except ClientError as exc:
        if is_missing(exc) or error_code(exc) in _REPLACED:
            logger.warning("source not deleted: gone or replaced since it was validated",
                           extra={"key": source.key, "error_code": error_code(exc)})
            return False
        raise
    return True
