"""Every events/s3_*.json fixture (the events a user passes to `sam local invoke`) driven through the
handler in-process against moto, with a matching object built here for each record, and its routing
checked."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus

import pytest
from handler_support import BUCKET, EVENTS, PII, FakeContext, Lake, csv_file, gz, load_event, ndjson

from telco360 import zones
from telco360.contracts import get_contract
from telco360.gate.lines import LineIndex, line_index


@dataclass(frozen=True)
class Expect:
    """What one record of an event leads to."""

    content: Callable[[], bytes]
    outcome: str
    destination: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Case:
    records: list[Expect]  # one per record of the event, in order
    versioned: bool = False  # the bucket keeps versions (the event names the version it announces)
    multipart: bool = False  # the object arrives by a multipart upload (its ETag ends in -<parts>)


def _truncated_gzip() -> bytes:
    whole = gz(ndjson("activity", rows=40))
    return whole[: len(whole) // 2]


def _customers_with_broken_line() -> bytes:
    return ndjson("customers", rows=2) + b'{"customer_id": "C9", "email": "' + PII.encode() + b'", "first_'


def _big_activity_gz() -> bytes:
    # Over 5 MiB, so it can arrive in two multipart parts (S3's smallest part but the last is 5 MiB):
    # gzip level 0 stores the bytes, so the size is the NDJSON's.
    rows = ndjson("activity", rows=1)
    return gzip.compress(rows * ((6 << 20) // len(rows)), compresslevel=0, mtime=0)


CASES: dict[str, Case] = {
    "s3_customers_valid": Case([Expect(
        lambda: ndjson("customers"), "archived",
        "archive/customers/ingest_date=2025-01-01/customers_20250101.ndjson")]),
    "s3_plans_valid": Case([Expect(
        lambda: csv_file("plans"), "archived", "archive/plans/ingest_date=2025-01-01/plans_20250101.csv")]),
    "s3_activity_valid": Case([Expect(
        lambda: ndjson("activity"), "archived", "archive/activity/ingest_date=2025-01-02/logs_20250101.ndjson")]),
    "s3_activity_gz_valid": Case([Expect(
        lambda: gz(ndjson("activity")), "archived",
        "archive/activity/ingest_date=2025-01-03/logs_20250102.ndjson.gz")]),
    "s3_key_with_spaces": Case([Expect(
        lambda: ndjson("customers"), "archived",
        "archive/customers/ingest_date=2025-01-05/Customers Export 2025+v2.ndjson")]),
    "s3_activity_gz_corrupt": Case([Expect(
        _truncated_gzip, "rejected", "rejected/activity/ingest_date=2025-01-04/logs_20250103.ndjson.gz",
        "corrupt_gzip")]),
    "s3_customers_invalid_json": Case([Expect(
        _customers_with_broken_line, "rejected", "rejected/customers/ingest_date=2025-01-02/customers_20250102.ndjson",
        "ndjson_invalid_json")]),
    "s3_customers_empty": Case([Expect(
        lambda: b"", "rejected", "rejected/customers/ingest_date=2025-01-03/customers_20250103.ndjson", "empty_file")]),
    "s3_plans_missing_column": Case([Expect(
        lambda: csv_file("plans", drop=get_contract("plans").required_columns[:1]), "rejected",
        "rejected/plans/ingest_date=2025-01-02/plans_20250102.csv", "csv_missing_required_column")]),
    "s3_unknown_dataset": Case([Expect(
        lambda: b"sku,quantity\nA-1,3\n", "rejected", "rejected/unknown/ingest_date=2025-01-01/inventory_20250101.csv",
        "unknown_dataset")]),
    "s3_archive_object": Case([Expect(lambda: ndjson("customers"), "ignored")]),
    "s3_multiple_records": Case([
        Expect(lambda: ndjson("customers"), "archived",
               "archive/customers/ingest_date=2025-01-06/customers_20250106.ndjson"),
        Expect(lambda: b"", "rejected", "rejected/plans/ingest_date=2025-01-06/plans_20250106.csv", "empty_file"),
        Expect(lambda: ndjson("activity"), "archived", "archive/activity/ingest_date=2025-01-06/logs_20250105.ndjson"),
    ]),
    "s3_multipart_upload": Case([Expect(
        _big_activity_gz, "archived", "archive/activity/ingest_date=2025-01-07/logs_20250106.ndjson.gz")],
        multipart=True),
    "s3_folder_marker": Case([Expect(lambda: b"", "skipped")]),
    "s3_versioned_bucket": Case([Expect(
        lambda: ndjson("customers"), "archived", "archive/customers/ingest_date=2025-01-08/customers_20250108.ndjson")],
        versioned=True),
}


def test_every_event_fixture_has_a_case() -> None:
    # GIVEN the fixtures users invoke the function with / THEN each is exercised below
    assert {p.stem for p in EVENTS.glob("s3_*.json")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_fixtures_have_the_shape_s3_sends(name: str) -> None:
    records = load_event(name)["Records"]
    assert len(records) == len(CASES[name].records)
    for record in records:
        assert record["eventSource"] == "aws:s3" and record["eventName"].startswith("ObjectCreated:")
        assert {"key", "size", "eTag", "sequencer"} <= set(record["s3"]["object"]) <= {
            "key", "size", "eTag", "sequencer", "versionId"}
        assert record["s3"]["bucket"]["name"] == BUCKET, "every fixture names the same dev bucket"
        assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{BUCKET}"
        assert " " not in record["s3"]["object"]["key"], "S3 sends keys URL-encoded"
    assert ("versionId" in records[0]["s3"]["object"]) == CASES[name].versioned
    assert records[0]["s3"]["object"]["eTag"].rpartition("-")[2].isdigit() == CASES[name].multipart


def _multipart_put(lake: Lake, key: str, content: bytes) -> None:
    part_size = 5 << 20
    upload = lake.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(content), part_size), start=1):
        answer = lake.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number,
                                     Body=content[start:start + part_size])
        parts.append({"PartNumber": number, "ETag": answer["ETag"]})
    lake.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def _arrange(lake: Lake, case: Case, event: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Put each record's object as the event says it arrived; returns (key, content) per record."""
    if case.versioned:
        lake.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    arrived: list[tuple[str, bytes]] = []
    for record, expect in zip(event["Records"], case.records, strict=True):
        key = unquote_plus(record["s3"]["object"]["key"])
        content = expect.content()
        if case.multipart:
            _multipart_put(lake, key, content)
            assert lake.s3.head_object(Bucket=BUCKET, Key=key)["ETag"].endswith('-2"')
        else:
            answer = lake.s3.put_object(Bucket=BUCKET, Key=key, Body=content)
            if case.versioned:
                # The fixture's versionId is AWS's; the event must name the version moto made.
                record["s3"]["object"]["versionId"] = answer["VersionId"]
        arrived.append((key, content))
    return arrived


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_fixture_is_routed(name: str, app: ModuleType, lake: Lake, context: FakeContext) -> None:
    # GIVEN the objects the event announces
    case = CASES[name]
    event = load_event(name)
    arrived = _arrange(lake, case, event)

    # WHEN the handler runs on the event
    result = app.lambda_handler(event, context)

    # THEN each record's file is where the contract puts it, unchanged, and its source is gone; an
    # archived uncompressed file has the index of its lines beside it (a gzipped or rejected one none)
    assert result["records"] == [
        {"key": key, "outcome": e.outcome, "destination": e.destination, "reason": e.reason}
        for (key, _), e in zip(arrived, case.records, strict=True)
    ]
    expected_keys: list[str] = []
    alerts = lake.alerts()
    for (key, content), expect in zip(arrived, case.records, strict=True):
        if expect.destination is None:  # ignored or skipped: left where it is
            expected_keys.append(key)
            continue
        assert lake.get(expect.destination) == content
        expected_keys.append(expect.destination)
        if expect.outcome == "archived" and not expect.destination.endswith(".gz"):
            index_key = zones.line_index_key(expect.destination)
            expected_keys.append(index_key)
            assert LineIndex.from_json(lake.get(index_key)) == line_index(content)
        if expect.reason is not None:
            reason_key = expect.destination + ".reason.json"
            expected_keys.append(reason_key)
            reason_doc = json.loads(lake.get(reason_key))
            assert (reason_doc["reason"], reason_doc["source_key"]) == (expect.reason, key)
            alert = next(json.loads(a["Message"]) for a in alerts if json.loads(a["Message"])["key"] == key)
            assert (alert["reason"], alert["rejected_key"]) == (expect.reason, expect.destination)
    assert lake.listing() == sorted(expected_keys)
    assert len(alerts) == sum(e.reason is not None for e in case.records)
    if case.versioned:
        # the validated version itself was deleted: no version of the raw key is left behind
        versions = lake.s3.list_object_versions(Bucket=BUCKET, Prefix="raw/")
        assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
