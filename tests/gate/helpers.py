"""Helpers for the gate's tests."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from telco360.gate.core import validate_stream
from telco360.gate.verdict import Verdict

# Third-party inputs vendored with their licences and origins (tests/data/README.md).
DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "telco-sample"
TESTSUITES = DATA

# Tiny chunks put every line break, quote, CRLF and UTF-8 sequence on a chunk boundary somewhere.
CHUNK_SIZES = (1, 2, 3, 5, 8, 64, 1 << 20)


def validate(data: bytes, key: str, dataset: str | None = None) -> Verdict:
    """The verdict on ``data``, which must not depend on how the stream is chunked."""
    verdicts = {size: validate_stream(io.BytesIO(data), key, dataset, chunk_size=size) for size in CHUNK_SIZES}
    first = verdicts[CHUNK_SIZES[-1]]
    for size, verdict in verdicts.items():
        # A rejection stops reading early, so only bytes_read may depend on the chunk size.
        same = verdict == first or (not first.valid and replace(verdict, bytes_read=first.bytes_read) == first)
        assert same, f"chunk size {size} gives {verdict}, 1 MiB gives {first}"
    return first
