"""Job B (clean -> staging) on a small hand-made lake whose expected snapshots are computed by hand.

The lake (all times UTC; D1 = 2025-01-01, D2 = 2025-01-02, D3 = 2025-01-03 has no arrivals):

customers  D1 customers_a.csv: C1 line 1 (Ann-a1, P1), C1 line 2 (Ann-a2, P1), C2 line 3 (Bob, P2),
                                C3 line 4 (Cat, PX: an unknown plan), C4 line 5 (Dan, P3)
           D1 customers_b.csv: C1 line 1 (Ann-b1, P1)        -> file b beats file a's later line
           D2 customers_a.csv: C1 line 1 (Ann-d2, P2)        -> a later date beats a greater file
plans      D1 plans.csv: P1 Basic 10.00, P2 Premium 20.00, P3 Max 30.00
           D2 plans.csv: P1 Basic+ 12.50                      -> the plan's attributes change
activity   D1 logs_1.ndjson: ch1 C1 01-01 08:00 plan_changed P1->P2; y1 C1 01-01 07:30; y2 C1 01-01 09:00;
                             z1 C2 01-01 12:00
           D2 logs_2.ndjson: ch2a C1 01-02 10:00 P2->P3; ch2b C1 01-02 10:00 P3->P1 (same time: id decides);
                             x1 C1 01-01 07:00 (before every change); x2 C1 01-02 09:00 (between);
                             x3 C1 01-02 10:00 (exactly at a change); x4 C1 01-02 12:00 (after);
                             c2a C2 01-02 07:00 P1->P3; c2b C2 01-02 08:00 {old P1, no new_plan_id};
                             z2 C2 01-02 09:00; w1 C3 01-02 11:00; v1 C4 01-02 11:00; u1 C9 (unknown)
           D2 logs_2__r2.ndjson: x2 again (device "tablet") -> the greater file wins
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from telco360 import zones
from telco360.contracts import get_contract

D1, D2, D3 = "2025-01-01", "2025-01-02", "2025-01-03"
REPO = Path(__file__).resolve().parents[2]


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def change(old: str | None, new: str | None) -> str:
    payload = {k: v for k, v in ((("old_plan_id", old), ("new_plan_id", new))) if v is not None}
    return json.dumps(payload, separators=(",", ":"))


CUSTOMERS = {
    D1: [
        dict(customer_id="C1", first_name="Ann-a1", plan_id="P1", _source_file="customers_a.csv", _line=1),
        dict(customer_id="C1", first_name="Ann-a2", plan_id="P1", _source_file="customers_a.csv", _line=2),
        dict(customer_id="C2", first_name="Bob", plan_id="P2", _source_file="customers_a.csv", _line=3),
        dict(customer_id="C3", first_name="Cat", plan_id="PX", _source_file="customers_a.csv", _line=4),
        dict(customer_id="C4", first_name="Dan", plan_id="P3", _source_file="customers_a.csv", _line=5),
        dict(customer_id="C1", first_name="Ann-b1", plan_id="P1", _source_file="customers_b.csv", _line=1),
    ],
    D2: [dict(customer_id="C1", first_name="Ann-d2", plan_id="P2", _source_file="customers_a.csv", _line=1)],
}
PLANS = {
    D1: [
        dict(plan_id="P1", plan_name="Basic", plan_category="prepaid", monthly_price=Decimal("10.00"),
             _source_file="plans.csv", _line=1),
        dict(plan_id="P2", plan_name="Premium", plan_category="postpaid", monthly_price=Decimal("20.00"),
             _source_file="plans.csv", _line=2),
        dict(plan_id="P3", plan_name="Max", plan_category="postpaid", monthly_price=Decimal("30.00"),
             _source_file="plans.csv", _line=3),
    ],
    D2: [dict(plan_id="P1", plan_name="Basic+", plan_category="prepaid", monthly_price=Decimal("12.50"),
              _source_file="plans.csv", _line=1)],
}


def event(event_id: str, customer: str, when: str, file: str, line: int, payload: str | None = None,
          device: str = "phone") -> dict[str, Any]:
    return dict(event_id=event_id, customer_id=customer, event_timestamp=ts(when), device_type=device,
                event_type="plan_changed" if payload else "login", payload=payload or "{}",
                _source_file=file, _line=line)


ACTIVITY = {
    D1: [
        event("ch1", "C1", "2025-01-01T08:00:00", "logs_1.ndjson", 1, change("P1", "P2")),
        event("y1", "C1", "2025-01-01T07:30:00", "logs_1.ndjson", 2),
        event("y2", "C1", "2025-01-01T09:00:00", "logs_1.ndjson", 3),
        event("z1", "C2", "2025-01-01T12:00:00", "logs_1.ndjson", 4),
    ],
    D2: [
        event("ch2b", "C1", "2025-01-02T10:00:00", "logs_2.ndjson", 1, change("P3", "P1")),
        event("ch2a", "C1", "2025-01-02T10:00:00", "logs_2.ndjson", 2, change("P2", "P3")),
        event("x1", "C1", "2025-01-01T07:00:00", "logs_2.ndjson", 3),
        event("x2", "C1", "2025-01-02T09:00:00", "logs_2.ndjson", 4),
        event("x3", "C1", "2025-01-02T10:00:00", "logs_2.ndjson", 5),
        event("x4", "C1", "2025-01-02T12:00:00", "logs_2.ndjson", 6),
        event("c2a", "C2", "2025-01-02T07:00:00", "logs_2.ndjson", 7, change("P1", "P3")),
        event("c2b", "C2", "2025-01-02T08:00:00", "logs_2.ndjson", 8, change("P1", None)),
        event("z2", "C2", "2025-01-02T09:00:00", "logs_2.ndjson", 9),
        event("w1", "C3", "2025-01-02T11:00:00", "logs_2.ndjson", 10),
        event("v1", "C4", "2025-01-02T11:00:00", "logs_2.ndjson", 11),
        event("u1", "C9", "2025-01-02T11:00:00", "logs_2.ndjson", 12),
        event("x2", "C1", "2025-01-02T09:00:00", "logs_2__r2.ndjson", 1, device="tablet"),
    ],
}


def write_clean(spark: Any, root: str, dataset: str, day: str, rows: list[dict[str, Any]]) -> None:
    from telco360.spark.schemas import clean_schema

    schema = clean_schema(get_contract(dataset))
    full = [tuple(r.get(f.name) for f in schema.fields) for r in rows]
    spark.createDataFrame(full, schema=schema).write.parquet(zones.clean_path(root, dataset, day))


def read_rows(spark: Any, root: str, table: str, day: str) -> dict[str, dict[str, Any]]:
    key = {"plans": "plan_id", "activity": "event_id"}.get(table, "customer_id")
    rows = spark.read.parquet(zones.staging_path(root, table, day)).collect()
    return {r[key]: r.asDict() for r in rows}


def folder_state(root: str, table: str, day: str) -> dict[str, float]:
    folder = Path(zones.staging_path(root, table, day))
    return {p.name: p.stat().st_mtime for p in folder.iterdir()}


def read_manifest(root: str, day: str) -> dict[str, Any]:
    return json.loads(Path(zones.manifest_path(root, day)).read_text())


@pytest.fixture(scope="module")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """GIVEN the lake above, WHEN Job B runs for D2, then backfills D1, then runs the empty day D3,
    THEN the snapshots (read back from disk) are what the tests below check."""
    from telco360.spark.stage import run_stage

    root = str(tmp_path_factory.mktemp("lake"))
    for dataset, days in (("customers", CUSTOMERS), ("plans", PLANS), ("activity", ACTIVITY)):
        for day, rows in days.items():
            write_clean(spark, root, dataset, day, rows)
    reports = {D2: run_stage(spark, root, D2)}
    d2_before = {t: (folder_state(root, t, D2), read_rows(spark, root, t, D2)) for t in zones.STAGING_TABLES}
    reports[D1] = run_stage(spark, root, D1)
    reports[D3] = run_stage(spark, root, D3)
    manifests = {d: read_manifest(root, d) for d in (D1, D2, D3)}
    yield {"root": root, "manifests": manifests, "reports": reports, "d2_before": d2_before}


def test_customers_latest_record_breaks_ties_by_file_then_line_and_later_dates_win(spark: Any, lake: dict) -> None:
    # WHEN the snapshots of D1 and D2 are read back
    d1 = read_rows(spark, lake["root"], "customers", D1)
    d2 = read_rows(spark, lake["root"], "customers", D2)
    # THEN on D1 customers_b.csv line 1 beats customers_a.csv line 2; on D2 the D2 record wins
    assert {k: (r["first_name"], r["plan_id"]) for k, r in d1.items()} == {
        "C1": ("Ann-b1", "P1"), "C2": ("Bob", "P2"), "C3": ("Cat", "PX"), "C4": ("Dan", "P3")}
    c1_d1, c1_d2 = d1["C1"], d2["C1"]
    assert (c1_d1["_source_file"], c1_d1["_line"], c1_d1["_ingest_date"]) == ("customers_b.csv", 1, date(2025, 1, 1))
    assert (c1_d2["first_name"], c1_d2["plan_id"], c1_d2["_ingest_date"]) == ("Ann-d2", "P2", date(2025, 1, 2))
    assert d2["C2"]["first_name"] == "Bob"


def test_plans_take_the_latest_attributes_as_of_the_snapshot_date(spark: Any, lake: dict) -> None:
    d1 = read_rows(spark, lake["root"], "plans", D1)
    d2 = read_rows(spark, lake["root"], "plans", D2)
    assert (d1["P1"]["plan_name"], d1["P1"]["monthly_price"]) == ("Basic", Decimal("10.00"))
    assert (d2["P1"]["plan_name"], d2["P1"]["monthly_price"]) == ("Basic+", Decimal("12.50"))
    assert sorted(d2) == ["P1", "P2", "P3"]


def test_customer_360_joins_current_plan_and_leaves_unknown_plans_null(spark: Any, lake: dict) -> None:
    from telco360.spark.stage import staging_schema

    rows = read_rows(spark, lake["root"], "customer_360", D2)
    d1 = read_rows(spark, lake["root"], "customer_360", D1)
    assert {k: (r["plan_id"], r["plan_name"], r["monthly_price"]) for k, r in rows.items()} == {
        "C1": ("P2", "Premium", Decimal("20.00")),
        "C2": ("P2", "Premium", Decimal("20.00")),
        "C3": ("PX", None, None),
        "C4": ("P3", "Max", Decimal("30.00")),
    }
    assert (d1["C1"]["plan_name"], d1["C1"]["monthly_price"]) == ("Basic", Decimal("10.00"))
    # the lineage is the customer record's
    assert (rows["C1"]["_source_file"], rows["C1"]["_ingest_date"]) == ("customers_a.csv", date(2025, 1, 2))
    written = spark.read.parquet(zones.staging_path(lake["root"], "customer_360", D2)).columns
    assert written == staging_schema("customer_360").fieldNames()


def test_activity_resolves_the_plan_at_the_time_of_each_event(spark: Any, lake: dict) -> None:
    rows = read_rows(spark, lake["root"], "activity", D2)
    got = {k: (r["plan_id_at_event"], r["plan_name_at_event"], r["monthly_price_at_event"]) for k, r in rows.items()}
    assert got == {
        "x1": ("P1", "Basic+", Decimal("12.50")),  # before every change: old plan of the first (ch1)
        "x2": ("P2", "Premium", Decimal("20.00")),  # between ch1 and ch2a/ch2b
        "x3": ("P1", "Basic+", Decimal("12.50")),  # at 10:00 both changes count; ch2b (greater id) is last
        "x4": ("P1", "Basic+", Decimal("12.50")),  # after all changes
        "ch2a": ("P1", "Basic+", Decimal("12.50")),  # a change event itself: same rule as x3
        "ch2b": ("P1", "Basic+", Decimal("12.50")),
        "c2a": ("P3", "Max", Decimal("30.00")),
        "c2b": (None, None, None),  # the last change has no new_plan_id: null, not the earlier P3
        "z2": (None, None, None),
        "w1": ("PX", None, None),  # no changes: the customer's plan, unknown to plans
        "v1": ("P3", "Max", Decimal("30.00")),  # no changes: the customer's plan
        "u1": (None, None, None),  # unknown customer
    }


def test_activity_keeps_the_latest_duplicate_and_adds_event_date_and_lineage(spark: Any, lake: dict) -> None:
    rows = read_rows(spark, lake["root"], "activity", D2)
    assert (rows["x2"]["device_type"], rows["x2"]["_source_file"], rows["x2"]["_line"]) == (
        "tablet", "logs_2__r2.ndjson", 1)
    assert rows["x1"]["event_date"] == date(2025, 1, 1)
    assert rows["x2"]["event_date"] == date(2025, 1, 2)
    assert rows["x2"]["_ingest_date"] == date(2025, 1, 2)
    assert rows["c2b"]["plan_category_at_event"] is None and rows["x2"]["plan_category_at_event"] == "postpaid"


def test_backfill_sees_only_history_up_to_its_date_and_rebuilds_newer_snapshots(spark: Any, lake: dict) -> None:
    # GIVEN D2 was staged before D1 was backfilled
    rows = read_rows(spark, lake["root"], "activity", D1)
    # THEN D1's activity is its own events, resolved without D2's changes
    assert {k: r["plan_id_at_event"] for k, r in rows.items()} == {
        "ch1": "P2", "y1": "P1", "y2": "P2",
        "z1": "P2",  # C2's changes arrive on D2: on D1 the customer's plan applies (not c2a's old P1)
    }
    assert rows["y1"]["plan_name_at_event"] == "Basic"  # D1's plans
    # AND the backfill rolled forward to D2 (docs/spec.md §4): D2 was rewritten, from D1's state, with
    # the same rows since D2's clean history did not change
    assert lake["reports"][D1].rebuilt_dates == [D1, D2]
    assert [s.build for s in lake["reports"][D1].snapshots] == ["full", "incremental"]
    for table, (state, content) in lake["d2_before"].items():
        assert folder_state(lake["root"], table, D2) != state
        assert read_rows(spark, lake["root"], table, D2) == content


def test_empty_day_writes_every_table_with_its_schema_and_a_manifest(spark: Any, lake: dict) -> None:
    from telco360.spark.stage import describe_schema, staging_schema

    manifest = read_manifest(lake["root"], D3)
    assert set(manifest["tables"]) == set(zones.STAGING_TABLES)
    activity = spark.read.parquet(zones.staging_path(lake["root"], "activity", D3))
    assert activity.count() == 0 and manifest["tables"]["activity"]["row_count"] == 0
    assert activity.schema.fieldNames() == staging_schema("activity").fieldNames()
    assert len(manifest["tables"]["activity"]["files"]) == 1  # a schema-only Parquet file
    assert manifest["tables"]["activity"]["schema"] == [asdict(c) for c in describe_schema(staging_schema("activity"))]
    assert manifest["tables"]["customers"]["row_count"] == 4


def test_manifest_lists_the_written_files_and_counts_and_is_written_last(spark: Any, lake: dict) -> None:
    manifest = read_manifest(lake["root"], D2)
    assert manifest == lake["manifests"][D2]
    assert manifest["snapshot_date"] == D2
    counts = {t: e["row_count"] for t, e in manifest["tables"].items()}
    assert counts == {"customers": 4, "plans": 3, "customer_360": 4, "activity": 12}
    manifest_time = os.path.getmtime(zones.manifest_path(lake["root"], D2))
    for entry in manifest["tables"].values():
        on_disk = sorted(p.name for p in Path(entry["path"]).iterdir() if p.suffix == ".parquet")
        assert entry["files"] == on_disk
        # a handful of rows must not be scattered over many tiny files
        assert len(entry["files"]) == 1
        assert max(os.path.getmtime(Path(entry["path"]) / f) for f in entry["files"]) <= manifest_time
    version = {ds: get_contract(ds).version for ds in ("customers", "plans", "activity")}
    assert manifest["tables"]["customer_360"]["contract_versions"] == {ds: version[ds] for ds in ("customers", "plans")}
    assert manifest["tables"]["activity"]["contract_versions"] == version


def test_rerun_is_idempotent_and_a_failed_rerun_leaves_no_manifest(spark: Any, lake: dict,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from telco360.spark import stage

    root = lake["root"]
    before = {t: read_rows(spark, root, t, D2) for t in zones.STAGING_TABLES}
    # WHEN D2 is staged again
    report = stage.run_stage(spark, root, D2)
    # THEN D2 and the later D3 are rebuilt, the rows are the same and no file of the previous run is left over
    assert report.rebuilt_dates == [D2, D3]
    assert {t: read_rows(spark, root, t, D2) for t in zones.STAGING_TABLES} == before
    manifest = read_manifest(root, D2)
    for table, entry in manifest["tables"].items():
        assert sorted(p.name for p in Path(entry["path"]).iterdir() if p.suffix == ".parquet") == entry["files"]
        assert entry["row_count"] == lake["manifests"][D2]["tables"][table]["row_count"]

    # WHEN a rerun fails while writing the tables
    real_write = stage._write_table

    def failing_write(spark_: Any, df: Any, path: str, table: str) -> Any:
        if table == "activity":
            raise RuntimeError("disk full")
        return real_write(spark_, df, path, table)

    monkeypatch.setattr(stage, "_write_table", failing_write)
    with pytest.raises(RuntimeError):
        stage.run_stage(spark, root, D2)
    # THEN no manifest claims the half-rewritten snapshot, or the later one now stale, is complete
    assert not Path(zones.manifest_path(root, D2)).exists()
    assert not Path(zones.manifest_path(root, D3)).exists()
    monkeypatch.undo()
    stage.run_stage(spark, root, D2)  # leave the shared lake complete for the tests after this one


@pytest.mark.parametrize("table", ["plan_changes", "customer_360"])
def test_a_failure_on_the_second_writer_thread_reaches_the_caller_and_leaves_no_manifest(
        spark: Any, lake: dict, monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    from telco360.spark import stage

    root = lake["root"]
    real_write = stage._write_table

    def failing_write(spark_: Any, df: Any, path: str, table_: str) -> Any:
        if table_ == table:
            raise RuntimeError("disk full")
        return real_write(spark_, df, path, table_)

    # GIVEN the timeline and customer_360 are written on a second thread, beside the other tables
    monkeypatch.setattr(stage, "_write_table", failing_write)
    # WHEN a rerun of D2 fails while writing one of them
    with pytest.raises(RuntimeError, match="disk full"):
        stage.run_stage(spark, root, D2)
    # THEN the error is the run's, and no manifest claims D2 (or the stale D3) is complete
    assert not Path(zones.manifest_path(root, D2)).exists()
    assert not Path(zones.manifest_path(root, D3)).exists()
    monkeypatch.undo()
    stage.run_stage(spark, root, D2)  # leave the shared lake complete for the tests after this one
    counts = {d: {t: e["row_count"] for t, e in read_manifest(root, d)["tables"].items()} for d in (D2, D3)}
    assert counts == {d: {t: e["row_count"] for t, e in lake["manifests"][d]["tables"].items()} for d in (D2, D3)}


def test_key_shuffles_get_a_task_per_core_only_when_each_has_work(spark: Any) -> None:
    from telco360.spark.stage import MAX_TASK_BYTES, MIN_TASK_BYTES, shuffle_partitions

    cores = spark.sparkContext.defaultParallelism
    # GIVEN the test session's cores, WHEN a key shuffle reads nothing or a small day's bytes
    # THEN it is one task (and the table one file)
    assert shuffle_partitions(spark, 0) == 1
    assert shuffle_partitions(spark, MIN_TASK_BYTES) == 1
    # WHEN it reads a realistic day (tens of MB) THEN every core gets a task
    assert shuffle_partitions(spark, 50 * 1024 * 1024) == cores
    # WHEN it reads more than the cores can take at MAX_TASK_BYTES each THEN no task reads more
    assert shuffle_partitions(spark, 10 * cores * MAX_TASK_BYTES) == 10 * cores


def test_customer_360_plan_columns_are_exactly_the_plans_contract_without_its_key() -> None:
    from telco360.spark.stage import CUSTOMER_360_PLAN_COLUMNS, staging_schema

    plans = get_contract("plans")
    assert sorted(CUSTOMER_360_PLAN_COLUMNS) == sorted(set(plans.column_names) - set(plans.business_key))
    assert len(set(CUSTOMER_360_PLAN_COLUMNS)) == len(CUSTOMER_360_PLAN_COLUMNS)
    # every customer column comes first, then the plan columns in docs/spec.md §4's order, then lineage
    names = staging_schema("customer_360").fieldNames()
    customers = list(get_contract("customers").column_names)
    assert names == [*customers, *CUSTOMER_360_PLAN_COLUMNS, "_source_file", "_line", "_ingest_date"]


def test_read_clean_reads_old_partitions_with_missing_columns_as_typed_nulls(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql import types as T

    from telco360.spark.schemas import clean_schema
    from telco360.spark.stage import read_clean

    # GIVEN a partition written before plan_name existed, and a current one
    root = str(tmp_path)
    old = T.StructType([T.StructField("plan_id", T.StringType()), T.StructField("_source_file", T.StringType()),
                        T.StructField("_line", T.LongType())])
    spark.createDataFrame([("P1", "old.csv", 1)], old).write.parquet(zones.clean_path(root, "plans", D1))
    write_clean(spark, root, "plans", D2, [dict(plan_id="P2", plan_name="New", _source_file="new.csv", _line=1)])
    write_clean(spark, root, "plans", D3, [dict(plan_id="P3", plan_name="Later", _source_file="new.csv", _line=1)])
    expected_columns = [*get_contract("plans").column_names, "_source_file", "_line", "ingest_date"]
    # WHEN clean plans are read up to D2, and on D1 only
    upto = read_clean(spark, root, "plans", upto=D2)
    on = read_clean(spark, root, "plans", on=D1)
    # THEN both have the current contract's schema, D3 is pruned, and the old row has a null plan_name
    assert upto.schema == on.schema
    assert upto.columns == expected_columns
    assert upto.schema["plan_name"].dataType == clean_schema(get_contract("plans"))["plan_name"].dataType
    assert sorted((r.plan_id, r.plan_name, r.ingest_date) for r in upto.collect()) == [
        ("P1", None, date(2025, 1, 1)), ("P2", "New", date(2025, 1, 2))]
    assert [r.plan_id for r in on.collect()] == ["P1"]
    # AND a dataset with no clean folder at all reads as empty with the same schema
    absent = read_clean(spark, root, "customers", upto=D2)
    assert absent.count() == 0
    assert absent.columns == [*get_contract("customers").column_names, "_source_file", "_line", "ingest_date"]


def test_glue_entrypoint_stages_an_empty_lake_locally(spark: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    # GIVEN the Glue script and a lake with no clean data at all
    spec = importlib.util.spec_from_file_location("stage_job", REPO / "glue" / "stage_job.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr("sys.argv", ["stage_job.py", "--JOB_NAME", "stage", "--run_date", D1,
                                     "--lake_root", str(tmp_path)])
    # WHEN it runs without awsglue (the local runtime)
    module.main()
    # THEN every table is written empty with its schema and the manifest lists them
    manifest = read_manifest(str(tmp_path), D1)
    assert {t: e["row_count"] for t, e in manifest["tables"].items()} == dict.fromkeys(zones.STAGING_TABLES, 0)
    for table in zones.STAGING_TABLES:
        assert spark.read.parquet(zones.staging_path(str(tmp_path), table, D1)).count() == 0
