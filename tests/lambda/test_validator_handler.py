"""The validator Lambda in-process against moto: routing of every reason code, the copy-confirm-delete
order, redelivery, re-uploads, failures at each step (nothing lost), metrics, and no PII anywhere."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from handler_support import (
    BUCKET,
    PII,
    FakeContext,
    Lake,
    csv_bytes,
    csv_file,
    csv_rows,
    gz,
    ndjson,
    s3_event,
)

from telco360 import zones
from telco360.contracts import get_contract
from telco360.gate import Reason
from telco360.gate.lines import LineIndex, line_index

DAY = "2025-01-01"  # the UTC date of s3_event's default event time
CUSTOMERS_KEY = "raw/customers/customers_20250101.ndjson"
ARCHIVED_CUSTOMERS = f"archive/customers/ingest_date={DAY}/customers_20250101.ndjson"
CUSTOMERS_INDEX = f"archive/customers/ingest_date={DAY}/_lines/customers_20250101.ndjson.json"
REJECTED_CUSTOMERS = f"rejected/customers/ingest_date={DAY}/customers_20250101.ndjson"
PLANS_KEY = "raw/plans/plans_20250101.csv"


def _plans_with(edit: Callable[[list[list[str]]], None]) -> bytes:
    rows = csv_rows("plans")
    edit(rows)
    return csv_bytes(rows)


def _row_with_text(text: str) -> bytes:
    """A plans data row whose second field is ``text`` written as is (no CSV quoting)."""
    row = csv_rows("plans", rows=1)[1]
    row[1] = text
    return ",".join(row).encode() + b"\n"


# Every reason the core returns: (key, content, dataset the file is filed under).
REJECTIONS: dict[Reason, tuple[str, Callable[[], bytes], str]] = {
    Reason.UNKNOWN_DATASET: ("raw/inventory_20250101.csv", lambda: b"sku,quantity\nA-1,3\n", "unknown"),
    Reason.UNSUPPORTED_EXTENSION: ("raw/customers/customers_20250101.xlsx", lambda: b"PK\x03\x04", "customers"),
    Reason.FORMAT_MISMATCH: (PLANS_KEY, lambda: ndjson("plans"), "plans"),
    Reason.EMPTY_FILE: (PLANS_KEY, lambda: csv_file("plans").split(b"\n")[0] + b"\n", "plans"),
    Reason.INVALID_UTF8: (CUSTOMERS_KEY, lambda: ndjson("customers") + b'{"customer_id": "C\xff9"}\n', "customers"),
    Reason.CORRUPT_GZIP: (
        "raw/activity_logs/year=2025/month=01/day=01/logs_20250101.ndjson.gz",
        lambda: gz(ndjson("activity", rows=40))[:-30], "activity"),
    Reason.CSV_NO_HEADER: (PLANS_KEY, lambda: csv_bytes(csv_rows("plans")[1:]), "plans"),
    Reason.CSV_MISSING_REQUIRED_COLUMN: (
        PLANS_KEY, lambda: csv_file("plans", drop=get_contract("plans").required_columns[:1]), "plans"),
    Reason.CSV_DUPLICATE_COLUMN: (PLANS_KEY, lambda: _plans_with(lambda rows: [r.append(r[0]) for r in rows]), "plans"),
    Reason.CSV_FIELD_COUNT: (PLANS_KEY, lambda: _plans_with(lambda rows: rows[2].append("extra")), "plans"),
    Reason.CSV_UNTERMINATED_QUOTE: (PLANS_KEY, lambda: csv_file("plans") + b'"P9,never closed\n', "plans"),
    Reason.CSV_MALFORMED_QUOTE: (PLANS_KEY, lambda: csv_file("plans") + _row_with_text('ab"c'), "plans"),
    Reason.NDJSON_INVALID_JSON: (CUSTOMERS_KEY, lambda: ndjson("customers") + b'{"customer_id": "C9",\n', "customers"),
    Reason.NDJSON_NOT_OBJECT: (CUSTOMERS_KEY, lambda: ndjson("customers") + b"[1, 2]\n", "customers"),
    Reason.NDJSON_MISSING_REQUIRED_COLUMN: (
        "raw/activity_logs/year=2025/month=01/day=01/logs_20250101.ndjson",
        lambda: ndjson("activity", drop=get_contract("activity").required_columns[-1:]), "activity"),
    Reason.RECORD_TOO_LONG: (  # a 16 MiB+ line: the gate keeps its memory bounded and refuses it
        CUSTOMERS_KEY,
        lambda: ndjson("customers") + b'{"customer_id": "C9", "address": "' + b"x" * (16 << 20) + b'"}\n',
        "customers"),
}
HANDLER_REASONS = {Reason.VALIDATOR_ERROR, Reason.VALIDATION_TIMEOUT}  # set by the handler, tested below


def _fail(operation: str, code: str = "InternalError") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected failure"}}, operation)


def _failing_once(call: Callable[..., Any], operation: str) -> Callable[..., Any]:
    """``call``, except that its first use raises an S3 service error."""
    failures = [_fail(operation)]

    def wrapper(**kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return call(**kwargs)

    return wrapper


def _assert_rejected(lake: Lake, source_key: str, destination: str, content: bytes, reason: Reason) -> dict[str, Any]:
    """The file is in rejected/ unchanged, its reason file beside it, one alert sent; returns the alert."""
    assert lake.listing() == [destination, destination + ".reason.json"]
    assert lake.get(destination) == content
    reason_doc = json.loads(lake.get(destination + ".reason.json"))
    assert (reason_doc["reason"], reason_doc["source_key"], reason_doc["rejected_key"]) == (
        reason.value, source_key, destination)
    alerts = lake.alerts()
    assert len(alerts) == 1
    alert = json.loads(alerts[0]["Message"])
    assert (alert["reason"], alert["key"], alert["rejected_key"]) == (reason.value, source_key, destination)
    return alert


def test_rejection_cases_cover_every_reason() -> None:
    assert set(REJECTIONS) | HANDLER_REASONS == set(Reason)


@pytest.mark.parametrize("reason", list(REJECTIONS), ids=str)
def test_rejected_file_goes_to_rejected_with_reason_file_and_one_alert(
        reason: Reason, app: ModuleType, lake: Lake, context: FakeContext) -> None:
    # GIVEN a raw file with exactly this problem
    key, make, dataset = REJECTIONS[reason]
    content = make()
    lake.put(key, content)

    # WHEN its put event is handled
    result = app.lambda_handler(s3_event(key), context)

    # THEN it is in rejected/<dataset>/ingest_date=D/ unchanged, with the reason written and alerted
    destination = f"rejected/{dataset}/ingest_date={DAY}/{key.rsplit('/', 1)[-1]}"
    assert result["records"] == [{"key": key, "outcome": "rejected", "destination": destination,
                                  "reason": reason.value}]
    alert = _assert_rejected(lake, key, destination, content, reason)
    assert alert["dataset"] == dataset and alert["message"]


def test_unexpected_validator_error_still_rejects_the_file_without_its_text(
        app: ModuleType, lake: Lake, context: FakeContext, log_stream: io.StringIO,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a validator that crashes with a message quoting a record value
    def crash(stream: Any, key: str, dataset: str | None = None) -> None:
        stream.read(10)
        raise ValueError(f"cannot handle {PII}")

    monkeypatch.setattr(app, "validate_and_index", crash)
    content = ndjson("customers", email=PII)
    lake.put(CUSTOMERS_KEY, content)

    # WHEN the event is handled
    result = app.lambda_handler(s3_event(CUSTOMERS_KEY), context)

    # THEN the file is rejected as validator_error, and the exception text went nowhere
    assert result["records"][0]["outcome"] == "rejected"
    alert = _assert_rejected(lake, CUSTOMERS_KEY, REJECTED_CUSTOMERS, content, Reason.VALIDATOR_ERROR)
    assert "ValueError" in alert["message"]
    assert PII not in log_stream.getvalue() and "ValueError" in log_stream.getvalue()
    assert PII not in lake.get(REJECTED_CUSTOMERS + ".reason.json").decode()


def test_run_about_to_time_out_stops_validating_and_rejects_the_file(
        app: ModuleType, lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a run with time for the first 64 KiB chunk only (then less than the 10 s margin)
    content = ndjson("customers", rows=3000)
    lake.put(CUSTOMERS_KEY, content)
    context = FakeContext(time_left_ms=[60_000, 5_000])
    real = app.validate_and_index
    monkeypatch.setattr(app, "validate_and_index", lambda stream, key: real(stream, key, chunk_size=64 * 1024))

    # WHEN the event is handled
    result = app.lambda_handler(s3_event(CUSTOMERS_KEY), context)

    # THEN validation stopped after one chunk and the file is rejected as validation_timeout
    assert len(content) > 2 * 64 * 1024
    assert result["records"][0]["reason"] == "validation_timeout"
    alert = _assert_rejected(lake, CUSTOMERS_KEY, REJECTED_CUSTOMERS, content, Reason.VALIDATION_TIMEOUT)
    assert f"after {64 * 1024} bytes" in alert["message"]


@pytest.fixture
def s3_calls(lake: Lake) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every S3 call made from now on, in order, with its parameters."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, dict(params)))

    lake.s3.meta.events.register("before-parameter-build.s3", record, unique_id="s3_calls")
    yield calls
    lake.s3.meta.events.unregister("before-parameter-build.s3", unique_id="s3_calls")


def test_source_is_deleted_only_after_its_copy_is_confirmed(
        app: ModuleType, lake: Lake, context: FakeContext, s3_calls: list[tuple[str, dict[str, Any]]]) -> None:
    # GIVEN a raw file, and every S3 call recorded from here on
    lake.put(CUSTOMERS_KEY, ndjson("customers"))
    validated_etag = lake.s3.head_object(Bucket=BUCKET, Key=CUSTOMERS_KEY)["ETag"]
    s3_calls.clear()
    calls = s3_calls

    # WHEN a valid file is handled
    app.lambda_handler(s3_event(CUSTOMERS_KEY), context)

    # THEN the copy of the validated version, a read-back of the copy, and last a delete of that version
    names = [name for name, _ in calls]
    copy_at, delete_at = names.index("CopyObject"), names.index("DeleteObject")
    assert names[0] == "GetObject" and copy_at < delete_at == len(names) - 1
    assert ("HeadObject", {"Bucket": BUCKET, "Key": ARCHIVED_CUSTOMERS}) in calls[copy_at + 1:delete_at]
    assert calls[copy_at][1]["CopySourceIfMatch"] == validated_etag
    assert calls[delete_at][1] == {"Bucket": BUCKET, "Key": CUSTOMERS_KEY, "IfMatch": validated_etag}


def test_the_line_index_is_written_after_the_copy_is_confirmed_and_before_the_source_goes(
        app: ModuleType, lake: Lake, context: FakeContext, s3_calls: list[tuple[str, dict[str, Any]]]) -> None:
    # GIVEN a plans CSV with CRLF record ends and a line break in a quoted value
    rows = csv_rows("plans")
    rows[1][1] = "two\r\nlines"
    content = csv_bytes(rows).replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
    lake.put(PLANS_KEY, content)
    s3_calls.clear()

    # WHEN its event is handled
    app.lambda_handler(s3_event(PLANS_KEY), context)

    # THEN the index of its bytes (a record spans lines) is put between the confirmed copy and the delete
    archived = f"archive/plans/ingest_date={DAY}/plans_20250101.csv"
    index_key = f"archive/plans/ingest_date={DAY}/_lines/plans_20250101.csv.json"
    names = [name for name, _ in s3_calls]
    put_at = names.index("PutObject")
    assert names.index("CopyObject") < put_at < names.index("DeleteObject") == len(names) - 1
    assert ("HeadObject", {"Bucket": BUCKET, "Key": archived}) in s3_calls[:put_at]
    put = s3_calls[put_at][1]
    assert (put["Key"], put["ContentType"]) == (index_key, "application/json")
    assert LineIndex.from_json(lake.get(index_key)) == line_index(content, multiline_records=True)
    assert lake.listing() == [index_key, archived]


def test_a_failed_index_write_keeps_the_source_and_the_retry_writes_it(
        app: ModuleType, lake: Lake, context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a valid file, and an index write that fails once
    content = ndjson("customers")
    lake.put(CUSTOMERS_KEY, content)
    monkeypatch.setattr(lake.s3, "put_object", _failing_once(lake.s3.put_object, "PutObject"))
    event = s3_event(CUSTOMERS_KEY)

    # WHEN the event is handled / THEN it fails with the copy made and the source kept
    with pytest.raises(app.RecordsFailed):
        app.lambda_handler(event, context)
    assert lake.listing() == sorted([ARCHIVED_CUSTOMERS, CUSTOMERS_KEY])

    # WHEN the retry runs / THEN it reuses its copy, writes the index and deletes the source
    assert app.lambda_handler(event, context)["records"][0]["outcome"] == "archived"
    assert lake.listing() == sorted([ARCHIVED_CUSTOMERS, CUSTOMERS_INDEX])
    assert LineIndex.from_json(lake.get(CUSTOMERS_INDEX)) == line_index(content)


@pytest.mark.parametrize(("content", "destination"), [
    pytest.param(ndjson("customers"), ARCHIVED_CUSTOMERS, id="archived"),
    pytest.param(b"", REJECTED_CUSTOMERS, id="rejected"),
])
def test_redelivered_event_is_a_harmless_no_op(content: bytes, destination: str, app: ModuleType, lake: Lake,
                                               context: FakeContext) -> None:
    # GIVEN a file already handled once
    lake.put(CUSTOMERS_KEY, content)
    event = s3_event(CUSTOMERS_KEY)
    app.lambda_handler(event, context)
    keys, alerts = lake.listing(), lake.alerts()

    # WHEN S3 delivers the same event again
    result = app.lambda_handler(event, context)

    # THEN it succeeds doing nothing: no second copy, no second alert
    assert result["records"] == [{"key": CUSTOMERS_KEY, "outcome": "already_processed", "destination": None,
                                  "reason": None}]
    assert lake.listing() == keys and destination in keys
    assert lake.alerts() == [] and len(alerts) == (0 if "archive/" in destination else 1)


def test_reupload_of_the_same_name_the_same_day_gets_its_own_archive_name(
        app: ModuleType, lake: Lake, context: FakeContext) -> None:
    # GIVEN three uploads of customers_20250101.ndjson on the same day, each with its own content
    arrivals = [("2025-01-01T06:02:11.418Z", "0067752A3B005C8E1F"),
                ("2025-01-01T18:30:00.250Z", "0067758B1C115C8E20"),
                ("2025-01-01T23:59:59.999Z", "006775C3D2225C8E21")]
    contents = [ndjson("customers", rows=n) for n in (1, 2, 3)]

    # WHEN each is handled as it arrives
    for (event_time, sequencer), content in zip(arrivals, contents, strict=True):
        lake.put(CUSTOMERS_KEY, content)
        app.lambda_handler(s3_event(CUSTOMERS_KEY, event_time, sequencer), context)

    # THEN none overwrote another: the first keeps the name, the others get unique names sorting after
    # it, each with the index of its own lines
    folder = f"archive/customers/ingest_date={DAY}/"
    expected = [folder + "customers_20250101.ndjson",
                folder + "customers_20250101__20250101T183000250Z-0067758B1C115C8E20.ndjson",
                folder + "customers_20250101__20250101T235959999Z-006775C3D2225C8E21.ndjson"]
    assert lake.listing() == sorted(expected + [zones.line_index_key(k) for k in expected])
    assert [lake.get(k) for k in expected] == contents
    assert [LineIndex.from_json(lake.get(zones.line_index_key(k))) for k in expected] == [
        line_index(c) for c in contents]


def test_multiple_records_each_get_a_summary(app: ModuleType, lake: Lake, context: FakeContext) -> None:
    # GIVEN an event with two records: a valid file and an empty one
    lake.put(CUSTOMERS_KEY, ndjson("customers"))
    lake.put(PLANS_KEY, b"")
    event = s3_event(CUSTOMERS_KEY)
    event["Records"] += s3_event(PLANS_KEY, sequencer="0067752A3B015C8E1F")["Records"]

    # WHEN it is handled
    result = app.lambda_handler(event, context)

    # THEN one summary per record, in order
    assert [(r["key"], r["outcome"], r["reason"]) for r in result["records"]] == [
        (CUSTOMERS_KEY, "archived", None), (PLANS_KEY, "rejected", "empty_file")]


@pytest.mark.parametrize(("content", "destination"), [
    pytest.param(ndjson("customers"), ARCHIVED_CUSTOMERS, id="valid"),
    pytest.param(b"", REJECTED_CUSTOMERS, id="rejected"),
])
def test_copy_failing_midway_keeps_the_original_and_a_retry_settles_it(
        content: bytes, destination: str, app: ModuleType, lake: Lake, context: FakeContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a copy that fails part way once (as a multipart UploadPartCopy can)
    lake.put(CUSTOMERS_KEY, content)
    monkeypatch.setattr(lake.s3, "copy", _failing_once(lake.s3.copy, "UploadPartCopy"))
    event = s3_event(CUSTOMERS_KEY)

    # WHEN the event is handled
    with pytest.raises(app.RecordsFailed):
        app.lambda_handler(event, context)

    # THEN the error surfaces (for the async retry), the original is untouched, nothing was alerted
    assert lake.listing() == [CUSTOMERS_KEY] and lake.get(CUSTOMERS_KEY) == content
    assert lake.alerts() == []

    # WHEN the retry runs / THEN the file is settled, once
    assert app.lambda_handler(event, context)["records"][0]["destination"] == destination
    assert lake.get(destination) == content and CUSTOMERS_KEY not in lake.listing()
    assert len(lake.alerts()) == (0 if destination == ARCHIVED_CUSTOMERS else 1)


def test_copy_that_cannot_be_confirmed_keeps_the_original(app: ModuleType, lake: Lake, context: FakeContext,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a copy call that reports success but leaves nothing at the destination
    lake.put(CUSTOMERS_KEY, ndjson("customers"))
    monkeypatch.setattr(lake.s3, "copy", lambda **_: None)

    # WHEN the event is handled / THEN it fails and the original stays
    with pytest.raises(app.RecordsFailed):
        app.lambda_handler(s3_event(CUSTOMERS_KEY), context)
    assert lake.listing() == [CUSTOMERS_KEY]


@pytest.mark.parametrize(("content", "destination", "alerts"), [
    pytest.param(ndjson("customers"), ARCHIVED_CUSTOMERS, 0, id="archived"),
    pytest.param(b"", REJECTED_CUSTOMERS, 1, id="rejected"),
])
def test_delete_failing_after_the_copy_loses_and_duplicates_nothing(
        content: bytes, destination: str, alerts: int, app: ModuleType, lake: Lake, context: FakeContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a delete that fails once
    lake.put(CUSTOMERS_KEY, content)
    monkeypatch.setattr(lake.s3, "delete_object", _failing_once(lake.s3.delete_object, "DeleteObject"))
    event = s3_event(CUSTOMERS_KEY)

    # WHEN the event is handled
    with pytest.raises(app.RecordsFailed):
        app.lambda_handler(event, context)

    # THEN the error surfaces with both the copy and the original in place
    assert lake.get(destination) == content and lake.get(CUSTOMERS_KEY) == content

    # WHEN the retry runs / THEN it reuses its own copy: one copy, the source gone, one alert in all
    result = app.lambda_handler(event, context)
    assert result["records"][0]["destination"] == destination
    assert [k for k in lake.listing() if not k.endswith(".reason.json") and "/_lines/" not in k] == [destination]
    assert len(lake.alerts()) == alerts


def test_upload_replacing_the_file_while_it_is_moved_is_not_deleted(
        app: ModuleType, lake: Lake, context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a producer that re-uploads the same key right after the validated version was copied
    first, second = ndjson("customers", rows=1), ndjson("customers", rows=2)
    lake.put(CUSTOMERS_KEY, first)
    real_copy = lake.s3.copy

    def copy_then_reupload(**kwargs: Any) -> None:
        real_copy(**kwargs)
        lake.put(CUSTOMERS_KEY, second)

    monkeypatch.setattr(lake.s3, "copy", copy_then_reupload)

    # WHEN the first upload's event is handled
    result = app.lambda_handler(s3_event(CUSTOMERS_KEY), context)

    # THEN the validated version is archived and the newer upload waits in raw/ for its own event
    assert result["records"][0]["outcome"] == "archived"
    assert lake.get(ARCHIVED_CUSTOMERS) == first and lake.get(CUSTOMERS_KEY) == second


@pytest.fixture
def versioned(lake: Lake) -> Lake:
    lake.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return lake


def test_versioned_bucket_moves_the_version_the_event_names_and_leaves_a_newer_upload(
        app: ModuleType, versioned: Lake, context: FakeContext, s3_calls: list[tuple[str, dict[str, Any]]]) -> None:
    # GIVEN two uploads of one key in a versioned bucket, each with its event naming its version
    lake = versioned
    first, second = ndjson("customers", rows=1), ndjson("customers", rows=2)
    v1 = lake.s3.put_object(Bucket=BUCKET, Key=CUSTOMERS_KEY, Body=first)["VersionId"]
    v2 = lake.s3.put_object(Bucket=BUCKET, Key=CUSTOMERS_KEY, Body=second)["VersionId"]
    s3_calls.clear()

    # WHEN the first upload's event is handled (after the second upload)
    result = app.lambda_handler(s3_event(CUSTOMERS_KEY, version_id=v1), context)

    # THEN the first version is read and deleted by its id, and archived; the newer one waits in raw/
    calls = dict(s3_calls)  # the handler's calls (the last of each kind)
    assert calls["GetObject"] == {"Bucket": BUCKET, "Key": CUSTOMERS_KEY, "VersionId": v1}
    assert calls["DeleteObject"] == {"Bucket": BUCKET, "Key": CUSTOMERS_KEY, "VersionId": v1}
    assert result["records"][0]["outcome"] == "archived"
    assert lake.get(ARCHIVED_CUSTOMERS) == first and lake.get(CUSTOMERS_KEY) == second

    # WHEN the second upload's event is handled / THEN it gets its own archive name, and raw/ is empty
    app.lambda_handler(s3_event(CUSTOMERS_KEY, "2025-01-01T07:00:00.000Z", "0067752A3B015C8E1F", version_id=v2),
                       context)
    archived = [k for k in lake.listing("archive/") if "/_lines/" not in k]
    assert len(archived) == 2 and [lake.get(k) for k in archived] == [first, second]
    assert lake.listing("raw/") == []


def test_versioned_event_redelivered_after_its_version_was_moved_is_a_no_op(
        app: ModuleType, versioned: Lake, context: FakeContext) -> None:
    # GIVEN a version already archived
    lake = versioned
    version = lake.s3.put_object(Bucket=BUCKET, Key=CUSTOMERS_KEY, Body=ndjson("customers"))["VersionId"]
    event = s3_event(CUSTOMERS_KEY, version_id=version)
    app.lambda_handler(event, context)

    # WHEN the same event comes again / THEN the missing version means: already done
    assert app.lambda_handler(event, context)["records"][0]["outcome"] == "already_processed"
    assert lake.listing() == sorted([ARCHIVED_CUSTOMERS, CUSTOMERS_INDEX])


def test_a_folder_marker_is_skipped_with_a_log_line_not_rejected(
        app: ModuleType, lake: Lake, context: FakeContext, log_stream: io.StringIO) -> None:
    # GIVEN the empty object the console's "Create folder" writes under raw/
    lake.put("raw/customers/2025/", b"")

    # WHEN its event is handled
    result = app.lambda_handler(s3_event("raw/customers/2025/"), context)

    # THEN nothing moves, nothing is alerted, and the log says why
    assert result["records"] == [{"key": "raw/customers/2025/", "outcome": "skipped", "destination": None,
                                  "reason": None}]
    assert lake.listing() == ["raw/customers/2025/"] and lake.alerts() == []
    assert "folder marker" in log_stream.getvalue()


def test_one_failing_record_does_not_stop_the_others(
        app: ModuleType, lake: Lake, context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an event with two records whose first copy fails (an S3 error)
    lake.put(CUSTOMERS_KEY, ndjson("customers"))
    lake.put(PLANS_KEY, csv_file("plans"))
    monkeypatch.setattr(lake.s3, "copy", _failing_once(lake.s3.copy, "CopyObject"))
    event = s3_event(CUSTOMERS_KEY)
    event["Records"] += s3_event(PLANS_KEY, sequencer="0067752A3B015C8E1F")["Records"]

    # WHEN it is handled / THEN the error surfaces for the retry, and the second record was settled
    with pytest.raises(app.RecordsFailed, match=CUSTOMERS_KEY):
        app.lambda_handler(event, context)
    archived_plans = f"archive/plans/ingest_date={DAY}/plans_20250101.csv"
    assert lake.listing() == sorted([CUSTOMERS_KEY, archived_plans, zones.line_index_key(archived_plans)])


def test_no_record_value_reaches_logs_alerts_or_reason_files(
        app: ModuleType, lake: Lake, context: FakeContext, log_stream: io.StringIO,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a file whose bad line carries customer PII
    content = ndjson("customers", email=PII) + b'{"customer_id": "C9", "email": "' + PII.encode() + b'", "x": }\n'
    lake.put(CUSTOMERS_KEY, content)

    # WHEN it is rejected
    app.lambda_handler(s3_event(CUSTOMERS_KEY), context)

    # THEN the PII is in the rejected file only: not in the logs, metrics, reason file or alert
    alert = _assert_rejected(lake, CUSTOMERS_KEY, REJECTED_CUSTOMERS, content, Reason.NDJSON_INVALID_JSON)
    assert alert["line"] == 4
    logs = log_stream.getvalue()
    assert "ndjson_invalid_json" in logs
    for text in (logs, capsys.readouterr().out, json.dumps(alert), lake.get(REJECTED_CUSTOMERS + ".reason.json")):
        assert PII not in (text.decode() if isinstance(text, bytes) else text)


def _emf(out: str) -> list[dict[str, Any]]:
    docs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def test_metrics_count_files_by_dataset_and_reason(app: ModuleType, lake: Lake, context: FakeContext,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one valid and one rejected file
    valid = ndjson("customers")
    lake.put(CUSTOMERS_KEY, valid)
    lake.put(PLANS_KEY, b"")
    capsys.readouterr()

    # WHEN both are handled
    app.lambda_handler(s3_event(CUSTOMERS_KEY), context)
    app.lambda_handler(s3_event(PLANS_KEY), context)

    # THEN accepted/rejected counts carry their dimensions, with bytes and duration beside them
    docs = _emf(capsys.readouterr().out)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {app.NAMESPACE}
    accepted = [d for d in docs if "FilesAccepted" in d]
    rejected = [d for d in docs if "FilesRejected" in d]
    assert [(d["dataset"], d["FilesAccepted"]) for d in accepted] == [("customers", [1.0])]
    assert [(d["dataset"], d["reason"], d["FilesRejected"]) for d in rejected] == [("plans", "empty_file", [1.0])]
    # the service-wide count (alarm, dashboard) and the breakdown are the same data point
    assert rejected[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "dataset", "reason"]]
    assert accepted[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "dataset"]]
    flushed = [d for d in docs if "BytesValidated" in d]
    assert [d["BytesValidated"] for d in flushed] == [[len(valid)], [0]]
    assert all(d["ValidationDuration"][0] >= 0 for d in flushed)
