"""``telco360 docs``: regenerate every generated section of the docs, or check that none is stale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from telco360.docgen import SECTIONS, MissingSection, stale_docs, write_docs

EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2


def _docs(args: argparse.Namespace) -> int:
    root: Path = args.root
    try:
        if args.check:
            stale = stale_docs(root)
            for path in stale:
                sys.stderr.write(f"telco360 docs: {path} is stale: run `telco360 docs` and commit it\n")
            return EXIT_STALE if stale else EXIT_OK
        for path in write_docs(root):
            sys.stdout.write(f"updated {path}\n")
    except MissingSection as exc:
        sys.stderr.write(f"telco360 docs: error: {exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listed = "; ".join(f"{s.doc} ({s.name})" for s in SECTIONS)
    parser = sub.add_parser(
        "docs", help="regenerate the docs' generated sections (contract and staging tables)",
        description=f"Rewrite each generated section of the docs from the code: {listed}.")
    parser.add_argument("--root", type=Path, default=Path("."), metavar="DIR",
                        help="repository root holding docs/ (default: the current folder)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a generated section differs from the code")
    parser.set_defaults(func=_docs)
