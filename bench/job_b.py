"""Job B (clean -> staging) benchmark: ``python -m bench.job_b [--sizes 10000 100000 1000000]``.

Synthetic clean inputs are written straight with Spark (not through Job A), for each size:
- customers: a full extract on day 1, then 5 % of the customers updated every following day;
- plans: the whole catalogue (50 plans) every day;
- activity: about 270 events a day per 10,000 customers, 2 % of them plan_changed.

Reported: Spark start-up (once), then per size the Job B work (``run_stage``) for the last day of a
30-day history, and rows/s (rows written over all four tables / work seconds). At 100k customers
also how the work grows with the history length (1, 10, 30 days) and with the day's activity volume
(x1, x10, x30 on one extra day).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from telco360 import zones
from telco360.contracts import get_contract
from telco360.spark.schemas import INGEST_DATE, clean_schema
from telco360.spark.session import local_spark
from telco360.spark.stage import run_stage

FIRST_DAY = date(2025, 1, 1)
PLANS = 50
UPDATE_SHARE = 0.05
EVENTS_PER_CUSTOMER_DAY = 270 / 10_000
PLAN_CHANGE_EVERY = 50


def day(n: int) -> str:
    return (FIRST_DAY + timedelta(days=n)).isoformat()


def _customer_id(number: Column) -> Column:
    return F.format_string("C%08d", number)


def _plan_id(number: Column) -> Column:
    return F.format_string("P%03d", number % PLANS)


def _as_clean(df: DataFrame, dataset: str, day_index: int) -> DataFrame:
    """The clean layout: every contract column (missing ones null), provenance, the partition date."""
    schema = clean_schema(get_contract(dataset))
    present = set(df.columns)
    return df.select(
        *[(F.col(f.name) if f.name in present else F.lit(None)).cast(f.dataType).alias(f.name) for f in schema.fields],
        F.lit(day(day_index)).alias(INGEST_DATE),
    )


def customers_day(spark: SparkSession, customers: int, d: int) -> DataFrame:
    ids = spark.range(customers)
    if d > 0:
        ids = ids.where(F.rand(seed=d) < UPDATE_SHARE)
    return _as_clean(ids.select(
        _customer_id(F.col("id")).alias("customer_id"),
        F.format_string("First%d", F.col("id")).alias("first_name"),
        F.format_string("Last%d-%d", F.col("id"), F.lit(d)).alias("last_name"),
        F.format_string("c%d@example.com", F.col("id")).alias("email"),
        F.lit("US").alias("country"),
        _plan_id(F.col("id") + d).alias("plan_id"),
        F.lit("active").alias("status"),
        F.lit(f"customers_{day(d)}.csv").alias("_source_file"),
        (F.col("id") + 1).alias("_line"),
    ), "customers", d)


def plans_day(spark: SparkSession, d: int) -> DataFrame:
    return _as_clean(spark.range(PLANS).select(
        _plan_id(F.col("id")).alias("plan_id"),
        F.format_string("Plan %d v%d", F.col("id"), F.lit(d)).alias("plan_name"),
        F.when(F.col("id") % 2 == 0, "prepaid").otherwise("postpaid").alias("plan_category"),
        (F.col("id") + F.lit(d) / 100 + 5).alias("monthly_price"),
        (F.col("id") % 20).alias("data_allowance_gb"),
        F.lit(f"plans_{day(d)}.csv").alias("_source_file"),
        (F.col("id") + 1).alias("_line"),
    ), "plans", d)


def activity_day(spark: SparkSession, customers: int, d: int, volume: float = 1.0) -> DataFrame:
    events = max(1, int(customers * EVENTS_PER_CUSTOMER_DAY * volume))
    is_change = F.col("id") % PLAN_CHANGE_EVERY == 0
    start = F.lit(f"{day(d)} 00:00:00").cast("timestamp")
    return _as_clean(spark.range(events).select(
        F.format_string("E%d-%d", F.lit(d), F.col("id")).alias("event_id"),
        _customer_id((F.col("id") * 7919 + d) % customers).alias("customer_id"),
        F.when(is_change, "plan_changed").otherwise("login").alias("event_type"),
        (start + F.make_interval(secs=(F.col("id") * 86_399 / events))).alias("event_timestamp"),
        F.lit("mobile").alias("device_type"),
        F.when(is_change, F.to_json(F.struct(
            _plan_id(F.col("id")).alias("old_plan_id"), _plan_id(F.col("id") + 1).alias("new_plan_id"),
        ))).otherwise(F.lit("{}")).alias("payload"),
        F.lit(f"logs_{day(d)}.ndjson").alias("_source_file"),
        (F.col("id") + 1).alias("_line"),
    ), "activity", d)


def write_lake(spark: SparkSession, root: str, customers: int, days: int) -> None:
    for dataset, frames in (
        ("customers", [customers_day(spark, customers, d) for d in range(days)]),
        ("plans", [plans_day(spark, d) for d in range(days)]),
        ("activity", [activity_day(spark, customers, d) for d in range(days)]),
    ):
        union = frames[0]
        for frame in frames[1:]:
            union = union.unionByName(frame)
        union.write.mode("append").partitionBy(INGEST_DATE).parquet(zones.clean_path(root, dataset))


@dataclass(frozen=True)
class Measure:
    label: str
    seconds: float
    rows: dict[str, int]
    files: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def measure(spark: SparkSession, root: str, run_date: str, label: str) -> Measure:
    started = time.perf_counter()
    manifest = run_stage(spark, root, run_date)
    elapsed = time.perf_counter() - started
    tables = manifest["tables"].values()
    return Measure(label, elapsed, {t: e["row_count"] for t, e in manifest["tables"].items()},
                   max(len(e["files"]) for e in tables))


def table(title: str, measures: Sequence[Measure]) -> str:
    head = f"{'case':<34}{'work s':>9}{'customers':>11}{'activity':>10}{'rows out':>11}{'rows/s':>10}{'max files':>11}"
    lines = [title, head, "-" * len(head)]
    for m in measures:
        lines.append(f"{m.label:<34}{m.seconds:>9.1f}{m.rows['customers']:>11,}{m.rows['activity']:>10,}"
                     f"{m.total_rows:>11,}{m.total_rows / m.seconds:>10,.0f}{m.files:>11}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scaling-size", type=int, default=100_000, help="customers for the growth runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    started = time.perf_counter()
    spark = local_spark("bench-job-b")
    spark.range(1).count()  # the JVM and the first job, so start-up is not charged to the first size
    startup = time.perf_counter() - started
    print(f"Spark start-up: {startup:.1f} s (local[{spark.sparkContext.defaultParallelism}])")

    work = tempfile.mkdtemp(prefix="bench-job-b-")
    try:
        sizes = []
        for customers in args.sizes:
            root = f"{work}/lake-{customers}"
            write_lake(spark, root, customers, args.days)
            run_stage(spark, root, day(args.days - 1))  # warm-up: code paths, class loading
            sizes.append(measure(spark, root, day(args.days - 1), f"{customers:,} customers, {args.days} days"))
        print(table(f"\nJob B work per size (last day of {args.days} days of history)", sizes))

        n = args.scaling_size
        root = f"{work}/lake-{n}"
        if n not in args.sizes:
            write_lake(spark, root, n, args.days)
        lengths = sorted({d for d in (1, 10, args.days) if d <= args.days})
        history = [measure(spark, root, day(d - 1), f"{n:,} customers, {d} days") for d in lengths]
        print(table("\nGrowth with history length", history))

        volume = []
        for i, factor in enumerate((1, 10, 30)):
            d = args.days + i
            activity_day(spark, n, d, factor).write.mode("append").partitionBy(INGEST_DATE).parquet(
                zones.clean_path(root, "activity"))
            volume.append(measure(spark, root, day(d), f"{n:,} customers, activity x{factor}"))
        print(table("\nGrowth with the day's activity volume", volume))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
