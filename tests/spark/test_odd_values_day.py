"""A day of the values that used to stop Job A, run end to end as a user runs it (``telco360 run``):
gate, Job A and Job B all succeed; each odd record is in clean or in quarantine, and the run report
counts them (docs/spec.md §2)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from telco360 import zones
from telco360.local.runner import run_pipeline

D = "2025-01-05"
CUSTOMERS = [
    # legacy-CRM sentinels and ancient values: valid, stored exactly
    {"customer_id": "C1", "date_of_birth": "0001-01-01", "registration_date": "1899-12-31T23:59:59Z",
     "status": "active"},
    {"customer_id": "C2", "date_of_birth": "1582-10-04", "registration_date": "1900-01-01T00:00:00Z"},
    {"customer_id": "C3", "first_name": "\u00a0Ada\u00a0", "last_name": "Nul\u0000Byte", "phone": 2348012345678},
    {"customer_id": "C4", "email": "x" * 200_000, "state": True},
    # not text in a string column: quarantined, never stored as '{"a":1}' or '1.0E-7'
    {"customer_id": "C5", "email": {"a": 1}},
    {"customer_id": "C6", "email": [1, 2]},
    {"customer_id": "C7", "phone": 1e-07},
    # values that do not cast
    {"customer_id": "C8", "registration_date": "2025-01-01T24:00:00Z"},
    {"customer_id": "C9", "registration_date": "2025-01-01T10:00:00+0530", "date_of_birth": "2025-02-29"},
]
# A CSV with a lone CR ending its lines and a CR inside a quoted value.
PLANS_CSV = (
    "plan_id,plan_name,monthly_price,data_allowance_gb,voice_minutes\r"
    'P1,"Night\rOwl",1e400,12.0,9223372036854775808\r'
    "P2,Basic,-0.0,5,+7\r"
    "P3,Max,9999999999.995,\u0663,5\r"
)
ACTIVITY = [
    {"event_id": "E1", "customer_id": "C1", "event_type": "login", "event_timestamp": "0001-01-01T00:00:00Z",
     "payload": {"deep": {"er": [1, 2, {"x": "y"}]}}},
    {"event_id": "E2", "customer_id": "C2", "event_type": "topup", "event_timestamp": "2025-01-05T10:00:00.1234567Z",
     "payload": {}},
    {"event_id": 3, "customer_id": "C3", "event_type": "login", "event_timestamp": "2025-01-05T10:00:00Z"},
    {"event_id": "E4", "customer_id": "C4", "event_type": "login", "event_timestamp": "2025-01-05T10:00:00Z",
     "payload": '{"a":' * 2000 + "1" + "}" * 2000},
]


def _write(lake: Path, key: str, data: bytes) -> None:
    path = lake / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_a_day_of_odd_values_runs_end_to_end_and_the_report_counts_them(spark: Any, tmp_path: Path) -> None:
    # GIVEN raw files full of odd values, as producers send them
    lake = tmp_path / "lake"
    _write(lake, "raw/customers/customers.ndjson", "".join(json.dumps(r) + "\n" for r in CUSTOMERS).encode())
    _write(lake, "raw/plans/plans.csv", b"\xef\xbb\xbf" + PLANS_CSV.encode())
    _write(lake, "raw/activity/logs.ndjson.gz",
           gzip.compress("".join(json.dumps(r) + "\r\n" for r in ACTIVITY).encode(), mtime=0))
    # WHEN the whole pipeline runs for the day
    result = run_pipeline(lake, D, spark=spark)
    # THEN every step succeeds, and every record is clean or quarantined, counted in the report
    assert result.ok, result.failed_step
    assert result.gate is not None and len(result.gate.accepted) == 3
    report = result.clean
    assert report is not None
    counts = {ds: (d.rows_clean, d.rows_quarantined) for ds, d in report.datasets.items()}
    assert counts == {"customers": (4, 5), "plans": (1, 2), "activity": (2, 2)}
    assert report.datasets["customers"].quarantine_reasons == {
        "email:invalid_string": 2, "phone:invalid_string": 1, "registration_date:invalid_timestamp": 2,
        "date_of_birth:invalid_date": 1,
    }
    assert report.datasets["plans"].quarantine_reasons == {
        "data_allowance_gb:invalid_int": 2, "monthly_price:invalid_decimal": 2, "voice_minutes:invalid_int": 1,
    }
    assert report.datasets["activity"].quarantine_reasons == {
        "event_timestamp:invalid_timestamp": 1, "payload:invalid_json": 1,
    }
    # AND the clean values are stored exactly, readable back by Spark
    root = str(lake.resolve())
    customers = {r["customer_id"]: r for r in spark.read.parquet(zones.clean_path(root, "customers", D))
                 .selectExpr("customer_id", "cast(date_of_birth as string) dob",
                             "cast(registration_date as string) reg", "first_name", "last_name", "phone", "state",
                             "length(email) email_length").collect()}
    assert (customers["C1"]["dob"], customers["C1"]["reg"]) == ("0001-01-01", "1899-12-31 23:59:59")
    assert customers["C2"]["dob"] == "1582-10-04"
    assert (customers["C3"]["first_name"], customers["C3"]["last_name"]) == ("\u00a0Ada\u00a0", "Nul\u0000Byte")
    assert customers["C3"]["phone"] == "2348012345678" and customers["C4"]["state"] == "true"
    assert customers["C4"]["email_length"] == 200_000
    plans = spark.read.parquet(zones.clean_path(root, "plans", D)).collect()
    assert [(p["plan_id"], str(p["monthly_price"]), p["voice_minutes"]) for p in plans] == [("P2", "0.00", 7)]
    # AND the snapshot was built over the odd day
    assert result.stage is not None
