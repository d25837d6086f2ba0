"""Glue Job A entry point (archive -> clean + quarantine). Glue 5.1 runs this file; locally:
``python glue/clean_job.py --JOB_NAME local --run_date 2025-01-05 --lake_root ./lake``."""

from __future__ import annotations

import logging

from telco360.metrics import clean_report_metrics, publish
from telco360.spark.clean import run_clean
from telco360.spark.runtime import job_run, on_glue


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with job_run(["run_date", "lake_root"]) as (spark, args):
        report = run_clean(spark, args["lake_root"], args["run_date"])
        if on_glue():  # drift and quarantine volumes as CloudWatch metrics (alarms, dashboard)
            publish(clean_report_metrics(report))


if __name__ == "__main__":
    main()
