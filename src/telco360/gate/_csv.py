"""RFC 4180 structure of a CSV body, checked in a stream at close to C speed.

A record ends at LF, CRLF or a lone CR outside quotes; inside quotes any of them is part of the value
(docs/spec.md §2). Physical lines are counted the same way (CRLF is one line break), so a record's
line is the physical line it starts on, as Job A numbers it.

Three tiers, each exact where it answers:
1. A region (complete records) with no ``"`` at all: every line is one record and its field count is
   one more than its commas, computed by C loops.
2. A region with quotes: one regex pass deletes every well-formed quoted field that is a whole field.
   If no ``"`` is left, the region is valid RFC 4180 and tier 1 applies to the result (a quoted
   line break disappears with its field, every separator stays).
3. Anything else (a count mismatch, a stray quote, blank lines, a one-column file) goes to an exact
   record parser, which finds the first failing record and its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from telco360.gate._stream import Rejection
from telco360.gate.verdict import Reason

MAX_RECORD_BYTES = 16 << 20
CR, LF, QUOTE, COMMA = 0x0D, 0x0A, 0x22, 0x2C
# A whole quoted field: its opening quote starts a field (the lookbehind, checked only once a quote
# matched, rejects a quote after anything but "," or a line break), its closing quote ends one. Removing
# such fields keeps every separator and every record end, so what is left has the records' shape.
_QUOTED_FIELD = re.compile(rb'"(?<![^,\n\r]")[^"]*(?:""[^"]*)*"(?=[,\n\r])')
_UNQUOTED_END = re.compile(rb'[",\n\r]')
_ALL_BUT_SEPARATORS = bytes(b for b in range(256) if b not in b",\n\r")
_LINE_BREAK = re.compile(rb"[\n\r]")
_CR_NOT_BEFORE_LF = re.compile(rb"\r[^\n]")


class QuoteError(Exception):
    def __init__(self, reason: Reason, what: str) -> None:
        super().__init__(what)
        self.reason = reason
        self.what = what


def line_breaks(data: bytes) -> int:
    """Physical line breaks in ``data``: LF, CRLF and a lone CR count one each (Hadoop's line reader)."""
    lf = data.count(b"\n")
    if b"\r" not in data:
        return lf
    return lf + data.count(b"\r") - data.count(b"\r\n")


def _line_end(buf: bytes, at: int, final: bool) -> int | None:
    """The offset after the record end starting at ``buf[at]`` (a CR or an LF); None when ``buf`` ends
    with a CR that may be the first half of a CRLF and more data may follow."""
    if buf[at] == LF:
        return at + 1
    if at + 1 < len(buf):
        return at + 2 if buf[at + 1] == LF else at + 1
    return at + 1 if final else None


def scan_record(buf: bytes, pos: int, final: bool) -> tuple[list[bytes], int, int] | None:
    """Parse the record starting at ``pos``: ``(fields, end, breaks)`` where ``end`` is the offset
    after its record end and ``breaks`` the physical line breaks it spans (its own end included); None
    when ``buf`` ends before the record does and more data may follow (``final`` False). Raises
    QuoteError."""
    fields: list[bytes] = []
    size = len(buf)
    breaks = 0
    while True:
        if pos < size and buf[pos] == QUOTE:
            parts: list[bytes] = []
            start = pos + 1
            while True:
                close = buf.find(b'"', start)
                if close < 0 or (close + 1 == size and not final):
                    if final:
                        raise QuoteError(Reason.CSV_UNTERMINATED_QUOTE, "has a quoted field that is never closed")
                    return None  # an escaped quote may straddle the end of buf
                if close + 1 < size and buf[close + 1] == QUOTE:
                    parts.append(buf[start:close + 1])
                    start = close + 2
                    continue
                parts.append(buf[start:close])
                break
            # Counted on the raw bytes: an escaped quote may sit between a CR and an LF.
            breaks += line_breaks(buf[pos + 1:close])
            fields.append(b"".join(parts))
            pos = close + 1
            if pos == size:
                return (fields, size, breaks) if final else None
            char = buf[pos]
            if char == COMMA:
                pos += 1
                continue
            if char in (LF, CR):
                end = _line_end(buf, pos, final)
                return None if end is None else (fields, end, breaks + 1)
            raise QuoteError(Reason.CSV_MALFORMED_QUOTE, "has text after the closing quote of a field")
        match = _UNQUOTED_END.search(buf, pos)
        if match is None:
            if not final:
                return None
            fields.append(buf[pos:])
            return fields, size, breaks
        at = match.start()
        char = buf[at]
        if char == QUOTE:
            raise QuoteError(Reason.CSV_MALFORMED_QUOTE, "has a quote inside an unquoted field")
        fields.append(buf[pos:at])
        if char == COMMA:
            pos = at + 1
            continue
        end = _line_end(buf, at, final)
        return None if end is None else (fields, end, breaks + 1)


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
        line = first_line + line_breaks(region[:exc.start])
        raise Rejection(Reason.INVALID_UTF8, f"line {line} is not valid UTF-8", line) from None


def last_record_end(buf: bytes, stop: int) -> int:
    """The offset after the last line break that ends before ``stop`` and is known to be whole (a CR
    as the last byte of ``buf`` may be the first half of a CRLF); 0 when there is none."""
    lf = buf.rfind(b"\n", 0, stop)
    limit = min(stop, len(buf) - 1)
    cr = buf.rfind(b"\r", lf + 1, limit)  # after the last LF, so never the CR of a CRLF
    return (cr if cr >= 0 else lf) + 1


class CsvBody:
    """The data records after the header: field counts and quoting, record by record, with the
    physical line each starts on, and whether any record spans more than one line (a quoted value
    holds a line break: Job A then stitches the file's lines into records)."""

    def __init__(self, columns: int, first_line: int) -> None:
        self.columns = columns
        self._line_shape = b"," * (columns - 1) + b"\n"
        self._crlf_shape = b"," * (columns - 1) + b"\r\n"
        self.line = first_line  # physical line where the next record starts
        self.rows = 0
        self.spans_lines = False  # some record accepted so far holds a line break in a quoted value
        self._carry = b""
        self._blank_line: int | None = None  # first of a run of blank lines not yet followed by a record

    def feed(self, chunk: bytes) -> None:
        buf = self._carry + chunk if self._carry else chunk
        end = last_record_end(buf, len(buf))
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
                # The record end that closes buf[:end] starts one byte earlier when it is a CRLF.
                ends_at = end - 2 if buf[end - 1] == LF and buf[end - 2:end - 1] == b"\r" else end - 1
                prev = last_record_end(buf, ends_at)
                quotes -= buf.count(b'"', prev, end)
                end = prev
            if not end:
                return 0
        region = buf[:end] if end != len(buf) else buf
        # Where every CR is the first half of a CRLF, the shape below reads CRLF as one record end.
        # A lone CR (a record end, or in a quoted value) only takes this path when the region has no
        # LF at all (an old Mac file); else deleting the bytes between a lone CR and a later LF could
        # forge a CRLF, so the exact parser decides.
        lone_crs = b"\r" in region and (_CR_NOT_BEFORE_LF.search(region) is not None or region.endswith(b"\r"))
        if lone_crs and b"\n" in region:
            return 0
        unquoted = _QUOTED_FIELD.sub(b"", region) if quotes else region
        if quotes and b'"' in unquoted:
            return 0  # a quote that is not a whole, well-formed field
        # Deleting every byte but "," and the line breaks leaves one shape per valid record once each
        # record end is one LF.
        shape = unquoted.translate(None, _ALL_BUT_SEPARATORS)
        expected = self._line_shape
        if lone_crs:
            shape = shape.replace(b"\r", b"\n")
        elif b"\r" in shape:
            # CRLF everywhere (the usual Windows export) is compared as it is; a mix of CRLF and LF
            # is first written with LFs.
            if shape.startswith(self._crlf_shape):
                expected = self._crlf_shape
            else:
                shape = shape.replace(b"\r\n", b"\n")
        records = len(shape) // len(expected)
        if shape != expected * records:
            if expected is self._line_shape:
                return 0
            shape = shape.replace(b"\r\n", b"\n")  # CRLF first, LF later
            records = len(shape) // len(self._line_shape)
            if shape != self._line_shape * records:
                return 0
        if not _is_utf8(region):
            return 0  # the exact parser finds the record, so rows stops right before it
        self.rows += records
        if not quotes:
            self.line += records  # no quoted value, so no line break inside one
            return end
        # Every record of the region ends with a line break: a record that spans lines adds more.
        breaks = region.count(b"\r") if lone_crs else region.count(b"\n")  # no LF / every CR is in a CRLF
        self.line += breaks
        self.spans_lines |= breaks != records
        return end

    def _exact(self, buf: bytes, pos: int, final: bool) -> int:
        """Tier 3 from ``pos``: consume complete records; returns the bytes consumed."""
        start = pos
        size = len(buf)
        while pos < size:
            try:
                record = scan_record(buf, pos, final)
            except QuoteError as exc:
                # An encoding error on the record's first line comes first.
                check_utf8(buf, pos, self._first_line_end(buf, pos, final), self.line)
                raise Rejection(exc.reason, f"the record starting on line {self.line} {exc.what}", self.line) from None
            if record is None:
                break
            fields, end, breaks = record
            check_utf8(buf, pos, end, self.line)
            if buf[pos] in (LF, CR):
                # An empty line: no record. It only matters if a record follows it (see _record).
                if self._blank_line is None:
                    self._blank_line = self.line
            else:
                self._record(len(fields))
                # Its own record end (absent at the end of the file) is one of its breaks; any other
                # is inside a quoted value.
                self.spans_lines |= breaks > int(buf[end - 1] in (LF, CR))
            self.line += breaks
            pos = end
        return pos - start

    @staticmethod
    def _first_line_end(buf: bytes, pos: int, final: bool) -> int:
        """The end of the physical line ``pos`` is on (up to its first line break)."""
        match = _LINE_BREAK.search(buf, pos)
        if match is None:
            return len(buf) if final else pos
        return match.end()

    def _record(self, fields: int) -> None:
        if self._blank_line is not None:
            if self.columns != 1:
                raise Rejection(
                    Reason.CSV_FIELD_COUNT,
                    f"line {self._blank_line} is blank (1 field), the header has {self.columns}",
                    self._blank_line,
                )
            self._blank_line = None  # in a one-column file an empty line is skipped, as at the end
        if fields != self.columns:
            message = f"line {self.line} has {fields} field{'' if fields == 1 else 's'}, the header has {self.columns}"
            raise Rejection(Reason.CSV_FIELD_COUNT, message, self.line)
        self.rows += 1
