"""CloudFormation custom resource: publish the shared ``telco360`` package for Glue's ``--extra-py-files``.

SAM uploads a Glue job's ``Command.ScriptLocation`` but nothing uploads ``--extra-py-files``, so this
function (built with the package and PyYAML beside it) zips them on Create/Update, puts the zip at
``s3://<bucket>/glue/lib/telco360-<sha256 prefix>.zip`` and returns that URI as the ``S3Uri`` attribute.
A content-addressed key means an update never overwrites the zip a running job is reading, and a
rollback to the previous template finds its zip still there: Delete therefore removes nothing (the
artifacts bucket's lifecycle rule ages old zips out).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

CODE_DIR = Path(__file__).resolve().parent
PACKAGES: tuple[str, ...] = ("telco360", "yaml")
# Only pure-Python files and package data: Glue runs Python 3.11 and cannot load compiled modules from a
# zip anyway, and PyYAML falls back to its pure-Python implementation without them.
INCLUDED_SUFFIXES: tuple[str, ...] = (".py", ".yaml", ".json", ".typed")
KEY_PREFIX = "glue/lib/telco360-"
HASH_CHARS = 16
# A fixed timestamp keeps the zip (and so its key) identical for identical sources.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


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


def send_response(
    event: dict[str, Any], context: Any, status: str, data: dict[str, str], physical_id: str, reason: str = ""
) -> None:
    """PUT the result to CloudFormation's pre-signed URL (what cfn-response does, without the dependency)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or f"see CloudWatch log stream {getattr(context, 'log_stream_name', '?')}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        LOGGER.info("CloudFormation response status %s", response.status)


def handle(event: dict[str, Any], s3: Any = None, code_dir: Path | None = None) -> tuple[str, dict[str, str]]:
    """(physical id, data) for one request; raises on failure."""
    if event["RequestType"] == "Delete":
        return event.get("PhysicalResourceId", event["LogicalResourceId"]), {}
    bucket = event["ResourceProperties"]["Bucket"]
    uri = publish(bucket, build_library_zip(code_dir or CODE_DIR), s3)
    LOGGER.info("published the Glue library at %s", uri)
    return uri, {"S3Uri": uri}


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    LOGGER.info("%s request for %s", event.get("RequestType"), event.get("LogicalResourceId"))
    try:
        physical_id, data = handle(event)
    except Exception as error:  # every failure must still answer CloudFormation, or the stack hangs
        LOGGER.exception("custom resource failed")
        physical_id = event.get("PhysicalResourceId") or event["LogicalResourceId"]
        send_response(event, context, "FAILED", {}, physical_id, reason=f"{type(error).__name__}: {error}")
        return
    send_response(event, context, "SUCCESS", data, physical_id)
