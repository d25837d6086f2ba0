"""Readers for generated files, shared by the generator tests."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from telco360.generator import GenerationSummary


def read_text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def read_records(path: Path) -> list[dict[str, object]]:
    """The records of a generated feed file (NDJSON or CSV, maybe gzipped), keys as written."""
    text = read_text(path)
    if ".csv" in path.name:
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines()]


def file_fault_paths(summary: GenerationSummary) -> set[str]:
    return {f["path"] for f in summary.faults if f["level"] == "file"}
