"""Glue Job B: clean -> staging snapshots for one run date (contract.md §4).

For run date ``D`` it builds ``customers``, ``plans`` (latest state over the history ``<= D``),
``customer_360`` (customers with their current plan) and ``activity`` (the events ingested on ``D``
with the customer's plan at the time of each event), writes each to
``staging/<table>/snapshot_date=<D>/`` and then, last, the manifest a warehouse loader waits for.

"Latest" is the greatest ``(ingest_date, _source_file, _line)``: a deterministic aggregate over a
struct that starts with those three, never ``dropDuplicates``. The point-in-time plan of an event is
found with one window over the customer's plan changes and the day's events in a single frame (no
range or cross join), and the small plans table is broadcast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360 import runs, zones
from telco360.contracts import get_contract
from telco360.spark.evolution import read_clean
from telco360.spark.lakefs import LakeFS
from telco360.spark.schemas import INGEST_DATE, LINE, SOURCE_FILE, contract_fields

log = logging.getLogger("telco360.stage")

CUSTOMERS, PLANS, CUSTOMER_360, ACTIVITY = zones.STAGING_TABLES

# Lineage every staging row ends with: the clean record it was built from.
STAGING_INGEST_DATE = "_ingest_date"
LINEAGE: tuple[T.StructField, ...] = (
    T.StructField(SOURCE_FILE, T.StringType(), True),
    T.StructField(LINE, T.LongType(), True),
    T.StructField(STAGING_INGEST_DATE, T.DateType(), True),
)
LATEST_ORDER: tuple[str, ...] = (INGEST_DATE, SOURCE_FILE, LINE)

# The plan columns customer_360 appends, in contract.md §4's order (not the plans contract's).
CUSTOMER_360_PLAN_COLUMNS: tuple[str, ...] = (
    "plan_name", "plan_category", "monthly_price", "data_allowance_gb",
    "voice_minutes", "sms_allowance", "roaming_enabled", "validity_days",
)
# The plans columns resolved for each event, published as ``<column>_at_event``.
AT_EVENT_SOURCE_COLUMNS: tuple[str, ...] = ("plan_id", "plan_name", "plan_category", "monthly_price")
AT_EVENT_SUFFIX = "_at_event"
EVENT_DATE = "event_date"
PLAN_CHANGED = "plan_changed"
OLD_PLAN_ID, NEW_PLAN_ID = "old_plan_id", "new_plan_id"

# The datasets each table is built from (their contract versions go into the manifest).
TABLE_SOURCES: dict[str, tuple[str, ...]] = {
    CUSTOMERS: ("customers",),
    PLANS: ("plans",),
    CUSTOMER_360: ("customers", "plans"),
    ACTIVITY: ("activity", "customers", "plans"),
}
TABLE_GRAIN: dict[str, str] = {
    CUSTOMERS: "one row per customer_id: its latest clean record ingested on or before the snapshot date",
    PLANS: "one row per plan_id: its latest clean record ingested on or before the snapshot date",
    CUSTOMER_360: "one row per customer_id: the customers row with its current plan's attributes "
    "(null when the plan is unknown)",
    ACTIVITY: "one row per event_id: the events ingested on the snapshot date (latest record per event_id), "
    "with the customer's plan at the time of the event",
}


# --- schemas (defined once: used to build the tables, to describe them in the manifest and the docs)
def _fields(dataset: str, names: Sequence[str] | None = None) -> list[T.StructField]:
    fields = {f.name: f for f in contract_fields(get_contract(dataset))}
    return [fields[n] for n in names] if names is not None else list(fields.values())


def at_event_fields() -> list[T.StructField]:
    return [
        T.StructField(f.name + AT_EVENT_SUFFIX, f.dataType, True)
        for f in _fields("plans", AT_EVENT_SOURCE_COLUMNS)
    ]


def staging_schema(table: str) -> T.StructType:
    """The columns, in order, of ``staging/<table>/snapshot_date=<D>/``."""
    match table:
        case "customers" | "plans":
            body = _fields(table)
        case "customer_360":
            body = [*_fields("customers"), *_fields("plans", CUSTOMER_360_PLAN_COLUMNS)]
        case "activity":
            body = [*_fields("activity"), T.StructField(EVENT_DATE, T.DateType(), True), *at_event_fields()]
        case _:
            raise KeyError(f"unknown staging table {table!r}; known: {', '.join(zones.STAGING_TABLES)}")
    return T.StructType([*body, *LINEAGE])


def describe_schema(schema: T.StructType) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": f.dataType.simpleString(), "nullable": f.nullable} for f in schema.fields]


def _conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """The final select of a table: exactly its schema's columns, in order, with their types."""
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


# --- reading clean -------------------------------------------------------------------------------
# ``read_clean`` (telco360.spark.evolution) is the one place clean data is read: it reads every
# partition with the schema of the contract version that wrote it and converts it to the current one.


# --- latest by key -------------------------------------------------------------------------------
def latest_by_key(df: DataFrame, dataset: str) -> DataFrame:
    """One row per business key of ``dataset`` (its contract's primary key): the greatest
    (ingest_date, _source_file, _line). ``max`` over a struct led by those three is deterministic
    (every field breaks a remaining tie), unlike dropDuplicates."""
    keys = get_contract(dataset).business_key
    rest = [c for c in df.columns if c not in (*keys, *LATEST_ORDER)]
    latest = F.max(F.struct(*LATEST_ORDER, *rest)).alias("latest")
    return df.groupBy(*keys).agg(latest).select(
        *keys, *[F.col(f"latest.{c}").alias(c) for c in (*LATEST_ORDER, *rest)]
    )


def _with_lineage(df: DataFrame) -> DataFrame:
    return df.withColumn(STAGING_INGEST_DATE, F.col(INGEST_DATE))


def build_customers(clean_customers: DataFrame) -> DataFrame:
    return _conform(_with_lineage(latest_by_key(clean_customers, "customers")), staging_schema(CUSTOMERS))


def build_plans(clean_plans: DataFrame) -> DataFrame:
    return _conform(_with_lineage(latest_by_key(clean_plans, "plans")), staging_schema(PLANS))


def build_customer_360(customers: DataFrame, plans: DataFrame) -> DataFrame:
    plan_attributes = plans.select("plan_id", *CUSTOMER_360_PLAN_COLUMNS)
    joined = customers.join(F.broadcast(plan_attributes), on="plan_id", how="left")
    return _conform(joined, staging_schema(CUSTOMER_360))


# --- activity with the point-in-time plan --------------------------------------------------------
_TS, _KIND, _ORDER_ID, _CHANGE, _EVENT = "_ts", "_kind", "_order_id", "_change", "_event"
# At equal timestamps a change sorts before an event, so every change with ts <= t counts as prior.
_KIND_CHANGE, _KIND_EVENT = 0, 1


def plan_changes(history: DataFrame) -> DataFrame:
    """The plan_changed events (one per event_id, the latest record) with their old and new plan."""
    slim = history.select("event_id", "customer_id", "event_type", "event_timestamp", "payload", *LATEST_ORDER)
    return latest_by_key(slim, "activity").where(F.col("event_type") == PLAN_CHANGED).select(
        "event_id",
        "customer_id",
        "event_timestamp",
        F.get_json_object("payload", f"$.{OLD_PLAN_ID}").alias(OLD_PLAN_ID),
        F.get_json_object("payload", f"$.{NEW_PLAN_ID}").alias(NEW_PLAN_ID),
    )


def _plan_id_at_event(events: DataFrame, changes: DataFrame) -> DataFrame:
    """``events`` (one row per event) with ``_pit_plan_id``, the plan from rules 1 and 2 of
    contract §4, and ``_pit_found`` telling whether either rule applied (rule 3 is the caller's).

    Changes and events share one frame per customer ordered by (time, kind, event_id): rule 1 is the
    last change up to the event's row, rule 2 the first change from it on; no range join needed."""
    event_struct = F.struct(*[F.col(c) for c in events.columns])
    event_type = events.select(event_struct.alias(_EVENT)).schema[_EVENT].dataType
    change_struct = F.struct(F.col(OLD_PLAN_ID), F.col(NEW_PLAN_ID))
    change_type = changes.select(change_struct.alias(_CHANGE)).schema[_CHANGE].dataType
    frame = events.select(
        "customer_id",
        F.col("event_timestamp").alias(_TS),
        F.lit(_KIND_EVENT).alias(_KIND),
        F.col("event_id").alias(_ORDER_ID),
        F.lit(None).cast(change_type).alias(_CHANGE),
        event_struct.alias(_EVENT),
    ).unionByName(changes.select(
        "customer_id",
        F.col("event_timestamp").alias(_TS),
        F.lit(_KIND_CHANGE).alias(_KIND),
        F.col("event_id").alias(_ORDER_ID),
        change_struct.alias(_CHANGE),
        F.lit(None).cast(event_type).alias(_EVENT),
    ))
    ordered = Window.partitionBy("customer_id").orderBy(_TS, _KIND, _ORDER_ID)
    # The change struct, not its new_plan_id, is what ignorenulls skips over: a change whose payload
    # lacks new_plan_id is still "the last of them" and yields a null plan.
    prior = F.last(_CHANGE, ignorenulls=True).over(ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    later = F.first(_CHANGE, ignorenulls=True).over(ordered.rowsBetween(Window.currentRow, Window.unboundedFollowing))
    return (
        frame.select(_KIND, _EVENT, prior.alias("_prior"), later.alias("_later"))
        .where(F.col(_KIND) == _KIND_EVENT)
        .select(
            f"{_EVENT}.*",
            F.when(F.col("_prior").isNotNull(), F.col(f"_prior.{NEW_PLAN_ID}"))
            .otherwise(F.col(f"_later.{OLD_PLAN_ID}"))
            .alias("_pit_plan_id"),
            (F.col("_prior").isNotNull() | F.col("_later").isNotNull()).alias("_pit_found"),
        )
    )


def build_activity(day: DataFrame, history: DataFrame, customers: DataFrame, plans: DataFrame) -> DataFrame:
    """The day's events (``day``: clean activity ingested on D) with event_date and the plan at the
    time of each event, resolved from the plan changes in ``history`` (clean activity <= D)."""
    events = _with_lineage(latest_by_key(day, "activity"))
    resolved = _plan_id_at_event(events, plan_changes(history))
    current_plan = customers.select("customer_id", F.col("plan_id").alias("_current_plan_id"))
    plan_id_at_event = "plan_id" + AT_EVENT_SUFFIX
    at_event = plans.select(*[F.col(c).alias(c + AT_EVENT_SUFFIX) for c in AT_EVENT_SOURCE_COLUMNS])
    result = (
        resolved.join(current_plan, on="customer_id", how="left")
        .withColumn(
            plan_id_at_event,
            F.when(F.col("_pit_found"), F.col("_pit_plan_id")).otherwise(F.col("_current_plan_id")),
        )
        .join(F.broadcast(at_event), on=plan_id_at_event, how="left")
        # session time zone is UTC (telco360.spark.session.SQL_CONF), so this is the UTC date
        .withColumn(EVENT_DATE, F.to_date("event_timestamp"))
    )
    return _conform(result, staging_schema(ACTIVITY))


# --- the job -------------------------------------------------------------------------------------
def _write_table(spark: SparkSession, df: DataFrame, path: str, table: str) -> dict[str, Any]:
    # mode("overwrite") on the snapshot folder itself replaces exactly this date, nothing beside it.
    df.write.mode("overwrite").option("compression", "snappy").parquet(path)
    files = LakeFS(spark).list_files(path)
    return {
        "path": path,
        "files": [f.name for f in files],
        # Parquet footers hold the counts: cheap, and it is what was actually written.
        "row_count": spark.read.parquet(path).count(),
        "schema": describe_schema(staging_schema(table)),
        "contract_versions": {ds: get_contract(ds).version for ds in TABLE_SOURCES[table]},
    }


def run_stage(spark: SparkSession, lake_root: str, run_date: str) -> dict[str, Any]:
    """Build and write the staging snapshot of ``run_date``; return the manifest written last."""
    runs.parse_run_date(run_date)
    fs = LakeFS(spark)
    manifest_uri = zones.manifest_path(lake_root, run_date)
    # A loader must never find a manifest beside a half-rewritten snapshot: it goes first, comes back last.
    fs.delete(manifest_uri)
    tables: dict[str, dict[str, Any]] = {}

    def write(table: str, df: DataFrame) -> DataFrame:
        path = zones.staging_path(lake_root, table, run_date)
        tables[table] = _write_table(spark, df, path, table)
        log.info("staging %s for %s: %d rows in %d files", table, run_date, tables[table]["row_count"],
                 len(tables[table]["files"]))
        return spark.read.parquet(path)

    # customer_360 and activity are built from the written customers and plans: reading those
    # back is cheaper than aggregating the whole history again for each of them.
    customers = write(CUSTOMERS, build_customers(read_clean(spark, lake_root, "customers", upto=run_date)))
    plans = write(PLANS, build_plans(read_clean(spark, lake_root, "plans", upto=run_date)))
    write(CUSTOMER_360, build_customer_360(customers, plans))
    # One listing of the activity history; the day is the part of it ingested on D.
    history = read_clean(spark, lake_root, "activity", upto=run_date)
    day = history.where(F.col(INGEST_DATE) == F.lit(run_date).cast(T.DateType()))
    write(ACTIVITY, build_activity(day, history, customers, plans))
    manifest = {
        "snapshot_date": run_date,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    fs.write_text(manifest_uri, json.dumps(manifest, indent=2))
    return manifest


# --- docs ----------------------------------------------------------------------------------------
def _column_origin(table: str, name: str) -> str:
    if name in {f.name for f in LINEAGE}:
        record = "customer" if table == CUSTOMER_360 else "clean"
        return f"lineage: the {record} record this row was built from"
    if name == EVENT_DATE:
        return "UTC date of event_timestamp"
    if name.endswith(AT_EVENT_SUFFIX):
        return f"plans.{name.removesuffix(AT_EVENT_SUFFIX)} at the time of the event"
    for dataset in TABLE_SOURCES[table]:
        if name in get_contract(dataset).column_names:
            return f"{dataset} contract"
    raise KeyError(name)


SNOWFLAKE_TYPES: dict[type[T.DataType], str] = {
    T.StringType: "VARCHAR",
    T.LongType: "NUMBER(19,0)",
    T.DateType: "DATE",
    T.TimestampType: "TIMESTAMP_NTZ",
    T.BooleanType: "BOOLEAN",
}


def snowflake_type(data_type: T.DataType) -> str:
    if isinstance(data_type, T.DecimalType):
        return f"NUMBER({data_type.precision},{data_type.scale})"
    return SNOWFLAKE_TYPES[type(data_type)]


def staging_tables_markdown() -> str:
    """The column tables of docs/warehouse.md, generated from the schemas so the doc cannot drift."""
    parts = []
    for table in zones.STAGING_TABLES:
        parts += [f"### `{table}`", "", f"Grain: {TABLE_GRAIN[table]}.", "",
                  "| column | Parquet type | Snowflake type | from |", "|---|---|---|---|"]
        parts += [
            f"| `{f.name}` | {f.dataType.simpleString()} | {snowflake_type(f.dataType)} "
            f"| {_column_origin(table, f.name)} |"
            for f in staging_schema(table).fields
        ]
        parts.append("")
    return "\n".join(parts)
