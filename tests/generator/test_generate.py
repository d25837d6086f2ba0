"""The generator writes the producers' layout, volumes and shapes, deterministically."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from telco360.contracts import get_contract, normalize_name
from telco360.generator import GenerationSummary, generate
from telco360.generator.activity import EVENT_TYPES

from .conftest import START
from .helpers import file_fault_paths, read_records, read_text

PAYLOAD_KEYS = {
    "login": set(), "logout": set(), "app_open": {"screen"}, "app_click": {"element"}, "data_session": {"mb_used"},
    "call_started": {"call_id", "duration_seconds"}, "call_ended": {"call_id", "duration_seconds"},
    "sms_sent": {"sms_id", "length"}, "topup": {"amount"}, "balance_check": {"balance"},
    "purchase_addon": {"addon", "price"}, "network_drop": {"reason"}, "plan_changed": {"old_plan_id", "new_plan_id"},
}


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def activity_files(out: Path, summary: GenerationSummary) -> list[Path]:
    bad = file_fault_paths(summary)
    return sorted(out / p for p in summary.arrivals if p.startswith("raw/activity_logs/") and p not in bad)


def test_same_arguments_give_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    # GIVEN two runs with the same arguments (faults on, so every code path runs) and one with another seed
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        generate(tmp_path / name, customers=300, days=3, seed=seed, faults=True)
    # THEN the first two trees are byte-identical, and the third differs
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert tree_digest(tmp_path / "a") != tree_digest(tmp_path / "c")


def test_clean_run_writes_the_producers_layout_and_arrival_dates(clean_lake: tuple[Path, GenerationSummary]) -> None:
    # GIVEN a clean 3-day lake
    out, summary = clean_lake
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"arrivals.json"}
    # THEN it holds exactly the first-day extracts and one activity file a day
    assert written == {
        "raw/customers/customers_20250101.ndjson",
        "raw/plans/plans_20250101.csv",
        *(f"raw/activity_logs/year=2025/month=01/day=0{d}/logs_2025010{d}.ndjson" for d in (1, 2, 3)),
    }
    # AND arrivals.json gives each file the day it belongs to
    arrivals = __import__("json").loads((out / "arrivals.json").read_text())
    assert arrivals == summary.arrivals
    assert {p: a for p, a in arrivals.items() if "activity" in p} == {
        f"raw/activity_logs/year=2025/month=01/day=0{d}/logs_2025010{d}.ndjson": f"2025-01-0{d}" for d in (1, 2, 3)}
    assert arrivals["raw/customers/customers_20250101.ndjson"] == "2025-01-01"
    assert summary.faults == []
    assert summary.files == {"activity": 3, "customers": 1, "plans": 1}


def test_faulty_run_records_an_arrival_for_every_file(faulty_lake: tuple[Path, GenerationSummary]) -> None:
    out, summary = faulty_lake
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"arrivals.json"}
    assert set(summary.arrivals) == written
    assert {f["path"] for f in summary.faults} <= written
    # faults are spread over the later days, not piled on one
    assert set(summary.arrivals.values()) == {"2025-01-01", "2025-01-02", "2025-01-03"}
    assert len({summary.arrivals[p] for p in file_fault_paths(summary)}) == 2


def test_clean_files_have_exactly_the_contract_columns(clean_lake: tuple[Path, GenerationSummary]) -> None:
    out, summary = clean_lake
    for rel in summary.arrivals:
        dataset = rel.split("/")[1].replace("activity_logs", "activity")
        records = read_records(out / rel)
        assert records, rel
        assert {tuple(r) for r in records} == {get_contract(dataset).column_names}, rel
    assert summary.rows["customers"] == 500
    assert summary.rows["plans"] == 20


def test_about_274_events_a_day_per_10000_customers_with_every_type(tmp_path: Path) -> None:
    # GIVEN 10,000 customers over 4 days
    summary = generate(tmp_path, customers=10_000, days=4, seed=3)
    events = [(p, r) for p in activity_files(tmp_path, summary) for r in read_records(p)]
    per_day = Counter(p.name for p, _ in events)
    # THEN each day has a Poisson-like volume around 274 (4 sigma band) and the real type mix
    assert all(274 - 66 <= n <= 274 + 66 for n in per_day.values()), per_day
    assert len(per_day) == 4
    types = Counter(r["event_type"] for _, r in events)
    assert set(types) == set(EVENT_TYPES)
    assert types["login"] > types["plan_changed"]


def test_events_have_real_shapes_and_type_specific_payloads(tmp_path: Path) -> None:
    summary = generate(tmp_path, customers=5_000, days=4, seed=5)
    seen: set[str] = set()
    customer_ids = {r["customer_id"] for r in read_records(tmp_path / "raw/customers/customers_20250101.ndjson")}
    for path in activity_files(tmp_path, summary):
        day = re.search(r"logs_(\d{4})(\d{2})(\d{2})", path.name).groups()
        for r in read_records(path):
            seen.add(r["event_type"])
            assert uuid.UUID(r["event_id"]).version == 4
            assert re.fullmatch(rf"{'-'.join(day)}T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ", r["event_timestamp"])
            assert r["customer_id"] in customer_ids
            assert re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", r["ip_address"])
            assert all(0 <= int(o) <= 255 for o in r["ip_address"].split("."))
            payload = r["payload"]
            assert set(payload) == PAYLOAD_KEYS[r["event_type"]], r
            if "duration_seconds" in payload:
                assert 1 <= payload["duration_seconds"] <= 3600
            if "mb_used" in payload:
                assert 0 < payload["mb_used"] <= 2000
    assert seen == set(PAYLOAD_KEYS)
    all_ids = [r["event_id"] for p in activity_files(tmp_path, summary) for r in read_records(p)]
    assert len(all_ids) == len(set(all_ids))


def _plans_on(out: Path, summary: GenerationSummary, day: str) -> set[str]:
    bad = file_fault_paths(summary)
    return {str(r["plan_id"]) for p, a in summary.arrivals.items()
            if p.startswith("raw/plans/") and p not in bad and a <= day for r in read_records(out / p)}


def test_plan_changes_follow_each_customers_plan_and_updates_report_it(
        faulty_lake: tuple[Path, GenerationSummary]) -> None:
    # GIVEN a faulty lake (plan changes, customer update extracts, a plans update adding a plan)
    out, summary = faulty_lake
    plan = {r["customer_id"]: r["plan_id"] for r in read_records(out / "raw/customers/customers_20250101.ndjson")}
    changes = 0
    for day in ("2025-01-01", "2025-01-02", "2025-01-03"):
        # WHEN a customers update arrives, it reports each customer's plan at the start of its day
        for rel in (p for p, a in summary.arrivals.items() if a == day and p.startswith("raw/customers/")
                    and day != "2025-01-01" and p not in file_fault_paths(summary)):
            for r in read_records(out / rel):
                row = {normalize_name(k): v for k, v in r.items()}
                assert row["plan_id"] == plan[row["customer_id"]], (rel, row["customer_id"])
        # AND the day's plan changes, in (timestamp, event_id) order, start from the current plan
        available = _plans_on(out, summary, day)
        events = {str(r["event_id"]): r for p in activity_files(out, summary) if summary.arrivals[
            p.relative_to(out).as_posix()] == day for r in read_records(p) if r.get("event_type") == "plan_changed"}
        for r in sorted(events.values(), key=lambda r: (r["event_timestamp"], r["event_id"])):
            old, new = r["payload"]["old_plan_id"], r["payload"]["new_plan_id"]
            assert old == plan[r["customer_id"]]
            assert new != old and new in available
            plan[r["customer_id"]] = new
            changes += 1
    assert changes >= 10


def test_faults_mode_writes_every_fault_kind(faulty_lake: tuple[Path, GenerationSummary]) -> None:
    from telco360.generator.faults import FEED_VARIANTS, FILE_FAULTS, RECORD_FAULTS

    out, summary = faulty_lake
    kinds = Counter(f["kind"] for f in summary.faults)
    assert set(kinds) == set(FILE_FAULTS) | set(RECORD_FAULTS) | set(FEED_VARIANTS)
    assert all(kinds[k] == 1 for k in FILE_FAULTS)
    by_kind = {f["kind"]: out / f["path"] for f in summary.faults}
    # a few spot checks of what the recorded faults really hold
    assert by_kind["empty_file"].read_bytes() == b""
    assert by_kind["gzipped_file"].read_bytes()[:2] == b"\x1f\x8b"
    assert by_kind["csv_customers"].suffix == ".csv"
    plans_update = read_records(by_kind["plans_update"])
    assert "N/A" in {r["monthly_price"] for r in plans_update}
    assert any(r["data_allowance_gb"].endswith(".0") for r in plans_update)
    assert set(plans_update[0]) == {*get_contract("plans").column_names, "promo_code"}
    camel = read_records(by_kind["camel_case_columns"])
    assert "customerId" in camel[0]
    assert [normalize_name(k) for k in camel[0]] == list(get_contract("customers").column_names)
    same_file = Counter(r.get("event_id") for r in read_records(by_kind["duplicate_event_same_file"]))
    assert same_file.most_common(1)[0][1] == 2
    later = by_kind["duplicate_event_later_file"]
    earlier_ids = {r["event_id"] for p in out.glob("raw/activity_logs/**/logs_*") if p.name < later.name
                   and "-" not in p.name for r in read_records(p)}
    assert earlier_ids & {r.get("event_id") for r in read_records(later)}
    assert any("event_id" not in r for r in read_records(by_kind["missing_event_id"]))
    assert any(r["customer_id"] is None for r in read_records(by_kind["missing_customer_id"]))
    assert "closed" in {r["status"] for r in read_records(by_kind["bad_status"])}


def test_faulty_update_extracts_correct_emails_and_change_statuses(
        faulty_lake: tuple[Path, GenerationSummary]) -> None:
    out, summary = faulty_lake
    first = {r["customer_id"]: r for r in read_records(out / "raw/customers/customers_20250101.ndjson")}
    mistyped = {c for c, r in first.items() if "@" not in r["email"]}
    updates = [{normalize_name(k): v for k, v in r.items()} for f in summary.faults if f["kind"] == "customers_update"
               for r in read_records(out / f["path"])]
    corrected = {r["customer_id"] for r in updates if r["customer_id"] in mistyped and "@" in r["email"]}
    assert mistyped and corrected == mistyped
    assert any(r["status"] != first[r["customer_id"]]["status"] and r["status"] != "closed" for r in updates)


def test_start_date_moves_every_file_and_its_arrival(tmp_path: Path) -> None:
    summary = generate(tmp_path, customers=50, days=2, start_date=date(2024, 2, 28))
    assert summary.arrivals["raw/activity_logs/year=2024/month=02/day=29/logs_20240229.ndjson"] == "2024-02-29"
    text = read_text(tmp_path / "raw/activity_logs/year=2024/month=02/day=29/logs_20240229.ndjson")
    assert text.count('"event_timestamp": "2024-02-29T') == len(text.splitlines())
    assert date(2024, 2, 28) != START
