"""``generate``: a lake's ``raw/`` zone as the producers would fill it over some days.

Day 0 brings the full customers extract, the plans catalogue and the first activity file(s); each
later day brings its activity file(s). With ``faults`` the later days also bring customer update
extracts (the CRM state at the start of that day: plans moved by yesterday's plan changes, status
changes, corrected emails), a plans update (a price change, a new plan) and everything in
``faults.py``. With ``full_extracts`` every later day brings the whole customer base instead of the
changed customers only, as CRMs that cannot export deltas do (the few changes are inside it), and
the whole plans catalogue.
Every file is recorded in ``arrivals.json`` with the day it arrives, for a demo that replays the days.

The volume knobs (``events_per_customer_day``, ``activity_files``, ``plan_change_share``) shape a
realistic telco day for the benchmarks: the real sample has 0.0274 events per customer a day, a live
feed tens; docs/benchmarks.md's day is 200,000 customers, 2.5 events each, in 8 files, 2 % plan changes.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from telco360.contracts import detect_dataset_from_key, get_contract
from telco360.generator import faults as F
from telco360.generator import vocab
from telco360.generator.activity import PLAN_CHANGED, ActivityDay, PlanTimeline, event_weights, make_day
from telco360.generator.entities import Customers, make_customers, make_plans
from telco360.generator.text import (
    STR,
    KeyStyle,
    Strings,
    csv_lines,
    file_bytes,
    ndjson_lines,
    same_name,
    uuid4_texts,
)

log = logging.getLogger(__name__)

ARRIVALS_FILE = "arrivals.json"
# Independent random streams, so that e.g. turning faults on leaves the clean customers unchanged.
_PLANS, _CUSTOMERS, _ACTIVITY, _STATUS, _FAULTS, _TYPOS = range(6)
STATUS_CHANGES_PER_DAY = 0.001  # share of customers whose status changes each day (faults mode)
EMAIL_TYPO_SHARE = 0.002  # share of the first extract's emails that are wrong, corrected later
CustomersFormat = Literal["ndjson", "csv"]
CUSTOMERS_FORMATS: tuple[str, ...] = ("ndjson", "csv")


@dataclass(frozen=True)
class FeedShape:
    """How much a day holds and how it is cut into files (the defaults are the real sample's)."""

    events_per_customer_day: float = vocab.EVENTS_PER_CUSTOMER_DAY
    activity_files: int = 1  # files a day's activity is split into (a producer flushing every few hours)
    full_extracts: bool = False  # every day full customers and plans extracts, not only the changed customers
    customers_format: CustomersFormat = "ndjson"
    plan_change_share: float | None = None  # None: the real mix (3.7 % of events)

    def __post_init__(self) -> None:
        if self.events_per_customer_day < 0:
            raise ValueError(f"events_per_customer_day must be >= 0, got {self.events_per_customer_day}")
        if self.activity_files < 1:
            raise ValueError(f"activity_files must be at least 1, got {self.activity_files}")
        if self.customers_format not in CUSTOMERS_FORMATS:
            raise ValueError(f"customers_format must be one of {', '.join(CUSTOMERS_FORMATS)}")
        event_weights(self.plan_change_share)  # validates the share


@dataclass
class GenerationSummary:
    out: Path
    files: dict[str, int] = field(default_factory=dict)  # dataset (or "unknown") -> files written
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> records in files the gate accepts
    faults: list[dict[str, str]] = field(default_factory=list)  # {path, kind, level, reason}
    arrivals: dict[str, str] = field(default_factory=dict)  # path under out/ -> arrival date

    def to_text(self) -> str:
        lines = [f"wrote {sum(self.files.values())} files under {self.out / 'raw'}"]
        lines += [f"  {ds}: {self.files[ds]} files, {self.rows.get(ds, 0):,} records" for ds in sorted(self.files)]
        if self.faults:
            levels = Counter(f["level"] for f in self.faults)
            lines.append("  faults: " + ", ".join(f"{n} {level}" for level, n in sorted(levels.items())))
        lines.append(f"arrival dates: {self.out / ARRIVALS_FILE}")
        return "\n".join(lines)


class _Lake:
    """Writes files under ``out`` and keeps the summary."""

    def __init__(self, out: Path) -> None:
        self.summary = GenerationSummary(out)
        self._files: Counter[str] = Counter()
        self._rows: Counter[str] = Counter()

    def write(self, path: str, data: bytes, day: date, rows: int | None = None) -> str:
        target = self.summary.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        dataset = detect_dataset_from_key(path) or "unknown"
        self._files[dataset] += 1
        if rows is not None:
            self._rows[dataset] += rows
        self.summary.arrivals[path] = day.isoformat()
        return path

    def fault(self, path: str, kind: str, level: str, reason: str = "") -> None:
        self.summary.faults.append({"path": path, "kind": kind, "level": level, "reason": reason})

    def finish(self) -> GenerationSummary:
        self.summary.files = dict(sorted(self._files.items()))
        self.summary.rows = dict(sorted(self._rows.items()))
        arrivals = dict(sorted(self.summary.arrivals.items()))
        self.summary.arrivals = arrivals
        (self.summary.out / ARRIVALS_FILE).write_text(json.dumps(arrivals, indent=1) + "\n", encoding="utf-8")
        return self.summary


@dataclass(frozen=True)
class _Schedule:
    """Which day gets which fault: spread over days 1..K-1 (day 0 is the initial load)."""

    days: int

    def spread(self, i: int) -> int:
        return 1 + i % (self.days - 1) if self.days > 1 else 0

    @property
    def later(self) -> bool:
        return self.days > 1

    @property
    def plans_update(self) -> int:
        return 1

    @property
    def camel_customers(self) -> int:
        return 1

    @property
    def csv_customers(self) -> int:
        return min(2, self.days - 1)

    @property
    def gzipped_activity(self) -> int:
        return self.days - 1


_ACTIVITY_RECORD_FAULTS = ("duplicate_event_same_file", "missing_event_id", "missing_customer_id", "bad_date",
                           "duplicate_event_later_file", *F.STRING_FAULTS)


def generate(out: Path, customers: int = 10_000, days: int = 7, start_date: date = date(2025, 1, 1),
             seed: int = 42, faults: bool = False, *,
             events_per_customer_day: float = vocab.EVENTS_PER_CUSTOMER_DAY, activity_files: int = 1,
             full_extracts: bool = False, customers_format: CustomersFormat = "ndjson",
             plan_change_share: float | None = None) -> GenerationSummary:
    """Write ``days`` days of raw files for ``customers`` customers under ``out/raw`` and
    ``out/arrivals.json``; the same arguments always give the same bytes.

    ``events_per_customer_day``: mean activity volume (Poisson); ``activity_files``: files per day's
    activity; ``full_extracts``: full customers and plans extracts every day; ``customers_format``: ``ndjson``
    or ``csv`` for every customers extract; ``plan_change_share``: share of plan_changed events."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    shape = FeedShape(events_per_customer_day, activity_files, full_extracts, customers_format, plan_change_share)
    return _Generator(Path(out), customers, days, start_date, seed, faults, shape).run()


class _Generator:
    def __init__(self, out: Path, customers: int, days: int, start: date, seed: int, faults: bool,
                 shape: FeedShape) -> None:
        self.lake = _Lake(out)
        self.days, self.start, self.seed, self.faults, self.shape = days, start, seed, faults, shape
        self.weights = event_weights(shape.plan_change_share)
        self.schedule = _Schedule(days)
        self.plans = make_plans(self._rng(_PLANS), vocab.PLAN_COUNT)
        self.crm: Customers = make_customers(self._rng(_CUSTOMERS), customers, start, vocab.PLAN_COUNT)
        self.timeline = PlanTimeline(self.crm.plan)  # shares the array: the timeline moves the CRM's plans
        self.fault_rng = self._rng(_FAULTS)
        self.typos: list[np.ndarray] = []  # per update day, the customers whose email it corrects
        self.corrections: dict[int, str] = {}
        self.previous_event: str | None = None

    def _rng(self, *stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *stream])

    def _day(self, d: int) -> date:
        return self.start + timedelta(days=d)

    def run(self) -> GenerationSummary:
        if self.faults:
            self._mistype_emails()
        self._write_customers(0, np.arange(self.crm.count))
        self._write_plans(0, self.plans)
        file_faults = list(F.FILE_FAULTS)
        for d in range(self.days):
            if self.faults and d > 0 and d == self.schedule.plans_update:
                self._plans_update(d)
            if d > 0 and (self.faults or self.shape.full_extracts):
                self._customers_update(d)
            if d > 0 and self.shape.full_extracts and not (self.faults and d == self.schedule.plans_update):
                self._write_plans(d, self.plans)  # the whole catalogue again, as it stands
            events = make_day(self._rng(_ACTIVITY, d), self._day(d), self.crm.values["customer_id"],
                              self.plans["plan_id"], self.timeline, self.shape.events_per_customer_day,
                              self.weights)
            lines = self._write_activity(d, events)
            if self.faults:
                material = self._material(d, lines)
                for i, kind in enumerate(file_faults):
                    if self.schedule.spread(i) == d:
                        builder, reason = F.FILE_FAULTS[kind]
                        path, data = builder(material)
                        self.lake.fault(self.lake.write(path, data, self._day(d)), kind, F.FILE, reason.value)
        summary = self.lake.finish()
        log.debug("generated %s files, %s", sum(summary.files.values()), summary.rows)
        return summary

    # --- customers -------------------------------------------------------------------------------
    def _mistype_emails(self) -> None:
        """A few emails of the first extract lack their '@'; the update extracts correct them, spread
        over the later days."""
        rng = self._rng(_TYPOS)
        n = self.crm.count
        wrong = np.sort(rng.choice(n, max(1, round(n * EMAIL_TYPO_SHARE)), replace=False))
        correct = self.crm.values["email"][wrong].copy()
        self.crm.values["email"][wrong] = np.strings.replace(correct, "@", "")
        self.typos = np.array_split(wrong, max(1, self.days - 1))
        self.corrections = dict(zip(wrong.tolist(), correct.tolist(), strict=True))

    def _customers_update(self, d: int) -> None:
        rng = self._rng(_STATUS, d)
        n = self.crm.count
        moved = rng.choice(n, max(1, round(n * STATUS_CHANGES_PER_DAY)), replace=False)
        self.crm.status[moved] = (self.crm.status[moved] + rng.integers(1, len(vocab.STATUSES), len(moved))) % len(
            vocab.STATUSES)
        fixed = self.typos[d - 1] if d - 1 < len(self.typos) else np.empty(0, dtype=np.int64)
        self.crm.values["email"][fixed] = [self.corrections[i] for i in fixed.tolist()]
        changed = np.asarray(sorted(self.timeline.changed), dtype=np.int64)
        self.timeline.changed.clear()
        index = np.arange(n) if self.shape.full_extracts else np.union1d(np.union1d(changed, moved), fixed)
        bad: list[tuple[str, str, str]] = []
        if self.faults and d == self.schedule.spread(0):
            bad = [("date_of_birth", "bad_date", "-02-30"), ("status", "bad_status", "closed")]
        self._write_customers(d, index, bad)

    def _write_customers(self, d: int, index: np.ndarray, bad: list[tuple[str, str, str]] | None = None) -> None:
        day = self._day(d)
        contract = get_contract("customers")
        values = self.crm.rows(index, self.plans["plan_id"])
        kinds: list[str] = []
        if bad:
            # Extra rows for customers not otherwise in the file: their current state, one field wrong.
            others = np.setdiff1d(np.arange(self.crm.count), index)
            if len(others) < len(bad):  # a full extract: the bad rows repeat customers it already holds
                others = np.arange(self.crm.count)
            picked = self.fault_rng.choice(others, len(bad), replace=False)
            extra = self.crm.rows(picked, self.plans["plan_id"])
            for i, (column, kind, value) in enumerate(bad):
                extra[column][i] = extra[column][i][:4] + value if value.startswith("-") else value
                kinds.append(kind)
            values = {c: np.concatenate([values[c], extra[c]]).astype(STR) for c in values}
        as_csv = self.shape.customers_format == "csv" or (self.faults and d > 0 and d == self.schedule.csv_customers)
        camel = self.faults and d > 0 and d == self.schedule.camel_customers
        key: KeyStyle = F.camel if camel else same_name
        name = f"raw/customers/customers_{F.stamp(day)}.{'csv' if as_csv else 'ndjson'}"
        if as_csv:
            header, lines = csv_lines(values, contract, key)
            data = file_bytes(lines, header)
        else:
            data = file_bytes(ndjson_lines(values, contract, key))
        path = self.lake.write(name, data, day, len(values["customer_id"]))
        if self.faults and d > 0:
            self.lake.fault(path, "customers_update", F.FEED)
        for kind, flag in (("csv_customers", as_csv and self.faults), ("camel_case_columns", camel)):
            if flag:
                self.lake.fault(path, kind, F.FEED)
        for kind in kinds:
            self.lake.fault(path, kind, F.RECORD)

    # --- plans -----------------------------------------------------------------------------------
    def _plans_update(self, d: int) -> None:
        """The catalogue again: one price changed, one plan added (new plan changes may pick it from
        today), one row with a non-numeric price, one with ``12.0`` in an int column, and a column the
        contract does not name."""
        rng = self.fault_rng
        count = len(self.plans["plan_id"])
        added = make_plans(rng, 1, first_number=count + 1)
        catalogue = {c: np.concatenate([v, added[c]]).astype(STR) for c, v in self.plans.items()}
        repriced, no_price, as_float = rng.choice(count, 3, replace=False)
        lo, hi = vocab.PLAN_PRICE_CENTS
        cents = int(rng.integers(lo, hi + 1))
        catalogue["monthly_price"][repriced] = f"{cents // 100}.{cents % 100:02d}"
        self.plans = catalogue
        written = {c: v.copy() for c, v in catalogue.items()}
        written["monthly_price"][no_price] = "N/A"
        written["data_allowance_gb"][as_float] = f"{written['data_allowance_gb'][as_float]}.0"
        promo = np.full(len(written["plan_id"]), "", dtype=STR)
        promo[-1] = "LAUNCH"
        path = self._write_plans(d, written, extra={"promo_code": promo})
        for kind, level in (("plans_update", F.FEED), ("extra_column", F.FEED), ("non_numeric_price", F.RECORD),
                            ("int_as_float", F.RECORD)):
            self.lake.fault(path, kind, level)

    def _write_plans(self, d: int, values: dict[str, Strings], extra: dict[str, Strings] | None = None) -> str:
        day = self._day(d)
        header, lines = csv_lines(values, get_contract("plans"), extra=extra)
        return self.lake.write(f"raw/plans/plans_{F.stamp(day)}.csv", file_bytes(lines, header), day, len(lines))

    # --- activity --------------------------------------------------------------------------------
    def _write_activity(self, d: int, events: ActivityDay) -> list[str]:
        day = self._day(d)
        lines = ndjson_lines(events.values, get_contract("activity"))
        safe = np.flatnonzero(events.event_type != PLAN_CHANGED)
        kinds: list[str] = []
        at: list[int] = []  # where each fault line ends up, to record it against the file holding it
        if self.faults and len(safe):
            kinds = [k for i, k in enumerate(_ACTIVITY_RECORD_FAULTS) if self.schedule.spread(i) == d]
            kinds = [k for k in kinds if k != "duplicate_event_later_file" or self.previous_event]
            picked = [int(self.fault_rng.choice(safe)) for _ in kinds]
            written = [self._bad_event(k, lines[i], day) for k, i in zip(kinds, picked, strict=True)]
            last_safe = lines[int(safe[-1])]
            for kind, origin, line in zip(kinds, picked, written, strict=True):
                # A same-file duplicate goes right after its original, so it stays in the same file
                # when the day is split into several.
                where = (origin + 1 if kind == "duplicate_event_same_file"
                         else int(self.fault_rng.integers(0, len(lines) + 1)))
                lines.insert(where, line)
                at = [p + (p >= where) for p in at] + [where]
            self.previous_event = last_safe
        gzipped = self.faults and d == self.schedule.gzipped_activity
        parts = min(self.shape.activity_files, max(1, len(lines)))
        bounds = np.linspace(0, len(lines), parts + 1).round().astype(int).tolist()
        for part, (lo, hi) in enumerate(pairwise(bounds), start=1):
            suffix = f"_{part:02d}" if parts > 1 else ""
            name = f"{F.activity_folder(day)}/logs_{F.stamp(day)}{suffix}.ndjson" + (".gz" if gzipped else "")
            data = file_bytes(lines[lo:hi])
            path = self.lake.write(name, gzip.compress(data, mtime=0) if gzipped else data, day, hi - lo)
            for kind, where in zip(kinds, at, strict=True):
                if lo <= where < hi:
                    self.lake.fault(path, kind, F.FEED if kind in F.FEED_VARIANTS else F.RECORD)
            if gzipped:
                self.lake.fault(path, "gzipped_file", F.FEED)
        return lines

    def _bad_event(self, kind: str, line: str, day: date) -> str:
        if kind == "duplicate_event_same_file":
            return line
        if kind == "duplicate_event_later_file":
            assert self.previous_event is not None
            return self.previous_event
        record = json.loads(line)
        record["event_id"] = str(uuid4_texts(self.fault_rng, 1)[0])
        if kind == "missing_event_id":
            del record["event_id"]
        elif kind == "missing_customer_id":
            record["customer_id"] = None
        elif kind == "bad_date":
            record["event_timestamp"] = f"{day.year}-02-30T" + str(record["event_timestamp"])[11:]
        elif kind in F.STRING_FAULTS:
            column, value = F.STRING_FAULTS[kind]
            record[column] = value
        return json.dumps(record)

    def _material(self, d: int, lines: list[str]) -> F.Material:
        contract = get_contract("customers")
        day = self._day(d).isoformat()
        safe: list[dict[str, object]] = []
        for line in lines:
            record = json.loads(line)
            # Only well-formed events: a bad file built from them must fail for its own reason alone.
            plain = all(isinstance(v, str) for k, v in record.items() if k != "payload")
            if (plain and record.get("event_type") != "plan_changed" and record.get("event_id")
                    and record.get("customer_id") and str(record.get("event_timestamp", "")).startswith(day)):
                safe.append(record)
            if len(safe) == 6:
                break
        rows = F.rows_of(self.crm.rows(np.arange(min(5, self.crm.count)), self.plans["plan_id"]), 5)
        return F.Material(
            day=self._day(d),
            events=safe,
            customers=[{c: r[c] for c in contract.column_names} for r in rows],
            plans=[{c: p[c] for c in get_contract("plans").column_names} for p in F.rows_of(self.plans, 6)],
            rng=self._rng(_FAULTS, d),
        )


