"""The only place that knows whether a job runs on Glue or on plain local PySpark.

Glue scripts call ``job_run`` and nothing else from Glue: with ``awsglue`` present (Glue 5.1) the
arguments come from ``getResolvedOptions`` and the job is committed at the end; without it (tests,
``telco360 run``) the same arguments are parsed with argparse and a local SparkSession is used.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pyspark.sql import SparkSession

from telco360.spark.session import configure, local_spark

log = logging.getLogger("telco360.job")


def _local_args(argv: Sequence[str], names: Sequence[str], optional: Sequence[str]) -> dict[str, str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--JOB_NAME", default="local")
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    for name in optional:
        parser.add_argument(f"--{name}")
    known, _ = parser.parse_known_args(argv)  # Glue passes extra system arguments; ignore them
    return {k: v for k, v in vars(known).items() if v is not None}


def _present(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    # getResolvedOptions fails on a listed argument that is absent: ask only for those given.
    return [n for n in names if f"--{n}" in argv]


def on_glue() -> bool:
    """True inside a Glue job run (``awsglue`` importable)."""
    return importlib.util.find_spec("awsglue") is not None


@contextmanager
def job_run(names: Sequence[str], optional: Sequence[str] = (),
            argv: Sequence[str] | None = None) -> Iterator[tuple[SparkSession, dict[str, str]]]:
    """Yield ``(spark, args)`` for a job taking ``--JOB_NAME``, ``--<name>`` for each name and, when
    given, ``--<name>`` for each optional name (absent ones are missing from ``args``)."""
    argv = list(sys.argv if argv is None else argv)
    try:
        from awsglue.context import GlueContext  # type: ignore[import-not-found]
        from awsglue.job import Job  # type: ignore[import-not-found]
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
        from pyspark.context import SparkContext
    except ImportError:
        args = _local_args(argv[1:], names, optional)
        log.info("running %s locally (no awsglue)", args["JOB_NAME"])
        yield local_spark(args["JOB_NAME"]), args
        return
    args = getResolvedOptions(argv, ["JOB_NAME", *names, *_present(argv, optional)])
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = configure(glue_context.spark_session)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    yield spark, args
    job.commit()
