"""The volume knobs (events per customer a day, files per day, full daily extracts, plan-change share,
customers format) and the invalid-string faults (docs/spec.md §2)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pytest

from telco360.contracts import get_contract
from telco360.generator import GenerationSummary, generate
from telco360.generator.cli import register
from telco360.generator.faults import RECORD_FAULTS, STRING_FAULT_REASONS, STRING_FAULTS
from telco360.reports import ReasonCode

from .helpers import read_records, read_text
from .test_generate import tree_digest

CUSTOMERS, DAYS = 2_000, 3


@pytest.fixture(scope="module")
def busy_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    """A busy feed: 5 events per customer a day in 4 files, full CSV extracts, 2 % plan changes."""
    out = tmp_path_factory.mktemp("busy")
    return out, generate(out, customers=CUSTOMERS, days=DAYS, seed=11, events_per_customer_day=5.0,
                         activity_files=4, full_extracts=True, customers_format="csv", plan_change_share=0.02)


def _by_day(summary: GenerationSummary, prefix: str) -> dict[str, list[str]]:
    days: dict[str, list[str]] = {}
    for path, day in sorted(summary.arrivals.items()):
        if path.startswith(prefix):
            days.setdefault(day, []).append(path)
    return days


def test_events_per_customer_day_sets_the_volume_and_activity_files_splits_each_day(
        busy_lake: tuple[Path, GenerationSummary]) -> None:
    # GIVEN a lake generated with 5 events per customer a day in 4 files
    out, summary = busy_lake
    activity = _by_day(summary, "raw/activity_logs/")
    # THEN every day has 4 files of about the same size, named _01.._04
    assert len(activity) == DAYS
    for files in activity.values():
        assert [Path(f).name[-10:] for f in files] == [f"_0{i}.ndjson" for i in range(1, 5)]
    # AND about 10,000 events a day (Poisson, 4 sigma), every one with a new event id
    per_day = {day: sum(len(read_records(out / f)) for f in files) for day, files in activity.items()}
    assert all(abs(n - 5 * CUSTOMERS) <= 4 * (5 * CUSTOMERS) ** 0.5 for n in per_day.values()), per_day
    ids = [r["event_id"] for files in activity.values() for f in files for r in read_records(out / f)]
    assert len(ids) == len(set(ids)) == summary.rows["activity"]


def test_plan_change_share_replaces_the_real_mix(busy_lake: tuple[Path, GenerationSummary]) -> None:
    out, summary = busy_lake
    types = Counter(r["event_type"] for p in summary.arrivals if p.startswith("raw/activity_logs/")
                    for r in read_records(out / p))
    share = types["plan_changed"] / sum(types.values())
    assert 0.017 < share < 0.023, share
    # the other types keep their real order of frequency
    assert types["login"] > types["data_session"] > types["network_drop"]


def test_full_extracts_send_every_customer_and_plan_every_day_with_the_day_s_changes(
        busy_lake: tuple[Path, GenerationSummary]) -> None:
    # GIVEN full daily extracts written as CSV
    out, summary = busy_lake
    extracts = _by_day(summary, "raw/customers/")
    assert list(extracts) == ["2025-01-01", "2025-01-02", "2025-01-03"]
    previous: dict[str, dict[str, object]] | None = None
    for day, (path,) in extracts.items():
        assert path.endswith(".csv"), path
        rows = {str(r["customer_id"]): r for r in read_records(out / path)}
        # THEN each holds every customer once, with the contract's columns
        assert len(rows) == CUSTOMERS, day
        assert tuple(next(iter(rows.values()))) == get_contract("customers").column_names
        if previous is not None:
            # AND only a few customers changed since the day before (plan changes, status changes)
            changed = [c for c in rows if rows[c] != previous[c]]
            assert 0 < len(changed) < 0.2 * CUSTOMERS, (day, len(changed))
            assert {k for c in changed for k in rows[c] if rows[c][k] != previous[c][k]} <= {"plan_id", "status"}
        previous = rows
    assert summary.rows["customers"] == DAYS * CUSTOMERS
    # AND the whole plans catalogue arrives every day too
    plans = _by_day(summary, "raw/plans/")
    assert list(plans) == list(extracts)
    assert all(len(read_records(out / f)) == 20 for (f,) in plans.values())
    assert summary.faults == []


def test_the_knobs_are_deterministic_and_the_defaults_leave_the_feed_unchanged(tmp_path: Path) -> None:
    # GIVEN the same knobs twice, and the defaults spelled out against no knobs at all
    knobs = {"events_per_customer_day": 1.5, "activity_files": 3, "full_extracts": True, "plan_change_share": 0.1}
    generate(tmp_path / "a", customers=200, days=3, seed=5, faults=True, **knobs)
    generate(tmp_path / "b", customers=200, days=3, seed=5, faults=True, **knobs)
    generate(tmp_path / "c", customers=200, days=3, seed=5)
    generate(tmp_path / "d", customers=200, days=3, seed=5, events_per_customer_day=0.0274, activity_files=1,
             full_extracts=False, customers_format="ndjson", plan_change_share=None)
    # THEN both pairs are byte-identical
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert tree_digest(tmp_path / "c") == tree_digest(tmp_path / "d")


@pytest.mark.parametrize("knobs", [{"activity_files": 0}, {"events_per_customer_day": -1.0},
                                   {"plan_change_share": 1.0}, {"customers_format": "xml"}])
def test_bad_knobs_are_refused(tmp_path: Path, knobs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, customers=10, days=1, **knobs)  # type: ignore[arg-type]


def test_faults_hold_json_values_that_are_not_strings_in_string_columns(
        faulty_lake: tuple[Path, GenerationSummary]) -> None:
    # GIVEN a faulty lake
    out, summary = faulty_lake
    by_kind = {f["kind"]: f for f in summary.faults}
    for kind, (column, value) in STRING_FAULTS.items():
        # THEN each string fault is recorded against a file holding a record with that JSON value
        fault = by_kind[kind]
        assert fault["level"] == ("record" if kind in RECORD_FAULTS else "feed"), kind
        values = [r.get(column) for r in read_records(out / fault["path"])]
        assert value in values, kind
        assert type(value) in {type(v) for v in values if v == value}
    # AND the quarantine reason each invalid one must get is <column>:invalid_string
    assert STRING_FAULT_REASONS == {
        "string_as_fraction": "device_type:invalid_string", "string_as_exponent": "ip_address:invalid_string",
        "string_as_object": "device_type:invalid_string", "string_as_array": "network_type:invalid_string",
    }
    assert all(r.endswith(f":{ReasonCode.INVALID_STRING.value}") for r in STRING_FAULT_REASONS.values())
    # AND the exponent is written as a JSON number, not as text
    text = read_text(out / by_kind["string_as_exponent"]["path"])
    assert '"ip_address": 1e-07' in text


def test_split_days_keep_each_fault_in_the_file_that_holds_it(tmp_path: Path) -> None:
    # GIVEN faults with each day's activity in 5 files
    summary = generate(tmp_path, customers=1_000, days=3, seed=2, faults=True, events_per_customer_day=2.0,
                       activity_files=5)
    record_faults = [f for f in summary.faults if f["kind"] in STRING_FAULTS or f["kind"].startswith("missing")]
    assert record_faults
    for fault in record_faults:
        records = read_records(tmp_path / fault["path"])
        if fault["kind"] == "missing_event_id":
            assert any("event_id" not in r for r in records)
        elif fault["kind"] == "missing_customer_id":
            assert any(r["customer_id"] is None for r in records)
    # AND a same-file duplicate really is in one file twice
    (dup,) = [f for f in summary.faults if f["kind"] == "duplicate_event_same_file"]
    assert Counter(r.get("event_id") for r in read_records(tmp_path / dup["path"])).most_common(1)[0][1] == 2


def test_cli_passes_the_knobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["generate", "--out", str(tmp_path), "--customers", "50", "--days", "2",
                              "--events-per-customer-day", "4", "--activity-files", "2", "--full-extracts",
                              "--customers-format", "csv", "--plan-change-share", "0.05"])
    assert args.func(args) == 0
    assert "customers: 2 files, 100 records" in capsys.readouterr().out
    arrivals = json.loads((tmp_path / "arrivals.json").read_text())
    assert "raw/activity_logs/year=2025/month=01/day=02/logs_20250102_02.ndjson" in arrivals
    assert "raw/customers/customers_20250102.csv" in arrivals
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--out", str(tmp_path), "--plan-change-share", "1.5"])
