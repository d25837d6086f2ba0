"""Fixtures of the local runner's tests."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import pytest

# step -> (module, function) the runner imports when the step runs
JOBS: dict[str, tuple[str, str]] = {
    "clean": ("telco360.spark.clean", "run_clean"),
    "stage": ("telco360.spark.stage", "run_stage"),
}
ReplaceJob = Callable[[str, Callable[..., object]], None]


@pytest.fixture
def replace_job(monkeypatch: pytest.MonkeyPatch) -> ReplaceJob:
    """``replace_job("clean", fake)`` makes the runner call ``fake`` for Job A (``"stage"``: Job B). The
    stand-in module replaces the job's module for the test, so the real one is never imported: the
    runner's own behaviour is tested without Spark, whatever state the jobs' code is in."""

    def replace(step: str, function: Callable[..., object]) -> None:
        module_name, function_name = JOBS[step]
        module = ModuleType(module_name)
        setattr(module, function_name, function)
        monkeypatch.setitem(sys.modules, module_name, module)

    return replace
