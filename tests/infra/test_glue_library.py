"""The GlueLibrary custom resource (crhelper), driven in-process against moto's S3.

What CloudFormation hears is captured where crhelper would PUT it to the pre-signed response URL.
"""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import zipfile
import zipimport
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
BUCKET = "telco360-test-artifacts"


@dataclass
class FakeContext:
    """What crhelper reads from the Lambda context (its timeout timer, the Delete log wait, JSON logs)."""

    remaining_ms: int = 20_000
    aws_request_id: str = "req-lambda-1"
    function_name: str = "telco360-test-glue-library"
    log_stream_name: str = "2026/12/01/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("glue_library_app", REPO / "functions" / "glue_library" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """The function's code directory as `sam build` lays it out: telco360 and yaml beside app.py."""
    for package in (REPO / "src" / "telco360", Path(yaml.__file__).parent):
        target = tmp_path / "code" / package.name
        target.mkdir(parents=True)
        for path in package.rglob("*"):
            if path.is_file():
                dest = target / path.relative_to(package)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(path.read_bytes())
    return tmp_path / "code"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        # Versioned, like ArtifactsBucket: a plain DeleteObject would only add a delete marker.
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def event(request_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/telco360-dev/1",
        "RequestId": "req-1",
        "LogicalResourceId": "GlueLibrary",
        "ResourceType": "Custom::GlueLibrary",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", "Bucket": BUCKET, "CodeVersion": "3"},
        **extra,
    }


def all_versions(s3: Any) -> list[tuple[str, str]]:
    """(key, kind) of every version and delete marker in the bucket."""
    listing = s3.list_object_versions(Bucket=BUCKET)
    return sorted([(v["Key"], "version") for v in listing.get("Versions", [])]
                  + [(m["Key"], "delete marker") for m in listing.get("DeleteMarkers", [])])


# ---------------------------------------------------------------- the resource's logic


def test_create_publishes_an_importable_content_addressed_zip(s3: Any, code_dir: Path, tmp_path: Path) -> None:
    app = load_handler()
    # WHEN CloudFormation creates the resource
    physical_id, data = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    # THEN the zip is at glue/lib/telco360-<hash>.zip and returned as S3Uri
    key = data["S3Uri"].removeprefix(f"s3://{BUCKET}/")
    assert physical_id == data["S3Uri"]
    assert key.startswith("glue/lib/telco360-") and key.endswith(".zip")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "telco360/contracts/customers.odcs.yaml" in names
    assert not [n for n in names if n.endswith((".so", ".pyc"))]
    # AND Glue can import the package and read its contracts straight from the zip (--extra-py-files)
    archive = tmp_path / "lib.zip"
    archive.write_bytes(body)
    importer = zipimport.zipimporter(str(archive))
    assert importer.find_spec("telco360") is not None and importer.find_spec("yaml") is not None
    check = (
        "import sys; sys.path.insert(0, sys.argv[1]); import telco360.contracts as c, yaml; "
        "assert c.__file__.startswith(sys.argv[1]) and yaml.__file__.startswith(sys.argv[1]); "
        "print(sorted(c.DATASETS))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", check, str(archive)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "customers" in result.stdout


def test_crhelper_is_bundled_but_never_zipped_for_glue(s3: Any, code_dir: Path) -> None:
    # GIVEN the build output, crhelper beside the packages (functions/glue_library/requirements.txt)
    app = load_handler()
    (code_dir / "crhelper").mkdir()
    (code_dir / "crhelper" / "__init__.py").write_text("")
    # WHEN the library is published
    _, data = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    body = s3.get_object(Bucket=BUCKET, Key=data["S3Uri"].removeprefix(f"s3://{BUCKET}/"))["Body"].read()
    # THEN Glue gets telco360 and yaml only
    assert {n.split("/", 1)[0] for n in zipfile.ZipFile(io.BytesIO(body)).namelist()} == {"telco360", "yaml"}


def test_an_update_with_the_same_sources_keeps_the_physical_id(s3: Any, code_dir: Path) -> None:
    # GIVEN a published library
    app = load_handler()
    first_id, first = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    # WHEN an update (a new function version) builds the same sources
    second_id, second = app.handle(event("Update", PhysicalResourceId=first_id), s3=s3, code_dir=code_dir)
    # THEN the physical id is unchanged: CloudFormation sees no replacement and sends no Delete
    assert (second_id, second) == (first_id, first)


def test_an_update_with_new_sources_is_a_replacement_that_keeps_the_old_zip(s3: Any, code_dir: Path) -> None:
    # GIVEN a published library
    app = load_handler()
    old_id, _ = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    # WHEN the package changes and the stack is updated
    (code_dir / "telco360" / "added_module.py").write_text("VALUE = 1\n")
    new_id, _ = app.handle(event("Update", PhysicalResourceId=old_id), s3=s3, code_dir=code_dir)
    # THEN the new zip has a new key (a new physical id) and the old one is still there for a rollback
    assert new_id != old_id
    assert [k for k, _ in all_versions(s3)] == sorted(
        [old_id.removeprefix(f"s3://{BUCKET}/"), new_id.removeprefix(f"s3://{BUCKET}/")])


def test_delete_removes_every_version_of_its_zip_so_the_bucket_can_go(s3: Any, code_dir: Path) -> None:
    # GIVEN the zip published twice (two versions), a delete marker on it, and another object whose key
    # starts with the same characters
    app = load_handler()
    physical_id, _ = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    app.handle(event("Update", PhysicalResourceId=physical_id), s3=s3, code_dir=code_dir)
    key = physical_id.removeprefix(f"s3://{BUCKET}/")
    s3.delete_object(Bucket=BUCKET, Key=key)
    s3.put_object(Bucket=BUCKET, Key=key + ".keep", Body=b"not ours")
    # WHEN the rollback of a failed first deploy deletes the resource
    deleted_id, data = app.handle(event("Delete", PhysicalResourceId=physical_id), s3=s3, code_dir=code_dir)
    # THEN every version of its own key is gone and nothing else is touched
    assert (deleted_id, data) == (physical_id, {})
    assert all_versions(s3) == [(key + ".keep", "version")]
    # AND once the rest is gone too, the versioned bucket deletes (no ROLLBACK_FAILED)
    s3.delete_object(Bucket=BUCKET, Key=key + ".keep",
                     VersionId=s3.list_object_versions(Bucket=BUCKET)["Versions"][0]["VersionId"])
    s3.delete_bucket(Bucket=BUCKET)


def test_delete_after_a_failed_create_or_a_removed_bucket_succeeds(s3: Any, code_dir: Path) -> None:
    app = load_handler()
    # GIVEN a create that failed before publishing (crhelper generated the physical id)
    generated = "telco360-dev_GlueLibrary_ABCDEFGH"
    # WHEN it is deleted THEN nothing is removed and nothing fails
    assert app.handle(event("Delete", PhysicalResourceId=generated), s3=s3) == (generated, {})
    # GIVEN a zip whose bucket was removed by hand WHEN it is deleted THEN the delete still succeeds
    gone = "s3://no-such-bucket/glue/lib/telco360-0123456789abcdef.zip"
    assert app.handle(event("Delete", PhysicalResourceId=gone), s3=s3) == (gone, {})


# ---------------------------------------------------------------- what CloudFormation hears (crhelper)


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch, code_dir: Path, s3: Any) -> Iterator[tuple[ModuleType, list[Any]]]:
    """The handler module with its code directory pointed at ``code_dir`` and crhelper's HTTP PUT to the
    response URL replaced by a list of the response bodies it would send."""
    from crhelper.resource_helper import CfnResource

    app = load_handler()
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(app, "CODE_DIR", code_dir)

    def send(status: str | None = None, reason: str = "") -> None:
        CfnResource._send(app.helper, status, reason, send_response=lambda _url, body, _ssl: sent.append(body))

    monkeypatch.setattr(app.helper, "_send", send)
    yield app, sent


def test_create_update_and_delete_answer_success(responses: tuple[ModuleType, list[Any]], s3: Any) -> None:
    app, sent = responses
    # WHEN CloudFormation creates, updates (same sources) and deletes the resource
    app.lambda_handler(event("Create"), FakeContext())
    uri = sent[0]["Data"]["S3Uri"]
    app.lambda_handler(event("Update", PhysicalResourceId=uri), FakeContext())
    app.lambda_handler(event("Delete", PhysicalResourceId=uri), FakeContext())
    # THEN each gets one SUCCESS with the URI as the physical id (and as S3Uri for the jobs)
    assert [(r["Status"], r["PhysicalResourceId"]) for r in sent] == [("SUCCESS", uri)] * 3
    assert uri.startswith(f"s3://{BUCKET}/glue/lib/telco360-")
    assert sent[1]["Data"] == {"S3Uri": uri}
    assert {(r["StackId"], r["RequestId"], r["LogicalResourceId"]) for r in sent} == {
        ("arn:aws:cloudformation:eu-west-1:123456789012:stack/telco360-dev/1", "req-1", "GlueLibrary")}
    # AND the delete left the bucket empty
    assert all_versions(s3) == []


def test_a_failure_is_reported_to_cloudformation_with_its_reason(responses: tuple[ModuleType, list[Any]]) -> None:
    app, sent = responses
    # WHEN the bucket does not exist
    app.lambda_handler(event("Create", ResourceProperties={"Bucket": "no-such-bucket"}), FakeContext())
    # THEN CloudFormation hears FAILED with the reason (never silence: the stack would hang for an hour)
    assert len(sent) == 1 and sent[0]["Status"] == "FAILED"
    assert "NoSuchBucket" in sent[0]["Reason"]
    # AND the physical id is one crhelper generated, which a rollback's Delete recognises as "nothing
    # published"
    assert app.parse_uri(sent[0]["PhysicalResourceId"]) is None
    app.lambda_handler(event("Delete", PhysicalResourceId=sent[0]["PhysicalResourceId"]), FakeContext())
    assert sent[1]["Status"] == "SUCCESS"


def test_a_handler_about_to_time_out_answers_failed_first(
    responses: tuple[ModuleType, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    app, sent = responses

    def slow(event: dict[str, Any], s3: Any = None, code_dir: Path | None = None) -> tuple[str, dict[str, str]]:
        time.sleep(1.0)
        return "s3://late/glue/lib/telco360-0123456789abcdef.zip", {}

    monkeypatch.setattr(app, "handle", slow)
    # WHEN the work outlasts the invocation (600 ms left)
    app.lambda_handler(event("Create"), FakeContext(remaining_ms=600))
    # THEN CloudFormation first hears FAILED (crhelper's timer), not an hour of silence
    assert sent[0]["Status"] == "FAILED" and "timed out" in sent[0]["Reason"]
