"""Run every benchmark module of this package, or the ones named: ``python -m bench [--quick] [gate job_a ...]``.

Each runs in its own interpreter, so one benchmark's memory and warm caches do not colour another's.
``--quick`` (or ``BENCH_QUICK=1``) asks the Job A and Job B benches for a small smoke run.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    env = dict(os.environ)
    if "--quick" in argv:
        argv = [a for a in argv if a != "--quick"]
        env["BENCH_QUICK"] = "1"
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        print(f"== bench.{name}", flush=True)
        failed += subprocess.call([sys.executable, "-m", f"bench.{name}"], env=env) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
