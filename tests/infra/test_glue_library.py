"""The GlueLibrary custom resource handler, driven in-process against moto's S3."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import zipfile
import zipimport
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
BUCKET = "telco360-test-artifacts"


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
        target = tmp_path / package.name
        target.mkdir()
        for path in package.rglob("*"):
            if path.is_file():
                dest = target / path.relative_to(package)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(path.read_bytes())
    return tmp_path


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
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


def test_same_sources_give_the_same_key(s3: Any, code_dir: Path) -> None:
    app = load_handler()
    _, first = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    _, second = app.handle(event("Update", PhysicalResourceId=first["S3Uri"]), s3=s3, code_dir=code_dir)
    assert first == second


def test_delete_succeeds_and_keeps_the_zip_for_rollbacks(s3: Any, code_dir: Path) -> None:
    app = load_handler()
    _, data = app.handle(event("Create"), s3=s3, code_dir=code_dir)
    physical_id, delete_data = app.handle(event("Delete", PhysicalResourceId=data["S3Uri"]), s3=s3, code_dir=code_dir)
    assert (physical_id, delete_data) == (data["S3Uri"], {})
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1


def test_handler_reports_success_and_failure_to_cloudformation(
    s3: Any, code_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = load_handler()
    sent: list[tuple[str, dict[str, str], str]] = []
    monkeypatch.setattr(app, "CODE_DIR", code_dir)
    monkeypatch.setattr(
        app, "send_response", lambda e, c, status, data, pid, reason="": sent.append((status, data, reason))
    )
    # WHEN the bucket exists, then when it does not
    app.lambda_handler(event("Create"), None)
    app.lambda_handler(event("Create", ResourceProperties={"Bucket": "no-such-bucket"}), None)
    # THEN CloudFormation hears SUCCESS with the URI, then FAILED with the reason (never silence)
    assert sent[0][0] == "SUCCESS" and sent[0][1]["S3Uri"].startswith(f"s3://{BUCKET}/glue/lib/")
    assert sent[1][0] == "FAILED" and "NoSuchBucket" in sent[1][2]
