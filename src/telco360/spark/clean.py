"""Glue Job A: archive -> clean (contract-typed Parquet) and quarantine (invalid records, with reasons).

For run date D and each dataset, every file under ``archive/<dataset>/ingest_date=D/`` is parsed
(``read_raw``), cast with docs/spec.md §2's rules (``casting``) and split: valid records go to
``clean/<dataset>/ingest_date=D/``, the others to ``quarantine/<dataset>/ingest_date=D/`` with their
original text, reasons, source file and line. Each output is written to the partition folder itself
with ``mode("overwrite")``: that replaces exactly D (also when D's new output is empty, which Spark's
dynamic partition overwrite would leave stale) and never touches another date.

Two passes. The first reads every record in read_raw's lean first-pass layout, casts and checks it
and writes the valid ones to the clean partition; the same job counts the records and notes the
files that have others (an ``Observation``: no pass of its own). It builds no reasons and keeps no
original text, and leaves out every per-key function, so the whole step after the parse compiles to
code. Only when some records were not written (invalid, or deferred by read_raw: keys not spelled as
the contract names them, a value that may not be text) are those files read again, and then only
their records that are not in the clean partition just written (a join before the parse: nothing on
the driver grows with the records). That second pass applies every rule with its reason: the valid
records are appended to the clean partition, the others written to quarantine, and all of them
counted (reasons, dropped columns). The records per file come from the clean partition (one column
of its Parquet files; a count per file inside the write's observation measured no faster).
"""

from __future__ import annotations

import json
import logging
import math
import operator
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path

from pyspark import StorageLevel, inheritable_thread_target
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360 import runs, zones
from telco360.contracts import DATASETS, Column, Contract, get_contract
from telco360.formats import file_kind
from telco360.reports import RECORD, CleanReport, DatasetCleanReport, FileReport, ReasonCode
from telco360.spark.casting import blank_as_null, clean_text, column_reason, reason, trimmed_text, typed_value
from telco360.spark.evolution import write_version_marker
from telco360.spark.lakefs import LakeFile, LakeFS
from telco360.spark.read_raw import (
    COMPACT_JSON,
    DEFERRED,
    FIELDS,
    NOT_TEXT,
    SPACES_ONLY,
    UNKNOWN,
    LineIndexes,
    LineSelection,
    line_indexes,
    read_first_pass,
    read_records,
    reading_session,
)
from telco360.spark.schemas import (
    LINE,
    RAW_RECORD,
    REASON_TYPE,
    REASONS,
    SOURCE_FILE,
    clean_schema,
    quarantine_schema,
)

log = logging.getLogger("telco360.clean")

JOB = "clean"
# Output files sized for a warehouse bulk load: about this much input per output file.
TARGET_FILE_BYTES = 128 * 1024 * 1024
_RAW_PREFIX, _TEXT_PREFIX, _NOT_TEXT_PREFIX, _PRINTED_PREFIX = "_raw__", "_text__", "_not_text__", "_printed__"
_MALFORMED, _VALID = "_malformed", "_valid"


def lake_uri(lake_root: str) -> str:
    """``s3://bucket`` and ``file://`` URIs as they are; a plain folder path as an absolute file URI."""
    # Not Path.as_uri(): it percent-encodes "=" and spaces, which Hadoop would take literally.
    return lake_root if "://" in lake_root else f"file://{Path(lake_root).resolve()}"


# Below this much input per file, one more file (and task) for the write is not worth its overhead.
MIN_FILE_BYTES = 8 * 1024 * 1024


def output_files(input_bytes: int, cores: int = 1) -> int:
    """Files for a day's clean rows: one per 128 MB of input, and at least one per core while each
    still gets 8 MB. It is also the number of tasks that read, check and write the day (the write
    coalesces the read's splits): a day of at least 8 MB per core keeps every core busy."""
    per_core = min(cores, input_bytes // MIN_FILE_BYTES)
    return max(1, math.ceil(input_bytes / TARGET_FILE_BYTES), per_core)


def check_records(records: DataFrame, contract: Contract) -> DataFrame:
    """Raw records -> one row each with the raw text (``_raw__<column>``), the typed values, the
    reasons (``{column, code}``, empty when the record is valid) and provenance.

    Each step is a select of its own that the next reads as columns, so Spark computes each
    expression once (DEVELOPERS.md, on CollapseProject). The cleaned texts are one step (a cast such
    as the timestamp's reads its text several times, and the checks read it again), the typed values
    the next (measured: about 10 % of activity's check CPU less than trimming inside every cast)."""
    provenance = (RAW_RECORD, SOURCE_FILE, LINE, UNKNOWN)
    raw = {c.name: F.col(FIELDS)[c.name] for c in contract.columns}
    texts = records.select(
        *provenance,
        COMPACT_JSON,
        F.col(RAW_RECORD).isNotNull().alias(_MALFORMED),
        *(F.array_contains(NOT_TEXT, c.name).alias(_NOT_TEXT_PREFIX + c.name) for c in _strings(contract)),
        *(raw[c.name].alias(_RAW_PREFIX + c.name) for c in contract.columns),
        *(clean_text(raw[c.name], F.col(SPACES_ONLY)).alias(_TEXT_PREFIX + c.name) for c in contract.columns),
    )
    values = texts.select(
        *texts.columns,
        *(_typed(c).alias(c.name) for c in contract.columns),
    )
    found = [column_reason(F.col(_TEXT_PREFIX + c.name), F.col(c.name), c) for c in contract.columns]
    not_text = [F.when(F.col(_NOT_TEXT_PREFIX + c.name), reason(c.name, ReasonCode.INVALID_STRING))
                for c in _strings(contract)]
    # Almost every record is valid: one boolean per column decides that, and only an invalid record
    # builds its array of reasons (building and compacting one struct per column for every record
    # cost more than all the casts).
    valid = reduce(operator.and_, (
        *(_column_valid(c) for c in contract.columns),
        *(~F.col(_NOT_TEXT_PREFIX + c.name) for c in _strings(contract)),
    ), ~F.col(_MALFORMED))
    reasons = (
        F.when(valid, F.array().cast(T.ArrayType(REASON_TYPE, containsNull=False)))
        .when(F.col(_MALFORMED), F.array(reason(RECORD, ReasonCode.MALFORMED)))
        .otherwise(F.array_compact(F.array(*found, *not_text)))
    )
    # A record is written either to clean (typed values) or to quarantine (original text): the other
    # half is dropped here, so a row is about the size of its record.
    return values.select(
        *(F.col(_RAW_PREFIX + c.name) for c in contract.columns), *contract.column_names,
        valid.alias(_VALID), reasons.alias(REASONS), *provenance,
    ).select(
        *(F.when(~F.col(_VALID), F.col(_RAW_PREFIX + c.name)).alias(_RAW_PREFIX + c.name) for c in contract.columns),
        *(F.when(F.col(_VALID), F.col(c.name)).alias(c.name) for c in contract.columns),
        REASONS,
        *provenance,
    )


def check_first_pass(records: DataFrame, contract: Contract, rows: Observation) -> DataFrame:
    """Records in read_raw's first-pass layout -> the typed values, provenance, the dropped column
    names and ``_valid``: the record was not deferred and breaks no rule (the same rules as
    check_records, which also names them). A ``json`` value that is not an object as the parser
    printed it is left to the second pass too (re-printing it does not compile to code).

    The records are counted (``rows``) between the record step and the checks: that observation also
    ends a compiled stage there, so neither stage's generated method goes over the 8,000 bytes of
    bytecode above which HotSpot never compiles one (Spark would put the whole chain in one method:
    DEVELOPERS.md). The trimmed texts are a step of their own because the blank test reads each twice."""
    raw = {c.name: F.col(FIELDS)[c.name] for c in contract.columns}
    provenance = (SOURCE_FILE, LINE, UNKNOWN, DEFERRED)
    printed = [_PRINTED_PREFIX + c.name for c in _jsons(contract)]
    trimmed = records.observe(rows, F.count(F.lit(1)).alias("rows")).select(
        *provenance,
        *(_printed(raw[c.name]).alias(_PRINTED_PREFIX + c.name) for c in _jsons(contract)),
        *(trimmed_text(raw[c.name], F.col(SPACES_ONLY)).alias(_TEXT_PREFIX + c.name) for c in contract.columns),
    )
    texts = trimmed.select(
        *provenance, *printed,
        *(blank_as_null(F.col(_TEXT_PREFIX + c.name)).alias(_TEXT_PREFIX + c.name) for c in contract.columns),
    )
    values = texts.select(*texts.columns, *(_typed(c, first_pass=True).alias(c.name) for c in contract.columns))
    valid = reduce(operator.and_, (_column_valid(c) for c in contract.columns), ~F.col(DEFERRED))
    return values.select(*contract.column_names, SOURCE_FILE, LINE, UNKNOWN, valid.alias(_VALID))


def _printed(raw: SparkColumn) -> SparkColumn:
    # An NDJSON object is already compact JSON text (read_raw): only other values are re-serialized.
    return F.col(COMPACT_JSON) & raw.startswith("{")


def _typed(column: Column, *, first_pass: bool = False) -> SparkColumn:
    text = F.col(_TEXT_PREFIX + column.name)
    if column.type == "json":
        if first_pass:
            return F.when(F.col(_PRINTED_PREFIX + column.name), text)
        return F.when(_printed(F.col(_RAW_PREFIX + column.name)), text).otherwise(typed_value(text, column))
    return typed_value(text, column)


def _column_valid(column: Column) -> SparkColumn:
    """True when the column breaks none of its rules: a value, or (optional column) no text at all.
    The same rules as casting.column_reason, which names the broken one."""
    value = F.col(column.name)
    if column.required:
        return value.isNotNull()
    return value.isNotNull() | F.col(_TEXT_PREFIX + column.name).isNull()


def _strings(contract: Contract) -> list[Column]:
    return [c for c in contract.columns if c.type == "string"]


def _jsons(contract: Contract) -> list[Column]:
    return [c for c in contract.columns if c.type == "json"]


def quarantined() -> SparkColumn:
    """True for a checked record that goes to quarantine: it has a reason."""
    return F.size(REASONS) > 0


def clean_rows(checked: DataFrame, contract: Contract) -> DataFrame:
    return checked.filter(~quarantined()).select(*clean_schema(contract).fieldNames())


def quarantine_rows(checked: DataFrame, contract: Contract) -> DataFrame:
    raw_names = set(contract.column_names)
    return checked.filter(quarantined()).select(*(
        F.col(_RAW_PREFIX + name).alias(name) if name in raw_names else F.col(name)
        for name in quarantine_schema(contract).fieldNames()
    ))


def _write(df: DataFrame, files: int, path: str, mode: str = "overwrite") -> None:
    # The partition folder itself, overwritten: exactly D is replaced (the second pass appends to the
    # clean partition the first pass wrote). An empty frame still writes a schema-only file, so an
    # empty day replaces the old data and stays readable.
    df.coalesce(files).write.mode(mode).parquet(path)


_ROW, _REASON, _COLUMN = "row", "reason", "column"


@dataclass(frozen=True)
class _FirstPass:
    """What the first pass saw of every record (an Observation: no pass of its own)."""
    rows: int
    pending: int  # records not written to clean: invalid, or deferred to the second pass
    pending_files: frozenset[str]  # the files that have such records
    unknown: dict[str, set[str]]  # CSV file -> the normalized names of its header's columns we drop


@dataclass(frozen=True)
class _Counts:
    """Per-file and per-key counts of the records the second pass read (empty on a clean day)."""
    read_again: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)  # (NDJSON file, column) -> records


def first_pass_clean_rows(checked: DataFrame, contract: Contract, seen: Observation) -> DataFrame:
    """The first pass's valid records in the clean layout, the others counted on the way into
    ``seen`` (Spark computes the metrics in the same job, and the filter cannot be pushed below
    them, so every parse and cast runs once: DEVELOPERS.md, on filters over computed columns)."""
    pending = ~F.col(_VALID)
    watched = checked.observe(
        seen,
        F.count_if(pending).alias("pending"),
        # The files with pending records (so the second pass reads only those), and the distinct
        # sets of dropped columns per file: both bounded by the day's files, never by its records (a
        # list of the pending lines would not fit the driver on a day whose every record is invalid).
        # As JSON text: PySpark hands a nested metric over one py4j call per element.
        F.to_json(F.collect_set(F.when(pending, F.col(SOURCE_FILE)))).alias("files"),
        F.to_json(F.collect_set(F.when(F.size(UNKNOWN) > 0, F.struct(SOURCE_FILE, UNKNOWN)))).alias("unknown"),
    )
    return watched.filter(F.col(_VALID)).select(*clean_schema(contract).fieldNames())


def _write_clean(checked: DataFrame, contract: Contract, files: int, path: str, counted: Observation) -> _FirstPass:
    """Write the first pass's valid records; what it saw of the others, from the observations."""
    seen = Observation()
    _write(first_pass_clean_rows(checked, contract, seen), files, path)
    metrics = seen.get
    unknown: dict[str, set[str]] = {}
    for entry in json.loads(metrics["unknown"]):
        unknown.setdefault(entry[SOURCE_FILE], set()).update(entry[UNKNOWN])
    return _FirstPass(rows=counted.get["rows"], pending=metrics["pending"],
                      pending_files=frozenset(json.loads(metrics["files"])), unknown=unknown)


def _csv(file: str) -> bool:
    return file_kind(file).format == "csv"


def _second_pass(spark: SparkSession, fs: LakeFS, files: Sequence[LakeFile], contract: Contract,
                 indexes: LineIndexes | None, seen: _FirstPass, written: DataFrame, files_out: int, clean_path: str,
                 quarantine_path: str) -> _Counts:
    """Read again only the records that are not in ``written`` (the clean partition the first pass
    wrote) with every rule; append the valid ones to the clean partition, write the others to
    quarantine, count them all."""
    only = LineSelection(written=written.where(F.col(SOURCE_FILE).isin(sorted(seen.pending_files))))
    again = [f for f in files if f.name in seen.pending_files]
    # Usually a few records (all of a file's when all of them are invalid): cached, in memory and on
    # disk, counted, and written from the cache.
    checked = check_records(read_records(spark, fs, again, contract, indexes, only), contract).persist(
        StorageLevel.MEMORY_AND_DISK)
    try:
        counts = _count(checked)  # fills the cache
        if sum(counts.read_again.values()) != seen.pending:
            raise RuntimeError(f"{contract.name}: {seen.pending} records were left to the second pass, "
                               f"{sum(counts.read_again.values())} read again: did the archive change "
                               "during the run?")
        _write(quarantine_rows(checked, contract), files_out, quarantine_path)
        if sum(counts.read_again.values()) > sum(counts.quarantined.values()):
            # Valid records the first pass deferred: added beside the first pass's files.
            _write(clean_rows(checked, contract), files_out, clean_path, mode="append")
    finally:
        checked.unpersist()
    return counts


def _count(rows: DataFrame) -> _Counts:
    # One small aggregate over the records read again: each counts once (as quarantined or not), once
    # per reason and once per dropped column, keyed by file.
    keys = F.concat(
        F.array(F.struct(F.lit(_ROW).alias("kind"), F.lit("").alias("name"))),
        F.transform(REASONS, lambda r: F.struct(F.lit(_REASON).alias("kind"),
                                                F.concat_ws(":", r["column"], r["code"]).alias("name"))),
        F.transform(UNKNOWN, lambda u: F.struct(F.lit(_COLUMN).alias("kind"), u.alias("name"))),
    )
    found = (
        rows.select(SOURCE_FILE, F.size(REASONS).alias("n_reasons"), F.inline(keys))
        .groupBy(SOURCE_FILE, "kind", "name")
        .agg(F.count(F.lit(1)).alias("n"), F.count_if(F.col("n_reasons") > 0).alias("quarantined"))
        .collect()
    )
    counts = _Counts()
    for r in found:
        if r["kind"] == _ROW:
            counts.read_again[r[SOURCE_FILE]] = r["n"]
            counts.quarantined[r[SOURCE_FILE]] = r["quarantined"]
        elif r["kind"] == _REASON:
            counts.reasons[r["name"]] = counts.reasons.get(r["name"], 0) + r["n"]
        elif not _csv(r[SOURCE_FILE]):
            counts.dropped[(r[SOURCE_FILE], r["name"])] = r["n"]
    return counts


def _report(contract: Contract, files: Sequence[LakeFile], first_clean: dict[str, int], seen: _FirstPass,
            counts: _Counts) -> DatasetCleanReport:
    # Every record is in the first pass's clean files or was read again by the second pass.
    rows = {f.name: first_clean.get(f.name, 0) + counts.read_again.get(f.name, 0) for f in files}
    if sum(rows.values()) != seen.rows:
        raise RuntimeError(f"{contract.name}: {seen.rows} records read, but {sum(rows.values())} written to clean "
                           "and quarantine: did the archive change during the run?")
    # A CSV file's dropped columns are its header's: every record has them. An NDJSON record with a
    # key the contract does not know is always read again, and counted there.
    unknown = {file: set(names) for file, names in seen.unknown.items()}
    for file, name in counts.dropped:
        unknown.setdefault(file, set()).add(name)
    dropped: dict[str, int] = {}
    for file, names in unknown.items():
        for name in names:
            n = rows.get(file, 0) if _csv(file) else counts.dropped.get((file, name), 0)
            dropped[name] = dropped.get(name, 0) + n
    rows_read, rows_quarantined = sum(rows.values()), sum(counts.quarantined.values())
    return DatasetCleanReport(
        dataset=contract.name,
        contract_version=contract.version,
        files_read=len(files),
        rows_read=rows_read,
        rows_clean=rows_read - rows_quarantined,
        rows_quarantined=rows_quarantined,
        quarantine_reasons=dict(sorted(counts.reasons.items())),
        columns_dropped=dict(sorted(dropped.items())),
        files=[
            FileReport(file=f.name, format=file_kind(f.name).format, rows=rows[f.name],
                       rows_quarantined=counts.quarantined.get(f.name, 0),
                       unknown_columns=sorted(unknown.get(f.name, ())))
            for f in files
        ],
    )


def _read_back(spark: SparkSession, clean_partition: str) -> DataFrame:
    """The provenance of the rows just written. With its schema given, Spark reads no footer to infer
    it, which is a Spark job of its own that waited behind the other datasets' tasks (measured: 1 s)."""
    return spark.read.schema(f"{SOURCE_FILE} string, {LINE} bigint").parquet(clean_partition)


def clean_dataset(spark: SparkSession, fs: LakeFS, root: str, dataset: str, run_date: str) -> DatasetCleanReport:
    """Job A for one dataset and day; returns the dataset's part of the run report."""
    contract = get_contract(dataset)
    archive = zones.archive_path(root, dataset, run_date)
    files = fs.list_files(archive)
    input_bytes = sum(f.size for f in files)
    cores = spark.sparkContext.defaultParallelism
    # With the gate's line indexes the day is read in a session of its own, without a counting pass.
    indexes = line_indexes(fs, archive, files, cores)
    log.info("clean %s %s: lines numbered %s", dataset, run_date,
             "from the gate's line indexes" if indexes else "by a counting pass (no usable line index)")
    spark = spark if indexes is None else reading_session(spark, indexes)
    clean_partition = zones.clean_path(root, dataset, run_date)
    quarantine_partition = zones.quarantine_path(root, dataset, run_date)
    empty = quarantine_schema(contract)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"quarantine-{dataset}") as background:
        records = read_first_pass(spark, fs, files, contract, indexes)
        # D's quarantine partition is replaced by a schema-only file (a clean day's, readable and
        # empty) in the background while the driver plans the first pass and the cores would idle;
        # the second pass, when there is one, replaces it once that write is done.
        emptied = background.submit(inheritable_thread_target(
            lambda: _write(spark.createDataFrame([], empty), 1, quarantine_partition)))
        counted = Observation()
        checked = check_first_pass(records, contract, counted)
        seen = _write_clean(checked, contract, output_files(input_bytes, cores), clean_partition, counted)
        # Readers of history convert each partition from the contract version that wrote it.
        write_version_marker(fs, clean_partition, contract)
        if len(files) == 1:
            # A day of one file (a full extract, the catalogue): what the first pass wrote is its.
            first_clean = {files[0].name: seen.rows - seen.pending}
        else:
            # Records per file: one column of what was just written (Parquet's dictionary, read back).
            written = _read_back(spark, clean_partition).groupBy(SOURCE_FILE).count()
            first_clean = {r[SOURCE_FILE]: r["count"] for r in written.collect()}
        emptied.result()
    counts = _Counts()
    if seen.pending:
        # The rare records of the second pass stay together.
        counts = _second_pass(spark, fs, files, contract, indexes, seen, _read_back(spark, clean_partition),
                              output_files(input_bytes), clean_partition, quarantine_partition)
    report = _report(contract, files, first_clean, seen, counts)
    log.info("clean %s %s: %d rows read, %d clean, %d quarantined", dataset, run_date,
             report.rows_read, report.rows_clean, report.rows_quarantined)
    return report


def run_clean(spark: SparkSession, lake_root: str, run_date: str, datasets: Sequence[str] = DATASETS) -> CleanReport:
    """Run Job A for ``run_date`` over ``datasets``; write the run report beside the lake's other
    reports and return it."""
    day = runs.parse_run_date(run_date).isoformat()
    root = lake_uri(lake_root)
    fs = LakeFS(spark)
    # The datasets are independent: their Spark jobs run side by side, so that one dataset's phases
    # that leave cores idle (a small file read by one task, a one-file write, the driver planning the
    # next step) are filled by another's tasks. Each thread's jobs carry the caller's Spark local
    # properties (job group, pool), a copy of its own: the wrapper copies them when it wraps, and
    # Spark sets a query's SQL settings there and restores them after it, so with one copy shared, a
    # query ending on one thread removed a setting (the Parquet date rebase mode) from a job another
    # thread was submitting (DEVELOPERS.md). A failure of any dataset fails the run, after the others.
    def clean_one(dataset: str) -> Callable[[], DatasetCleanReport]:
        return inheritable_thread_target(lambda: clean_dataset(spark, fs, root, dataset, day))

    with ThreadPoolExecutor(max_workers=max(1, len(datasets)), thread_name_prefix="clean") as pool:
        running = {ds: pool.submit(clean_one(ds)) for ds in datasets}
        report = CleanReport(run_date=day, datasets={ds: job.result() for ds, job in running.items()})
    text = json.dumps(report.to_dict(), indent=2, sort_keys=True)
    fs.write_text(zones.report_path(root, JOB, day), text)
    log.info("clean run report: %s", json.dumps(report.to_dict(), sort_keys=True))
    return report


def run_clean_range(spark: SparkSession, lake_root: str, run_date: str,
                    through: str | None = None) -> list[CleanReport]:
    """Job A for every date of the request (a date, a schedule's time, or a range), in order; the first
    failure stops it (fail-fast: the later dates are not cleaned)."""
    return [run_clean(spark, lake_root, day.isoformat()) for day in runs.resolve_range(run_date, through)]
