"""The ops commands' inputs, stack lookup and key rules, checked before anything reaches AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

from telco360.ops.executions import backfill_input, dates_of, execution_name, run_input
from telco360.ops.lake import LakeError, raw_key_for
from telco360.ops.stack import StackError, find_samconfig, read_deployment

SAMCONFIG = """version = 0.1
[default.deploy.parameters]
stack_name = "telco360-dev"
region = "eu-west-1"

[prod.deploy.parameters]
stack_name = "telco360-prod"

[prod.global.parameters]
region = "eu-central-1"
"""


def test_run_input_is_the_state_machine_rerun_shape() -> None:
    assert run_input("2025-01-02") == {"run_date": "2025-01-02"}
    assert run_input("2025-01-02", "stage") == {"run_date": "2025-01-02", "from_step": "stage"}


@pytest.mark.parametrize(("value", "message"), [("2025-1-2", "YYYY-MM-DD"), ("2025-02-30", "calendar"),
                                                ("", "YYYY-MM-DD"), ("1999-12-31", "2000-2099")])
def test_run_input_refuses_a_malformed_date(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_input(value)


def test_run_input_refuses_an_unknown_step() -> None:
    with pytest.raises(ValueError, match="from_step"):
        run_input("2025-01-02", "validate")


def test_backfill_input_is_one_range_and_refuses_a_reversed_one() -> None:
    assert backfill_input("2025-01-01", "2025-01-03", "clean") == {
        "from_date": "2025-01-01", "to_date": "2025-01-03", "from_step": "clean"}
    assert backfill_input("2025-01-01", "2025-01-01") == {"from_date": "2025-01-01", "to_date": "2025-01-01"}
    with pytest.raises(ValueError, match="reversed"):
        backfill_input("2025-01-03", "2025-01-01")
    with pytest.raises(ValueError, match="at most"):
        backfill_input("2024-01-01", "2025-06-01")


def test_execution_names_are_readable_unique_and_valid_for_step_functions() -> None:
    first = execution_name({"run_date": "2025-01-02", "from_step": "clean"})
    second = execution_name({"run_date": "2025-01-02", "from_step": "clean"})
    assert first.startswith("run-2025-01-02-clean-") and first != second
    backfill = execution_name({"from_date": "2025-01-01", "to_date": "2025-01-09"})
    assert backfill.startswith("backfill-2025-01-01-to-2025-01-09-")
    assert all(len(n) <= 80 and n.replace("-", "").isalnum() for n in (first, backfill))


def test_dates_of_an_execution_input() -> None:
    assert dates_of({"run_date": "2025-01-02"}) == "2025-01-02"
    assert dates_of({"from_date": "2025-01-01", "to_date": "2025-01-03"}) == "2025-01-01..2025-01-03"
    assert dates_of({}) == "(scheduled)"


def test_stack_name_and_region_come_from_the_chosen_samconfig_environment(tmp_path: Path) -> None:
    # GIVEN a samconfig.toml with a default and a prod environment
    config = tmp_path / "samconfig.toml"
    config.write_text(SAMCONFIG)

    # THEN each environment names its own stack, and prod's region comes from its global section
    default = read_deployment(config)
    prod = read_deployment(config, "prod")
    assert (default.stack_name, default.region) == ("telco360-dev", "eu-west-1")
    assert (prod.stack_name, prod.region) == ("telco360-prod", "eu-central-1")
    with pytest.raises(StackError, match=r"no \[staging\] environment"):
        read_deployment(config, "staging")


def test_samconfig_is_found_in_a_parent_folder(tmp_path: Path) -> None:
    (tmp_path / "samconfig.toml").write_text(SAMCONFIG)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_samconfig(nested) == tmp_path / "samconfig.toml"


def test_the_repository_samconfig_names_a_stack_for_each_environment() -> None:
    config = Path(__file__).resolve().parents[2] / "samconfig.toml"
    assert read_deployment(config).stack_name
    assert read_deployment(config, "prod").stack_name != read_deployment(config).stack_name


def test_a_rejected_file_goes_back_to_its_dataset_folder_in_raw() -> None:
    assert raw_key_for("rejected/plans/ingest_date=2025-01-02/plans.csv") == "raw/plans/plans.csv"
    assert raw_key_for("rejected/unknown/ingest_date=2025-01-02/x.csv") == "raw/x.csv"


@pytest.mark.parametrize("key", ["archive/plans/ingest_date=2025-01-02/plans.csv",
                                 "rejected/plans/plans.csv",
                                 "rejected/plans/ingest_date=2025-01-02/plans.csv.reason.json"])
def test_only_a_rejected_data_file_can_be_replayed(key: str) -> None:
    with pytest.raises(LakeError):
        raw_key_for(key)
