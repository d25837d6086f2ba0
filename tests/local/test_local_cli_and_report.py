"""``telco360 run``/``demo`` argument handling, the fail-fast runner and the run report, without Spark
(the jobs are replaced by fakes here; tests/local/test_run_end_to_end.py runs the real ones)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from telco360 import zones
from telco360.cli import main
from telco360.local.demo import MARKER, DemoFolderInUse, prepare_folder
from telco360.local.progress import ConsoleProgress
from telco360.local.report import to_html, to_markdown, write_report
from telco360.local.runner import run_pipeline, summary_lines

D = "2025-01-02"
CLEAN_REPORT = {"job": "clean", "run_date": D, "datasets": {
    "plans": {"files_read": 1, "rows_read": 3, "rows_clean": 2, "rows_quarantined": 1,
              "quarantine_reasons": {"monthly_price:invalid_decimal": 1}, "columns_dropped": {}, "files": []}}}
MANIFEST = {"snapshot_date": D, "tables": {t: {"path": f"staging/{t}", "files": ["a.parquet"], "row_count": 2}
                                           for t in zones.STAGING_TABLES}}


@pytest.fixture
def fake_jobs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Job A and Job B replaced by fakes that record their calls."""
    import telco360.spark.clean as job_a
    import telco360.spark.stage as job_b

    calls: list[str] = []

    def clean(_spark: Any, root: str, run_date: str) -> dict[str, Any]:
        calls.append(f"clean {run_date} {root}")
        return CLEAN_REPORT

    def stage(_spark: Any, root: str, run_date: str) -> dict[str, Any]:
        calls.append(f"stage {run_date} {root}")
        return MANIFEST

    monkeypatch.setattr(job_a, "run_clean", clean)
    monkeypatch.setattr(job_b, "run_stage", stage)
    return calls


def _lake(tmp_path: Path) -> Path:
    plans = tmp_path / "raw/plans/plans_20250102.csv"
    plans.parent.mkdir(parents=True)
    plans.write_bytes(b"plan_id,plan_name\nP1,Basic\n")
    (tmp_path / "raw/notes.txt").write_bytes(b"hello <b>\n")
    return tmp_path


def test_steps_run_in_order_on_the_lake_and_date(tmp_path: Path, fake_jobs: list[str]) -> None:
    lake = _lake(tmp_path)
    result = run_pipeline(lake, D, spark=object())  # type: ignore[arg-type]
    assert result.ok
    assert fake_jobs == [f"clean {D} {lake.resolve()}", f"stage {D} {lake.resolve()}"]
    assert result.step("validate").output["rejected_by_reason"] == {"unsupported_extension": 1}  # type: ignore[union-attr]


def test_a_failing_gate_stops_the_run_before_spark_is_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a gate that raises (an unreadable file), and a Spark factory that records being called
    import telco360.local.runner as runner

    def broken_gate(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError("raw/plans/plans.csv")

    monkeypatch.setattr(runner, "run_gate", broken_gate)
    started: list[str] = []

    # WHEN the pipeline runs
    result = run_pipeline(_lake(tmp_path), D, spark=lambda: started.append("spark"))  # type: ignore[arg-type,func-returns-value]

    # THEN validate failed, the jobs did not run, and no SparkSession was ever asked for
    assert [s.status for s in result.steps] == ["failed", "not_run", "not_run"]
    assert result.failed_step is not None and "PermissionError" in (result.failed_step.error or "")
    assert started == []


def test_a_failing_step_stops_the_run_and_the_cli_names_it(
        tmp_path: Path, fake_jobs: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a Job B that raises
    import telco360.local.cli as local_cli
    import telco360.spark.stage as job_b

    monkeypatch.setattr(job_b, "run_stage", lambda *_: (_ for _ in ()).throw(ValueError("no room")))
    monkeypatch.setattr(local_cli, "_console_spark", lambda _verbose: object())
    lake = _lake(tmp_path)

    # WHEN the run goes through the CLI
    code = main(["run", "--lake", str(lake), "--date", D])

    # THEN it exits 1 naming the step; the report says which steps ran
    out, err = capsys.readouterr()
    assert code == 1
    assert "step 'stage' failed" in err and "ValueError: no room" in err
    assert f"Run {D} on {lake}: FAILED at step 'stage'" in out
    report = orjson.loads((lake / zones.REPORTS / f"run_{D}.json").read_bytes())
    assert [(s["step"], s["status"]) for s in report["steps"]] == [
        ("validate", "succeeded"), ("clean", "succeeded"), ("stage", "failed")]


def test_from_clean_skips_the_gate_and_leaves_raw_alone(tmp_path: Path, fake_jobs: list[str]) -> None:
    lake = _lake(tmp_path)
    result = run_pipeline(lake, D, from_step="clean", spark=object())  # type: ignore[arg-type]
    assert [s.status for s in result.steps] == ["skipped", "succeeded", "succeeded"]
    assert (lake / "raw/plans/plans_20250102.csv").exists()


def test_the_report_shows_counts_reasons_and_durations(tmp_path: Path, fake_jobs: list[str]) -> None:
    result = run_pipeline(_lake(tmp_path), D, spark=object())  # type: ignore[arg-type]
    paths = write_report(result)
    markdown, html = to_markdown(result), to_html(result)
    assert paths["html"] == tmp_path / zones.REPORTS / f"run_{D}.html"
    assert paths["markdown"].read_text() == markdown
    assert "| rejected: unsupported_extension | 1 |" in markdown
    assert "| monthly_price:invalid_decimal | 1 |" in markdown
    assert "| customer_360 | 2 | 1 | staging/customer_360 |" in markdown
    assert "| validate | succeeded |" in markdown
    assert "raw/notes.txt" in html and "<b>" not in html.split("<body>")[1].replace("<b>", "", 0)
    assert any("rows      2 clean, 1 quarantined" in line for line in summary_lines(result))


def test_console_progress_prints_step_lines_and_no_live_line_off_a_terminal(
        tmp_path: Path, fake_jobs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    run_pipeline(_lake(tmp_path), D, spark=object(), progress=ConsoleProgress(live=False))  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert out.count("✓ ") == 3 and "2 files: 1 archived (plans 1), 1 rejected" in out
    assert "\r" not in err and "▶ clean" in err


@pytest.mark.parametrize("argv", [
    ["run", "--lake", ".", "--date", "2025-02-29"],
    ["run", "--lake", ".", "--date", "2025-01-02", "--from", "load"],
    ["run", "--date", "2025-01-02"],
    ["demo", "--customers", "0"],
    ["demo", "--days", "two"],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_a_missing_lake_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--lake", str(tmp_path / "nope"), "--date", D]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_the_demo_only_wipes_a_folder_it_made(tmp_path: Path) -> None:
    # GIVEN a folder with someone's file, and a previous demo folder
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    ours = tmp_path / "ours"
    prepare_folder(ours)
    (ours / "old.parquet").write_text("x")

    # THEN theirs is refused and left intact; ours is rebuilt empty (but for the marker)
    with pytest.raises(DemoFolderInUse):
        prepare_folder(theirs)
    assert (theirs / "keep.txt").exists()
    prepare_folder(ours)
    assert [p.name for p in ours.iterdir()] == [MARKER]
