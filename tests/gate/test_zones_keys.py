"""Lake keys are built and parsed in one module (telco360.zones, docs/spec.md §1)."""

from __future__ import annotations

import pytest

from telco360 import zones


@pytest.mark.parametrize("zone", [zones.ARCHIVE, zones.REJECTED, zones.CLEAN, zones.QUARANTINE])
def test_a_partition_key_parses_back_into_what_built_it(zone: str) -> None:
    key = f"{zones.partition(zone, 'plans', '2025-01-02')}/plans__20250102T060211418Z-0067.csv"
    assert zones.parse_partition_key(key) == zones.PartitionKey(zone, "plans", "2025-01-02",
                                                                "plans__20250102T060211418Z-0067.csv")
    assert zones.parse_partition_key(zones.rejected_key(None, "2025-01-02", "x.csv")).dataset == zones.UNKNOWN_DATASET


@pytest.mark.parametrize("key", [
    "raw/plans/plans.csv",
    "rejected/plans/plans.csv",
    "archive/plans/ingest_date=2025-01-02/",
    "archive/plans/ingest_date=2025-01-02/sub/plans.csv",
    "archive/plans/ingest_date=20250102/plans.csv",
    "staging/plans/snapshot_date=2025-01-02/part-0.parquet",
])
def test_anything_else_is_not_a_partition_key(key: str) -> None:
    with pytest.raises(ValueError, match="ingest_date"):
        zones.parse_partition_key(key)


@pytest.mark.parametrize(("path", "date"), [
    ("s3://bucket/clean/plans/ingest_date=2025-01-02/part-00000.parquet", "2025-01-02"),
    ("file:///tmp/lake/clean/plans/ingest_date=2025-01-02", "2025-01-02"),
    ("clean/plans/ingest_date=2025-01-02/_contract-1.0.0.json", "2025-01-02"),
    ("ingest_date=2025-01-02/x", "2025-01-02"),
    ("clean/plans/ingest_date=2025-1-2/x", None),
    ("clean/plans/my_ingest_date=2025-01-02/x", None),
    ("clean/plans/part-0.parquet", None),
])
def test_partition_date_reads_the_ingest_date_folder_of_any_path(path: str, date: str | None) -> None:
    assert zones.partition_date(path) == date


def test_partition_date_reads_other_partition_columns() -> None:
    assert zones.partition_date("staging/activity/snapshot_date=2025-01-03/p.parquet", zones.SNAPSHOT_DATE) == (
        "2025-01-03")


def test_unique_and_raw_keys() -> None:
    assert zones.unique_key("archive/c/ingest_date=2025-01-01/c.ndjson.gz", "T1") == (
        "archive/c/ingest_date=2025-01-01/c__T1.ndjson.gz")
    assert zones.raw_key("plans", "p.csv") == "raw/plans/p.csv"
    assert zones.raw_key(zones.UNKNOWN_DATASET, "p.csv") == zones.raw_key(None, "p.csv") == "raw/p.csv"


def test_the_line_index_of_an_archived_file_lives_in_its_partitions_lines_folder() -> None:
    # GIVEN archived files (a suffixed second arrival too) / THEN each index is _lines/<name>.json beside
    # it: in the same partition, under a name readers of the archive skip
    assert zones.line_index_key("archive/activity/ingest_date=2025-01-05/logs_1.ndjson") == (
        "archive/activity/ingest_date=2025-01-05/_lines/logs_1.ndjson.json")
    key = zones.unique_key(zones.archive_key("plans", "2025-01-02", "plans.csv"), "T1")
    index = zones.line_index_key(key)
    assert index == "archive/plans/ingest_date=2025-01-02/_lines/plans__T1.csv.json"
    assert zones.partition_date(index) == "2025-01-02"
    assert index.split("/")[-2] == zones.LINE_INDEX_FOLDER and zones.LINE_INDEX_FOLDER.startswith("_")
    # a lake URI keeps its root
    assert zones.line_index_key("s3://bucket/lake/archive/plans/ingest_date=2025-01-02/p.csv") == (
        "s3://bucket/lake/archive/plans/ingest_date=2025-01-02/_lines/p.csv.json")
