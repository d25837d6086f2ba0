"""Moving S3 objects between zones: copy an exact version, confirm the copy, then delete that version.

The order survives a crash or a retry at any step:

1. copy the version that was read (``CopySourceIfMatch`` on its ETag, and its ``VersionId`` when the
   bucket is versioned) with boto3's managed transfer: CopyObject up to 5 GiB, a multipart
   UploadPartCopy above;
2. confirm the copy by reading the destination back (HeadObject): its size, and the marker metadata
   the copy was given, so a retry recognises its own earlier copy instead of making a second one;
3. only then delete the source, conditionally: that exact version when its id is known, else only if
   its ETag still matches, so an upload that replaced it meanwhile is never deleted unseen.

Used by the validator Lambda (raw/ -> archive/ or rejected/) and by ``telco360 replay-rejected``
(rejected/ -> raw/). ``botocore`` is needed (the Lambda runtime and the ``aws`` extra have it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from telco360 import zones

if TYPE_CHECKING:  # stubs from the dev tools; the Lambda runtime needs none
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, GetObjectOutputTypeDef, HeadObjectOutputTypeDef

MIB = 1024 * 1024
# CopyObject copies up to 5 GiB in one request; above that the managed copy switches to a multipart
# UploadPartCopy (its part size grows by itself to stay under 10,000 parts).
COPY_CONFIG = TransferConfig(multipart_threshold=5 * 1024 * MIB, multipart_chunksize=512 * MIB, max_concurrency=8)
# Headers a copy keeps: replacing the metadata (to add a marker) would otherwise reset them.
CARRIED_HEADERS = ("ContentType", "ContentEncoding", "ContentDisposition", "ContentLanguage", "CacheControl")
_MISSING = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
_REPLACED = frozenset({"PreconditionFailed", "412"})


class ObjectMissing(LookupError):
    """The object (or the version asked for) does not exist."""


class CopyNotConfirmed(RuntimeError):
    """The destination does not hold the copy just made; the source is kept."""


@dataclass(frozen=True)
class ObjectVersion:
    """One version of an object, as read: what a copy must reproduce and a delete must match."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None  # None in an unversioned bucket
    headers: Mapping[str, Any] = field(default_factory=dict)  # CARRIED_HEADERS the object has
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def copy_source(self) -> CopySourceTypeDef:
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id:
            source["VersionId"] = self.version_id
        return source


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_missing(exc: ClientError) -> bool:
    return error_code(exc) in _MISSING


def _version_of(bucket: str, key: str, response: HeadObjectOutputTypeDef | GetObjectOutputTypeDef) -> ObjectVersion:
    version = response.get("VersionId")
    return ObjectVersion(
        bucket=bucket,
        key=key,
        etag=response["ETag"],
        size=int(response["ContentLength"]),
        # S3 answers "null" for an object written before versioning was enabled: not an id to send.
        version_id=version if version and version != "null" else None,
        headers={h: response[h] for h in CARRIED_HEADERS if response.get(h)},  # type: ignore[literal-required]
        metadata=dict(response.get("Metadata") or {}),
    )


def head(s3: S3Client, bucket: str, key: str, version_id: str | None = None) -> HeadObjectOutputTypeDef | None:
    """HeadObject, or None when the object (version) does not exist."""
    try:
        if version_id:
            return s3.head_object(Bucket=bucket, Key=key, VersionId=version_id)
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            return None
        raise


def stat(s3: S3Client, bucket: str, key: str, version_id: str | None = None) -> ObjectVersion:
    """The current (or given) version of an object. Raises ObjectMissing."""
    response = head(s3, bucket, key, version_id)
    if response is None:
        raise ObjectMissing(f"s3://{bucket}/{key} does not exist")
    return _version_of(bucket, key, response)


def open_version(s3: S3Client, bucket: str, key: str,
                 version_id: str | None = None) -> tuple[ObjectVersion, GetObjectOutputTypeDef]:
    """GetObject: the version read and the response, whose ``Body`` streams it (never read whole).
    Raises ObjectMissing."""
    try:
        if version_id:
            response = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)
        else:
            response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if is_missing(exc):
            raise ObjectMissing(f"s3://{bucket}/{key} does not exist") from exc
        raise
    return _version_of(bucket, key, response), response


def holds_copy(response: Mapping[str, Any] | None, source: ObjectVersion, marker: Mapping[str, str]) -> bool:
    """Whether a HeadObject answer is a copy of ``source`` made with ``marker``: same size, marker
    metadata present. (ETags are no proof: a multipart copy or SSE-KMS gives the copy its own.)"""
    if response is None or int(response["ContentLength"]) != source.size:
        return False
    metadata = response.get("Metadata") or {}
    return all(metadata.get(name) == value for name, value in marker.items())


@dataclass(frozen=True)
class Placement:
    key: str
    already_there: bool  # an earlier attempt made this copy before it stopped


def free_key(s3: S3Client, source: ObjectVersion, wanted_key: str, token: str, marker: Mapping[str, str]) -> Placement:
    """``wanted_key`` when it is free or already holds this copy (same marker); otherwise
    ``zones.unique_key(wanted_key, token)``: a second arrival of the same name on the same day. With a
    ``token`` that comes from the event, a retry finds the same unique key again."""
    found = head(s3, source.bucket, wanted_key)
    if found is None or holds_copy(found, source, marker):
        return Placement(wanted_key, already_there=found is not None)
    unique = zones.unique_key(wanted_key, token)
    return Placement(unique, already_there=holds_copy(head(s3, source.bucket, unique), source, marker))


def copy_confirmed(s3: S3Client, source: ObjectVersion, key: str, marker: Mapping[str, str],
                   *, already_there: bool = False) -> None:
    """Copy ``source`` byte for byte to ``key`` in its bucket (unless ``already_there``), with its
    metadata plus ``marker``, then read the destination back. Raises CopyNotConfirmed (or the copy's
    own error), with the source untouched."""
    if not already_there:
        s3.copy(
            CopySource=source.copy_source,
            Bucket=source.bucket,
            Key=key,
            ExtraArgs={
                "CopySourceIfMatch": source.etag,
                "MetadataDirective": "REPLACE",
                "Metadata": {**source.metadata, **marker},
                **source.headers,
            },
            Config=COPY_CONFIG,
        )
    if not holds_copy(head(s3, source.bucket, key), source, marker):
        raise CopyNotConfirmed(f"s3://{source.bucket}/{key} does not hold the copy of {source.key}")


def delete_if_unchanged(s3: S3Client, source: ObjectVersion) -> bool:
    """Delete the version that was copied: by its id when known (a newer upload is another version and
    stays), else only while the key's ETag still matches. False when it is already gone or was
    replaced (a replacement has its own event, or its own replay)."""
    try:
        if source.version_id:
            s3.delete_object(Bucket=source.bucket, Key=source.key, VersionId=source.version_id)
        else:
            s3.delete_object(Bucket=source.bucket, Key=source.key, IfMatch=source.etag)
    except ClientError as exc:
        if is_missing(exc) or error_code(exc) in _REPLACED:
            return False
        raise
    return True


def move(s3: S3Client, source: ObjectVersion, key: str, marker: Mapping[str, str]) -> bool:
    """Copy, confirm, then delete the source (``delete_if_unchanged``'s answer is returned)."""
    copy_confirmed(s3, source, key, marker)
    return delete_if_unchanged(s3, source)
