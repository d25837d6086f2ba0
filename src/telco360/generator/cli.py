"""``telco360 generate``: write a raw zone of realistic files (and, with --faults, bad ones)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _date(value: str) -> date:
    from telco360.runs import parse_run_date

    try:
        return parse_run_date(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write realistic raw files (customers, plans, daily activity logs)",
        description="Write raw files in the producers' layout under OUT/raw and OUT/arrivals.json "
        "(the day each file arrives). The same arguments always give the same bytes.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (a lake root)")
    parser.add_argument("--customers", type=_positive, default=10_000, help="number of customers (10000)")
    parser.add_argument("--days", type=_positive, default=7, help="number of days of activity (7)")
    parser.add_argument("--start-date", type=_date, default=date(2025, 1, 1), help="first day, YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--faults", action="store_true",
                        help="add bad files, bad records, duplicates, update extracts and format variants")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from telco360.generator import generate

    summary = generate(args.out, customers=args.customers, days=args.days, start_date=args.start_date,
                       seed=args.seed, faults=args.faults)
    sys.stdout.write(summary.to_text() + "\n")
    return 0
