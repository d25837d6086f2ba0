"""``telco360 demo``: a realistic lake with faults, run day by day as files would arrive in
production, ending with how to look at what came out."""

from __future__ import annotations

import logging
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from telco360 import zones
from telco360.local.progress import Progress
from telco360.local.report import write_report
from telco360.local.runner import RunResult, SparkFactory, run_pipeline

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

MARKER = ".telco360-demo"  # written into a demo folder, so a rerun only ever wipes its own folder
SOURCE, LAKE = "source", "lake"


class DemoFolderInUse(Exception):
    """The folder exists, holds something, and is not a demo folder: the demo will not wipe it."""


@dataclass(frozen=True)
class DemoDay:
    run_date: str
    files: int
    result: RunResult
    reports: dict[str, Path]


def prepare_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise DemoFolderInUse(f"{folder} is not empty and was not made by `telco360 demo`; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `telco360 demo`; deleted and rebuilt by its next run\n", encoding="utf-8")


def arrivals_by_date(source: Path) -> dict[str, list[str]]:
    """The generator's ``arrivals.json`` ({file path under ``source``: arrival date}) grouped by date."""
    arrivals: dict[str, str] = orjson.loads((source / "arrivals.json").read_bytes())
    by_date: dict[str, list[str]] = defaultdict(list)
    for relative, day in arrivals.items():
        by_date[day].append(relative)
    return {day: sorted(files) for day, files in sorted(by_date.items())}


def drop_arrivals(source: Path, lake: Path, files: list[str]) -> None:
    """Move one day's files into ``<lake>/raw/`` with the producers' sub-paths, as an upload would."""
    for relative in files:
        under_raw = relative.split("/", 1)[1] if relative.startswith(f"{zones.RAW}/") else relative
        target = lake / zones.RAW / under_raw
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source / relative, target)


def run_demo(folder: Path, *, customers: int, days: int, start_date: date, seed: int,
             spark: SparkSession | SparkFactory | None = None, progress: Progress | None = None) -> list[DemoDay]:
    """Generate into ``<folder>/source``, then for each arrival day move that day's files into
    ``<folder>/lake/raw/`` and run the pipeline for it. Stops at the first failed day."""
    from telco360.generator import generate

    prepare_folder(folder)
    source, lake = folder / SOURCE, folder / LAKE
    generate(source, customers=customers, days=days, start_date=start_date, seed=seed, faults=True)
    if spark is None:
        from telco360.spark.session import local_spark

        spark = local_spark("telco360-demo")
    elif callable(spark):
        spark = spark()  # one session for every day
    outcome: list[DemoDay] = []
    for run_date, files in list(arrivals_by_date(source).items())[:days]:
        drop_arrivals(source, lake, files)
        if progress:
            progress.step_line(f"\n=== {run_date}: {len(files)} files arrived in {lake / zones.RAW} ===")
        result = run_pipeline(lake, run_date, spark=spark, progress=progress)
        outcome.append(DemoDay(run_date, len(files), result, write_report(result)))
        if not result.ok:
            break
    return outcome


def how_to_look(folder: Path, last: DemoDay) -> list[str]:
    """Lines telling a person where the outputs and reports are and how to read the staging tables."""
    lake = (folder / LAKE).resolve()
    table = zones.staging_path(str(lake), "customer_360", last.run_date)
    python = Path(sys.executable)
    return [
        f"Reports: {last.reports['html']} (and .md, .json; one per day under {lake / zones.REPORTS})",
        f"Staging: {lake / zones.STAGING}/<table>/snapshot_date=<D>/",
        f"Manifest: {zones.manifest_path(str(lake), last.run_date)}",
        "Look at a staging table:",
        f"  {python} -c \"from pyspark.sql import SparkSession; "
        "s = SparkSession.builder.config('spark.sql.session.timeZone', 'UTC').getOrCreate(); "
        f"s.read.parquet('{table}').show(5, truncate=False)\"",
        f"Rerun a day:  {python.parent / 'telco360'} run --lake {lake} --date {last.run_date} --from clean",
    ]
