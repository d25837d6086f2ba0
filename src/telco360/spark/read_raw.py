"""Archived files (CSV or NDJSON, optionally gzipped, mixed within a day) -> one record layout.

Both formats become rows of ``(_source_file, _line, _raw_record, _fields, _unknown)``: ``_fields`` maps
each contract column the record names to its raw text value, ``_unknown`` lists the normalized names
the contract does not know (dropped, but counted in the run report), and ``_raw_record`` holds the
line of a record that did not parse at all (``_fields`` is then null). Casting happens once, later,
on this layout, so CSV and NDJSON follow exactly the same rules.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360.contracts import NON_ALNUM, SPLIT_WORDS, Contract, java_replacement, normalize_name
from telco360.formats import file_kind
from telco360.spark.lakefs import LakeFile, LakeFS
from telco360.spark.schemas import LINE, RAW_RECORD, SOURCE_FILE

FIELDS, UNKNOWN = "_fields", "_unknown"
_TEXT, _BLOCK, _ROW_ID, _SPAN = "_text", "_block", "_id", "_span"
_FIRST_ID, _ROWS, _BEFORE = "_first_id", "_rows", "_before"
# A CSV header is one record at the top of the file; this is far more than any real header needs.
_HEADER_BYTES = 1024 * 1024
_BOM = "\ufeff"
_BLANK = r"^\s*$"
RECORD_COLUMNS: tuple[str, ...] = (SOURCE_FILE, LINE, RAW_RECORD, FIELDS, UNKNOWN)


@dataclass
class RawRecords:
    """The records of one dataset's day, and the cached frames to release once they are consumed."""

    frame: DataFrame
    cached: list[DataFrame] = field(default_factory=list)

    def release(self) -> None:
        for df in self.cached:
            df.unpersist()


def normalized_name(name: SparkColumn) -> SparkColumn:
    """contracts.normalize_name as a Spark expression (the same SPLIT_WORDS / NON_ALNUM steps)."""
    out = F.regexp_replace(name, f"^{_BOM}+", "")
    for pattern, replacement in SPLIT_WORDS:
        out = F.regexp_replace(out, pattern, java_replacement(replacement))
    out = F.regexp_replace(F.lower(out), NON_ALNUM, "_")
    return F.regexp_replace(out, "^_+|_+$", "")


def _known_names(contract: Contract) -> SparkColumn:
    return F.array(*(F.lit(n) for n in contract.column_names))


def _ndjson_records(spark: SparkSession, files: Sequence[LakeFile], contract: Contract) -> RawRecords:
    # One pass over the input: the lines are cached, a tiny per-(file, split) aggregate gives each
    # split's first line number, and lines are numbered without shuffling whole files.
    lines = (
        spark.read.option("lineSep", "\n").text([f.path for f in files])
        .select(
            F.col("_metadata.file_name").alias(SOURCE_FILE),
            F.col("_metadata.file_block_start").alias(_BLOCK),
            F.monotonically_increasing_id().alias(_ROW_ID),
            F.col("value").alias(_TEXT),
        )
        .persist()
    )
    earlier = Window.partitionBy(SOURCE_FILE).orderBy(_BLOCK).rowsBetween(Window.unboundedPreceding, -1)
    blocks = (
        lines.groupBy(SOURCE_FILE, _BLOCK)
        .agg(F.min(_ROW_ID).alias(_FIRST_ID), F.count(F.lit(1)).alias(_ROWS))
        .select(SOURCE_FILE, _BLOCK, _FIRST_ID, F.coalesce(F.sum(_ROWS).over(earlier), F.lit(0)).alias(_BEFORE))
    )
    line = F.col(_BEFORE) + F.col(_ROW_ID) - F.col(_FIRST_ID) + 1
    numbered = lines.join(F.broadcast(blocks), on=[SOURCE_FILE, _BLOCK], how="inner").select(
        SOURCE_FILE,
        line.alias(LINE),
        F.when(line == 1, F.regexp_replace(_TEXT, f"^{_BOM}", "")).otherwise(F.col(_TEXT)).alias(_TEXT),
    )
    name_map = F.create_map(*(F.lit(x) for pair in contract.name_map.items() for x in pair))
    parsed = F.from_json(_TEXT, "map<string,string>")
    # A key already spelled as a contract name (the usual case) skips the regexes: normalized names
    # normalize to themselves. Two raw keys that normalize to one name: the last wins, as in a JSON
    # object (session.SQL_CONF).
    fields = F.transform_keys(parsed, lambda k, _v: F.coalesce(
        F.try_element_at(name_map, k),
        F.try_element_at(name_map, normalized_name(k)),
        normalized_name(k),
    ))
    known = _known_names(contract)
    records = (
        numbered.filter(~F.col(_TEXT).rlike(_BLANK))
        .select(SOURCE_FILE, LINE, _TEXT, fields.alias(FIELDS))
        .select(
            SOURCE_FILE,
            LINE,
            F.when(F.col(FIELDS).isNull(), F.col(_TEXT)).alias(RAW_RECORD),
            F.map_filter(FIELDS, lambda k, _v: F.array_contains(known, k)).alias(FIELDS),
            F.coalesce(
                F.filter(F.map_keys(FIELDS), lambda k: ~F.array_contains(known, k)), F.array().cast("array<string>")
            ).alias(UNKNOWN),
        )
    )
    return RawRecords(records, [lines])


@dataclass(frozen=True)
class CsvHeader:
    names: tuple[str, ...]  # the raw header names, in file order
    lines: int  # physical lines the header record spans


def read_csv_header(fs: LakeFS, file: LakeFile) -> CsvHeader:
    """The header record of a CSV file, read on the driver (the first bytes only, decompressed)."""
    head = fs.read_bytes(file.path, _HEADER_BYTES).decode("utf-8", errors="replace").removeprefix(_BOM)
    reader = csv.reader(io.StringIO(head, newline=""))
    names = next(reader, [])
    return CsvHeader(tuple(names), reader.line_num)


def _csv_group(spark: SparkSession, files: Sequence[LakeFile], header: CsvHeader, contract: Contract) -> DataFrame:
    positional = [f"_c{i}" for i in range(len(header.names))]
    # The header's own names keep Spark's header check quiet; the gate has made them unique. The
    # columns are then used by position, as a name may contain characters Spark resolves (".").
    names = list(header.names) if len(set(header.names)) == len(header.names) else positional
    schema = T.StructType([T.StructField(n, T.StringType(), True) for n in names])
    raw = spark.read.csv(
        [f.path for f in files], schema=schema, header=True, multiLine=True, quote='"', escape='"',
        mode="PERMISSIVE", enforceSchema=True,
    ).toDF(*positional)
    canonical = [contract.canonical(n) for n in header.names]
    known = [(name, f"_c{i}") for i, name in enumerate(canonical) if name is not None]
    unknown = sorted({normalize_name(n) for n in header.names if contract.canonical(n) is None})
    # A record spans 1 line plus one per newline inside its quoted values; a multiLine CSV file is
    # read by one task in order, so a per-file running sum gives each record's first line.
    span = reduce(
        lambda acc, c: acc + F.coalesce(F.length(c) - F.length(F.regexp_replace(c, "\n", "")), F.lit(0)),
        (F.col(c) for c in positional),
        F.lit(1),
    )
    earlier = Window.partitionBy(SOURCE_FILE).orderBy(_ROW_ID).rowsBetween(Window.unboundedPreceding, -1)
    line = F.lit(header.lines + 1) + F.coalesce(F.sum(_SPAN).over(earlier), F.lit(0))
    return (
        raw.select(
            F.col("_metadata.file_name").alias(SOURCE_FILE),
            F.monotonically_increasing_id().alias(_ROW_ID),
            span.alias(_SPAN),
            F.map_from_arrays(
                F.array(*(F.lit(n) for n, _ in known)).cast("array<string>"),
                F.array(*(F.col(c) for _, c in known)).cast("array<string>"),
            ).alias(FIELDS),
        )
        .select(
            SOURCE_FILE,
            line.cast(T.LongType()).alias(LINE),
            F.lit(None).cast(T.StringType()).alias(RAW_RECORD),
            FIELDS,
            F.array(*(F.lit(n) for n in unknown)).cast("array<string>").alias(UNKNOWN),
        )
    )


def _csv_records(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract) -> RawRecords:
    # Headers differ per file (names, order, casing): files sharing one header are read together.
    groups: dict[CsvHeader, list[LakeFile]] = defaultdict(list)
    for f in files:
        groups[read_csv_header(fs, f)].append(f)
    frames = [_csv_group(spark, group, header, contract) for header, group in groups.items() if header.names]
    return RawRecords(reduce(DataFrame.unionByName, frames)) if frames else RawRecords(_empty(spark))


def _empty(spark: SparkSession) -> DataFrame:
    schema = T.StructType([
        T.StructField(SOURCE_FILE, T.StringType()),
        T.StructField(LINE, T.LongType()),
        T.StructField(RAW_RECORD, T.StringType()),
        T.StructField(FIELDS, T.MapType(T.StringType(), T.StringType())),
        T.StructField(UNKNOWN, T.ArrayType(T.StringType())),
    ])
    return spark.createDataFrame([], schema)


def read_records(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract) -> RawRecords:
    """Every record of these files in the common layout (files of an unsupported format are skipped:
    the gate never archives one)."""
    by_format: dict[str, list[LakeFile]] = defaultdict(list)
    for f in files:
        fmt = file_kind(f.name).format
        if fmt is not None:
            by_format[fmt].append(f)
    parts = []
    if by_format["ndjson"]:
        parts.append(_ndjson_records(spark, by_format["ndjson"], contract))
    if by_format["csv"]:
        parts.append(_csv_records(spark, fs, by_format["csv"], contract))
    if not parts:
        return RawRecords(_empty(spark))
    frame = reduce(DataFrame.unionByName, (p.frame.select(*RECORD_COLUMNS) for p in parts))
    return RawRecords(frame, [df for p in parts for df in p.cached])
