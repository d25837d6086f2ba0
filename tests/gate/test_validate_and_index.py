"""``validate_and_index``: the gate's one pass also indexes where an accepted uncompressed file's lines
start (telco360.gate.lines), for Job A, and tells whether a CSV record spans lines (a quoted value
holds a line break). ``validate_indexed`` (helpers) runs it over every chunk size from one byte to
1 MiB with an index point every few bytes, and checks the index against ``line_index`` of the bytes."""

from __future__ import annotations

import gzip
import io
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from telco360.gate import Indexed, validate_and_index
from telco360.gate.lines import INDEX_STEP, line_index
from telco360.gate.verdict import Reason

from .helpers import validate_indexed

BOM = b"\xef\xbb\xbf"
PLANS = b"plan_id,plan_name,monthly_price"
EVENT = b'{"event_id":"e1","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-01T00:00:00Z"}'
ENDS = {"LF": b"\n", "CRLF": b"\r\n", "CR": b"\r"}
EXAMPLES = int(os.environ.get("TELCO360_GATE_EXAMPLES", "300"))


@pytest.mark.parametrize("bom", [b"", BOM], ids=["no BOM", "BOM"])
@pytest.mark.parametrize("end", ENDS.values(), ids=ENDS.keys())
def test_a_csv_file_is_indexed_with_its_bom_and_every_line(end: bytes, bom: bytes) -> None:
    # GIVEN a plans file whose lines all end the same way, maybe after a BOM
    data = bom + end.join([PLANS, b"P1,Basic,10", b'P2,"Pre, mium",20', b"P3,Max,30"]) + end
    # WHEN it is validated and indexed (every chunk size, a point every 7 bytes)
    result = validate_indexed(data, "raw/plans/plans.csv", index_step=7)
    # THEN the index is that of the file's own bytes (the BOM counted in the offsets): 4 lines, no
    # record spanning lines
    assert result.verdict.valid and result.verdict.rows == 3
    assert result.lines == line_index(data, 7, multiline_records=False)
    assert result.lines.size == len(data) and result.lines.lines == 4
    assert len(result.lines.lines_before) == (len(data) - 1) // 7


@pytest.mark.parametrize("inside", ENDS.values(), ids=ENDS.keys())
@pytest.mark.parametrize("end", ENDS.values(), ids=ENDS.keys())
def test_a_csv_record_with_a_quoted_line_break_spans_lines(end: bytes, inside: bytes) -> None:
    # GIVEN a plans file with a line break (LF, CRLF or a lone CR) inside a quoted value
    data = end.join([PLANS, b"P1,Basic,10", b'P2,"two' + inside + b'lines",20', b"P3,Max,30"]) + end
    # WHEN it is validated and indexed
    result = validate_indexed(data, "raw/plans/plans.csv", index_step=5)
    # THEN the index says so, and still counts physical lines: 5 (the quoted break starts one)
    assert result.verdict.valid and result.verdict.rows == 3
    assert result.lines is not None and result.lines.multiline_records
    assert result.lines == line_index(data, 5, multiline_records=True) and result.lines.lines == 5


@pytest.mark.parametrize("last", [b'P9,"a\nb",9', b'P9,"a\r\nb",9\r\n', b'P9,x,"a\rb"'], ids=["LF", "CRLF", "CR"])
def test_a_quoted_line_break_in_the_last_record_counts_too(last: bytes) -> None:
    # GIVEN a file whose only quoted line break is in its last record (with or without a record end)
    data = PLANS + b"\nP1,Basic,10\n" + last
    # THEN that record spans lines
    result = validate_indexed(data, "plans.csv")
    assert result.lines is not None and result.lines.multiline_records


def test_quotes_and_commas_without_a_line_break_are_one_line_records() -> None:
    # GIVEN quoted values with commas and escaped quotes, records ending in CRLF, and blank lines at the end
    data = PLANS + b'\r\nP1,"O""Neil, Ann",10\r\n"P2","b",""\r\n\r\n\r\n'
    result = validate_indexed(data, "plans.csv", index_step=3)
    # THEN no record spans lines, and the blank lines are lines of the index
    assert result.lines is not None and not result.lines.multiline_records
    assert result.lines.lines == 5


def test_a_quoted_line_break_in_a_one_column_file_spans_lines() -> None:
    # GIVEN a one-column file (the exact parser's path) with blank lines and a quoted line break
    data = b'plan_id\nP1\n\n"P\r\n2"\nP3\n'
    result = validate_indexed(data, "plans.csv", index_step=2)
    assert result.verdict.rows == 3
    assert result.lines is not None and result.lines.multiline_records and result.lines.lines == 6


@pytest.mark.parametrize("end", ENDS.values(), ids=ENDS.keys())
@pytest.mark.parametrize("bom", [b"", BOM], ids=["no BOM", "BOM"])
def test_an_ndjson_file_is_indexed_and_never_multiline(bom: bytes, end: bytes) -> None:
    # GIVEN events with blank lines, maybe a BOM, every line ending the same way, the last without an end
    data = bom + end.join([EVENT, b"", EVENT, b" \t", EVENT])
    # WHEN it is validated and indexed
    result = validate_indexed(data, "raw/activity_logs/logs_1.ndjson", index_step=11)
    # THEN its index counts every physical line, blank ones included; NDJSON records never span lines
    assert result.verdict.valid and result.verdict.rows == 3
    assert result.lines == line_index(data, 11, multiline_records=False) and result.lines.lines == 5


@pytest.mark.parametrize(("data", "key"), [
    (PLANS + b'\nP1,"a\nb",1\n', "plans.csv.gz"),
    (EVENT + b"\n" + EVENT + b"\n", "logs_1.ndjson.gz"),
], ids=["csv", "ndjson"])
def test_a_gzipped_file_has_no_index(data: bytes, key: str) -> None:
    # GIVEN a valid gzipped file (Job A reads it as one split from offset 0)
    result = validate_indexed(gzip.compress(data, mtime=0), key)
    # THEN it is accepted without an index
    assert result.verdict.valid and result.verdict.compressed and result.lines is None


@pytest.mark.parametrize(("data", "key", "reason"), [
    (PLANS + b"\nP1,Basic\n", "plans.csv", Reason.CSV_FIELD_COUNT),
    (PLANS + b'\nP1,"a\nb",1\nP2,"never closed\n', "plans.csv", Reason.CSV_UNTERMINATED_QUOTE),
    (EVENT + b"\n{not json\n", "logs_1.ndjson", Reason.NDJSON_INVALID_JSON),
    (b"", "logs_1.ndjson", Reason.EMPTY_FILE),
    (PLANS + b"\n", "plans.csv", Reason.EMPTY_FILE),
    (EVENT + b"\n", "logs_1.xlsx", Reason.UNSUPPORTED_EXTENSION),
    (gzip.compress(EVENT, mtime=0), "logs_1.ndjson", Reason.FORMAT_MISMATCH),
], ids=lambda v: v.value if isinstance(v, Reason) else None)
def test_a_rejected_file_has_no_index(data: bytes, key: str, reason: Reason) -> None:
    result = validate_indexed(data, key)
    assert (result.verdict.valid, result.verdict.reason, result.lines) == (False, reason, None)


def test_the_default_step_and_chunk_size_index_a_file_of_several_mib() -> None:
    # GIVEN a CSV of about 2.5 MiB read in the default 1 MiB chunks from a plain file object
    rows = b"".join(b"P%d,plan %d,%d.00\r\n" % (i, i, i % 90) for i in range(120_000))
    data = PLANS + b"\r\n" + rows
    # WHEN it is indexed with the defaults / THEN a point every MiB, as line_index gives
    result = validate_and_index(io.BytesIO(data), "plans.csv")
    assert isinstance(result, Indexed) and result.lines is not None
    assert result.lines == line_index(data, INDEX_STEP) and len(result.lines.lines_before) == 2


# --- the property ------------------------------------------------------------------------------------
_VALUE = st.text(alphabet=st.sampled_from(["a", "é", " ", ",", '"', "\r", "\n", "€"]), max_size=6)
_END = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def valid_csv_files(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A valid plans file: any record ends, values quoted when they must be (and sometimes when they
    need not), a BOM, blank lines at the end, sometimes no final record end. Returns the file and
    whether a record spans lines (a quoted value holds CR or LF)."""
    columns = draw(st.integers(1, 3))
    parts = [",".join(["plan_id", "plan_name", "monthly_price"][:columns]), draw(_END)]
    spans = False
    for _ in range(draw(st.integers(1, 6))):
        values = [draw(_VALUE) for _ in range(columns)]
        quoted = [draw(st.booleans()) or any(c in v for c in ',"\r\n') or (columns == 1 and not v) for v in values]
        spans |= any("\r" in v or "\n" in v for v in values)
        parts += [",".join('"' + v.replace('"', '""') + '"' if q else v for v, q in zip(values, quoted, strict=True)),
                  draw(_END)]
    if draw(st.booleans()):
        parts.pop()  # no record end after the last record
    else:
        parts += draw(st.lists(_END, max_size=2))  # blank lines at the end are no records
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + "".join(parts)).encode("utf-8"), spans


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(valid_csv_files(), st.integers(1, 12))
@example((b'plan_id,plan_name\r"a\r\n",b\r\n', True), 4)
@example((b'plan_id\n"\r"\r\n', True), 1)
@example((b'plan_id,plan_name\na,"b"\r\nc,d', False), 2)
def test_the_index_of_any_valid_csv_is_that_of_its_bytes(file: tuple[bytes, bool], step: int) -> None:
    # GIVEN a generated valid CSV file
    data, spans = file
    # WHEN the gate validates and indexes it (every chunk size)
    result = validate_indexed(data, "plans.csv", index_step=step)
    # THEN it is valid, a record spans lines exactly when a quoted value holds a line break, and the
    # index is that of its bytes
    assert result.verdict.valid, result.verdict
    assert result.lines == line_index(data, step, multiline_records=spans)
