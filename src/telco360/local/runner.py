"""``telco360 run``: the pipeline on a local lake folder, in the state machine's order and with its
fail-fast rule: the gate over ``raw/`` (ingest_date = the run date), then Job A, then Job B. A failed
step stops the run; the steps after it do not start, so staging is left as it was."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from telco360 import runs, zones
from telco360.local.gate import run_gate
from telco360.local.progress import Progress

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

VALIDATE, CLEAN, STAGE = "validate", "clean", "stage"
STEPS: tuple[str, ...] = (VALIDATE, CLEAN, STAGE)
STEP_TITLES: dict[str, str] = {
    VALIDATE: "the gate over raw/ (archive or reject each file)",
    CLEAN: "Job A, archive -> clean + quarantine",
    STAGE: "Job B, clean -> staging snapshot",
}
Status = Literal["succeeded", "failed", "skipped", "not_run"]


@dataclass
class StepResult:
    step: str
    status: Status
    seconds: float = 0.0
    output: dict[str, Any] = field(default_factory=dict)  # gate summary, Job A report or Job B manifest
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

    def validate(self) -> dict[str, Any]:
        summary = run_gate(self.lake, self.run_date, on_file=self.progress.file_done)
        return summary.to_dict()

    def clean(self) -> dict[str, Any]:
        from telco360.spark.clean import run_clean

        with self.progress.spark_step(CLEAN, self.spark):
            return run_clean(self.spark, self.root, self.run_date)

    def stage(self) -> dict[str, Any]:
        from telco360.spark.stage import run_stage

        with self.progress.spark_step(STAGE, self.spark):
            return run_stage(self.spark, self.root, self.run_date)


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
        result.steps.append(_run_step(name, getattr(steps, name)))
        progress.step_line(describe_step(result.steps[-1]))
    return result


def _run_step(name: str, body: Callable[[], dict[str, Any]]) -> StepResult:
    started = time.monotonic()
    try:
        output = body()
    except Exception as exc:  # a step's failure is the run's outcome, reported, not a crash
        log.debug("step %s failed", name, exc_info=True)
        return StepResult(name, "failed", time.monotonic() - started, error=f"{type(exc).__name__}: {exc}")
    return StepResult(name, "succeeded", time.monotonic() - started, output=output or {})


# --- what each step did, in words -----------------------------------------------------------------
def _counts(mapping: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in mapping.items()) or "none"


def describe_step(step: StepResult) -> str:
    head = f"{'✓' if step.status == 'succeeded' else '✗'} {step.step:<8} {step.seconds:6.1f}s  "
    if step.status == "failed":
        return f"{head}FAILED: {step.error}"
    out = step.output
    if step.step == VALIDATE:
        return (f"{head}{out.get('files', 0)} files: {out.get('accepted', 0)} archived "
                f"({_counts(out.get('accepted_by_dataset', {}))}), {out.get('rejected', 0)} rejected "
                f"({_counts(out.get('rejected_by_reason', {}))})")
    if step.step == CLEAN:
        datasets = out.get("datasets", {})
        parts = [f"{ds} {d.get('rows_clean', 0)} clean / {d.get('rows_quarantined', 0)} quarantined"
                 for ds, d in sorted(datasets.items())]
        return f"{head}{'; '.join(parts) or 'nothing archived for this date'}"
    tables = out.get("tables", {})
    return f"{head}staging rows: {_counts({t: v.get('row_count', 0) for t, v in tables.items()})}"


def clean_totals(result: RunResult) -> tuple[int, int, dict[str, int]]:
    """(rows clean, rows quarantined, quarantine reasons) over every dataset Job A processed."""
    step = result.step(CLEAN)
    clean = quarantined = 0
    reasons: dict[str, int] = {}
    for d in ((step.output if step else {}).get("datasets") or {}).values():
        clean += int(d.get("rows_clean", 0))
        quarantined += int(d.get("rows_quarantined", 0))
        for code, n in (d.get("quarantine_reasons") or {}).items():
            reasons[code] = reasons.get(code, 0) + int(n)
    return clean, quarantined, dict(sorted(reasons.items()))


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
    lines = [f"Run {result.run_date} on {result.lake}: " + ("SUCCEEDED" if result.ok else
             f"FAILED at step '{result.failed_step.step}'" if result.failed_step else "FAILED")]
    gate = result.step(VALIDATE)
    if gate and gate.status == "succeeded":
        out = gate.output
        lines.append(f"  files     {out['accepted']} accepted, {out['rejected']} rejected"
                     + (f" by reason: {_counts(out['rejected_by_reason'])}" if out["rejected"] else ""))
    clean = result.step(CLEAN)
    if clean and clean.status == "succeeded":
        rows_clean, rows_quarantined, reasons = clean_totals(result)
        lines.append(f"  rows      {rows_clean} clean, {rows_quarantined} quarantined"
                     + (f" by reason: {_counts(reasons)}" if reasons else ""))
    stage = result.step(STAGE)
    if stage and stage.status == "succeeded":
        tables = stage.output.get("tables", {})
        lines.append(f"  staging   {_counts({t: v.get('row_count', 0) for t, v in tables.items()})}")
    if result.ok and with_outputs:
        lines.append("  outputs:")
        lines.extend(f"    {zone:<10} {where}" for zone, where in output_locations(result).items())
    return lines
