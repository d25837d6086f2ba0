"""Where a validated file goes (docs/spec.md §1 and §3). Pure: the Lambda (S3) and the local runner
(a folder) both ask this module, then do the copy with their own storage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telco360 import zones
from telco360.gate.verdict import Verdict


def destination_key(verdict: Verdict, file_name: str, ingest_date: str) -> str:
    """``archive/<dataset>/ingest_date=<D>/<file>`` for a valid file, else
    ``rejected/<dataset or unknown>/ingest_date=<D>/<file>``."""
    if verdict.valid:
        assert verdict.dataset, "a valid verdict always names its dataset"
        return zones.archive_key(verdict.dataset, ingest_date, file_name)
    return zones.rejected_key(verdict.dataset, ingest_date, file_name)


def reason_document(verdict: Verdict, source_key: str, rejected_key: str, ingest_date: str,
                    now: datetime | None = None) -> dict[str, Any]:
    """The ``<file>.reason.json`` written beside a rejected file. It names the problem and where it is,
    never a record value: raw files hold customer PII."""
    return {
        "source_key": source_key,
        "rejected_key": rejected_key,
        "ingest_date": ingest_date,
        "dataset": verdict.dataset,
        "format": verdict.format,
        "compressed": verdict.compressed,
        "reason": verdict.reason.value if verdict.reason else None,
        "message": verdict.message,
        "line": verdict.line,
        "rows_seen": verdict.rows,
        "rejected_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
