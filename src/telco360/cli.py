"""``telco360``: one command line for the pipeline. Each sub-command lives in its own module, which
registers itself here and imports its heavy dependencies (Spark, boto3) only when it runs."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# module -> exposes ``register(subparsers)``; each parser sets ``func(args) -> int`` (the exit code)
COMMAND_MODULES: tuple[str, ...] = (
    "telco360.generator.cli",  # generate
    "telco360.gate.cli",  # validate
    "telco360.local.cli",  # run, demo
    "telco360.ops.cli",  # start, backfill, replay, replay-rejected, status
    "telco360.contracts.cli",  # contracts (compatibility check, release)
    "telco360.docgen.cli",  # docs (the generated sections of docs/)
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telco360", description="Telco Customer 360 pipeline")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
