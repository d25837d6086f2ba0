"""Throughput and peak memory of the validation gate's core on 200 MB files (issue 2's targets:
>= 100 MB/s for NDJSON and CSV, >= 60 MB/s gzipped, < 64 MB peak above the interpreter's baseline).

``python -m bench.gate [--mb 200] [--keep DIR]``. Files are generated in a temporary folder (never
the repository): activity NDJSON with nested payloads and customers CSV with quoted, comma-holding
fields, shaped like the real extracts. Each measurement runs in a fresh interpreter on one core, and
MB/s is over the decompressed size. What is timed is ``validate_and_index``, what the Lambda and the
local gate run: the check and, for an uncompressed file, the index of its lines.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

TARGETS = {"ndjson": 100.0, "csv": 100.0, "ndjson.gz": 60.0, "csv.gz": 60.0}
MEMORY_BUDGET_MB = 64.0
_EVENTS = ("login", "logout", "app_open", "app_click", "data_session", "call_started", "call_ended",
           "sms_sent", "topup", "balance_check", "purchase_addon", "network_drop", "plan_changed")
_CITIES = ("Lagos", "Kano", "Abuja", "Enugu", "Ibadan", "Port Harcourt")


def _activity_line(rng: random.Random) -> str:
    event = rng.choice(_EVENTS)
    payloads = {
        "plan_changed": {"old_plan_id": f"P{rng.randint(1, 20):03d}", "new_plan_id": f"P{rng.randint(1, 20):03d}"},
        "data_session": {"mb_used": round(rng.uniform(0, 900), 2), "session": {"apn": "internet", "qci": 9}},
        "call_started": {"call_id": str(uuid.UUID(int=rng.getrandbits(128))), "duration_seconds": rng.randint(1, 3600)},
        "topup": {"amount": rng.randint(100, 10000), "currency": "NGN", "channel": {"type": "ussd", "ok": True}},
    }
    record = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "customer_id": f"C{rng.randint(1, 999999):06d}",
        "event_type": event,
        "event_timestamp": f"2025-01-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "device_type": rng.choice(("Android", "iOS", "FeaturePhone")),
        "ip_address": ".".join(str(rng.randint(1, 254)) for _ in range(4)),
        "network_type": rng.choice(("3G", "4G", "5G")),
        "payload": payloads.get(event, {}),
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def _customer_line(rng: random.Random, n: int) -> str:
    city = rng.choice(_CITIES)
    # About a third of the addresses are quoted because they hold a comma; a few names hold quotes.
    address = f'"{rng.randint(1, 400)} Ikeja Rd, {city}"' if n % 3 == 0 else f"{rng.randint(1, 400)} Garki St"
    last = '"O""Neil"' if n % 50 == 0 else rng.choice(("Onyeka", "Chukwu", "Adeyemi", "Bello"))
    return ",".join((
        f"C{n:07d}", rng.choice(("Lilian", "Tosin", "Binta", "Émeka")), last, f"user{n}@example.com",
        f"+234{rng.randint(7000000000, 9099999999)}", rng.choice("MF"),
        f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        address, city, "Nigeria", "2024-01-18T00:00:00Z", "mobile_app", f"P{rng.randint(1, 20):03d}", "active",
    )) + "\r\n"


_CSV_HEADER = ("customer_id,first_name,last_name,email,phone,gender,date_of_birth,address,state,country,"
               "registration_date,registration_channel,plan_id,status\r\n")


def generate(folder: Path, megabytes: int) -> dict[str, Path]:
    """Write the four benchmark files (plain and gzipped NDJSON and CSV) of about ``megabytes`` each."""
    rng = random.Random(360)
    target = megabytes << 20
    block_ndjson = "".join(_activity_line(rng) for _ in range(20_000)).encode()
    block_csv = "".join(_customer_line(rng, n) for n in range(20_000)).encode()
    files = {"ndjson": folder / "activity_logs" / "logs_20250101.ndjson", "csv": folder / "customers_20250101.csv"}
    files["ndjson"].parent.mkdir(parents=True, exist_ok=True)
    for kind, block, header in (("ndjson", block_ndjson, b""), ("csv", block_csv, _CSV_HEADER.encode())):
        with files[kind].open("wb") as out:
            out.write(header)
            for _ in range(max(1, target // len(block))):
                out.write(block)
        gz = files[kind].with_name(files[kind].name + ".gz")
        with files[kind].open("rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        files[f"{kind}.gz"] = gz
    return files


def measure(path: Path) -> dict[str, object]:
    """Validate one file in this process; peak RSS is measured against the RSS just before."""
    from telco360.formats import file_kind

    try:
        from telco360.gate.core import validate_and_index
    except ImportError:  # an older tree (DEVELOPERS.md: comparing the gate's speed): the check alone
        from telco360.gate.core import validate_stream

        def validate_and_index(stream: BinaryIO, key: str) -> Any:
            return SimpleNamespace(verdict=validate_stream(stream, key), lines=None)

    kind = file_kind(path.name)
    size = path.stat().st_size
    plain = size if not kind.gzipped else _gunzipped_size(path)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.perf_counter(), time.process_time()
    with path.open("rb", buffering=0) as stream:
        indexed = validate_and_index(stream, str(path))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdict = indexed.verdict
    return {"valid": verdict.valid, "reason": verdict.reason, "rows": verdict.rows,
            "lines": indexed.lines.lines if indexed.lines else None, "seconds": seconds,
            "mb": plain / 1e6, "mb_per_s": plain / 1e6 / seconds,
            "cpu_mb_per_s": plain / 1e6 / cpu, "peak_mb": (peak - baseline) / 1024}


def _gunzipped_size(path: Path) -> int:
    with gzip.open(path, "rb") as f:
        return sum(len(c) for c in iter(lambda: f.read(1 << 20), b""))


def _measure_in_subprocess(path: Path) -> dict[str, object]:
    # One core: pin the child to CPU 0 where the platform allows it.
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    out = subprocess.run([*pin, sys.executable, "-m", "bench.gate", "--measure", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=int(os.environ.get("BENCH_GATE_MB", "200")))
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep the files")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-gate-"))
    try:
        files = generate(folder, args.mb)
        # Wall-clock MB/s is the target; CPU MB/s shows the same on a machine busy with other work.
        print(f"{'file':<11}{'MB':>8}{'s':>8}{'MB/s':>9}{'CPU MB/s':>10}{'target':>8}{'peak MB':>9}  verdict")
        ok = True
        for kind, path in files.items():
            r = _measure_in_subprocess(path)
            passed = r["valid"] and r["mb_per_s"] >= TARGETS[kind] and r["peak_mb"] < MEMORY_BUDGET_MB
            ok &= bool(passed)
            verdict = "valid" if r["valid"] else f"REJECTED {r['reason']}"
            print(f"{kind:<11}{r['mb']:>8.0f}{r['seconds']:>8.2f}{r['mb_per_s']:>9.1f}{r['cpu_mb_per_s']:>10.1f}"
                  f"{TARGETS[kind]:>8.0f}"
                  f"{r['peak_mb']:>9.1f}  {verdict}{'' if passed else '  <- below target'}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
