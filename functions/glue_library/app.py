"""CloudFormation custom resource: publish the shared ``telco360`` package for Glue's ``--extra-py-files``.

SAM uploads a Glue job's ``Command.ScriptLocation`` but nothing uploads ``--extra-py-files``, so this
function (built with the package, PyYAML and crhelper beside it) zips the package on Create/Update, puts
the zip at ``s3://<bucket>/glue/lib/telco360-<sha256 prefix>.zip`` and returns that URI as both the
physical id and the ``S3Uri`` attribute. ``crhelper`` answers CloudFormation (success, or failure with
the reason, never silence) and fails the request shortly before the Lambda would time out.

A content-addressed key makes every lifecycle step safe:

- an update that changes the package returns a new physical id, so CloudFormation treats it as a
  replacement: the old zip stays until the update has succeeded (a rollback finds it untouched), and
  only then is the old resource deleted;
- Delete removes every version of its own key and nothing else. That is what lets the rollback of a
  failed first deploy delete the (versioned) artifacts bucket, and what ages old zips out after a
  successful update. An update that produces the same zip keeps the same physical id: no Delete.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from crhelper import CfnResource

LOGGER = logging.getLogger(__name__)

CODE_DIR = Path(__file__).resolve().parent
PACKAGES: tuple[str, ...] = ("telco360", "yaml")
# Only pure-Python files and package data: Glue runs Python 3.11 and cannot load compiled modules from a
# zip anyway, and PyYAML falls back to its pure-Python implementation without them.
INCLUDED_SUFFIXES: tuple[str, ...] = (".py", ".yaml", ".json", ".typed")
KEY_PREFIX = "glue/lib/telco360-"
HASH_CHARS = 16
# A fixed timestamp keeps the zip (and so its key) identical for identical sources.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# The bucket is gone already (deleted by hand, or never created): nothing left to remove.
_BUCKET_GONE = frozenset({"NoSuchBucket"})

# sleep_on_delete: crhelper waits before answering a Delete so the logs reach CloudWatch before the
# stack deletes the log group; 30 s is plenty for a few lines and keeps a rollback quick.
helper = CfnResource(json_logging=True, log_level="INFO", boto_level="ERROR", sleep_on_delete=30)


def build_library_zip(code_dir: Path = CODE_DIR, packages: tuple[str, ...] = PACKAGES) -> bytes:
    """The packages under ``code_dir`` as one reproducible zip (sorted entries, fixed dates)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for package in packages:
            root = code_dir / package
            if not root.is_dir():
                raise FileNotFoundError(f"package {package!r} is not bundled in {code_dir}")
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.suffix in INCLUDED_SUFFIXES and "__pycache__" not in path.parts:
                    info = zipfile.ZipInfo(path.relative_to(code_dir).as_posix(), date_time=ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def publish(bucket: str, body: bytes, s3: Any = None) -> str:
    """Put the zip under its content hash and return its ``s3://`` URI."""
    key = f"{KEY_PREFIX}{hashlib.sha256(body).hexdigest()[:HASH_CHARS]}.zip"
    (s3 or boto3.client("s3")).put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/zip")
    return f"s3://{bucket}/{key}"


def parse_uri(physical_id: str) -> tuple[str, str] | None:
    """(bucket, key) of a zip this resource published, or None for any other physical id (a Create that
    failed before publishing gets an id crhelper generated: there is nothing to remove then)."""
    bucket, _, key = physical_id.removeprefix("s3://").partition("/")
    if not physical_id.startswith("s3://") or not bucket or not key.startswith(KEY_PREFIX):
        return None
    return bucket, key


def remove(physical_id: str, s3: Any = None) -> int:
    """Delete every version and delete marker of the published key; the number removed."""
    location = parse_uri(physical_id)
    if location is None:
        LOGGER.info("nothing published under %s: nothing to remove", physical_id)
        return 0
    bucket, key = location
    client = s3 or boto3.client("s3")
    removed = 0
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["Key"] == key:  # the prefix also matches a longer key; never touch that one
                    client.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
                    removed += 1
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _BUCKET_GONE:
            raise
        LOGGER.info("bucket %s is already gone", bucket)
    return removed


def handle(event: dict[str, Any], s3: Any = None, code_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """(physical id, data) for one request; raises on failure (crhelper reports it as FAILED)."""
    if event["RequestType"] == "Delete":
        physical_id = event.get("PhysicalResourceId", "")
        LOGGER.info("removed %d version(s) of %s", remove(physical_id, s3), physical_id)
        return physical_id, {}
    bucket = event["ResourceProperties"]["Bucket"]
    uri = publish(bucket, build_library_zip(code_dir or CODE_DIR), s3)
    LOGGER.info("published the Glue library at %s", uri)
    return uri, {"S3Uri": uri}


@helper.create
@helper.update
def create_or_update(event: dict[str, Any], _context: Any) -> str:
    physical_id, data = handle(event)
    helper.Data.update(data)
    return physical_id


@helper.delete
def delete(event: dict[str, Any], _context: Any) -> str:
    physical_id, _ = handle(event)
    return physical_id


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)
