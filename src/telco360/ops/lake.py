"""The operations on the data bucket behind ``replay`` and ``replay-rejected``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from telco360 import runs, zones

# boto3's managed copy switches to multipart above this; copy_object itself stops at 5 GiB.
_SINGLE_COPY_LIMIT = 5 * 1024**3
_REJECTED = re.compile(rf"^{zones.REJECTED}/(?P<dataset>[^/]+)/ingest_date=(?P<date>[^/]+)/(?P<name>[^/]+)$")


class LakeError(Exception):
    """An S3 object is not where or what the operation needs."""


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int


def archived_files(s3: Any, bucket: str, dataset: str, run_date: str) -> list[S3Object]:
    """The files archived for ``dataset`` on ``run_date`` (what Job A reads for that date)."""
    prefix = zones.partition(zones.ARCHIVE, dataset, runs.parse_run_date(run_date).isoformat()) + "/"
    found: list[S3Object] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(S3Object(o["Key"], int(o["Size"])) for o in page.get("Contents", []))
    return found


def raw_key_for(rejected_key: str) -> str:
    """Where a fixed rejected file goes back in: ``raw/<dataset>/<file>``, or ``raw/<file>`` when its
    dataset was unknown (the gate then detects it from the name or content)."""
    if rejected_key.endswith(zones.REASON_SUFFIX):
        raise LakeError(f"{rejected_key} is a reason file; pass the rejected file itself")
    match = _REJECTED.match(rejected_key)
    if not match:
        raise LakeError(f"{rejected_key} is not a rejected file (expected rejected/<dataset>/ingest_date=<D>/<file>)")
    dataset, name = match["dataset"], match["name"]
    return f"{zones.RAW}/{name}" if dataset == zones.UNKNOWN_DATASET else f"{zones.RAW}/{dataset}/{name}"


def _head(s3: Any, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        extra = {"VersionId": version_id} if version_id else {}
        return s3.head_object(Bucket=bucket, Key=key, **extra)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def replay_rejected(s3: Any, bucket: str, rejected_key: str) -> str:
    """Copy a (fixed) rejected file back to ``raw/`` so the validator sees it again, confirm the copy,
    then delete the rejected file and its reason file. Returns the raw key."""
    target = raw_key_for(rejected_key)
    source = _head(s3, bucket, rejected_key)
    if source is None:
        raise LakeError(f"s3://{bucket}/{rejected_key} does not exist")
    size = int(source["ContentLength"])
    version_id = None
    if size <= _SINGLE_COPY_LIMIT:
        answer = s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": rejected_key})
        version_id = answer.get("VersionId")
    else:
        s3.copy({"Bucket": bucket, "Key": rejected_key}, bucket, target)
    # The validator may already have moved the new raw object on; in a versioned bucket the copied
    # version is still there to confirm.
    copied = _head(s3, bucket, target, version_id)
    if copied is None or int(copied["ContentLength"]) != size:
        raise LakeError(f"the copy to s3://{bucket}/{target} could not be confirmed; {rejected_key} is kept")
    s3.delete_object(Bucket=bucket, Key=rejected_key)
    s3.delete_object(Bucket=bucket, Key=zones.reason_key(rejected_key))
    return target
