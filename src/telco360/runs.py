"""What a run is for: the one place a run date is parsed, a schedule's time is turned into the day it
processes, and a range of dates is expanded. The jobs, the command line and the state machine's
callers all use these functions, so a date means the same thing everywhere (docs/spec.md §1).

A run request names its dates in one of two ways:

- a calendar date ``YYYY-MM-DD`` (any year 0001-9999): that day;
- a point in time ``YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`` (the daily schedule's time, or an execution's
  start time for ``{}``): the UTC day *before* it, i.e. the last complete day of arrivals.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

MAX_RANGE_DAYS = 366
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_run_date(value: str) -> date:
    """A run date ``YYYY-MM-DD`` (raises ValueError with a clear message otherwise)."""
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError(f"run date must be YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"run date {value!r} is not a calendar date") from None


def resolve_run_date(value: str) -> date:
    """A calendar date as it is, or a point in time (a schedule's time) as the UTC day before it."""
    if isinstance(value, str) and _INSTANT.match(value):
        # Python 3.11's fromisoformat takes "Z" and up to 6 fraction digits; AWS may print 9.
        text = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("Z", "+00:00")
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid point in time") from None
        day = instant.astimezone(UTC).date()
        if day == date.min:
            raise ValueError(f"{value!r} has no day before it")
        return day - timedelta(days=1)
    return parse_run_date(value)


def date_range(first: date, last: date) -> list[date]:
    """Every date from ``first`` to ``last``, both included, in order."""
    if last < first:
        raise ValueError(f"the range is reversed: {first.isoformat()} is after {last.isoformat()}")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValueError(f"a range covers at most {MAX_RANGE_DAYS} days; split {first}..{last}")
    return [first + timedelta(days=n) for n in range(days)]


def resolve_range(run_date: str, through: str | None = None) -> list[date]:
    """The dates a job run covers: ``run_date`` alone, or ``run_date`` .. ``through``."""
    first = resolve_run_date(run_date)
    return date_range(first, resolve_run_date(through) if through else first)
