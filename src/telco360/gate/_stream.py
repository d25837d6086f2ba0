"""Bytes in, bounded pieces out: reading a stream in fixed-size chunks and gunzipping it incrementally.

Nothing here ever holds more than one input chunk and one output chunk, whatever the file size, and a
gzip bomb cannot expand past ``chunk_size`` bytes per step.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

from telco360.gate.verdict import Reason

CHUNK_SIZE = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
# 16 + MAX_WBITS: a gzip header and trailer only. wbits=47 would also take a bare zlib stream, which
# no ``.gz`` producer writes, so garbage after the last member that happens to look like zlib is caught.
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


class Rejection(Exception):
    """A file-level problem: raised deep in a scanner, turned into a Verdict by ``core``."""

    def __init__(self, reason: Reason, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.line = line


@dataclass
class ByteCounter:
    """The raw chunks of a stream (an object with ``read`` or an iterable of bytes), counted."""

    source: Readable | Iterable[bytes]
    chunk_size: int = CHUNK_SIZE
    bytes_read: int = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks():
            self.bytes_read += len(chunk)
            yield chunk

    def _chunks(self) -> Iterator[bytes]:
        read = getattr(self.source, "read", None)
        if read is None:
            yield from (bytes(c) for c in self.source if c)  # type: ignore[union-attr]
            return
        while chunk := read(self.chunk_size):
            yield chunk


def content_chunks(raw: Iterable[bytes], gzipped: bool, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The decompressed content of a file as chunks of at most ``chunk_size`` bytes (plain input is
    passed through). Raises Rejection when the gzip magic number and the name disagree, or for a
    corrupt or truncated gzip stream."""
    raw_iter = iter(raw)
    head = b""
    for chunk in raw_iter:
        head += chunk
        if len(head) >= len(GZIP_MAGIC):
            break
    if not head:
        return
    has_magic = head.startswith(GZIP_MAGIC)
    if gzipped and not has_magic:
        raise Rejection(Reason.FORMAT_MISMATCH, "the name ends in .gz but the content is not gzip-compressed")
    if has_magic and not gzipped:
        raise Rejection(Reason.FORMAT_MISMATCH, "the content is gzip-compressed but the name does not end in .gz")
    rest = chain((head,), raw_iter)
    if gzipped:
        yield from _gunzip(rest, chunk_size)
    else:
        yield from rest


def _gunzip(raw: Iterator[bytes], chunk_size: int) -> Iterator[bytes]:
    """Inflate every gzip member in turn (``cat a.gz b.gz`` is a valid gzip file)."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    member_started = False
    try:
        for data in raw:
            while data:
                member_started = True
                yield from _inflate(inflater, data, chunk_size)
                if not inflater.eof:
                    break
                # What follows the end of a member must be another member: a fresh inflater raises
                # on anything else (garbage, zero padding), or ends truncated.
                data = inflater.unused_data
                inflater = zlib.decompressobj(_GZIP_WBITS)
                member_started = False
    except zlib.error as exc:
        raise Rejection(Reason.CORRUPT_GZIP, f"the gzip stream is corrupt ({exc})") from None
    if member_started and not inflater.eof:
        raise Rejection(Reason.CORRUPT_GZIP, "the gzip stream is truncated (it ends before its end-of-stream marker)")


def _inflate(inflater: zlib._Decompress, data: bytes, chunk_size: int) -> Iterator[bytes]:
    out = inflater.decompress(data, chunk_size)
    while True:
        if out:
            yield out
        # A full output buffer may leave input in unconsumed_tail, or output still inside zlib.
        if inflater.eof or not (inflater.unconsumed_tail or len(out) == chunk_size):
            return
        out = inflater.decompress(inflater.unconsumed_tail, chunk_size)
