"""Moving files within a local lake folder: the same rules as ``telco360.storage.s3``, with a file system."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from telco360 import zones


class CopyNotConfirmed(OSError):
    """The copy does not hold what the source holds; the source is kept."""


def free_key(root: Path, key: str, token: Callable[[], str]) -> str:
    """``key`` if nothing is there yet, else ``zones.unique_key`` with a fresh ``token()``: two arrivals
    with one name on one day never overwrite each other."""
    candidate = key
    while (root / candidate).exists():
        candidate = zones.unique_key(key, token())
    return candidate


def move_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, confirm the copy's size, then delete the source. Raises
    CopyNotConfirmed (an OSError), with the source untouched and no partial copy left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    expected, copied = source.stat().st_size, target.stat().st_size
    if copied != expected:
        target.unlink(missing_ok=True)
        raise CopyNotConfirmed(f"copy of {source} to {target} has {copied} bytes, expected {expected}")
    source.unlink()
