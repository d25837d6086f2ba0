"""The generated sections of the docs: tables rendered from the code (the contracts, the staging
schemas) between markers in a Markdown file, so a doc cannot drift from what the code does.

A section sits between ``<!-- BEGIN GENERATED: <name> -->`` and ``<!-- END GENERATED: <name> -->``;
``telco360 docs`` rewrites every section in place and ``telco360 docs --check`` fails on a stale one.
The renderers import Spark's types, so they are imported when a section is rendered, not here: the
command line builds its parser without starting anything heavy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


class MissingSection(ValueError):
    """A doc lacks the markers of a section it should hold (or the doc itself is missing)."""


def _contracts() -> str:
    from telco360.docgen.contracts import contracts_markdown

    return contracts_markdown()


def _staging_tables() -> str:
    from telco360.docgen.warehouse import staging_tables_markdown

    return staging_tables_markdown()


@dataclass(frozen=True)
class Section:
    doc: str  # relative to the repository root
    name: str
    render: Callable[[], str]

    @property
    def begin(self) -> str:
        return f"<!-- BEGIN GENERATED: {self.name} -->\n"

    @property
    def end(self) -> str:
        return f"<!-- END GENERATED: {self.name} -->"


SECTIONS: tuple[Section, ...] = (
    Section("docs/contracts.md", "contracts", _contracts),
    Section("docs/warehouse.md", "staging tables", _staging_tables),
)


def _bounds(text: str, section: Section) -> tuple[int, int]:
    start, end = text.find(section.begin), text.find(section.end)
    if start < 0 or end < start:
        raise MissingSection(f"{section.doc} has no '{section.begin.strip()}' ... '{section.end}' markers")
    return start + len(section.begin), end


def current_text(text: str, section: Section) -> str:
    """What ``text`` holds between the section's markers."""
    start, end = _bounds(text, section)
    return text[start:end]


def splice(text: str, section: Section, body: str) -> str:
    """``text`` with the section's content replaced by ``body``; the markers and the rest stay."""
    start, end = _bounds(text, section)
    return text[:start] + body + text[end:]


def render_docs(root: Path, sections: tuple[Section, ...] = SECTIONS) -> dict[Path, tuple[str, str]]:
    """Every doc holding a section, as (text now, text with every section regenerated), by path."""
    docs: dict[Path, tuple[str, str]] = {}
    for section in sections:
        path = root / section.doc
        if path not in docs:
            if not path.is_file():
                raise MissingSection(f"{path} does not exist (run from the repository root, or pass --root)")
            text = path.read_text("utf-8")
            docs[path] = (text, text)
        before, after = docs[path]
        docs[path] = (before, splice(after, section, section.render()))
    return docs


def stale_docs(root: Path, sections: tuple[Section, ...] = SECTIONS) -> list[Path]:
    """The docs whose generated sections differ from what the code renders now."""
    return [path for path, (before, after) in render_docs(root, sections).items() if before != after]


def write_docs(root: Path, sections: tuple[Section, ...] = SECTIONS) -> list[Path]:
    """Regenerate every section in place; returns the docs that changed."""
    changed = []
    for path, (before, after) in render_docs(root, sections).items():
        if before != after:
            path.write_text(after, "utf-8")
            changed.append(path)
    return changed
