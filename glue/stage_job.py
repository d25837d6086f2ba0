"""Glue Job B entry point (clean -> staging snapshots, rolled forward).

Parameters: ``--run_date`` (``YYYY-MM-DD`` or an ISO instant: the UTC day before it),
``--lake_root s3://bucket[/prefix]``, and optionally ``--through`` (the last date of a backfill range,
same forms) and ``--report_key`` (a lake-relative key the state machine reads the run report from).
The same script runs locally with plain pyspark (``python glue/stage_job.py --run_date ...
--lake_root ./lake``); everything Glue-specific stays in ``telco360.spark.runtime.job_run``.
"""

from __future__ import annotations

from telco360.spark.runtime import job_run
from telco360.spark.stage import run_stage


def main() -> None:
    with job_run(["run_date", "lake_root"], optional=["through", "report_key"]) as (spark, args):
        run_stage(spark, args["lake_root"], args["run_date"], through=args.get("through") or None,
                  report_key=args.get("report_key") or None)


if __name__ == "__main__":
    main()
