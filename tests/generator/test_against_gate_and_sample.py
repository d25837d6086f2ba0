"""Generated files against the two references: the validation gate and the real sample extracts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from telco360.generator import GenerationSummary
from telco360.generator.cli import register

from .helpers import file_fault_paths, read_records

# A slice of the real sample extracts, vendored with its origin (tests/data/README.md).
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "telco-sample"

# One shape per customers column, written from the real extract's values (checked below on it).
CUSTOMER_SHAPES = {
    "customer_id": r"C\d{6}",
    "first_name": r"[A-Z][a-z]+",
    "last_name": r"[A-Z][a-z]+",
    "email": r"[a-z]+\.[a-z]+\d+@example\.com",
    "phone": r"\+234[789]\d{9}|\+[1-9]\d{10,11}",
    "gender": r"[FM]",
    "date_of_birth": r"(19[5-9]\d|200[0-3])-\d{2}-\d{2}",
    "address": r"\d{1,3} [A-Z][A-Za-z ]+",
    "state": r"[A-Z][A-Za-z ]+",
    "country": r"[A-Z][A-Za-z ]+",
    "registration_date": r"20(1[89]|2\d)-\d{2}-\d{2}T00:00:00Z",
    "registration_channel": r"call_center|mobile_app|partner_onboarding|web",
    "plan_id": r"P\d{3}",
    "status": r"active|suspended|cancelled",
}
PLAN_SHAPES = {
    "plan_id": r"P\d{3}",
    "plan_name": r"(Basic|Premium|Ultra|Business) Plan \d+",
    "monthly_price": r"\d{4,5}\.\d{2}",
    "data_allowance_gb": r"1|2|5|10|20|50|100|200",
    "voice_minutes": r"100|300|500|2000",
    "sms_allowance": r"50|100|500|1000",
    "roaming_enabled": r"[YN]",
    "validity_days": r"30|90|180|365",
    "plan_category": r"Basic|Premium|Ultra|Business",
}


def _assert_shapes(records: list[dict[str, object]], shapes: dict[str, str], where: str) -> None:
    for r in records:
        for column, shape in shapes.items():
            assert re.fullmatch(shape, str(r[column])), (where, column, r[column])


def test_the_shapes_hold_on_the_real_extracts() -> None:
    # GIVEN the real sample: the shapes the generator is tested against are the real ones
    _assert_shapes(read_records(SAMPLE / "customers/customers.ndjson"), CUSTOMER_SHAPES, "sample")
    _assert_shapes(read_records(SAMPLE / "plans/plans.csv"), PLAN_SHAPES, "sample")


def test_generated_master_data_has_the_real_shapes(clean_lake: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean_lake
    customers = read_records(out / "raw/customers/customers_20250101.ndjson")
    _assert_shapes(customers, CUSTOMER_SHAPES, "generated")
    _assert_shapes(read_records(out / "raw/plans/plans_20250101.csv"), PLAN_SHAPES, "generated")
    # emails are the customer's names and number, as in the real extract
    for r in customers:
        number = int(r["customer_id"][1:])
        assert r["email"] == f"{r['first_name'].lower()}.{r['last_name'].lower()}{number}@example.com"


def test_the_gate_accepts_every_feed_file_and_rejects_each_bad_file_for_its_reason(
        faulty_lake: tuple[Path, GenerationSummary]) -> None:
    from telco360.gate import core
    # GIVEN a faulty lake and the reason each bad file was written for
    out, summary = faulty_lake
    expected = {f["path"]: f["reason"] for f in summary.faults if f["level"] == "file"}
    assert set(expected) == file_fault_paths(summary)
    for rel in summary.arrivals:
        # WHEN the gate validates the file as it would the S3 key raw/...
        with (out / rel).open("rb") as stream:
            verdict = core.validate_stream(stream, rel)
        # THEN feed files (record-level faults included) pass and bad files fail with their reason
        if rel in expected:
            assert not verdict.valid and verdict.reason.value == expected[rel], (rel, verdict)
        else:
            assert verdict.valid, (rel, verdict)
            assert verdict.rows == len(read_records(out / rel))


def test_cli_generates_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["generate", "--out", str(tmp_path), "--customers", "40", "--days", "2",
                              "--start-date", "2025-03-01", "--seed", "9"])
    assert args.func(args) == 0
    assert "customers: 1 files, 40 records" in capsys.readouterr().out
    arrivals = json.loads((tmp_path / "arrivals.json").read_text())
    assert arrivals["raw/activity_logs/year=2025/month=03/day=02/logs_20250302.ndjson"] == "2025-03-02"


def test_cli_rejects_a_bad_start_date(tmp_path: Path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--out", str(tmp_path), "--start-date", "2025-02-30"])
