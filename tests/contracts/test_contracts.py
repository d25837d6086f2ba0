"""The contracts as code: loading, name normalization, dataset detection, formats and zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from telco360 import runs, zones
from telco360.contracts import (
    DATASETS,
    ContractError,
    detect_dataset_from_columns,
    detect_dataset_from_key,
    get_contract,
    load_contract_text,
    load_contracts,
    normalize_name,
)
from telco360.formats import file_kind

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw", ["Customer ID", "customerId", "CUSTOMER_ID", "customer-id", "CustomerId",
                                 " customer_id ", "\ufeffcustomer_id", "customer__id", "Customer.Id"])
def test_every_spelling_of_a_column_normalizes_to_the_contract_name(raw: str) -> None:
    assert normalize_name(raw) == "customer_id"


@pytest.mark.parametrize(("raw", "expected"), [
    ("PlanID", "plan_id"), ("HTTPStatusCode", "http_status_code"), ("dataAllowanceGB", "data_allowance_gb"),
    ("ipV4Address", "ip_v4_address"), ("monthly price (NGN)", "monthly_price_ngn"), ("__x__", "x"), ("", ""),
])
def test_normalization_splits_words_and_collapses_separators(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_the_contracts_match_the_documented_data_contract() -> None:
    # GIVEN the three packaged ODCS contracts WHEN loaded THEN keys, required columns and types are
    # those of docs/spec.md §2
    contracts = load_contracts()
    assert tuple(contracts) == DATASETS
    assert contracts["customers"].business_key == ("customer_id",)
    assert contracts["plans"].business_key == ("plan_id",)
    assert contracts["activity"].business_key == ("event_id",)
    assert contracts["activity"].required_columns == ("event_id", "customer_id", "event_type", "event_timestamp")
    assert contracts["customers"].column("status").allowed_values == ("active", "suspended", "cancelled")
    assert contracts["plans"].column("monthly_price").type_label == "decimal(12,2)"
    assert contracts["customers"].column("registration_date").type == "timestamp"
    assert contracts["customers"].column("date_of_birth").type == "date"
    assert contracts["activity"].column("payload").type == "json"
    assert contracts["activity"].column("event_type").lowercase
    assert contracts["plans"].column("roaming_enabled").type == "boolean"
    assert contracts["plans"].column("validity_days").type == "int"


def test_a_raw_name_maps_to_its_contract_column_and_unknown_names_to_none() -> None:
    plans = get_contract("plans")
    assert plans.canonical("Monthly Price") == "monthly_price"
    assert plans.canonical("discount") is None


def test_a_contract_with_an_unsupported_type_is_refused_with_its_location() -> None:
    text = (REPO / "src/telco360/contracts/plans.odcs.yaml").read_text().replace("decimal(12,2)", "money")
    with pytest.raises(ContractError, match=r"plans\.monthly_price"):
        load_contract_text(text)


def test_a_contract_without_business_key_is_refused() -> None:
    text = (REPO / "src/telco360/contracts/plans.odcs.yaml").read_text().replace("primaryKey: true", "")
    with pytest.raises(ContractError, match="primaryKey"):
        load_contract_text(text)


def test_an_override_folder_takes_precedence_over_the_packaged_contracts(tmp_path, monkeypatch) -> None:
    # GIVEN a folder with a changed plans contract
    text = (REPO / "src/telco360/contracts/plans.odcs.yaml").read_text().replace("version: 1.0.0", "version: 1.1.0")
    (tmp_path / "plans.odcs.yaml").write_text(text)
    monkeypatch.setenv("TELCO360_CONTRACTS_DIR", str(tmp_path))
    load_contracts.cache_clear()
    try:
        # WHEN the contracts are loaded THEN plans comes from the folder, the others from the package
        assert get_contract("plans").version == "1.1.0"
        assert get_contract("customers").version == "1.0.0"
    finally:
        monkeypatch.delenv("TELCO360_CONTRACTS_DIR")
        load_contracts.cache_clear()


@pytest.mark.parametrize(("key", "dataset"), [
    ("raw/customers/2025/01/customers.ndjson", "customers"),
    ("raw/activity_logs/year=2025/month=01/day=01/logs_20250101.ndjson", "activity"),
    ("raw/plans/plans.csv", "plans"),
    ("raw/customers_20250101.csv.gz", "customers"),
    ("raw/logs_20250101.ndjson", "activity"),
    ("raw/Plans/PLANS.CSV", "plans"),
    ("raw/unknown/things.csv", None),
    ("raw/things.csv", None),
])
def test_the_dataset_is_detected_from_a_folder_or_the_file_name(key: str, dataset: str | None) -> None:
    assert detect_dataset_from_key(key) == dataset


def test_the_dataset_is_detected_from_columns_when_the_name_says_nothing() -> None:
    assert detect_dataset_from_columns(["customerId", "First Name"]) == "customers"
    assert detect_dataset_from_columns(["event_id", "customer_id", "event_type", "event_timestamp"]) == "activity"
    assert detect_dataset_from_columns(["plan_id", "plan_name"]) == "plans"
    assert detect_dataset_from_columns(["foo", "bar"]) is None


@pytest.mark.parametrize(("name", "fmt", "gz", "ext"), [
    ("a.csv", "csv", False, ".csv"), ("a.CSV.GZ", "csv", True, ".CSV.GZ"),
    ("logs.ndjson.gz", "ndjson", True, ".ndjson.gz"), ("x.jsonl", "ndjson", False, ".jsonl"),
    ("x.json", "ndjson", False, ".json"), ("x.parquet", None, False, ".parquet"),
    ("x.gz", None, True, ".gz"), ("README", None, False, ""),
])
def test_the_extension_says_the_format_and_compression(name: str, fmt: str | None, gz: bool, ext: str) -> None:
    kind = file_kind(name)
    assert (kind.format, kind.gzipped, kind.extension) == (fmt, gz, ext)


def test_a_second_arrival_gets_a_name_that_sorts_after_the_first() -> None:
    first = "logs_20250101.ndjson.gz"
    second = zones.unique_file_name(first, "101500123-0055AED6DCD90281E5")
    assert second == "logs_20250101__101500123-0055AED6DCD90281E5.ndjson.gz"
    assert sorted([second, first]) == [first, second]


def test_zone_keys_follow_the_contract_layout() -> None:
    assert zones.archive_key("activity", "2025-01-01", "l.ndjson") == "archive/activity/ingest_date=2025-01-01/l.ndjson"
    assert zones.rejected_key(None, "2025-01-01", "x.bin") == "rejected/unknown/ingest_date=2025-01-01/x.bin"
    assert zones.reason_key("rejected/a/b.csv") == "rejected/a/b.csv.reason.json"
    assert zones.clean_path("s3://b/", "plans", "2025-01-02") == "s3://b/clean/plans/ingest_date=2025-01-02"
    assert zones.staging_path("/lake", "customer_360", "2025-01-02") == \
        "/lake/staging/customer_360/snapshot_date=2025-01-02"


def test_the_ingest_date_is_the_utc_date_of_arrival() -> None:
    lagos_late = datetime(2025, 1, 2, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert zones.ingest_date_of(lagos_late) == "2025-01-01"
    assert zones.ingest_date_of(datetime(2025, 1, 2, 0, 30, tzinfo=UTC)) == "2025-01-02"


@pytest.mark.parametrize("bad", ["2025-1-01", "2025-02-30", "yesterday", ""])
def test_a_malformed_run_date_is_refused_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match="run date"):
        runs.parse_run_date(bad)
