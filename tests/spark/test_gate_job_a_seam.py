"""The seam between the gate and Job A, as a property (docs/spec.md §2-§3): for every file the gate
accepts, Job A succeeds and reads exactly the records the gate counted, clean or quarantined.

Files are generated from the contracts: header spellings and order, unknown and missing columns,
quoting, embedded line breaks and CRs, BOM, CRLF and lone CR, blank lines, Unicode, JSON value
shapes, long values, random byte edits and gzip. CI runs a fixed (derandomized) set of examples;
``TELCO360_SEAM_EXAMPLES=200 pytest tests/spark/test_gate_job_a_seam.py`` runs a longer, random one.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telco360 import zones
from telco360.contracts import DATASETS, Column, Contract, get_contract
from telco360.gate import validate_stream
from telco360.spark.clean import clean_dataset, lake_uri
from telco360.spark.lakefs import LakeFS

D = "2025-01-05"
LONG_RUN = int(os.environ.get("TELCO360_SEAM_EXAMPLES", "0"))

# Values of every shape a producer sends: valid ones, tricky ones, text full of separators.
TRICKY_TEXT = st.sampled_from([
    "", " ", "\u00a0x\u00a0", "a,b", 'say "hi"', "line\nbreak", "cr\ronly", "crlf\r\nin", "é中😀", "\u0000",
    "12.0", "1e400", "-0.0", "0001-01-01", "1582-10-04", "1899-12-31T23:59:59Z", "2025-02-30",
    "2025-01-01T24:00:00Z", "2025-01-01T10:00:00+0530", "2025-01-01T10:00:00.1234567Z", "Y", "no",
    "ACTIVE", "\u0663", "9223372036854775808", "{}", '{"a": [1, {"b": null}]}', "[1, 2]", "x" * 5000,
])
TEXT = st.one_of(TRICKY_TEXT, st.text(max_size=30))
JSON_SHAPE = st.one_of(
    TEXT, st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.none(), st.just({"old_plan_id": "P1", "new_plan_id": "P2"}), st.just([1, "a"]),
    st.just({"deep": {"er": [1, 2, {"x": "y"}]}}),
)


def spellings(name: str) -> st.SearchStrategy[str]:
    words = name.split("_")
    camel = words[0] + "".join(w.title() for w in words[1:])
    return st.sampled_from([name, name.upper(), " ".join(w.title() for w in words), camel, name.replace("_", "-")])


@dataclass(frozen=True)
class RawFile:
    name: str
    data: bytes


@st.composite
def raw_files(draw: st.DrawFn, contract: Contract, index: int) -> RawFile:
    # Columns: usually every required one, some optional ones, maybe unknown ones, in any order.
    columns: list[Column] = [c for c in contract.columns if c.required and draw(st.integers(0, 9)) > 0]
    columns += [c for c in contract.columns if not c.required and draw(st.booleans())]
    names = [draw(spellings(c.name)) for c in columns] + draw(st.lists(st.sampled_from(["extra", "Loyalty Tier"]),
                                                                         max_size=1, unique=True))
    order = draw(st.permutations(list(range(len(names)))))
    names = [names[i] for i in order]
    fmt = draw(st.sampled_from(["csv", "ndjson"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    rows = draw(st.lists(st.lists(JSON_SHAPE if fmt == "ndjson" else TEXT, min_size=len(names),
                                  max_size=len(names)), min_size=0, max_size=6))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=newline, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL,
                                                                                      csv.QUOTE_ALL])))
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row])
        lines = out.getvalue().split(newline)
    else:
        lines = [json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=draw(st.booleans())) for row in rows]
    if lines and draw(st.booleans()):  # a blank line somewhere
        lines.insert(draw(st.integers(0, len(lines))), "")
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 4)) == 0 else 0):  # random byte edits
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    gzipped = draw(st.booleans())
    name = f"{contract.name}_{index}.{fmt}" + (".gz" if gzipped else "")
    return RawFile(name, gzip.compress(data, mtime=0) if gzipped else data)


@st.composite
def days(draw: st.DrawFn) -> list[tuple[str, RawFile]]:
    picked = draw(st.lists(st.sampled_from(DATASETS), min_size=1, max_size=8))
    return [(ds, draw(raw_files(get_contract(ds), i))) for i, ds in enumerate(picked)]


@settings(
    max_examples=LONG_RUN or 6,
    derandomize=not LONG_RUN,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(day=days())
def test_job_a_reads_exactly_the_records_the_gate_counted(spark: Any, tmp_path: Path, day: list[tuple[str, RawFile]]
                                                          ) -> None:
    lake = tmp_path / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    # GIVEN the files the gate accepts, archived as the gate archives them
    expected: dict[str, dict[str, int]] = {}
    for dataset, raw in day:
        verdict = validate_stream(io.BytesIO(raw.data), f"raw/{dataset}/{raw.name}")
        if verdict.valid and verdict.dataset == dataset:
            target = lake / zones.archive_key(dataset, D, raw.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw.data)
            expected.setdefault(dataset, {})[raw.name] = verdict.rows
    # WHEN Job A cleans every dataset of the day (it must not fail)
    fs = LakeFS(spark)
    root = lake_uri(str(lake))
    for dataset, files in expected.items():
        report = clean_dataset(spark, fs, root, dataset, D)
        # THEN per file, clean + quarantined rows are the gate's row count
        assert {f.file: f.rows for f in report.files} == files
        assert report.rows_clean + report.rows_quarantined == sum(files.values())
