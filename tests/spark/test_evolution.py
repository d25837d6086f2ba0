"""Clean history written under an older contract version stays readable after a compatible change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from telco360 import zones
from telco360.contracts import get_contract, load_contracts
from telco360.contracts.compat import contract_at
from telco360.reports import ColumnSpec, Manifest
from telco360.spark.evolution import partition_versions, read_clean, write_version_marker
from telco360.spark.lakefs import LakeFS
from telco360.spark.schemas import clean_schema

REPO = Path(__file__).resolve().parents[2]
PROMO = """      - name: promo_code
        logicalType: string
        physicalType: string
"""


def plans_v1_1_text() -> str:
    """plans 1.1.0: monthly_price widened to decimal(14,4) and a new optional column promo_code."""
    text = (REPO / "src/telco360/contracts/plans.odcs.yaml").read_text()
    text = text.replace("version: 1.0.0", "version: 1.1.0").replace("decimal(12,2)", "decimal(14,4)")
    return text.rstrip("\n") + "\n" + PROMO


@pytest.fixture
def plans_v1_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "plans.odcs.yaml").write_text(plans_v1_1_text())
    monkeypatch.setenv("TELCO360_CONTRACTS_DIR", str(folder))
    load_contracts.cache_clear()
    yield
    monkeypatch.delenv("TELCO360_CONTRACTS_DIR")
    load_contracts.cache_clear()


def _plan_row(contract, plan_id: str, price: str, line: int, **extra) -> tuple:
    values = {"plan_id": plan_id, "plan_name": f"Plan {plan_id}", "monthly_price": Decimal(price),
              "_source_file": "plans.csv", "_line": line, **extra}
    return tuple(values.get(f.name) for f in clean_schema(contract).fields)


def test_history_written_under_1_0_reads_in_the_1_1_schema(spark, tmp_path: Path, plans_v1_1: None) -> None:
    # GIVEN a partition written with plans 1.0.0 (decimal(12,2), no promo_code) and no version marker,
    # one written with 1.0.0 and a marker, and one written with 1.1.0
    root = str(tmp_path / "lake")
    v1 = contract_at("plans", "1.0.0")
    v11 = get_contract("plans")
    assert (v1.version, v11.version) == ("1.0.0", "1.1.0")
    fs = LakeFS(spark)
    old_unmarked = zones.clean_path(root, "plans", "2025-01-01")
    old_marked = zones.clean_path(root, "plans", "2025-01-02")
    new = zones.clean_path(root, "plans", "2025-01-03")
    spark.createDataFrame([_plan_row(v1, "P001", "10.25", 2)], clean_schema(v1)).write.parquet(old_unmarked)
    spark.createDataFrame([_plan_row(v1, "P002", "20.50", 2)], clean_schema(v1)).write.parquet(old_marked)
    write_version_marker(fs, old_marked, v1)
    spark.createDataFrame([_plan_row(v11, "P003", "30.1234", 2, promo_code="XMAS")],
                          clean_schema(v11)).write.parquet(new)
    write_version_marker(fs, new, v11)

    # WHEN the history is read with the current (1.1.0) contract
    assert partition_versions(fs, root, "plans") == {"2025-01-01": "1.0.0", "2025-01-02": "1.0.0",
                                                     "2025-01-03": "1.1.0"}
    df = read_clean(spark, root, "plans", upto="2025-01-03")

    # THEN every row has the 1.1.0 columns and types: widened prices, promo_code null for old rows
    assert df.schema["monthly_price"].dataType.simpleString() == "decimal(14,4)"
    rows = sorted((r.plan_id, r.monthly_price, r.promo_code, r.ingest_date) for r in df.collect())
    assert rows == [
        ("P001", Decimal("10.2500"), None, date(2025, 1, 1)),
        ("P002", Decimal("20.5000"), None, date(2025, 1, 2)),
        ("P003", Decimal("30.1234"), "XMAS", date(2025, 1, 3)),
    ]
    # AND a bound reads only the partitions it names
    assert [r.plan_id for r in read_clean(spark, root, "plans", upto="2025-01-02").collect()] \
        in (["P001", "P002"], ["P002", "P001"])
    assert [r.plan_id for r in read_clean(spark, root, "plans", on="2025-01-03").collect()] == ["P003"]


def test_a_dataset_with_no_clean_data_reads_as_an_empty_frame_with_the_schema(spark, tmp_path: Path) -> None:
    df = read_clean(spark, str(tmp_path / "nothing"), "customers", upto="2025-01-01")
    assert df.count() == 0
    assert df.columns == [*get_contract("customers").column_names, "_source_file", "_line", "ingest_date"]


# --- end to end: Job A and Job B across a compatible contract change ---------------------------------
D1, D2 = "2025-01-01", "2025-01-02"
PLANS_D1 = (  # written under 1.0.0; "discount" is a column no contract names (drift)
    "plan_id,plan_name,monthly_price,plan_category,discount\n"
    "P001,Basic Plan 1,10.25,Basic,5\n"
    "P002,Premium Plan 2,20.5,Premium,0\n"
)
PLANS_D2 = (  # sent once the contract is 1.1.0: the new promo_code column and a 4-decimal price
    "plan_id,plan_name,monthly_price,plan_category,promo_code\n"
    "P002,Premium Plan 2,30.1234,Premium,XMAS\n"
)


def _archive(root: Path, day: str, name: str, text: str) -> None:
    folder = root / "archive" / "plans" / f"ingest_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def _staged_plans(spark, root: Path, day: str) -> dict[str, tuple]:
    rows = spark.read.parquet(zones.staging_path(str(root), "plans", day)).collect()
    return {r.plan_id: (r.monthly_price, r.plan_category, getattr(r, "promo_code", None)) for r in rows}


def test_a_compatible_change_flows_through_both_jobs_reruns_and_backfills(
        spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from telco360.gate import validate_stream
    from telco360.spark.clean import run_clean
    from telco360.spark.stage import run_stage

    lake = tmp_path / "lake"
    # GIVEN day 1 cleaned and staged under plans 1.0.0
    _archive(lake, D1, "plans_20250101.csv", PLANS_D1)
    report_d1 = run_clean(spark, str(lake), D1, datasets=("plans",))
    run_stage(spark, str(lake), D1)
    before = _staged_plans(spark, lake, D1)
    assert before == {"P001": (Decimal("10.25"), "Basic", None), "P002": (Decimal("20.50"), "Premium", None)}
    # AND the unknown column was dropped but counted for its file
    assert report_d1.datasets["plans"].files[0].unknown_columns == ["discount"]

    # WHEN the contract moves to 1.1.0 (new optional promo_code, monthly_price widened to decimal(14,4))
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "plans.odcs.yaml").write_text(plans_v1_1_text())
    monkeypatch.setenv("TELCO360_CONTRACTS_DIR", str(folder))
    load_contracts.cache_clear()
    try:
        # THEN the gate takes files with and without the new column
        for text in (PLANS_D1, PLANS_D2):
            assert validate_stream(io.BytesIO(text.encode()), "raw/plans/p.csv").valid

        # AND day 2 goes through Job A and Job B with the new column, reading day 1's 1.0.0 history
        _archive(lake, D2, "plans_20250102.csv", PLANS_D2)
        run_clean(spark, str(lake), D2, datasets=("plans",))
        report = run_stage(spark, str(lake), D2)
        d2_rows = {
            "P001": (Decimal("10.2500"), "Basic", None),
            "P002": (Decimal("30.1234"), "Premium", "XMAS"),
        }
        assert _staged_plans(spark, lake, D2) == d2_rows
        # AND day 1's state was built under plans 1.0.0: day 2 is a full recompute that says why
        (snapshot,) = report.snapshots
        assert snapshot.build == "full" and snapshot.why_full and "contract versions" in snapshot.why_full
        manifest = Manifest.from_dict(json.loads((lake / zones.manifest_key(D2)).read_text()))
        plans_entry = manifest.tables["plans"]
        assert plans_entry.contract_versions == {"plans": "1.1.0"}
        assert ColumnSpec("promo_code", "string", True) in plans_entry.schema

        # AND a backfill of day 1 gives the same rows as before, plus the new column as null, and rolls
        # day 2 forward from day 1's new state with the same rows
        report = run_stage(spark, str(lake), D1)
        assert [(s.snapshot_date, s.build) for s in report.snapshots] == [(D1, "full"), (D2, "incremental")]
        assert _staged_plans(spark, lake, D1) == {k: (v[0], v[1], None) for k, v in before.items()}
        assert _staged_plans(spark, lake, D2) == d2_rows
        # AND so does a rerun of Job A for day 1 (re-cleaned under 1.1.0) followed by Job B
        run_clean(spark, str(lake), D1, datasets=("plans",))
        assert partition_versions(LakeFS(spark), str(lake), "plans") == {D1: "1.1.0", D2: "1.1.0"}
        run_stage(spark, str(lake), D1)
        assert _staged_plans(spark, lake, D1) == {k: (v[0], v[1], None) for k, v in before.items()}
    finally:
        monkeypatch.delenv("TELCO360_CONTRACTS_DIR")
        load_contracts.cache_clear()
