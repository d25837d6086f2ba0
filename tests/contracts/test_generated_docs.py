"""``telco360 docs``: the generated sections of docs/ (contract tables, staging tables) are rendered
from the code, and ``--check`` fails while one of them is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pyspark.sql import types as T

from telco360 import zones
from telco360.cli import main
from telco360.contracts import load_contracts
from telco360.docgen import SECTIONS, current_text
from telco360.docgen.warehouse import snowflake_type, staging_tables_markdown
from telco360.spark.stage import staging_schema

REPO = Path(__file__).resolve().parents[2]


def _copy_docs(tmp_path: Path) -> Path:
    for section in SECTIONS:
        target = tmp_path / section.doc
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / section.doc, target)
    return tmp_path


def test_the_repository_docs_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the docs as committed WHEN they are checked against the code THEN none is stale
    code = main(["docs", "--check", "--root", str(REPO)])
    assert code == 0, capsys.readouterr().err + "\nrun: .venv/bin/telco360 docs"


def test_a_stale_section_fails_the_check_until_the_docs_are_regenerated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a copy of the docs where someone edited a generated table by hand
    root = _copy_docs(tmp_path)
    warehouse = root / "docs/warehouse.md"
    edited = warehouse.read_text().replace("| `customer_id` | string |", "| `customer_id` | int |", 1)
    warehouse.write_text(edited)
    contracts_before = (root / "docs/contracts.md").read_text()

    # WHEN the docs are checked THEN the check fails, names the stale doc, and writes nothing
    assert main(["docs", "--check", "--root", str(root)]) == 1
    assert f"{warehouse} is stale" in capsys.readouterr().err
    assert warehouse.read_text() == edited

    # WHEN they are regenerated THEN only the stale doc is rewritten, and the check passes
    assert main(["docs", "--root", str(root)]) == 0
    assert capsys.readouterr().out == f"updated {warehouse}\n"
    assert (root / "docs/contracts.md").read_text() == contracts_before
    assert main(["docs", "--check", "--root", str(root)]) == 0


def test_regenerating_keeps_the_prose_around_the_markers(tmp_path: Path) -> None:
    # GIVEN a contracts doc whose generated section is empty, with prose before and after
    root = _copy_docs(tmp_path)
    doc = root / "docs/contracts.md"
    section = next(s for s in SECTIONS if s.name == "contracts")
    doc.write_text(f"# Intro\n\n{section.begin}{section.end}\n\n## After\n")

    # WHEN the docs are regenerated
    assert main(["docs", "--root", str(root)]) == 0

    # THEN the section holds every contract's table and the prose is where it was
    text = doc.read_text()
    assert text.startswith(f"# Intro\n\n{section.begin}### customers (version ")
    assert text.endswith(f"{section.end}\n\n## After\n")
    assert [line.split(" (")[0] for line in current_text(text, section).splitlines() if line.startswith("### ")] == [
        f"### {name}" for name in load_contracts()]


@pytest.mark.parametrize("content", ["# No markers here\n", None])
def test_a_doc_without_its_section_is_a_usage_error(
        tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a repository root whose warehouse doc lost its markers (or does not exist)
    root = _copy_docs(tmp_path)
    warehouse = root / "docs/warehouse.md"
    if content is None:
        warehouse.unlink()
    else:
        warehouse.write_text(content)
    # WHEN the docs are checked THEN it exits 2 saying what is missing
    assert main(["docs", "--check", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "docs/warehouse.md" in err and ("markers" in err or "does not exist" in err)


def test_the_staging_tables_list_every_column_job_b_writes_in_order() -> None:
    # GIVEN Job B's schemas WHEN the warehouse tables are rendered
    rows = [line for line in staging_tables_markdown().splitlines() if line.startswith("| `")]
    # THEN each table's columns appear once, in the Parquet files' order, with their Parquet type
    expected = [f"| `{f.name}` | {f.dataType.simpleString()} |"
                for table in zones.STAGING_TABLES for f in staging_schema(table).fields]
    assert [row[:len(e)] for row, e in zip(rows, expected, strict=True)] == expected


@pytest.mark.parametrize(("spark_type", "snowflake"), [
    (T.DecimalType(12, 2), "NUMBER(12,2)"),
    (T.LongType(), "NUMBER(19,0)"),
    (T.TimestampType(), "TIMESTAMP_NTZ"),
    (T.StringType(), "VARCHAR"),
])
def test_each_parquet_type_has_the_snowflake_type_a_loader_declares(spark_type: T.DataType, snowflake: str) -> None:
    assert snowflake_type(spark_type) == snowflake
