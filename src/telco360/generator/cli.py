"""``telco360 generate``: write a raw zone of realistic files (and, with --faults, bad ones)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from telco360.generator import vocab


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _non_negative(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return number


def _date(value: str) -> date:
    from telco360.runs import parse_run_date

    try:
        return parse_run_date(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    # Volume knobs (the defaults are the real sample's shape): docs/benchmarks.md's realistic day is
    # --customers 200000 --events-per-customer-day 2.5 --activity-files 8 --plan-change-share 0.02
    # --full-extracts --customers-format csv.
    parser.add_argument("--events-per-customer-day", type=_non_negative, default=vocab.EVENTS_PER_CUSTOMER_DAY,
                        help="mean activity events per customer a day (0.0274, the real sample; a live feed has tens)")
    parser.add_argument("--activity-files", type=_positive, default=1,
                        help="files each day's activity is split into (1)")
    parser.add_argument("--full-extracts", action="store_true",
                        help="full customers and plans extracts every day (a few customers changed) instead of deltas")
    parser.add_argument("--customers-format", choices=("ndjson", "csv"), default="ndjson",
                        help="format of every customers extract (ndjson)")
    parser.add_argument("--plan-change-share", type=_share, default=None,
                        help="share of plan_changed events (default: the real mix, about 0.037)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from telco360.generator import generate

    summary = generate(args.out, customers=args.customers, days=args.days, start_date=args.start_date,
                       seed=args.seed, faults=args.faults, events_per_customer_day=args.events_per_customer_day,
                       activity_files=args.activity_files, full_extracts=args.full_extracts,
                       customers_format=args.customers_format, plan_change_share=args.plan_change_share)
    sys.stdout.write(summary.to_text() + "\n")
    return 0
