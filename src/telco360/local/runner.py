"""``telco360 run``: the pipeline on a local lake folder, in the state machine's order and with its
fail-fast rule: the gate over ``raw/`` (ingest_date = the run date), then Job A, then Job B (which
rebuilds the run date's snapshot and rolls the later existing ones forward). A failed step stops the
run; the steps after it do not start, so staging is left as it was."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from telco360 import runs, zones
from telco360.local.gate import GateSummary, run_gate
from telco360.local.progress import Progress
from telco360.reports import CleanReport, SnapshotReport, StageReport

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

VALIDATE, CLEAN, STAGE = "validate", "clean", "stage"
STEPS: tuple[str, ...] = (VALIDATE, CLEAN, STAGE)
STEP_TITLES: dict[str, str] = {
    VALIDATE: "the gate over raw/ (archive or reject each file)",
    CLEAN: "Job A, archive -> clean + quarantine",
    STAGE: "Job B, clean -> staging snapshots",
}

Status = Literal["succeeded", "failed", "skipped", "not_run"]
# What a step hands back: the gate's summary, Job A's report or Job B's report (None if it did not run).
StepOutput = GateSummary | CleanReport | StageReport | None
_Output = TypeVar("_Output", GateSummary, CleanReport, StageReport)


@dataclass
class StepResult:
    step: str
    status: Status
    seconds: float = 0.0
    output: StepOutput = None
    error: str | None = None


@dataclass
class RunResult:
    lake: Path
    run_date: str
    from_step: str
    started_at: datetime
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status == "failed"), None)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.step == name), None)

    def _output(self, name: str, kind: type[_Output]) -> _Output | None:
        step = self.step(name)
        return step.output if step is not None and isinstance(step.output, kind) else None

    @property
    def gate(self) -> GateSummary | None:
        """The gate's summary, when the gate ran and succeeded."""
        return self._output(VALIDATE, GateSummary)

    @property
    def clean(self) -> CleanReport | None:
        """Job A's report, when Job A ran and succeeded."""
        return self._output(CLEAN, CleanReport)

    @property
    def stage(self) -> StageReport | None:
        """Job B's report, when Job B ran and succeeded."""
        return self._output(STAGE, StageReport)


SparkFactory = Callable[[], "SparkSession"]


def _default_spark() -> SparkSession:
    from telco360.spark.session import local_spark

    return local_spark("telco360-run")


class _Steps:
    """The three steps, sharing one lazily started SparkSession (the gate needs none)."""

    def __init__(self, lake: Path, run_date: str, progress: Progress, spark: SparkSession | SparkFactory) -> None:
        self.lake, self.run_date, self.progress = lake, run_date, progress
        self._spark = spark

    @property
    def spark(self) -> SparkSession:
        if callable(self._spark):
            self._spark = self._spark()
        return self._spark

    @property
    def root(self) -> str:
        return str(self.lake.resolve())

    def validate(self) -> GateSummary:
        return run_gate(self.lake, self.run_date, on_file=self.progress.file_done)

    def clean(self) -> CleanReport:
        from telco360.spark.clean import run_clean

        with self.progress.spark_step(CLEAN, self.spark):
            return run_clean(self.spark, self.root, self.run_date)

    def stage(self) -> StageReport:
        from telco360.spark.stage import run_stage

        with self.progress.spark_step(STAGE, self.spark):
            return run_stage(self.spark, self.root, self.run_date)

    def body(self, name: str) -> Callable[[], StepOutput]:
        bodies: dict[str, Callable[[], StepOutput]] = {VALIDATE: self.validate, CLEAN: self.clean, STAGE: self.stage}
        return bodies[name]


def run_pipeline(lake: Path, run_date: str, *, from_step: str = VALIDATE,
                 spark: SparkSession | SparkFactory | None = None, progress: Progress | None = None) -> RunResult:
    """Run the steps from ``from_step`` on, stopping at the first failure. ``spark`` is reused when
    given (tests, the demo's several days); a factory or, by default, a local session is started only
    when a Spark step needs it."""
    runs.parse_run_date(run_date)
    if from_step not in STEPS:
        raise ValueError(f"unknown step {from_step!r}; one of {', '.join(STEPS)}")
    progress = progress or Progress()
    steps = _Steps(lake, run_date, progress, spark if spark is not None else _default_spark)
    result = RunResult(lake, run_date, from_step, datetime.now(UTC))
    first = STEPS.index(from_step)
    for index, name in enumerate(STEPS):
        if index < first:
            result.steps.append(StepResult(name, "skipped"))
            continue
        if not result.ok:
            result.steps.append(StepResult(name, "not_run"))
            continue
        progress.step_started(name, STEP_TITLES[name])
        result.steps.append(_run_step(name, steps.body(name)))
        progress.step_line(describe_step(result.steps[-1]))
    return result


def _run_step(name: str, body: Callable[[], StepOutput]) -> StepResult:
    started = time.monotonic()
    try:
        output = body()
    except Exception as exc:  # a step's failure is the run's outcome, reported, not a crash
        log.debug("step %s failed", name, exc_info=True)
        return StepResult(name, "failed", time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
    return StepResult(name, "succeeded", time.monotonic() - started, output=output)


# --- what each step did, in words -----------------------------------------------------------------
def counts(mapping: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in mapping.items()) or "none"


def build_text(snapshot: SnapshotReport) -> str:
    """``incremental``, or ``full (why)``: how Job B built a snapshot."""
    return f"full ({snapshot.why_full})" if snapshot.build == "full" and snapshot.why_full else snapshot.build


def rolled_forward(report: StageReport) -> list[SnapshotReport]:
    """The snapshots after the requested dates that Job B rebuilt because they depend on them."""
    return [s for s in report.snapshots if s.snapshot_date > report.through]


def snapshot_text(snapshot: SnapshotReport) -> str:
    return f"{snapshot.snapshot_date} {build_text(snapshot)}: {counts(snapshot.row_counts)}"


def gate_text(gate: GateSummary) -> str:
    return (f"{len(gate.outcomes)} files: {len(gate.accepted)} archived ({counts(gate.accepted_by_dataset())}), "
            f"{len(gate.rejected)} rejected ({counts(gate.rejected_by_reason())})")


def clean_text(report: CleanReport) -> str:
    parts = [f"{ds} {d.rows_clean} clean / {d.rows_quarantined} quarantined"
             for ds, d in sorted(report.datasets.items())]
    return "; ".join(parts) or "nothing archived for this date"


def stage_lines(report: StageReport) -> list[str]:
    """One line per snapshot Job B built: the requested ones, then those rolled forward."""
    return [("rolled forward " if s.snapshot_date > report.through else "") + snapshot_text(s)
            for s in report.snapshots]


def describe_step(step: StepResult) -> str:
    """The line (Job B: lines) printed when a step ends."""
    head = f"{'✓' if step.status == 'succeeded' else '✗'} {step.step:<8} {step.seconds:6.1f}s  "
    if step.status == "failed":
        return f"{head}FAILED: {step.error}"
    match step.output:
        case GateSummary() as gate:
            return head + gate_text(gate)
        case CleanReport() as report:
            return head + clean_text(report)
        case StageReport() as report:
            lines = stage_lines(report) or ["no snapshot built"]
            return "\n".join([head + lines[0], *(" " * len(head) + line for line in lines[1:])])
    return head


def output_locations(result: RunResult) -> dict[str, str]:
    root = str(result.lake.resolve())
    d = result.run_date
    return {
        "archive": zones.join(root, zones.ARCHIVE, "*", f"ingest_date={d}"),
        "rejected": zones.join(root, zones.REJECTED, "*", f"ingest_date={d}"),
        "clean": zones.join(root, zones.CLEAN, "*", f"ingest_date={d}"),
        "quarantine": zones.join(root, zones.QUARANTINE, "*", f"ingest_date={d}"),
        "staging": zones.join(root, zones.STAGING, "*", f"snapshot_date={d}"),
        "manifest": zones.manifest_path(root, d),
    }


def summary_lines(result: RunResult, *, with_outputs: bool = True) -> list[str]:
    """The end-of-run summary a person reads in the terminal."""
    failed = result.failed_step
    lines = [f"Run {result.run_date} on {result.lake}: "
             + ("SUCCEEDED" if result.ok else f"FAILED at step '{failed.step}'" if failed else "FAILED")]
    if gate := result.gate:
        lines.append(f"  files     {len(gate.accepted)} accepted, {len(gate.rejected)} rejected"
                     + (f" by reason: {counts(gate.rejected_by_reason())}" if gate.rejected else ""))
    if clean := result.clean:
        reasons = clean.quarantine_reasons()
        lines.append(f"  rows      {clean.rows_clean} clean, {clean.rows_quarantined} quarantined"
                     + (f" by reason: {counts(reasons)}" if reasons else ""))
    if stage := result.stage:
        lines.extend(f"  staging   {line}" for line in stage_lines(stage))
        lines.append(f"  rebuilt   {', '.join(stage.rebuilt_dates) or 'none'}")
    if result.ok and with_outputs:
        lines.append("  outputs:")
        lines.extend(f"    {zone:<10} {where}" for zone, where in output_locations(result).items())
    return lines
