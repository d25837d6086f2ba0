"""Helpers for the gate's tests."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from telco360.gate.core import Indexed, validate_and_index, validate_stream
from telco360.gate.lines import line_index
from telco360.gate.verdict import Verdict

# Third-party inputs vendored with their licences and origins (tests/data/README.md).
DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLE = DATA / "telco-sample"
TESTSUITES = DATA

# Tiny chunks put every line break, quote, CRLF and UTF-8 sequence on a chunk boundary somewhere.
CHUNK_SIZES = (1, 2, 3, 5, 8, 64, 1 << 20)
# A small index step puts index points inside lines, on CRLFs and in the BOM.
INDEX_STEP = 7


def validate(data: bytes, key: str, dataset: str | None = None) -> Verdict:
    """The verdict on ``data``, which must not depend on how the stream is chunked; every test that
    uses it also checks that ``validate_and_index`` gives the same verdict, with the right index."""
    return validate_indexed(data, key, dataset).verdict


def validate_indexed(data: bytes, key: str, dataset: str | None = None, index_step: int = INDEX_STEP) -> Indexed:
    """``validate_and_index`` over every chunk size: one verdict, one index (that of ``data``'s bytes for
    a valid uncompressed file, else none), and the verdict ``validate_stream`` gives."""
    results = {size: validate_and_index(io.BytesIO(data), key, dataset, chunk_size=size, index_step=index_step)
               for size in CHUNK_SIZES}
    first = results[CHUNK_SIZES[-1]]
    for size, result in results.items():
        verdict = result.verdict
        # A rejection stops reading early, so only bytes_read may depend on the chunk size.
        same = verdict == first.verdict or (
            not first.verdict.valid and replace(verdict, bytes_read=first.verdict.bytes_read) == first.verdict)
        assert same, f"chunk size {size} gives {verdict}, 1 MiB gives {first.verdict}"
        assert result.lines == first.lines, f"chunk size {size} gives {result.lines}, 1 MiB gives {first.lines}"
    assert validate_stream(io.BytesIO(data), key, dataset) == first.verdict
    if first.verdict.valid and not first.verdict.compressed:
        assert first.lines is not None
        assert first.lines == line_index(data, index_step, first.lines.multiline_records)
    else:
        assert first.lines is None
    return first
