"""Glue Job A entry point (archive -> clean + quarantine).

Arguments: the dates, in one of two forms (exactly one; ``telco360.runs.job_dates`` resolves both):

- ``--request`` (the pipeline request as JSON text, e.g. ``{"run_date": "2025-01-05"}``) and
  ``--requested_at`` (the execution's start time; ``{}`` is the day before it): what the state machine
  passes;
- ``--run_date`` (a date, or a point in time: the day before it) and optionally ``--through`` (the
  last date of a range): a run started by hand.

Job A cleans each date in order and stops at the first failure; ``--lake_root`` is the lake. Locally:
``python glue/clean_job.py --run_date 2025-01-05 --lake_root ./lake``.
"""

from __future__ import annotations

import logging

from telco360.metrics import clean_report_metrics, publish
from telco360.runs import job_dates
from telco360.spark.clean import run_clean_range
from telco360.spark.runtime import job_run, on_glue


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with job_run(["lake_root"], optional=["request", "requested_at", "run_date", "through"]) as (spark, args):
        first, last = job_dates(args)
        for report in run_clean_range(spark, args["lake_root"], first, last):
            if on_glue():  # drift and quarantine volumes as CloudWatch metrics (alarms, dashboard)
                publish(clean_report_metrics(report))


if __name__ == "__main__":
    main()
