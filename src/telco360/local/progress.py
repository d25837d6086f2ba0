"""What ``telco360 run`` shows while it works: one line per step outcome on stdout, and a live
progress line on stderr (a file counter for the gate, elapsed time and Spark task counts for the
jobs) when stderr is a terminal."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from telco360.local.gate import FileOutcome

_CLEAR = "\r\033[K"


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


class ConsoleProgress(Progress):
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, live: bool | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self._live = self._err.isatty() if live is None else live
        self._lock = threading.Lock()

    def _status(self, text: str) -> None:
        if self._live:
            with self._lock:
                self._err.write(f"{_CLEAR}{text}")
                self._err.flush()

    def _clear(self) -> None:
        if self._live:
            with self._lock:
                self._err.write(_CLEAR)
                self._err.flush()

    def step_started(self, step: str, description: str) -> None:
        self._clear()
        self._err.write(f"▶ {step}: {description}\n")
        self._err.flush()

    def step_line(self, text: str) -> None:
        self._clear()
        self._out.write(text + "\n")
        self._out.flush()

    def file_done(self, index: int, total: int, outcome: FileOutcome) -> None:
        verdict = outcome.verdict
        what = "archived" if verdict.valid else f"rejected ({verdict.reason.value if verdict.reason else '?'})"
        self._status(f"  validate {index}/{total} files  {outcome.source_key} -> {what}")

    @contextmanager
    def spark_step(self, step: str, spark: SparkSession) -> Iterator[None]:
        if not self._live:
            yield
            return
        done = threading.Event()
        started = time.monotonic()
        ticker = threading.Thread(target=self._tick, args=(step, spark, started, done), daemon=True)
        ticker.start()
        try:
            yield
        finally:
            done.set()
            ticker.join()
            self._clear()

    def _tick(self, step: str, spark: SparkSession, started: float, done: threading.Event) -> None:
        while not done.wait(0.5):
            self._status(f"  {step} {time.monotonic() - started:5.0f}s{spark_tasks(spark)}")


def spark_tasks(spark: Any) -> str:
    """`` stage 12: 3/8 tasks`` for the running stages, or '' (the tracker is best effort)."""
    try:
        tracker = spark.sparkContext.statusTracker()
        parts = []
        for stage_id in tracker.getActiveStageIds():
            info = tracker.getStageInfo(stage_id)
            if info is not None:
                parts.append(f"stage {stage_id}: {info.numCompletedTasks}/{info.numTasks} tasks")
        return ("  " + ", ".join(parts)) if parts else ""
    except Exception:  # the JVM may be busy or shutting down; progress is cosmetic
        return ""
