"""The validation gate's core: one pass over a file's bytes decides whether it may enter the lake
(docs/spec.md §3; the semantics are written down in docs/gate.md).

Pure and streaming: no AWS, no file system, memory bounded by the chunk size (plus one record of at
most 16 MiB), whatever the file size. Messages name the problem and its line, never a record value:
raw files hold customer PII.

The same pass can also index where the file's lines start (``validate_and_index``, telco360.gate.lines),
which the Lambda and the local gate store beside the archived file for Job A.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from telco360.contracts import (
    Contract,
    detect_dataset_from_columns,
    detect_dataset_from_key,
    get_contract,
    normalize_name,
)
from telco360.formats import EXTENSIONS, Format, file_kind
from telco360.gate._csv import CsvBody, QuoteError, last_record_end, line_breaks, scan_record
from telco360.gate._ndjson import NdjsonBody, parse_line
from telco360.gate._stream import CHUNK_SIZE, ByteCounter, Readable, Rejection, content_chunks
from telco360.gate.lines import INDEX_STEP, LineIndex, LineIndexer
from telco360.gate.verdict import Reason, Verdict

__all__ = ["CHUNK_SIZE", "INDEX_STEP", "Indexed", "validate_and_index", "validate_stream"]

BOM = b"\xef\xbb\xbf"
_HEAD_LIMIT = 16 << 20


@dataclass
class _Progress:
    """What is known so far, so that a rejection still reports the dataset and the rows seen."""

    dataset: str | None
    rows: int = 0


@dataclass(frozen=True)
class Indexed:
    """A verdict, and the index of the file's lines when it is valid and not compressed (a gzipped
    file is read by Job A as a single split from offset 0: it needs none)."""

    verdict: Verdict
    lines: LineIndex | None


def validate_stream(
    stream: Readable | Iterable[bytes], key: str, dataset: str | None = None, *, chunk_size: int = CHUNK_SIZE
) -> Verdict:
    """Validate one file: ``stream`` has ``read(n) -> bytes`` (an open file, a botocore StreamingBody)
    or is an iterable of bytes chunks; ``key`` is its S3 key or path (the name gives the format, the
    folders or name may give the dataset); ``dataset`` overrides detection."""
    return _validate(stream, key, dataset, chunk_size, None).verdict


def validate_and_index(
    stream: Readable | Iterable[bytes], key: str, dataset: str | None = None, *, chunk_size: int = CHUNK_SIZE,
    index_step: int = INDEX_STEP,
) -> Indexed:
    """``validate_stream``, and in the same pass the index of a valid uncompressed file's lines, with
    the line count every ``index_step`` bytes (what the gate stores beside the archived file)."""
    return _validate(stream, key, dataset, chunk_size, LineIndexer(index_step))


def _validate(stream: Readable | Iterable[bytes], key: str, dataset: str | None, chunk_size: int,
              indexer: LineIndexer | None) -> Indexed:
    if dataset is not None:
        get_contract(dataset)  # an unknown name is the caller's bug, not the file's
    kind = file_kind(key.replace("\\", "/").rsplit("/", 1)[-1])
    progress = _Progress(dataset or detect_dataset_from_key(key))
    counter = ByteCounter(stream, chunk_size)
    if kind.gzipped:
        indexer = None
    try:
        if kind.format is None:
            known = ", ".join(EXTENSIONS)
            raise Rejection(
                Reason.UNSUPPORTED_EXTENSION,
                f"the extension {kind.extension or '(none)'!r} is not supported (expected {known}, optionally .gz)",
            )
        content = content_chunks(counter, kind.gzipped, chunk_size)
        if indexer is not None:
            content = _indexed(content, indexer)
        if kind.format == "csv":
            multiline_records = _validate_csv(content, progress)
        else:
            _validate_ndjson(content, progress)
            multiline_records = False
    except Rejection as rejection:
        return Indexed(_verdict(progress, kind.format, kind.gzipped, counter, rejection), None)
    lines = indexer.finish(multiline_records) if indexer is not None else None
    return Indexed(_verdict(progress, kind.format, kind.gzipped, counter, None), lines)


def _indexed(content: Iterator[bytes], indexer: LineIndexer) -> Iterator[bytes]:
    """The file's bytes as they are read, each chunk fed to ``indexer`` first (BOM included: the
    index counts the file's own offsets)."""
    for chunk in content:
        indexer.feed(chunk)
        yield chunk


def _verdict(progress: _Progress, fmt: Format | None, compressed: bool, counter: ByteCounter,
             rejection: Rejection | None) -> Verdict:
    if rejection is None:
        return Verdict(True, progress.dataset, fmt, compressed, progress.rows, counter.bytes_read)
    return Verdict(False, progress.dataset, fmt, compressed, progress.rows, counter.bytes_read,
                   rejection.reason, rejection.message, rejection.line)


@dataclass(frozen=True)
class _Head:
    data: bytes  # the content read so far, BOM removed
    line: int  # 1-based line of the first non-blank line (0 when there is none)
    text: bytes  # that line, without its line break
    end: int  # the offset in ``data`` after that line's line break


# What a file of nothing but whitespace holds: it is empty in either format.
_WHITESPACE = b" \t\n\r\x0b\x0c"


def _first_break(data: bytes, start: int) -> int:
    """The offset of the first line break (CR or LF) at or after ``start``, -1 when there is none."""
    lf = data.find(b"\n", start)
    cr = data.find(b"\r", start, lf if lf >= 0 else len(data))
    return cr if cr >= 0 else lf


def _read_head(content: Iterator[bytes]) -> _Head:
    """Read until the first non-blank line is complete (or the end): enough to tell the format,
    the dataset and, for CSV, the header. A CR as the last byte read may be the first half of a
    CRLF, so a line ending in it is complete only once the next byte is known."""
    data = b""
    for chunk in content:
        data += chunk
        if len(data) > _HEAD_LIMIT:
            break
        if len(data) < len(BOM) and BOM.startswith(data):
            continue  # maybe a BOM cut by the chunking
        text = data.removeprefix(BOM)
        start = len(text) - len(text.lstrip(_WHITESPACE))
        if start < len(text) and 0 <= _first_break(text, start) < len(text) - 1:
            break
    data = data.removeprefix(BOM)
    start = len(data) - len(data.lstrip(_WHITESPACE))
    if start == len(data):
        return _Head(data, 0, b"", len(data))
    line_start = last_record_end(data, start)
    brk = _first_break(data, start)
    if brk < 0:  # the first line is all there is (or runs past the head limit)
        return _Head(data, line_breaks(data[:line_start]) + 1, data[line_start:], len(data))
    end = brk + 2 if data[brk:brk + 2] == b"\r\n" else brk + 1
    return _Head(data, line_breaks(data[:line_start]) + 1, data[line_start:brk], end)


def _empty(fmt: str) -> Rejection:
    return Rejection(Reason.EMPTY_FILE, f"the file has no data rows (it is empty or blank {fmt})")


# --- NDJSON ----------------------------------------------------------------------------------------
def _validate_ndjson(content: Iterator[bytes], progress: _Progress) -> None:
    head = _read_head(content)
    if not head.line:
        raise _empty("NDJSON")
    try:
        first = parse_line(head.text, head.line)
    except Rejection as rejection:
        if rejection.reason is Reason.NDJSON_INVALID_JSON and head.text.lstrip()[:1] not in (b"{", b"["):
            raise Rejection(
                Reason.FORMAT_MISMATCH, f"line {head.line} is not JSON: the content does not match the name",
                head.line,
            ) from None
        raise
    if type(first) is not dict:
        raise Rejection(Reason.NDJSON_NOT_OBJECT, f"line {head.line} is JSON but not an object", head.line)
    if progress.dataset is None:
        progress.dataset = _detected(list(first), "the keys of the first record")
    body = NdjsonBody(get_contract(progress.dataset))
    try:
        for chunk in chain((head.data,), content):
            body.feed(chunk)
        body.finish()
    finally:
        progress.rows = body.rows


def _detected(names: list[str], where: str) -> str:
    found = detect_dataset_from_columns(names)
    if found is None:
        raise Rejection(Reason.UNKNOWN_DATASET,
                        f"neither the path nor {where} identify a dataset (a raw/<dataset>/ folder names it)")
    return found


# --- CSV -------------------------------------------------------------------------------------------
def _validate_csv(content: Iterator[bytes], progress: _Progress) -> bool:
    """Raises Rejection; returns whether a data record spans lines (a quoted value holds a line break)."""
    head = _read_head(content)
    if not head.line:
        raise _empty("CSV")
    if head.line != 1:
        raise Rejection(Reason.CSV_NO_HEADER, "line 1 is blank: a CSV file starts with its header", 1)
    names = _header_names(head.text)
    if progress.dataset is None:
        progress.dataset = _detected(names, "the CSV header")
    _check_header(names, get_contract(progress.dataset))
    body = CsvBody(len(names), first_line=2)
    try:
        for chunk in chain((head.data[head.end:],), content):
            body.feed(chunk)
        body.finish()
    finally:
        progress.rows = body.rows
    if not body.rows:
        raise Rejection(Reason.EMPTY_FILE, "the file has a header but no data rows")
    return body.spans_lines


def _utf8_error(line: int) -> Rejection:
    return Rejection(Reason.INVALID_UTF8, f"line {line} is not valid UTF-8", line)


def _header_names(text: bytes) -> list[str]:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        raise _utf8_error(1) from None
    if text.lstrip()[:1] in (b"{", b"["):
        raise Rejection(Reason.FORMAT_MISMATCH, "line 1 looks like JSON, not a CSV header", 1)
    try:
        record = scan_record(text, 0, final=True)
    except QuoteError as exc:
        # The header must fit on its line: a quote still open at its end is not closed there.
        raise Rejection(exc.reason, f"the header on line 1 {exc.what}", 1) from None
    assert record is not None  # final=True always parses to the end
    return [field.decode("utf-8") for field in record[0]]


def _check_header(names: list[str], contract: Contract) -> None:
    columns = [contract.canonical(name) for name in names]
    if not any(columns):
        raise Rejection(Reason.CSV_NO_HEADER,
                        f"none of the {len(names)} names on line 1 is a {contract.name} column: no header?", 1)
    first_at: dict[str, int] = {}
    for position, (name, column) in enumerate(zip(names, columns, strict=True), 1):
        seen = first_at.setdefault(column or "?" + normalize_name(name), position)
        if seen != position:
            # Only contract names are echoed: an unknown name could be a value of a headerless file.
            what = f"both mean {column}" if column else "have the same normalized name"
            raise Rejection(Reason.CSV_DUPLICATE_COLUMN, f"header columns {seen} and {position} {what}", 1)
    missing = [c for c in contract.required_columns if c not in first_at]
    if missing:
        raise Rejection(Reason.CSV_MISSING_REQUIRED_COLUMN,
                        f"the header has no required {contract.name} column {', '.join(missing)}", 1)
