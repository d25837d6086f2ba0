"""Glue Job A: archive -> clean (contract-typed Parquet) and quarantine (invalid records, with reasons).

For run date D and each dataset, every file under ``archive/<dataset>/ingest_date=D/`` is parsed
(``read_raw``), cast with contract §2's rules (``casting``) and split: valid records go to
``clean/<dataset>/ingest_date=D/``, the others to ``quarantine/<dataset>/ingest_date=D/`` with their
original text, reason codes, source file and line. Each output is written to the partition folder
itself with ``mode("overwrite")``: that replaces exactly D (also when D's new output is empty, which
Spark's dynamic partition overwrite would leave stale) and never touches another date.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from telco360 import runs, zones
from telco360.contracts import DATASETS, Contract, get_contract
from telco360.formats import file_kind
from telco360.spark.casting import reason_codes
from telco360.spark.evolution import write_version_marker
from telco360.spark.lakefs import LakeFile, LakeFS
from telco360.spark.read_raw import FIELDS, UNKNOWN, read_records
from telco360.spark.schemas import LINE, RAW_RECORD, REASONS, SOURCE_FILE, clean_schema, quarantine_schema

log = logging.getLogger("telco360.clean")

JOB = "clean"
MALFORMED = "_record:malformed"
# Output files sized for a warehouse bulk load: about this much input per output file.
TARGET_FILE_BYTES = 128 * 1024 * 1024
_RAW_PREFIX = "_raw__"


def lake_uri(lake_root: str) -> str:
    """``s3://bucket`` and ``file://`` URIs as they are; a plain folder path as an absolute file URI."""
    # Not Path.as_uri(): it percent-encodes "=" and spaces, which Hadoop would take literally.
    return lake_root if "://" in lake_root else f"file://{Path(lake_root).resolve()}"


def output_files(input_bytes: int) -> int:
    return max(1, math.ceil(input_bytes / TARGET_FILE_BYTES))


def check_records(records: DataFrame, contract: Contract) -> DataFrame:
    """Raw records -> one row each with the raw text (``_raw__<column>``), the typed values, the
    reason codes (empty when the record is valid) and provenance."""
    raw = {c.name: F.try_element_at(F.col(FIELDS), F.lit(c.name)) for c in contract.columns}
    checks = {c.name: reason_codes(raw[c.name], c) for c in contract.columns}
    reasons = F.when(F.col(FIELDS).isNull(), F.array(F.lit(MALFORMED))).otherwise(
        F.array_compact(F.array(*(reason for reason, _ in checks.values())))
    )
    return records.select(
        *(raw[c.name].alias(_RAW_PREFIX + c.name) for c in contract.columns),
        *(cast.value.alias(name) for name, (_, cast) in checks.items()),
        reasons.alias(REASONS),
        RAW_RECORD,
        SOURCE_FILE,
        LINE,
        UNKNOWN,
    )


def clean_rows(checked: DataFrame, contract: Contract) -> DataFrame:
    return checked.filter(F.size(REASONS) == 0).select(*clean_schema(contract).fieldNames())


def quarantine_rows(checked: DataFrame, contract: Contract) -> DataFrame:
    raw_names = set(contract.column_names)
    return checked.filter(F.size(REASONS) > 0).select(*(
        F.col(_RAW_PREFIX + name).alias(name) if name in raw_names else F.col(name)
        for name in quarantine_schema(contract).fieldNames()
    ))


def _write(df: DataFrame, files: int, path: str) -> None:
    # The partition folder itself, overwritten: exactly D is replaced. An empty frame still writes a
    # schema-only file, so an empty day replaces the old data and stays readable.
    df.coalesce(files).write.mode("overwrite").parquet(path)


_ROW, _REASON, _COLUMN = "row", "reason", "column"


def _report(checked: DataFrame, files: Sequence[LakeFile]) -> dict[str, Any]:
    # One small aggregate over the cached frame: every row counts once as a "row" (and as clean or
    # not), once per reason and once per dropped column, keyed by file.
    keys = F.concat(
        F.array(F.struct(F.lit(_ROW).alias("kind"), F.lit("").alias("name"))),
        F.transform(REASONS, lambda r: F.struct(F.lit(_REASON).alias("kind"), r.alias("name"))),
        F.transform(UNKNOWN, lambda u: F.struct(F.lit(_COLUMN).alias("kind"), u.alias("name"))),
    )
    counts = (
        checked.select(SOURCE_FILE, F.size(REASONS).alias("n_reasons"), F.inline(keys))
        .groupBy(SOURCE_FILE, "kind", "name")
        .agg(F.count(F.lit(1)).alias("n"), F.count_if(F.col("n_reasons") == 0).alias("clean"))
        .collect()
    )
    rows: dict[str, int] = {}
    reasons: dict[str, int] = {}
    unknown: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    rows_clean = 0
    for r in counts:
        if r["kind"] == _ROW:
            rows[r[SOURCE_FILE]] = r["n"]
            rows_clean += r["clean"]
        elif r["kind"] == _REASON:
            reasons[r["name"]] = reasons.get(r["name"], 0) + r["n"]
        else:
            unknown.setdefault(r[SOURCE_FILE], {})[r["name"]] = r["n"]
            dropped[r["name"]] = dropped.get(r["name"], 0) + r["n"]
    rows_read = sum(rows.values())
    return {
        "files_read": len(files),
        "rows_read": rows_read,
        "rows_clean": rows_clean,
        "rows_quarantined": rows_read - rows_clean,
        "quarantine_reasons": dict(sorted(reasons.items())),
        "columns_dropped": dict(sorted(dropped.items())),
        "files": [
            {
                "file": f.name,
                "format": file_kind(f.name).format,
                "rows": rows.get(f.name, 0),
                "unknown_columns": sorted(unknown.get(f.name, {})),
            }
            for f in files
        ],
    }


def clean_dataset(spark: SparkSession, fs: LakeFS, root: str, dataset: str, run_date: str) -> dict[str, Any]:
    """Job A for one dataset and day; returns the dataset's part of the run report."""
    contract = get_contract(dataset)
    files = fs.list_files(zones.archive_path(root, dataset, run_date))
    records = read_records(spark, fs, files, contract)
    checked = check_records(records.frame, contract).persist()
    try:
        report = _report(checked, files)  # the first action: fills the cache in one pass over the input
        records.release()
        n_files = output_files(sum(f.size for f in files))
        clean_partition = zones.clean_path(root, dataset, run_date)
        _write(clean_rows(checked, contract), n_files, clean_partition)
        # Readers of history convert each partition from the contract version that wrote it.
        write_version_marker(fs, clean_partition, contract)
        _write(quarantine_rows(checked, contract), n_files, zones.quarantine_path(root, dataset, run_date))
    finally:
        checked.unpersist()
        records.release()
    report["contract_version"] = contract.version
    log.info("clean %s %s: %d rows read, %d clean, %d quarantined", dataset, run_date,
             report["rows_read"], report["rows_clean"], report["rows_quarantined"])
    return report


def run_clean(spark: SparkSession, lake_root: str, run_date: str, datasets: Sequence[str] = DATASETS) -> dict:
    """Run Job A for ``run_date`` over ``datasets``; write the run report beside the lake's other
    reports and return it."""
    runs.parse_run_date(run_date)
    root = lake_uri(lake_root)
    fs = LakeFS(spark)
    report = {
        "job": JOB,
        "run_date": run_date,
        "datasets": {ds: clean_dataset(spark, fs, root, ds, run_date) for ds in datasets},
    }
    text = json.dumps(report, indent=2, sort_keys=True)
    fs.write_text(zones.report_path(root, JOB, run_date), text)
    log.info("clean run report: %s", json.dumps(report, sort_keys=True))
    return report

