"""Contract evolution: compatible changes pass with a minor bump, breaking ones need a major bump and a
history-migration note, and every current contract is checked against its last released version."""

from __future__ import annotations

from dataclasses import replace

import pytest

from telco360.contracts import Column, Contract, get_contract
from telco360.contracts.compat import check_all, classify, contract_at, last_released, release_problems


def _with(contract: Contract, version: str, columns: tuple[Column, ...] | None = None, **kw) -> Contract:
    raw = dict(contract.raw, version=version)
    return replace(contract, version=version, columns=columns or contract.columns, raw=raw, **kw)


def _replace_column(contract: Contract, name: str, **changes) -> tuple[Column, ...]:
    return tuple(replace(c, **changes) if c.name == name else c for c in contract.columns)


def test_every_current_contract_is_releasable_after_its_last_released_version() -> None:
    # GIVEN the contracts in the repo WHEN compared with released/<dataset>/<last>.odcs.yaml THEN no problem
    assert check_all() == {"customers": [], "plans": [], "activity": []}
    for dataset in ("customers", "plans", "activity"):
        assert last_released(dataset) is not None


def test_a_new_optional_column_and_a_widened_decimal_are_compatible_with_a_minor_bump() -> None:
    plans = get_contract("plans")
    columns = _replace_column(plans, "monthly_price", precision=14, scale=4)
    columns += (Column(name="promo_code", type="string"),)
    new = _with(plans, "1.1.0", columns)
    changes = classify(plans, new)
    assert [str(c) for c in changes] == [
        "compatible: monthly_price: type widened decimal(12,2) -> decimal(14,4)",
        "compatible: promo_code: optional column added",
    ]
    assert release_problems(plans, new) == []


def test_a_new_enum_value_and_a_new_alias_are_compatible() -> None:
    customers = get_contract("customers")
    columns = _replace_column(customers, "status", allowed_values=("active", "suspended", "cancelled", "dormant"))
    columns = tuple(replace(c, aliases=("msisdn",)) if c.name == "phone" else c for c in columns)
    new = _with(customers, "1.1.0", columns)
    assert all(c.compatible for c in classify(customers, new))
    assert release_problems(customers, new) == []


@pytest.mark.parametrize(("change", "expected"), [
    ("remove", "BREAKING: email: column removed (or renamed)"),
    ("narrow", "BREAKING: monthly_price: type changed decimal(12,2) -> decimal(10,2)"),
    ("required", "BREAKING: email: became required"),
    ("new_required", "BREAKING: loyalty_id: required column added"),
    ("key", "BREAKING: business key ('customer_id',) -> ('email',)"),
    ("enum", "BREAKING: status: enum value 'cancelled' removed"),
])
def test_breaking_changes_are_classified_as_breaking(change: str, expected: str) -> None:
    customers, plans = get_contract("customers"), get_contract("plans")
    old = plans if change == "narrow" else customers
    new = {
        "remove": lambda: _with(customers, "2.0.0", tuple(c for c in customers.columns if c.name != "email")),
        "narrow": lambda: _with(plans, "2.0.0", _replace_column(plans, "monthly_price", precision=10)),
        "required": lambda: _with(customers, "2.0.0", _replace_column(customers, "email", required=True)),
        "new_required": lambda: _with(customers, "2.0.0",
                                      (*customers.columns, Column(name="loyalty_id", type="string", required=True))),
        "key": lambda: _with(customers, "2.0.0", business_key=("email",)),
        "enum": lambda: _with(customers, "2.0.0",
                              _replace_column(customers, "status", allowed_values=("active", "suspended"))),
    }[change]()
    assert expected in [str(c) for c in classify(old, new)]


def test_a_breaking_change_without_a_major_bump_and_migration_note_is_caught() -> None:
    # GIVEN a removed column released as a minor version
    customers = get_contract("customers")
    new = _with(customers, "1.1.0", tuple(c for c in customers.columns if c.name != "email"))
    problems = release_problems(customers, new)
    # THEN both the missing major bump and the missing migration note are reported
    assert any("needs a major version bump" in p for p in problems)
    assert any("must say how history is migrated" in p for p in problems)


def test_a_breaking_change_with_a_major_bump_and_a_migration_note_may_be_released() -> None:
    customers = get_contract("customers")
    note = {"property": "historyMigration", "value": "email moved to a contact dataset; Job B backfilled"}
    new = _with(customers, "2.0.0", tuple(c for c in customers.columns if c.name != "email"))
    new = replace(new, raw=dict(new.raw, customProperties=[*(new.raw.get("customProperties") or []), note]))
    assert release_problems(customers, new) == []


def test_a_changed_contract_must_bump_its_version() -> None:
    plans = get_contract("plans")
    new = _with(plans, plans.version, (*plans.columns, Column(name="promo_code", type="string")))
    assert release_problems(plans, new) == [f"plans {plans.version} -> {plans.version}: "
                                            "the contract changed but its version was not bumped"]


def test_an_older_version_is_read_from_the_released_folder() -> None:
    assert contract_at("plans", "1.0.0").column("monthly_price").type_label == "decimal(12,2)"
    with pytest.raises(KeyError, match="not released"):
        contract_at("plans", "0.9.0")
