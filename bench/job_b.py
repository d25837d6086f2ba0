"""Job B (clean -> staging) on the realistic day with 1, 2, 10 and 30 days of history, beside DuckDB's
full recompute of docs/spec.md §4 on the same clean history: ``python -m bench.job_b [--quick]``.

History (bench/_realistic.py): every day a full customers extract (200,000 rows, a few changed), the
plans catalogue and 500,000 new events (2 % plan changes). Its clean partitions are written by
DuckDB in the clean layout (contract-version markers included; ``bench.job_a`` checks that DuckDB's
clean equals the project's on the same day) and cached under ``bench-out/``.

Job B carries state from the day before (issue 11), so its cost on day D depends on D-1's snapshot:
the bench deletes every snapshot and state, then runs ``run_stage`` for each day in date order, timing
each. The table shows the days where the history is 1, 2, 10 and 30 days long, DuckDB's full
recompute of the same date (read every clean partition <= D, the four tables, Parquet written), and a
check that DuckDB's tables equal the project's staging tables (row counts and content checksum).
"""

from __future__ import annotations

import logging
import shutil
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from bench import _realistic as R
from telco360 import zones
from telco360.contracts import DATASETS

HISTORY_LENGTHS = (1, 2, 10, 30)
TABLE_KEYS: dict[str, list[str]] = {
    "customers": ["customer_id"], "plans": ["plan_id"], "customer_360": ["customer_id"], "activity": ["event_id"],
}
# What a Job B run leaves in a lake besides clean/: removed before the timed sequence.
_JOB_B_OUTPUTS = (zones.STAGING, zones.STATE, zones.REPORTS)


@dataclass
class DayFigures:
    history_days: int
    day: str
    project_s: float | None = None
    build: str = "-"  # "incremental" or "full", as the run reports it ("-": it does not say)
    rows: int | None = None
    duckdb_s: float | None = None
    checks: list[R.Comparison] = field(default_factory=list)


@dataclass
class JobBResult:
    days: list[DayFigures]  # every day of the history, in date order
    measured: list[int]  # history lengths shown in the table
    errors: list[str] = field(default_factory=list)

    def at(self, history_days: int) -> DayFigures:
        return self.days[history_days - 1]

    @property
    def growth(self) -> float | None:
        """Job B with the longest history over Job B with 2 days (target <= 1.3)."""
        if len(self.days) < 2:
            return None
        longest, two = self.days[-1].project_s, self.days[1].project_s
        return None if longest is None or not two else longest / two


def measured_lengths(params: R.Params) -> list[int]:
    return sorted({n for n in HISTORY_LENGTHS if n <= params.days} | {params.days})


# --- the clean history ---------------------------------------------------------------------------
def clean_history(params: R.Params, root: Path) -> Path:
    """A lake whose clean/ holds every day of the history (DuckDB, cached per day)."""
    source = R.source_folder(params, root)
    lake = root / params.key / f"job-b-layout{R.CLEAN_LAYOUT_VERSION}"
    con = None
    for i in range(params.days):
        day = params.day(i)
        done = lake / f".clean-{day}"
        if done.exists():
            continue
        if con is None:
            con = R.duckdb_connect()
            print(f"writing the clean history into {lake} with DuckDB (once)", flush=True)
        files = R.files_by_dataset(source, day)
        for dataset in DATASETS:
            R.duckdb_clean(con, dataset, files[dataset], lake, day)
        done.write_text("ok\n")
    if con is not None:
        con.close()
    for zone in _JOB_B_OUTPUTS:
        shutil.rmtree(lake / zone, ignore_errors=True)
    return lake


# --- the run -------------------------------------------------------------------------------------
def _build_of(result: Any) -> str:
    """``incremental``/``full`` from what ``run_stage`` returns: a StageReport, a Manifest or a dict."""
    snapshots = getattr(result, "snapshots", None)
    if snapshots:
        return str(getattr(snapshots[0], "build", "-"))
    build = getattr(result, "build", None)
    if build is None and isinstance(result, dict):
        build = result.get("build") or next((s.get("build") for s in result.get("snapshots", [])), None)
    return str(build or "-")


def warm_up(spark: SparkSession, root: Path) -> None:
    """Two tiny days through Job B, untimed: JIT and class loading are not the job's cost."""
    from telco360.spark.stage import run_stage

    tiny = R.Params(customers=300, events_per_customer_day=2.0, activity_files=1, days=2, seed=1)
    lake = clean_history(tiny, root)
    try:
        for i in range(tiny.days):
            run_stage(spark, str(lake), tiny.day(i))
    except Exception:  # the measured runs report the failure
        logging.getLogger("bench").warning("warm-up run_stage failed", exc_info=True)


def _staging_rows(con: Any, lake: Path, day: str) -> int | None:
    total = 0
    for table in zones.STAGING_TABLES:
        folder = Path(zones.staging_path(str(lake), table, day))
        if not any(folder.glob("*.parquet")):
            return None
        total += int(R.run_sql(con, f"SELECT count(*) FROM {R.parquet_relation(folder)}")[0][0])
    return total


def run(spark: SparkSession, params: R.Params, root: Path = R.BENCH_OUT, warm: bool = True) -> JobBResult:
    from telco360.spark.stage import run_stage

    lake = clean_history(params, root)
    if warm:
        warm_up(spark, root)
    result = JobBResult([DayFigures(i + 1, params.day(i)) for i in range(params.days)], measured_lengths(params))
    for figures in result.days:
        try:
            with R.stopwatch() as took:
                outcome = run_stage(spark, str(lake), figures.day)
        except Exception as exc:  # a job being rewritten may fail: report it; later days need this one
            result.errors.append(f"run_stage({figures.day}): {type(exc).__name__}: {str(exc).splitlines()[0]}")
            traceback.print_exc(limit=3, file=sys.stderr)
            break
        figures.project_s, figures.build = took[0], _build_of(outcome)
        print(f"  run_stage {figures.day} ({figures.history_days} days of history): {took[0]:.1f} s, "
              f"{figures.build}", flush=True)

    con = R.duckdb_connect()
    out = root / params.key / "job-b-duckdb"
    for n in result.measured:
        figures = result.at(n)
        try:
            with R.stopwatch() as took:
                R.duckdb_stage(con, lake, figures.day, out / figures.day)
        except Exception as exc:
            result.errors.append(f"DuckDB {figures.day}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        figures.duckdb_s = took[0]
        figures.rows = _staging_rows(con, lake, figures.day)
        if figures.rows is None:
            continue
        for table in zones.STAGING_TABLES:
            project = R.parquet_relation(Path(zones.staging_path(str(lake), table, figures.day)))
            figures.checks.append(R.table_checksums(con, table, project, f"s_{table}", R.staging_columns(table),
                                                    TABLE_KEYS[table]))
    con.close()
    shutil.rmtree(out, ignore_errors=True)
    return result


# --- the report ----------------------------------------------------------------------------------
def _s(value: float | None) -> str:
    return "FAILED" if value is None else f"{value:.1f}"


def table(result: JobBResult) -> str:
    head = (f"{'history days':>12}  {'snapshot':<11}{'project s':>10}  {'build':<12}{'DuckDB s':>9}"
            f"{'proj/DuckDB':>12}{'rows out':>11}  check")
    lines = ["Job B (clean -> staging), the realistic day with growing history", head, "-" * (len(head) + 6)]
    for n in result.measured:
        f = result.at(n)
        ratio = "-" if f.project_s is None or not f.duckdb_s else f"x{f.project_s / f.duckdb_s:.2f}"
        rows = "-" if f.rows is None else f"{f.rows:,}"
        if not f.checks:
            check = "-"
        elif all(c.equal for c in f.checks):
            check = "equal (4 tables)"
        else:
            check = "MISMATCH " + "; ".join(c.describe() for c in f.checks if not c.equal)
        lines.append(f"{n:>12}  {f.day:<11}{_s(f.project_s):>10}  {f.build:<12}{_s(f.duckdb_s):>9}{ratio:>12}"
                     f"{rows:>11}  {check}")
    growth = result.growth
    lines.append(f"Job B({len(result.days)} days)/Job B(2 days): "
                 + ("-" if growth is None else f"x{growth:.2f}") + " (target <= x1.3); "
                 + "Job B/DuckDB target <= x1.0")
    timed = [f"{f.project_s:.1f}" if f.project_s is not None else "FAILED" for f in result.days]
    lines.append("every day's run_stage s, in date order: " + " ".join(timed))
    for f in result.days:
        for check in f.checks:
            if not check.equal:
                lines.append(f"  !!! MISMATCH {f.day} {check.describe()}")
    for error in result.errors:
        lines.append(f"  FAILED {error}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = R.bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, help="days of history (30; --quick: 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    params = R.params_from_env(args.quick)
    if args.days:
        params = R.with_days(params, args.days)
    spark = R.started_spark("bench-job-b")
    try:
        result = run(spark, params, args.out)
    finally:
        spark.stop()
    print(table(result), flush=True)
    mismatch = any(not c.equal for f in result.days for c in f.checks)
    return 1 if result.errors or mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
