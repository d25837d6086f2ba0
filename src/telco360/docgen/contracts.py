"""The contract tables of docs/contracts.md: the docs show what the code reads, never a copy of it."""

from __future__ import annotations

from telco360.contracts import Column, Contract, load_contracts


def _notes(column: Column) -> str:
    notes = []
    if column.lowercase:
        notes.append("lowercased")
    if column.aliases:
        notes.append("aliases: " + ", ".join(f"`{a}`" for a in column.aliases))
    if column.pii:
        notes.append("PII")
    return "; ".join(notes)


def contract_markdown(contract: Contract) -> list[str]:
    return [
        f"### {contract.name} (version {contract.version})",
        "",
        f"Business key: `{', '.join(contract.business_key)}`. Raw folders: "
        f"{', '.join(f'`{p}`' for p in contract.path_names)}; file-name prefixes: "
        f"{', '.join(f'`{p}`' for p in contract.file_name_prefixes)}.",
        "",
        "| column | type | required | notes |",
        "|---|---|---|---|",
        *(f"| `{c.name}` | {c.type_label} | {'yes' if c.required else ''} | {_notes(c)} |" for c in contract.columns),
        "",
    ]


def contracts_markdown() -> str:
    """Every dataset's contract as a Markdown table, in the contracts' order."""
    lines = [line for contract in load_contracts().values() for line in contract_markdown(contract)]
    return "\n".join(lines)
