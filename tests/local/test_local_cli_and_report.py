"""``telco360 run``/``demo`` argument handling, the fail-fast runner, its progress display and the run
report, without Spark (the jobs are replaced by fakes here; tests/local/test_run_end_to_end.py runs the
real ones)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from rich.console import Console

from telco360 import zones
from telco360.cli import main
from telco360.local.demo import MARKER, DemoFolderInUse, prepare_folder
from telco360.local.gate import GateSummary
from telco360.local.progress import ConsoleProgress, spark_tasks
from telco360.local.report import to_html, to_markdown, write_report
from telco360.local.runner import run_pipeline, summary_lines
from telco360.reports import Build, CleanReport, DatasetCleanReport, SnapshotReport, StageReport

ReplaceJob = Callable[[str, Callable[..., object]], None]  # the replace_job fixture (tests/local/conftest.py)

D, D3 = "2025-01-02", "2025-01-03"
CLEAN_REPORT = CleanReport(run_date=D, datasets={"plans": DatasetCleanReport(
    dataset="plans", contract_version="1.0.0", files_read=1, rows_read=3, rows_clean=2, rows_quarantined=1,
    quarantine_reasons={"monthly_price:invalid_decimal": 1})})
NO_STATE = "no snapshot of 2025-01-01 to start from"


def _snapshot(day: str, build: Build, why_full: str | None, rows: int) -> SnapshotReport:
    return SnapshotReport(snapshot_date=day, build=build, why_full=why_full, manifest_key=zones.manifest_key(day),
                          row_counts=dict.fromkeys(zones.STAGING_TABLES, rows), seconds=1.5)


# Job B rebuilt D (from scratch) and rolled the existing D3 snapshot forward.
STAGE_REPORT = StageReport(run_date=D, through=D, snapshots=[
    _snapshot(D, "full", NO_STATE, 2), _snapshot(D3, "incremental", None, 3)])


@pytest.fixture
def fake_jobs(replace_job: ReplaceJob) -> list[str]:
    """Job A and Job B replaced by fakes that record their calls."""
    calls: list[str] = []

    def clean(_spark: Any, root: str, run_date: str) -> CleanReport:
        calls.append(f"clean {run_date} {root}")
        return CLEAN_REPORT

    def stage(_spark: Any, root: str, run_date: str, through: str | None = None) -> StageReport:
        calls.append(f"stage {run_date} {root}")
        return STAGE_REPORT

    replace_job("clean", clean)
    replace_job("stage", stage)
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
    assert isinstance(result.gate, GateSummary)
    assert result.gate.rejected_by_reason() == {"unsupported_extension": 1}
    assert (result.clean, result.stage) == (CLEAN_REPORT, STAGE_REPORT)


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
        tmp_path: Path, fake_jobs: list[str], replace_job: ReplaceJob, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a Job B that raises
    import telco360.local.cli as local_cli
    def no_room(*_args: Any) -> StageReport:
        raise ValueError("no room")

    replace_job("stage", no_room)
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
    # GIVEN a run whose gate rejected one file and whose Job A quarantined one record
    result = run_pipeline(_lake(tmp_path), D, spark=object())  # type: ignore[arg-type]
    # WHEN the report is written
    paths = write_report(result)
    markdown, html = to_markdown(result), to_html(result)
    # THEN it holds the step outcomes, the files and records by reason, and escapes what the files hold
    assert paths["html"] == tmp_path / zones.REPORTS / f"run_{D}.html"
    assert paths["markdown"].read_text() == markdown
    assert "| validate | succeeded |" in markdown
    assert "| rejected: unsupported_extension | 1 |" in markdown
    assert "| raw/notes.txt | unsupported_extension |" in markdown
    assert "| plans | 1 | 3 | 2 | 1 |" in markdown
    assert "| monthly_price:invalid_decimal | 1 |" in markdown
    assert "raw/notes.txt" in html and "<b>" not in html.split("<body>")[1]
    assert any("rows      2 clean, 1 quarantined by reason: monthly_price:invalid_decimal 1" in line
               for line in summary_lines(result))


def test_the_report_shows_each_snapshot_job_b_rebuilt_and_how(tmp_path: Path, fake_jobs: list[str]) -> None:
    # GIVEN a run whose Job B rebuilt D in full and rolled the later snapshot D3 forward
    result = run_pipeline(_lake(tmp_path), D, spark=object())  # type: ignore[arg-type]
    # WHEN the report and the terminal summary are made
    write_report(result)
    markdown, lines = to_markdown(result), summary_lines(result)
    # THEN each snapshot has its build (and why it was full) and row counts, and the rebuilt dates are named
    assert "| snapshot | build | customers | plans | customer_360 | activity | seconds | manifest |" in markdown
    assert f"| {D} | full ({NO_STATE}) | 2 | 2 | 2 | 2 | 1.5 | {zones.manifest_key(D)} |" in markdown
    assert f"| {D3} | incremental | 3 | 3 | 3 | 3 | 1.5 | {zones.manifest_key(D3)} |" in markdown
    assert f"Rebuilt {D}, {D3}: {D3} rolled forward" in markdown
    assert f"  staging   {D} full ({NO_STATE}): customers 2, plans 2, customer_360 2, activity 2" in lines
    assert f"  staging   rolled forward {D3} incremental: customers 3, plans 3, customer_360 3, activity 3" in lines
    assert f"  rebuilt   {D}, {D3}" in lines


def test_the_json_report_reads_back_as_the_typed_reports(tmp_path: Path, fake_jobs: list[str]) -> None:
    # GIVEN a run written as a JSON report
    result = run_pipeline(_lake(tmp_path), D, spark=object())  # type: ignore[arg-type]
    path = write_report(result)["json"]
    # WHEN a reader loads it
    steps = {s["step"]: s for s in orjson.loads(path.read_bytes())["steps"]}
    # THEN the jobs' outputs are their reports, field for field, and the gate's its summary
    assert CleanReport.from_dict(steps["clean"]["output"]) == CLEAN_REPORT
    assert StageReport.from_dict(steps["stage"]["output"]) == STAGE_REPORT
    assert steps["stage"]["output"]["rebuilt_dates"] == [D, D3]
    assert steps["validate"]["output"] == orjson.loads(orjson.dumps(result.gate.to_dict()))  # type: ignore[union-attr]


def test_console_progress_prints_step_lines_and_no_live_line_off_a_terminal(
        tmp_path: Path, fake_jobs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    run_pipeline(_lake(tmp_path), D, spark=object(), progress=ConsoleProgress(live=False))  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert out.count("✓ ") == 3 and "2 files: 1 archived (plans 1), 1 rejected" in out
    assert "\r" not in err and "\x1b" not in err and "▶ clean" in err


class _FakeSpark:
    """Just what ``spark_tasks`` reads: Spark's status tracker with one running stage."""

    def __init__(self) -> None:
        tracker = SimpleNamespace(getActiveStageIds=lambda: [3],
                                  getStageInfo=lambda _id: SimpleNamespace(numCompletedTasks=1, numTasks=4))
        self.sparkContext = SimpleNamespace(statusTracker=lambda: tracker)


def test_a_live_console_shows_files_and_spark_tasks_then_leaves_only_the_step_lines(
        tmp_path: Path, fake_jobs: list[str]) -> None:
    # GIVEN a terminal (rich console) on stderr and a Spark whose tracker reports a running stage
    screen, out = io.StringIO(), io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200)
    progress = ConsoleProgress(out=out, err=screen, live=True, console=console)
    # WHEN the pipeline runs
    run_pipeline(_lake(tmp_path), D, spark=_FakeSpark(), progress=progress)  # type: ignore[arg-type]
    # THEN the live display showed the gate's file counter and the last file, and Spark's task counts
    shown = screen.getvalue()
    assert "2/2" in shown and "raw/plans/plans_20250102.csv -> archived" in shown
    assert "stage 3: 1/4 tasks" in shown
    # AND the outcome lines went to stdout, without any of the live display's control codes
    assert out.getvalue().count("✓ ") == 3 and "\x1b" not in out.getvalue()


def test_spark_task_counts_are_best_effort() -> None:
    assert spark_tasks(_FakeSpark()) == "stage 3: 1/4 tasks"  # type: ignore[arg-type]
    assert spark_tasks(object()) == ""  # type: ignore[arg-type]  # a session shutting down: no counts, no crash


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


def test_every_command_is_on_the_command_line() -> None:
    import argparse

    from telco360.cli import build_parser

    # GIVEN the installed package WHEN the command line is built
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    # THEN every command module registered its commands
    assert {"generate", "validate", "run", "demo", "start", "backfill", "replay", "replay-rejected", "status",
            "contracts", "docs"} <= set(sub.choices)


def test_a_command_module_that_does_not_import_is_an_error_not_a_missing_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import telco360.cli as cli

    # GIVEN a command module that cannot be imported (a packaging error)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "telco360.not_packaged"))
    # WHEN the command line is built THEN the error surfaces instead of the command silently vanishing
    with pytest.raises(ModuleNotFoundError, match=r"telco360\.not_packaged"):
        cli.build_parser()


def test_the_jobs_import_before_any_spark_session_exists() -> None:
    import subprocess
    import sys

    # GIVEN a fresh interpreter with no SparkSession: `telco360 run` imports a job before it starts
    # Spark, and the Glue scripts import theirs before the job's session exists
    # WHEN the jobs' modules are imported THEN they import (nothing builds a Spark Column at import time)
    done = subprocess.run([sys.executable, "-c", "import telco360.spark.clean, telco360.spark.stage"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
