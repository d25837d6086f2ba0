"""The validation gate: a pure, streaming check of one file (docs/spec.md §3), with no AWS in it.

``validate_stream`` is the single entry point the Lambda, the CLI and the local runner share.
"""

from typing import TYPE_CHECKING

from telco360.gate.verdict import Reason, Verdict

if TYPE_CHECKING:
    from telco360.gate.core import validate_stream

__all__ = ["Reason", "Verdict", "validate_stream"]


def __getattr__(name: str) -> object:  # lazy, so importing the package stays cheap (no contracts loaded)
    if name == "validate_stream":
        from telco360.gate.core import validate_stream

        return validate_stream
    raise AttributeError(name)
