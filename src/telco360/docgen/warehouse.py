"""The staging tables of docs/warehouse.md (column, Parquet type, Snowflake type, origin), rendered
from Job B's schemas. Kept out of ``telco360.spark`` so that documentation code never ships in a job."""

from __future__ import annotations

from pyspark.sql import types as T

from telco360 import zones
from telco360.contracts import get_contract
from telco360.spark.stage import AT_EVENT_SUFFIX, EVENT_DATE, LINEAGE, TABLE_SOURCES, staging_schema

CUSTOMERS, PLANS, CUSTOMER_360, ACTIVITY = zones.STAGING_TABLES

TABLE_GRAIN: dict[str, str] = {
    CUSTOMERS: "one row per customer_id: its latest clean record ingested on or before the snapshot date",
    PLANS: "one row per plan_id: its latest clean record ingested on or before the snapshot date",
    CUSTOMER_360: "one row per customer_id: the customers row with its current plan's attributes "
    "(null when the plan is unknown)",
    ACTIVITY: "one row per event_id: the events ingested on the snapshot date (latest record per event_id), "
    "with the customer's plan at the time of the event",
}

# What a warehouse loader declares for each Parquet type (decimals keep their precision and scale).
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


def staging_tables_markdown() -> str:
    """One table per staging table, its columns in the Parquet files' order."""
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
