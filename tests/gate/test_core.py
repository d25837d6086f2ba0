"""The gate's core on hand-made files: every check of docs/spec.md §3 and every reason it can return."""

from __future__ import annotations

import gzip
import io

import pytest

from telco360.gate.core import validate_stream
from telco360.gate.verdict import Reason

from .helpers import validate

PLANS_HEADER = b"plan_id,plan_name,monthly_price\n"
EVENT = b'{"event_id":"e1","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-01T00:00:00Z"}'


def rejected(data: bytes, key: str, reason: Reason, line: int | None, dataset: str | None = None) -> str:
    verdict = validate(data, key, dataset)
    assert (verdict.valid, verdict.reason, verdict.line) == (False, reason, line), verdict
    return verdict.message


# --- format, extension, dataset ----------------------------------------------------------------------
def test_a_valid_csv_reports_its_dataset_format_and_rows() -> None:
    # GIVEN a plans CSV with two data rows under raw/plans/
    data = PLANS_HEADER + b"P1,Basic,10.00\nP2,Premium,20.00\n"
    # WHEN it is validated
    verdict = validate(data, "raw/plans/2025/plans.csv")
    # THEN it is valid, with what the gate learnt about it
    assert verdict.valid and verdict.reason is None
    assert (verdict.dataset, verdict.format, verdict.compressed, verdict.rows, verdict.bytes_read) == (
        "plans", "csv", False, 2, len(data))


def test_an_unsupported_extension_is_rejected() -> None:
    message = rejected(b"plan_id\nP1\n", "raw/plans/plans.xlsx", Reason.UNSUPPORTED_EXTENSION, None)
    assert ".xlsx" in message


def test_the_dataset_argument_overrides_the_key() -> None:
    verdict = validate(PLANS_HEADER + b"P1,Basic,10\n", "raw/customers/x.csv", dataset="plans")
    assert verdict.valid and verdict.dataset == "plans"


def test_an_unknown_dataset_name_is_a_caller_error() -> None:
    with pytest.raises(KeyError):
        validate_stream(io.BytesIO(b""), "x.csv", dataset="nope")


def test_the_dataset_comes_from_the_csv_header_when_the_key_says_nothing() -> None:
    assert validate(PLANS_HEADER + b"P1,Basic,10\n", "drop/export.csv").dataset == "plans"


def test_the_dataset_comes_from_the_first_record_when_the_key_says_nothing() -> None:
    # GIVEN NDJSON under an anonymous name whose keys are camelCase aliases of activity's columns
    data = b'{"eventId":"e1","customerId":"C1","EventType":"login","event-timestamp":"2025-01-01T00:00:00Z"}\n'
    # THEN the dataset is found through the normalized names
    verdict = validate(data, "drop/export.jsonl")
    assert verdict.valid and verdict.dataset == "activity"


def test_content_that_names_no_dataset_is_rejected() -> None:
    rejected(b'{"a":1}\n', "drop/export.ndjson", Reason.UNKNOWN_DATASET, None)
    rejected(b"foo,bar\n1,2\n", "drop/export.csv", Reason.UNKNOWN_DATASET, None)


@pytest.mark.parametrize(("data", "key", "line"), [
    (EVENT + b"\n", "raw/activity/a.csv", 1),  # JSON in a .csv
    (b"[1,2]\n", "raw/plans/a.csv", 1),
    (PLANS_HEADER + b"P1,a,1\n", "raw/plans/a.ndjson", 1),  # a CSV header in an .ndjson
    (b"\n\nplan_id\n", "raw/plans/a.json", 3),
])
def test_content_that_does_not_match_the_extension_is_a_format_mismatch(data: bytes, key: str, line: int) -> None:
    rejected(data, key, Reason.FORMAT_MISMATCH, line)


def test_gzip_content_without_gz_name_and_gz_name_without_gzip_are_format_mismatches() -> None:
    rejected(gzip.compress(EVENT + b"\n"), "raw/activity/a.ndjson", Reason.FORMAT_MISMATCH, None)
    rejected(EVENT + b"\n", "raw/activity/a.ndjson.gz", Reason.FORMAT_MISMATCH, None)


@pytest.mark.parametrize(("data", "key"), [
    (b"", "raw/plans/p.csv"),
    (b"", "raw/activity/a.ndjson.gz"),
    (b"\xef\xbb\xbf", "raw/plans/p.csv"),
    (b"\n \r\n\n", "raw/activity/a.ndjson"),
    (b"\n\n", "raw/plans/p.csv"),
    (PLANS_HEADER, "raw/plans/p.csv"),
    (PLANS_HEADER + b"\n\n", "raw/plans/p.csv"),
    (gzip.compress(b"", mtime=0), "raw/plans/p.csv.gz"),
])
def test_a_file_without_data_rows_is_empty(data: bytes, key: str) -> None:
    verdict = validate(data, key)
    assert (verdict.reason, verdict.rows) == (Reason.EMPTY_FILE, 0)


# --- encoding -----------------------------------------------------------------------------------------
def test_a_bom_is_allowed_at_the_start() -> None:
    assert validate(b"\xef\xbb\xbf" + PLANS_HEADER + b"P1,a,1\n", "plans.csv").valid
    assert validate(b"\xef\xbb\xbf" + EVENT + b"\n", "logs_1.ndjson").valid


def test_a_bom_elsewhere_is_an_ordinary_character() -> None:
    # In CSV it is part of a value (valid UTF-8); in NDJSON outside a string it is not JSON.
    assert validate(PLANS_HEADER + b"P1,\xef\xbb\xbfa,1\n", "plans.csv").valid
    rejected(EVENT + b"\n\xef\xbb\xbf" + EVENT + b"\n", "logs_1.ndjson", Reason.NDJSON_INVALID_JSON, 2)


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\xc0\xaf"])
def test_invalid_utf8_is_rejected_with_its_line(bad: bytes) -> None:
    rejected(PLANS_HEADER + b"P1,a,1\nP2,b" + bad + b"c,2\nP3,c,3\n", "plans.csv", Reason.INVALID_UTF8, 3)
    rejected(PLANS_HEADER + b"P1,a,1\n\"P2\",\"b" + bad + b"\",2\n", "plans.csv", Reason.INVALID_UTF8, 3)
    rejected(EVENT + b'\n{"event_id":"' + bad + b'"}\n', "logs_1.ndjson", Reason.INVALID_UTF8, 2)
    rejected(b"plan_id," + bad + b"\nP1,2\n", "plans.csv", Reason.INVALID_UTF8, 1)


def test_invalid_utf8_at_the_very_end_without_a_line_break_is_found() -> None:
    rejected(PLANS_HEADER + b"P1,a,\xe2\x82", "plans.csv", Reason.INVALID_UTF8, 2)


def test_multibyte_characters_split_across_chunks_are_valid() -> None:
    # validate() runs 1-, 2- and 3-byte chunks, which cut every one of these sequences
    data = PLANS_HEADER + "P1,Émeka ʤ €,1\nP2,😀 naïve,2\n".encode()
    assert validate(data, "plans.csv").rows == 2


def test_the_earliest_problem_wins_between_encoding_and_structure() -> None:
    rejected(PLANS_HEADER + b"P1,a\nP2,\xff,1\n", "plans.csv", Reason.CSV_FIELD_COUNT, 2)
    rejected(PLANS_HEADER + b"P1,\xff,1\nP2,a\n", "plans.csv", Reason.INVALID_UTF8, 2)


# --- gzip -----------------------------------------------------------------------------------------------
def test_gzip_is_decompressed_and_compressed_bytes_are_counted() -> None:
    data = gzip.compress(PLANS_HEADER + b"P1,a,1\nP2,b,2\n")
    verdict = validate(data, "raw/plans/p.csv.gz")
    assert (verdict.valid, verdict.compressed, verdict.rows, verdict.bytes_read) == (True, True, 2, len(data))


def test_multi_member_gzip_is_one_file() -> None:
    # GIVEN `cat a.gz b.gz`, the second member starting mid-line
    data = gzip.compress(PLANS_HEADER + b"P1,a,1\nP2,") + gzip.compress(b"b,2\n")
    assert validate(data, "p.csv.gz").rows == 2


@pytest.mark.parametrize("cut", [5, 12, -4, -1])
def test_truncated_gzip_is_corrupt(cut: int) -> None:
    data = gzip.compress(EVENT + b"\n" + EVENT + b"\n")
    rejected(data[:cut], "logs_1.ndjson.gz", Reason.CORRUPT_GZIP, None)


def test_corrupt_gzip_and_garbage_after_the_last_member_are_corrupt() -> None:
    data = bytearray(gzip.compress(EVENT * 50 + b"\n"))
    data[20] ^= 0xFF
    rejected(bytes(data), "logs_1.ndjson.gz", Reason.CORRUPT_GZIP, None)
    rejected(gzip.compress(EVENT + b"\n") + b"trailing junk", "logs_1.ndjson.gz", Reason.CORRUPT_GZIP, None)
    rejected(gzip.compress(EVENT + b"\n") + b"\0\0\0\0", "logs_1.ndjson.gz", Reason.CORRUPT_GZIP, None)


def test_a_gzip_bomb_is_inflated_in_bounded_pieces() -> None:
    # GIVEN 64 MiB of blank lines compressed to ~64 KiB, then one record
    bomb = gzip.compress(b"\n" * (64 << 20) + EVENT + b"\n")
    pieces: list[int] = []

    def stream() -> object:
        yield bomb

    from telco360.gate._stream import content_chunks
    for chunk in content_chunks(stream(), gzipped=True, chunk_size=1 << 20):  # type: ignore[arg-type]
        pieces.append(len(chunk))
    # THEN no piece is larger than the chunk size, and all of it came out
    assert max(pieces) <= 1 << 20 and sum(pieces) == (64 << 20) + len(EVENT) + 1


# --- NDJSON --------------------------------------------------------------------------------------------
def test_ndjson_blank_lines_are_skipped_anywhere_and_crlf_is_accepted() -> None:
    data = b"\n  \n" + EVENT + b"\r\n\t\n" + EVENT + b"\r\n\n"
    verdict = validate(data, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 2


def test_ndjson_last_line_without_a_line_break_counts() -> None:
    assert validate(EVENT + b"\n" + EVENT, "logs_1.ndjson").rows == 2


@pytest.mark.parametrize("bad", [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":1,}', b"{'a':1}", b'{"a":1} x', b'{"a"'])
def test_ndjson_lines_must_be_strict_json(bad: bytes) -> None:
    message = rejected(EVENT + b"\n\n" + bad + b"\n" + EVENT + b"\n", "logs_1.ndjson", Reason.NDJSON_INVALID_JSON, 3)
    assert message == "line 3 is not valid JSON"  # names the line, never the content


@pytest.mark.parametrize("value", [b"[]", b"1", b'"x"', b"null", b"true"])
def test_ndjson_lines_must_be_objects(value: bytes) -> None:
    rejected(EVENT + b"\n" + value + b"\n", "logs_1.ndjson", Reason.NDJSON_NOT_OBJECT, 2)
    rejected(value + b"\n", "logs_1.ndjson", Reason.NDJSON_NOT_OBJECT, 1)


def test_ndjson_two_half_lines_that_join_into_json_are_still_invalid() -> None:
    rejected(EVENT + b'\n{"a":[{}\n{}]},{}\n', "logs_1.ndjson", Reason.NDJSON_INVALID_JSON, 2)


def test_a_required_column_absent_from_every_record_is_rejected() -> None:
    data = b'{"event_id":"e1","customer_id":"C1","event_type":"login"}\n' * 3
    message = rejected(data, "logs_1.ndjson", Reason.NDJSON_MISSING_REQUIRED_COLUMN, None)
    assert "event_timestamp" in message


def test_a_required_column_present_in_some_record_only_is_a_record_level_problem() -> None:
    # GIVEN each required column in at least one record, through aliases, one of them null, one bad date
    data = (b'{"eventId":"e1","customer_id":"C1"}\n'
            b'{"EVENT_TYPE":"login","eventTimestamp":"not a date","customer_id":null}\n')
    verdict = validate(data, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 2


# --- CSV -----------------------------------------------------------------------------------------------
def test_csv_quoting_commas_newlines_escaped_quotes_and_crlf() -> None:
    data = (b"plan_id,plan_name,monthly_price\r\n"
            b'P1,"Basic, the ""cheap"" one",10\r\n'
            b'"P2","two\r\nlines\nhere",20\r\n'
            b'P3,"",""\r\n'
            b'P4,,')
    verdict = validate(data, "plans.csv")
    assert verdict.valid and verdict.rows == 4


def test_a_csv_with_a_single_data_row_is_valid() -> None:
    assert validate(PLANS_HEADER + b"P1,Basic,10", "plans.csv").rows == 1


def test_a_one_column_csv_skips_blank_lines_but_counts_a_line_of_spaces() -> None:
    # GIVEN a one-column file with empty lines between and after its values, and a line of two spaces
    verdict = validate(b"plan_id\nP1\n\nP2\n  \n\n", "plans.csv")
    # THEN an empty line is no record anywhere; the spaces are a value (a record of one field)
    assert verdict.valid and verdict.rows == 3


def test_csv_header_names_are_normalized_and_aliases_resolved() -> None:
    verdict = validate(b"Customer ID,firstName\nC1,Ann\n", "raw/customers/c.csv")
    assert verdict.valid
    assert validate(b"customerId\nC1\n", "c.csv").dataset == "customers"


def test_a_blank_first_line_is_no_header() -> None:
    rejected(b"\n" + PLANS_HEADER + b"P1,a,1\n", "plans.csv", Reason.CSV_NO_HEADER, 1)


def test_a_header_naming_no_contract_column_is_no_header() -> None:
    message = rejected(b"P1,Basic,10\nP2,Premium,20\n", "raw/plans/p.csv", Reason.CSV_NO_HEADER, 1)
    assert "P1" not in message and "Basic" not in message


@pytest.mark.parametrize("header", [b"plan_id,planId,x\n", b"plan_id,Foo Bar,foo_bar\n", b"PLAN-ID,plan_id,x\n"])
def test_two_header_names_for_one_column_are_duplicates(header: bytes) -> None:
    rejected(header + b"P1,a,b\n", "plans.csv", Reason.CSV_DUPLICATE_COLUMN, 1)


def test_a_required_column_missing_from_the_header_is_rejected() -> None:
    message = rejected(b"plan_name,monthly_price\nBasic,10\n", "raw/plans/p.csv",
                       Reason.CSV_MISSING_REQUIRED_COLUMN, 1)
    assert "plan_id" in message


def test_a_record_with_another_field_count_is_rejected_at_its_first_line() -> None:
    data = PLANS_HEADER + b'P1,a,1\n"P2","multi\nline",2,extra\nP3,c,3\n'
    message = rejected(data, "plans.csv", Reason.CSV_FIELD_COUNT, 3)
    assert message == "line 3 has 4 fields, the header has 3"
    verdict = validate(data, "plans.csv")
    assert verdict.rows == 1


def test_an_interior_blank_line_is_rejected_but_trailing_ones_are_fine() -> None:
    rejected(PLANS_HEADER + b"P1,a,1\n\r\nP2,b,2\n", "plans.csv", Reason.CSV_FIELD_COUNT, 3)
    verdict = validate(PLANS_HEADER + b"P1,a,1\r\n\r\n\n\r", "plans.csv")
    assert verdict.valid and verdict.rows == 1


def test_a_line_of_spaces_is_a_one_field_record_even_at_the_end() -> None:
    # RFC 4180: spaces are part of a field, so "  " is a record with one field, never a blank line
    message = rejected(PLANS_HEADER + b"P1,a,1\n  \n", "plans.csv", Reason.CSV_FIELD_COUNT, 3)
    assert message == "line 3 has 1 field, the header has 3"


def test_an_unterminated_quote_is_reported_where_its_field_starts() -> None:
    rejected(PLANS_HEADER + b'P1,a,1\nP2,"b,2\nP3,c,3\n', "plans.csv", Reason.CSV_UNTERMINATED_QUOTE, 3)
    rejected(b'plan_id,"plan\nname\nP1,x\n', "plans.csv", Reason.CSV_UNTERMINATED_QUOTE, 1)


@pytest.mark.parametrize("row", [b'P2,b"c,2', b'P2,"b"c,2', b'P2,"b" ,2'])
def test_a_misplaced_quote_is_malformed(row: bytes) -> None:
    rejected(PLANS_HEADER + b"P1,a,1\n" + row + b"\nP3,c,3\n", "plans.csv", Reason.CSV_MALFORMED_QUOTE, 3)


def test_messages_never_contain_record_values() -> None:
    # GIVEN one failing file per CSV reason, each with a distinctive value
    secret = b"Ada Lovelace"
    cases = [PLANS_HEADER + secret + b",x\n", PLANS_HEADER + b'P1,"' + secret + b'\n',
             PLANS_HEADER + b"P1," + secret + b'",1\n', b'{"customer_id":"' + secret + b'"}\n[1]\n']
    keys = ["plans.csv", "plans.csv", "plans.csv", "customers.ndjson"]
    for data, key in zip(cases, keys, strict=True):
        verdict = validate(data, key)
        assert not verdict.valid and "Ada" not in verdict.message


def test_a_big_file_in_big_chunks_is_checked_on_every_line() -> None:
    # GIVEN 30 000 quoted and unquoted rows (several 64 KiB chunks) with one bad row near the end
    rows = [b'P%d,"name, %d",%d\n' % (i, i, i) if i % 2 else b"P%d,name,%d\n" % (i, i) for i in range(30_000)]
    rows[29_990] = b"P,short\n"
    data = PLANS_HEADER + b"".join(rows)
    for size in (1 << 16, 1 << 20):
        verdict = validate_stream(io.BytesIO(data), "plans.csv", chunk_size=size)
        assert (verdict.reason, verdict.line, verdict.rows) == (Reason.CSV_FIELD_COUNT, 29_992, 29_990)


@pytest.mark.parametrize(("data", "key"), [
    (b'{"customer_id": "C0"}\n{"customer_id": "C1", "first_name": "' + b"x" * 300 + b'"}\n', "raw/customers/c.ndjson"),
    (b"plan_id,plan_name\nP1,\"" + b"x" * 300 + b"\"\n", "raw/plans/p.csv"),
    (b"plan_id,plan_name\nP1," + b"x" * 300 + b"\n", "raw/plans/p.csv"),
])
def test_a_record_longer_than_the_limit_is_rejected_to_keep_memory_bounded(
        data: bytes, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a record limit of 64 bytes (16 MiB in production) and a record far longer than it
    from telco360.gate import _csv, _ndjson

    monkeypatch.setattr(_csv, "MAX_RECORD_BYTES", 64)
    monkeypatch.setattr(_ndjson, "MAX_RECORD_BYTES", 64)
    # WHEN it arrives in small chunks THEN it is refused with its own reason and line
    verdict = validate_stream(io.BytesIO(data), key, chunk_size=16)
    assert (verdict.valid, verdict.reason, verdict.line) == (False, Reason.RECORD_TOO_LONG, 2)


def test_a_line_just_over_the_limit_that_ends_in_the_next_chunk_is_still_too_long(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a 64-byte limit and a 70-byte line fed in 40-byte chunks (the carry alone never exceeds it)
    from telco360.gate import _ndjson

    monkeypatch.setattr(_ndjson, "MAX_RECORD_BYTES", 64)
    line = b'{"customer_id": "C1", "first_name": "' + b"x" * 30 + b'"}'
    assert 64 < len(line) < 80
    verdict = validate_stream(io.BytesIO(b'{"customer_id": "C0"}\n' + line + b"\n"), "raw/customers/c.ndjson",
                              chunk_size=40)
    # THEN it is refused at its line
    assert (verdict.reason, verdict.line) == (Reason.RECORD_TOO_LONG, 2)
