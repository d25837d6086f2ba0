"""Job A (archive -> clean + quarantine) benchmark: ``python -m bench.job_a [--sizes 10000 100000 1000000]``.

Synthetic archived files shaped like the real extracts, for one day per size: a customers NDJSON
extract of N customers, the plans CSV (50 plans) and about 270 activity events per 10,000 customers
(NDJSON, nested payloads). 1 % of the records are invalid (so quarantine is exercised).

Reported: Spark start-up (once), then per size the Job A work (``run_clean``) and rows/s (rows read
over all datasets / work seconds). Then the cost of a daily run when the archive holds 1 day and
when it holds 30 days (it must not grow: Job A reads only ``archive/<ds>/ingest_date=D``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from telco360 import zones
from telco360.spark.clean import run_clean
from telco360.spark.session import local_spark

FIRST_DAY = date(2025, 1, 1)
PLANS = 50
EVENTS_PER_CUSTOMER_DAY = 270 / 10_000
INVALID_EVERY = 100
_EVENTS = ("login", "logout", "app_open", "app_click", "data_session", "call_started", "call_ended",
           "sms_sent", "topup", "balance_check", "purchase_addon", "network_drop", "plan_changed")


def _customer(rng: random.Random, n: int) -> str:
    record = {
        "customer_id": f"C{n:07d}", "first_name": rng.choice(("Lilian", "Tosin", "Binta", "Émeka")),
        "last_name": rng.choice(("Onyeka", "Chukwu", "Mensah")), "email": f"user{n}@example.com",
        "phone": f"+234{rng.randint(7000000000, 9099999999)}", "gender": rng.choice("MF"),
        "date_of_birth": f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{n % 10}",
        "address": f"{rng.randint(1, 400)} Ikeja Rd", "state": "Kano", "country": "Nigeria",
        "registration_date": f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-1{n % 10}T00:00:00Z",
        "registration_channel": "mobile_app", "plan_id": f"P{rng.randint(1, PLANS):03d}",
        "status": rng.choice(("active", "active", "suspended", "cancelled")),
    }
    if n % INVALID_EVERY == 0:
        record["date_of_birth"] = "1982-02-30"
    return json.dumps(record, ensure_ascii=False)


def _event(rng: random.Random, n: int, day: date, customers: int) -> str:
    event = rng.choice(_EVENTS)
    payloads = {
        "plan_changed": {"old_plan_id": f"P{rng.randint(1, PLANS):03d}",
                         "new_plan_id": f"P{rng.randint(1, PLANS):03d}"},
        "data_session": {"mb_used": round(rng.uniform(0, 900), 2)},
        "call_started": {"call_id": f"K{n}", "duration_seconds": rng.randint(1, 3600)},
        "topup": {"amount": rng.randint(100, 10000)},
    }
    record = {
        "event_id": f"E{day:%Y%m%d}-{n:08d}", "customer_id": f"C{rng.randint(1, customers):07d}",
        "event_type": event,
        "event_timestamp": f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "device_type": rng.choice(("Android", "iOS", "Web")), "ip_address": f"10.0.{n % 250}.{n % 200}",
        "network_type": rng.choice(("3G", "4G", "WiFi")), "payload": payloads.get(event, {}),
    }
    if n % INVALID_EVERY == 0:
        record["event_timestamp"] = "2025-01-01T25:00:00Z"
    return json.dumps(record)


def _write(root: Path, dataset: str, day: date, name: str, lines: list[str]) -> int:
    path = root / zones.archive_key(dataset, day.isoformat(), name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - (1 if name.endswith(".csv") else 0)


def write_day(root: Path, day: date, customers: int, customer_rows: int, seed: int = 1) -> int:
    """One archived day; returns the rows written."""
    rng = random.Random(seed)
    plans = ["plan_id,plan_name,monthly_price,data_allowance_gb,voice_minutes,sms_allowance,roaming_enabled,"
             "validity_days,plan_category"]
    plans += [f"P{i:03d},Plan {i},{rng.randint(100, 20000)}.{rng.randint(0, 99):02d},{rng.randint(1, 50)},300,100,"
              f"{rng.choice('YN')},30,Basic" for i in range(1, PLANS + 1)]
    events = max(1, round(customers * EVENTS_PER_CUSTOMER_DAY))
    return (
        _write(root, "customers", day, "customers.ndjson", [_customer(rng, n) for n in range(1, customer_rows + 1)])
        + _write(root, "plans", day, "plans.csv", plans)
        + _write(root, "activity", day, f"logs_{day:%Y%m%d}.ndjson",
                 [_event(rng, n, day, customers) for n in range(1, events + 1)])
    )


def timed_run(spark: SparkSession, root: Path, day: date) -> tuple[float, int]:
    began = time.perf_counter()
    report = run_clean(spark, str(root), day.isoformat())
    seconds = time.perf_counter() - began
    return seconds, sum(d["rows_read"] for d in report["datasets"].values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--history-customers", type=int, default=100_000,
                        help="customers' worth of activity a day in the 1-day vs 30-day comparison")
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    began = time.perf_counter()
    spark = local_spark("bench-job-a")
    spark.range(1).count()
    startup = time.perf_counter() - began
    print(f"Spark start-up: {startup:.1f} s (once per run; on Glue this is the job's start-up)")

    work = Path(tempfile.mkdtemp(prefix="bench-job-a-"))
    try:
        warm = work / "warm-up"
        write_day(warm, FIRST_DAY, 1_000, 1_000)
        timed_run(spark, warm, FIRST_DAY)  # JIT and class loading, not counted

        print(f"\n{'customers':>10} {'rows in':>10} {'MB in':>8} {'work s':>8} {'rows/s':>10}")
        for size in args.sizes:
            lake = work / f"size-{size}"
            rows = write_day(lake, FIRST_DAY, size, size)
            mb = sum(p.stat().st_size for p in (lake / "archive").rglob("*") if p.is_file()) / 1e6
            seconds, read = timed_run(spark, lake, FIRST_DAY)
            assert read == rows, (read, rows)
            print(f"{size:>10,} {rows:>10,} {mb:>8.1f} {seconds:>8.1f} {rows / seconds:>10,.0f}")
            shutil.rmtree(lake)

        # The same last day, with 1 day or with 30 days of history in the archive.
        print(f"\n{'archive days':>12} {'rows in D':>10} {'work s':>8}")
        size = args.history_customers
        for days in (1, args.days):
            lake = work / f"history-{days}"
            last = FIRST_DAY + timedelta(days=days - 1)
            rows = 0
            for i in range(days):
                day = FIRST_DAY + timedelta(days=i)
                # A day's customers extract holds the day's changed customers (5 %), activity a full day.
                rows = write_day(lake, day, size, max(1, size // 20), seed=i)
            seconds, read = timed_run(spark, lake, last)
            assert read == rows, (read, rows)
            print(f"{days:>12} {rows:>10,} {seconds:>8.1f}")
            shutil.rmtree(lake)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
