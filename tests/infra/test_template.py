"""Static checks of template.yaml and the ASL: the linters the deploy relies on, plus our own guard rails,
and the template rendered (SAM transform, offline) for two environments."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ASL = REPO / "statemachine" / "pipeline.asl.json"
EVENTS = REPO / "events"
BIN = Path(sys.executable).parent
ENV = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "SAM_CLI_TELEMETRY": "0"}
# The account and region the events/ fixtures and the env-vars file are written for (docs/deploy.md
# says how to swap in a real account id for `sam local invoke`).
ACCOUNT, REGION = "123456789012", "eu-west-1"


@cache
def _decoded() -> str:
    """template.yaml read by cfn-lint's own loader (short-form intrinsics, duplicate keys rejected)."""
    template, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return json.dumps(template)


def load_template() -> dict[str, Any]:
    """The SAM template as plain data (a fresh copy each call: tests may change it)."""
    return json.loads(_decoded())


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
    # GIVEN the bucket's notifications (not a SAM event: see the permission test below)
    assert "Events" not in template["Resources"]["ValidatorFunction"]["Properties"]
    notifications = template["Resources"]["DataBucket"]["Properties"]["NotificationConfiguration"]
    assert notifications == {"LambdaConfigurations": [{
        "Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["ValidatorFunction", "Arn"]},
        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "raw/"}]}}}]}
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


def test_cfn_lint_passes_with_its_informational_rules() -> None:
    # `--include-checks I`: the informational rules too (e.g. I3011, an explicit DeletionPolicy and
    # UpdateReplacePolicy on every stateful resource). cfn-lint 1.x validates the SAM resources against
    # SAM's own schemas (Globals merged) rather than running the whole transform.
    result = run([str(BIN / "cfn-lint"), "--regions", REGION, "--include-checks", "I", "--", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr


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
    # A pyenv shim is on PATH even where 3.12 is not the active version, and then fails when run.
    if found and subprocess.run([found, "--version"], capture_output=True, check=False).returncode == 0:
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
    if function == "ValidatorFunction":
        # router.py imports the S3 mover: the bundle must hold it, and the handler must import from the
        # bundle alone (its own boto3, powertools, orjson) on the runtime's Python.
        assert (built / "telco360" / "storage" / "s3.py").is_file()
        assert not (built / "telco360" / "spark").exists()
        imported = subprocess.run(
            [str(bin_dir / "python3.12"), "-I", "-c", "import sys; sys.path.insert(0, '.'); import app, router"],
            cwd=built,
            env={**env, "AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_TRACE_DISABLED": "true"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert imported.returncode == 0, imported.stderr[-3000:]


# ---------------------------------------------------------------- the template rendered for an environment

# Where CloudFormation takes a resource's physical name from. A resource without it gets a generated name
# that starts with the stack name (telco360-<env>), so it cannot collide either.
NAME_PROPERTIES: dict[str, str] = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::Scheduler::Schedule": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Glue::Job": "Name",
    "AWS::Glue::SecurityConfiguration": "Name",
    "AWS::KMS::Alias": "AliasName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
}


class Unresolvable(Exception):
    """An intrinsic this small resolver does not evaluate (a name must not depend on one)."""


def stack_name(environment: str) -> str:
    """The stack samconfig.toml deploys the environment as (`default` is dev)."""
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    section = "default" if environment == "dev" else environment
    return str(config[section]["deploy"]["parameters"]["stack_name"])


def parameter_values(environment: str, **overrides: str) -> dict[str, Any]:
    template = load_template()
    values: dict[str, Any] = {k: p.get("Default") for k, p in template["Parameters"].items()}
    values |= {"EnvironmentName": environment, **overrides}
    return values | {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                     "AWS::StackName": stack_name(environment), "AWS::URLSuffix": "amazonaws.com",
                     "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name(environment)}/1"}


def render(environment: str, **overrides: str) -> dict[str, Any]:
    """The template after the SAM transform, as CloudFormation receives it for ``environment`` (local
    code and definition paths replaced by S3 URIs, as `sam package` does)."""
    from samtranslator.translator.transform import transform

    class _NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = load_template()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://sam-artifacts/{props[key].strip('/')}"
    return dict(transform(template, parameter_values(environment, **overrides), _NoManagedPolicies()))


def resolve(value: Any, values: dict[str, Any], conditions: dict[str, bool] | None = None) -> Any:
    """Evaluate Ref/Sub/Join/If/Equals/Not/And/Or over parameter and pseudo-parameter values."""
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise Unresolvable(value)
    (fn, arg), = value.items()
    if fn == "Ref":
        if arg not in values:
            raise Unresolvable(value)
        return values[arg]
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        scope = values | {k: resolve(v, values, conditions) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) not in scope:
                raise Unresolvable(match.group(0))
            return str(scope[match.group(1)])

        return re.sub(r"\$\{([\w:]+)\}", substitute, text)
    if fn == "Fn::Join":
        return str(arg[0]).join(str(resolve(v, values, conditions)) for v in arg[1])
    if fn == "Fn::Equals":
        return resolve(arg[0], values, conditions) == resolve(arg[1], values, conditions)
    if fn == "Fn::Not":
        return not resolve(arg[0], values, conditions)
    if fn == "Fn::And":
        return all(resolve(a, values, conditions) for a in arg)
    if fn == "Fn::Or":
        return any(resolve(a, values, conditions) for a in arg)
    if fn == "Condition" and conditions is not None:
        return conditions[arg]
    if fn == "Fn::If" and conditions is not None:
        return resolve(arg[1] if conditions[arg[0]] else arg[2], values, conditions)
    raise Unresolvable(value)


def conditions_of(template: dict[str, Any], values: dict[str, Any]) -> dict[str, bool]:
    return {name: bool(resolve(c, values)) for name, c in template.get("Conditions", {}).items()}


def physical_names(environment: str) -> dict[tuple[str, str], str]:
    """(resource type, explicit physical name) -> logical id, for every resource naming itself."""
    template = render(environment)
    values = parameter_values(environment)
    conditions = conditions_of(template, values)
    # A schedule names its group by Ref, which returns the group's name.
    values = values | {logical: resolve(r["Properties"]["Name"], values) for logical, r in
                       template["Resources"].items() if r["Type"] == "AWS::Scheduler::ScheduleGroup"}
    names: dict[tuple[str, str], str] = {}
    for logical, resource in template["Resources"].items():
        if "Condition" in resource and not conditions[resource["Condition"]]:
            continue
        name_property = NAME_PROPERTIES.get(resource["Type"])
        props = resource.get("Properties", {})
        if name_property and name_property in props:
            name = str(resolve(props[name_property], values, conditions))
            if resource["Type"] == "AWS::Scheduler::Schedule":  # a schedule's name is unique per group
                name = f"{resolve(props.get('GroupName', 'default'), values, conditions)}/{name}"
            names[(resource["Type"], name)] = logical
    return names


def test_samconfig_deploys_each_environment_as_its_own_stack_and_artifacts_prefix() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    deploys = {section: config[section]["deploy"]["parameters"] for section in ("default", "prod")}
    # THEN every stack has its own name, and its SAM artifacts prefix is that name (the Glue role reads
    # only ${ScriptsBucketPattern}/${AWS::StackName}/*)
    assert len({d["stack_name"] for d in deploys.values()}) == len(deploys)
    for deploy in deploys.values():
        assert deploy["s3_prefix"] == deploy["stack_name"]
    role = load_template()["Resources"]["GlueJobRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    scripts = next(s for s in role["Statement"] if s["Sid"] == "ReadScriptsAndLibrary")["Resource"]
    assert {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ScriptsBucketPattern}/${AWS::StackName}/*"} in scripts


def test_prod_samconfig_names_both_subscriptions_to_fill_in() -> None:
    # GIVEN prod's parameter overrides in samconfig.toml
    overrides = tomllib.loads((REPO / "samconfig.toml").read_text())["prod"]["deploy"]["parameters"][
        "parameter_overrides"]
    # THEN both addresses the prod Rules require are there as placeholders to fill in
    names = set(re.findall(r'(\w+)="', overrides))
    assert {"AlertEmail", "OpsAlertEmail"} <= names
    assert names <= set(load_template()["Parameters"]), "an override names no template parameter"


def test_two_environments_share_no_physical_name() -> None:
    # GIVEN the template rendered for dev and for prod (same account and region)
    dev, prod = physical_names("dev"), physical_names("prod")
    # THEN no explicit physical name is used by both (a second environment deploys beside the first)
    shared = sorted(f"{kind} {name} ({dev[(kind, name)]})" for kind, name in set(dev) & set(prod))
    assert shared == [], "names shared by dev and prod"
    # AND every explicit name carries its environment
    assert [f"{k} {n}" for k, n in dev if "dev" not in n] == []
    assert [f"{k} {n}" for k, n in prod if "prod" not in n] == []
    # AND the kinds the issue lists are all named (the rest get generated, stack-prefixed names)
    kinds = {kind for kind, _ in dev}
    assert {"AWS::S3::Bucket", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::SNS::Topic",
            "AWS::SQS::Queue", "AWS::CloudWatch::Alarm", "AWS::StepFunctions::StateMachine",
            "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup", "AWS::Glue::Job"} <= kinds


def test_the_name_check_catches_a_name_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the template with the dead-letter queue named without the environment
    original = load_template

    def weakened() -> dict[str, Any]:
        template = original()
        template["Resources"]["ValidatorDeadLetterQueue"]["Properties"]["QueueName"] = "validator-failed"
        return template

    monkeypatch.setattr(sys.modules[__name__], "load_template", weakened)
    # THEN both environments claim the same queue name
    shared = set(physical_names("dev")) & set(physical_names("prod"))
    assert ("AWS::SQS::Queue", "validator-failed") in shared


def rule_violations(environment: str, **parameters: str) -> list[str]:
    """The AssertDescriptions of the template's Rules that fail for these parameter values."""
    template = load_template()
    values = parameter_values(environment, **parameters)
    failed = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not resolve(rule["RuleCondition"], values):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not resolve(a["Assert"], values)]
    return failed


def test_prod_refuses_to_deploy_without_alert_subscriptions() -> None:
    # WHEN prod is deployed without subscriptions THEN both assertions fail (CloudFormation stops there)
    assert len(rule_violations("prod")) == 2
    assert len(rule_violations("prod", AlertEmail="data-team@example.com")) == 1
    # AND with both it deploys; dev may deploy without any
    assert rule_violations("prod", AlertEmail="data-team@example.com", OpsAlertEmail="ops@example.com") == []
    assert rule_violations("dev") == []
    # AND a warehouse principal without its external id is refused everywhere
    principal = "arn:aws:iam::210987654321:user/abc1-b-self1234"
    assert len(rule_violations("dev", WarehouseExternalPrincipalArn=principal)) == 1
    assert rule_violations("dev", WarehouseExternalPrincipalArn=principal, WarehouseExternalId="AB_123=") == []


def test_the_lake_and_its_key_outlive_the_stack_and_a_failed_first_deploy_rolls_back() -> None:
    resources_ = load_template()["Resources"]
    # THEN the data bucket and the key survive a delete or a replacement, but not a failed creation
    for name in ("DataBucket", "PipelineKey"):
        assert resources_[name]["DeletionPolicy"] == "RetainExceptOnCreate", name
        assert resources_[name]["UpdateReplacePolicy"] == "Retain", name
    # AND the artifacts bucket, which the custom resource empties on Delete, goes with a failed create
    assert resources_["ArtifactsBucket"]["DeletionPolicy"] == "RetainExceptOnCreate"
    library = (REPO / "functions" / "glue_library" / "app.py").read_text()
    assert "def remove(" in library and "delete_object(Bucket=bucket, Key=key, VersionId=" in library


def test_one_customer_managed_key_encrypts_the_whole_lake() -> None:
    template = load_template()
    rules = template["Resources"]["DataBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                         "KMSMasterKeyID": {"Fn::GetAtt": ["PipelineKey", "Arn"]}},
                      "BucketKeyEnabled": True}]
    # AND the lake's readers and writers hold a grant on it
    for role in ("ValidatorFunction", "GlueJobRole", "WarehouseReaderRole"):
        assert key_actions(template, role), f"{role} has no grant on PipelineKey"
    assert key_actions(template, "WarehouseReaderRole") == {"kms:Decrypt"}


def key_actions(template: dict[str, Any], name: str) -> set[str]:
    props = template["Resources"][name]["Properties"]
    documents = [p.get("PolicyDocument", p) for p in props.get("Policies", []) if isinstance(p, dict)]
    actions: set[str] = set()
    for document in documents:
        for statement in document.get("Statement", []):
            if statement.get("Resource") == {"Fn::GetAtt": ["PipelineKey", "Arn"]}:
                action = statement["Action"]
                actions |= set(action if isinstance(action, list) else [action])
    return actions


def test_service_principals_are_trusted_only_for_this_account_and_source() -> None:
    template = load_template()
    # GIVEN the key policy's statements for AWS services
    statements = template["Resources"]["PipelineKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statement in statements:
        if "Service" not in statement["Principal"]:
            continue
        condition = statement.get("Condition", {})
        # THEN each is tied to this account and source (or, for CloudWatch Logs, to this env's groups)
        scoped = ("aws:SourceAccount" in condition.get("StringEquals", {})
                  and "aws:SourceArn" in condition.get("ArnLike", {})) or (
                      "kms:EncryptionContext:aws:logs:arn" in condition.get("ArnLike", {}))
        assert scoped, statement["Sid"]
    # AND S3 may invoke the validator only for this bucket, in this account
    permission = template["Resources"]["ValidatorRawArrivalPermission"]["Properties"]
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    values = parameter_values("dev")
    bucket = resolve(template["Resources"]["DataBucket"]["Properties"]["BucketName"], values)
    assert resolve(permission["SourceArn"], values) == f"arn:aws:s3:::{bucket}"
    # AND no S3 permission is left to SAM (which sets SourceAccount only)
    rendered = render("dev")["Resources"]
    assert [n for n, r in rendered.items() if r["Type"] == "AWS::Lambda::Permission"
            and r["Properties"]["Principal"] == "s3.amazonaws.com"] == ["ValidatorRawArrivalPermission"]


def test_the_validator_may_read_and_delete_the_exact_version_of_a_raw_file() -> None:
    # GIVEN the validator's S3 statement on raw/ (telco360.storage.s3 reads, copies and deletes by versionId)
    statements = [s for p in load_template()["Resources"]["ValidatorFunction"]["Properties"]["Policies"]
                  if isinstance(p, dict) for s in p.get("Statement", [])]
    arrivals = next(s for s in statements if s["Sid"] == "ReadAndRemoveArrivals")
    # THEN it covers the versioned calls as well as the plain ones, and only under raw/
    assert set(arrivals["Action"]) == {"s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
                                       "s3:DeleteObjectVersion"}
    assert arrivals["Resource"]["Fn::Sub"].endswith("/raw/*")


def test_lifecycle_expires_quarantine_raw_leftovers_and_carried_state() -> None:
    rules = {r["Id"]: r for r in load_template()["Resources"]["DataBucket"]["Properties"]
             ["LifecycleConfiguration"]["Rules"]}
    by_prefix = {r.get("Prefix"): r for r in rules.values() if r["Status"] == "Enabled"}
    assert by_prefix["quarantine/"]["ExpirationInDays"] == {"Ref": "QuarantineRetentionDays"}
    assert by_prefix["raw/"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "RawNoncurrentVersionDays"}}
    assert by_prefix["raw/"]["ExpiredObjectDeleteMarker"] is True
    assert "ExpirationInDays" not in by_prefix["raw/"], "raw/ files are moved by the validator, never expired"
    assert by_prefix["state/"]["ExpirationInDays"] == {"Ref": "StateRetentionDays"}


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in resources(template, "AWS::CloudWatch::Alarm").items()}


def test_every_alarm_notifies_the_ops_topic_and_only_it() -> None:
    template = load_template()
    for name, alarm in alarms(template).items():
        targets = alarm.get("AlarmActions", []) + alarm.get("OKActions", []) + alarm.get("InsufficientDataActions", [])
        assert targets and set(map(json.dumps, targets)) == {json.dumps({"Ref": "OpsTopic"})}, name
        # AND its name starts with telco360-<env>- (the KMS key lets only those publish)
        assert alarm["AlarmName"]["Fn::Sub"].startswith("telco360-${EnvironmentName}-"), name


def test_silence_is_alarmed() -> None:
    found = alarms(load_template())

    def metrics_of(alarm: dict[str, Any]) -> set[tuple[str, str]]:
        if "MetricName" in alarm:
            return {(alarm["Namespace"], alarm["MetricName"])}
        return {(q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
                for q in alarm["Metrics"] if "MetricStat" in q}

    watched = set().union(*(metrics_of(a) for a in found.values()))
    # THEN the list is covered: no success in a day, timed out/aborted, a stuck or failed S3 event
    # (files left in raw/), the on-failure queue, and a schedule that did not start
    assert {("AWS/States", "ExecutionsSucceeded"), ("AWS/States", "ExecutionsTimedOut"),
            ("AWS/States", "ExecutionsAborted"), ("AWS/States", "ExecutionsFailed"),
            ("AWS/Lambda", "AsyncEventAge"), ("AWS/Lambda", "Errors"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
            ("AWS/Scheduler", "TargetErrorCount"), ("AWS/Scheduler", "InvocationDroppedCount")} <= watched
    daily = found["NoSuccessfulExecutionAlarm"]
    assert (daily["Period"], daily["EvaluationPeriods"], daily["Threshold"]) == (86400, 1, 1)
    assert (daily["ComparisonOperator"], daily["TreatMissingData"]) == ("LessThanThreshold", "breaching")


def test_validator_concurrency_and_event_age_are_bounded_by_parameters() -> None:
    template = load_template()
    props = template["Resources"]["ValidatorFunction"]["Properties"]
    assert props["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesValidatorConcurrency", {"Ref": "ValidatorReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    assert props["EventInvokeConfig"]["MaximumEventAgeInSeconds"] == {"Ref": "ValidatorMaxEventAgeSeconds"}
    # AND an event older than an hour is never retried silently: it reaches the alarmed queue
    assert template["Parameters"]["ValidatorMaxEventAgeSeconds"]["MaxValue"] <= 3600


def test_glue_jobs_log_to_their_own_expiring_encrypted_groups() -> None:
    template = load_template()
    values = parameter_values("dev")
    groups = {resolve(g["Properties"]["LogGroupName"], values): g["Properties"]
              for g in resources(template, "AWS::Logs::LogGroup").values()}
    for name, job in resources(template, "AWS::Glue::Job").items():
        arguments = job["Properties"]["DefaultArguments"]
        # THEN no Glue <= 4 flag, and the Glue 5 prefix names two groups the stack owns
        assert "--enable-continuous-cloudwatch-log" not in arguments, name
        prefix = resolve(arguments["--custom-logGroup-prefix"], values)
        for suffix in ("error", "output"):
            group = groups[f"{prefix}/{suffix}"]
            assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
            assert group["KmsKeyId"] == {"Fn::GetAtt": ["PipelineKey", "Arn"]}


def test_operators_find_every_arn_in_the_outputs() -> None:
    outputs = load_template()["Outputs"]
    assert {"PipelineStateMachineArn", "AlertTopicArn", "OpsTopicArn", "ValidatorFailedEventsQueueArn",
            "WarehouseReaderRoleArn", "SnapshotEventBusName", "PipelineKeyArn", "DataBucketName"} <= set(outputs)


# ---------------------------------------------------------------- the validator bundle and its fixtures


def pins(path: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", path.read_text(), flags=re.MULTILINE)
    return {name.lower(): version for name, version in found}


def test_the_validator_bundles_an_sdk_with_conditional_deletes() -> None:
    import botocore
    import botocore.session

    bundle = pins(REPO / "functions" / "validator" / "requirements.txt")
    constraints = pins(REPO / "requirements" / "constraints.txt")
    # THEN boto3 and botocore are pinned in the bundle, at the versions the tests run with
    sdk = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
    assert {p: bundle.get(p) for p in sdk} == {p: constraints.get(p) for p in sdk}
    # AND that botocore knows DeleteObject(IfMatch=...), which router.delete_source sends
    assert botocore.__version__ == bundle["botocore"]
    model = botocore.session.get_session().get_service_model("s3").operation_model("DeleteObject")
    assert "IfMatch" in model.input_shape.members


def fixture_records() -> dict[str, list[dict[str, Any]]]:
    return {p.stem: json.loads(p.read_text())["Records"] for p in sorted(EVENTS.glob("s3_*.json"))}


def test_s3_fixtures_name_the_bucket_the_template_creates() -> None:
    values = parameter_values("dev")
    bucket = resolve(load_template()["Resources"]["DataBucket"]["Properties"]["BucketName"], values)
    for name, records in fixture_records().items():
        for record in records:
            assert record["s3"]["bucket"]["name"] == bucket, name
            assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}", name
            assert record["awsRegion"] == REGION, name


def test_s3_fixtures_cover_what_a_real_bucket_sends() -> None:
    records = fixture_records()
    assert len(records["s3_multiple_records"]) > 1
    assert re.fullmatch(r"[0-9a-f]{32}-\d+", records["s3_multipart_upload"][0]["s3"]["object"]["eTag"])
    assert records["s3_multipart_upload"][0]["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert records["s3_folder_marker"][0]["s3"]["object"]["key"].endswith("/")
    assert records["s3_folder_marker"][0]["s3"]["object"]["size"] == 0
    assert records["s3_versioned_bucket"][0]["s3"]["object"]["versionId"]


def test_env_vars_file_matches_the_validator_environment() -> None:
    template = load_template()
    declared = template["Resources"]["ValidatorFunction"]["Properties"]["Environment"]["Variables"]
    local = json.loads((EVENTS / "env.json").read_text())["ValidatorFunction"]
    # THEN `sam local invoke --env-vars events/env.json` sets every variable the deployed function has,
    # with the values the template gives the dev stack
    assert set(local) == set(declared)
    values = parameter_values("dev") | {"AlertTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:telco360-dev-alerts"}
    topic_name = resolve(template["Resources"]["AlertTopic"]["Properties"]["TopicName"], values)
    assert local["ALERT_TOPIC_ARN"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic_name}"
    for key, value in declared.items():
        assert local[key] == str(resolve(value, values)), key


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_cfn_lint_passes_on_the_rendered_template(environment: str, tmp_path: Path) -> None:
    # GIVEN the template after the SAM transform (the resources SAM generates: roles, the schedule, the
    # event invoke config, the alias...), as CloudFormation receives it
    rendered = tmp_path / f"{environment}.json"
    rendered.write_text(json.dumps(render(environment)))
    # THEN cfn-lint finds nothing. W2001 (unused parameter) is ignored: with the parameter values given,
    # SAM inlines ValidatorMaxEventAgeSeconds into the EventInvokeConfig it generates.
    result = run([str(BIN / "cfn-lint"), "--regions", REGION, "--include-checks", "I",
                  "--ignore-checks", "W2001", "--", str(rendered)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_render_does_not_change_the_loaded_template() -> None:
    before = copy.deepcopy(load_template())
    render("dev")
    assert load_template() == before
