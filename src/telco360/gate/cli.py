"""``telco360 validate PATH... [--dataset X] [--json]``: the gate's core over local files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from telco360.contracts import DATASETS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="run the validation gate over local files",
        description="Validate files as the S3 gate would (docs/spec.md §3). A folder means every file under "
        "it. Exit 0 when all are valid, 1 when any is rejected, 2 on a usage error.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a file or a folder")
    parser.add_argument("--dataset", help=f"skip detection: one of {', '.join(DATASETS)}")
    parser.add_argument("--json", action="store_true", help="one JSON object a line per file")
    parser.set_defaults(func=run)


def _files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def run(args: argparse.Namespace) -> int:
    from telco360.gate.core import validate_stream

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing or (args.dataset and args.dataset not in DATASETS):
        problem = f"no such file or folder: {', '.join(missing)}" if missing else (
            f"unknown dataset {args.dataset!r} (one of {', '.join(DATASETS)})")
        sys.stderr.write(f"telco360 validate: {problem}\n")
        return 2
    if args.json:
        import orjson
    counts = {True: 0, False: 0}
    for path in _files(args.paths):
        with path.open("rb") as stream:
            # The path stands in for the S3 key: its folders and name identify the dataset the same way.
            verdict = validate_stream(stream, path.as_posix(), args.dataset)
        counts[verdict.valid] += 1
        if args.json:
            row = {"path": str(path), "valid": verdict.valid, "dataset": verdict.dataset, "format": verdict.format,
                   "reason": verdict.reason.value if verdict.reason else None, "message": verdict.message,
                   "line": verdict.line, "rows": verdict.rows}
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        elif verdict.valid:
            sys.stdout.write(f"valid     {path}  ({verdict.dataset}, {verdict.format}, {verdict.rows} rows)\n")
        else:
            sys.stdout.write(f"REJECTED  {path}  {verdict.reason}: {verdict.message}\n")
    if not args.json:
        sys.stdout.write(f"{counts[True]} valid, {counts[False]} rejected\n")
    return 1 if counts[False] else 0
