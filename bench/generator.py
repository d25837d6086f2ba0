"""How fast the generator writes activity: ``python -m bench.generator`` prints events/s for about
a million events (100,000 customers over a year), with and without faults."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from telco360.generator import generate


def main() -> None:
    for faults in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            summary = generate(Path(tmp), customers=100_000, days=365, seed=1, faults=faults)
            seconds = time.perf_counter() - began
            events = summary.rows["activity"]
            size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
            print(f"faults={faults!s:5}  {events:,} events, {summary.rows['customers']:,} customer rows, "
                  f"{size / 1e6:.0f} MB in {seconds:.2f} s: {events / seconds:,.0f} events/s")


if __name__ == "__main__":
    main()
