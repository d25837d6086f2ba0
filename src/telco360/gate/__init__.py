"""The validation gate: a pure, streaming check of one file (contract.md §3), with no AWS in it.

``validate_stream`` is the single entry point the Lambda, the CLI and the local runner share.
"""

from telco360.gate.verdict import Reason, Verdict

__all__ = ["Reason", "Verdict", "validate_stream"]


def __getattr__(name: str):  # lazy, so importing the package stays cheap
    if name == "validate_stream":
        from telco360.gate.core import validate_stream

        return validate_stream
    raise AttributeError(name)
