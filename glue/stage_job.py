"""Glue Job B entry point (clean -> staging snapshot for one run date).

Parameters: ``--run_date YYYY-MM-DD --lake_root s3://bucket[/prefix]``. The same script runs locally
with plain pyspark (``python glue/stage_job.py --run_date ... --lake_root ./lake``); everything Glue-
specific stays in ``telco360.spark.runtime.job_run``.
"""

from __future__ import annotations

from telco360.spark.runtime import job_run
from telco360.spark.stage import run_stage


def main() -> None:
    with job_run(["run_date", "lake_root"]) as (spark, args):
        run_stage(spark, args["lake_root"], args["run_date"])


if __name__ == "__main__":
    main()
