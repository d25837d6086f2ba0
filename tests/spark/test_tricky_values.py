"""Values real producers send, per type, through Job A's checks and Parquet write (docs/spec.md §2):
each gives its exact clean value or its reason, and none can make the job fail."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from telco360.contracts import Column, Contract, get_contract
from telco360.spark.clean import check_records, clean_rows
from telco360.spark.read_raw import COMPACT_JSON, FIELDS, NOT_TEXT, SPACES_ONLY, UNKNOWN
from telco360.spark.schemas import LINE, RAW_RECORD, REASONS, SOURCE_FILE

CUSTOMERS, PLANS, ACTIVITY = get_contract("customers"), get_contract("plans"), get_contract("activity")
NBSP = "\u00a0"


def invalid(column: str, kind: str) -> str:
    return f"{column}:invalid_{kind}"


# (contract, column, raw text, expected clean value or "<column>:<code>")
CASES: list[tuple[Contract, str, str, Any]] = [
    # string: ASCII white space is trimmed, NBSP is text, NUL is text, blank is null
    (CUSTOMERS, "first_name", "  Ada\t", "Ada"),
    (CUSTOMERS, "first_name", f"{NBSP}Ada{NBSP}", f"{NBSP}Ada{NBSP}"),
    (CUSTOMERS, "first_name", "A\u0000da", "A\u0000da"),
    (CUSTOMERS, "first_name", " \r\n ", None),
    (CUSTOMERS, "first_name", "x" * 100_000, "x" * 100_000),
    # int: ASCII digits only, 64-bit, no fraction
    (PLANS, "voice_minutes", "12", 12),
    (PLANS, "voice_minutes", "+7", 7),
    (PLANS, "voice_minutes", "-0", 0),
    (PLANS, "voice_minutes", "007", 7),
    (PLANS, "voice_minutes", "12.0", invalid("voice_minutes", "int")),
    (PLANS, "voice_minutes", "1e3", invalid("voice_minutes", "int")),
    (PLANS, "voice_minutes", "\u0663", invalid("voice_minutes", "int")),  # Arabic-Indic 3
    (PLANS, "voice_minutes", "\uff11\uff12", invalid("voice_minutes", "int")),  # full-width 12
    (PLANS, "voice_minutes", "9223372036854775807", 9223372036854775807),
    (PLANS, "voice_minutes", "-9223372036854775808", -9223372036854775808),
    (PLANS, "voice_minutes", "9223372036854775808", invalid("voice_minutes", "int")),
    (PLANS, "voice_minutes", "1" * 400, invalid("voice_minutes", "int")),
    # decimal(12,2): half-up rounding, ties away from zero, overflow refused
    (PLANS, "monthly_price", "1.005", Decimal("1.01")),
    (PLANS, "monthly_price", "-1.005", Decimal("-1.01")),
    (PLANS, "monthly_price", "2.675", Decimal("2.68")),
    (PLANS, "monthly_price", "-0.0", Decimal("0.00")),
    (PLANS, "monthly_price", "9999999999.994", Decimal("9999999999.99")),
    (PLANS, "monthly_price", "9999999999.995", invalid("monthly_price", "decimal")),
    (PLANS, "monthly_price", "1e400", invalid("monthly_price", "decimal")),
    (PLANS, "monthly_price", ".5", invalid("monthly_price", "decimal")),
    (PLANS, "monthly_price", "\u0661\u0662", invalid("monthly_price", "decimal")),
    (PLANS, "monthly_price", "9" * 400, invalid("monthly_price", "decimal")),
    # boolean
    (PLANS, "roaming_enabled", "Y", True),
    (PLANS, "roaming_enabled", " no ", False),
    (PLANS, "roaming_enabled", "TRUE", True),
    (PLANS, "roaming_enabled", "2", invalid("roaming_enabled", "boolean")),
    # date: any year 0001-9999, proleptic Gregorian
    (CUSTOMERS, "date_of_birth", "0001-01-01", date(1, 1, 1)),
    (CUSTOMERS, "date_of_birth", "1582-10-04", date(1582, 10, 4)),
    (CUSTOMERS, "date_of_birth", "1582-10-10", date(1582, 10, 10)),
    (CUSTOMERS, "date_of_birth", "1900-01-01", date(1900, 1, 1)),
    (CUSTOMERS, "date_of_birth", "9999-12-31", date(9999, 12, 31)),
    (CUSTOMERS, "date_of_birth", "2024-02-29", date(2024, 2, 29)),
    (CUSTOMERS, "date_of_birth", "2025-02-29", invalid("date_of_birth", "date")),
    (CUSTOMERS, "date_of_birth", "2025-1-1", invalid("date_of_birth", "date")),
    (CUSTOMERS, "date_of_birth", "\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661",  # Arabic-Indic digits
     invalid("date_of_birth", "date")),
    # timestamp: UTC, microseconds, offsets ±HH:MM only
    (CUSTOMERS, "registration_date", "1899-12-31T23:59:59Z", datetime(1899, 12, 31, 23, 59, 59)),
    (CUSTOMERS, "registration_date", "0001-01-01T00:00:00Z", datetime(1, 1, 1)),
    (CUSTOMERS, "registration_date", "2025-01-01 10:00:00", datetime(2025, 1, 1, 10)),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00:00+05:30", datetime(2025, 1, 1, 4, 30)),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00:00.5-01:00", datetime(2025, 1, 1, 11, 0, 0, 500000)),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00:00.123456Z", datetime(2025, 1, 1, 10, 0, 0, 123456)),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00:00.1234567Z", invalid("registration_date", "timestamp")),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00:00+0530", invalid("registration_date", "timestamp")),
    (CUSTOMERS, "registration_date", "2025-01-01T24:00:00Z", invalid("registration_date", "timestamp")),
    (CUSTOMERS, "registration_date", "2025-01-01T10:00Z", invalid("registration_date", "timestamp")),
    # enum
    (CUSTOMERS, "status", " ACTIVE ", "active"),
    (CUSTOMERS, "status", "closed", invalid("status", "enum")),
    # json: an object, stored compact
    (ACTIVITY, "payload", '{ "a" : [1, 2] }', '{"a":[1,2]}'),
    (ACTIVITY, "payload", "[1, 2]", invalid("payload", "json")),
    (ACTIVITY, "payload", "{bad", invalid("payload", "json")),
    (ACTIVITY, "payload", "[" * 5000 + "]" * 5000, invalid("payload", "json")),
    (ACTIVITY, "payload", '{"a":' * 2000 + "1" + "}" * 2000, invalid("payload", "json")),  # deeper than Jackson allows
]
# A valid record around each case's value: the other required columns of its dataset.
REQUIRED: dict[str, dict[str, str]] = {
    "customers": {"customer_id": "C1"},
    "plans": {"plan_id": "P1"},
    "activity": {"event_id": "E1", "customer_id": "C1", "event_type": "login",
                 "event_timestamp": "2025-01-05T00:00:00Z"},
}


def _as_text(column: Column) -> Any:
    # Dates and times are compared as text: Python's datetime cannot hold every instant Spark can
    # (pyspark fails to convert 0001-01-01T00:00:00Z to a local datetime).
    value = F.col(column.name)
    if column.type == "timestamp":
        return F.date_format(value, "yyyy-MM-dd HH:mm:ss.SSSSSS").alias(column.name)
    if column.type in ("date", "decimal"):
        return value.cast("string").alias(column.name)
    return value


def _text(expected: Any) -> Any:
    if isinstance(expected, datetime):
        return expected.isoformat(sep=" ", timespec="microseconds")
    if isinstance(expected, date | Decimal):
        return str(expected)
    return expected


def _records(spark: Any, contract: Contract, cases: list[tuple[int, str, str]]) -> Any:
    fields = ", ".join(f"{n} string" for n in contract.column_names)
    schema = (f"{SOURCE_FILE} string, {LINE} bigint, {RAW_RECORD} string, {FIELDS} struct<{fields}>, "
              f"{UNKNOWN} array<string>, {NOT_TEXT} array<string>, {COMPACT_JSON} boolean, {SPACES_ONLY} boolean")
    rows = []
    for line, column, raw in cases:
        values = {**REQUIRED[contract.name], column: raw}
        # As a reader marks it: true when the record holds no white space but the space.
        spaces_only = not any(c in v for v in values.values() if v for c in "\t\u000b\f\r\n")
        rows.append(("cases", line, None, tuple(values.get(n) for n in contract.column_names), [], [], False,
                     spaces_only))
    return spark.createDataFrame(rows, schema)


def test_every_tricky_value_is_clean_with_its_exact_value_or_quarantined_with_its_reason(
        spark: Any, tmp_path: Path) -> None:
    got: dict[int, Any] = {}
    for contract in (CUSTOMERS, PLANS, ACTIVITY):
        # GIVEN one record per tricky value of this dataset
        cases = [(i, column, raw) for i, (c, column, raw, _) in enumerate(CASES) if c is contract]
        checked = check_records(_records(spark, contract, cases), contract)
        # WHEN Job A checks them and writes the clean ones to Parquet (where ancient dates used to fail)
        out = str(tmp_path / contract.name)
        clean_rows(checked, contract).write.mode("overwrite").parquet(out)
        written = {r[LINE]: r for r in spark.read.parquet(out).select(LINE, *map(_as_text, contract.columns)).collect()}
        reasons = {r[LINE]: [f"{x['column']}:{x['code']}" for x in r[REASONS]]
                   for r in checked.where(F.size(REASONS) > 0).select(LINE, REASONS).collect()}
        for line, column, _ in cases:
            got[line] = reasons[line][0] if line in reasons else written[line][column]
    # THEN each value is exactly what docs/spec.md §2 says
    failures = [f"{column}({raw[:40]!r}): got {got[i]!r}, expected {_text(expected)!r}"
                for i, (_, column, raw, expected) in enumerate(CASES)
                if got[i] != _text(expected)]
    assert not failures, "\n".join(failures)
