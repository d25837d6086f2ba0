"""Where a record ends (docs/spec.md §2): LF, CRLF or a lone CR outside quotes; inside quotes any of them
is part of the value. The gate's ``rows`` is the number of records Job A sees (docs/gate.md, "Records
and lines"), so these tests pin the rules down, then check them against an independent reader:
Python's ``csv`` module over universal newlines, which splits physical lines exactly as Hadoop's line
reader does (LF, CRLF, lone CR)."""

from __future__ import annotations

import csv
import gzip
import io
import os

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from telco360.gate.verdict import Reason

from .helpers import validate

BOM = b"\xef\xbb\xbf"
PLANS = b"plan_id,plan_name,monthly_price"
EVENT = b'{"event_id":"e1","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-01T00:00:00Z"}'
# CI runs a fixed set of examples (derandomized: the same on every run); set TELCO360_GATE_EXAMPLES
# (e.g. 20000) to search longer by hand.
EXAMPLES = int(os.environ.get("TELCO360_GATE_EXAMPLES", "300"))


def rejected(data: bytes, key: str, reason: Reason, line: int | None) -> None:
    verdict = validate(data, key)
    assert (verdict.valid, verdict.reason, verdict.line) == (False, reason, line), verdict


# --- CSV -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_record_end_ends_a_csv_record(end: bytes) -> None:
    # GIVEN a plans file whose lines all end with LF, CRLF or a lone CR
    data = end.join([PLANS, b"P1,a,1", b"P2,b,2", b"P3,c,3"]) + end
    # WHEN it is validated / THEN it has three records
    verdict = validate(data, "plans.csv")
    assert verdict.valid and verdict.rows == 3


def test_mixed_record_ends_in_one_csv_file() -> None:
    data = PLANS + b"\r\nP1,a,1\rP2,b,2\nP3,c,3\r\nP4,d,4\rP5,e,5"
    verdict = validate(data, "plans.csv")
    assert verdict.valid and verdict.rows == 5


def test_a_lone_cr_in_the_header_ends_the_header() -> None:
    # GIVEN the header of issue 10: "Event Type\r" splits it in two, as Job A's reader does
    data = b"event_id,customer_id,Event Type\r,event_timestamp\nE1,C1,login,2025-01-01T00:00:00Z\n"
    # THEN the header has no event_timestamp, and it is said so (not accepted as one header)
    rejected(data, "raw/activity/a.csv", Reason.CSV_MISSING_REQUIRED_COLUMN, 1)


def test_a_lone_cr_in_an_unquoted_value_ends_the_record() -> None:
    # GIVEN "a\rb" unquoted: the record is "P1,a" then "b,1" on the next line
    rejected(PLANS + b"\nP1,a\rb,1\n", "plans.csv", Reason.CSV_FIELD_COUNT, 2)
    # and a closing quote followed by a lone CR ends its record too
    rejected(PLANS + b'\nP1,"a"\r,1\n', "plans.csv", Reason.CSV_FIELD_COUNT, 2)


@pytest.mark.parametrize("inside", [b"\r", b"\n", b"\r\n", b"\r\r", b"\n\r", b'\r""\n'],
                         ids=["CR", "LF", "CRLF", "CR CR", "LF CR", "CR quote LF"])
def test_line_breaks_inside_quotes_are_values_and_still_count_as_lines(inside: bytes) -> None:
    # GIVEN a quoted value holding line breaks, then a record with the wrong field count
    breaks = inside.count(b"\n") + inside.count(b"\r") - inside.count(b"\r\n")
    data = PLANS + b'\r\nP1,"a' + inside + b'b",1\r\nP2,b\r\n'
    # THEN the quoted record is one record, and the bad one is reported on its physical line
    rejected(data, "plans.csv", Reason.CSV_FIELD_COUNT, 3 + breaks)
    assert validate(data[: data.rindex(b"P2")], "plans.csv").rows == 1


def test_line_numbers_after_lone_crs_are_physical_lines() -> None:
    rejected(PLANS + b"\rP1,a,1\r\nP2,b,2\rP3,\xff,3\r", "plans.csv", Reason.INVALID_UTF8, 4)
    rejected(PLANS + b'\rP1,a,1\rP2,"b\r\r",2\rP3,c\r', "plans.csv", Reason.CSV_FIELD_COUNT, 6)


def test_csv_blank_lines_are_no_records_and_a_blank_line_before_a_record_is_rejected() -> None:
    # Trailing empty lines (any record end) are ignored
    verdict = validate(PLANS + b"\nP1,a,1\n\r\n\r\n", "plans.csv")
    assert verdict.valid and verdict.rows == 1
    # An empty line followed by a record: a record of one field where the header has three
    rejected(PLANS + b"\nP1,a,1\r\rP2,b,2\n", "plans.csv", Reason.CSV_FIELD_COUNT, 3)


def test_csv_last_record_without_a_record_end() -> None:
    for end in (b"\n", b"\r\n", b"\r"):
        verdict = validate(PLANS + end + b"P1,a,1" + end + b'P2,"b' + end + b'",2', "plans.csv")
        assert verdict.valid and verdict.rows == 2


def test_a_bom_is_not_part_of_the_header_and_crlf_after_it_works() -> None:
    verdict = validate(BOM + PLANS + b"\r\nP1,a,1\r\n", "plans.csv")
    assert verdict.valid and verdict.rows == 1
    # A second BOM is content: a header name "\ufeffplan_id" normalizes like plan_id (names are trimmed
    # of it), so this is the same file
    assert validate(BOM + BOM + PLANS + b"\rP1,a,1", "plans.csv").rows == 1


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_gzip_record_ends_are_the_same(end: bytes) -> None:
    # GIVEN a gzip in two members, the second starting between the CR and the LF of a CRLF
    body = end.join([PLANS, b"P1,a,1", b'P2,"b' + end + b'c",2', b"P3,c,3"]) + end
    cut = body.index(b"P3") - len(end) + 1
    data = gzip.compress(body[:cut], mtime=0) + gzip.compress(body[cut:], mtime=0)
    verdict = validate(data, "plans.csv.gz")
    assert verdict.valid and verdict.rows == 3


def test_a_header_ending_in_cr_at_the_end_of_the_first_chunk() -> None:
    # The CR may be the first half of a CRLF: the gate must not read the LF as an empty line
    verdict = validate(PLANS + b"\r\nP1,a,1\r\n", "plans.csv")  # validate() cuts at every byte
    assert verdict.valid and verdict.rows == 1


# --- NDJSON ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_end_ends_an_ndjson_line(end: bytes) -> None:
    data = end.join([EVENT, EVENT, EVENT]) + end
    verdict = validate(data, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 3


def test_a_lone_cr_inside_a_json_object_splits_it_into_two_invalid_lines() -> None:
    # CR is JSON whitespace, but it ends the line first: '{"a":' is not JSON
    rejected(EVENT + b'\n{"event_id":\r"e2"}\n', "logs_1.ndjson", Reason.NDJSON_INVALID_JSON, 2)
    rejected(EVENT + b"\r" + EVENT + b"\r\r[1]\r", "logs_1.ndjson", Reason.NDJSON_NOT_OBJECT, 4)


def test_ndjson_whitespace_lines_are_blank_and_skipped_anywhere() -> None:
    data = b"\r\n \t\r" + EVENT + b"\r\x0b\x0c\n\n" + EVENT + b"\r \r"
    verdict = validate(data, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 2


def test_ndjson_crlf_file_with_blank_lines_and_a_bad_line() -> None:
    # GIVEN CRLF everywhere (the lines keep their CR until JSON reads it as whitespace)
    data = EVENT + b"\r\n \t\r\n\r\n" + EVENT + b"\r\n"
    verdict = validate(data, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 2
    rejected(data + b"[1]\r\n", "logs_1.ndjson", Reason.NDJSON_NOT_OBJECT, 5)


def test_ndjson_last_line_without_a_line_end_and_a_bom() -> None:
    verdict = validate(BOM + EVENT + b"\r" + EVENT, "logs_1.ndjson")
    assert verdict.valid and verdict.rows == 2


def test_ndjson_gzip_with_lone_crs() -> None:
    data = gzip.compress(EVENT + b"\r" + EVENT + b"\r", mtime=0)
    assert validate(data, "logs_1.ndjson.gz").rows == 2


# --- the rules against an independent reader ---------------------------------------------------------
def reference_csv_records(data: bytes) -> list[tuple[int, list[str]]]:
    """``(line, fields)`` of every record, blank lines as ``[]``: Python's csv reader over universal
    newlines (LF, CRLF, lone CR: the physical lines Hadoop's reader splits)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"), newline=""), strict=True)
    out: list[tuple[int, list[str]]] = []
    first = 1
    for fields in reader:
        out.append((first, fields))
        first = reader.line_num + 1
    return out


def reference_ndjson_rows(data: bytes) -> int:
    lines = io.StringIO(data.decode("utf-8").removeprefix("\ufeff"), newline="")
    return sum(1 for line in lines if line.strip(" \t\x0b\x0c\r\n"))


_VALUE = st.text(alphabet=st.sampled_from(["a", "é", " ", ",", '"', "\r", "\n", "€"]), max_size=6)
_END = st.sampled_from(["\n", "\r\n", "\r"])


def _field(value: str, force_quotes: bool) -> str:
    if force_quotes or any(c in value for c in ',"\r\n') or value.startswith(" "):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A plans file: any record ends, quoted values with line breaks, blank lines, a BOM, sometimes a
    record with a field too many or too few, sometimes no final record end."""
    columns = draw(st.integers(1, 3))
    header = ["plan_id", "plan_name", "monthly_price"][:columns]
    parts = [",".join(header), draw(_END)]
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 9)) == 0:
            parts.append(draw(_END))  # an empty line
            continue
        width = columns + draw(st.sampled_from([0, 0, 0, 0, 0, 0, 1, -1]))
        values = [_field(draw(_VALUE), draw(st.booleans())) for _ in range(max(width, 1))]
        parts += [",".join(values), draw(_END)]
    if draw(st.booleans()) and len(parts) > 2:
        parts.pop()  # no record end after the last record
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + "".join(parts)).encode("utf-8")


def _expected_csv(data: bytes) -> tuple[bool, int, int | None]:
    """(valid, rows, line of the first problem) by the rules of docs/gate.md, from the reference."""
    records = reference_csv_records(data)
    columns = len(records[0][1])
    rows = 0
    blank: int | None = None
    for line, fields in records[1:]:
        if not fields:
            blank = line if blank is None else blank
            continue
        if blank is not None and columns != 1:
            return False, rows, blank
        blank = None
        if len(fields) != columns:
            return False, rows, line
        rows += 1
    return rows > 0, rows, None


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.booleans())
@example(b"plan_id\r\n\r\n\rP1\r", False)
@example(b'plan_id,plan_name\r"P1","a\r\r\n"\r"P2",b', True)
@example(b'plan_id,plan_name\n,\n,\r""\n', False)  # a lone CR, a quoted field, an LF: no CRLF
@example(b"plan_id,plan_name\na,b\rc\n", False)
def test_csv_records_match_the_reference_reader(data: bytes, gzipped: bool) -> None:
    # GIVEN a generated plans file, maybe gzipped
    # WHEN the gate validates it (cut at every byte by validate())
    verdict = validate(gzip.compress(data, mtime=0) if gzipped else data, "plans.csv" + (".gz" if gzipped else ""))
    # THEN it is valid exactly when the reference finds only well-formed records, with as many rows
    valid, rows, line = _expected_csv(data)
    if valid:
        assert (verdict.valid, verdict.rows) == (True, rows), verdict
    elif rows == 0 and line is None:
        assert verdict.reason is Reason.EMPTY_FILE, verdict
    else:
        assert (verdict.valid, verdict.reason, verdict.line) == (False, Reason.CSV_FIELD_COUNT, line), verdict


_LINE = st.one_of(
    st.just(EVENT.decode()),
    st.sampled_from(["", " ", "\t", " \x0c ", "\x0b"]),
    st.builds(lambda v: orjson.dumps({"event_id": v, "customer_id": "C1", "event_type": "x",
                                      "event_timestamp": "t"}).decode(), st.text(max_size=4)),
)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(st.lists(st.tuples(_LINE, _END), min_size=1, max_size=8), st.booleans(), st.booleans())
def test_ndjson_rows_match_the_reference_reader(lines: list[tuple[str, str]], final_end: bool, bom: bool) -> None:
    text = "".join(line + end for line, end in lines)
    if not final_end:
        text = text[: -len(lines[-1][1])]
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    verdict = validate(data, "logs_1.ndjson")
    rows = reference_ndjson_rows(data)
    if rows:
        assert (verdict.valid, verdict.rows) == (True, rows), verdict
    else:
        assert verdict.reason is Reason.EMPTY_FILE
