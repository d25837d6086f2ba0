"""docs/spec.md §2's cast rules, one table of cases evaluated in a single Spark job (ANSI off and on)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from telco360.contracts import Column, get_contract
from telco360.spark.casting import cast_column, reason_codes

# Real contract columns, one per rule.
COLUMNS: dict[str, Column] = {
    "string": get_contract("customers").column("first_name"),
    "lowercase": get_contract("activity").column("event_type"),
    "enum": get_contract("customers").column("status"),
    "date": get_contract("customers").column("date_of_birth"),
    "timestamp": get_contract("customers").column("registration_date"),
    "int": get_contract("plans").column("data_allowance_gb"),
    "decimal": get_contract("plans").column("monthly_price"),
    "boolean": get_contract("plans").column("roaming_enabled"),
    "json": get_contract("activity").column("payload"),
}
INVALID = "<invalid>"

# (rule, raw text, expected value as Spark casts it to string; None = null; INVALID = refused)
CASES: list[tuple[str, str | None, str | None]] = [
    ("string", "  Ada  ", "Ada"),
    ("string", "\tAda Lovelace\n", "Ada Lovelace"),
    ("string", "   ", None),
    ("string", "", None),
    ("string", None, None),
    ("lowercase", " App_Open ", "app_open"),
    ("enum", "ACTIVE", "active"),
    ("enum", " Suspended ", "suspended"),
    ("enum", "cancelled", "cancelled"),
    ("enum", "closed", INVALID),
    ("enum", "", None),
    ("date", "1982-08-03", "1982-08-03"),
    ("date", " 2024-02-29 ", "2024-02-29"),
    ("date", "2025-02-30", INVALID),
    ("date", "2023-02-29", INVALID),
    ("date", "2025-13-01", INVALID),
    ("date", "2025-1-05", INVALID),
    ("date", "05/01/2025", INVALID),
    ("date", "2025-01-05T00:00:00Z", INVALID),
    ("date", "+2025-01-05", INVALID),
    ("date", "20250-01-05", INVALID),
    ("date", "2025-01-05x", INVALID),
    ("date", "\u0662\u0660\u0662\u0665-01-05", INVALID),
    ("date", "0001-01-01", "0001-01-01"),
    ("date", "0000-01-01", INVALID),
    ("timestamp", "2025-01-05T05:31:20Z", "2025-01-05 05:31:20"),
    ("timestamp", "2025-01-05 05:31:20", "2025-01-05 05:31:20"),
    ("timestamp", "2025-01-05T05:31:20", "2025-01-05 05:31:20"),
    ("timestamp", "2025-01-05T05:31:20.1Z", "2025-01-05 05:31:20.1"),
    ("timestamp", "2025-01-05T05:31:20.12Z", "2025-01-05 05:31:20.12"),
    ("timestamp", "2025-01-05T05:31:20.123", "2025-01-05 05:31:20.123"),
    ("timestamp", "2025-01-05T05:31:20.1234Z", "2025-01-05 05:31:20.1234"),
    ("timestamp", "2025-01-05T05:31:20.12345Z", "2025-01-05 05:31:20.12345"),
    ("timestamp", "2025-01-05T05:31:20.123456Z", "2025-01-05 05:31:20.123456"),
    ("timestamp", "2025-01-05T05:31:20.1234567Z", INVALID),
    ("timestamp", "2025-01-05T01:00:00+01:00", "2025-01-05 00:00:00"),
    ("timestamp", "2025-01-05 23:30:00-02:30", "2025-01-06 02:00:00"),
    ("timestamp", "2025-01-05T00:00:00.5+05:30", "2025-01-04 18:30:00.5"),
    ("timestamp", "2025-01-05T05:31:20+0100", INVALID),
    ("timestamp", "2025-01-05T05:31", INVALID),
    ("timestamp", "2025-01-05", INVALID),
    ("timestamp", "2025-01-05T24:00:00Z", INVALID),
    ("timestamp", "2025-02-30T00:00:00Z", INVALID),
    ("timestamp", "2025-01-05t05:31:20z", INVALID),
    ("timestamp", "2025-01-05t05:31:20Z", INVALID),
    ("timestamp", "2025-01-05T05:31:20z", INVALID),
    ("timestamp", "+2025-01-05T05:31:20Z", INVALID),
    ("timestamp", "20250-01-05T05:31:20Z", INVALID),
    ("timestamp", "2025-01-05T05:31:20+05:30:00", INVALID),
    ("timestamp", "2025-01-05T05:31:20+05", INVALID),
    ("timestamp", "2025-01-05T05:31:20.Z", INVALID),
    ("timestamp", "2025-01-05T05:31:20 Z", INVALID),
    ("timestamp", "2025-01-05T05:31:20UTC", INVALID),
    ("timestamp", "2025-01-05T05:31:20-00:00", "2025-01-05 05:31:20"),
    ("timestamp", "0000-12-31T23:59:59Z", INVALID),
    ("int", "42", "42"),
    ("int", "+42", "42"),
    ("int", "-0042", "-42"),
    ("int", " 7 ", "7"),
    ("int", "9223372036854775807", "9223372036854775807"),
    ("int", "-9223372036854775808", "-9223372036854775808"),
    ("int", "9223372036854775808", INVALID),
    ("int", "-9223372036854775809", INVALID),
    ("int", "00000000000000000000001", "1"),
    ("int", "12.0", INVALID),
    ("int", "1e3", INVALID),
    ("int", "12a", INVALID),
    ("int", "- 1", INVALID),
    ("decimal", "2212.81", "2212.81"),
    ("decimal", "15", "15.00"),
    ("decimal", "+3.1", "3.10"),
    ("decimal", "1.005", "1.01"),
    ("decimal", "1.004", "1.00"),
    ("decimal", "-1.005", "-1.01"),
    ("decimal", "-2.345", "-2.35"),
    ("decimal", "0.125000000000000000000000000000000001", "0.13"),
    ("decimal", "9999999999.99", "9999999999.99"),
    ("decimal", "9999999999.995", INVALID),
    ("decimal", "10000000000", INVALID),
    ("decimal", "00000000001.5", "1.50"),
    ("decimal", "1.", INVALID),
    ("decimal", ".5", INVALID),
    ("decimal", "1,5", INVALID),
    ("decimal", "1e2", INVALID),
    # NDJSON numbers arrive in Java's double notation (Spark's JSON parser prints 12345678.9 so)
    ("decimal", "1.23456789E7", "12345678.90"),
    ("decimal", "5.0E-3", "0.01"),
    ("decimal", "-1.5E-4", "0.00"),
    ("decimal", "9.99999999999E9", "9999999999.99"),
    ("decimal", "1.0E10", INVALID),
    ("decimal", "1.0E999", INVALID),
    ("decimal", "12E3", INVALID),
    ("decimal", "NaN", INVALID),
    ("boolean", "Y", "true"),
    ("boolean", "n", "false"),
    ("boolean", "Yes", "true"),
    ("boolean", "NO", "false"),
    ("boolean", "TRUE", "true"),
    ("boolean", "false", "false"),
    ("boolean", "1", "true"),
    ("boolean", "0", "false"),
    ("boolean", "2", INVALID),
    ("boolean", "on", INVALID),
    ("json", '{ "amount" : 1000, "x": [1, 2] }', '{"amount":1000,"x":[1,2]}'),
    ("json", "{}", "{}"),
    ("json", "[1, 2]", INVALID),
    ("json", '"text"', INVALID),
    ("json", "{not json", INVALID),
]


@pytest.fixture(params=[False, True], ids=["ansi_off", "ansi_on"])
def ansi_spark(request: pytest.FixtureRequest, spark) -> Iterator[object]:
    previous = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", str(request.param).lower())
    yield spark
    spark.conf.set("spark.sql.ansi.enabled", previous)


def test_every_cast_rule_gives_the_contract_value_or_refuses(ansi_spark) -> None:
    # GIVEN one row per case
    df = ansi_spark.createDataFrame([(i, raw) for i, (_, raw, _) in enumerate(CASES)], "case int, raw string")
    # WHEN every rule is applied to every raw text (one Spark job)
    casts = {rule: cast_column(F.col("raw"), column) for rule, column in COLUMNS.items()}
    rows = df.select(
        "case", *(F.struct(c.value.cast("string").alias("v"), c.ok.alias("ok")).alias(r) for r, c in casts.items())
    ).collect()
    # THEN each case gives its expected value, or is refused (never a silent null)
    got = {row["case"]: row for row in rows}
    failures = []
    for i, (rule, raw, expected) in enumerate(CASES):
        result = got[i][rule]
        actual = INVALID if not result["ok"] else result["v"]
        if actual != expected:
            failures.append(f"{rule}({raw!r}) = {actual!r}, expected {expected!r}")
    assert not failures, "\n".join(failures)


def test_reason_codes_name_the_column_and_the_rule(spark) -> None:
    # GIVEN a required column (event_timestamp) and an optional one (date_of_birth)
    required = get_contract("activity").column("event_timestamp")
    optional = get_contract("customers").column("date_of_birth")
    df = spark.createDataFrame([("bad",), (None,), (" ",), ("2025-01-05T00:00:00Z",)], "raw string")
    # WHEN the reason codes are computed
    rows = df.select(
        *(F.concat(found["column"], F.lit(":"), found["code"]).alias(name) for name, found in (
            ("req", reason_codes(F.col("raw"), required)[0]), ("opt", reason_codes(F.col("raw"), optional)[0])))
    ).collect()
    # THEN a missing required value and a failed cast have their own codes
    assert [(r["req"], r["opt"]) for r in rows] == [
        ("event_timestamp:invalid_timestamp", "date_of_birth:invalid_date"),
        ("event_timestamp:required", None),
        ("event_timestamp:required", None),
        (None, "date_of_birth:invalid_date"),
    ]


# --- dates and timestamps against a plain-Python reading of docs/spec.md §2 ------------------------
_DATE_FORM = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP_FORM = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
                             r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})?")


def expected_date(text: str) -> str | None:
    """The contract's date form, a real calendar day, year 0001 or later."""
    if not (m := _DATE_FORM.fullmatch(text)) or m[1] == "0000":
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def expected_timestamp(text: str) -> str | None:
    """The contract's timestamp form, a real time, as UTC text; offsets within Java's ±18:00."""
    if not (m := _TIMESTAMP_FORM.fullmatch(text)) or m[1] == "0000":
        return None
    offset = timedelta()
    if m[8] and m[8] != "Z":
        hours, minutes = int(m[8][1:3]), int(m[8][4:6])
        if minutes > 59 or hours * 60 + minutes > 18 * 60:
            return None
        offset = (1 if m[8][0] == "+" else -1) * timedelta(hours=hours, minutes=minutes)
    try:
        local = datetime(*(int(m[i]) for i in range(1, 7)), int((m[7] or "").ljust(6, "0")))
    except ValueError:
        return None
    utc = local - offset
    if not 1 <= utc.year <= 9999:  # beyond what the check below can print; the cases stay clear of it
        return None
    return f"{utc.year:04d}-{utc:%m-%d %H:%M:%S.%f}"


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    # Mostly two digits, sometimes one or three: near misses of the form.
    return st.integers(low, high).map(str).flatmap(
        lambda v: st.sampled_from([v.zfill(2)] * 8 + [v, v.zfill(3)]))


NEAR_TIMESTAMPS = st.builds(
    lambda y, mo, d, sep, h, mi, s, fraction, offset: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{fraction}{offset}",
    st.one_of(st.integers(0, 9999).map(lambda v: str(v).zfill(4)), st.sampled_from(["0000", "1582", "2024", "99999"])),
    _two(0, 13), _two(0, 32), st.sampled_from(["T", "T", "T", " ", " ", "t", "  ", "_"]),
    _two(0, 25), _two(0, 61), _two(0, 61),
    st.one_of(st.just(""), st.text("0123456789", max_size=8).map(lambda f: "." + f)),
    st.one_of(st.sampled_from(["", "", "Z", "Z", "z", "+0100", "+05", "UTC", "-00:00", "+18:00", "-18:00", "+18:01"]),
              st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two(0, 19), _two(0, 61))),
)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.data_too_large])
@given(timestamps=st.lists(NEAR_TIMESTAMPS, min_size=150, max_size=150))
def test_dates_and_timestamps_are_read_exactly_as_the_contract_spells_them(spark, timestamps) -> None:
    # GIVEN texts shaped like timestamps, and their first ten characters as dates: valid ones and near
    # misses (digits out of range, days that do not exist, lower-case t/z, fractions of 0-8 digits,
    # offsets of every spelling)
    df = spark.createDataFrame([(t, t[:10]) for t in timestamps], "ts string, d string")
    # WHEN the timestamp and date rules cast them (one Spark job)
    rows = df.select(
        "ts", "d",
        F.date_format(cast_column(F.col("ts"), COLUMNS["timestamp"]).value, "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("tv"),
        cast_column(F.col("d"), COLUMNS["date"]).value.cast("string").alias("dv"),
    ).collect()
    # THEN each is what a plain reading of docs/spec.md §2 gives: the instant in UTC, or refused
    assert [(r["ts"], r["tv"]) for r in rows] == [(r["ts"], expected_timestamp(r["ts"])) for r in rows]
    assert [(r["d"], r["dv"]) for r in rows] == [(r["d"], expected_date(r["d"])) for r in rows]
