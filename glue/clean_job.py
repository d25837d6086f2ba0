"""Glue Job A entry point (archive -> clean + quarantine).

Arguments: ``--run_date`` (a date, or the schedule's time: the day before it), optionally ``--through``
(the last date of a range; Job A cleans each date in order and stops at the first failure) and
``--lake_root``. Locally: ``python glue/clean_job.py --run_date 2025-01-05 --lake_root ./lake``.
"""

from __future__ import annotations

import logging

from telco360.metrics import clean_report_metrics, publish
from telco360.spark.clean import run_clean_range
from telco360.spark.runtime import job_run, on_glue


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with job_run(["run_date", "lake_root"], optional=["through"]) as (spark, args):
        for report in run_clean_range(spark, args["lake_root"], args["run_date"], args.get("through")):
            if on_glue():  # drift and quarantine volumes as CloudWatch metrics (alarms, dashboard)
                publish(clean_report_metrics(report))


if __name__ == "__main__":
    main()
