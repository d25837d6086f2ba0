"""What a real feed does wrong, as files and records (docs/spec.md §3 and §2).

File-level faults are whole files the gate must reject, one per §3 failure, each with the Reason code
the gate gives it. Record-level faults are bad records inside otherwise valid files: the gate lets
them through and job A quarantines (or de-duplicates) them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from telco360.contracts import get_contract
from telco360.gate.verdict import Reason
from telco360.generator.text import Strings
from telco360.reports import QuarantineReason, ReasonCode

FILE, RECORD, FEED = "file", "record", "feed"  # fault levels: rejected file, bad record, valid variant


def activity_folder(day: date) -> str:
    return f"raw/activity_logs/year={day:%Y}/month={day:%m}/day={day:%d}"


def stamp(day: date) -> str:
    return f"{day:%Y%m%d}"


def camel(name: str) -> str:
    """``plan_name`` -> ``planName``: how a Java or JavaScript producer spells a column."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def rows_of(values: dict[str, Strings], limit: int) -> list[dict[str, str]]:
    names = list(values)
    count = min(limit, len(values[names[0]]))
    return [{name: str(values[name][i]) for name in names} for i in range(count)]


def csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def ndjson_text(records: list[object]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8")


@dataclass(frozen=True)
class Material:
    """A day's valid content that fault files are cut from (events exclude plan changes, so a rejected
    file never holds a plan change the timeline counted)."""

    day: date
    events: list[dict[str, object]]
    customers: list[dict[str, str]]  # contract columns, in contract order
    plans: list[dict[str, str]]
    rng: np.random.Generator


FileFault = Callable[[Material], tuple[str, bytes]]


def _unknown_dataset(m: Material) -> tuple[str, bytes]:
    rows = [[f"SKU-{i:04d}", f"WH-{i % 3 + 1}", str(i * 7 % 50)] for i in range(1, 6)]
    return f"raw/inventory/stock_{stamp(m.day)}.csv", csv_text(["sku", "warehouse", "quantity"], rows)


def _unsupported_extension(m: Material) -> tuple[str, bytes]:
    return f"raw/customers/customers_{stamp(m.day)}.xlsx", b"PK\x03\x04" + m.rng.bytes(256)


def _gzip_not_gzip(m: Material) -> tuple[str, bytes]:
    return f"{activity_folder(m.day)}/logs_{stamp(m.day)}-resend.ndjson.gz", ndjson_text(list(m.events))


def _gzip_truncated(m: Material) -> tuple[str, bytes]:
    data = gzip.compress(ndjson_text(list(m.events)), mtime=0)
    return f"{activity_folder(m.day)}/logs_{stamp(m.day)}-partial.ndjson.gz", data[: len(data) // 2]


def _invalid_utf8(m: Material) -> tuple[str, bytes]:
    # A Latin-1 export: "José" as the single byte 0xE9.
    data = ndjson_text(list(m.customers))
    data = re.sub(rb'("first_name": ")[^"]*', lambda g: g.group(1) + b"Jos\xe9", data, count=2)
    return f"raw/customers/customers_{stamp(m.day)}-latin1.ndjson", data


def _plans_csv(m: Material, transform: Callable[[list[str], list[list[str]]], tuple[list[str], list[list[str]]]],
               suffix: str) -> tuple[str, bytes]:
    header = list(m.plans[0])
    header, rows = transform(header, [list(p.values()) for p in m.plans])
    return f"raw/plans/plans_{stamp(m.day)}-{suffix}.csv", csv_text(header, rows)


def _csv_missing_required(m: Material) -> tuple[str, bytes]:
    drop = list(m.plans[0]).index(get_contract("plans").required_columns[0])
    return _plans_csv(m, lambda h, rows: (h[:drop] + h[drop + 1:], [r[:drop] + r[drop + 1:] for r in rows]),
                      "nokey")


def _csv_duplicate_column(m: Material) -> tuple[str, bytes]:
    # The same column twice, once as a camelCase producer spells it: equal after normalization.
    twice = next(c.name for c in get_contract("plans").columns if "_" in c.name and not c.required)
    at = list(m.plans[0]).index(twice)
    return _plans_csv(m, lambda h, rows: ([*h, camel(twice)], [[*r, r[at]] for r in rows]), "dupcol")


def _csv_field_count(m: Material) -> tuple[str, bytes]:
    # A price written with a thousands separator and no quotes: one field too many on that row.
    header, *lines = _plans_csv(m, lambda h, rows: (h, rows), "fields")[1].decode().splitlines()
    price = list(m.plans[0]).index("monthly_price")
    fields = lines[1].split(",")
    whole, cents = fields[price].split(".")
    fields[price] = f"{whole[:-3]},{whole[-3:]}.{cents}"
    lines[1] = ",".join(fields)
    return f"raw/plans/plans_{stamp(m.day)}-fields.csv", ("\n".join([header, *lines]) + "\n").encode()


def _csv_unterminated_quote(m: Material) -> tuple[str, bytes]:
    header, *lines = _plans_csv(m, lambda h, rows: (h, rows), "quote")[1].decode().splitlines()
    name = list(m.plans[0]).index("plan_name")
    fields = lines[-2].split(",")
    fields[name] = '"' + fields[name]
    lines[-2] = ",".join(fields)
    return f"raw/plans/plans_{stamp(m.day)}-quote.csv", ("\n".join([header, *lines]) + "\n").encode()


def _events_file(m: Material, suffix: str, edit: Callable[[list[str]], list[str]]) -> tuple[str, bytes]:
    lines = edit([json.dumps(e) for e in m.events])
    return f"{activity_folder(m.day)}/logs_{stamp(m.day)}-{suffix}.ndjson", ("\n".join(lines) + "\n").encode()


def _ndjson_not_object(m: Material) -> tuple[str, bytes]:
    # One batch wrapped in an array: valid JSON, not an object.
    return _events_file(m, "batch", lambda lines: [lines[0], "[" + lines[1] + ", " + lines[2] + "]", *lines[3:]])


def _ndjson_invalid_json(m: Material) -> tuple[str, bytes]:
    # A line cut by a partial write, followed by more lines.
    return _events_file(m, "cut", lambda lines: [lines[0], lines[1][: len(lines[1]) // 2], *lines[2:]])


def _ndjson_missing_required(m: Material) -> tuple[str, bytes]:
    # The producer renamed a required field in every record.
    gone = get_contract("activity").required_columns[-1]
    return _events_file(m, "renamed", lambda lines: [json.dumps({("ts" if k == gone else k): v
                                                                 for k, v in json.loads(line).items()})
                                                     for line in lines])


def _empty_file(m: Material) -> tuple[str, bytes]:
    return f"raw/customers/customers_{stamp(m.day)}-empty.ndjson", b""


def _csv_holding_json(m: Material) -> tuple[str, bytes]:
    return f"raw/plans/plans_{stamp(m.day)}-export.csv", ndjson_text(list(m.plans))


# kind -> (builder, the Reason the gate must give). One bad file each, spread over the days. A .gz
# name over plain text is content that does not match its extension, not a corrupt gzip stream.
FILE_FAULTS: dict[str, tuple[FileFault, Reason]] = {
    "unknown_dataset": (_unknown_dataset, Reason.UNKNOWN_DATASET),
    "unsupported_extension": (_unsupported_extension, Reason.UNSUPPORTED_EXTENSION),
    "gzip_not_gzip": (_gzip_not_gzip, Reason.FORMAT_MISMATCH),
    "gzip_truncated": (_gzip_truncated, Reason.CORRUPT_GZIP),
    "invalid_utf8": (_invalid_utf8, Reason.INVALID_UTF8),
    "csv_missing_required_column": (_csv_missing_required, Reason.CSV_MISSING_REQUIRED_COLUMN),
    "csv_duplicate_column": (_csv_duplicate_column, Reason.CSV_DUPLICATE_COLUMN),
    "csv_field_count": (_csv_field_count, Reason.CSV_FIELD_COUNT),
    "csv_unterminated_quote": (_csv_unterminated_quote, Reason.CSV_UNTERMINATED_QUOTE),
    "ndjson_not_object": (_ndjson_not_object, Reason.NDJSON_NOT_OBJECT),
    "ndjson_invalid_json": (_ndjson_invalid_json, Reason.NDJSON_INVALID_JSON),
    "ndjson_missing_required_column": (_ndjson_missing_required, Reason.NDJSON_MISSING_REQUIRED_COLUMN),
    "empty_file": (_empty_file, Reason.EMPTY_FILE),
    "csv_holding_json": (_csv_holding_json, Reason.FORMAT_MISMATCH),
}

# NDJSON values that are not JSON strings in an activity string column (docs/spec.md §2): an integer
# is taken as its text (a valid variant); a fraction, an exponent, an object or an array makes the
# record invalid with the reason ``<column>:invalid_string``. kind -> (column, JSON value).
STRING_FAULTS: dict[str, tuple[str, object]] = {
    "string_as_integer": ("network_type", 4),
    "string_as_fraction": ("device_type", 12.5),
    "string_as_exponent": ("ip_address", 1e-07),
    "string_as_object": ("device_type", {"os": "Android", "version": 14}),
    "string_as_array": ("network_type", ["4G", "5G"]),
}

# Record-level fault kinds (inside valid files) and valid feed variants, for docs and tests.
RECORD_FAULTS: tuple[str, ...] = (
    "bad_date", "missing_event_id", "missing_customer_id", "bad_status", "non_numeric_price", "int_as_float",
    "duplicate_event_same_file", "duplicate_event_later_file",
    "string_as_fraction", "string_as_exponent", "string_as_object", "string_as_array",
)
FEED_VARIANTS: tuple[str, ...] = (
    "gzipped_file", "csv_customers", "camel_case_columns", "extra_column", "customers_update", "plans_update",
    "string_as_integer",
)
# The quarantine reason Job A gives each invalid-string fault (telco360.reports.ReasonCode).
STRING_FAULT_REASONS: dict[str, str] = {
    kind: str(QuarantineReason(column, ReasonCode.INVALID_STRING))
    for kind, (column, _) in STRING_FAULTS.items() if kind in RECORD_FAULTS
}
