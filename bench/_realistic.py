"""The realistic bench day and its history, shared by ``bench.job_a`` and ``bench.job_b``.

One telco day (issue 11): 200,000 customers in one full CSV extract, 20 plans, 500,000 activity
events (2.5 per customer) in 8 NDJSON files, 2 % of them plan_changed. The history is the same feed
day after day: a full customers extract every day (a few customers changed), distinct events every
day. It is generated once with ``telco360.generator.generate`` and cached under ``bench-out/``, keyed by
the parameters and the generator's source, so a rerun starts measuring at once.

DuckDB is the reference engine (a dev-only dependency of the bench, never of the jobs):
``duckdb_clean`` does Job A's work on the same files (parse, docs/spec.md §2 casts and checks, clean
and quarantine Parquet in the clean layout) and also writes Job B's clean history fast;
``duckdb_stage`` recomputes docs/spec.md §4 in full; ``table_checksums`` compares two engines' tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telco360 import zones
from telco360.contracts import DATASETS, Column, Contract, get_contract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parents[1]
BENCH_OUT = Path(os.environ.get("BENCH_OUT", REPO / "bench-out"))
FIRST_DAY = date(2025, 1, 1)
# Bump when duckdb_clean's output layout changes: the cached clean history is keyed by it.
CLEAN_LAYOUT_VERSION = 1
QUICK_ENV = "BENCH_QUICK"


@dataclass(frozen=True)
class Params:
    """The realistic day and how many days of history to build (the measured day is the last)."""

    customers: int = 200_000
    events_per_customer_day: float = 2.5
    activity_files: int = 8
    plan_change_share: float = 0.02
    days: int = 30
    seed: int = 360

    @property
    def key(self) -> str:
        """A folder name for the cache: the parameters, the generator's code, the contracts."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode())
        for path in sorted((REPO / "src/telco360/generator").glob("*.py")):
            digest.update(path.read_bytes())
        for dataset in DATASETS:
            digest.update(get_contract(dataset).version.encode())
        return f"c{self.customers}-e{self.events_per_customer_day:g}-d{self.days}-{digest.hexdigest()[:10]}"

    def day(self, index: int) -> str:
        return (FIRST_DAY + timedelta(days=index)).isoformat()

    @property
    def last_day(self) -> str:
        return self.day(self.days - 1)


REALISTIC = Params()
# A smoke run: seconds, not minutes (tests and `python -m bench --quick`).
QUICK = Params(customers=2_000, activity_files=2, days=3)


def params_from_env(quick: bool = False) -> Params:
    return QUICK if quick or os.environ.get(QUICK_ENV) == "1" else REALISTIC


def with_days(params: Params, days: int) -> Params:
    return replace(params, days=days)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed seconds."""
    out: list[float] = []
    began = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - began)


def bench_parser(description: str) -> argparse.ArgumentParser:
    """The options every job bench shares: --quick and --out."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=f"a small smoke run (or {QUICK_ENV}=1)")
    parser.add_argument("--out", type=Path, default=BENCH_OUT, help="cache and scratch folder (bench-out/)")
    return parser


def started_spark(app: str) -> SparkSession:
    """A local[2] session, started and warmed before any figure is taken; says how long that took."""
    from telco360.spark.session import local_spark

    with stopwatch() as started:
        spark = local_spark(app, cores=2)
        spark.range(1).count()
    print(f"Spark start-up {started[0]:.1f} s (local[{spark.sparkContext.defaultParallelism}]; "
          "not counted in any figure below)", flush=True)
    return spark


# --- the generated source -----------------------------------------------------------------------
def source_folder(params: Params, root: Path = BENCH_OUT) -> Path:
    """The generated raw files of every day (cached: generated once per parameters)."""
    from telco360.generator import generate

    folder = root / params.key / "source"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {params.days} day(s) of {params.customers:,} customers into {folder} (once)", flush=True)
        with stopwatch() as took:
            generate(folder, customers=params.customers, days=params.days, start_date=FIRST_DAY, seed=params.seed,
                     events_per_customer_day=params.events_per_customer_day,
                     activity_files=params.activity_files, full_extracts=True, customers_format="csv",
                     plan_change_share=params.plan_change_share)
        print(f"  generated in {took[0]:.0f} s", flush=True)
        done.write_text("ok\n")
    return folder


def arrivals(source: Path, day: str) -> list[str]:
    """The generated files (paths under ``source``) that arrive on ``day``."""
    every: dict[str, str] = json.loads((source / "arrivals.json").read_text())
    return sorted(p for p, d in every.items() if d == day)


def dataset_of(path: str) -> str:
    from telco360.contracts import detect_dataset_from_key

    dataset = detect_dataset_from_key(path)
    if dataset is None:
        raise ValueError(f"no dataset for {path}")
    return dataset


def files_by_dataset(source: Path, day: str) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {ds: [] for ds in DATASETS}
    for rel in arrivals(source, day):
        out[dataset_of(rel)].append(source / rel)
    return out


def archive_day(source: Path, lake: Path, day: str) -> dict[str, list[Path]]:
    """Copy the day's files into ``lake/raw/`` and run the gate on them, as an upload then the
    validator would: ``archive/<dataset>/ingest_date=<day>/`` (plus whatever the gate records there)."""
    from telco360.local.gate import run_gate

    for rel in arrivals(source, day):
        target = lake / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target)
    summary = run_gate(lake, day)
    rejected = [o.source_key for o in summary.outcomes if not o.verdict.valid]
    if rejected:
        raise RuntimeError(f"the gate rejected generated files: {rejected}")
    return {ds: sorted((lake / zones.partition(zones.ARCHIVE, ds, day)).glob("*")) for ds in DATASETS}


def data_files(folder: Path) -> list[Path]:
    """The data files of an archive partition (not the hidden side files a gate may leave)."""
    return sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith((".", "_")))


# --- DuckDB: Job A's work ----------------------------------------------------------------------
def duckdb_connect(threads: int = 2) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def run_sql(con: Any, sql: str) -> list[tuple[Any, ...]]:
    """Execute and fetch: DuckDB wants every result consumed before the next statement."""
    return con.execute(sql).fetchall()


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _duck_type(column: Column) -> str:
    match column.type:
        case "string" | "enum" | "json":
            return "VARCHAR"
        case "date":
            return "DATE"
        case "timestamp":
            # isAdjustedToUTC in Parquet: Spark reads it as its TimestampType, as Job A writes it.
            return "TIMESTAMPTZ"
        case "int":
            return "BIGINT"
        case "decimal":
            return f"DECIMAL({column.precision or 38},{column.scale or 0})"
        case "boolean":
            return "BOOLEAN"
    raise ValueError(column.type)


def _typed(column: Column, text: str) -> tuple[str, str]:
    """(typed value, is-invalid condition) of a contract column from its trimmed text ``text``."""
    t = text
    match column.type:
        case "string" | "json":
            value = f"lower({t})" if column.lowercase else t
            return value, "false"
        case "enum":
            allowed = ", ".join(_sql_text(v.lower()) for v in column.allowed_values)
            return f"CASE WHEN lower({t}) IN ({allowed}) THEN lower({t}) END", f"lower({t}) NOT IN ({allowed})"
        case "date":
            value = f"CASE WHEN regexp_full_match({t}, '\\d{{4}}-\\d{{2}}-\\d{{2}}') THEN try_cast({t} AS DATE) END"
        case "timestamp":
            shape = "\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?(Z|[+-]\\d{2}:\\d{2})?"
            value = f"CASE WHEN regexp_full_match({t}, '{shape}') THEN try_cast({t} AS TIMESTAMPTZ) END"
        case "int":
            value = f"CASE WHEN regexp_full_match({t}, '[+-]?\\d+') THEN try_cast({t} AS BIGINT) END"
        case "decimal":
            value = (f"CASE WHEN regexp_full_match({t}, '[+-]?\\d+(\\.\\d+)?') "
                     f"THEN try_cast({t} AS {_duck_type(column)}) END")
        case "boolean":
            value = (f"CASE WHEN lower({t}) IN ('y', 'yes', 'true', '1') THEN true "
                     f"WHEN lower({t}) IN ('n', 'no', 'false', '0') THEN false END")
        case _:
            raise ValueError(column.type)
    return value, f"({value}) IS NULL"


def _checked(contract: Contract, texts: dict[str, str], not_text: dict[str, str], body: str,
             raw: str = "_raw_record") -> str:
    """Typed columns, provenance, reasons and the raw record over ``body`` (a relation holding each
    column's raw text as ``texts[column]``). Three stacked SELECTs, so each trimmed text and each typed
    value is computed once (DuckDB does not share a repeated sub-expression)."""
    # trim() without a character set (spaces only) is five times faster than with one; the generated
    # feed has no other whitespace around values.
    trimmed = [f"nullif(trim({texts[c.name]}), '') AS \"_t_{c.name}\"" for c in contract.columns]
    flags = [f"({not_text[c.name]}) AS \"_x_{c.name}\"" for c in contract.columns if c.name in not_text]
    stage1 = f"SELECT *, {', '.join(trimmed + flags)} FROM ({body})"
    values, reasons = [], []
    for c in contract.columns:
        text = f'"_t_{c.name}"'
        value, invalid = _typed(c, text)
        values.append(f'CAST({value} AS {_duck_type(c)}) AS "_v_{c.name}"')
        code = {"string": "invalid_string"}.get(c.type, f"invalid_{c.type}")
        if c.required:
            reasons.append(f"CASE WHEN {text} IS NULL THEN '{c.name}:required' END")
        if invalid != "false":
            reasons.append(f"CASE WHEN {text} IS NOT NULL AND \"_v_{c.name}\" IS NULL THEN '{c.name}:{code}' END")
        if c.name in not_text:
            reasons.append(f"CASE WHEN \"_x_{c.name}\" THEN '{c.name}:invalid_string' END")
    stage2 = f"SELECT *, {', '.join(values)} FROM ({stage1})"
    reason_list = f"list_filter([{', '.join(reasons)}], lambda r: r IS NOT NULL)"
    stage3 = f"SELECT *, {reason_list} AS _reasons FROM ({stage2})"
    # The original record is kept for quarantine only: rebuilding it for every row would double the cost.
    stage4 = f"SELECT *, CASE WHEN len(_reasons) > 0 THEN {raw} END AS _raw_record FROM ({stage3})"
    typed = [f'"_v_{c.name}" AS {c.name}' for c in contract.columns]
    return f"SELECT {', '.join(typed)}, _source_file, _line, _reasons, _raw_record FROM ({stage4})"


def _ndjson_relation(contract: Contract, files: Sequence[Path]) -> str:
    """One row per record with each column's raw text (docs/spec.md §2 string rule applied). Every
    column is read as JSON, so a value's JSON type is known; one file at a time keeps the reader's row
    order, so row_number() is the line (the generated files have no blank or malformed lines)."""
    spec = "{" + ", ".join(f"'{c.name}': 'JSON'" for c in contract.columns) + "}"
    parts = [f"""SELECT {_sql_text(path.name)} AS _source_file, row_number() OVER () AS _line, *
                 FROM read_json({_sql_text(str(path))}, format = 'newline_delimited', columns = {spec})"""
             for path in files]
    texts, not_text = {}, {}
    for c in contract.columns:
        j = f'"{c.name}"'
        if c.type == "json":
            texts[c.name] = f"CASE WHEN json_type({j}) = 'OBJECT' THEN {j} ->> '$' END"
        else:
            texts[c.name] = f"CASE WHEN json_type({j}) NOT IN ('OBJECT', 'ARRAY', 'DOUBLE') THEN {j} ->> '$' END"
            if c.type in ("string", "enum"):
                not_text[c.name] = f"json_type({j}) IN ('OBJECT', 'ARRAY', 'DOUBLE')"
    raw = "json_object(" + ", ".join(f"'{c.name}', \"{c.name}\"" for c in contract.columns) + ")::VARCHAR"
    body = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    return _checked(contract, texts, not_text, body, raw)


def _csv_relation(contract: Contract, files: Sequence[Path]) -> str:
    """One row per CSV record: line 1 is the header, so the first record is line 2."""
    parts = []
    for path in files:
        # One file at a time keeps the reader's row order, so row_number() is the record's position.
        parts.append(f"""SELECT {_sql_text(path.name)} AS _source_file, row_number() OVER () + 1 AS _line, *
                          FROM read_csv({_sql_text(str(path))}, header = true, all_varchar = true)""")
    texts = {c.name: f'"{c.name}"' for c in contract.columns}
    raw = "concat_ws(',', " + ", ".join(f'"{c.name}"' for c in contract.columns) + ")"
    body = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    return _checked(contract, texts, {}, body, raw)


def duckdb_clean(con: Any, dataset: str, files: Sequence[Path], lake: Path, day: str) -> dict[str, int]:
    """Job A's work for one dataset and day in DuckDB: parse, cast and check every record, write the
    clean rows to ``clean/<dataset>/ingest_date=<day>/`` (with the contract-version marker the
    project's readers expect) and the others to ``quarantine/``. Returns the row counts."""
    from telco360.spark.evolution import marker_name

    contract = get_contract(dataset)
    clean_dir = lake / zones.partition(zones.CLEAN, dataset, day)
    quarantine_dir = lake / zones.partition(zones.QUARANTINE, dataset, day)
    for folder in (clean_dir, quarantine_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    if not files:
        return {"clean": 0, "quarantined": 0}
    csv = all(".csv" in f.name for f in files)
    relation = _csv_relation(contract, files) if csv else _ndjson_relation(contract, files)
    run_sql(con, f"CREATE OR REPLACE TEMP TABLE _checked AS {relation}")
    columns = ", ".join([*contract.column_names, "_source_file", "_line"])
    run_sql(con, f"COPY (SELECT {columns} FROM _checked WHERE len(_reasons) = 0) "
                f"TO {_sql_text(str(clean_dir / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION snappy)")
    run_sql(con, f"COPY (SELECT _source_file, _line, _raw_record, _reasons FROM _checked WHERE len(_reasons) > 0) "
                f"TO {_sql_text(str(quarantine_dir / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION snappy)")
    body = {"dataset": contract.name, "contract_version": contract.version}
    (clean_dir / marker_name(contract)).write_text(json.dumps(body))
    clean, quarantined = run_sql(con,
        "SELECT count(*) FILTER (WHERE len(_reasons) = 0), count(*) FILTER (WHERE len(_reasons) > 0) FROM _checked"
    )[0]
    run_sql(con, "DROP TABLE _checked")
    return {"clean": int(clean), "quarantined": int(quarantined)}


# --- DuckDB: docs/spec.md §4 in full -----------------------------------------------------------
LINEAGE_INGEST_DATE = "_ingest_date"


def _clean_view(con: Any, lake: Path, dataset: str, upto: str) -> str:
    name = f"_clean_{dataset}"
    glob = _sql_text(str(lake / zones.CLEAN / dataset / "*" / "*.parquet"))
    run_sql(con, f"""CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({glob}, hive_partitioning = true,
                    hive_types = {{'ingest_date': DATE}}, union_by_name = true) WHERE ingest_date <= DATE '{upto}'""")
    return name


def _latest(view: str, key: str, where: str = "true") -> str:
    return (f"SELECT * FROM {view} WHERE {where} QUALIFY row_number() OVER "
            f"(PARTITION BY {key} ORDER BY ingest_date DESC, _source_file DESC, _line DESC) = 1")


def staging_columns(table: str) -> list[str]:
    from telco360.spark.stage import staging_schema

    return staging_schema(table).fieldNames()


def duckdb_stage(con: Any, lake: Path, day: str, out: Path) -> dict[str, int]:
    """docs/spec.md §4 for ``day`` recomputed in full from every clean partition ``<= day``: creates the
    temp tables ``s_customers``, ``s_plans``, ``s_customer_360``, ``s_activity`` and writes each as
    Parquet under ``out``. Returns their row counts."""
    customers = _clean_view(con, lake, "customers", day)
    plans = _clean_view(con, lake, "plans", day)
    activity = _clean_view(con, lake, "activity", day)

    def lineage(alias: str = "") -> str:
        a = f"{alias}." if alias else ""
        return f"{a}_source_file, {a}_line, {a}ingest_date AS {LINEAGE_INGEST_DATE}"

    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE s_customers AS
        SELECT {', '.join(get_contract('customers').column_names)}, {lineage()}
        FROM ({_latest(customers, 'customer_id')})""")
    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE s_plans AS
        SELECT {', '.join(get_contract('plans').column_names)}, {lineage()} FROM ({_latest(plans, 'plan_id')})""")
    plan_columns = [c for c in staging_columns("customer_360") if c in get_contract("plans").column_names
                    and c not in get_contract("customers").column_names]
    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE s_customer_360 AS
        SELECT {', '.join('c.' + n for n in get_contract('customers').column_names)},
               {', '.join('p.' + n for n in plan_columns)},
               c._source_file, c._line, c.{LINEAGE_INGEST_DATE}
        FROM s_customers c LEFT JOIN s_plans p ON p.plan_id = c.plan_id""")
    # Plan changes: the latest record of every event id <= day, then those that are plan_changed.
    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE _changes AS
        SELECT event_id, customer_id, event_timestamp,
               json_extract_string(payload, '$.old_plan_id') AS old_plan_id,
               json_extract_string(payload, '$.new_plan_id') AS new_plan_id
        FROM ({_latest(activity, 'event_id')})
        WHERE event_type = 'plan_changed'""")
    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE _day AS
        {_latest(activity, 'event_id', f"ingest_date = DATE '{day}'")}""")
    # Rule 1: the last change at or before the event (by time, then event id); rule 2: the first after.
    run_sql(con, """CREATE OR REPLACE TEMP TABLE _pit AS
        SELECT e.event_id,
               arg_max({'p': ch.new_plan_id}, (ch.event_timestamp, ch.event_id))
                   FILTER (WHERE ch.event_timestamp <= e.event_timestamp) AS prior,
               arg_min({'p': ch.old_plan_id}, (ch.event_timestamp, ch.event_id))
                   FILTER (WHERE ch.event_timestamp > e.event_timestamp) AS later
        FROM _day e JOIN _changes ch ON ch.customer_id = e.customer_id
        GROUP BY e.event_id""")
    at_event = {c: c.removesuffix("_at_event") for c in staging_columns("activity") if c.endswith("_at_event")}
    run_sql(con, f"""CREATE OR REPLACE TEMP TABLE s_activity AS
        WITH resolved AS (
            SELECT e.*, CASE WHEN pit.prior IS NOT NULL THEN pit.prior.p
                             WHEN pit.later IS NOT NULL THEN pit.later.p
                             ELSE c.plan_id END AS plan_id_at_event
            FROM _day e LEFT JOIN _pit pit ON pit.event_id = e.event_id
                        LEFT JOIN s_customers c ON c.customer_id = e.customer_id)
        SELECT {', '.join('r.' + n for n in get_contract('activity').column_names)},
               CAST(r.event_timestamp AS DATE) AS event_date,
               {', '.join(('r.plan_id_at_event' if src == 'plan_id' else f'p.{src}') + f' AS {col}'
                          for col, src in at_event.items())},
               {lineage('r')}
        FROM resolved r LEFT JOIN s_plans p ON p.plan_id = r.plan_id_at_event""")
    counts = {}
    out.mkdir(parents=True, exist_ok=True)
    for table in zones.STAGING_TABLES:
        target = out / f"{table}.parquet"
        columns = ", ".join(staging_columns(table))
        run_sql(con, f"COPY (SELECT {columns} FROM s_{table}) TO {_sql_text(str(target))} "
                    "(FORMAT parquet, COMPRESSION snappy)")
        counts[table] = int(run_sql(con, f"SELECT count(*) FROM s_{table}")[0][0])
    return counts


# --- comparing two engines' tables -------------------------------------------------------------
def _normalized(columns: Sequence[str], types: dict[str, str]) -> list[str]:
    out = []
    for name in columns:
        kind = types[name].upper()
        if kind.startswith("TIMESTAMP"):
            out.append(f"epoch_us(\"{name}\")")
        elif kind.startswith("DECIMAL") or kind in {"DOUBLE", "FLOAT"}:
            out.append(f"CAST(CAST(\"{name}\" AS DECIMAL(38,6)) AS VARCHAR)")
        else:
            out.append(f"CAST(\"{name}\" AS VARCHAR)")
    return out


def relation_types(con: Any, relation: str) -> dict[str, str]:
    return {r[0]: r[1] for r in run_sql(con, f"DESCRIBE SELECT * FROM {relation}")}


@dataclass
class Comparison:
    table: str
    rows: tuple[int, int]  # (project, duckdb)
    checksums: tuple[int, int]
    differing_columns: list[str]

    @property
    def equal(self) -> bool:
        return self.rows[0] == self.rows[1] and self.checksums[0] == self.checksums[1]

    def describe(self) -> str:
        if self.equal:
            return f"{self.table}: equal ({self.rows[0]:,} rows, checksum {self.checksums[0] & 0xFFFFFFFF:08x})"
        return (f"{self.table}: MISMATCH rows project {self.rows[0]:,} vs duckdb {self.rows[1]:,}; "
                f"columns differing: {', '.join(self.differing_columns) or '(none: row multiset differs)'}")


def table_checksums(con: Any, table: str, project: str, reference: str, columns: Sequence[str],
                    key: Sequence[str]) -> Comparison:
    """Row counts and an order-free content checksum (sum of row hashes over ``columns``, values
    normalized so both engines' types agree) of two relations; on a mismatch, the columns whose
    per-column checksum (keyed by ``key``) differs."""
    left_types, right_types = relation_types(con, project), relation_types(con, reference)
    missing = [c for c in columns if c not in left_types or c not in right_types]
    if missing:
        return Comparison(table, (-1, -1), (0, 1), [f"missing column {c}" for c in missing])

    def digest(relation: str, types: dict[str, str]) -> tuple[int, int]:
        row = ", ".join(_normalized(columns, types))
        count, total = run_sql(con, f"SELECT count(*), coalesce(sum(hash({row})), 0) FROM {relation}")[0]
        return int(count), int(total)

    (left_rows, left_sum), (right_rows, right_sum) = digest(project, left_types), digest(reference, right_types)
    differing: list[str] = []
    if (left_rows, left_sum) != (right_rows, right_sum):
        keys_l, keys_r = _normalized(key, left_types), _normalized(key, right_types)
        for name, (l_col, r_col) in zip(columns, zip(_normalized(columns, left_types),
                                                     _normalized(columns, right_types), strict=True), strict=True):
            a = run_sql(con, f"SELECT coalesce(sum(hash({', '.join(keys_l)}, {l_col})), 0) FROM {project}")[0]
            b = run_sql(con, f"SELECT coalesce(sum(hash({', '.join(keys_r)}, {r_col})), 0) FROM {reference}")[0]
            if a != b:
                differing.append(name)
    return Comparison(table, (left_rows, right_rows), (left_sum, right_sum), differing)


def parquet_relation(folder: Path | str) -> str:
    return f"read_parquet({_sql_text(str(folder) + '/*.parquet')})"


def folder_mb(paths: Sequence[Path]) -> float:
    return sum(p.stat().st_size for p in paths) / 1e6
