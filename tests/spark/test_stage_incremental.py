"""Job B built incrementally (state carried from the snapshot before) equals the full recompute of
docs/spec.md §4, rolls forward after a backfill, and falls back to a full recompute when the state
cannot be used.

The lake (all times UTC; D1..D5 = 2025-03-01..05):

customers  D1 a.csv: C1 P1, C2 P2, C3 P1
           D2 a.csv: C1 -> P2 (updated), C2 P2 (re-sent unchanged)
           D4 a.csv: C4 P3 (new), C1 P1; D4 b.csv: C1 P3          -> file b wins
           D5 a.csv: C2 -> P3                                      (D3 has no customers file)
plans      D1: P1 10.00, P2 20.00, P3 30.00; D3: P2 25.00 (catalogue change); D5: P4 40.00 (new plan)
activity   D1: e1 C1 login 10:00, pc1 C1 P1->P2 12:00, e2 C2 login 09:00
           D2: pc2 C2 P2->P3 D2 08:00 (and again in a later file), e3 C1 D1 11:00 (late event),
               e1 re-sent (duplicate id across days, device tablet), e8 C2 D2 07:00
           D3: pc3 C1 P1->P3 D1 09:00 (a late change, before pc1), e4 C1 D1 08:00,
               pcA C3 P1->P2 and pcB C3 P2->P4 both D3 10:00 (same timestamp: id decides), e5 C3 D3 10:00
           D4: pc2 re-sent as a login (no longer a plan change: C2 has no change any more), e6 C2 D2 09:00
           D5: pc1 re-sent as P1->P4 (a change's plans change), e7 C1 D2 00:00
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from telco360 import zones
from telco360.contracts import get_contract
from telco360.reports import Manifest, StageReport

from .test_stage import change, event

D1, D2, D3, D4, D5 = (date(2025, 3, day).isoformat() for day in range(1, 6))
DAYS = (D1, D2, D3, D4, D5)
TABLES = (*zones.STAGING_TABLES, "plan_changes")


def at(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00"


def customer(cid: str, plan: str, file: str, line: int) -> dict[str, Any]:
    return dict(customer_id=cid, first_name=f"name-{cid}-{plan}", plan_id=plan, _source_file=file, _line=line)


def plan(pid: str, price: str, line: int) -> dict[str, Any]:
    return dict(plan_id=pid, plan_name=f"Plan {pid} {price}", plan_category="prepaid",
                monthly_price=Decimal(price), _source_file="plans.csv", _line=line)


CUSTOMERS = {
    D1: [customer("C1", "P1", "a.csv", 1), customer("C2", "P2", "a.csv", 2), customer("C3", "P1", "a.csv", 3)],
    D2: [customer("C1", "P2", "a.csv", 1), customer("C2", "P2", "a.csv", 2)],
    D4: [customer("C4", "P3", "a.csv", 1), customer("C1", "P1", "a.csv", 2), customer("C1", "P3", "b.csv", 1)],
    D5: [customer("C2", "P3", "a.csv", 1)],
}
PLANS = {
    D1: [plan("P1", "10.00", 1), plan("P2", "20.00", 2), plan("P3", "30.00", 3)],
    D3: [plan("P2", "25.00", 1)],
    D5: [plan("P4", "40.00", 1)],
}
ACTIVITY = {
    D1: [
        event("e1", "C1", at(D1, "10:00"), "logs_1.ndjson", 1),
        event("pc1", "C1", at(D1, "12:00"), "logs_1.ndjson", 2, change("P1", "P2")),
        event("e2", "C2", at(D1, "09:00"), "logs_1.ndjson", 3),
    ],
    D2: [
        event("pc2", "C2", at(D2, "08:00"), "logs_2.ndjson", 1, change("P2", "P3")),
        event("e3", "C1", at(D1, "11:00"), "logs_2.ndjson", 2),
        event("e1", "C1", at(D1, "10:00"), "logs_2.ndjson", 3, device="tablet"),
        event("e8", "C2", at(D2, "07:00"), "logs_2.ndjson", 4),
        event("pc2", "C2", at(D2, "08:00"), "logs_2__r2.ndjson", 1, change("P2", "P3")),
    ],
    D3: [
        event("pc3", "C1", at(D1, "09:00"), "logs_3.ndjson", 1, change("P1", "P3")),
        event("e4", "C1", at(D1, "08:00"), "logs_3.ndjson", 2),
        event("pcB", "C3", at(D3, "10:00"), "logs_3.ndjson", 3, change("P2", "P4")),
        event("pcA", "C3", at(D3, "10:00"), "logs_3.ndjson", 4, change("P1", "P2")),
        event("e5", "C3", at(D3, "10:00"), "logs_3.ndjson", 5),
    ],
    D4: [
        event("pc2", "C2", at(D2, "08:00"), "logs_4.ndjson", 1),
        event("e6", "C2", at(D2, "09:00"), "logs_4.ndjson", 2),
    ],
    D5: [
        event("pc1", "C1", at(D1, "12:00"), "logs_5.ndjson", 1, change("P1", "P4")),
        event("e7", "C1", at(D2, "00:00"), "logs_5.ndjson", 2),
    ],
}


def write_clean(spark: Any, root: str, dataset: str, day: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to a clean partition (a second call adds a file: a late arrival)."""
    from telco360.spark.schemas import clean_schema

    schema = clean_schema(get_contract(dataset))
    full = [tuple(r.get(f.name) for f in schema.fields) for r in rows]
    spark.createDataFrame(full, schema=schema).coalesce(1).write.mode("append").parquet(
        zones.clean_path(root, dataset, day))


def write_lake(spark: Any, root: str, days: tuple[str, ...] = DAYS) -> str:
    for dataset, by_day in (("customers", CUSTOMERS), ("plans", PLANS), ("activity", ACTIVITY)):
        for day, rows in by_day.items():
            if day in days:
                write_clean(spark, root, dataset, day, rows)
    return root


def table_path(root: str, table: str, day: str) -> str:
    return zones.state_path(root, table, day) if table == "plan_changes" else zones.staging_path(root, table, day)


def rows_of(spark: Any, root: str, table: str, day: str) -> list[tuple[Any, ...]]:
    df = spark.read.parquet(table_path(root, table, day))
    return sorted((tuple(r) for r in df.collect()), key=repr)


def full_reference(spark: Any, root: str, day: str, tmp: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The full recompute (docs/spec.md §4 over all clean history <= day) of a copy of the lake's clean zone."""
    from telco360.spark.stage import Base, build_snapshot

    ref = tmp / f"ref-{day}-{len(list(tmp.iterdir()))}"
    shutil.copytree(Path(root) / zones.CLEAN, ref / zones.CLEAN)
    manifest = build_snapshot(spark, str(ref), day, Base(None, "reference"))
    assert manifest.build == "full"
    return {t: rows_of(spark, str(ref), t, day) for t in TABLES}


def snapshot(spark: Any, root: str, day: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows_of(spark, root, t, day) for t in TABLES}


def manifest_of(root: str, day: str) -> Manifest:
    return Manifest.from_dict(json.loads(Path(zones.manifest_path(root, day)).read_text()))


def plan_at_event(spark: Any, root: str, day: str) -> dict[str, str | None]:
    rows = spark.read.parquet(zones.staging_path(root, "activity", day)).collect()
    return {r.event_id: r.plan_id_at_event for r in rows}


@pytest.fixture(scope="module")
def built(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """GIVEN the lake above, WHEN Job B runs for D1 through D5 in one run, THEN ..."""
    from telco360.spark.stage import run_stage

    root = write_lake(spark, str(tmp_path_factory.mktemp("incremental")))
    report = run_stage(spark, root, D1, through=D5, report_key="_out/stage.json")
    yield {"root": root, "report": report, "tmp": tmp_path_factory.mktemp("refs")}


def test_every_incrementally_built_snapshot_equals_the_full_recompute(spark: Any, built: dict[str, Any]) -> None:
    report: StageReport = built["report"]
    # THEN the first date is a full recompute (nothing to start from) and every later one incremental
    assert report.rebuilt_dates == list(DAYS)
    assert [s.build for s in report.snapshots] == ["full", *["incremental"] * 4]
    assert report.snapshots[0].why_full and "first snapshot" in report.snapshots[0].why_full
    assert all(s.why_full is None for s in report.snapshots[1:])
    # AND every table of every date (and the carried timeline) equals the full recompute of that date
    for day in DAYS:
        assert snapshot(spark, built["root"], day) == full_reference(spark, built["root"], day, built["tmp"]), day


def test_the_timeline_follows_re_sent_and_late_plan_changes(spark: Any, built: dict[str, Any]) -> None:
    root = built["root"]

    def timeline(day: str) -> dict[str, tuple[str, str | None, str | None]]:
        rows = spark.read.parquet(zones.state_path(root, "plan_changes", day)).collect()
        return {r.event_id: (r.customer_id, r.old_plan_id, r.new_plan_id) for r in rows}

    # THEN pc2 is one change despite its duplicate, disappears once re-sent as a login (D4), and pc1's
    # re-sent record replaces its plans (D5)
    assert timeline(D2) == {"pc1": ("C1", "P1", "P2"), "pc2": ("C2", "P2", "P3")}
    assert set(timeline(D3)) == {"pc1", "pc2", "pc3", "pcA", "pcB"}
    assert "pc2" not in timeline(D4)
    assert timeline(D5)["pc1"] == ("C1", "P1", "P4")
    # AND the point-in-time plans use it: e8 (before pc2) takes pc2's old plan on D2; e6 on D4 (pc2 is
    # no longer a change) takes C2's current plan; same-timestamp pcA/pcB: the greater id is the last
    assert plan_at_event(spark, root, D2)["e8"] == "P2"
    assert plan_at_event(spark, root, D4)["e6"] == "P2"
    assert plan_at_event(spark, root, D3)["e5"] == "P4"
    assert plan_at_event(spark, root, D3)["e4"] == "P1"  # before the late pc3: its old plan
    assert plan_at_event(spark, root, D5)["e7"] == "P4"


def test_manifest_lists_the_state_and_the_report_is_written_where_asked(spark: Any, built: dict[str, Any]) -> None:
    root = built["root"]
    manifest = manifest_of(root, D3)
    # THEN the manifest records the build and the state the next day starts from, with its versions
    assert manifest.build == "incremental"
    assert set(manifest.state) == {"plan_changes"}
    assert manifest.state["plan_changes"].contract_versions == {"activity": get_contract("activity").version}
    assert manifest.state["plan_changes"].path == zones.state_path(root, "plan_changes", D3)
    # AND the run report is in _reports and at the key the state machine reads, identical
    written = json.loads(Path(zones.report_path(root, "stage", D1)).read_text())
    assert written == json.loads((Path(root) / "_out/stage.json").read_text())
    assert written["rebuilt_dates"] == list(DAYS)
    assert StageReport.from_dict(written) == built["report"]


@pytest.fixture
def daily(spark: Any, tmp_path: Path) -> str:
    """GIVEN D1, D2, D3 staged one run per day (as the daily schedule does)."""
    from telco360.spark.stage import run_stage

    root = write_lake(spark, str(tmp_path / "lake"), days=(D1, D2, D3))
    for day in (D1, D2, D3):
        assert run_stage(spark, root, day).rebuilt_dates == [day]
    return root


def test_a_rerun_after_a_late_file_rolls_every_later_snapshot_forward(spark: Any, daily: str, tmp_path: Path) -> None:
    from telco360.spark.stage import run_stage

    root = daily
    before_d3 = {t: Path(zones.staging_path(root, t, D3)).stat().st_mtime_ns for t in zones.STAGING_TABLES}
    assert plan_at_event(spark, root, D2)["e8"] == "P2"
    # WHEN a late file lands in D1's clean partition (a new customer, and a change of C2 before D2's
    # events) and Job B is rerun for D1 alone
    write_clean(spark, root, "customers", D1, [customer("C9", "P3", "late.csv", 1)])
    write_clean(spark, root, "activity", D1, [
        event("pcL", "C2", at(D1, "23:00"), "late.ndjson", 1, change("P2", "P1"))])
    report = run_stage(spark, root, D1)
    # THEN D1, D2 and D3 are rebuilt in order, each after the first from the state of the day before
    assert report.rebuilt_dates == [D1, D2, D3]
    assert [s.build for s in report.snapshots] == ["full", "incremental", "incremental"]
    # AND D2 and D3 reflect the late file
    assert plan_at_event(spark, root, D2)["e8"] == "P1"
    for day in (D2, D3):
        assert "C9" in {r.customer_id for r in spark.read.parquet(zones.staging_path(root, "customers", day)).collect()}
    # AND every snapshot equals the full recompute of the clean history as it is now, with a fresh manifest
    for day in (D1, D2, D3):
        assert snapshot(spark, root, day) == full_reference(spark, root, day, tmp_path), day
        assert manifest_of(root, day).row_counts == report.snapshots[DAYS.index(day)].row_counts
    assert all(Path(zones.staging_path(root, t, D3)).stat().st_mtime_ns != before_d3[t] for t in before_d3)
    # AND a second identical rerun changes no row (idempotent)
    expected = {day: snapshot(spark, root, day) for day in (D1, D2, D3)}
    assert run_stage(spark, root, D1).rebuilt_dates == [D1, D2, D3]
    assert {day: snapshot(spark, root, day) for day in (D1, D2, D3)} == expected


def test_without_usable_state_job_b_falls_back_to_a_full_recompute(spark: Any, daily: str) -> None:
    from telco360.spark.stage import run_stage

    root = daily
    expected = snapshot(spark, root, D3)
    # WHEN D2's state is deleted and D3 is rerun
    shutil.rmtree(zones.state_path(root, "plan_changes", D2))
    report = run_stage(spark, root, D3)
    # THEN D3 is a full recompute that says why, with the same rows, and it writes its state again
    (only,) = report.snapshots
    assert only.build == "full" and only.why_full and "state plan_changes of " + D2 in only.why_full
    assert snapshot(spark, root, D3) == expected
    assert manifest_of(root, D3).state["plan_changes"].row_count == len(expected["plan_changes"])

    # WHEN D2's manifest says its state was built under another contract version of activity
    path = Path(zones.manifest_path(root, D2))
    manifest = json.loads(path.read_text())
    manifest["state"]["plan_changes"]["contract_versions"] = {"activity": "0.9.0"}
    path.write_text(json.dumps(manifest))
    path.with_name(f".{path.name}.crc").unlink(missing_ok=True)  # Hadoop's local checksum of the old text
    report = run_stage(spark, root, D3)
    # THEN D3 is a full recompute again, because of the version
    assert report.snapshots[0].build == "full"
    assert "contract versions" in (report.snapshots[0].why_full or "")
    assert snapshot(spark, root, D3) == expected

    # WHEN D2's manifest is missing (D2 incomplete)
    path.unlink()
    report = run_stage(spark, root, D3)
    assert report.snapshots[0].build == "full" and "no manifest" in (report.snapshots[0].why_full or "")
    assert snapshot(spark, root, D3) == expected


def test_state_crosses_a_gap_only_when_nothing_was_ingested_in_it(spark: Any, tmp_path: Path) -> None:
    from telco360.spark.stage import run_stage

    # GIVEN D1 staged, and clean data for D2 and D3, but no snapshot of D2
    root = write_lake(spark, str(tmp_path / "lake"), days=(D1, D2, D3))
    run_stage(spark, root, D1)
    # WHEN D3 is staged: D2 had arrivals, so D1's state is not enough
    report = run_stage(spark, root, D3)
    assert report.snapshots[0].build == "full" and "gap" in (report.snapshots[0].why_full or "")
    # GIVEN a day with no arrivals at all after D3 (D4 of this lake is empty), WHEN D5 is staged
    d5 = (date.fromisoformat(D3) + timedelta(days=2)).isoformat()
    report = run_stage(spark, root, d5)
    # THEN it carries D3's state across the empty day and equals the full recompute
    assert report.snapshots[0].build == "incremental"
    assert snapshot(spark, root, d5) == full_reference(spark, root, d5, tmp_path)


def test_glue_entrypoint_takes_a_range_and_a_report_key(spark: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    repo = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("stage_job", repo / "glue" / "stage_job.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = write_lake(spark, str(tmp_path / "lake"), days=(D1, D2))
    # WHEN the script runs locally for a range given as the schedule's instants (the day before each)
    monkeypatch.setattr("sys.argv", ["stage_job.py", "--JOB_NAME", "stage", "--run_date", f"{D2}T06:00:00Z",
                                     "--through", f"{D3}T06:00:00Z", "--lake_root", root,
                                     "--report_key", "_out/report.json"])
    module.main()
    # THEN D1 and D2 are staged and the report is at the key
    written = json.loads((Path(root) / "_out/report.json").read_text())
    assert (written["run_date"], written["through"], written["rebuilt_dates"]) == (D1, D2, [D1, D2])
