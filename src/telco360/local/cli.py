"""``telco360 run`` and ``telco360 demo``."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from telco360 import runs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_DIR = Path("demo-lake")  # relative to where `make demo` runs: the repository root (git-ignored)


def run_date_arg(value: str) -> str:
    """argparse type for a run date: a clear message and exit code 2 for anything but YYYY-MM-DD."""
    try:
        return runs.parse_run_date(value).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}")
    return number


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from telco360.local.runner import STEPS, VALIDATE

    run = subparsers.add_parser(
        "run", help="run the pipeline (gate, Job A, Job B) on a local lake folder",
        description="Run the gate over DIR/raw/ (ingest date D), then Job A and Job B for D, stopping at the "
                    "first failed step. Writes a report to DIR/_reports/run_D.{md,html,json}.")
    run.add_argument("--lake", type=Path, required=True, metavar="DIR", help="local lake root (holds raw/, ...)")
    run.add_argument("--date", type=run_date_arg, required=True, metavar="D", help="run date YYYY-MM-DD")
    run.add_argument("--from", dest="from_step", choices=STEPS, default=VALIDATE,
                     help="first step: validate (default), clean (files already in archive/) or stage")
    run.set_defaults(func=_run)

    demo = subparsers.add_parser(
        "demo", help="generate a lake with faults and run the pipeline over a few days",
        description="Generate realistic data with faults, then for each day drop that day's arrivals into "
                    "lake/raw/ and run the pipeline for it.")
    demo.add_argument("--dir", type=Path, default=DEMO_DIR, help=f"demo folder (default ./{DEMO_DIR})")
    demo.add_argument("--customers", type=positive_int, default=2_000, help="customers (default 2000)")
    demo.add_argument("--days", type=positive_int, default=3, help="days of arrivals to run (default 3)")
    demo.add_argument("--start-date", type=run_date_arg, default="2025-01-01", help="first day (default 2025-01-01)")
    demo.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    demo.set_defaults(func=_demo)


def _console_spark(verbose: bool) -> SparkSession:
    """The local session, with Spark's warnings (e.g. CSV header names vs positions) kept off the
    console unless -v: the step lines and the report say what happened."""
    from telco360.spark.session import local_spark

    spark = local_spark("telco360-run")
    if not verbose:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def _quiet_logs(verbose: bool) -> None:
    # The jobs log their counts at INFO for Glue's CloudWatch; here the step lines show them.
    if not verbose:
        logging.getLogger("telco360").setLevel(logging.WARNING)
        logging.getLogger("py4j").setLevel(logging.WARNING)


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _run(args: argparse.Namespace) -> int:
    from telco360.local.progress import ConsoleProgress
    from telco360.local.report import write_report
    from telco360.local.runner import run_pipeline, summary_lines

    lake: Path = args.lake
    if not lake.is_dir():
        sys.stderr.write(f"telco360 run: error: lake folder {lake} does not exist\n")
        return EXIT_USAGE
    _quiet_logs(args.verbose)
    result = run_pipeline(lake, args.date, from_step=args.from_step, progress=ConsoleProgress(),
                          spark=lambda: _console_spark(args.verbose))
    reports = write_report(result)
    _say()
    for line in summary_lines(result):
        _say(line)
    _say(f"  report     {reports['html']} (also .md, .json)")
    failed = result.failed_step
    if failed:
        sys.stderr.write(f"telco360 run: step '{failed.step}' failed for {args.date}: {failed.error}\n")
        return EXIT_FAILED
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from telco360.local.demo import DemoFolderInUse, how_to_look, run_demo
    from telco360.local.progress import ConsoleProgress
    from telco360.local.runner import summary_lines

    folder: Path = args.dir.resolve()
    _say(f"Demo folder: {folder} ({args.customers} customers, {args.days} days from {args.start_date})")
    _quiet_logs(args.verbose)
    try:
        days = run_demo(folder, customers=args.customers, days=args.days,
                        start_date=date.fromisoformat(args.start_date), seed=args.seed, progress=ConsoleProgress(),
                        spark=lambda: _console_spark(args.verbose))
    except DemoFolderInUse as exc:
        sys.stderr.write(f"telco360 demo: error: {exc}\n")
        return EXIT_USAGE
    _say("\n=== What happened ===")
    for day in days:
        _say(f"{day.run_date}: {day.files} files arrived")
        for line in summary_lines(day.result, with_outputs=False)[1:]:
            _say(line)
    if not days:
        _say("The generator produced no arrivals.")
        return EXIT_FAILED
    _say()
    for line in how_to_look(folder, days[-1]):
        _say(line)
    return EXIT_OK if all(d.result.ok for d in days) else EXIT_FAILED
