"""NDJSON structure: every non-blank line a strict JSON object, every required column in some record.

A line ends at LF, CRLF or a lone CR (docs/spec.md §2): JSON text never holds a raw CR or LF inside a
string, so every one of them is a line end, wherever it is.

orjson parses each line (it is strict: UTF-8, no NaN/Infinity, no trailing text); the slower diagnosis
of *why* a line failed runs only for the failing line. Lines are never batched into one JSON array:
``{"a":[{}`` and ``{}]},{}`` would join into valid JSON although each line alone is invalid.
"""

from __future__ import annotations

import re

import orjson

from telco360.contracts import Contract
from telco360.gate._stream import Rejection
from telco360.gate.verdict import Reason

MAX_RECORD_BYTES = 16 << 20
# A blank line holds only these (Java's ``\s`` without CR and LF, which end lines): it is no record.
BLANK = b" \t\x0b\x0c"
_BLANK_OR_CR = BLANK + b"\r"  # a line split on LF alone may keep the CR of its CRLF
_CR_NOT_BEFORE_LF = re.compile(rb"\r[^\n]")
_MAX_KEYS_REMEMBERED = 4096
_loads = orjson.loads


def parse_line(line: bytes, number: int) -> object:
    """One non-blank line as a Python value, or a Rejection saying why it is not JSON."""
    try:
        return _loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection(Reason.INVALID_UTF8, f"line {number} is not valid UTF-8", number) from None
    raise Rejection(Reason.NDJSON_INVALID_JSON, f"line {number} is not valid JSON", number)


def _one_lf_per_line_end(buf: bytes) -> bytes:
    """``buf`` with each line end (CRLF or a lone CR) written as one LF: the same lines, the same
    numbers."""
    buf = buf.replace(b"\r\n", b"\n")
    return buf.replace(b"\r", b"\n") if b"\r" in buf else buf


class NdjsonBody:
    """Feed decompressed chunks; ``finish`` checks what only the whole file can tell."""

    def __init__(self, contract: Contract, first_line: int = 1) -> None:
        self.contract = contract
        self.line = first_line  # the physical line of the next complete line
        self.rows = 0
        self._carry = b""
        self._missing = set(contract.required_columns)
        self._seen_keys: set[str] = set()

    def feed(self, chunk: bytes) -> None:
        carried = bool(self._carry)
        buf = self._carry + chunk if carried else chunk
        tail = b""
        if b"\r" in buf:  # a C scan that finds nothing in the usual LF-only file
            if buf.endswith(b"\r"):
                buf, tail = buf[:-1], b"\r"  # maybe the first half of a CRLF: decided with the next chunk
            if buf.endswith(b"\r") or _CR_NOT_BEFORE_LF.search(buf):
                buf = _one_lf_per_line_end(buf)
            # else every CR is in a CRLF: the lines keep it at their end, which JSON reads as whitespace
        lines = buf.split(b"\n")
        self._carry = lines.pop() + tail
        # Only a line that began in the carry can be long: a chunk alone is far below the limit.
        if carried and lines and len(lines[0]) > MAX_RECORD_BYTES:
            raise Rejection(Reason.RECORD_TOO_LONG, f"line {self.line} is longer than "
                            f"{MAX_RECORD_BYTES >> 20} MiB", self.line)
        if len(self._carry) > MAX_RECORD_BYTES:
            raise Rejection(
                Reason.RECORD_TOO_LONG,
                f"line {self.line + len(lines)} runs past {MAX_RECORD_BYTES >> 20} MiB without ending",
                self.line + len(lines),
            )
        self._lines(lines)

    def finish(self) -> None:
        last = self._carry.removesuffix(b"\r")  # a CR at the very end ends the last line
        if last:
            self._lines([last])
        self._carry = b""
        if self._missing:
            missing = ", ".join(sorted(self._missing))
            raise Rejection(
                Reason.NDJSON_MISSING_REQUIRED_COLUMN,
                f"no record has the required {self.contract.name} column(s) {missing}",
            )

    def _lines(self, lines: list[bytes]) -> None:
        loads = _loads
        missing = self._missing
        blank = 0
        number = self.line
        try:
            for number, line in enumerate(lines, self.line):
                try:
                    record = loads(line)
                except orjson.JSONDecodeError:
                    if not line.strip(_BLANK_OR_CR):
                        blank += 1
                        continue
                    record = parse_line(line, number)
                if type(record) is not dict:
                    raise Rejection(Reason.NDJSON_NOT_OBJECT, f"line {number} is JSON but not an object", number)
                if missing:
                    self._note_keys(record)
        except Rejection:
            self.rows += number - self.line - blank  # the records before the failing line
            raise
        self.rows += len(lines) - blank
        self.line += len(lines)

    def _note_keys(self, record: dict[str, object]) -> None:
        new = record.keys() - self._seen_keys
        if new:
            if len(self._seen_keys) < _MAX_KEYS_REMEMBERED:  # bounded memory even if every key is new
                self._seen_keys |= new
            self._missing -= {self.contract.canonical(k) for k in new}
