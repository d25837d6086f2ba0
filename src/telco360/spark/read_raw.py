"""Archived files (CSV or NDJSON, optionally gzipped, mixed within a day) -> one record layout.

Both formats become rows of ``(_source_file, _line, _raw_record, _fields, _unknown, _not_text,
_compact_json, _spaces_only)``: ``_fields`` holds each contract column's raw text (null where the
record does not name it), ``_unknown`` lists the normalized names the contract does not know
(dropped, but counted in the run report), ``_raw_record`` holds the line of a record that did not
parse at all (every field is then null), ``_not_text`` the string columns whose NDJSON value was not
text (docs/spec.md §2), ``_compact_json`` is true when a ``json`` column's value that starts with
``{`` is known to be compact JSON already (an NDJSON object, which the parser prints compactly) and
``_spaces_only`` when no value of the record can hold white space but the space (a plain trim cleans
it). Casting happens once, later, on this layout, so CSV and NDJSON follow exactly the same rules.

Job A's first pass reads a leaner layout (``read_first_pass``): ``(_source_file, _line, _fields,
_unknown, _compact_json, _spaces_only, _deferred)``, built without any per-key function or array of
names, so the steps after the JSON parse compile to code. An NDJSON record it cannot take that way
(a key the contract does not spell so, a line that is not an object, a string value that may not
be JSON text) is ``_deferred``: the second pass reads it again in the full layout.

How the files are read, and why it is fast (docs/benchmarks.md):

- Every file is read as physical lines with Hadoop's line reader, which ends a line at LF, CRLF or a
  lone CR, exactly where docs/spec.md §2 ends a record. An uncompressed file is split across tasks.
- ``_line`` is exact without sorting anything, and usually without a pass of its own. The gate
  wrote each archived file's line index (``telco360.gate.lines``: the lines before every multiple of
  a step): Job A then reads the day in splits of a multiple of that step, one split per Spark
  partition (a session of the dataset's own, ``reading_session``), and a line's number is the
  index's count before its split plus its row number in the partition (the lower 33 bits of
  ``monotonically_increasing_id``). A split's lines come from the broadcast of a few numbers the
  driver knows before any job runs.
- Without a usable index (a file archived before the gate wrote them, or changed after), a first,
  parse-free pass counts the lines of each split (file, byte offset) and notes the first row id Spark
  gives it; the driver turns those few counts into each split's first line number, and the parsing
  pass adds them back by the same broadcast join. Row ids are a pure function of the scan's
  (deterministic) file splits, so both passes agree.
- A CSV record is one physical line unless a quoted value holds a line break. The index tells which
  CSV files have such a record (the gate parsed every record), and so does the counting pass (a line
  with an odd number of quotes: in a file the gate accepted, quotes come in pairs within a record).
  Only those files take the slow path: read whole, split after each line break, and stitched into
  records by quote parity.
"""

from __future__ import annotations

import csv
import io
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360 import zones
from telco360.contracts import NON_ALNUM, SPLIT_WORDS, Contract, java_replacement, normalize_name
from telco360.formats import file_kind
from telco360.gate.lines import LineIndex
from telco360.spark.lakefs import LakeFile, LakeFS
from telco360.spark.schemas import LINE, RAW_RECORD, SOURCE_FILE
from telco360.spark.session import configure

FIELDS, UNKNOWN, NOT_TEXT, COMPACT_JSON = "_fields", "_unknown", "_not_text", "_compact_json"
SPACES_ONLY, DEFERRED = "_spaces_only", "_deferred"
_TEXT, _BLOCK, _ROW_ID = "_text", "_block", "_id"
_FIRST_ID, _BEFORE, _ODD, _RAW, _BY_NAME = "_first_id", "_before", "_odd", "_raw", "_by_name"
# A line of a file the gate indexed and found free of what makes the per-line tests necessary: for
# NDJSON a backslash, for CSV a tab, VT or FF (``LineIndex.backslash`` / ``tab_vt_ff``).
_PLAIN = "_plain"
# A CSV header is one record at the top of the file: read from its first 64 KB (a py4j transfer of a
# megabyte took 0.1 s), from its first megabyte when the header is longer (more than any real one).
_HEADER_BYTES = (64 * 1024, 1024 * 1024)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"
_BLANK_JSON = r"^\s*$"
# Jackson prints a JSON number with a fraction or an exponent like this when it hands it over as text.
_JSON_FRACTION = r"^-?[0-9]+(\.[0-9]+([eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)$"
# Split a whole file after each line break (LF, CRLF or a lone CR), keeping the breaks.
_AFTER_LINE_BREAK = r"(?<=\n)|(?<=\r)(?!\n)"
RECORD_COLUMNS: tuple[str, ...] = (SOURCE_FILE, LINE, RAW_RECORD, FIELDS, UNKNOWN, NOT_TEXT, COMPACT_JSON, SPACES_ONLY)
FIRST_PASS_COLUMNS: tuple[str, ...] = (SOURCE_FILE, LINE, FIELDS, UNKNOWN, COMPACT_JSON, SPACES_ONLY, DEFERRED)
# ASCII white space other than the space: only a record whose text holds one can have it in a value.
_CSV_OTHER_SPACE = ("\t", "\u000b", "\f", "\r", "\n")


def _no_names() -> SparkColumn:
    return F.array().cast("array<string>")


def normalized_name(name: SparkColumn) -> SparkColumn:
    """contracts.normalize_name as a Spark expression (the same SPLIT_WORDS / NON_ALNUM steps)."""
    out = F.regexp_replace(name, f"^{_BOM}+", "")
    for pattern, replacement in SPLIT_WORDS:
        out = F.regexp_replace(out, pattern, java_replacement(replacement))
    out = F.regexp_replace(F.lower(out), NON_ALNUM, "_")
    return F.regexp_replace(out, "^_+|_+$", "")


def _known_names(contract: Contract) -> SparkColumn:
    return F.array(*(F.lit(n) for n in contract.column_names))


# --- the gate's line indexes -----------------------------------------------------------------------
# Spark's default largest split: larger ones would leave a core idle on a day of one large file.
MAX_SPLIT_BYTES = 128 * 1024 * 1024
_INDEX_READERS = 16
# monotonically_increasing_id puts the partition in the upper 31 bits, the row number in the lower 33.
_ROW_IN_PARTITION = (1 << 33) - 1


@dataclass(frozen=True)
class LineIndexes:
    """The gate's line index of each uncompressed file of a day (by name) and the bytes of the splits
    the day is read in: a multiple of the indexes' step (where they know the lines before a split)."""
    split_bytes: int
    by_file: Mapping[str, LineIndex]


def line_indexes(fs: LakeFS, folder: str, files: Sequence[LakeFile], cores: int) -> LineIndexes | None:
    """The indexes the gate wrote beside ``files`` (in ``folder``), or None unless every uncompressed
    file has one that is its own: of its size and not older than it (a file archived before the gate
    wrote indexes, or replaced after, is counted instead). The splits: the day's bytes spread over the
    cores, as Spark would, rounded up to the step."""
    splittable = [f for f in files if not file_kind(f.name).gzipped]
    stored = {f.name: f for f in fs.list_files(zones.join(folder, zones.LINE_INDEX_FOLDER))} if splittable else {}
    paths = []
    for f in splittable:
        entry = stored.get(zones.file_name_of(zones.line_index_key(f.name)))
        if entry is None or entry.modified < f.modified:
            return None
        paths.append(entry.path)
    # One small read per file, side by side: on S3 each is a request of tens of milliseconds.
    with ThreadPoolExecutor(max_workers=_INDEX_READERS) as pool:
        indexes = [LineIndex.from_json(data) for data in pool.map(fs.read_bytes, paths)]
    by_file: dict[str, LineIndex] = {}
    for f, index in zip(splittable, indexes, strict=True):
        if index is None or index.size != f.size:
            return None
        by_file[f.name] = index
    steps = {index.step for index in by_file.values()}
    if len(steps) > 1:
        return None
    step = steps.pop() if steps else 1
    per_core = -(-sum(f.size for f in splittable) // max(1, cores))
    largest = max(step, MAX_SPLIT_BYTES // step * step)
    return LineIndexes(min(largest, max(step, -(-per_core // step) * step)), by_file)


def reading_session(spark: SparkSession, indexes: LineIndexes) -> SparkSession:
    """A session of its own (same SparkContext, own SQL settings: other datasets' jobs run beside it)
    whose file scans make splits of ``split_bytes`` and put each in a partition of its own: with an
    opening cost of a whole split, no two splits or files share one (Spark's FilePartition)."""
    session = configure(spark.newSession())
    session.conf.set("spark.sql.files.maxPartitionBytes", str(indexes.split_bytes))
    session.conf.set("spark.sql.files.openCostInBytes", str(indexes.split_bytes))
    session.conf.unset("spark.sql.files.maxPartitionNum")  # would merge partitions again
    return session


# --- physical lines, numbered ----------------------------------------------------------------------
@dataclass(frozen=True)
class NumberedLines:
    frame: DataFrame  # (_source_file, _line, _text, _plain): every physical line, BOM removed from line 1
    multiline_files: frozenset[str]  # CSV files with a line break inside a quoted value


@dataclass(frozen=True)
class _Split:
    """What the lines of one split need from the driver: the split (file, first byte), the row id of
    its first line (0 where each split has a partition of its own), the lines before it, and whether
    its file is plain (``_PLAIN``)."""
    file: str
    block: int
    first_id: int
    before: int
    plain: bool = False


def _scan(spark: SparkSession, files: Sequence[LakeFile]) -> DataFrame:
    return spark.read.text([f.path for f in files]).select(
        F.col("_metadata.file_name").alias(SOURCE_FILE),
        F.col("_metadata.file_block_start").alias(_BLOCK),
        F.monotonically_increasing_id().alias(_ROW_ID),
        F.col("value").alias(_TEXT),
    )


def numbered_lines(spark: SparkSession, files: Sequence[LakeFile], *, csv_quotes: bool,
                   indexes: LineIndexes | None = None) -> NumberedLines:
    """Every physical line of ``files`` with its exact 1-based line number (see the module doc);
    ``indexes`` (read by a ``reading_session``) spare the counting pass."""
    scan = _scan(spark, files)
    if indexes is not None:
        return _indexed_lines(spark, scan, files, indexes, csv_quotes)
    # Only lines with a quote pay for counting them (most CSV lines have none).
    quotes = F.when(F.col(_TEXT).contains('"'), F.regexp_count(_TEXT, F.lit('"')) % 2).otherwise(0)
    odd = F.max(quotes) if csv_quotes else F.lit(0)
    splits = (
        scan.groupBy(SOURCE_FILE, _BLOCK)
        .agg(F.count(F.lit(1)).alias("n"), F.min(_ROW_ID).alias(_FIRST_ID), odd.alias(_ODD))
        .collect()
    )
    before: dict[str, int] = defaultdict(int)
    offsets = []
    for split in sorted(splits, key=lambda s: (s[SOURCE_FILE], s[_BLOCK])):
        offsets.append(_Split(split[SOURCE_FILE], split[_BLOCK], split[_FIRST_ID], before[split[SOURCE_FILE]]))
        before[split[SOURCE_FILE]] += split["n"]
    line = F.col(_BEFORE) + F.col(_ROW_ID) - F.col(_FIRST_ID) + 1
    multiline = frozenset(s[SOURCE_FILE] for s in splits if s[_ODD])
    return NumberedLines(_numbered(spark, scan, offsets, line), multiline)


def _indexed_lines(spark: SparkSession, scan: DataFrame, files: Sequence[LakeFile], indexes: LineIndexes,
                   csv_quotes: bool) -> NumberedLines:
    # Every split Spark makes: from each multiple of split_bytes of an uncompressed file, from 0 of a
    # gzipped one. A split is alone in its partition, so a row's number in the partition is its number
    # in the split (first id 0).
    offsets = [_Split(f.name, start, 0, index.lines_up_to(start), _plain(index, csv_quotes))
               for f in files if (index := indexes.by_file.get(f.name))
               for start in range(0, f.size, indexes.split_bytes)]
    offsets += [_Split(f.name, 0, 0, 0) for f in files if f.name not in indexes.by_file]
    line = F.col(_BEFORE) + F.col(_ROW_ID).bitwiseAND(F.lit(_ROW_IN_PARTITION)) + 1
    multiline = frozenset(name for name, index in indexes.by_file.items() if csv_quotes and index.multiline_records)
    return NumberedLines(_numbered(spark, scan, offsets, line), multiline)


def _plain(index: LineIndex, csv: bool) -> bool:
    return not (index.tab_vt_ff if csv else index.backslash)


def _numbered(spark: SparkSession, scan: DataFrame, offsets: Sequence[_Split], line: SparkColumn) -> DataFrame:
    # A split missing from ``offsets`` would lose its lines: it fails the job instead.
    missing = F.raise_error(F.concat(F.lit("no line count for a split of "), F.col(SOURCE_FILE)))
    line = F.coalesce(line, missing.cast("bigint"))
    return scan.join(F.broadcast(_offsets(spark, offsets)), on=[SOURCE_FILE, _BLOCK], how="left").select(
        SOURCE_FILE,
        line.alias(LINE),
        F.when(line == 1, F.regexp_replace(_TEXT, f"^{_BOM}", "")).otherwise(F.col(_TEXT)).alias(_TEXT),
        _PLAIN,
    )


def _offsets(spark: SparkSession, offsets: Sequence[_Split]) -> DataFrame:
    """``(_source_file, _block, _first_id, _before, _plain)`` per split as a local relation (a VALUES
    list, the values passed as parameters): its broadcast is read on the driver, where a frame made
    from a Python list is an RDD that took a Spark job of its own (0.28 against 0.13 s, measured)."""
    schema = f"{SOURCE_FILE} string, {_BLOCK} bigint, {_FIRST_ID} bigint, {_BEFORE} bigint, {_PLAIN} boolean"
    if not offsets:
        return spark.createDataFrame([], schema)
    rows = ", ".join(f"(:f{i}, :b{i}, :i{i}, :n{i}, :p{i})" for i in range(len(offsets)))
    args: dict[str, object] = {}
    for i, split in enumerate(offsets):
        args.update({f"f{i}": split.file, f"b{i}": split.block, f"i{i}": split.first_id, f"n{i}": split.before,
                     f"p{i}": split.plain})
    values = spark.sql(f"SELECT * FROM VALUES {rows} AS t(f, b, i, n, p)", args=args)
    return values.select(F.col("f").cast("string").alias(SOURCE_FILE), F.col("b").cast("bigint").alias(_BLOCK),
                         F.col("i").cast("bigint").alias(_FIRST_ID), F.col("n").cast("bigint").alias(_BEFORE),
                         F.col("p").cast("boolean").alias(_PLAIN))


@dataclass(frozen=True)
class LineSelection:
    """The records to read again: those not in ``written`` (a frame of ``(_source_file, _line)``,
    e.g. the clean partition just written)."""
    written: DataFrame


def _selected(records: DataFrame, only: LineSelection | None) -> DataFrame:
    """``records`` (with _source_file and _line) cut down to ``only``, before anything parses them.
    A join, not a list on the driver: a day whose every record is invalid reads all of them again."""
    if only is None:
        return records
    return records.join(only.written.select(SOURCE_FILE, LINE), on=[SOURCE_FILE, LINE], how="left_anti")


# --- NDJSON ----------------------------------------------------------------------------------------
def _string_names(contract: Contract) -> list[str]:
    return [c.name for c in contract.columns if c.type == "string"]


def _suspect(value: SparkColumn) -> SparkColumn:
    """The value's text could have come from a JSON number with a fraction or exponent, an object or
    an array. Only a text that starts with ``-`` or a digit (a byte comparison: between ``-`` and
    ``:``) pays for the regex, which decodes the value into a Java string first."""
    number = (value >= "-") & (value < ":") & value.rlike(_JSON_FRACTION)
    return value.startswith("{") | value.startswith("[") | number


def _any_suspect(contract: Contract, fields: SparkColumn) -> SparkColumn:
    strings = _string_names(contract)
    return reduce(operator.or_, (_suspect(fields[n]) for n in strings)) if strings else F.lit(False)


def _not_text(contract: Contract, text: SparkColumn, fields: SparkColumn, raw: SparkColumn,
              canonical: Callable[[SparkColumn], SparkColumn]) -> SparkColumn:
    """The string columns whose JSON value was a fractional/exponent number, an object or an array.

    Spark hands every JSON value over as text, so the value's JSON type is checked only where the text
    could have come from one: a first, cheap pass over the values names the suspects (almost never
    any), and only for those the line itself is read: whether the record's own key for the column is
    followed by a JSON string. A nested object's key of the same spelling can mask that check."""
    strings = _string_names(contract)
    if not strings:
        return _no_names()
    # One boolean decides for the common row; only a row with a suspect builds the array of names
    # (an array per row cost more than all the value tests).
    any_suspect = _any_suspect(contract, fields)
    suspects = F.array_compact(F.array(*(F.when(_suspect(fields[n]), F.lit(n)) for n in strings)))

    def quoted(name: SparkColumn) -> SparkColumn:
        keys = F.filter(F.map_keys(raw), lambda key: canonical(key) == name)
        return F.exists(keys, lambda k: F.regexp_like(text, F.concat(F.lit('"\\Q'), k, F.lit('\\E"\\s*:\\s*"'))))

    # Higher-order functions run without code generation: only rows with a suspect reach them.
    return F.when(any_suspect, F.filter(suspects, lambda name: ~quoted(name)))


def _no_backslash() -> SparkColumn:
    # A JSON string holds a tab, line break, VT or FF only as an escape (the parser refuses them
    # raw): a line without a backslash has no white space but the space in any value. A plain file
    # (the gate found no backslash in it) needs no search.
    return F.col(_PLAIN) | ~F.col(_TEXT).contains("\\")


def _compact_json() -> SparkColumn:
    """True when a ``json`` column's value that starts with ``{`` can only be an object the parser
    printed, which is compact JSON already (what get_json_object would print again), so the cast skips
    re-parsing and re-printing it (measured: about 3 % of activity's check time on the bench day, whose
    payloads hold one or two keys).

    Such a value could otherwise only be a string whose text starts with ``{``, written in the line as
    ``"{``, ``'{`` (Spark's JSON parser accepts single quotes) or with a ``\\u`` escape: a line with
    none of them has none. Byte searches decide it (``contains``, not ``instr``: Spark's ``indexOf``
    steps character by character); any backslash stands for the escape, and is the same expression as
    ``_spaces_only``'s, which Spark computes once per row. In a plain file only ``"{`` is searched:
    the gate accepted it as strict JSON (no single-quoted string) and it has no backslash."""
    text = F.col(_TEXT)
    return (~text.contains('"{') & _no_backslash() & (F.col(_PLAIN) | ~text.contains("'{"))).alias(COMPACT_JSON)


def _spaces_only() -> SparkColumn:
    return _no_backslash().alias(SPACES_ONLY)


def _first_pass_ndjson(lines: DataFrame, parse: SparkColumn, contract: Contract) -> DataFrame:
    """NDJSON lines -> the first pass's layout, with no per-key function and no per-column map
    lookup (each would generate code for every column, and a wide contract's step would go over
    HotSpot's limit for compiling a method: DEVELOPERS.md).

    A record whose keys are the contract's names in its order (one array comparison: a producer
    writes its keys in one order, the sample feed in the contract's) has its values taken by
    position. Any other record is parsed a second time, to the contract's columns by name (Spark's
    JSON parser finds them; only these records pay for it: the map's parse is shared), and is
    deferred when a key is not a contract name (other spellings, unknown keys) or the line is not an
    object. The suspects test is a step of its own that reads the fields as columns."""
    names = F.array(*(F.lit(name) for name in contract.column_names))
    by_name = F.from_json(_TEXT, _fields_type(contract))
    parsed = lines.select(SOURCE_FILE, LINE, _TEXT, _PLAIN, parse.alias(_RAW),
                          F.when(F.map_keys(parse) != names, by_name).alias(_BY_NAME))
    raw = F.col(_RAW)
    positional = F.struct(*(F.get(F.map_values(raw), i).alias(name) for i, name in enumerate(contract.column_names)))
    contract_keys_only = F.size(F.array_except(F.map_keys(raw), names)) == 0
    taken = parsed.select(
        SOURCE_FILE, LINE, F.coalesce(F.col(_BY_NAME), positional).alias(FIELDS), _no_names().alias(UNKNOWN),
        _compact_json(), _spaces_only(),
        (raw.isNull() | (F.col(_BY_NAME).isNotNull() & ~contract_keys_only)).alias(DEFERRED))
    # (A missing value is no suspect: the test is null there, and _deferred is never null.)
    suspect = F.coalesce(_any_suspect(contract, F.col(FIELDS)), F.lit(False))
    return taken.select(*FIRST_PASS_COLUMNS[:-1], (F.col(DEFERRED) | suspect).alias(DEFERRED))


def _ndjson_records(spark: SparkSession, files: Sequence[LakeFile], contract: Contract, indexes: LineIndexes | None,
                    only: LineSelection | None = None, *, first_pass: bool = False) -> DataFrame:
    lines = _selected(numbered_lines(spark, files, csv_quotes=False, indexes=indexes).frame, only)
    name_map = F.create_map(*(F.lit(x) for pair in contract.name_map.items() for x in pair))

    # A key already spelled as a contract name (the usual case) skips the regexes: coalesce stops at
    # the first non-null. Two raw keys that normalize to one name: the last wins, as in a JSON object
    # (session.SQL_CONF).
    def canonical(key: SparkColumn) -> SparkColumn:
        return F.coalesce(F.try_element_at(name_map, key), F.try_element_at(name_map, normalized_name(key)),
                          normalized_name(key))

    known = _known_names(contract)
    # The parse is a step of its own that everything after it reads as a column: Spark computes it
    # once (DEVELOPERS.md, on CollapseProject). A line that opens an object is not blank: only the
    # others pay for the regex.
    kept = lines.filter(F.col(_TEXT).startswith("{") | ~F.col(_TEXT).rlike(_BLANK_JSON))
    parse = F.from_json(_TEXT, "map<string,string>")
    if first_pass:
        return _first_pass_ndjson(kept, parse, contract)
    parsed = kept.select(SOURCE_FILE, LINE, _TEXT, _PLAIN, parse.alias(_RAW))
    raw = F.col(_RAW)
    # Usually every key is already a contract name: then the parsed map is used as it is, with no
    # per-key function (Spark evaluates lambdas without code generation). Other spellings, aliases
    # and unknown keys take the mapping, and only for the records that have them.
    # (JSON's duplicate keys are already one map key, the last: every key counts once.)
    contract_keys = reduce(operator.add, (F.map_contains_key(raw, n).cast("int") for n in contract.column_names))
    spelled_out = F.size(raw) == contract_keys
    keyed = F.when(spelled_out, raw).otherwise(F.transform_keys(raw, lambda k, _v: canonical(k)))
    # _fields is never null, so every use of `keyed` is unconditional and Spark computes it once per
    # row; a line that is not a JSON object keeps its text in _raw_record instead. The string rule
    # reads the fields as columns (a second barrier): on the map expression it would cost more than
    # the parse itself.
    records = parsed.select(
        SOURCE_FILE,
        LINE,
        _TEXT,
        _RAW,
        F.when(raw.isNull(), F.col(_TEXT)).alias(RAW_RECORD),
        F.struct(*(F.try_element_at(keyed, F.lit(name)).alias(name) for name in contract.column_names)).alias(FIELDS),
        F.when(spelled_out | raw.isNull(), _no_names())
        .otherwise(F.array_except(F.map_keys(keyed), known)).alias(UNKNOWN),
        _compact_json(),
        _spaces_only(),
    )
    not_text = _not_text(contract, F.col(_TEXT), F.col(FIELDS), raw, canonical)
    return records.select(SOURCE_FILE, LINE, RAW_RECORD, FIELDS, UNKNOWN,
                          F.coalesce(not_text, _no_names()).alias(NOT_TEXT), COMPACT_JSON, SPACES_ONLY)


# --- CSV -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CsvHeader:
    names: tuple[str, ...]  # the raw header names, in file order
    lines: int  # physical lines the header record spans


def read_csv_header(fs: LakeFS, file: LakeFile) -> CsvHeader:
    """The header record of a CSV file, read on the driver (the first bytes only, decompressed)."""
    for limit in _HEADER_BYTES:
        data = fs.read_bytes(file.path, limit)
        head = data.decode("utf-8", errors="replace").removeprefix(_BOM)
        reader = csv.reader(io.StringIO(head, newline=""))
        names = next(reader, [])
        # Complete when the bytes read hold the whole file or the line break that ends the header.
        if len(data) < limit or len(_LINE_BREAK.findall(head)) >= reader.line_num:
            break
    return CsvHeader(tuple(names), reader.line_num)


def _multiline_records(spark: SparkSession, files: Sequence[LakeFile]) -> DataFrame:
    """(_source_file, _line, _text) per record of CSV files whose quoted values hold line breaks: each
    file is read whole (one task per file), split after every line break with the breaks kept, and
    consecutive lines are joined while a quote is open. Exact, but reserved for these rare files."""
    pieces = spark.read.text([f.path for f in files], wholetext=True).select(
        F.col("_metadata.file_name").alias(SOURCE_FILE),
        F.posexplode(F.split(F.regexp_replace("value", f"^{_BOM}", ""), _AFTER_LINE_BREAK)).alias("_pos", "_piece"),
    ).where(F.col("_piece") != "")
    in_file = Window.partitionBy(SOURCE_FILE).orderBy("_pos")
    quotes = F.length("_piece") - F.length(F.translate("_piece", '"', ""))
    open_before = F.coalesce(F.sum(quotes).over(in_file.rowsBetween(Window.unboundedPreceding, -1)), F.lit(0)) % 2
    starts = pieces.select("*", (open_before == 0).cast("int").alias("_starts"))
    record_no = F.sum("_starts").over(in_file.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    ordered = F.array_sort(F.collect_list(F.struct("_pos", "_piece")))
    return (
        starts.select(SOURCE_FILE, "_pos", "_piece", record_no.alias("_record"))
        .groupBy(SOURCE_FILE, "_record")
        .agg((F.min("_pos") + 1).alias(LINE),
             F.array_join(F.transform(ordered, lambda p: p["_piece"]), "").alias(_TEXT))
        .select(SOURCE_FILE, LINE, F.regexp_replace(_TEXT, r"(\r\n|\r|\n)$", "").alias(_TEXT),
                F.lit(False).alias(_PLAIN))
    )


def _csv_group(lines: DataFrame, header: CsvHeader, contract: Contract) -> DataFrame:
    positional = [f"_c{i}" for i in range(len(header.names))]
    schema = T.StructType([T.StructField(c, T.StringType(), True) for c in positional])
    canonical = [contract.canonical(n) for n in header.names]
    # The last header column of a name wins, as the last key of a JSON object does.
    by_name = {name: f"_c{i}" for i, name in enumerate(canonical) if name is not None}
    unknown = sorted({normalize_name(n) for n in header.names if contract.canonical(n) is None})
    parsed = F.from_csv(_TEXT, schema.simpleString(), {"quote": '"', "escape": '"', "mode": "PERMISSIVE"})
    rows = lines.where((F.col(LINE) > header.lines) & (F.col(_TEXT) != "")).select(
        SOURCE_FILE, LINE, parsed.alias("_row"),
        (F.col(_PLAIN) | ~reduce(operator.or_, (F.col(_TEXT).contains(c) for c in _CSV_OTHER_SPACE)))
        .alias(SPACES_ONLY))
    return (
        rows.select(
            SOURCE_FILE,
            F.col(LINE).cast(T.LongType()).alias(LINE),
            F.lit(None).cast(T.StringType()).alias(RAW_RECORD),
            F.struct(*((F.col(f"_row.{by_name[n]}") if n in by_name else F.lit(None).cast("string")).alias(n)
                       for n in contract.column_names)).alias(FIELDS),
            F.array(*(F.lit(n) for n in unknown)).cast("array<string>").alias(UNKNOWN),
            _no_names().alias(NOT_TEXT),
            F.lit(False).alias(COMPACT_JSON),  # CSV text is whatever the producer wrote
            SPACES_ONLY,
        )
    )


def _csv_records(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract,
                 indexes: LineIndexes | None, only: LineSelection | None = None) -> DataFrame:
    numbered = numbered_lines(spark, files, csv_quotes=True, indexes=indexes)
    simple = [f for f in files if f.name not in numbered.multiline_files]
    multiline = [f for f in files if f.name in numbered.multiline_files]
    # Headers differ per file (names, order, casing): files sharing one header are parsed together.
    groups: dict[CsvHeader, list[str]] = defaultdict(list)
    for f in files:
        groups[read_csv_header(fs, f)].append(f.name)
    records = numbered.frame.where(F.col(SOURCE_FILE).isin([f.name for f in simple])) if simple else None
    if multiline:
        stitched = _multiline_records(spark, multiline)
        records = stitched if records is None else records.unionByName(stitched)
    assert records is not None  # files is never empty here
    # A stitched record's line is its first physical line: the selection applies to whole records.
    records = _selected(records, only)
    frames = [_csv_group(records.where(F.col(SOURCE_FILE).isin(names)), header, contract)
              for header, names in groups.items() if header.names]
    return reduce(DataFrame.unionByName, frames) if frames else _empty(spark, contract)


def _fields_type(contract: Contract) -> T.StructType:
    """``_fields``: each contract column's raw text."""
    return T.StructType([T.StructField(n, T.StringType()) for n in contract.column_names])


def _empty(spark: SparkSession, contract: Contract) -> DataFrame:
    schema = T.StructType([
        T.StructField(SOURCE_FILE, T.StringType()),
        T.StructField(LINE, T.LongType()),
        T.StructField(RAW_RECORD, T.StringType()),
        T.StructField(FIELDS, _fields_type(contract)),
        T.StructField(UNKNOWN, T.ArrayType(T.StringType())),
        T.StructField(NOT_TEXT, T.ArrayType(T.StringType())),
        T.StructField(COMPACT_JSON, T.BooleanType()),
        T.StructField(SPACES_ONLY, T.BooleanType()),
    ])
    return spark.createDataFrame([], schema)


def _by_format(files: Sequence[LakeFile]) -> dict[str, list[LakeFile]]:
    """The files of each supported format (others are skipped: the gate never archives one)."""
    by_format: dict[str, list[LakeFile]] = defaultdict(list)
    for f in files:
        fmt = file_kind(f.name).format
        if fmt is not None:
            by_format[fmt].append(f)
    return by_format


def read_records(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract,
                 indexes: LineIndexes | None = None, only: LineSelection | None = None) -> DataFrame:
    """Every record of these files in the common layout, or only the records ``only`` selects (read
    again, parsed alone). ``indexes``: the gate's line indexes, read in ``spark``, a reading_session."""
    by_format = _by_format(files)
    parts = []
    if by_format["ndjson"]:
        parts.append(_ndjson_records(spark, by_format["ndjson"], contract, indexes, only))
    if by_format["csv"]:
        parts.append(_csv_records(spark, fs, by_format["csv"], contract, indexes, only))
    if not parts:
        return _empty(spark, contract)
    return reduce(DataFrame.unionByName, (p.select(*RECORD_COLUMNS) for p in parts))


def read_first_pass(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract,
                    indexes: LineIndexes | None = None) -> DataFrame:
    """Every record of these files in the first pass's layout (see the module doc): a CSV record is
    never deferred, an NDJSON record when it needs what only the full layout does."""
    by_format = _by_format(files)
    parts = []
    if by_format["ndjson"]:
        parts.append(_ndjson_records(spark, by_format["ndjson"], contract, indexes, first_pass=True))
    if by_format["csv"]:
        parts.append(_csv_records(spark, fs, by_format["csv"], contract, indexes).withColumn(DEFERRED, F.lit(False)))
    if not parts:
        return _empty(spark, contract).withColumn(DEFERRED, F.lit(False)).select(*FIRST_PASS_COLUMNS)
    return reduce(DataFrame.unionByName, (p.select(*FIRST_PASS_COLUMNS) for p in parts))
