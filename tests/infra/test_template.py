"""Static checks of template.yaml and the ASL: the linters the deploy relies on, plus our own guard rails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from moto_support import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "pipeline.asl.json"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "SAM_CLI_TELEMETRY": "0"}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def run(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600, check=False)


# ---------------------------------------------------------------- guard rails (our own rules)


def bucket_problems(template: dict[str, Any]) -> list[str]:
    """Buckets lacking encryption, a full public access block or a TLS-only bucket policy."""
    problems = []
    policies = resources(template, "AWS::S3::BucketPolicy").values()
    for name, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket.get("Properties", {})
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
            problems.append(f"{name}: no default encryption")
        block = props.get("PublicAccessBlockConfiguration", {})
        if not all(
            block.get(k) is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ):
            problems.append(f"{name}: public access not fully blocked")
        if not any(p["Properties"]["Bucket"] == {"Ref": name} and _denies_plain_http(p) for p in policies):
            problems.append(f"{name}: no TLS-only bucket policy")
    return problems


def _denies_plain_http(policy: dict[str, Any]) -> bool:
    return any(
        s["Effect"] == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


def wildcard_actions(template: dict[str, Any]) -> list[str]:
    """Allow statements of roles and functions with a `*` action or a service-wide one like `s3:*`."""
    found = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", []) if "PolicyDocument" in p]
        documents += [p for p in props.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
        for document in documents:
            for statement in document["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                found += [
                    f"{name}: {a}"
                    for a in actions
                    if statement["Effect"] == "Allow" and a.endswith("*") and (a == "*" or a.endswith(":*"))
                ]
    return found


def test_every_bucket_is_encrypted_private_and_tls_only() -> None:
    assert bucket_problems(load_template()) == []


def test_no_role_or_function_allows_wildcard_actions() -> None:
    assert wildcard_actions(load_template()) == []


def test_guard_rails_catch_a_weakened_template() -> None:
    # GIVEN the template with a bucket's encryption and TLS policy removed and an s3:* grant added
    template = load_template()
    del template["Resources"]["DataBucket"]["Properties"]["BucketEncryption"]
    del template["Resources"]["DataBucketPolicy"]
    template["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    # THEN both guard rails report it
    assert bucket_problems(template) == ["DataBucket: no default encryption", "DataBucket: no TLS-only bucket policy"]
    assert wildcard_actions(template) == ["GlueJobRole: s3:*"]


def test_validator_triggers_on_raw_only_and_glue_jobs_are_bounded() -> None:
    template = load_template()
    events = template["Resources"]["ValidatorFunction"]["Properties"]["Events"]
    assert [e["Properties"]["Filter"]["S3Key"]["Rules"] for e in events.values()] == [
        [{"Name": "prefix", "Value": "raw/"}]
    ]
    for job in resources(template, "AWS::Glue::Job").values():
        props = job["Properties"]
        assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
        assert props["GlueVersion"] == "5.1" and props["WorkerType"] == "G.1X"
        assert props["DefaultArguments"]["--extra-py-files"] == {"Fn::GetAtt": ["GlueLibrary", "S3Uri"]}


def test_asl_names_no_resource_inline() -> None:
    # Every job, topic and bucket comes from DefinitionSubstitutions, and each substitution is used.
    text = ASL.read_text()
    assert not re.search(r"arn:aws:(sns|glue|s3|lambda):", text)
    used = set(re.findall(r"\$\{(\w+)\}", text))
    machine = load_template()["Resources"]["PipelineStateMachine"]["Properties"]
    assert used == set(machine["DefinitionSubstitutions"])


def test_every_state_machine_fixture_is_a_documented_input() -> None:
    docs = (REPO / "docs" / "deploy.md").read_text()
    for fixture in sorted((REPO / "events").glob("sfn_*.json")):
        assert fixture.name in docs, f"{fixture.name} is not described in docs/deploy.md"


# ---------------------------------------------------------------- external linters


def test_statelint_accepts_the_substituted_definition(tmp_path: Path) -> None:
    text = re.sub(r"\$\{AlertTopicArn\}", "arn:aws:sns:eu-west-1:123456789012:alerts", ASL.read_text())
    text = re.sub(r"\$\{\w+\}", "telco360-dummy", text)
    definition = tmp_path / "pipeline.json"
    definition.write_text(text)
    result = run([str(BIN / "statelint"), str(definition)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = run([str(BIN / "sam"), "validate", "--lint", "--template-file", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_passes_on_the_transformed_template(tmp_path: Path) -> None:
    from samtranslator.public.translator import ManagedPolicyLoader  # noqa: F401  (import check only)
    from samtranslator.translator.transform import transform

    # cfn-lint applies the SAM transform itself (samtranslator) before linting the result.
    result = run([str(BIN / "cfn-lint"), "--regions", "eu-west-1", "--", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert callable(transform)


@pytest.mark.slow
def test_checkov_finds_no_failed_check() -> None:
    result = run(
        [
            str(BIN / "checkov"),
            "-f",
            str(TEMPLATE),
            "--framework",
            "cloudformation",
            "--skip-download",
            "-o",
            "json",
            "--quiet",
        ]
    )
    report = json.loads(result.stdout)
    summary = report["summary"] if isinstance(report, dict) else report[0]["summary"]
    assert summary["failed"] == 0, result.stdout[-4000:]
    assert summary["passed"] > 30


def test_every_checkov_skip_is_justified() -> None:
    for name, resource in load_template()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), name
            assert len(skip.get("comment", "")) > 20, f"{name}: skip {skip['id']} needs a reason"


# ---------------------------------------------------------------- sam build


def python312() -> Path | None:
    found = shutil.which("python3.12")
    if found:
        return Path(found).parent
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        candidate = Path(root) / "versions" / "3.12.1" / "bin"
        if (candidate / "python3.12").exists():
            return candidate
    return None


@pytest.mark.slow
@pytest.mark.parametrize("function", ["ValidatorFunction", "GlueLibraryFunction"])
def test_sam_build_of_the_function_succeeds(tmp_path: Path, function: str) -> None:
    bin_dir = python312()
    if bin_dir is None:
        pytest.skip("python3.12 is not on PATH (nor in pyenv): sam build needs the Lambda runtime's Python")
    build_dir = tmp_path / "build"
    env = {**ENV, "PATH": f"{bin_dir}{os.pathsep}{ENV['PATH']}"}
    result = subprocess.run(
        [str(BIN / "sam"), "build", function, "--template-file", str(TEMPLATE), "--build-dir", str(build_dir)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = build_dir / function
    assert (built / "app.py").is_file()
    assert (built / "telco360" / "contracts" / "customers.odcs.yaml").is_file()
