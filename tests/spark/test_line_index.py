"""Job A numbers lines from the gate's line index exactly as it does by counting: real Spark splits."""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telco360 import zones
from telco360.gate import validate_and_index
from telco360.gate.lines import line_index
from telco360.spark.clean import lake_uri, run_clean
from telco360.spark.lakefs import LakeFile, LakeFS
from telco360.spark.read_raw import LineIndexes, line_indexes, numbered_lines, reading_session

D = "2025-01-05"
_BREAK = re.compile(r"\r\n|\r|\n")


def expected_lines(data: bytes) -> list[str]:
    """Hadoop's physical lines of a file: LF, CRLF or a lone CR end one, a final break ends the last
    line, and the reader skips a BOM (a file of a BOM alone has no line)."""
    text = data.decode("utf-8").removeprefix("\ufeff")
    if not text:
        return []
    lines = _BREAK.split(text)
    if text.endswith(("\n", "\r")):
        lines.pop()  # the empty piece after the last break
    return lines


def numbered(spark, folder: Path, files: dict[str, bytes], indexes: LineIndexes | None) -> dict[str, list[str]]:
    """Every file's lines in line order as Job A numbers them, checking the numbers run 1..n."""
    lake_files = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        lake_files.append(LakeFile(lake_uri(str(path)), name, path.stat().st_size))
    session = spark if indexes is None else reading_session(spark, indexes)
    got: dict[str, list[tuple[int, str]]] = {name: [] for name in files}
    for row in numbered_lines(session, lake_files, csv_quotes=False, indexes=indexes).frame.collect():
        got[row["_source_file"]].append((row["_line"], row["_text"]))
    out = {}
    for name, lines in got.items():
        lines.sort()
        assert [n for n, _ in lines] == list(range(1, len(lines) + 1)), name
        out[name] = [text for _, text in lines]
    return out


LINE = st.text(st.sampled_from("ab{}é"), max_size=6)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])
FILE = st.builds(lambda bom, lines, last: ("\ufeff" if bom else "") + "".join(t + b for t, b in lines) + last,
                 st.booleans(), st.lists(st.tuples(LINE, BREAK), max_size=12), LINE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(FILE, min_size=1, max_size=3), step=st.integers(1, 6), steps_per_split=st.integers(1, 3),
       gzipped=st.booleans())
def test_lines_numbered_from_the_index_are_hadoops_lines_in_splits_of_any_size(spark, tmp_path_factory, texts,
                                                                               step, steps_per_split, gzipped):
    # GIVEN files with every kind of line break, blank lines and BOMs, each with the index of its bytes
    # (and, maybe, a gzipped one, which has none and is read whole), read in splits of a few bytes
    folder = tmp_path_factory.mktemp("lines")
    files = {f"f{i}.ndjson": t.encode("utf-8") for i, t in enumerate(texts) if t}
    if gzipped:
        files["g.ndjson.gz"] = texts[0].encode("utf-8") or b"x"
    if not files:
        return
    indexes = LineIndexes(step * steps_per_split,
                          {n: line_index(d, step) for n, d in files.items() if not n.endswith(".gz")})
    # WHEN Job A numbers their lines from the indexes
    got = numbered(spark, folder, files, indexes)
    # THEN every line has its number, as Hadoop's reader splits the file and Python reads it
    assert got == {name: expected_lines(data) for name, data in files.items()}


def test_the_counting_pass_numbers_the_same_lines(spark, tmp_path):
    # GIVEN the same kind of files, without indexes
    files = {"a.ndjson": "\ufeffx\r\n\r\ny\rz\n".encode(), "b.ndjson": b"\n\n", "c.ndjson.gz": b"p\r\nq"}
    # WHEN their lines are counted instead  THEN they are the same lines
    assert numbered(spark, tmp_path, files, None) == {n: expected_lines(d) for n, d in files.items()}


# --- which indexes Job A trusts ----------------------------------------------------------------------
def archive(lake: Path, dataset: str, name: str, data: bytes, *, step: int = 64) -> Path:
    """Archive a file as the gate does, its line index beside it."""
    key = zones.archive_key(dataset, D, name)
    path = lake / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    indexed = validate_and_index(io.BytesIO(data), key, index_step=step)
    assert indexed.verdict.valid, indexed.verdict
    if indexed.lines is not None:
        index_path = lake / zones.line_index_key(key)
        index_path.parent.mkdir(parents=True, exist_ok=True)
        index_path.write_bytes(indexed.lines.to_json())
    return path


def activity(records: int) -> bytes:
    """NDJSON events, lines ending in CRLF or followed by a blank line."""
    return b"".join(
        b'{"event_id": "E%d", "customer_id": "C%d", "event_type": "login", "event_timestamp": "2025-01-05T0%d:00:00Z"}'
        b"%s" % (i, i, i % 10, b"\r\n" if i % 3 else b"\n\n") for i in range(records))


ACTIVITY = activity(40)


def indexes_of(spark, lake: Path, dataset: str) -> LineIndexes | None:
    fs = LakeFS(spark)
    folder = zones.archive_path(lake_uri(str(lake)), dataset, D)
    return line_indexes(fs, folder, fs.list_files(folder), cores=2)


def test_job_a_reads_the_gates_indexes_in_splits_of_their_step(spark, tmp_path):
    # GIVEN two activity files the gate archived with their indexes (a 64-byte step)
    archive(tmp_path, "activity", "a.ndjson", ACTIVITY)
    archive(tmp_path, "activity", "b.ndjson", activity(7))
    # WHEN Job A looks for them
    indexes = indexes_of(spark, tmp_path, "activity")
    # THEN it has both, and reads the day's bytes over two cores in splits of a multiple of 64 bytes
    assert indexes is not None and set(indexes.by_file) == {"a.ndjson", "b.ndjson"}
    total = len(ACTIVITY) + len(activity(7))
    assert indexes.split_bytes % 64 == 0 and total / 2 <= indexes.split_bytes < total / 2 + 64


@pytest.mark.parametrize("spoil", ["missing", "older", "other size", "not an index"])
def test_job_a_counts_the_lines_when_an_index_is_not_the_files_own(spark, tmp_path, spoil):
    # GIVEN a day whose second file's index is missing, older than the file, of another size, or garbage
    archive(tmp_path, "activity", "a.ndjson", ACTIVITY)
    path = archive(tmp_path, "activity", "b.ndjson", ACTIVITY)
    index = tmp_path / zones.line_index_key(zones.archive_key("activity", D, "b.ndjson"))
    match spoil:
        case "missing":
            index.unlink()
        case "older":
            stamp = path.stat().st_mtime
            os.utime(index, (stamp - 10, stamp - 10))
        case "other size":
            path.write_bytes(ACTIVITY + b"{}\n")
            os.utime(index, (path.stat().st_mtime + 10, path.stat().st_mtime + 10))
        case "not an index":
            index.write_bytes(b"[1, 2")
    # WHEN Job A looks for the indexes  THEN it uses none of them (it counts)
    assert indexes_of(spark, tmp_path, "activity") is None


def test_a_day_of_gzipped_files_needs_no_index(spark, tmp_path):
    # GIVEN a day of gzipped files only (each is one split from offset 0)
    for name in ("a.ndjson.gz", "b.ndjson.gz"):
        path = tmp_path / zones.archive_key("activity", D, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(ACTIVITY))
    # WHEN Job A looks for indexes  THEN it needs none to number their lines
    indexes = indexes_of(spark, tmp_path, "activity")
    assert indexes is not None and not indexes.by_file


# --- the same outputs either way ----------------------------------------------------------------------
CUSTOMERS_CSV = (
    "\ufeffcustomer_id,first_name,last_name,status,date_of_birth\r\n"
    + "".join(f'C{i},"Ada, {i}",Lovelace,active,1990-05-0{1 + i % 9}\r\n' for i in range(30))
    + 'C99,"two\nlines",X,active,1991-01-01\r\n'  # a quoted line break: the file takes the slow path
    + "".join(f"D{i},Bob,,closed,1990-13-0{1 + i % 9}\r\n" for i in range(20))  # no such status or month
)


def outputs(spark, lake: Path) -> dict[str, list[dict]]:
    run_clean(spark, str(lake), D, datasets=("customers", "activity"))
    out = {}
    for zone in (zones.CLEAN, zones.QUARANTINE):
        for dataset in ("customers", "activity"):
            folder = lake / zones.partition(zone, dataset, D)
            out[f"{zone}/{dataset}"] = [r.asDict(recursive=True) for r in
                                        spark.read.parquet(str(folder)).orderBy("_source_file", "_line").collect()]
    return out


def test_job_a_writes_the_same_rows_from_the_indexes_as_by_counting(spark, tmp_path):
    # GIVEN a day the gate archived with its indexes: a CSV with a record over two lines and invalid
    # records, NDJSON files with CRLF and blank lines, and a gzipped file
    indexed = tmp_path / "indexed"
    archive(indexed, "customers", "customers.csv", CUSTOMERS_CSV.encode())
    archive(indexed, "activity", "a.ndjson", ACTIVITY)
    archive(indexed, "activity", "b.ndjson", activity(20) + b'{"event_id": "E1", "x": 1}\n')
    archive(indexed, "activity", "c.ndjson.gz", gzip.compress(activity(5)))
    # and files that are not plain: a backslash in NDJSON (a string that starts with "{" too), a tab in CSV
    archive(indexed, "activity", "d.ndjson", activity(3) + (
        b'{"event_id": "E9", "customer_id": "C\\u00e9", "event_type": "login", "event_timestamp": '
        b'"2025-01-05T01:00:00Z", "payload": "{not an object}"}\n'
        b'{"event_id": "E10", "customer_id": "C10", "event_type": "login", "event_timestamp": '
        b'"2025-01-05T01:00:00Z", "payload": {"a": 1}}\n'
        b'{"event_id": "E11", "customer_id": "C11", "event_type": "login", "event_timestamp": '
        b'"2025-01-05T01:00:00Z", "payload": "{\\"k\\": 1}"}\n'))
    archive(indexed, "customers", "more.csv", b"customer_id,first_name,status\nT1,\tTab ,active\nT2, Space ,active\n")
    assert indexes_of(spark, indexed, "customers") and indexes_of(spark, indexed, "activity")
    # and the same day without them
    counted = tmp_path / "counted"
    shutil.copytree(indexed, counted)
    for folder in counted.rglob(zones.LINE_INDEX_FOLDER):
        shutil.rmtree(folder)
    assert indexes_of(spark, counted, "activity") is None
    # WHEN Job A runs on both
    from_indexes, by_counting = outputs(spark, indexed), outputs(spark, counted)
    # THEN the clean and quarantine rows are the same, lines included
    assert from_indexes == by_counting
    assert any(r["_line"] > 40 for r in from_indexes["clean/activity"])
    first_file = [r["customer_id"] for r in from_indexes["clean/customers"] if r["_source_file"] == "customers.csv"]
    assert first_file[-1] == "C99"
    assert len(from_indexes["quarantine/customers"]) == 20
    assert [r["event_id"] for r in from_indexes["quarantine/activity"]] == ["E1", "E9"]
    names = {r["customer_id"]: r["first_name"] for r in from_indexes["clean/customers"]}
    assert (names["T1"], names["T2"]) == ("Tab", "Space")
    payloads = {r["event_id"]: r["payload"] for r in from_indexes["clean/activity"]}
    assert (payloads["E10"], payloads["E11"]) == ('{"a":1}', '{"k":1}')
