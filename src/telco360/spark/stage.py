"""Glue Job B: clean -> staging snapshots (docs/spec.md §4), built incrementally and rolled forward.

For snapshot date ``D`` it builds ``customers``, ``plans`` (latest state over the history ``<= D``),
``customer_360`` (customers with their current plan) and ``activity`` (the events ingested on ``D``
with the customer's plan at the time of each event), writes each to
``staging/<table>/snapshot_date=<D>/``, the plan-change timeline to ``state/plan_changes/...``, and
then, last, the manifest a warehouse loader waits for (and the next day's build trusts).

``D`` is built from the state of the snapshot before it plus the clean partitions ingested on ``D``
(docs/warehouse.md "State"); without usable state it is recomputed in full from all clean history,
the reference path. A run for ``D`` then rebuilds every later snapshot that exists, in date order.

"Latest" is the greatest ``(ingest_date, _source_file, _line)``: a deterministic aggregate over a
struct that starts with those three, never ``dropDuplicates``. The point-in-time plan of an event is
found with one window over the customer's plan changes, the day's events and the customer's current
plan in a single frame (no range or cross join), and the small plans table is broadcast.

Each key shuffle gets an explicit partition count sized from the bytes it reads (``shuffle_partitions``):
one task per core once there is enough work for each, one task and one file for a small day. Row
counts come from the write itself (an observed metric), so a table costs its write and nothing more.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pyspark import inheritable_thread_target
from pyspark.sql import DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360 import runs, zones
from telco360.contracts import get_contract
from telco360.reports import Build, ColumnSpec, Manifest, SnapshotReport, StageReport, TableManifest
from telco360.spark.evolution import partition_versions, read_clean
from telco360.spark.lakefs import LakeFS
from telco360.spark.schemas import INGEST_DATE, LINE, PROVENANCE, SOURCE_FILE, contract_fields

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

# The plan columns customer_360 appends, in docs/spec.md §4's order (not the plans contract's).
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
# Job B's carried state (docs/warehouse.md "State"). The latest-state tables need none of their own:
# the customers and plans snapshots of D-1 are the latest record per key with its ordering key.
PLAN_CHANGES = "plan_changes"
STATE_TABLES: tuple[str, ...] = (PLAN_CHANGES,)
STATE_SOURCES: dict[str, tuple[str, ...]] = {PLAN_CHANGES: ("activity",)}

# Parquet bytes read per task of a key shuffle (``shuffle_partitions``). The session's adaptive
# execution coalesces a shuffle into partitions of up to 128 MB (telco360.spark.session: output files
# sized for a bulk load), so every shuffle of a realistic day of Job B (tens of MB) would run as one
# task on one core, the heaviest stage of each table included.
MIN_TASK_BYTES = 4 * 1024 * 1024  # less is not worth a task (and an output file) of its own
MAX_TASK_BYTES = 64 * 1024 * 1024  # more makes a task spill: then more tasks than cores


def shuffle_partitions(spark: SparkSession, input_bytes: int) -> int:
    """Partitions for a key shuffle of ``input_bytes`` of Parquet input: one per core when each gets at
    least MIN_TASK_BYTES, fewer for less (a small day is one task, one file), more when a task would
    read over MAX_TASK_BYTES."""
    cores = max(1, spark.sparkContext.defaultParallelism)
    by_size = math.ceil(input_bytes / MIN_TASK_BYTES)
    return max(1, min(cores, by_size), math.ceil(input_bytes / MAX_TASK_BYTES))


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


def describe_schema(schema: T.StructType) -> list[ColumnSpec]:
    return [ColumnSpec(f.name, f.dataType.simpleString(), f.nullable) for f in schema.fields]


def _conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    """The final select of a table: exactly its schema's columns, in order, with their types."""
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


# --- reading clean -------------------------------------------------------------------------------
# ``read_clean`` (telco360.spark.evolution) is the one place clean data is read: it reads every
# partition with the schema of the contract version that wrote it and converts it to the current one.


# --- latest by key -------------------------------------------------------------------------------
def latest_by_key(df: DataFrame, dataset: str, partitions: int | None = None) -> DataFrame:
    """One row per business key of ``dataset`` (its contract's primary key): the greatest
    (ingest_date, _source_file, _line). ``max`` over a struct led by those three is deterministic
    (every field breaks a remaining tie), unlike dropDuplicates. ``partitions``: the key shuffle's
    partition count (``shuffle_partitions``); None leaves it to adaptive execution."""
    keys = get_contract(dataset).business_key
    rest = [c for c in df.columns if c not in (*keys, *LATEST_ORDER)]
    latest = F.max(F.struct(*LATEST_ORDER, *rest)).alias("latest")
    # The explicit shuffle by the key satisfies the aggregate's distribution, so it is the only one;
    # it also moves the partial aggregate after the shuffle, where the sort it needs is done once (the
    # inputs are nearly unique per key: a map-side partial aggregate would sort without reducing).
    keyed = df if partitions is None else df.repartition(partitions, *keys)
    return keyed.groupBy(*keys).agg(latest).select(
        *keys, *[F.col(f"latest.{c}").alias(c) for c in (*LATEST_ORDER, *rest)]
    )


def _with_lineage(df: DataFrame) -> DataFrame:
    return df.withColumn(STAGING_INGEST_DATE, F.col(INGEST_DATE))


def build_customers(clean_customers: DataFrame, partitions: int | None = None) -> DataFrame:
    latest = latest_by_key(clean_customers, "customers", partitions)
    return _conform(_with_lineage(latest), staging_schema(CUSTOMERS))


def build_plans(clean_plans: DataFrame, partitions: int | None = None) -> DataFrame:
    return _conform(_with_lineage(latest_by_key(clean_plans, "plans", partitions)), staging_schema(PLANS))


def build_customer_360(customers: DataFrame, plans: DataFrame) -> DataFrame:
    plan_attributes = plans.select("plan_id", *CUSTOMER_360_PLAN_COLUMNS)
    joined = customers.join(F.broadcast(plan_attributes), on="plan_id", how="left")
    return _conform(joined, staging_schema(CUSTOMER_360))


# --- activity with the point-in-time plan --------------------------------------------------------
_TS, _KIND, _ORDER_ID, _CHANGE, _EVENT, _CURRENT = "_ts", "_kind", "_order_id", "_change", "_event", "_current"
PLAN_ID_AT_EVENT = "plan_id" + AT_EVENT_SUFFIX
# At equal timestamps a change sorts before an event, so every change with ts <= t counts as prior.
# The customer row (null time, so first in its frame) carries no change and does not affect the rules.
_KIND_CHANGE, _KIND_EVENT, _KIND_CUSTOMER = 0, 1, 2


# The plan-change timeline (the activity state, docs/warehouse.md "State"): one row per event_id
# whose latest record is a plan_changed event, with that record's ordering key so that it can be
# merged with later days' records and stay "the latest".
TIMELINE_COLUMNS: tuple[str, ...] = ("event_id", "customer_id", "event_timestamp", OLD_PLAN_ID, NEW_PLAN_ID)


def timeline_schema() -> T.StructType:
    """The columns of ``state/plan_changes/snapshot_date=<D>/``."""
    return T.StructType([
        *_fields("activity", TIMELINE_COLUMNS[:3]),
        T.StructField(OLD_PLAN_ID, T.StringType(), True),
        T.StructField(NEW_PLAN_ID, T.StringType(), True),
        T.StructField(INGEST_DATE, T.DateType(), True),
        *PROVENANCE,
    ])


def slim_activity(activity: DataFrame) -> DataFrame:
    """Clean activity reduced to what the timeline needs. Every event type is kept: a re-sent
    event_id that is no longer a plan change must replace (and so remove) its earlier change."""
    # Only a plan change's plans are ever used (the timeline keeps plan changes): parse no other payload.
    is_change = F.col("event_type") == PLAN_CHANGED
    return activity.select(
        "event_id",
        "customer_id",
        "event_type",
        "event_timestamp",
        F.when(is_change, F.get_json_object("payload", f"$.{OLD_PLAN_ID}")).alias(OLD_PLAN_ID),
        F.when(is_change, F.get_json_object("payload", f"$.{NEW_PLAN_ID}")).alias(NEW_PLAN_ID),
        *LATEST_ORDER,
    )


def slim_timeline(timeline: DataFrame) -> DataFrame:
    """A stored timeline in ``slim_activity``'s shape (every row of it is a plan change)."""
    return timeline.select(
        "event_id", "customer_id", F.lit(PLAN_CHANGED).alias("event_type"), "event_timestamp",
        OLD_PLAN_ID, NEW_PLAN_ID, *LATEST_ORDER,
    )


def build_timeline(slim: DataFrame, partitions: int | None = None) -> DataFrame:
    """The plan_changed events among ``slim`` rows, one per event_id (its latest record)."""
    latest = latest_by_key(slim, "activity", partitions).where(F.col("event_type") == PLAN_CHANGED)
    return _conform(latest, timeline_schema())


def _plan_id_at_event(events: DataFrame, changes: DataFrame, current_plans: DataFrame,
                      partitions: int | None = None) -> DataFrame:
    """``events`` (one row per event) with ``plan_id_at_event`` (docs/spec.md §4, rules 1 to 3).

    Changes, events and the customer's current plan share one frame per customer ordered by (time,
    kind, event_id): rule 1 is the last change up to the event's row, rule 2 (asked only when there
    is none) the first change of the frame, rule 3 the customer row of the frame. One shuffle and one
    sort; no range join, and no second join of the day's events with customers. ``partitions``: that
    shuffle's partition count."""
    event_struct = F.struct(*[F.col(c) for c in events.columns])
    event_type = events.select(event_struct.alias(_EVENT)).schema[_EVENT].dataType
    change_struct = F.struct(F.col(OLD_PLAN_ID), F.col(NEW_PLAN_ID))
    change_type = changes.select(change_struct.alias(_CHANGE)).schema[_CHANGE].dataType
    no_change, no_event = F.lit(None).cast(change_type), F.lit(None).cast(event_type)
    no_plan = F.lit(None).cast(T.StringType())
    frame = events.select(
        "customer_id",
        F.col("event_timestamp").alias(_TS),
        F.lit(_KIND_EVENT).alias(_KIND),
        F.col("event_id").alias(_ORDER_ID),
        no_change.alias(_CHANGE),
        event_struct.alias(_EVENT),
        no_plan.alias(_CURRENT),
    ).unionByName(changes.select(
        "customer_id",
        F.col("event_timestamp").alias(_TS),
        F.lit(_KIND_CHANGE).alias(_KIND),
        F.col("event_id").alias(_ORDER_ID),
        change_struct.alias(_CHANGE),
        no_event.alias(_EVENT),
        no_plan.alias(_CURRENT),
    )).unionByName(current_plans.select(
        "customer_id",
        F.lit(None).cast(T.TimestampType()).alias(_TS),
        F.lit(_KIND_CUSTOMER).alias(_KIND),
        F.lit(None).cast(T.StringType()).alias(_ORDER_ID),
        no_change.alias(_CHANGE),
        no_event.alias(_EVENT),
        F.col("plan_id").alias(_CURRENT),
    ))
    if partitions is not None:
        # The window's own shuffle, with a partition count of our choosing (it is not coalesced).
        frame = frame.repartition(partitions, "customer_id")
    ordered = Window.partitionBy("customer_id").orderBy(_TS, _KIND, _ORDER_ID)
    whole = ordered.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    # The change struct, not its new_plan_id, is what ignorenulls skips over: a change whose payload
    # lacks new_plan_id is still "the last of them" and yields a null plan.
    prior = F.last(_CHANGE, ignorenulls=True).over(ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    # Rule 2 applies only when no change precedes the event's row, so every change comes after it and
    # "the first from here on" is the first of the whole frame: computed once per customer, where a
    # (current row, unbounded following) frame is recomputed for every row (quadratic in the frame).
    later = F.first(_CHANGE, ignorenulls=True).over(whole)
    # Customers are unique per customer_id (a snapshot): at most one non-null _CURRENT per frame.
    current = F.max(_CURRENT).over(whole)
    return (
        frame.select(_KIND, _EVENT, prior.alias("_prior"), later.alias("_later"), current.alias(_CURRENT))
        .where(F.col(_KIND) == _KIND_EVENT)
        .select(
            f"{_EVENT}.*",
            F.when(F.col("_prior").isNotNull(), F.col(f"_prior.{NEW_PLAN_ID}"))
            .when(F.col("_later").isNotNull(), F.col(f"_later.{OLD_PLAN_ID}"))
            .otherwise(F.col(_CURRENT))
            .alias(PLAN_ID_AT_EVENT),
        )
    )


def build_activity(day: DataFrame, timeline: DataFrame, customers: DataFrame, plans: DataFrame,
                   partitions: int | None = None) -> DataFrame:
    """The day's events (``day``: clean activity ingested on D) with event_date and the plan at the
    time of each event, resolved from ``timeline`` (the plan changes of clean activity <= D) and,
    for a customer without changes, from ``customers``."""
    events = _with_lineage(latest_by_key(day, "activity", partitions))
    # Every change goes into the window, not only those of the day's customers: a frame without an
    # event yields no row, and a semi join would shuffle the whole timeline anyway (plus the day's
    # customer ids, computed by a second run of the aggregate above) to drop few of them.
    changes = timeline.select("event_id", "customer_id", "event_timestamp", OLD_PLAN_ID, NEW_PLAN_ID)
    resolved = _plan_id_at_event(events, changes, customers.select("customer_id", "plan_id"), partitions)
    at_event = plans.select(*[F.col(c).alias(c + AT_EVENT_SUFFIX) for c in AT_EVENT_SOURCE_COLUMNS])
    result = (
        resolved.join(F.broadcast(at_event), on=PLAN_ID_AT_EVENT, how="left")
        # session time zone is UTC (telco360.spark.session.SQL_CONF), so this is the UTC date
        .withColumn(EVENT_DATE, F.to_date("event_timestamp"))
    )
    return _conform(result, staging_schema(ACTIVITY))


# --- the job -------------------------------------------------------------------------------------
def _schema_of(table: str) -> T.StructType:
    return timeline_schema() if table == PLAN_CHANGES else staging_schema(table)


def _contract_versions(table: str) -> dict[str, str]:
    sources = STATE_SOURCES[table] if table in STATE_SOURCES else TABLE_SOURCES[table]
    return {ds: get_contract(ds).version for ds in sources}


def _write_table(spark: SparkSession, df: DataFrame, path: str, table: str) -> TableManifest:
    # mode("overwrite") on the snapshot folder itself replaces exactly this date, nothing beside it.
    # The codec is the session's (telco360.spark.session).
    written = Observation()
    # The rows are counted as they reach the writer, in the write's own job: exactly what was written,
    # without a second read (and its schema inference) and count per table.
    df.observe(written, F.count(F.lit(1)).alias("rows")).write.mode("overwrite").parquet(path)
    files = LakeFS(spark).list_files(path)
    return TableManifest(
        path=path,
        files=[f.name for f in files],
        row_count=int(written.get["rows"]),
        schema=describe_schema(_schema_of(table)),
        contract_versions=_contract_versions(table),
    )


def _day(d: date) -> str:
    return d.isoformat()


def read_manifest(fs: LakeFS, lake_root: str, snapshot_date: str) -> Manifest | None:
    uri = zones.manifest_path(lake_root, snapshot_date)
    if not fs.exists(uri):
        return None
    return Manifest.from_dict(json.loads(fs.read_text(uri)))


def snapshot_dates(fs: LakeFS, lake_root: str) -> set[str]:
    """Every date that has a snapshot: a manifest, or a staging folder (``customers`` is written first,
    so a snapshot with any staging folder has that one). Two one-level listings of the date folders,
    not of the files inside them."""
    found = set()
    for folder in (zones.join(lake_root, zones.manifest_key("")).rsplit("/snapshot_date=", 1)[0],
                   zones.staging_path(lake_root, CUSTOMERS)):
        for name in fs.list_dirs(folder):
            day = zones.partition_date(name, zones.SNAPSHOT_DATE)
            if day is not None:
                found.add(day)
    return found


def clean_dates(fs: LakeFS, lake_root: str, after: str, before: str) -> list[str]:
    """The ingest dates strictly between ``after`` and ``before`` with a clean partition of any
    dataset (only asked when a snapshot is missing in between)."""
    found = set()
    for dataset in TABLE_SOURCES[ACTIVITY]:
        found |= {d for d in partition_versions(fs, lake_root, dataset) if after < d < before}
    return sorted(found)


@dataclass(frozen=True)
class Base:
    """What a snapshot is built from: the usable state of an earlier date, or why there is none."""

    state_date: str | None
    why_full: str | None


def usable_state(fs: LakeFS, lake_root: str, snapshot_date: str, existing: set[str]) -> Base:
    """The snapshot whose state ``snapshot_date`` can start from: D-1's, or an earlier one when no
    clean partition was ingested in between (then nothing changed in between). Its manifest is the
    commit marker: no manifest, no state."""
    earlier = sorted(d for d in existing if d < snapshot_date)
    if not earlier:
        return Base(None, "first snapshot: no earlier snapshot to carry state from")
    prior = earlier[-1]
    day_before = _day(date.fromisoformat(snapshot_date) - timedelta(days=1))
    gap = clean_dates(fs, lake_root, prior, snapshot_date) if prior < day_before else []
    if gap:
        return Base(None, f"no snapshot of the day before; clean data was ingested in the gap after {prior} "
                           f"({', '.join(gap[:3])}{', …' if len(gap) > 3 else ''})")
    manifest = read_manifest(fs, lake_root, prior)
    if manifest is None:
        return Base(None, f"the snapshot of {prior} has no manifest (incomplete or being rebuilt)")
    missing = [t for t in STATE_TABLES if t not in manifest.state]
    if missing:
        return Base(None, f"the snapshot of {prior} carries no state ({', '.join(missing)})")
    for name, entry in [*manifest.tables.items(), *manifest.state.items()]:
        if entry.contract_versions != _contract_versions(name):
            return Base(None, f"{name} of {prior} was built under contract versions {entry.contract_versions}, "
                               f"now {_contract_versions(name)}")
    for name in STATE_TABLES:
        if not fs.list_files(zones.state_path(lake_root, name, prior)):
            return Base(None, f"the state {name} of {prior} is missing")
    return Base(prior, None)


def _clean_like(snapshot: DataFrame, dataset: str) -> DataFrame:
    """A customers/plans snapshot as clean rows: its lineage is the record's ordering key."""
    columns = get_contract(dataset).column_names
    return snapshot.select(*columns, SOURCE_FILE, LINE, F.col(STAGING_INGEST_DATE).alias(INGEST_DATE))


def _folder_bytes(fs: LakeFS, folder: str) -> int:
    return sum(f.size for f in fs.list_files(folder))


def _history_bytes(fs: LakeFS, lake_root: str, dataset: str, upto: str) -> int:
    """Bytes of the clean partitions of ``dataset`` ingested on or before ``upto`` (full recompute only)."""
    return sum(f.size for f in fs.list_tree(zones.clean_path(lake_root, dataset))
               if (day := zones.partition_date(f.path)) is not None and day <= upto)


def _manifest_folder(lake_root: str, snapshot_date: str) -> str:
    return zones.manifest_path(lake_root, snapshot_date).rsplit("/", 1)[0]


def build_snapshot(spark: SparkSession, lake_root: str, snapshot_date: str, base: Base) -> Manifest:
    """Write the four tables and the state of ``snapshot_date``, then its manifest (last)."""
    fs = LakeFS(spark)
    # A loader must never find a manifest beside a half-rewritten snapshot: it goes first, comes back
    # last. Its folder goes with it, so that a manifest folder (what snapshot_dates lists) means a manifest.
    fs.delete(_manifest_folder(lake_root, snapshot_date))
    tables: dict[str, TableManifest] = {}
    state: dict[str, TableManifest] = {}

    def write(table: str, df: DataFrame) -> DataFrame:
        is_state = table in STATE_TABLES
        path = (zones.state_path if is_state else zones.staging_path)(lake_root, table, snapshot_date)
        started = time.monotonic()
        entry = _write_table(spark, df, path, table)
        (state if is_state else tables)[table] = entry
        log.info("%s %s for %s: %d rows in %d files, %.1f s", "state" if is_state else "staging", table,
                 snapshot_date, entry.row_count, len(entry.files), time.monotonic() - started)
        # Later steps read what was written: cheaper than recomputing the aggregate behind it. The
        # schema is known: no job to infer it from a footer.
        return spark.read.schema(_schema_of(table)).parquet(path)

    def day_bytes(dataset: str) -> int:
        return _folder_bytes(fs, zones.clean_path(lake_root, dataset, snapshot_date))

    day_activity = read_clean(spark, lake_root, "activity", on=snapshot_date)
    day_activity_bytes = day_bytes("activity")
    if base.state_date is None:
        # Full recompute over all clean history <= D (docs/spec.md §4 as written): the reference path.
        clean_customers = read_clean(spark, lake_root, "customers", upto=snapshot_date)
        clean_plans = read_clean(spark, lake_root, "plans", upto=snapshot_date)
        timeline_input = slim_activity(read_clean(spark, lake_root, "activity", upto=snapshot_date))
        customers_bytes, plans_bytes, timeline_bytes = (
            _history_bytes(fs, lake_root, ds, snapshot_date) for ds in ("customers", "plans", "activity"))
    else:
        # Incremental: the latest records of the earlier snapshot plus the records ingested on D. Every
        # record of D has a greater ingest_date than any carried one, so "latest" stays exact.
        prior = base.state_date

        def carried(table: str) -> DataFrame:
            return spark.read.schema(staging_schema(table)).parquet(zones.staging_path(lake_root, table, prior))

        clean_customers = _clean_like(carried(CUSTOMERS), "customers").unionByName(
            read_clean(spark, lake_root, "customers", on=snapshot_date))
        clean_plans = _clean_like(carried(PLANS), "plans").unionByName(
            read_clean(spark, lake_root, "plans", on=snapshot_date))
        stored_path = zones.state_path(lake_root, PLAN_CHANGES, prior)
        stored = spark.read.schema(timeline_schema()).parquet(stored_path)
        timeline_input = slim_timeline(stored).unionByName(slim_activity(day_activity))
        customers_bytes = _folder_bytes(fs, zones.staging_path(lake_root, CUSTOMERS, prior)) + day_bytes("customers")
        plans_bytes = _folder_bytes(fs, zones.staging_path(lake_root, PLANS, prior)) + day_bytes("plans")
        timeline_bytes = _folder_bytes(fs, stored_path) + day_activity_bytes

    def partitions(input_bytes: int) -> int:
        return shuffle_partitions(spark, input_bytes)

    timeline_df = build_timeline(timeline_input, partitions(timeline_bytes))

    # Two chains of Spark jobs run side by side, each filling the cores the other leaves idle (a
    # stage's last task, the driver's planning and commit): customers, plans, then activity on this
    # thread; the timeline (independent of both), then customer_360 (once customers and plans are
    # written) on the other. customers is still the first staging table written (snapshot_dates).
    # The other thread's jobs carry this thread's Spark local properties (job group, pool).
    beside_write = inheritable_thread_target(write)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage") as beside:
        timeline_written = beside.submit(beside_write, PLAN_CHANGES, timeline_df)
        customers = write(CUSTOMERS, build_customers(clean_customers, partitions(customers_bytes)))
        plans = write(PLANS, build_plans(clean_plans, partitions(plans_bytes)))
        customer_360_written = beside.submit(beside_write, CUSTOMER_360, build_customer_360(customers, plans))
        timeline = timeline_written.result()
        # The window reads the day's events and the whole timeline (the customers' plans add little).
        timeline_path = zones.state_path(lake_root, PLAN_CHANGES, snapshot_date)
        activity_bytes = day_activity_bytes + _folder_bytes(fs, timeline_path)
        write(ACTIVITY, build_activity(day_activity, timeline, customers, plans, partitions(activity_bytes)))
        customer_360_written.result()
    build: Build = "full" if base.state_date is None else "incremental"
    manifest = Manifest(
        snapshot_date=snapshot_date,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build=build,
        # in the tables' own order, whichever thread finished first
        tables={table: tables[table] for table in zones.STAGING_TABLES},
        state=state,
    )
    fs.write_text(zones.manifest_path(lake_root, snapshot_date), json.dumps(manifest.to_dict(), indent=2))
    return manifest


def dates_to_build(existing: set[str], requested: list[date]) -> list[str]:
    """The requested dates, then every later date that already has a snapshot (the roll-forward)."""
    days = [_day(d) for d in requested]
    return [*days, *sorted(d for d in existing if d > days[-1])]


def run_stage(spark: SparkSession, lake_root: str, run_date: str, through: str | None = None,
              report_key: str | None = None) -> StageReport:
    """Build the snapshots of ``run_date`` .. ``through`` and roll forward every later snapshot that
    exists (docs/spec.md §4: each existing snapshot equals the rules over the clean history as it is
    now), each from the state of the snapshot before it. Returns the run report, also written to
    ``_reports/stage/run_date=<run_date>/report.json`` and, when given, ``<lake_root>/<report_key>``."""
    fs = LakeFS(spark)
    requested = runs.resolve_range(run_date, through)
    # One listing per run: the snapshots that exist, then those this run builds.
    existing = snapshot_dates(fs, lake_root)
    dates = dates_to_build(existing, requested)
    # Every snapshot about to be rebuilt is stale from now on: drop its manifest up front, so that a
    # failure half-way leaves no later manifest claiming a snapshot (or a state) that is out of date.
    for day in dates:
        fs.delete(_manifest_folder(lake_root, day))
    report = StageReport(run_date=_day(requested[0]), through=_day(requested[-1]))
    for day in dates:
        started = time.monotonic()
        base = usable_state(fs, lake_root, day, existing)
        if base.why_full:
            log.info("snapshot %s: full recompute (%s)", day, base.why_full)
        manifest = build_snapshot(spark, lake_root, day, base)
        existing.add(day)
        report.snapshots.append(SnapshotReport(
            snapshot_date=day, build=manifest.build, why_full=base.why_full,
            manifest_key=zones.manifest_key(day), row_counts=manifest.row_counts,
            seconds=round(time.monotonic() - started, 3),
        ))
    body = json.dumps(report.to_dict(), indent=2)
    fs.write_text(zones.report_path(lake_root, "stage", report.run_date), body)
    if report_key:
        fs.write_text(zones.join(lake_root, report_key), body)
    return report
