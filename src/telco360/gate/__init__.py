"""The validation gate: a pure, streaming check of one file (docs/spec.md §3), with no AWS in it.

``validate_stream`` is the single entry point the Lambda, the CLI and the local runner share;
``validate_and_index`` is the same check that also returns the index of an accepted file's lines
(telco360.gate.lines), which the Lambda and the local gate store beside the archived file.
"""

from typing import TYPE_CHECKING

from telco360.gate.verdict import Reason, Verdict

if TYPE_CHECKING:
    from telco360.gate.core import Indexed, validate_and_index, validate_stream

__all__ = ["Indexed", "Reason", "Verdict", "validate_and_index", "validate_stream"]
_CORE = frozenset({"Indexed", "validate_and_index", "validate_stream"})


def __getattr__(name: str) -> object:  # lazy, so importing the package stays cheap (no contracts loaded)
    if name in _CORE:
        from telco360.gate import core

        return getattr(core, name)
    raise AttributeError(name)
