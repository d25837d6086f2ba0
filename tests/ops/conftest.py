"""The deployed stack in moto, found by the stack name in the repository's samconfig.toml."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ops_moto_stack import REPO, Deployed, moto_stack

from telco360.ops.stack import read_deployment

SAMCONFIG = REPO / "samconfig.toml"


def _stack(monkeypatch: pytest.MonkeyPatch, failing_jobs: tuple[str, ...]) -> Iterator[Deployed]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with moto_stack(monkeypatch, read_deployment(SAMCONFIG).stack_name, failing_jobs) as deployed:
        yield deployed


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    yield from _stack(monkeypatch, ())


@pytest.fixture
def failing_clean_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    yield from _stack(monkeypatch, ("clean",))
