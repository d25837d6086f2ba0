"""The validation gate over a local lake's ``raw/`` folder: the same core and routing rules as the
Lambda (docs/spec.md §1 and §3), with a folder as the storage instead of S3."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from telco360 import runs, zones
from telco360.gate.routing import destination_key, reason_document
from telco360.gate.verdict import Verdict
from telco360.storage import folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    source_key: str  # e.g. raw/activity_logs/year=2025/.../logs_20250101.ndjson
    destination_key: str  # archive/... or rejected/... (the unique name when the first was taken)
    verdict: Verdict
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source_key, "destination": self.destination_key, "size": self.size,
                **self.verdict.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileOutcome:
        verdict = {k: v for k, v in data.items() if k not in ("source", "destination", "size")}
        return cls(data["source"], data["destination"], Verdict.from_dict(verdict), int(data["size"]))


@dataclass
class GateSummary:
    """What the gate did with the files under raw/ for one ingest date (the local runner's gate step)."""

    ingest_date: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def accepted(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.verdict.valid]

    @property
    def rejected(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if not o.verdict.valid]

    def accepted_by_dataset(self) -> dict[str, int]:
        return dict(sorted(Counter(o.verdict.dataset or zones.UNKNOWN_DATASET for o in self.accepted).items()))

    def rejected_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(o.verdict.reason.value if o.verdict.reason else "?" for o in self.rejected).items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest_date": self.ingest_date,
            "files": len(self.outcomes),
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "accepted_by_dataset": self.accepted_by_dataset(),
            "rejected_by_reason": self.rejected_by_reason(),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateSummary:
        """Read back ``to_dict``'s output (the counts are derived, so only the outcomes are read)."""
        return cls(data["ingest_date"], [FileOutcome.from_dict(o) for o in data["outcomes"]])


# (index, total, outcome) after each file, so a front-end can show a counter
FileCallback = Callable[[int, int, FileOutcome], None]


def raw_files(lake: Path) -> list[Path]:
    """Every file under ``<lake>/raw/``, in a stable order (an S3 prefix has no folders, only keys)."""
    raw = lake / zones.RAW
    if not raw.is_dir():
        return []
    return sorted(p for p in raw.rglob("*") if p.is_file())


def key_of(lake: Path, path: Path) -> str:
    return path.relative_to(lake).as_posix()


def _arrival_token() -> str:
    # A UTC time stamp sorts later arrivals after earlier ones, as the staging "latest" rule expects.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def gate_file(lake: Path, path: Path, ingest_date: str) -> FileOutcome:
    from telco360.gate import validate_and_index

    source_key = key_of(lake, path)
    with path.open("rb") as stream:
        indexed = validate_and_index(stream, source_key)
    verdict = indexed.verdict
    target_key = folder.free_key(lake, destination_key(verdict, zones.file_name_of(source_key), ingest_date),
                                 _arrival_token)
    size = path.stat().st_size
    folder.move_file(path, lake / target_key)
    if indexed.lines is not None:  # a valid uncompressed file: Job A numbers its lines from the index
        index_path = lake / zones.line_index_key(target_key)
        index_path.parent.mkdir(exist_ok=True)
        index_path.write_bytes(indexed.lines.to_json())
    if not verdict.valid:
        reason = reason_document(verdict, source_key, target_key, ingest_date)
        (lake / zones.reason_key(target_key)).write_bytes(orjson.dumps(reason, option=orjson.OPT_INDENT_2))
    log.debug("%s -> %s", source_key, target_key)
    return FileOutcome(source_key, target_key, verdict, size)


def _prune_empty_folders(root: Path) -> None:
    # Producers' sub-folders (year=/month=/day=) would pile up empty after their files moved on.
    for sub in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(sub.iterdir()):
            sub.rmdir()


def run_gate(lake: Path, ingest_date: str, on_file: FileCallback | None = None) -> GateSummary:
    """Validate and route every file under ``<lake>/raw/`` with ``ingest_date``. A rejection is an
    outcome; an exception (unreadable file, failed copy) propagates and leaves that file in ``raw/``."""
    runs.parse_run_date(ingest_date)
    summary = GateSummary(ingest_date)
    files = raw_files(lake)
    for index, path in enumerate(files, start=1):
        outcome = gate_file(lake, path, ingest_date)
        summary.outcomes.append(outcome)
        if on_file:
            on_file(index, len(files), outcome)
    raw = lake / zones.RAW
    if raw.is_dir():
        _prune_empty_folders(raw)
    return summary
