"""The operations on the data bucket behind ``replay`` and ``replay-rejected``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telco360 import runs, zones

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Marks the copy back in raw/ with the rejected version it came from: the confirmation reads it back,
# and the validator carries it into archive/ or rejected/ (where the file went before).
REPLAYED_FROM_METADATA = "telco360-replayed-from"


class LakeError(Exception):
    """An S3 object is not where or what the operation needs."""


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int


def archived_files(s3: Any, bucket: str, dataset: str, run_date: str) -> list[S3Object]:
    """The files archived for ``dataset`` on ``run_date`` (what Job A reads for that date): the objects
    directly in the partition, without those whose name starts with ``_`` or ``.`` (the line indexes in
    ``_lines/``), as Job A lists them."""
    prefix = zones.partition(zones.ARCHIVE, dataset, runs.parse_run_date(run_date).isoformat()) + "/"
    found: list[S3Object] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        found.extend(S3Object(o["Key"], int(o["Size"])) for o in page.get("Contents", [])
                     if not zones.file_name_of(o["Key"]).startswith(("_", ".")))
    return found


def raw_key_for(rejected_key: str) -> str:
    """Where a fixed rejected file goes back in: ``raw/<dataset>/<file>``, or ``raw/<file>`` when its
    dataset was unknown (the gate then detects it from the name or content)."""
    if rejected_key.endswith(zones.REASON_SUFFIX):
        raise LakeError(f"{rejected_key} is a reason file; pass the rejected file itself")
    try:
        parts = zones.parse_partition_key(rejected_key)
    except ValueError:
        parts = None
    if parts is None or parts.zone != zones.REJECTED:
        raise LakeError(f"{rejected_key} is not a rejected file (expected rejected/<dataset>/ingest_date=<D>/<file>)")
    return zones.raw_key(parts.dataset, parts.file_name)


def replay_rejected(s3: S3Client, bucket: str, rejected_key: str) -> str:
    """Copy a (fixed) rejected file back to ``raw/`` so the validator sees it again, confirm the copy,
    then delete the rejected file (the version copied, see ``telco360.storage.s3``) and its reason
    file. Returns the raw key.

    The confirmation reads the raw key back right after the copy; should the validator already have
    moved it on (it starts on the copy's event), the copy cannot be confirmed and the rejected file
    is kept: the replay is then reported as failed although the file went through, and running it
    again makes a second arrival (archived under its own name), never a loss."""
    from telco360.storage import s3 as storage

    target = raw_key_for(rejected_key)
    try:
        source = storage.stat(s3, bucket, rejected_key)
    except storage.ObjectMissing:
        raise LakeError(f"s3://{bucket}/{rejected_key} does not exist") from None
    marker = {REPLAYED_FROM_METADATA: source.version_id or source.etag.strip('"')}
    try:
        storage.copy_confirmed(s3, source, target, marker)
    except storage.CopyNotConfirmed:
        raise LakeError(f"the copy to s3://{bucket}/{target} could not be confirmed; {rejected_key} is kept") from None
    if not storage.delete_if_unchanged(s3, source):
        raise LakeError(f"s3://{bucket}/{rejected_key} changed while it was replayed: it is kept, and its copy "
                        f"is in {target}")
    s3.delete_object(Bucket=bucket, Key=zones.reason_key(rejected_key))
    return target
