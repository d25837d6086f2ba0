"""What a run is for: the one place a run date is parsed, a schedule's time is turned into the day it
processes, a range of dates is expanded and a pipeline request (the state machine's input) is
resolved into its dates. The jobs, the command line and the state machine's callers all use these
functions, so a date means the same thing everywhere (docs/spec.md §1).

A run request names its dates in one of two ways:

- a calendar date ``YYYY-MM-DD`` (any year 0001-9999): that day;
- a point in time ``YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`` (the daily schedule's time, or an execution's
  start time for ``{}``): the UTC day *before* it, i.e. the last complete day of arrivals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, cast

MAX_RANGE_DAYS = 366
FromStep = Literal["clean", "stage"]
FROM_STEPS: tuple[FromStep, ...] = ("clean", "stage")
# The shapes of a pipeline request, as the state machine's InvalidInput cause lists them.
ACCEPTED_REQUESTS = (
    '{} (the day before the execution\'s start), {"scheduled_time": T} (the day before T), '
    '{"run_date": D} or {"from_date": D1, "to_date": D2}, the last two with an optional '
    '"from_step": "clean" or "stage"; no other key; dates are strings YYYY-MM-DD'
)
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


@dataclass(frozen=True)
class RunRequest:
    """A resolved pipeline request: the dates ``first`` .. ``last`` (in order, at most
    ``MAX_RANGE_DAYS``), the step the run starts from, and whether it is the daily schedule's
    (``{}`` or ``{"scheduled_time": T}``) rather than a rerun or a backfill naming its dates."""

    first: date
    last: date
    from_step: FromStep = "clean"
    scheduled: bool = False

    @property
    def dates(self) -> list[date]:
        return date_range(self.first, self.last)


# The keys each shape requires; "from_step" is optional next to the dates a rerun or backfill names.
_SHAPES: tuple[tuple[str, ...], ...] = (("run_date",), ("from_date", "to_date"), ("scheduled_time",), ())


def resolve_request(request: str | Mapping[str, Any], requested_at: str | None = None) -> RunRequest:
    """The dates a pipeline request names (the state machine's input, as a mapping or its JSON text):

    - ``{}``: the UTC day before ``requested_at`` (the execution's start time);
    - ``{"scheduled_time": T}``: the UTC day before the point in time ``T`` (what the schedule sends);
    - ``{"run_date": D}``: ``D``; ``{"from_date": D1, "to_date": D2}``: ``D1`` .. ``D2``; both with an
      optional ``"from_step": "clean" | "stage"`` (default ``clean``). ``D`` is a date ``YYYY-MM-DD``
      or a point in time (the day before it), as for ``resolve_run_date``.

    Any other key, a value of another type, a malformed or impossible date, a reversed range or one
    longer than ``MAX_RANGE_DAYS`` raises ValueError saying which and listing the accepted shapes."""
    payload = _request_object(request)
    present = tuple(key for shape in _SHAPES for key in shape if key in payload)
    shape = next((s for s in _SHAPES if s == present), None)
    unknown = sorted(set(payload) - {*present, "from_step"})
    if shape is None or unknown or (shape in (("scheduled_time",), ()) and "from_step" in payload):
        why = (f"unknown key(s) {', '.join(map(repr, unknown))}" if unknown
               else "keys that make none of the accepted shapes")
        raise ValueError(f"run request {_shown(payload)} has {why}; expected {ACCEPTED_REQUESTS}")
    for key in (*shape, *(["from_step"] if "from_step" in payload else [])):
        if not isinstance(payload[key], str):
            raise ValueError(f"{key} must be a string, got {_shown(payload[key])} in {_shown(payload)}")
    from_step = payload.get("from_step", "clean")
    if from_step not in FROM_STEPS:
        raise ValueError(f"from_step must be one of {', '.join(FROM_STEPS)}, got {from_step!r}")
    if shape == ("run_date",):
        first = last = _resolved(payload, "run_date")
    elif shape == ("from_date", "to_date"):
        first, last = _resolved(payload, "from_date"), _resolved(payload, "to_date")
    else:
        instant = payload["scheduled_time"] if shape else requested_at
        if instant is None:
            raise ValueError("the request {} needs the time it was requested at (the execution's start)")
        if not isinstance(instant, str) or not _INSTANT.match(instant):
            what = "scheduled_time" if shape else "the time of the request"
            raise ValueError(f"{what} must be a point in time YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM), got {instant!r}")
        first = last = resolve_run_date(instant)
    date_range(first, last)  # a reversed or too long range is refused here, not half-way through a job
    return RunRequest(first, last, cast(FromStep, from_step), scheduled=shape in (("scheduled_time",), ()))


def _resolved(payload: Mapping[str, Any], key: str) -> date:
    try:
        return resolve_run_date(payload[key])
    except ValueError as exc:
        raise ValueError(f"{key} of {_shown(payload)}: {exc}") from None


def _request_object(request: str | Mapping[str, Any]) -> Mapping[str, Any]:
    value: Any = request
    if isinstance(request, str):
        try:
            value = json.loads(request)
        except json.JSONDecodeError as exc:
            raise ValueError(f"run request is not JSON ({exc.msg}): {request[:200]!r}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"run request must be a JSON object, got {_shown(value)}; expected {ACCEPTED_REQUESTS}")
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."


def job_dates(arguments: Mapping[str, str]) -> tuple[str, str]:
    """The first and last date (``YYYY-MM-DD``) a Glue job run covers, from its arguments: either the
    state machine's ``--request`` (the execution's input as JSON text) with ``--requested_at`` (its
    start time, for ``{}``), or the hand-run form ``--run_date`` with an optional ``--through``.
    Exactly one form must be given (ValueError otherwise)."""
    by_request = "request" in arguments
    by_date = "run_date" in arguments
    if by_request == by_date or (by_request and "through" in arguments) or (by_date and "requested_at" in arguments):
        given = ", ".join(f"--{k}" for k in ("request", "requested_at", "run_date", "through") if k in arguments)
        raise ValueError("a job run takes either --request [--requested_at] (the state machine's form) or "
                         f"--run_date [--through] (by hand), got {given or 'neither'}")
    if by_request:
        resolved = resolve_request(arguments["request"], arguments.get("requested_at"))
        first, last = resolved.first, resolved.last
    else:
        dates = resolve_range(arguments["run_date"], arguments.get("through"))
        first, last = dates[0], dates[-1]
    return first.isoformat(), last.isoformat()
