"""File formats the pipeline accepts (docs/spec.md §2): the one place an extension is mapped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Format = Literal["csv", "ndjson"]

EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson"}
GZIP_EXTENSION = ".gz"


@dataclass(frozen=True)
class FileKind:
    """What a file name says about its content: ``format`` is None for an unsupported extension."""

    stem: str
    extension: str  # everything the name ends with that is an extension we know, e.g. ".csv.gz"
    format: Format | None
    gzipped: bool


def file_kind(file_name: str) -> FileKind:
    low = file_name.lower()
    gzipped = low.endswith(GZIP_EXTENSION)
    base = file_name[: -len(GZIP_EXTENSION)] if gzipped else file_name
    for ext, fmt in EXTENSIONS.items():
        if base.lower().endswith(ext) and len(base) > len(ext):
            return FileKind(base[: -len(ext)], file_name[len(base) - len(ext):], fmt, gzipped)
    dot = base.rfind(".")
    stem = base[:dot] if dot > 0 else base
    return FileKind(stem, file_name[len(stem):], None, gzipped)
