"""The lake's zones (docs/spec.md §1): every key and path the pipeline reads or writes is built and
parsed here.

A lake root is ``s3://bucket[/prefix]`` on AWS, or a local folder (plain path or ``file://`` URI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from telco360.formats import file_kind

RAW, ARCHIVE, REJECTED, CLEAN, QUARANTINE, STAGING = "raw", "archive", "rejected", "clean", "quarantine", "staging"
# Job B's carried state: what the next day's snapshot is built from (docs/warehouse.md, "State").
STATE = "state"
REPORTS = "_reports"
UNKNOWN_DATASET = "unknown"
STAGING_TABLES: tuple[str, ...] = ("customers", "plans", "customer_360", "activity")
REASON_SUFFIX = ".reason.json"
# Beside each archived uncompressed file, the gate's index of its lines (telco360.gate.lines).
LINE_INDEX_FOLDER = "_lines"
MANIFEST_NAME = "manifest.json"
INGEST_DATE, SNAPSHOT_DATE = "ingest_date", "snapshot_date"

# <zone>/<dataset>/ingest_date=<D>/<file>: archive/, rejected/, clean/ and quarantine/ keys.
_PARTITION_KEY = re.compile(
    r"(?P<zone>[^/]+)/(?P<dataset>[^/]+)/ingest_date=(?P<date>\d{4}-\d{2}-\d{2})/(?P<file>[^/]+)")


@dataclass(frozen=True)
class PartitionKey:
    """A key parsed by ``parse_partition_key``."""

    zone: str
    dataset: str
    ingest_date: str
    file_name: str


def parse_partition_key(key: str) -> PartitionKey:
    """``archive/plans/ingest_date=2025-01-02/plans.csv`` -> its parts. Raises ValueError for any other
    shape (a folder, a key under raw/ or staging/, a nested file)."""
    match = _PARTITION_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"{key!r} is not a <zone>/<dataset>/{INGEST_DATE}=<YYYY-MM-DD>/<file> key")
    return PartitionKey(match["zone"], match["dataset"], match["date"], match["file"])


def partition_date(path: str, column: str = INGEST_DATE) -> str | None:
    """The ``<D>`` of the first ``<column>=<D>`` folder in a key, path or URI (``…/ingest_date=<D>/…``,
    as Spark and the local runner see partition folders), None when there is none. ``<D>`` must look
    like ``YYYY-MM-DD``."""
    match = re.search(rf"(?:^|/){re.escape(column)}=(\d{{4}}-\d{{2}}-\d{{2}})(?:/|$)", path)
    return match.group(1) if match else None


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


def unique_key(key: str, token: str) -> str:
    """``key`` with ``unique_file_name`` applied to its file name, in the same folder."""
    name = file_name_of(key)
    return key[: len(key) - len(name)] + unique_file_name(name, token)


def raw_key(dataset: str | None, file_name: str) -> str:
    """Where a file enters the lake: ``raw/<dataset>/<file>``, or ``raw/<file>`` when its dataset is
    unknown (the gate then detects it from the name or content)."""
    if dataset is None or dataset == UNKNOWN_DATASET:
        return f"{RAW}/{file_name}"
    return f"{RAW}/{dataset}/{file_name}"


def partition(zone: str, dataset: str, ingest_date: str) -> str:
    return f"{zone}/{dataset}/ingest_date={ingest_date}"


def archive_key(dataset: str, ingest_date: str, file_name: str) -> str:
    return f"{partition(ARCHIVE, dataset, ingest_date)}/{file_name}"


def rejected_key(dataset: str | None, ingest_date: str, file_name: str) -> str:
    return f"{partition(REJECTED, dataset or UNKNOWN_DATASET, ingest_date)}/{file_name}"


def reason_key(rejected: str) -> str:
    return rejected + REASON_SUFFIX


def line_index_key(archive_key: str) -> str:
    """``archive/<dataset>/ingest_date=<D>/<file>`` -> ``…/ingest_date=<D>/_lines/<file>.json``: the line
    index of an archived file, in its partition but out of the way of its data. Readers of the archive
    skip every name that starts with ``_`` (as ``LakeFS.list_files`` does), so Job A never reads an
    index as a data file."""
    name = file_name_of(archive_key)
    return f"{archive_key[: len(archive_key) - len(name)]}{LINE_INDEX_FOLDER}/{name}.json"


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
