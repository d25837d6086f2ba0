"""What the validation gate decides about one file (docs/spec.md §3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from telco360.formats import Format


class Reason(StrEnum):
    """Every reason a file can be rejected for. The list is fixed and documented (docs/gate.md);
    alerts, metrics and reason files carry these codes, never record values."""

    UNKNOWN_DATASET = "unknown_dataset"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    FORMAT_MISMATCH = "format_mismatch"  # content does not match the extension (e.g. JSON in .csv)
    EMPTY_FILE = "empty_file"  # no data rows
    INVALID_UTF8 = "invalid_utf8"
    CORRUPT_GZIP = "corrupt_gzip"  # corrupt or truncated gzip stream
    CSV_NO_HEADER = "csv_no_header"
    CSV_MISSING_REQUIRED_COLUMN = "csv_missing_required_column"
    CSV_DUPLICATE_COLUMN = "csv_duplicate_column"  # after name normalization
    CSV_FIELD_COUNT = "csv_field_count"  # a row whose field count differs from the header
    CSV_UNTERMINATED_QUOTE = "csv_unterminated_quote"
    CSV_MALFORMED_QUOTE = "csv_malformed_quote"  # a quote inside an unquoted field, or text after a closing quote
    NDJSON_INVALID_JSON = "ndjson_invalid_json"  # a non-blank line that is not strict JSON
    NDJSON_NOT_OBJECT = "ndjson_not_object"  # valid JSON, but not an object
    NDJSON_MISSING_REQUIRED_COLUMN = "ndjson_missing_required_column"  # absent from every record
    RECORD_TOO_LONG = "record_too_long"  # one record over 16 MiB: memory stays bounded, so refuse it
    VALIDATOR_ERROR = "validator_error"  # the validator itself failed; the file is kept in rejected/
    VALIDATION_TIMEOUT = "validation_timeout"  # the Lambda was about to time out


@dataclass(frozen=True)
class Verdict:
    valid: bool
    dataset: str | None
    format: Format | None
    compressed: bool
    rows: int  # data rows (records) seen before the verdict
    bytes_read: int  # bytes consumed from the stream (compressed size for .gz)
    reason: Reason | None = None
    message: str = ""
    line: int | None = None  # 1-based line of the decompressed file where validation failed

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reason"] = self.reason.value if self.reason else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        """Read back ``to_dict``'s output (unknown keys are an error: a misspelling must not pass)."""
        fields = dict(data)
        reason = fields.pop("reason", None)
        return cls(**fields, reason=Reason(reason) if reason else None)
