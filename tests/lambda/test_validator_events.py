"""Every events/s3_*.json fixture (the events a user passes to `sam local invoke`) driven through the
handler in-process against moto, with a matching object built here, and its routing checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from urllib.parse import unquote_plus

import pytest
from handler_support import EVENTS, PII, FakeContext, Lake, csv_file, gz, load_event, ndjson

from telco360.contracts import get_contract


@dataclass(frozen=True)
class Case:
    content: Callable[[], bytes]
    outcome: str
    destination: str | None = None
    reason: str | None = None


def _truncated_gzip() -> bytes:
    whole = gz(ndjson("activity", rows=40))
    return whole[: len(whole) // 2]


def _customers_with_broken_line() -> bytes:
    return ndjson("customers", rows=2) + b'{"customer_id": "C9", "email": "' + PII.encode() + b'", "first_'


CASES: dict[str, Case] = {
    "s3_customers_valid": Case(
        lambda: ndjson("customers"), "archived", "archive/customers/ingest_date=2025-01-01/customers_20250101.ndjson"),
    "s3_plans_valid": Case(
        lambda: csv_file("plans"), "archived", "archive/plans/ingest_date=2025-01-01/plans_20250101.csv"),
    "s3_activity_valid": Case(
        lambda: ndjson("activity"), "archived", "archive/activity/ingest_date=2025-01-02/logs_20250101.ndjson"),
    "s3_activity_gz_valid": Case(
        lambda: gz(ndjson("activity")), "archived", "archive/activity/ingest_date=2025-01-03/logs_20250102.ndjson.gz"),
    "s3_key_with_spaces": Case(
        lambda: ndjson("customers"), "archived",
        "archive/customers/ingest_date=2025-01-05/Customers Export 2025+v2.ndjson"),
    "s3_activity_gz_corrupt": Case(
        _truncated_gzip, "rejected", "rejected/activity/ingest_date=2025-01-04/logs_20250103.ndjson.gz",
        "corrupt_gzip"),
    "s3_customers_invalid_json": Case(
        _customers_with_broken_line, "rejected", "rejected/customers/ingest_date=2025-01-02/customers_20250102.ndjson",
        "ndjson_invalid_json"),
    "s3_customers_empty": Case(
        lambda: b"", "rejected", "rejected/customers/ingest_date=2025-01-03/customers_20250103.ndjson", "empty_file"),
    "s3_plans_missing_column": Case(
        lambda: csv_file("plans", drop=get_contract("plans").required_columns[:1]), "rejected",
        "rejected/plans/ingest_date=2025-01-02/plans_20250102.csv", "csv_missing_required_column"),
    "s3_unknown_dataset": Case(
        lambda: b"sku,quantity\nA-1,3\n", "rejected", "rejected/unknown/ingest_date=2025-01-01/inventory_20250101.csv",
        "unknown_dataset"),
    "s3_archive_object": Case(lambda: ndjson("customers"), "ignored"),
}


def test_every_event_fixture_has_a_case() -> None:
    # GIVEN the fixtures users invoke the function with / THEN each is exercised below
    assert {p.stem for p in EVENTS.glob("s3_*.json")} == set(CASES)


def test_event_fixtures_have_the_shape_s3_sends() -> None:
    for name in CASES:
        record = load_event(name)["Records"][0]
        assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
        assert set(record["s3"]["object"]) == {"key", "size", "eTag", "sequencer"}
        assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{record['s3']['bucket']['name']}"
        assert " " not in record["s3"]["object"]["key"], "S3 sends keys URL-encoded"


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_fixture_is_routed(name: str, app: ModuleType, lake: Lake, context: FakeContext) -> None:
    # GIVEN the object the event announces
    case = CASES[name]
    event = load_event(name)
    key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
    content = case.content()
    lake.put(key, content)

    # WHEN the handler runs on the event
    result = app.lambda_handler(event, context)

    # THEN the file is where the contract puts it, unchanged, and the source is gone
    assert result["records"] == [
        {"key": key, "outcome": case.outcome, "destination": case.destination, "reason": case.reason}
    ]
    alerts = lake.alerts()
    if case.outcome == "ignored":
        assert lake.listing() == [key] and alerts == []
        return
    assert case.destination is not None
    assert lake.get(case.destination) == content
    if case.reason is None:
        assert lake.listing() == [case.destination] and alerts == []
        return
    reason_key = case.destination + ".reason.json"
    assert lake.listing() == sorted([case.destination, reason_key])
    reason_doc = json.loads(lake.get(reason_key))
    assert (reason_doc["reason"], reason_doc["source_key"]) == (case.reason, key)
    assert len(alerts) == 1
    alert = json.loads(alerts[0]["Message"])
    assert (alert["key"], alert["reason"], alert["rejected_key"]) == (key, case.reason, case.destination)
    assert case.reason in alerts[0]["Subject"]
