"""The lake's zones (contract.md §1): every key and path the pipeline reads or writes is built here.

A lake root is ``s3://bucket[/prefix]`` on AWS, or a local folder (plain path or ``file://`` URI).
"""

from __future__ import annotations

from datetime import UTC, datetime

from telco360.formats import file_kind

RAW, ARCHIVE, REJECTED, CLEAN, QUARANTINE, STAGING = "raw", "archive", "rejected", "clean", "quarantine", "staging"
# Job B's carried state: what the next day's snapshot is built from (docs/warehouse.md, "State").
STATE = "state"
REPORTS = "_reports"
UNKNOWN_DATASET = "unknown"
STAGING_TABLES: tuple[str, ...] = ("customers", "plans", "customer_360", "activity")
REASON_SUFFIX = ".reason.json"
MANIFEST_NAME = "manifest.json"



def ingest_date_of(event_time: datetime) -> str:
    """The UTC date a file arrived on (the S3 event time)."""
    if event_time.tzinfo is not None:
        event_time = event_time.astimezone(UTC)
    return event_time.date().isoformat()


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts if p)])


def file_name_of(key: str) -> str:
    return key.rstrip("/").rsplit("/", 1)[-1]


def unique_file_name(file_name: str, token: str) -> str:
    """``logs.ndjson.gz`` + token -> ``logs__<token>.ndjson.gz``: a second arrival of the same name on
    the same day. The original name sorts before every suffixed one ('.' < '_'), so a later arrival is
    also the "greater" source file when staging picks the latest record."""
    kind = file_kind(file_name)
    return f"{kind.stem}__{token}{kind.extension}"


def partition(zone: str, dataset: str, ingest_date: str) -> str:
    return f"{zone}/{dataset}/ingest_date={ingest_date}"


def archive_key(dataset: str, ingest_date: str, file_name: str) -> str:
    return f"{partition(ARCHIVE, dataset, ingest_date)}/{file_name}"


def rejected_key(dataset: str | None, ingest_date: str, file_name: str) -> str:
    return f"{partition(REJECTED, dataset or UNKNOWN_DATASET, ingest_date)}/{file_name}"


def reason_key(rejected: str) -> str:
    return rejected + REASON_SUFFIX


def clean_path(root: str, dataset: str, ingest_date: str | None = None) -> str:
    return join(root, partition(CLEAN, dataset, ingest_date) if ingest_date else f"{CLEAN}/{dataset}")


def quarantine_path(root: str, dataset: str, ingest_date: str | None = None) -> str:
    return join(root, partition(QUARANTINE, dataset, ingest_date) if ingest_date else f"{QUARANTINE}/{dataset}")


def archive_path(root: str, dataset: str, ingest_date: str) -> str:
    return join(root, partition(ARCHIVE, dataset, ingest_date))


def staging_path(root: str, table: str, snapshot_date: str | None = None) -> str:
    sub = f"{STAGING}/{table}" + (f"/snapshot_date={snapshot_date}" if snapshot_date else "")
    return join(root, sub)


def state_path(root: str, name: str, snapshot_date: str | None = None) -> str:
    sub = f"{STATE}/{name}" + (f"/snapshot_date={snapshot_date}" if snapshot_date else "")
    return join(root, sub)


def manifest_key(snapshot_date: str) -> str:
    return f"{STAGING}/_manifests/snapshot_date={snapshot_date}/{MANIFEST_NAME}"


def manifest_path(root: str, snapshot_date: str) -> str:
    return join(root, manifest_key(snapshot_date))


def report_path(root: str, job: str, run_date: str) -> str:
    return join(root, f"{REPORTS}/{job}/run_date={run_date}/report.json")
