"""Where an archived file's physical lines start, learnt by the gate while it streams the file, so Job
A numbers the lines of each split without reading the file once more to count them (docs/gate.md).

A line starts at offset 0 and right after each line break (LF, CRLF, or a lone CR: Hadoop's line
reader, docs/spec.md §2). A split of a file that starts at byte ``s > 0`` is read from the first line
that starts after ``s``: a line that starts at ``s`` itself belongs to the split before (Hadoop's
reader reads one line past its split's end and skips the first line of the next split). So the
lines before such a split are the lines that start at an offset ``<= s``, and the index holds that
count at every multiple of ``step``; Job A reads a file in splits of a multiple of ``step`` bytes.

Only an uncompressed file has an index: a gzipped one is a single split from offset 0. The index
travels beside the archived file, in the partition's ``_lines/`` folder (``zones.line_index_key``),
which readers of the archive skip like every other name that starts with ``_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

INDEX_VERSION = 1
INDEX_STEP = 1 << 20  # 1 MiB: a 1 GB file's index is about 1,000 numbers
_CR_NOT_BEFORE_LF = re.compile(rb"\r[^\n]")


@dataclass(frozen=True)
class LineIndex:
    size: int  # the file's bytes
    step: int
    lines_before: tuple[int, ...]  # [k - 1]: the lines that start at an offset <= k * step < size
    lines: int  # the file's physical lines
    multiline_records: bool  # a CSV record whose quoted value holds a line break (it spans lines)
    # Whether the file holds a backslash, and a tab, VT or FF (True where unknown): in a file with none,
    # Job A knows without looking at each line that no value holds white space but the space and that
    # an NDJSON object value is compact JSON already (read_raw's ``_spaces_only``, ``_compact_json``).
    backslash: bool = True
    tab_vt_ff: bool = True

    def lines_up_to(self, offset: int) -> int:
        """The lines of the splits before a split that starts at ``offset`` (a multiple of ``step``)."""
        if offset == 0:
            return 0
        k, rest = divmod(offset, self.step)
        if rest or not 0 < offset < self.size:
            raise ValueError(f"no split of a {self.size}-byte file indexed every {self.step} bytes starts at {offset}")
        return self.lines_before[k - 1]

    def to_json(self) -> bytes:
        return orjson.dumps({"version": INDEX_VERSION, "size": self.size, "step": self.step, "lines": self.lines,
                             "multiline_records": self.multiline_records, "backslash": self.backslash,
                             "tab_vt_ff": self.tab_vt_ff, "lines_before": self.lines_before})

    @classmethod
    def from_json(cls, data: bytes | str) -> LineIndex | None:
        """The index, or None when it is of another version or not an index at all (Job A then
        counts the lines itself)."""
        try:
            doc: Any = orjson.loads(data)
            if doc.get("version") != INDEX_VERSION:
                return None
            index = cls(size=int(doc["size"]), step=int(doc["step"]),
                        lines_before=tuple(int(n) for n in doc["lines_before"]), lines=int(doc["lines"]),
                        multiline_records=bool(doc["multiline_records"]), backslash=bool(doc["backslash"]),
                        tab_vt_ff=bool(doc["tab_vt_ff"]))
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            return None
        points = -(-index.size // index.step) - 1 if index.size and index.step > 0 else 0
        return index if index.step > 0 and len(index.lines_before) == points else None


class LineIndexer:
    """Fed a file's bytes in order (any chunking), counts its line breaks at C speed and notes the line
    count at every multiple of ``step``.

    A line break is an LF, or a CR that no LF follows. The usual file costs one ``bytes.count`` a
    chunk: an LF-only chunk has no CR (one ``memchr``), and where one C regex scan finds no CR before
    anything but an LF (CRLF everywhere) the CRs add no break; only a chunk with a lone CR counts its
    CRs and CRLFs. A CR as the last byte fed is decided by the next byte (the file's end: lone)."""

    def __init__(self, step: int = INDEX_STEP) -> None:
        if step <= 0:
            raise ValueError("step must be positive")
        self.step = step
        self._pos = 0  # bytes fed so far
        self._lf = 0  # LFs in the bytes fed so far
        self._lone = 0  # lone CRs in the bytes fed so far, a CR as the last byte fed not yet counted
        self._last = b""  # the last byte fed
        self._points: list[int] = []
        self._backslash = self._tab_vt_ff = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        # The CR that ended the last chunk is lone unless this one starts with its LF.
        seam = int(self._last == b"\r" and chunk[:1] != b"\n")
        # A boundary s in [pos, pos + len): the byte at s is in this chunk, so a CR right before s is
        # known to be lone or the first half of a CRLF.
        s = -(-self._pos // self.step) * self.step or self.step
        while s < self._pos + len(chunk):
            k = s - self._pos
            # Breaks before s: those fed before, the CR at the seam, and those in chunk[:k] (a CR at
            # k - 1 is lone unless the byte at s is an LF, hence the lone CRs of chunk[:k + 1]).
            breaks = self._lf + self._lone + seam + chunk.count(b"\n", 0, k) + _lone_crs(chunk[:k + 1])
            self._points.append(1 + breaks)
            s += self.step
        # memchr each (tens of GB/s), and only until one is found.
        self._backslash = self._backslash or b"\\" in chunk
        self._tab_vt_ff = self._tab_vt_ff or b"\t" in chunk or b"\x0b" in chunk or b"\x0c" in chunk
        self._lf += chunk.count(b"\n")
        self._lone += seam + _lone_crs(chunk)
        self._pos += len(chunk)
        self._last = chunk[-1:]

    def finish(self, multiline_records: bool = False) -> LineIndex:
        breaks = self._lf + self._lone + int(self._last == b"\r")  # nothing follows a CR at the very end
        # A line break at the very end ends the last line; it starts none.
        lines = 0 if not self._pos else 1 + breaks - int(self._last in (b"\n", b"\r"))
        return LineIndex(size=self._pos, step=self.step, lines_before=tuple(self._points), lines=lines,
                         multiline_records=multiline_records, backslash=self._backslash, tab_vt_ff=self._tab_vt_ff)


def _lone_crs(data: bytes) -> int:
    """The CRs in ``data`` that a byte other than LF follows (a CR as its last byte is not counted:
    the next byte decides)."""
    if b"\r" not in data or _CR_NOT_BEFORE_LF.search(data) is None:
        return 0
    return data.count(b"\r") - data.count(b"\r\n") - int(data.endswith(b"\r"))


def line_index(data: bytes, step: int = INDEX_STEP, multiline_records: bool = False) -> LineIndex:
    """The index of a whole file held in memory (tests, small files)."""
    indexer = LineIndexer(step)
    indexer.feed(data)
    return indexer.finish(multiline_records)
