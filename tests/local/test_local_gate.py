"""The local gate routes every file under raw/ like the Lambda does (docs/spec.md §1, §3)."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from telco360 import zones
from telco360.gate.lines import LineIndex, line_index
from telco360.local.gate import GateSummary, run_gate
from telco360.storage import folder

D = "2025-01-02"
CUSTOMERS = b'{"customer_id": "C1", "first_name": "Ann"}\n{"customer_id": "C2", "first_name": "Bo"}\n'


def _put(lake: Path, key: str, content: bytes) -> Path:
    path = lake / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_valid_file_moves_byte_for_byte_to_archive_and_raw_is_left_empty(tmp_path: Path) -> None:
    # GIVEN a valid customers file in a producer's sub-folder
    _put(tmp_path, "raw/customers/2025/01/customers_20250102.ndjson", CUSTOMERS)

    # WHEN the gate runs for D
    summary = run_gate(tmp_path, D)

    # THEN it is archived unchanged under the date, and raw/ holds nothing (not even empty folders)
    archived = tmp_path / f"archive/customers/ingest_date={D}/customers_20250102.ndjson"
    assert archived.read_bytes() == CUSTOMERS
    assert [p for p in (tmp_path / "raw").rglob("*")] == []
    assert summary.accepted_by_dataset() == {"customers": 1}
    assert summary.rejected == []


def test_invalid_file_goes_to_rejected_with_its_reason_file(tmp_path: Path) -> None:
    # GIVEN an activity file whose second line is not JSON, and a file of no known dataset
    _put(tmp_path, "raw/activity_logs/logs_20250102.ndjson",
         b'{"event_id": "E1", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-02T00:00:00Z"}\n'
         b"{not json\n")
    _put(tmp_path, "raw/mystery.csv", b"a,b\n1,2\n")

    # WHEN the gate runs
    summary = run_gate(tmp_path, D)

    # THEN each is under rejected/ with a reason document naming the code and the line
    rejected = tmp_path / f"rejected/activity/ingest_date={D}/logs_20250102.ndjson"
    reason = orjson.loads(rejected.with_name(rejected.name + ".reason.json").read_bytes())
    assert rejected.exists()
    assert reason["reason"] == "ndjson_invalid_json" and reason["line"] == 2
    assert reason["source_key"] == "raw/activity_logs/logs_20250102.ndjson"
    assert reason["rejected_key"] == f"rejected/activity/ingest_date={D}/logs_20250102.ndjson"
    assert (tmp_path / f"rejected/unknown/ingest_date={D}/mystery.csv.reason.json").exists()
    assert summary.rejected_by_reason() == {"ndjson_invalid_json": 1, "unknown_dataset": 1}


def test_second_arrival_with_the_same_name_on_the_same_day_gets_its_own_name(tmp_path: Path) -> None:
    # GIVEN a file already archived for D, and a new arrival with the same name and other content
    _put(tmp_path, "raw/customers/customers.ndjson", CUSTOMERS)
    run_gate(tmp_path, D)
    second = b'{"customer_id": "C3"}\n'
    _put(tmp_path, "raw/customers/customers.ndjson", second)

    # WHEN the gate runs again
    summary = run_gate(tmp_path, D)

    # THEN both versions are kept; the later one has a suffixed name that sorts after the original,
    # and each has its own line index
    folder = tmp_path / f"archive/customers/ingest_date={D}"
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    assert len(names) == 2 and names[0] == "customers.ndjson"
    assert names[1].startswith("customers__") and names[1].endswith(".ndjson")
    assert (folder / names[1]).read_bytes() == second
    assert summary.outcomes[0].destination_key == f"archive/customers/ingest_date={D}/{names[1]}"
    assert sorted(p.name for p in (folder / zones.LINE_INDEX_FOLDER).iterdir()) == [n + ".json" for n in names]


def test_a_short_copy_keeps_the_original_in_raw_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a copy that silently writes fewer bytes than the source holds
    source = _put(tmp_path, "raw/customers/customers.ndjson", CUSTOMERS)

    def short_copy(src: Path, dst: Path) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[:10])

    monkeypatch.setattr(folder.shutil, "copyfile", short_copy)

    # WHEN the gate runs, THEN it raises, the source is intact and no partial copy is left behind
    with pytest.raises(folder.CopyNotConfirmed, match="expected"):
        run_gate(tmp_path, D)
    assert source.read_bytes() == CUSTOMERS
    assert not (tmp_path / f"archive/customers/ingest_date={D}/customers.ndjson").exists()


def test_an_empty_lake_routes_nothing(tmp_path: Path) -> None:
    assert run_gate(tmp_path, D).outcomes == []


def test_a_bad_date_is_refused_before_any_file_moves(tmp_path: Path) -> None:
    source = _put(tmp_path, "raw/customers/customers.ndjson", CUSTOMERS)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        run_gate(tmp_path, "2025/01/02")
    assert source.exists()


def test_the_summary_reads_back_from_its_json(tmp_path: Path) -> None:
    # GIVEN a gate run with an accepted and a rejected file
    _put(tmp_path, "raw/customers/customers.ndjson", CUSTOMERS)
    _put(tmp_path, "raw/plans/plans.csv", b"plan_id,plan_name\nP1\n")
    summary = run_gate(tmp_path, D)

    # WHEN its JSON form is read back / THEN it is the same summary, counts included
    document = orjson.loads(orjson.dumps(summary.to_dict()))
    again = GateSummary.from_dict(document)
    assert again == summary and again.to_dict() == document
    assert document["rejected_by_reason"] == {"csv_field_count": 1}


def _index_at(lake: Path, archived_key: str) -> LineIndex | None:
    path = lake / zones.line_index_key(archived_key)
    return LineIndex.from_json(path.read_bytes()) if path.exists() else None


def test_an_archived_uncompressed_file_gets_its_line_index_beside_it(tmp_path: Path) -> None:
    # GIVEN a plans CSV with CRLF record ends and a quoted line break, and a customers NDJSON file
    plans = b'plan_id,plan_name,monthly_price\r\nP1,"Basic\r\nplan",10\r\nP2,Max,20\r\n'
    _put(tmp_path, "raw/plans/plans.csv", plans)
    _put(tmp_path, "raw/customers/customers.ndjson", CUSTOMERS)

    # WHEN the gate runs
    run_gate(tmp_path, D)

    # THEN each archived file has archive/<dataset>/ingest_date=D/_lines/<name>.json, the index of its
    # bytes (the CSV's record that spans lines noted), and nothing else is in the partitions
    plans_key = f"archive/plans/ingest_date={D}/plans.csv"
    customers_key = f"archive/customers/ingest_date={D}/customers.ndjson"
    assert zones.line_index_key(plans_key) == f"archive/plans/ingest_date={D}/_lines/plans.csv.json"
    assert _index_at(tmp_path, plans_key) == line_index(plans, multiline_records=True)
    assert _index_at(tmp_path, customers_key) == line_index(CUSTOMERS, multiline_records=False)
    archived = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "archive").rglob("*") if p.is_file())
    assert archived == sorted([plans_key, zones.line_index_key(plans_key),
                               customers_key, zones.line_index_key(customers_key)])


def test_a_gzipped_or_rejected_file_gets_no_line_index(tmp_path: Path) -> None:
    # GIVEN a valid gzipped file (Job A reads it whole) and an invalid one
    _put(tmp_path, "raw/customers/customers.ndjson.gz", gzip.compress(CUSTOMERS, mtime=0))
    _put(tmp_path, "raw/plans/plans.csv", b"plan_id,plan_name\nP1\n")

    # WHEN the gate runs
    summary = run_gate(tmp_path, D)

    # THEN the gzipped file is archived alone, the rejected one has only its reason file: no _lines/
    assert [o.verdict.valid for o in summary.outcomes] == [True, False]
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"archive/customers/ingest_date={D}/customers.ndjson.gz",
                     f"rejected/plans/ingest_date={D}/plans.csv",
                     f"rejected/plans/ingest_date={D}/plans.csv.reason.json"]
    assert not any(p.name == zones.LINE_INDEX_FOLDER for p in tmp_path.rglob("*"))
