"""The data contracts, as code.

One Open Data Contract Standard (ODCS v3) YAML file per dataset lives beside this module. This module
is the only reader of those files and turns them into small immutable objects that every other part
of the pipeline uses: the validator (required columns, dataset detection), Glue Job A (types, casting,
aliases), Glue Job B (business keys, staging columns), the docs and the tests. Nothing else in the
repository writes a column name, type, key or alias down.

How ODCS fields map to the pipeline's types (the cast rules themselves live in docs/spec.md §2 and in
``telco360.spark.casting``):

=====================  ==================  =====================================================
logicalType            physicalType        pipeline type
=====================  ==================  =====================================================
string                 string              ``string`` (``enum`` with customProperty allowedValues)
date                   date                ``date``
date                   timestamp           ``timestamp`` (UTC, microseconds)
integer                bigint              ``int`` (64-bit)
number                 decimal(p,s)        ``decimal`` with precision p, scale s
boolean                boolean             ``boolean``
object                 json                ``json`` (a JSON object, stored as compact text)
=====================  ==================  =====================================================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

ColumnType = Literal["string", "enum", "date", "timestamp", "int", "decimal", "boolean", "json"]

DATASETS: tuple[str, ...] = ("customers", "plans", "activity")

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_PHYSICAL_TYPES: dict[tuple[str, str], ColumnType] = {
    ("string", "string"): "string",
    ("date", "date"): "date",
    ("date", "timestamp"): "timestamp",
    ("integer", "bigint"): "int",
    ("boolean", "boolean"): "boolean",
    ("object", "json"): "json",
}


class ContractError(ValueError):
    """A contract file does not follow the subset of ODCS this pipeline understands."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    precision: int | None = None
    scale: int | None = None
    allowed_values: tuple[str, ...] = ()
    lowercase: bool = False
    aliases: tuple[str, ...] = ()
    pii: bool = False
    description: str = ""

    @property
    def type_label(self) -> str:
        """The type as the docs and reports spell it (``decimal(12,2)``, ``enum(a, b)``)."""
        if self.type == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.type == "enum":
            return f"enum({', '.join(self.allowed_values)})"
        return self.type


@dataclass(frozen=True)
class Contract:
    name: str
    version: str
    columns: tuple[Column, ...]
    business_key: tuple[str, ...]
    path_names: tuple[str, ...]
    file_name_prefixes: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def name_map(self) -> dict[str, str]:
        """Normalized raw column name (or alias) -> contract column name."""
        return _name_map(self)

    def canonical(self, raw_name: str) -> str | None:
        """The contract column a raw column name means, or None when the contract does not name it."""
        return self.name_map.get(normalize_name(raw_name))


@cache
def _name_map(contract: Contract) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for c in contract.columns:
        mapping[c.name] = c.name
        for alias in c.aliases:
            mapping[normalize_name(alias)] = c.name
    return mapping


# --- column-name normalization -------------------------------------------------------------------
# Written once as data so that Python (CSV headers, the validator) and Spark (NDJSON keys, with
# regexp_replace) apply exactly the same steps. Replacements use ``{1}`` for a group.
SPLIT_WORDS: tuple[tuple[str, str], ...] = (
    (r"([A-Z]+)([A-Z][a-z])", "{1}_{2}"),  # "HTTPStatus" -> "HTTP_Status"
    (r"([a-z0-9])([A-Z])", "{1}_{2}"),  # "customerId" -> "customer_Id"
)
NON_ALNUM = r"[^a-z0-9]+"


def python_replacement(template: str) -> str:
    return template.replace("{1}", r"\1").replace("{2}", r"\2")


def java_replacement(template: str) -> str:
    return template.replace("{1}", "$1").replace("{2}", "$2")


_SPLIT_COMPILED = tuple((re.compile(p), python_replacement(r)) for p, r in SPLIT_WORDS)
_NON_ALNUM_COMPILED = re.compile(NON_ALNUM)


def normalize_name(raw: str) -> str:
    """``Customer ID``, ``customerId``, ``CUSTOMER_ID`` and ``customer-id`` -> ``customer_id``.

    Trim, split camelCase/PascalCase words, lowercase, turn each run of characters outside
    ``[a-z0-9]`` into ``_``, strip leading and trailing ``_`` (docs/spec.md §2). Trimming needs no step
    of its own: surrounding white space becomes a leading or trailing ``_`` and is stripped.
    """
    name = raw.lstrip("\ufeff")
    for pattern, replacement in _SPLIT_COMPILED:
        name = pattern.sub(replacement, name)
    return _NON_ALNUM_COMPILED.sub("_", name.lower()).strip("_")


# --- loading -------------------------------------------------------------------------------------
def _custom(props: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {p["property"]: p.get("value") for p in props or []}


def _column(prop: dict[str, Any], dataset: str) -> Column:
    where = f"{dataset}.{prop.get('name')}"
    logical, physical = str(prop.get("logicalType", "")), str(prop.get("physicalType", ""))
    custom = _custom(prop.get("customProperties"))
    precision = scale = None
    decimal = _DECIMAL.match(physical)
    if logical == "number" and decimal:
        ctype: ColumnType = "decimal"
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
    elif (logical, physical) in _PHYSICAL_TYPES:
        ctype = _PHYSICAL_TYPES[(logical, physical)]
    else:
        raise ContractError(f"{where}: unsupported logicalType/physicalType {logical}/{physical}")
    allowed = tuple(str(v).lower() for v in custom.get("allowedValues") or ())
    if allowed:
        if ctype != "string":
            raise ContractError(f"{where}: allowedValues needs a string column")
        ctype = "enum"
    name = str(prop["name"])
    if normalize_name(name) != name:
        raise ContractError(f"{where}: a contract column name must already be normalized")
    return Column(
        name=name,
        type=ctype,
        required=bool(prop.get("required", False)),
        precision=precision,
        scale=scale,
        allowed_values=allowed,
        lowercase=bool(custom.get("lowercase", False)),
        aliases=tuple(str(a) for a in custom.get("aliases") or ()),
        pii=prop.get("classification") == "pii",
        description=str(prop.get("description", "")),
    )


def parse_contract(doc: dict[str, Any]) -> Contract:
    """Build a Contract from a parsed ODCS document (raises ContractError when it does not fit)."""
    if doc.get("kind") != "DataContract" or not str(doc.get("apiVersion", "")).startswith("v3"):
        raise ContractError("not an ODCS v3 DataContract")
    name = str(doc["name"])
    schema = doc.get("schema") or []
    if len(schema) != 1:
        raise ContractError(f"{name}: expected exactly one schema object")
    columns = tuple(_column(p, name) for p in schema[0].get("properties") or [])
    keys = sorted((c for c in schema[0]["properties"] if c.get("primaryKey")),
                  key=lambda c: c.get("primaryKeyPosition", 0))
    if not keys:
        raise ContractError(f"{name}: no primaryKey column (the business key)")
    seen: dict[str, str] = {}
    for c in columns:
        for alias in (c.name, *c.aliases):
            norm = normalize_name(alias)
            if seen.setdefault(norm, c.name) != c.name:
                raise ContractError(f"{name}: {alias!r} names both {seen[norm]} and {c.name}")
    custom = _custom(doc.get("customProperties"))
    return Contract(
        name=name,
        version=str(doc["version"]),
        columns=columns,
        business_key=tuple(str(k["name"]) for k in keys),
        path_names=tuple(custom.get("pathNames") or (name,)),
        file_name_prefixes=tuple(custom.get("fileNamePrefixes") or (name,)),
        raw=doc,
    )


def load_contract_text(text: str) -> Contract:
    return parse_contract(yaml.safe_load(text))


CONTRACTS_DIR_ENV = "TELCO360_CONTRACTS_DIR"


@cache
def load_contracts() -> dict[str, Contract]:
    """Every dataset's contract, by dataset name, read once per process.

    ``TELCO360_CONTRACTS_DIR`` may name a folder whose ``<dataset>.odcs.yaml`` files take precedence
    over the packaged ones: to try a contract change end to end before it is released (and in tests).
    """
    packaged = resources.files(__name__)
    override = os.environ.get(CONTRACTS_DIR_ENV)
    out = {}
    for ds in DATASETS:
        candidate = os.path.join(override, f"{ds}.odcs.yaml") if override else ""
        if candidate and os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as fh:
                out[ds] = load_contract_text(fh.read())
        else:
            out[ds] = load_contract_text((packaged / f"{ds}.odcs.yaml").read_text("utf-8"))
    return out


def get_contract(dataset: str) -> Contract:
    try:
        return load_contracts()[dataset]
    except KeyError:
        raise KeyError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}") from None


# --- dataset detection ---------------------------------------------------------------------------
_ZONES = ("raw", "archive", "rejected")
_TOKEN = re.compile(r"[a-z]+")


def detect_dataset_from_key(key: str) -> str | None:
    """The dataset a key or path names: a folder component (``raw/<dataset>/...``, ``activity_logs``),
    else the first word of the file name (``customers_20250101.csv``, ``logs_20250101.ndjson``)."""
    parts = [p for p in key.replace("\\", "/").split("/") if p]
    if not parts:
        return None
    folders, file_name = parts[:-1], parts[-1]
    contracts = load_contracts().values()
    for part in folders:
        low = part.lower()
        if low in _ZONES or "=" in low:
            continue
        for c in contracts:
            if low in c.path_names:
                return c.name
    first = _TOKEN.match(file_name.lower())
    if first:
        for c in contracts:
            if first.group(0) in c.file_name_prefixes:
                return c.name
    return None


def detect_dataset_from_columns(raw_names: list[str] | set[str] | tuple[str, ...]) -> str | None:
    """The dataset whose required columns all appear among these raw column names; when several fit,
    the one naming most of the columns; None when none fits or the best is a tie."""
    scored: list[tuple[int, str]] = []
    for c in load_contracts().values():
        known = {c.canonical(n) for n in raw_names} - {None}
        if set(c.required_columns) <= known:
            scored.append((len(known), c.name))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    return scored[0][1]
