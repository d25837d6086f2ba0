"""What ``telco360 run`` shows while it works: one line per step outcome on stdout, and, when stderr is
a terminal, a live rich progress display on stderr (the gate's files as a bar; for the jobs, elapsed
time and the task counts of Spark's running stages, read from Spark's status tracker at each refresh)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from telco360.local.gate import FileOutcome

# Spark's tracker is a call into the JVM: twice a second is enough for a person to see it move.
REFRESHES_PER_SECOND = 2


class Progress:
    """Receives the runner's events. The base class shows nothing: library callers and tests use it."""

    def step_started(self, step: str, description: str) -> None:
        """A step begins."""

    def step_line(self, text: str) -> None:
        """An outcome line for the step that just ended."""

    def file_done(self, index: int, total: int, outcome: FileOutcome) -> None:
        """The gate routed one file."""

    @contextmanager
    def spark_step(self, step: str, spark: SparkSession) -> Iterator[None]:
        """Around a Spark job."""
        yield


class CountColumn(MofNCompleteColumn):
    """``3/17`` for the gate's files; nothing for a Spark step, whose total is unknown."""

    def render(self, task: Task) -> Text:
        return super().render(task) if task.total is not None else Text("")


class DetailColumn(ProgressColumn):
    """A task's ``detail`` field; for a Spark step, the running stages' task counts, read at each refresh."""

    def render(self, task: Task) -> Text:
        spark = task.fields.get("spark")
        return Text(spark_tasks(spark) if spark is not None else str(task.fields.get("detail", "")))


class ConsoleProgress(Progress):
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, live: bool | None = None,
                 console: Console | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._live = self._err.isatty() if live is None else live
        self._console = console or Console(file=self._err, highlight=False)
        self._bars: RichProgress | None = None
        self._task: TaskID | None = None

    def _show(self, description: str, total: int | None,
              spark: SparkSession | None = None) -> tuple[RichProgress, TaskID] | None:
        """The live display's task for the current step, started on first use (None when not live)."""
        if not self._live:
            return None
        if self._bars is None:
            self._bars = RichProgress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), CountColumn(),
                TimeElapsedColumn(), DetailColumn(), console=self._console, transient=True,
                refresh_per_second=REFRESHES_PER_SECOND, redirect_stdout=False, redirect_stderr=False,
            )
            self._bars.start()
        if self._task is None:
            self._task = self._bars.add_task(description, total=total, spark=spark)
        return self._bars, self._task

    def _hide(self) -> None:
        # transient: the live lines vanish, leaving only the step lines
        if self._bars is not None:
            self._bars.stop()
        self._bars, self._task = None, None

    def step_started(self, step: str, description: str) -> None:
        self._hide()
        self._err.write(f"▶ {step}: {description}\n")
        self._err.flush()

    def step_line(self, text: str) -> None:
        self._hide()
        self._out.write(text + "\n")
        self._out.flush()

    def file_done(self, index: int, total: int, outcome: FileOutcome) -> None:
        shown = self._show("validate", total)
        if shown is None:
            return
        verdict = outcome.verdict
        what = "archived" if verdict.valid else f"rejected ({verdict.reason.value if verdict.reason else '?'})"
        bars, task = shown
        bars.update(task, completed=index, total=total, detail=f"{outcome.source_key} -> {what}")

    @contextmanager
    def spark_step(self, step: str, spark: SparkSession) -> Iterator[None]:
        # No total: Spark does not know how many stages a job will run, so the bar pulses.
        self._show(step, None, spark)
        try:
            yield
        finally:
            self._hide()


def spark_tasks(spark: SparkSession) -> str:
    """``stage 12: 3/8 tasks`` for the running stages, or '' (the tracker is best effort)."""
    try:
        tracker = spark.sparkContext.statusTracker()
        parts = []
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                parts.append(f"stage {stage_id}: {info.numCompletedTasks}/{info.numTasks} tasks")
        return ", ".join(parts)
    except Exception:  # the JVM may be busy or shutting down; progress is cosmetic
        return ""
