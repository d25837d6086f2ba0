"""Glue Job B entry point (clean -> staging snapshots, rolled forward).

Parameters: the dates, in one of two forms (exactly one; ``telco360.runs.job_dates`` resolves both):
``--request`` (the pipeline request as JSON text) with ``--requested_at`` (the execution's start time),
as the state machine passes them, or by hand ``--run_date`` (``YYYY-MM-DD`` or an ISO instant: the UTC
day before it) with an optional ``--through`` (the last date of a backfill range, same forms). Also
``--lake_root s3://bucket[/prefix]`` and optionally ``--report_key`` (a lake-relative key the state
machine reads the run report from). The same script runs locally with plain pyspark (``python
glue/stage_job.py --run_date ... --lake_root ./lake``); everything Glue-specific stays in
``telco360.spark.runtime.job_run``.
"""

from __future__ import annotations

from telco360.runs import job_dates
from telco360.spark.runtime import job_run
from telco360.spark.stage import run_stage


def main() -> None:
    optional = ["request", "requested_at", "run_date", "through", "report_key"]
    with job_run(["lake_root"], optional=optional) as (spark, args):
        first, last = job_dates(args)
        run_stage(spark, args["lake_root"], first, through=last, report_key=args.get("report_key") or None)


if __name__ == "__main__":
    main()
