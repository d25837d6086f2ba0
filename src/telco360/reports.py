"""The typed reports the jobs write and every reader uses: Job A's run report, Job B's snapshot
manifest and run report, and the quarantine reason codes. A misspelled field is an error here, never
a silent zero. Each report is plain data: ``to_dict`` for JSON, ``from_dict`` to read it back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

# The column of a reason that concerns the whole record (it did not parse at all).
RECORD = "_record"


class ReasonCode(StrEnum):
    """Why a record went to quarantine (docs/spec.md §2): one code per broken rule."""

    REQUIRED = "required"  # a required column is null or missing
    INVALID_STRING = "invalid_string"  # NDJSON: a fraction, exponent, object or array in a string column
    INVALID_ENUM = "invalid_enum"
    INVALID_DATE = "invalid_date"
    INVALID_TIMESTAMP = "invalid_timestamp"
    INVALID_INT = "invalid_int"
    INVALID_DECIMAL = "invalid_decimal"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_JSON = "invalid_json"
    MALFORMED = "malformed"  # the record is not a JSON object (column ``_record``)

    @classmethod
    def invalid(cls, column_type: str) -> ReasonCode:
        """The code for a value that does not cast to ``column_type`` (a contract column type)."""
        return cls(f"invalid_{column_type}")


@dataclass(frozen=True)
class QuarantineReason:
    column: str
    code: ReasonCode

    def __str__(self) -> str:
        return f"{self.column}:{self.code.value}"


# --- Job A ------------------------------------------------------------------------------------------
@dataclass
class FileReport:
    file: str
    format: str | None
    rows: int  # records read (clean + quarantined): the gate's row count for the same file
    rows_quarantined: int
    unknown_columns: list[str] = field(default_factory=list)


@dataclass
class DatasetCleanReport:
    dataset: str
    contract_version: str
    files_read: int
    rows_read: int
    rows_clean: int
    rows_quarantined: int
    quarantine_reasons: dict[str, int] = field(default_factory=dict)  # "column:code" -> records
    columns_dropped: dict[str, int] = field(default_factory=dict)  # unknown column -> records carrying it
    files: list[FileReport] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetCleanReport:
        return cls(**{**data, "files": [FileReport(**f) for f in data["files"]]})


@dataclass
class CleanReport:
    run_date: str
    datasets: dict[str, DatasetCleanReport]
    job: Literal["clean"] = "clean"

    @property
    def rows_clean(self) -> int:
        return sum(d.rows_clean for d in self.datasets.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(d.rows_quarantined for d in self.datasets.values())

    def quarantine_reasons(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for part in self.datasets.values():
            for code, n in part.quarantine_reasons.items():
                totals[code] = totals.get(code, 0) + n
        return dict(sorted(totals.items()))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CleanReport:
        return cls(run_date=data["run_date"],
                   datasets={k: DatasetCleanReport.from_dict(v) for k, v in data["datasets"].items()})


# --- Job B ------------------------------------------------------------------------------------------
Build = Literal["incremental", "full"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # Spark's simpleString: string, bigint, decimal(12,2), date, timestamp, boolean
    nullable: bool


@dataclass
class TableManifest:
    path: str
    files: list[str]
    row_count: int
    schema: list[ColumnSpec]
    contract_versions: dict[str, str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableManifest:
        return cls(**{**data, "schema": [ColumnSpec(**c) for c in data["schema"]]})


@dataclass
class Manifest:
    """``staging/_manifests/snapshot_date=<D>/manifest.json``: written last, so its presence means the
    snapshot (and the state carried from it) is complete."""

    snapshot_date: str
    created_at: str
    build: Build
    tables: dict[str, TableManifest]
    state: dict[str, TableManifest] = field(default_factory=dict)  # what the next day's build starts from

    @property
    def row_counts(self) -> dict[str, int]:
        return {t: m.row_count for t, m in self.tables.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            snapshot_date=data["snapshot_date"], created_at=data["created_at"], build=data["build"],
            tables={k: TableManifest.from_dict(v) for k, v in data["tables"].items()},
            state={k: TableManifest.from_dict(v) for k, v in data.get("state", {}).items()},
        )


@dataclass
class SnapshotReport:
    snapshot_date: str
    build: Build
    why_full: str | None  # why the state of the day before could not be used (None when incremental)
    manifest_key: str  # relative to the lake root
    row_counts: dict[str, int]
    seconds: float


@dataclass
class StageReport:
    """One Job B run: the snapshots it (re)built, in date order; the first ones are the requested
    dates, the rest later snapshots rolled forward."""

    run_date: str
    through: str
    snapshots: list[SnapshotReport] = field(default_factory=list)
    job: Literal["stage"] = "stage"

    @property
    def rebuilt_dates(self) -> list[str]:
        return [s.snapshot_date for s in self.snapshots]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rebuilt_dates": self.rebuilt_dates}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageReport:
        return cls(run_date=data["run_date"], through=data["through"],
                   snapshots=[SnapshotReport(**s) for s in data["snapshots"]])
