"""``telco360 contracts``: check contract evolution and release a version (the contract tables of the
docs are rendered by ``telco360 docs``)."""

from __future__ import annotations

import argparse
import shutil
import sys
from importlib import resources
from pathlib import Path

from telco360.contracts import DATASETS, get_contract
from telco360.contracts.compat import check_all, classify, last_released


def _check(_: argparse.Namespace) -> int:
    failed = False
    for dataset, problems in check_all().items():
        released = last_released(dataset)
        current = get_contract(dataset)
        base = released.version if released else "(never released)"
        sys.stdout.write(f"{dataset}: released {base}, current {current.version}\n")
        for change in classify(released, current) if released else []:
            sys.stdout.write(f"  {change}\n")
        for problem in problems:
            failed = True
            sys.stdout.write(f"  PROBLEM {problem}\n")
    return 1 if failed else 0


def _release(args: argparse.Namespace) -> int:
    problems = check_all()
    unknown = set(args.datasets) - set(DATASETS)
    if unknown:
        sys.stderr.write(f"unknown dataset(s): {', '.join(sorted(unknown))}\n")
        return 2
    for dataset in args.datasets or DATASETS:
        if problems[dataset]:
            sys.stderr.write(f"{dataset}: cannot release: {'; '.join(problems[dataset])}\n")
            return 1
        current = get_contract(dataset)
        source = resources.files("telco360.contracts") / f"{dataset}.odcs.yaml"
        target = Path(str(source)).parent / "released" / dataset / f"{current.version}.odcs.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(str(source), target)
        sys.stdout.write(f"{dataset}: released {current.version} -> {target}\n")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("contracts", help="check contract evolution, release versions")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("check", help="compare each contract with its last released version").set_defaults(func=_check)
    release = actions.add_parser("release", help="record the current versions as released")
    release.add_argument("datasets", nargs="*", metavar="DATASET", help=f"default: all of {', '.join(DATASETS)}")
    release.set_defaults(func=_release)
