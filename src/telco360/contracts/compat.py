"""Contract evolution: classify a change between two versions of a dataset contract, and check that a
new version is released the right way (docs/contracts.md).

Compatible (minor version bump): a new optional column, a new enum value, a wider type that readers
of old clean data can convert without loss, a new alias, a required column becoming optional.
Breaking (major version bump, and the contract must say how history is migrated): a removed or
renamed column, a narrower or different type, a new required column or an optional one becoming
required, a changed business key, a removed enum value or alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from telco360.contracts import Column, Contract, get_contract, load_contract_text, load_contracts

MIGRATION_PROPERTY = "historyMigration"


@dataclass(frozen=True)
class Change:
    column: str | None
    what: str
    compatible: bool

    def __str__(self) -> str:
        kind = "compatible" if self.compatible else "BREAKING"
        return f"{kind}: {self.column + ': ' if self.column else ''}{self.what}"


def _version_tuple(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in version.split("."))
    return major, minor, patch


def is_widening(old: Column, new: Column) -> bool:
    """True when every value of ``old``'s type is exactly representable in ``new``'s type.

    Limited to what ``telco360.spark.evolution`` converts when it reads clean partitions written
    under an older version: int into a decimal with at least 19 integer digits, and a decimal into
    one with at least as many integer digits and at least as many fraction digits.
    """
    if old.type == "int" and new.type == "decimal":
        return (new.precision or 0) - (new.scale or 0) >= 19
    if old.type == "decimal" and new.type == "decimal":
        old_int = (old.precision or 0) - (old.scale or 0)
        new_int = (new.precision or 0) - (new.scale or 0)
        return new_int >= old_int and (new.scale or 0) >= (old.scale or 0)
    return False


def _same_type(old: Column, new: Column) -> bool:
    if old.type in ("string", "enum") and new.type in ("string", "enum"):
        return True  # enum values are compared on their own
    return (old.type, old.precision, old.scale) == (new.type, new.precision, new.scale)


def _column_changes(old: Column, new: Column) -> list[Change]:
    changes: list[Change] = []
    name = new.name
    if not _same_type(old, new):
        if is_widening(old, new):
            changes.append(Change(name, f"type widened {old.type_label} -> {new.type_label}", True))
        else:
            changes.append(Change(name, f"type changed {old.type_label} -> {new.type_label}", False))
    if old.required != new.required:
        changes.append(Change(name, "became required" if new.required else "became optional", not new.required))
    if old.type == "enum" and new.type == "enum":
        old_values, new_values = set(old.allowed_values), set(new.allowed_values)
        added, removed = new_values - old_values, old_values - new_values
        changes += [Change(name, f"enum value {v!r} added", True) for v in sorted(added)]
        changes += [Change(name, f"enum value {v!r} removed", False) for v in sorted(removed)]
    elif old.type == "enum" and new.type == "string":
        changes.append(Change(name, "no longer restricted to allowed values", True))
    elif old.type == "string" and new.type == "enum":
        changes.append(Change(name, "now restricted to allowed values", False))
    if old.lowercase != new.lowercase:
        changes.append(Change(name, "lowercasing changed", False))
    changes += [Change(name, f"alias {a!r} added", True) for a in sorted(set(new.aliases) - set(old.aliases))]
    changes += [Change(name, f"alias {a!r} removed", False) for a in sorted(set(old.aliases) - set(new.aliases))]
    return changes


def classify(old: Contract, new: Contract) -> list[Change]:
    """Every difference between two versions of one dataset's contract that matters to the data."""
    changes: list[Change] = []
    if old.business_key != new.business_key:
        changes.append(Change(None, f"business key {old.business_key} -> {new.business_key}", False))
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    for name in old_cols.keys() - new_cols.keys():
        changes.append(Change(name, "column removed (or renamed)", False))
    for name, col in new_cols.items():
        if name not in old_cols:
            changes.append(Change(name, "required column added" if col.required else "optional column added",
                                  not col.required))
        else:
            changes += _column_changes(old_cols[name], col)
    return sorted(changes, key=lambda c: (c.compatible, c.column or "", c.what))


def release_problems(released: Contract, current: Contract) -> list[str]:
    """Why ``current`` may not be released after ``released`` ([] when it may)."""
    changes = classify(released, current)
    old_v, new_v = _version_tuple(released.version), _version_tuple(current.version)
    where = f"{current.name} {released.version} -> {current.version}"
    if not changes:
        return [] if new_v >= old_v else [f"{where}: version went backwards"]
    problems: list[str] = []
    breaking = [c for c in changes if not c.compatible]
    if new_v <= old_v:
        problems.append(f"{where}: the contract changed but its version was not bumped")
    if breaking:
        if new_v[0] <= old_v[0]:
            problems += [f"{where}: {c} needs a major version bump" for c in breaking]
        if not migration_note(current):
            problems.append(f"{where}: a breaking change must say how history is migrated "
                            f"(customProperty {MIGRATION_PROPERTY!r})")
    return problems


def migration_note(contract: Contract) -> str:
    for prop in contract.raw.get("customProperties") or []:
        if prop.get("property") == MIGRATION_PROPERTY:
            return str(prop.get("value") or "").strip()
    return ""


# --- released versions, kept in the repository ---------------------------------------------------
def _released_folder(dataset: str) -> Traversable:
    return resources.files("telco360.contracts") / "released" / dataset


@cache
def released_versions(dataset: str) -> dict[str, Contract]:
    """Every released version of a dataset's contract (``released/<dataset>/<version>.odcs.yaml``)."""
    folder = _released_folder(dataset)
    if not folder.is_dir():
        return {}
    out = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".odcs.yaml"):
            contract = load_contract_text(entry.read_text("utf-8"))
            out[contract.version] = contract
    return dict(sorted(out.items(), key=lambda kv: _version_tuple(kv[0])))


def last_released(dataset: str) -> Contract | None:
    versions = released_versions(dataset)
    return next(reversed(versions.values()), None) if versions else None


def contract_at(dataset: str, version: str) -> Contract:
    """The contract of a dataset as it was at ``version`` (the current one if it is that version)."""
    current = get_contract(dataset)
    if current.version == version:
        return current
    try:
        return released_versions(dataset)[version]
    except KeyError:
        raise KeyError(f"{dataset} contract version {version} is not released in this repository") from None


def check_all() -> dict[str, list[str]]:
    """Problems per dataset of releasing the current contracts; an unreleased dataset has none."""
    report: dict[str, list[str]] = {}
    for name, current in load_contracts().items():
        released = last_released(name)
        report[name] = release_problems(released, current) if released else []
    return report
