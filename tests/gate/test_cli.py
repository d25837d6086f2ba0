"""``telco360 validate`` on local files and folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telco360.cli import main

PLANS = b"plan_id,plan_name\nP1,Basic\n"
EVENT = b'{"event_id":"e1","customer_id":"C1","event_type":"login","event_timestamp":"2025-01-01T00:00:00Z"}\n'


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    (tmp_path / "raw" / "plans").mkdir(parents=True)
    (tmp_path / "raw" / "activity_logs" / "day=01").mkdir(parents=True)
    (tmp_path / "raw" / "plans" / "plans.csv").write_bytes(PLANS)
    (tmp_path / "raw" / "activity_logs" / "day=01" / "logs_20250101.ndjson").write_bytes(EVENT)
    return tmp_path / "raw"


def test_a_folder_of_valid_files_exits_0_with_a_line_each_and_a_summary(
    raw: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(raw)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[:-1]] == ["valid", "valid"]
    assert "(activity, ndjson, 1 rows)" in out[0] and out[-1] == "2 valid, 0 rejected"


def test_json_lines_name_each_file_and_a_rejection_exits_1(raw: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN one bad plans file beside the good ones
    (raw / "plans" / "plans_bad.csv").write_bytes(b"plan_id,plan_name\nP1\n")
    # WHEN validated with --json
    assert main(["validate", "--json", str(raw)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # THEN one object a line, sorted by path, with the documented keys
    assert [Path(r["path"]).name for r in rows] == ["logs_20250101.ndjson", "plans.csv", "plans_bad.csv"]
    assert set(rows[0]) == {"path", "valid", "dataset", "format", "reason", "message", "line", "rows"}
    assert rows[2] | {"path": None} == {"path": None, "valid": False, "dataset": "plans", "format": "csv",
                                        "reason": "csv_field_count", "line": 2, "rows": 0,
                                        "message": "line 2 has 1 field, the header has 2"}


def test_dataset_option_overrides_detection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(PLANS)
    assert main(["validate", "--json", "--dataset", "customers", str(path)]) == 1
    row = json.loads(capsys.readouterr().out)
    assert (row["dataset"], row["reason"]) == ("customers", "csv_missing_required_column")


@pytest.mark.parametrize("argv", [["validate", "/no/such/file.csv"], ["validate", "--dataset", "nope", "."]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "telco360 validate:" in capsys.readouterr().err
