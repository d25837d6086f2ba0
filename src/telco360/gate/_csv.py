"""RFC 4180 structure of a CSV body, checked in a stream at close to C speed.

Three tiers, each exact where it answers:
1. A region (complete lines) with no ``"`` at all: every line is one record and its field count is
   ``line.count(b",") + 1``, computed by C loops.
2. A region with quotes: one regex pass deletes every well-formed quoted field that is a whole field.
   If no ``"`` is left, the region is valid RFC 4180 and tier 1 applies to the result (a quoted
   newline disappears with its field, every separator stays).
3. Anything else (a count mismatch, a stray quote, blank lines, a one-column file) goes to an exact
   record parser, which finds the first failing record and its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from telco360.gate._stream import Rejection
from telco360.gate.verdict import Reason

MAX_RECORD_BYTES = 16 << 20
# A whole quoted field: its opening quote starts a field (the lookbehind, checked only once a quote
# matched, rejects a quote after anything but "," or a line break), its closing quote ends one. Removing
# such fields keeps every separator, so the field count of what is left is the record's.
_QUOTED_FIELD = re.compile(rb'"(?<![^,\n]")[^"]*(?:""[^"]*)*"(?=[,\n]|\r\n)')
_UNQUOTED_END = re.compile(rb'[",\n]')
_ALL_BUT_COMMA_AND_NEWLINE = bytes(b for b in range(256) if b not in b",\n")
_BLANK = b" \t\r"


class QuoteError(Exception):
    def __init__(self, reason: Reason, what: str) -> None:
        super().__init__(what)
        self.reason = reason
        self.what = what


def scan_record(buf: bytes, pos: int, final: bool) -> tuple[list[bytes], int, int] | None:
    """Parse the record starting at ``pos``: ``(fields, end, newlines)`` where ``end`` is the offset
    after its line break and ``newlines`` the line breaks it spans; None when ``buf`` ends before the
    record does and more data may follow (``final`` False). Raises QuoteError."""
    fields: list[bytes] = []
    size = len(buf)
    newlines = 0
    while True:
        if pos < size and buf[pos] == 0x22:  # '"': a quoted field
            parts: list[bytes] = []
            start = pos + 1
            while True:
                close = buf.find(b'"', start)
                if close < 0 or (close + 1 == size and not final):
                    if final:
                        raise QuoteError(Reason.CSV_UNTERMINATED_QUOTE, "has a quoted field that is never closed")
                    return None  # an escaped quote may straddle the end of buf
                if close + 1 < size and buf[close + 1] == 0x22:
                    parts.append(buf[start:close + 1])
                    start = close + 2
                    continue
                parts.append(buf[start:close])
                break
            value = b"".join(parts)
            newlines += value.count(b"\n")
            fields.append(value)
            pos = close + 1
            nxt = buf[pos:pos + 2]
            if nxt[:1] == b",":
                pos += 1
                continue
            if nxt[:1] == b"\n":
                return fields, pos + 1, newlines + 1
            if nxt == b"\r\n":
                return fields, pos + 2, newlines + 1
            if nxt in (b"", b"\r"):  # the end of buf (a lone CR can only be its last byte here)
                return (fields, size, newlines) if final else None
            raise QuoteError(Reason.CSV_MALFORMED_QUOTE, "has text after the closing quote of a field")
        match = _UNQUOTED_END.search(buf, pos)
        if match is None:
            if not final:
                return None
            fields.append(buf[pos:].removesuffix(b"\r"))
            return fields, size, newlines
        end = match.start()
        char = buf[end]
        if char == 0x22:
            raise QuoteError(Reason.CSV_MALFORMED_QUOTE, "has a quote inside an unquoted field")
        if char == 0x2C:  # ','
            fields.append(buf[pos:end])
            pos = end + 1
            continue
        fields.append(buf[pos:end].removesuffix(b"\r"))
        return fields, end + 1, newlines + 1


def parse_records(data: bytes) -> Iterator[list[str]]:
    """Every record of a complete CSV text, as strings (the exact parser, for tests and tools)."""
    pos = 0
    while pos < len(data):
        record = scan_record(data, pos, final=True)
        assert record is not None  # final=True always parses to the end
        fields, pos, _ = record
        yield [f.decode("utf-8") for f in fields]


def _is_utf8(region: bytes) -> bool:
    if region.isascii():  # the common case, at memory speed
        return True
    try:
        region.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_utf8(buf: bytes, start: int, end: int, first_line: int) -> None:
    """Strict UTF-8 over ``buf[start:end]``, which starts at ``first_line`` and ends at a line break or
    at the end of the file (so no multi-byte sequence is cut)."""
    region = buf[start:end]
    if _is_utf8(region):
        return
    try:
        region.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + region.count(b"\n", 0, exc.start)
        raise Rejection(Reason.INVALID_UTF8, f"line {line} is not valid UTF-8", line) from None


class CsvBody:
    """The data records after the header: field counts and quoting, line by physical line."""

    def __init__(self, columns: int, first_line: int) -> None:
        self.columns = columns
        self._line_shape = b"," * (columns - 1) + b"\n"
        self.line = first_line  # physical line where the next record starts
        self.rows = 0
        self._carry = b""
        self._blank_line: int | None = None  # first of a run of blank lines not yet followed by a record
        self._blank_count = 0

    def feed(self, chunk: bytes) -> None:
        buf = self._carry + chunk if self._carry else chunk
        end = buf.rfind(b"\n") + 1
        consumed = self._fast(buf, end) if end else 0
        consumed += self._exact(buf, consumed, final=False)
        self._carry = buf[consumed:]
        if len(self._carry) > MAX_RECORD_BYTES:
            raise Rejection(
                Reason.RECORD_TOO_LONG,
                f"the record starting on line {self.line} runs past {MAX_RECORD_BYTES >> 20} MiB without ending",
                self.line,
            )

    def finish(self) -> None:
        if self._carry:
            self._exact(self._carry, 0, final=True)
            self._carry = b""

    def _fast(self, buf: bytes, end: int) -> int:
        """Tiers 1 and 2 over ``buf[:end]``; returns the bytes accepted (0 means: ask the exact parser)."""
        if self._blank_line is not None or self.columns == 1:
            return 0  # blank lines and one-column files need the exact parser's bookkeeping
        quotes = buf.count(b'"', 0, end)
        if quotes % 2:
            # The last line ends inside a quoted field: stop at the last line break outside quotes.
            while end and quotes % 2:
                prev = buf.rfind(b"\n", 0, end - 1) + 1
                quotes -= buf.count(b'"', prev, end)
                end = prev
            if not end:
                return 0
        region = buf[:end] if end != len(buf) else buf
        unquoted = _QUOTED_FIELD.sub(b"", region) if quotes else region
        if quotes and b'"' in unquoted:
            return 0  # a quote that is not a whole, well-formed field
        # Deleting every byte but "," and "\n" leaves exactly one shape per valid line.
        shape = unquoted.translate(None, _ALL_BUT_COMMA_AND_NEWLINE)
        records = len(shape) // len(self._line_shape)
        if shape != self._line_shape * records:
            return 0
        if not _is_utf8(region):
            return 0  # the exact parser finds the record, so rows stops right before it
        self.rows += records
        self.line += region.count(b"\n") if quotes else records
        return end

    def _exact(self, buf: bytes, pos: int, final: bool) -> int:
        """Tier 3 from ``pos``: consume complete records; returns the bytes consumed."""
        start = pos
        size = len(buf)
        while pos < size:
            try:
                record = scan_record(buf, pos, final)
            except QuoteError as exc:
                line_end = buf.find(b"\n", pos) + 1 or (len(buf) if final else pos)
                check_utf8(buf, pos, line_end, self.line)  # an encoding error on the same line comes first
                raise Rejection(exc.reason, f"the record starting on line {self.line} {exc.what}", self.line) from None
            if record is None:
                break
            fields, end, newlines = record
            check_utf8(buf, pos, end, self.line)
            if not buf[pos:end].strip(_BLANK + b"\n"):
                if self._blank_line is None:
                    self._blank_line = self.line
                self._blank_count += 1
            else:
                self._record(len(fields))
            self.line += newlines
            pos = end
        return pos - start

    def _record(self, fields: int) -> None:
        if self._blank_line is not None:
            if self.columns != 1:
                raise Rejection(
                    Reason.CSV_FIELD_COUNT,
                    f"line {self._blank_line} is blank (1 field), the header has {self.columns}",
                    self._blank_line,
                )
            self.rows += self._blank_count  # in a one-column file a blank line is an empty value
            self._blank_line, self._blank_count = None, 0
        if fields != self.columns:
            message = f"line {self.line} has {fields} field{'' if fields == 1 else 's'}, the header has {self.columns}"
            raise Rejection(Reason.CSV_FIELD_COUNT, message, self.line)
        self.rows += 1
