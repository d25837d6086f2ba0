"""``telco360 run`` over a generated lake with faults, two consecutive days, with the real gate and
the real Jobs A and B: four Spark runs in total, in ONE scenario test on purpose. Module-scoped
fixtures do not hold under ``-n 2``: pytest 9.2 with xdist 3.8 ignores ``xdist_group`` (the nodeid
suffix that groups tests is never added), so tests sharing the lake would rebuild it per worker."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from telco360 import zones
from telco360.cli import main
from telco360.contracts import DATASETS
from telco360.formats import file_kind
from telco360.local.demo import arrivals_by_date, drop_arrivals
from telco360.local.runner import run_pipeline
from telco360.reports import CleanReport, StageReport
from telco360.spark.schemas import SOURCE_FILE

D1, D2 = "2025-01-01", "2025-01-02"
ReplaceJob = Callable[[str, Callable[..., object]], None]  # the replace_job fixture (tests/local/conftest.py)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _records(path: Path) -> int:
    """Records in an archived file, counted without Spark: NDJSON lines, or CSV records after the header."""
    data = path.read_bytes()
    kind = file_kind(path.name)
    text = (gzip.decompress(data) if kind.gzipped else data).decode("utf-8-sig")
    if kind.format == "ndjson":
        return sum(1 for line in text.splitlines() if line.strip())
    return sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1


def _rows_by_file(spark: Any, path: str) -> Counter[str]:
    if not Path(path).exists():
        return Counter()
    grouped = spark.read.parquet(path).groupBy(SOURCE_FILE).count().collect()  # one row per source file
    return Counter({row[SOURCE_FILE]: row["count"] for row in grouped})


def _staging_rows(spark: Any, lake: Path, run_date: str) -> dict[str, int]:
    return {t: spark.read.parquet(zones.staging_path(str(lake), t, run_date)).count() for t in zones.STAGING_TABLES}


def _build_lake(root: Path) -> tuple[Path, dict[str, set[str]], dict[str, int]]:
    """A 300-customer lake with faults, run for D1 then D2 through the CLI, each day's arrivals dropped
    into raw/ just before its run. Returns the lake, the raw file names per day and the exit codes."""
    from telco360.generator import generate

    source, lake = root / "source", root / "lake"
    generate(source, customers=300, days=2, start_date=date(2025, 1, 1), seed=11, faults=True)
    arrivals = arrivals_by_date(source)
    assert list(arrivals) == [D1, D2]
    raw_by_day: dict[str, set[str]] = {}
    exit_codes: dict[str, int] = {}
    for day in (D1, D2):
        drop_arrivals(source, lake, arrivals[day])
        raw_by_day[day] = {Path(f).name for f in arrivals[day]}
        exit_codes[day] = main(["run", "--lake", str(lake), "--date", day])
    return lake, raw_by_day, exit_codes


def check_reports(lake: Path) -> None:
    """Each day's report: three steps succeeded; Job B built that day's snapshot, the first day in full
    (there is no day before it to start from), the second from the first's state."""
    for day, build in ((D1, "full"), (D2, "incremental")):
        report = orjson.loads((lake / zones.REPORTS / f"run_{day}.json").read_bytes())
        assert [s["status"] for s in report["steps"]] == ["succeeded"] * 3
        stage = StageReport.from_dict(report["steps"][2]["output"])
        assert stage.rebuilt_dates == [day]
        assert stage.snapshots[0].build == build and (stage.snapshots[0].why_full is None) == (build != "full")
        assert "<table>" in (lake / zones.REPORTS / f"run_{day}.html").read_text()
        assert "| stage | succeeded |" in (lake / zones.REPORTS / f"run_{day}.md").read_text()


def check_every_raw_file_is_archived_or_rejected(lake: Path, raw_by_day: dict[str, set[str]]) -> None:
    assert _files(lake / zones.RAW) == set()
    for day, names in raw_by_day.items():
        archived_keys = {k for k in _files(lake / zones.ARCHIVE) if f"ingest_date={day}/" in k}
        indexes = {k for k in archived_keys if f"/{zones.LINE_INDEX_FOLDER}/" in k}
        archived = {Path(k).name for k in archived_keys - indexes}
        # every archived uncompressed file, and only such a file, has its line index beside it
        assert indexes == {zones.line_index_key(k) for k in archived_keys - indexes
                           if not file_kind(Path(k).name).gzipped}, day
        rejected = {Path(k).name for k in _files(lake / zones.REJECTED)
                    if f"ingest_date={day}/" in k and not k.endswith(zones.REASON_SUFFIX)}
        reasons = {Path(k).name.removesuffix(zones.REASON_SUFFIX) for k in _files(lake / zones.REJECTED)
                   if f"ingest_date={day}/" in k and k.endswith(zones.REASON_SUFFIX)}
        assert archived | rejected == names, day
        assert archived & rejected == set(), day
        assert reasons == rejected, day
    # the generator's faults are real: the second day has rejected files and archived ones
    assert rejected and archived


def check_every_archived_record_is_clean_or_quarantined(lake: Path, spark: Any) -> None:
    quarantined_somewhere = 0
    for day in (D1, D2):
        for dataset in DATASETS:
            archived = lake / zones.partition(zones.ARCHIVE, dataset, day)
            expected = Counter({p.name: _records(p) for p in archived.iterdir() if p.is_file()}
                               if archived.exists() else {})
            clean = _rows_by_file(spark, zones.clean_path(str(lake), dataset, day))
            quarantine = _rows_by_file(spark, zones.quarantine_path(str(lake), dataset, day))
            assert clean + quarantine == expected, f"{dataset} {day}"
            quarantined_somewhere += sum(quarantine.values())
    assert quarantined_somewhere > 0  # the faults include bad records


def check_staging(lake: Path, spark: Any) -> None:
    """Row counts match the manifest, one row per key, every clean key represented."""
    from pyspark.sql import functions as F

    for day in (D1, D2):
        manifest = orjson.loads(Path(zones.manifest_path(str(lake), day)).read_bytes())
        rows = _staging_rows(spark, lake, day)
        assert rows == {t: manifest["tables"][t]["row_count"] for t in zones.STAGING_TABLES}
        customers = spark.read.parquet(zones.staging_path(str(lake), "customers", day))
        clean_ids = (spark.read.parquet(zones.join(str(lake), zones.CLEAN, "customers"))
                     .where(F.col("ingest_date") <= day).select("customer_id").distinct().count())
        assert rows["customers"] == customers.select("customer_id").distinct().count() == clean_ids
        assert rows["customer_360"] == rows["customers"]
        clean_events = (spark.read.parquet(zones.clean_path(str(lake), "activity", day))
                        .select("event_id").distinct().count())
        assert rows["activity"] == clean_events


def _outputs_of(lake: Path, day: str) -> dict[Path, set[str]]:
    folders = [lake / zones.partition(z, ds, day) for z in (zones.CLEAN, zones.QUARANTINE) for ds in DATASETS]
    folders += [Path(zones.staging_path(str(lake), t, day)) for t in zones.STAGING_TABLES]
    return {folder: {f for f in _files(folder) if f.endswith(".parquet")} for folder in folders}


@pytest.mark.slow
def test_two_days_through_telco360_run_then_reruns_from_clean_and_from_stage(
        tmp_path: Path, spark: Any, replace_job: ReplaceJob) -> None:
    # GIVEN a generated lake with faults, run for D1 then D2 with `telco360 run`
    lake, raw_by_day, exit_codes = _build_lake(tmp_path)

    # THEN both days succeed; every raw file is in exactly one of archive/rejected; every archived
    # record in exactly one of clean/quarantine; staging has one row per key and matches the manifest
    assert exit_codes == {D1: 0, D2: 0}
    check_reports(lake)
    check_every_raw_file_is_archived_or_rejected(lake, raw_by_day)
    check_every_archived_record_is_clean_or_quarantined(lake, spark)
    check_staging(lake, spark)

    # WHEN D2 is rerun from Job A
    before_files, before_rows = _outputs_of(lake, D2), _staging_rows(spark, lake, D2)
    archive_before = _files(lake / zones.ARCHIVE)
    rerun = run_pipeline(lake, D2, from_step="clean", spark=spark)

    # THEN the gate did not run, staging has the same rows, and no earlier data file is left behind
    assert [s.status for s in rerun.steps] == ["skipped", "succeeded", "succeeded"]
    assert _files(lake / zones.ARCHIVE) == archive_before
    assert _staging_rows(spark, lake, D2) == before_rows
    after_files = _outputs_of(lake, D2)
    for folder, files in before_files.items():
        assert not files & after_files[folder], f"leftover files in {folder}"
    check_every_archived_record_is_clean_or_quarantined(lake, spark)

    # WHEN D1 is rerun from stage, with a Job A that would fail if it ran
    replace_job("clean", _explode)
    before = {day: _staging_rows(spark, lake, day) for day in (D1, D2)}
    stage_only = run_pipeline(lake, D1, from_step="stage", spark=spark)

    # THEN only Job B ran; it rebuilt D1 and rolled D2 (which starts from D1) forward, to the same rows
    assert [s.status for s in stage_only.steps] == ["skipped", "skipped", "succeeded"]
    assert stage_only.stage is not None and stage_only.stage.rebuilt_dates == [D1, D2]
    assert {day: _staging_rows(spark, lake, day) for day in (D1, D2)} == before


def _explode(*_args: Any, **_kwargs: Any) -> CleanReport:
    raise RuntimeError("Job A exploded")


def test_a_failing_job_a_stops_the_run_and_leaves_staging_untouched(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        replace_job: ReplaceJob) -> None:
    # GIVEN a lake with an earlier snapshot, a new arrival, and a Job A that raises (no Spark is needed:
    # the session is never asked for by a run that stops at Job A's fake)
    import telco360.local.cli as local_cli

    lake = tmp_path / "lake"
    snapshot = Path(zones.staging_path(str(lake), "customers", D2)) / "part-0.parquet"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"PAR1 an earlier snapshot")
    arrival = lake / "raw/plans/plans_20250103.csv"
    arrival.parent.mkdir(parents=True)
    arrival.write_bytes(b"plan_id,plan_name\nP1,Basic\n")
    staging_before = {p: p.read_bytes() for p in (lake / zones.STAGING).rglob("*") if p.is_file()}
    replace_job("clean", _explode)
    monkeypatch.setattr(local_cli, "_console_spark", lambda _verbose: object())

    # WHEN the next day runs
    code = main(["run", "--lake", str(lake), "--date", "2025-01-03"])

    # THEN it exits non-zero naming the step, the gate's work stands, and staging is untouched
    assert code == 1
    assert "step 'clean' failed" in capsys.readouterr().err
    assert (lake / zones.archive_key("plans", "2025-01-03", "plans_20250103.csv")).exists()
    assert {p: p.read_bytes() for p in (lake / zones.STAGING).rglob("*") if p.is_file()} == staging_before
    report = orjson.loads((lake / zones.REPORTS / "run_2025-01-03.json").read_bytes())
    assert [s["status"] for s in report["steps"]] == ["succeeded", "failed", "not_run"]
    assert "Job A exploded" in report["steps"][1]["error"]
