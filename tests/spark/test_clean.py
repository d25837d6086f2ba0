"""Glue Job A end to end on local lakes under tmp_path: actual Parquet rows read back."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import Observation
from pyspark.sql import functions as F

from telco360 import zones
from telco360.contracts import DATASETS, get_contract, normalize_name
from telco360.spark import clean as clean_module
from telco360.spark.clean import lake_uri, output_files, run_clean
from telco360.spark.lakefs import LakeFS
from telco360.spark.read_raw import (
    COMPACT_JSON,
    FIELDS,
    UNKNOWN,
    LineSelection,
    normalized_name,
    read_csv_header,
    read_first_pass,
    read_records,
)
from telco360.spark.schemas import clean_schema, quarantine_schema

D, D2 = "2025-01-05", "2025-01-06"


def put(root: Path, dataset: str, name: str, content: str | bytes, day: str = D) -> Path:
    path = root / zones.archive_key(dataset, day, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def ndjson(*records: dict[str, Any]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def rows(spark, path: str) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.read.parquet(path).orderBy("_source_file", "_line").collect()]


def reasons_of(row: dict[str, Any]) -> list[str]:
    """A quarantine row's reasons as ``column:code`` texts."""
    return [f"{r['column']}:{r['code']}" for r in row["_reasons"]]


def parquet_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.parquet"))


# --- one lake, one run: records of every kind -------------------------------------------------------
CUSTOMERS_NDJSON = (
    "\ufeff"
    + json.dumps({"customerId": "C1", "First Name": " Ada ", "LAST_NAME": "Lovelace", "DateOfBirth": "1990-01-31",
                  "registration-date": "2020-05-01 10:00:00+02:00", "Status": "ACTIVE", "loyaltyTier": "gold"})
    + "\n\n"  # a blank line: skipped, but it still counts in the line numbers
    + json.dumps({"customer_id": "C2", "date_of_birth": "2025-02-30", "status": "closed"}) + "\n"
    + json.dumps({"first_name": "NoId"}) + "\n"
    + '{"customer_id": "C3", broken\n'
    + json.dumps({"customer_id": "C4", "registration_date": "2021-01-01T00:00:00.5Z", "status": None}) + "\n"
)
CUSTOMERS_GZ = ndjson({"CUSTOMER_ID": "C5", "plan_id": "P001", "status": "Suspended"})
# The same activity records as NDJSON and CSV, in one day: the clean rows must be identical.
ACTIVITY_RECORDS = [
    {"event_id": "E1", "customer_id": "C1", "event_type": "Plan_Changed", "event_timestamp": "2025-01-05T05:31:20Z",
     "device_type": "iOS", "payload": {"old_plan_id": "P001", "new_plan_id": "P002"}},
    {"event_id": "E2", "customer_id": "C2", "event_type": "topup", "event_timestamp": "2025-01-05 06:00:00.123",
     "network_type": "4G", "payload": {"amount": 1000}},
    {"event_id": "E3", "customer_id": "C3", "event_type": "login", "event_timestamp": "2025-01-05T07:00:00-01:00",
     "ip_address": "10.0.0.1", "payload": {}},
]
ACTIVITY_CSV = (
    "\ufeffEvent ID,customerId,EVENT_TYPE,event timestamp,Device Type,ipAddress,network_type,payload,extra\n"
    'E1,C1,Plan_Changed,2025-01-05T05:31:20Z,iOS,,,"{""old_plan_id"": ""P001"",\n""new_plan_id"": ""P002""}",x\n'
    'E2,C2,topup,2025-01-05 06:00:00.123,,,4G,"{""amount"": 1000}",\n'
    'E3,C3,login,2025-01-05T07:00:00-01:00,,10.0.0.1,,{},"multi\nline\nvalue"\n'
    "E4,C4,login,not a time,,,,{},\n"
)
# Plans with numbers as JSON numbers and as strings, and the same plans as CSV.
PLANS_NDJSON = ndjson(
    {"plan_id": "P001", "plan_name": "Premium", "monthly_price": 2212.81, "data_allowance_gb": 20,
     "voice_minutes": "300", "sms_allowance": 100, "roaming_enabled": True, "validity_days": "365",
     "plan_category": "Premium"},
    {"plan_id": "P002", "plan_name": "Basic", "monthly_price": "15.005", "data_allowance_gb": "2",
     "voice_minutes": 2000, "sms_allowance": "1000", "roaming_enabled": "N", "validity_days": 30,
     "plan_category": "Basic"},
    {"plan_id": "P003", "monthly_price": 1.5, "data_allowance_gb": 12.0},
)
PLANS_CSV = (
    "Plan ID,Monthly Price,planName,DATA_ALLOWANCE_GB,voiceMinutes,sms_allowance,roaming_enabled,validity_days,"
    "plan_category\n"
    "P001,2212.81,Premium,20,300,100,true,365,Premium\n"
    "P002,15.005,Basic,2,2000,1000,N,30,Basic\n"
    "P003,1.5,,12.0,,,,,\n"
)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    # GIVEN a day with customers (BOM, blank line, malformed and invalid records, gz), activity and
    # plans (the same records as NDJSON and as CSV, mixed in the day)
    root = tmp_path_factory.mktemp("lake")
    put(root, "customers", "customers.ndjson", CUSTOMERS_NDJSON)
    put(root, "customers", "customers_2.jsonl.gz", CUSTOMERS_GZ)
    put(root, "activity", "logs_a.ndjson", ndjson(*ACTIVITY_RECORDS))
    put(root, "activity", "logs_b.csv", ACTIVITY_CSV)
    put(root, "plans", "plans.ndjson", PLANS_NDJSON)
    put(root, "plans", "plans.csv.gz", PLANS_CSV)
    # WHEN Job A runs for the day, with ANSI mode on (Spark 4's default: nothing may raise on bad text)
    previous = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        report = run_clean(spark, str(root), D).to_dict()
    finally:
        spark.conf.set("spark.sql.ansi.enabled", previous)
    yield root, report


def test_clean_rows_carry_contract_types_and_provenance(spark, lake) -> None:
    root, _ = lake
    # THEN the valid customers are in clean, typed and normalized, with file and line
    got = rows(spark, zones.clean_path(lake_uri(str(root)), "customers", D))
    assert [(r["customer_id"], r["_source_file"], r["_line"]) for r in got] == [
        ("C1", "customers.ndjson", 1), ("C4", "customers.ndjson", 6), ("C5", "customers_2.jsonl.gz", 1)]
    c1, c4, c5 = got
    assert (c1["first_name"], c1["last_name"], str(c1["date_of_birth"]), c1["status"]) == (
        "Ada", "Lovelace", "1990-01-31", "active")
    assert c4["status"] is None and c5["status"] == "suspended" and c5["plan_id"] == "P001"
    written = spark.read.parquet(zones.clean_path(lake_uri(str(root)), "customers", D))
    stamps = written.orderBy("_source_file", "_line").select(
        F.date_format("registration_date", "yyyy-MM-dd HH:mm:ss.SSSSSS").alias("t")).collect()
    assert [r["t"] for r in stamps] == ["2020-05-01 08:00:00.000000", "2021-01-01 00:00:00.500000", None]
    assert [(f.name, f.dataType) for f in written.schema] == [
        (f.name, f.dataType) for f in clean_schema(get_contract("customers"))]


def test_invalid_records_are_quarantined_with_reasons_original_text_and_line(spark, lake) -> None:
    root, _ = lake
    got = rows(spark, zones.quarantine_path(lake_uri(str(root)), "customers", D))
    # THEN every invalid record is there, with the original values, why, and where it came from
    assert [(r["_line"], r["customer_id"], reasons_of(r)) for r in got] == [
        (3, "C2", ["date_of_birth:invalid_date", "status:invalid_enum"]),
        (4, None, ["customer_id:required"]),
        (5, None, ["_record:malformed"]),
    ]
    assert (got[0]["date_of_birth"], got[0]["status"]) == ("2025-02-30", "closed")
    assert got[1]["first_name"] == "NoId" and got[1]["_raw_record"] is None
    assert got[2]["_raw_record"] == '{"customer_id": "C3", broken'
    assert {r["_source_file"] for r in got} == {"customers.ndjson"}
    assert spark.read.parquet(zones.quarantine_path(lake_uri(str(root)), "customers", D)).schema.fieldNames() == (
        quarantine_schema(get_contract("customers")).fieldNames())


def test_csv_and_ndjson_of_the_same_records_give_identical_clean_rows(spark, lake) -> None:
    root, _ = lake
    base = lake_uri(str(root))
    for dataset in ("activity", "plans"):
        got = rows(spark, zones.clean_path(base, dataset, D))
        by_file: dict[str, list[dict[str, Any]]] = {}
        for r in got:
            by_file.setdefault(r.pop("_source_file"), []).append({k: v for k, v in r.items() if k != "_line"})
        ndjson_rows, csv_rows = (rows_ for _, rows_ in sorted(by_file.items(), key=lambda kv: "csv" in kv[0]))
        # THEN the two formats give the same values, types and all
        assert ndjson_rows == csv_rows, dataset
    plans = {r["plan_id"]: r for r in rows(spark, zones.clean_path(base, "plans", D))}
    assert str(plans["P001"]["monthly_price"]) == "2212.81" and plans["P001"]["roaming_enabled"] is True
    assert str(plans["P002"]["monthly_price"]) == "15.01" and plans["P002"]["voice_minutes"] == 2000
    assert "P003" not in plans  # 12.0 is not an int, in both formats
    activity = rows(spark, zones.clean_path(base, "activity", D))
    assert activity[0]["payload"] == '{"old_plan_id":"P001","new_plan_id":"P002"}'
    assert activity[0]["event_type"] == "plan_changed"


def test_csv_lines_count_quoted_newlines_of_earlier_records(spark, lake) -> None:
    root, _ = lake
    base = lake_uri(str(root))
    clean = [(r["event_id"], r["_line"]) for r in rows(spark, zones.clean_path(base, "activity", D))
             if r["_source_file"] == "logs_b.csv"]
    quarantined = rows(spark, zones.quarantine_path(base, "activity", D))
    # THEN _line is the physical line where each record starts (header = line 1)
    assert clean == [("E1", 2), ("E2", 4), ("E3", 5)]
    assert [(r["event_id"], r["_line"], reasons_of(r)) for r in quarantined] == [
        ("E4", 8, ["event_timestamp:invalid_timestamp"])]
    assert quarantined[0]["event_timestamp"] == "not a time"


def test_report_counts_files_rows_reasons_and_dropped_columns(lake) -> None:
    root, report = lake
    # THEN the report returned is the one written, with per-dataset counts
    assert json.loads((root / zones.report_path("", "clean", D).lstrip("/")).read_text()) == report
    customers = report["datasets"]["customers"]
    assert {k: customers[k] for k in ("files_read", "rows_read", "rows_clean", "rows_quarantined")} == {
        "files_read": 2, "rows_read": 6, "rows_clean": 3, "rows_quarantined": 3}
    assert customers["quarantine_reasons"] == {
        "_record:malformed": 1, "customer_id:required": 1, "date_of_birth:invalid_date": 1, "status:invalid_enum": 1}
    assert customers["columns_dropped"] == {"loyalty_tier": 1}
    assert customers["files"] == [
        {"file": "customers.ndjson", "format": "ndjson", "rows": 5, "rows_quarantined": 3,
         "unknown_columns": ["loyalty_tier"]},
        {"file": "customers_2.jsonl.gz", "format": "ndjson", "rows": 1, "rows_quarantined": 0, "unknown_columns": []},
    ]
    assert report["datasets"]["activity"]["columns_dropped"] == {"extra": 4}
    assert report["datasets"]["plans"]["quarantine_reasons"] == {"data_allowance_gb:invalid_int": 2}


# --- column names -------------------------------------------------------------------------------------
def test_spark_name_normalization_agrees_with_the_python_one(spark) -> None:
    names = ["Customer ID", "customerId", "CUSTOMER_ID", "customer-id", "\ufeffplan_id", "  Date Of Birth ",
             "HTTPStatus", "IPAddress", "registration__date", "dataAllowanceGB", "sms2Allowance", "éventType"]
    got = spark.createDataFrame([(n,) for n in names], "n string").select(normalized_name(F.col("n"))).collect()
    assert [r[0] for r in got] == [normalize_name(n) for n in names]


def test_aliases_map_to_the_contract_column_in_both_formats(spark, tmp_path: Path) -> None:
    # GIVEN a contract whose customer_id has an alias, and files using it
    base = get_contract("customers")
    aliased = dataclasses.replace(base.column("customer_id"), aliases=("Cust No",))
    contract = dataclasses.replace(base, columns=(aliased, *base.columns[1:]))
    a = put(tmp_path, "customers", "a.ndjson", ndjson({"custNo": "C1", "mystery": 1}))
    b = put(tmp_path, "customers", "b.csv", "CUST_NO,status\nC2,active\n")
    fs = LakeFS(spark)
    files = fs.list_files(lake_uri(str(a.parent)))
    assert [f.name for f in files] == [a.name, b.name]
    # WHEN the records are read
    got = read_records(spark, fs, files, contract).orderBy("_source_file").collect()
    # THEN the alias became the contract name and unknown names are listed
    assert [(r[FIELDS]["customer_id"], r[UNKNOWN]) for r in got] == [("C1", ["mystery"]), ("C2", [])]


def test_json_values_are_stored_as_compact_json_however_the_line_spells_them(spark, tmp_path: Path) -> None:
    # GIVEN NDJSON payloads as objects (numbers Jackson rewrites, escapes, unicode, spaces, the key's
    # name in another value) and the lines that must not take the short cut past re-serializing: JSON
    # text in a string (double- or single-quoted), a repeated key holding a string, an escaped key
    base = {"event_id": "E", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T00:00:00Z"}
    payload = r'{"n":1.50,"e":1E+2,"big":12345678901234567890,"s":"a\/b é \"q\"","l":[1, {"x":null}]}'
    head = '{"event_id":"%s","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-05T00:00:00Z",'
    lines = [
        head % "E1" + '"payload":' + payload + "}",
        json.dumps({**base, "event_id": "E2", "payload": '{ "a" : [1, 2] }'}),
        head % "E3" + r'"payload":{"a": 1},"payload":"{ \"b\" : 2 }"}',
        head % "E4" + r'"pay\u006coad":"{ \"c\" : 3 }","device_type":"x"}',
        head % "E5" + '"payload" : { "d" : 4 }}',
        json.dumps({**base, "event_id": "E6", "device_type": "payload", "payload": {"e": [5, 6]}}),
        json.dumps({**base, "event_id": "E7", "payload": "{not json"}),
        json.dumps({**base, "event_id": "E8", "payload": {"f": 7}}),
        head % "E9" + """"payload":'{ "g" : 8 }'}""",  # Spark's parser reads single-quoted strings
    ]
    put(tmp_path, "activity", "a.ndjson", "\n".join(lines) + "\n")
    # WHEN Job A cleans them
    run_clean(spark, str(tmp_path), D, datasets=("activity",))
    # THEN every clean payload is what get_json_object prints for the parsed value
    clean = rows(spark, str(tmp_path / zones.partition(zones.CLEAN, "activity", D)))
    expected = spark.createDataFrame([(payload,)], "p string").select(
        F.get_json_object("p", "$")).first()[0]
    assert {r["event_id"]: r["payload"] for r in clean} == {
        "E1": expected, "E2": '{"a":[1,2]}', "E3": '{"b":2}', "E4": '{"c":3}', "E5": '{"d":4}', "E6": '{"e":[5,6]}',
        "E8": '{"f":7}', "E9": '{"g":8}',
    }
    assert '"n":1.5' in expected and '"e":100.0' in expected  # the parser did rewrite the numbers
    # AND only the plain objects of lines without a backslash took the short cut past the
    # re-serialization (E1's escapes send it the long way, to the same value)
    fs = LakeFS(spark)
    files = fs.list_files(zones.archive_path(lake_uri(str(tmp_path)), "activity", D))
    records = read_records(spark, fs, files, get_contract("activity")).collect()
    assert sorted(r[FIELDS]["event_id"] for r in records if r[COMPACT_JSON]) == ["E5", "E6", "E8"]
    quarantined = rows(spark, str(tmp_path / zones.partition(zones.QUARANTINE, "activity", D)))
    assert [(r["event_id"], reasons_of(r)) for r in quarantined] == [("E7", ["payload:invalid_json"])]


def test_white_space_is_trimmed_the_same_whether_a_record_holds_only_spaces_or_other_white_space(
        spark, tmp_path: Path) -> None:
    # GIVEN values with spaces at their edges in records that hold no other white space (Job A's short
    # cut), and tabs, VT, FF and line breaks at the edges of others (NDJSON escapes, raw CSV bytes, a
    # quoted CSV value over two lines); a no-break space is text, never trimmed
    put(tmp_path, "customers", "a.ndjson", ndjson(
        {"customer_id": " A1 ", "first_name": "  Ada  ", "status": " active"},
        {"customer_id": "A2", "first_name": "\tAda\n", "last_name": "\u000bL\f", "status": "active\r"},
        {"customer_id": " A3 ", "first_name": "\u00a0Ada ", "last_name": "back\\slash "},
        {"customer_id": "A4", "first_name": " \t "},
    ))
    put(tmp_path, "customers", "b.csv",
        "customer_id,first_name,last_name,status\n"
        " B1 ,  Bo  , L ,active \n"
        "B2,\tBo\x0b,\fL\t, active\n"
        'B3,"\nBo\n", L ,active\n'
        "B4,\u00a0Bo, ,active\n")
    # WHEN Job A runs
    report = run_clean(spark, str(tmp_path), D, datasets=("customers",)).datasets["customers"]
    # THEN every value is trimmed of ASCII white space exactly, a blank one is null
    assert report.rows_quarantined == 0
    clean = rows(spark, str(tmp_path / zones.partition(zones.CLEAN, "customers", D)))
    assert [(r["customer_id"], r["first_name"], r["last_name"], r["status"]) for r in clean] == [
        ("A1", "Ada", None, "active"), ("A2", "Ada", "L", "active"), ("A3", "\u00a0Ada", "back\\slash", None),
        ("A4", None, None, None),
        ("B1", "Bo", "L", "active"), ("B2", "Bo", "L", "active"), ("B3", "Bo", "L", "active"),
        ("B4", "\u00a0Bo", None, "active"),
    ]


# --- two passes, one set of rules ----------------------------------------------------------------------
SHAPES = [
    {"event_id": "S1", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z"},
    {"eventId": "S2", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z"},
    {"event_id": "S3", "customer_id": 1.5, "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z"},
    {"event_id": "S4", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "device_type": {"os": "iOS"}},
    {"event_id": "S5", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "payload": "{\"a\": 1}"},
    {"event_id": "S6", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "payload": "text"},
    {"event_id": "S7", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "payload": {"note": "a \\ b"}, "ip_address": "1e5"},
    {"event_id": "S8", "customer_id": "C1", "event_type": "login", "event_timestamp": "soon", "extra": 1},
    {"event_id": "S9", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "network_type": "[4G]", "device_type": "{x"},
    {"event_id": "S10", "customer_id": None, "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z"},
    {"event_id": "S11", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05T01:00:00Z",
     "Event_ID": "S11b"},
]


def test_the_first_pass_and_the_second_give_what_every_rule_in_one_pass_gives(spark, tmp_path: Path) -> None:
    # GIVEN an activity day whose records take either pass: contract keys only, other spellings,
    # unknown keys, numbers and objects where text is due, payloads that are strings or need
    # re-printing, escapes, invalid values, a line that is not an object, plus the shared fixtures'
    put(tmp_path, "activity", "shapes.ndjson", ndjson(*SHAPES) + "[1, 2]\n" + ndjson(*SHAPES[:2]))
    put(tmp_path, "activity", "logs_a.ndjson", ndjson(*ACTIVITY_RECORDS))
    put(tmp_path, "activity", "logs_b.csv", ACTIVITY_CSV)
    contract = get_contract("activity")
    fs = LakeFS(spark)
    files = fs.list_files(zones.archive_path(lake_uri(str(tmp_path)), "activity", D))
    checked = clean_module.check_records(read_records(spark, fs, files, contract), contract)
    expected_clean = sorted(map(tuple, clean_module.clean_rows(checked, contract).collect()))
    expected_quarantine = sorted(map(str, clean_module.quarantine_rows(checked, contract).collect()))
    # WHEN Job A runs (first pass, then the second for the records the first left)
    report = run_clean(spark, str(tmp_path), D, datasets=("activity",)).datasets["activity"]
    # THEN clean and quarantine hold exactly what the full rules give each record in one pass
    clean_path, quarantine_path = (str(tmp_path / zones.partition(zone, "activity", D))
                                   for zone in (zones.CLEAN, zones.QUARANTINE))
    assert sorted(map(tuple, spark.read.parquet(clean_path).collect())) == expected_clean
    assert sorted(map(str, spark.read.parquet(quarantine_path).collect())) == expected_quarantine
    assert (report.rows_clean, report.rows_quarantined) == (len(expected_clean), len(expected_quarantine))
    assert report.columns_dropped == {"extra": 5}  # the CSV header's column (4 records) and S8's key
    # and the deferred valid records were added beside the first pass's file
    assert len(parquet_files(Path(clean_path))) == 2


# HotSpot never compiles a method of more than 8,000 bytes of bytecode (DontCompileHugeMethods): a
# generated step over it runs interpreted, several times slower.
HUGE_METHOD_BYTES = 8000


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_compiled_step_of_the_first_pass_is_small_enough_for_the_jit(spark, tmp_path: Path, dataset: str,
                                                                           fmt: str) -> None:
    # GIVEN a file of the dataset with every contract column
    contract = get_contract(dataset)
    record = {name: "1" for name in contract.column_names}
    content = ndjson(record) if fmt == "ndjson" else ",".join(record) + "\n" + ",".join(record.values()) + "\n"
    put(tmp_path, dataset, f"{dataset}.{fmt}", content)
    fs = LakeFS(spark)
    files = fs.list_files(zones.archive_path(lake_uri(str(tmp_path)), dataset, D))
    # WHEN Job A's first pass is planned (adaptive execution off: the whole plan at once)
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        checked = clean_module.check_first_pass(read_first_pass(spark, fs, files, contract), contract, Observation())
        plan = clean_module.first_pass_clean_rows(checked, contract, Observation())._jdf.queryExecution().executedPlan()
        stages = spark.sparkContext._jvm.org.apache.spark.sql.execution.debug.package.codegenStringSeq(plan)
        sizes = {}
        it = stages.iterator()
        while it.hasNext():
            stage = it.next()
            sizes[stage._1().strip().splitlines()[0][:60]] = stage._3().maxMethodCodeSize()
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", previous)
    # THEN every generated method stays under HotSpot's limit (a wider contract must split a step)
    assert len(sizes) >= 3
    assert max(sizes.values()) < HUGE_METHOD_BYTES, sizes


def test_a_csv_header_longer_than_the_first_read_is_read_whole(spark, tmp_path: Path) -> None:
    # GIVEN CSV files whose header records end after the first 64 KB: a long column name, and a
    # quoted name with a line break in it that crosses the 64 KB mark
    long_name = "x" * 70_000
    crossing = '"' + "y" * 65_530 + '\nz"'
    put(tmp_path, "customers", "a.csv", f"customer_id,{long_name}\nA1,1\n")
    put(tmp_path, "customers", "b.csv", f"customer_id,{crossing}\nB1,1\n")
    fs = LakeFS(spark)
    files = fs.list_files(zones.archive_path(lake_uri(str(tmp_path)), "customers", D))
    # WHEN their headers are read
    headers = [read_csv_header(fs, f) for f in files]
    # THEN each header is whole, with the physical lines it spans
    assert [(h.names, h.lines) for h in headers] == [
        (("customer_id", long_name), 1), (("customer_id", "y" * 65_530 + "\nz"), 2)]


# --- the quarantine pass reads only what it needs ------------------------------------------------------
def test_a_line_selection_reads_only_the_records_not_written(spark, lake) -> None:
    root, _ = lake
    fs = LakeFS(spark)
    contract = get_contract("activity")
    files = fs.list_files(zones.archive_path(lake_uri(str(root)), "activity", D))
    # WHEN the activity day is read again but for the CSV's records on lines 2, 4 and 8 and the
    # NDJSON's on line 2 (written already), so for the CSV's record on line 5 (stitched over three
    # physical lines) and the NDJSON's on lines 1 and 3
    written = spark.createDataFrame([("logs_b.csv", 2), ("logs_b.csv", 4), ("logs_b.csv", 8), ("logs_a.ndjson", 2)],
                                    "_source_file string, _line bigint")
    got = read_records(spark, fs, files, contract, only=LineSelection(written=written)).orderBy(
        "_source_file", "_line").collect()
    # THEN exactly those records come back (not the CSV header), the stitched one whole
    assert [(r["_source_file"], r["_line"], r[FIELDS]["event_id"]) for r in got] == [
        ("logs_a.ndjson", 1, "E1"), ("logs_a.ndjson", 3, "E3"), ("logs_b.csv", 5, "E3")]
    assert got[-1][FIELDS]["ip_address"] == "10.0.0.1"


def test_dropped_columns_are_counted_on_a_day_without_invalid_records(spark, tmp_path: Path) -> None:
    # GIVEN a valid NDJSON file where two of three records carry keys the contract does not know, and
    # a valid CSV whose header has an unknown column
    put(tmp_path, "customers", "a.ndjson", ndjson({"customer_id": "A1", "mystery": 1},
                                                 {"customer_id": "A2"}, {"customer_id": "A3", "Mystery": "x", "z": 0}))
    put(tmp_path, "customers", "b.csv", "customer_id,extra\nB1,1\nB2,2\n")
    # WHEN Job A runs
    report = run_clean(spark, str(tmp_path), D, datasets=("customers",)).datasets["customers"]
    # THEN every record is clean, and the report counts the records that had each dropped column
    assert (report.rows_read, report.rows_clean, report.rows_quarantined) == (5, 5, 0)
    assert report.columns_dropped == {"extra": 2, "mystery": 2, "z": 1}
    assert [(f.file, f.rows, f.unknown_columns) for f in report.files] == [
        ("a.ndjson", 3, ["mystery", "z"]), ("b.csv", 2, ["extra"])]


def test_an_archive_changed_during_the_run_fails_it_with_a_clear_error(spark, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a day with one invalid record, whose file is replaced (the record gone) after the clean
    # rows are written and before the second pass reads it again
    archived = put(tmp_path, "customers", "a.ndjson",
                   ndjson({"customer_id": "A1"}, {"customer_id": "A2", "status": "?"}))
    marker = clean_module.write_version_marker

    def then_replace(*args: Any) -> None:
        marker(*args)
        archived.write_text(ndjson({"customer_id": "A1"}))

    monkeypatch.setattr(clean_module, "write_version_marker", then_replace)
    # WHEN Job A runs THEN it stops and says why, instead of a report that does not add up
    with pytest.raises(RuntimeError, match="1 records were left to the second pass, 0 read again"):
        run_clean(spark, str(tmp_path), D, datasets=("customers",))


# --- splits, reruns, empty days -----------------------------------------------------------------------
def test_output_files_follow_the_input_size_and_the_cores() -> None:
    # GIVEN days of 1 KB, 12 MB, 20 MB, 120 MB and 1 GB of input
    mb = 1024 * 1024
    # WHEN a 2-core and a 40-core cluster size their clean files
    # THEN a tiny day is one file, a day worth splitting gets a file per core (8 MB each at least),
    # and a big day a file per 128 MB
    assert [output_files(n, cores=2) for n in (1024, 12 * mb, 20 * mb, 120 * mb, 1024 * mb)] == [1, 1, 2, 2, 8]
    assert [output_files(n, cores=40) for n in (1024, 12 * mb, 20 * mb, 120 * mb, 1024 * mb)] == [1, 1, 2, 15, 40]
    assert output_files(1024 * mb) == 8


def test_line_numbers_are_exact_across_many_input_splits(spark, tmp_path: Path) -> None:
    # GIVEN a 3000-line file (blank lines included) read in many small splits
    lines = []
    for n in range(1, 3001):
        record = {"event_id": f"E{n}", "customer_id": "C1", "event_type": "login", "event_timestamp": "2025-01-05"}
        lines.append("" if n % 500 == 0 else json.dumps(record | {"event_timestamp": "2025-01-05T00:00:00Z"}))
    put(tmp_path, "activity", "logs.ndjson", "\n".join(lines) + "\n")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16384")
    try:
        # WHEN Job A runs
        report = run_clean(spark, str(tmp_path), D, datasets=("activity",)).to_dict()
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    # THEN every record's _line is its physical line, and the output is one file, not one per split
    got = spark.read.parquet(zones.clean_path(lake_uri(str(tmp_path)), "activity", D)).select("event_id", "_line")
    assert got.filter(F.concat(F.lit("E"), F.col("_line").cast("string")) != F.col("event_id")).count() == 0
    assert got.count() == 3000 - 6 == report["datasets"]["activity"]["rows_clean"]
    assert len(parquet_files(tmp_path / zones.partition("clean", "activity", D))) == 1


def test_a_day_of_mostly_invalid_records_quarantines_each_once_with_its_line(spark, tmp_path: Path) -> None:
    # GIVEN a 2000-line file read in many small splits, whose records are invalid but every 7th
    lines = [json.dumps({"event_id": f"E{n}", "customer_id": "C1", "event_type": "login",
                         "event_timestamp": "2025-01-05T00:00:00Z" if n % 7 == 0 else "not a time"})
             for n in range(1, 2001)]
    put(tmp_path, "activity", "logs.ndjson", "\n".join(lines) + "\n")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16384")
    try:
        # WHEN Job A runs
        report = run_clean(spark, str(tmp_path), D, datasets=("activity",)).datasets["activity"]
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    # THEN the valid records are clean, and every other one is in quarantine once, with its own line
    clean = spark.read.parquet(zones.clean_path(lake_uri(str(tmp_path)), "activity", D))
    quarantined = spark.read.parquet(zones.quarantine_path(lake_uri(str(tmp_path)), "activity", D))
    assert sorted(r["_line"] for r in clean.select("_line").collect()) == list(range(7, 2001, 7))
    got = sorted((r["_line"], r["event_id"]) for r in quarantined.select("_line", "event_id").collect())
    assert got == [(n, f"E{n}") for n in range(1, 2001) if n % 7]
    assert (report.rows_read, report.rows_clean, report.rows_quarantined) == (2000, 285, 1715)


def test_rerun_replaces_only_its_date_and_an_empty_day_empties_the_partition(spark, tmp_path: Path) -> None:
    # GIVEN two days of customers, both cleaned
    put(tmp_path, "customers", "c.ndjson", ndjson({"customer_id": "A1"}, {"customer_id": "A2", "status": "x"}), D)
    put(tmp_path, "customers", "c.ndjson", ndjson({"customer_id": "B1"}), D2)
    run_clean(spark, str(tmp_path), D, datasets=("customers",))
    run_clean(spark, str(tmp_path), D2, datasets=("customers",))
    base = lake_uri(str(tmp_path))
    other = tmp_path / zones.partition("clean", "customers", D2)
    other_before = {p.name: p.stat().st_mtime_ns for p in other.iterdir()}
    clean, quarantine = zones.clean_path(base, "customers", D), zones.quarantine_path(base, "customers", D)
    first = (rows(spark, clean), rows(spark, quarantine))
    # WHEN D is rerun
    run_clean(spark, str(tmp_path), D, datasets=("customers",))
    # THEN D has the same rows and no leftover files, and D2 is untouched
    assert (rows(spark, clean), rows(spark, quarantine)) == first
    assert len(parquet_files(tmp_path / zones.partition("clean", "customers", D))) == 1
    assert {p.name: p.stat().st_mtime_ns for p in other.iterdir()} == other_before
    # WHEN D's archive folder is gone (a date with no files) and D rerun
    shutil.rmtree(tmp_path / zones.partition("archive", "customers", D))
    report = run_clean(spark, str(tmp_path), D, datasets=("customers",)).to_dict()
    # THEN D's partitions exist with the schema and no rows; D2 still has its row
    for path in (clean, quarantine):
        df = spark.read.parquet(path)
        assert df.count() == 0 and "customer_id" in df.columns
    assert report["datasets"]["customers"]["files_read"] == 0
    assert [r["customer_id"] for r in rows(spark, zones.clean_path(base, "customers"))] == ["B1"]


def test_real_extracts_clean_without_quarantine(spark, sample_dir: Path, tmp_path: Path) -> None:
    # GIVEN the real extracts archived for one day
    sources = {
        "customers": [sample_dir / "customers" / "customers.ndjson"],
        "plans": [sample_dir / "plans" / "plans.csv"],
        "activity": sorted(sample_dir.glob("activity_logs/year=2025/month=01/day=0[1-3]/*.ndjson")),
    }
    expected = {}
    for dataset, files in sources.items():
        assert files
        for f in files:
            put(tmp_path, dataset, f.name, f.read_bytes())
        header = 1 if dataset == "plans" else 0
        expected[dataset] = sum(sum(1 for line in f.open() if line.strip()) - header for f in files)
    # WHEN Job A runs
    report = run_clean(spark, str(tmp_path), D).to_dict()
    # THEN every record is clean, and each quarantine partition is an empty file of the quarantine schema
    for dataset, n in expected.items():
        assert spark.read.parquet(zones.clean_path(lake_uri(str(tmp_path)), dataset, D)).count() == n
        quarantined = spark.read.parquet(zones.quarantine_path(lake_uri(str(tmp_path)), dataset, D))
        assert quarantined.count() == 0
        assert [(f.name, f.dataType.simpleString()) for f in quarantined.schema] == [
            (f.name, f.dataType.simpleString()) for f in quarantine_schema(get_contract(dataset))]
        assert report["datasets"][dataset]["rows_quarantined"] == 0


def test_each_datasets_thread_has_local_properties_of_its_own(spark, tmp_path, monkeypatch):
    # GIVEN run_clean's datasets, each cleaned on a thread of its own (probed: which java.util.Properties
    # holds the thread's Spark local properties, where Spark sets each query's SQL settings)
    seen: dict[str, int] = {}
    identity = spark.sparkContext._jvm.java.lang.System.identityHashCode

    def probe(spark_, fs, root, dataset, day):
        seen[dataset] = identity(spark_.sparkContext._jsc.sc().getLocalProperties())
        return clean_module.DatasetCleanReport(dataset=dataset, contract_version="1", files_read=0, rows_read=0,
                                               rows_clean=0, rows_quarantined=0)

    monkeypatch.setattr(clean_module, "clean_dataset", probe)
    # WHEN Job A runs
    run_clean(spark, str(tmp_path), D)
    # THEN no two threads share one (a query ending on one would remove another's settings)
    assert set(seen) == set(DATASETS) and len(set(seen.values())) == len(DATASETS)
