"""The line index (telco360.gate.lines) against a plain reading of where lines start: offset 0, and
right after each LF, CRLF or lone CR that is not the file's last byte (Hadoop's line reader, docs/spec.md
§2). A split that starts at ``s`` is preceded by the lines that start at an offset ``<= s``."""

from __future__ import annotations

import os

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telco360.gate.lines import INDEX_VERSION, LineIndex, LineIndexer, line_index

# CI runs a fixed set of examples (derandomized); TELCO360_GATE_EXAMPLES searches longer by hand.
EXAMPLES = int(os.environ.get("TELCO360_GATE_EXAMPLES", "300"))


def line_starts(data: bytes) -> list[int]:
    """Where each physical line starts, one byte at a time."""
    starts = [0] if data else []
    for i, byte in enumerate(data):
        ends_line = byte == 0x0A or (byte == 0x0D and data[i + 1:i + 2] != b"\n")
        if ends_line and i + 1 < len(data):
            starts.append(i + 1)
    return starts


def reference(data: bytes, step: int) -> tuple[tuple[int, ...], int]:
    """(lines starting at an offset <= k * step, for each k * step < size; the number of lines)."""
    starts = line_starts(data)
    points = tuple(sum(1 for s in starts if s <= k * step) for k in range(1, (len(data) - 1) // step + 1))
    return (points if data else ()), len(starts)


def fed(data: bytes, step: int, cuts: list[int]) -> LineIndex:
    """``data`` fed to a LineIndexer in pieces cut at ``cuts`` (empty pieces included)."""
    indexer = LineIndexer(step)
    start = 0
    for cut in [*sorted(min(c, len(data)) for c in cuts), len(data)]:
        indexer.feed(data[start:cut])
        start = cut
    return indexer.finish()


_BYTES = st.binary(max_size=0) | st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"xy", b"\xef\xbb\xbf"]),
                                          max_size=30).map(b"".join)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True)
@given(_BYTES, st.integers(1, 9), st.lists(st.integers(0, 64), max_size=8))
@example(b"\r\n", 1, [1])  # the index point and the seam fall between the CR and the LF
@example(b"a\r", 1, [])  # a CR at the very end ends the last line
@example(b"\r\r\n\n\r", 2, [1, 2, 3, 4])
@example(b"ab\r\ncd\r\n" * 4, 3, [5, 5, 6, 17])
def test_the_indexer_matches_the_line_starts_however_it_is_fed(data: bytes, step: int, cuts: list[int]) -> None:
    # GIVEN a file of line breaks of every kind, cut into random pieces (seams inside CRLFs included)
    # WHEN it is fed piece by piece
    index = fed(data, step, cuts)
    # THEN each point counts the lines starting at or before it, and lines counts them all
    points, lines = reference(data, step)
    assert (index.size, index.step, index.lines_before, index.lines) == (len(data), step, points, lines)
    assert index == line_index(data, step)


def test_a_hand_counted_file() -> None:
    # GIVEN lines starting at 0, 2 (after LF), 6 (after CRLF), 8 (after a lone CR); the final LF starts none
    data = b"a\nbc\r\nd\ref\n"
    index = line_index(data, step=2)
    # THEN at 2, 4, 6, 8 and 10 there are 2, 2, 3, 4 and 4 lines at or before the offset
    assert index.lines_before == (2, 2, 3, 4, 4) and index.lines == 4
    assert [index.lines_up_to(s) for s in (0, 2, 4, 6, 8, 10)] == [0, 2, 2, 3, 4, 4]


def test_lines_up_to_refuses_an_offset_no_split_starts_at() -> None:
    index = line_index(b"a\nb\nc\n", step=2)
    for offset in (1, 6, 8, -2):
        with pytest.raises(ValueError, match="no split"):
            index.lines_up_to(offset)


def test_an_empty_file_has_no_lines_and_no_points() -> None:
    assert line_index(b"", step=4) == LineIndex(size=0, step=4, lines_before=(), lines=0, multiline_records=False,
                                                backslash=False, tab_vt_ff=False)


def test_a_step_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LineIndexer(0)


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("data", [b"", b"a", b"a\r\nb\rc\n" * 5], ids=["empty", "one byte", "mixed"])
def test_the_json_form_reads_back(data: bytes, multiline: bool) -> None:
    # GIVEN an index / WHEN written and read back / THEN it is the same index
    index = line_index(data, step=3, multiline_records=multiline)
    assert LineIndex.from_json(index.to_json()) == index
    assert LineIndex.from_json(index.to_json().decode()) == index
    assert orjson.loads(index.to_json())["version"] == INDEX_VERSION


def _doc(**changes: object) -> bytes:
    doc = orjson.loads(line_index(b"ab\ncd\nef\n", step=4).to_json())
    doc.update(changes)
    return orjson.dumps({k: v for k, v in doc.items() if v is not None})


@pytest.mark.parametrize("data", [
    _doc(version=INDEX_VERSION + 1),
    _doc(version=None),
    _doc(lines_before=[3]),  # a 9-byte file indexed every 4 bytes has 2 points
    _doc(lines_before=[1, 2, 3]),
    _doc(step=0),
    _doc(step=-4),
    _doc(size="nine"),
    _doc(lines=None),
    _doc(lines_before=None),
    b"not json",
    b"[1, 2]",
    b'"text"',
    b"",
], ids=["other version", "no version", "too few points", "too many points", "step 0", "negative step",
        "size not a number", "no lines", "no points", "garbage", "an array", "a string", "empty"])
def test_what_is_not_an_index_of_this_version_reads_as_none(data: bytes) -> None:
    # GIVEN a document that is not a version-1 index with one point per step / THEN it is no index
    assert LineIndex.from_json(data) is None


@pytest.mark.parametrize(("data", "backslash", "tab_vt_ff"), [
    (b'{"a": "x"}\n', False, False),
    (b'{"a": "\\u00e9"}\n', True, False),
    (b"a,b\r\n1,\t2\r\n", False, True),
    (b"a\x0b\n", False, True),
    (b"a\x0c\n", False, True),
])
def test_the_index_says_whether_the_file_holds_a_backslash_or_other_white_space(data, backslash, tab_vt_ff):
    # GIVEN a file fed a byte at a time (the byte may sit on any chunk seam)
    indexer = LineIndexer(4)
    for i in range(len(data)):
        indexer.feed(data[i:i + 1])
    # WHEN indexed  THEN the index says whether a backslash, and a tab, VT or FF, is anywhere in it
    index = indexer.finish()
    assert (index.backslash, index.tab_vt_ff) == (backslash, tab_vt_ff)
    assert LineIndex.from_json(index.to_json()) == index
