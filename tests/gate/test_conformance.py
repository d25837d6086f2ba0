"""The gate against public conformance suites and the real sample extracts (vendored in tests/data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telco360.gate._csv import CsvBody, parse_records
from telco360.gate._stream import Rejection
from telco360.gate.core import validate_stream
from telco360.gate.verdict import Reason

from .helpers import SAMPLE, TESTSUITES, validate

RECORD = b'{"event_id":"e1","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-01T00:00:00Z"}'


def _ndjson_with_payload(payload: bytes) -> bytes:
    return RECORD + b"\n" + RECORD[:-1] + b',"payload":' + payload + b"}\n" + RECORD + b"\n"


def test_every_real_extract_is_valid_with_its_dataset() -> None:
    # GIVEN the real sample extracts (customers NDJSON, plans CSV, a week of daily activity files)
    sample_dir = SAMPLE
    files = sorted(p for p in sample_dir.rglob("*") if p.is_file())
    assert len(files) == 9
    for path in files:
        # WHEN each is validated under its relative path, as the gate sees a raw/ key
        with path.open("rb") as stream:
            verdict = validate_stream(stream, path.relative_to(sample_dir).as_posix())
        expected = {"customers": "customers", "plans": "plans"}.get(path.parts[len(sample_dir.parts)], "activity")
        # THEN it is valid and its dataset is the right one
        assert verdict.valid and verdict.dataset == expected and verdict.rows > 0, (path, verdict)
        # and it has one record a line (none of the extracts holds a blank line or a quoted line break)
        header_lines = 1 if path.suffix == ".csv" else 0
        assert verdict.rows == path.read_bytes().count(b"\n") - header_lines, path


def _suite(prefix: str) -> list[Path]:
    return sorted((TESTSUITES / "JSONTestSuite" / "test_parsing").glob(f"{prefix}_*.json"))


def test_every_one_line_accepted_json_text_as_a_payload_keeps_ndjson_valid() -> None:
    cases = [p for p in _suite("y") if b"\n" not in p.read_bytes().strip()]
    assert len(cases) == 93
    for path in cases:
        verdict = validate(_ndjson_with_payload(path.read_bytes().strip()), "logs_1.ndjson")
        assert verdict.valid and verdict.rows == 3, path.name


# n_ texts that cannot be embedded as a line's payload without changing what they test:
# - a raw line break inside the text would split the record into two lines (each invalid anyway, but
#   for another reason);
# - texts that are empty or only whitespace leave `"payload":}` (invalid, but not for the suite's reason);
# - n_structure_whitespace_formfeed is a form feed alone (the same: nothing to embed).
# Every other n_ text must make the line, hence the file, invalid: strict JSON or strict UTF-8.
def test_every_rejected_json_text_as_a_payload_makes_ndjson_invalid() -> None:
    cases = [p for p in _suite("n") if b"\n" not in p.read_bytes() and p.read_bytes().strip()]
    assert len(cases) == 180
    for path in cases:
        data = _ndjson_with_payload(path.read_bytes())
        # Byte-sized chunks of a 100 KB line cost quadratic copying: big texts go in one chunk.
        verdict = validate(data, "logs_1.ndjson") if len(data) < 4096 else validate_stream([data], "logs_1.ndjson")
        assert not verdict.valid and verdict.line == 2, (path.name, verdict)
        assert verdict.reason in (Reason.NDJSON_INVALID_JSON, Reason.INVALID_UTF8), path.name


def _spectrum() -> list[Path]:
    return sorted((TESTSUITES / "csv-spectrum" / "csvs").glob("*.csv"))


# location_coordinates has a quote inside an unquoted field (37.8"N): not RFC 4180, which the gate enforces.
LENIENT_ONLY = "location_coordinates"


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
def test_every_csv_spectrum_body_passes_the_streaming_structure_check(chunk: int) -> None:
    for path in _spectrum():
        # GIVEN a csv-spectrum file's exact bytes after its header, fed in chunks
        header, _, body = path.read_bytes().partition(b"\n")
        scanner = CsvBody(header.count(b",") + 1, first_line=2)
        # WHEN the structure check runs over them
        try:
            for start in range(0, len(body), chunk):
                scanner.feed(body[start:start + chunk])
            scanner.finish()
        except Rejection as rejection:
            # THEN only the lenient-only file fails, for the quote in its unquoted field
            assert (path.stem, rejection.reason) == (LENIENT_ONLY, Reason.CSV_MALFORMED_QUOTE)
            continue
        # THEN every record is counted, as many as the expected parse has
        expected = json.loads((path.parent.parent / "json" / f"{path.stem}.json").read_text("utf-8"))
        assert scanner.rows == len(expected), path.name


def test_a_csv_spectrum_file_with_a_required_column_prepended_is_valid_end_to_end() -> None:
    for path in _spectrum():
        if path.stem == LENIENT_ONLY:
            continue
        # GIVEN the records re-written behind a plans "plan_id" column
        header, _, body = path.read_bytes().partition(b"\n")
        records = list(parse_records(body))
        data = b"plan_id," + header + b"\n" + b"".join(
            b"P," + b",".join(_quote(f) for f in record) + b"\r\n" for record in records)
        # THEN the whole gate accepts it as plans with one row per record
        verdict = validate(data, "plans.csv")
        assert verdict.valid and verdict.rows == len(records), (path.name, verdict)


def _quote(field: str) -> bytes:
    return b'"' + field.encode().replace(b'"', b'""') + b'"'


def test_the_exact_csv_parser_agrees_with_csv_spectrum() -> None:
    for path in _spectrum():
        if path.stem == LENIENT_ONLY:
            continue  # not RFC 4180, and its expected JSON is wrong upstream (another phone number)
        records = list(parse_records(path.read_bytes()))
        header, rows = records[0], records[1:]
        expected = json.loads((path.parent.parent / "json" / f"{path.stem}.json").read_text("utf-8"))
        assert [dict(zip(header, row, strict=True)) for row in rows] == expected, path.name
