"""Spark schemas derived from the contracts: the clean, quarantine and staging layouts are computed
here from ``telco360.contracts`` and written down nowhere else."""

from __future__ import annotations

from pyspark.sql import types as T

from telco360.contracts import Column, Contract

SOURCE_FILE, LINE, INGEST_DATE, REASONS, RAW_RECORD = "_source_file", "_line", "ingest_date", "_reasons", "_raw_record"

# Provenance every clean row carries (docs/spec.md §2); ingest_date is the partition folder.
PROVENANCE: tuple[T.StructField, ...] = (
    T.StructField(SOURCE_FILE, T.StringType(), False),
    T.StructField(LINE, T.LongType(), False),
)


# A quarantine reason: the column (``_record`` for the whole record) and its code (reports.ReasonCode).
REASON_TYPE = T.StructType([
    T.StructField("column", T.StringType(), False),
    T.StructField("code", T.StringType(), False),
])


def spark_type(column: Column) -> T.DataType:
    match column.type:
        case "string" | "enum" | "json":
            return T.StringType()
        case "date":
            return T.DateType()
        case "timestamp":
            return T.TimestampType()
        case "int":
            return T.LongType()
        case "decimal":
            return T.DecimalType(column.precision or 38, column.scale or 0)
        case "boolean":
            return T.BooleanType()
    raise ValueError(f"no Spark type for {column.type}")


def contract_fields(contract: Contract) -> list[T.StructField]:
    """The contract's columns with their clean types (required ones are still nullable in Spark:
    Job A guarantees them, and Parquet readers of old partitions must not fail on the flag)."""
    return [T.StructField(c.name, spark_type(c), True) for c in contract.columns]


def clean_schema(contract: Contract) -> T.StructType:
    """Columns of the files under ``clean/<dataset>/ingest_date=<D>/``."""
    return T.StructType([*contract_fields(contract), *PROVENANCE])


def quarantine_schema(contract: Contract) -> T.StructType:
    """Columns of ``quarantine/<dataset>/ingest_date=<D>/``: the original values as text, why the
    record was refused, and where it came from."""
    raw = [T.StructField(c.name, T.StringType(), True) for c in contract.columns]
    return T.StructType([
        *raw,
        T.StructField(REASONS, T.ArrayType(REASON_TYPE, False), False),
        T.StructField(RAW_RECORD, T.StringType(), True),
        *PROVENANCE,
    ])
