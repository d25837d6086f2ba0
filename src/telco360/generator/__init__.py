"""A realistic data generator: the producers' raw files (docs/spec.md §1-§3), deterministic for a seed.

``generate(out, customers, days, start_date, seed, faults, *, events_per_customer_day, activity_files,
full_extracts, customers_format, plan_change_share)`` writes ``out/raw/...`` and ``out/arrivals.json``
and returns a ``GenerationSummary``. numpy is imported only when it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telco360.generator.core import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]


def __getattr__(name: str) -> Any:  # lazy, so that the CLI starts without numpy
    if name in __all__:
        from telco360.generator import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
