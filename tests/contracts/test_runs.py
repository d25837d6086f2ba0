"""``telco360.runs.resolve_request``: the one reading of a pipeline request (the state machine's input),
shared by the Glue jobs, the CLI and the tests; and ``job_dates``, the jobs' two argument forms."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telco360 import runs
from telco360.runs import RunRequest, job_dates, resolve_request

AT = "2025-01-16T02:00:05.123Z"  # an execution's start time as $$.Execution.StartTime writes it


# --- the accepted shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize(("request_", "expected"), [
    ({}, RunRequest(date(2025, 1, 15), date(2025, 1, 15), scheduled=True)),
    ({"scheduled_time": "2025-03-01T02:00:00Z"}, RunRequest(date(2025, 2, 28), date(2025, 2, 28), scheduled=True)),
    ({"run_date": "2025-01-02"}, RunRequest(date(2025, 1, 2), date(2025, 1, 2))),
    ({"run_date": "2025-01-02", "from_step": "stage"}, RunRequest(date(2025, 1, 2), date(2025, 1, 2), "stage")),
    ({"run_date": "2025-01-02T00:30:00+01:00"}, RunRequest(date(2024, 12, 31), date(2024, 12, 31))),
    ({"from_date": "2025-01-30", "to_date": "2025-02-02"}, RunRequest(date(2025, 1, 30), date(2025, 2, 2))),
    ({"from_date": "2025-01-30", "to_date": "2025-01-30", "from_step": "clean"},
     RunRequest(date(2025, 1, 30), date(2025, 1, 30), "clean")),
])
def test_each_accepted_shape_resolves_to_its_dates(request_: dict[str, Any], expected: RunRequest) -> None:
    # GIVEN a request of an accepted shape, WHEN it is resolved (as a mapping and as the jobs' text)
    # THEN it names the expected dates and step, the same either way
    assert resolve_request(request_, AT) == expected
    assert resolve_request(json.dumps(request_), AT) == expected


def test_the_dates_of_a_request_are_its_whole_range_in_order() -> None:
    resolved = resolve_request({"from_date": "2024-02-27", "to_date": "2024-03-01"})
    assert [d.isoformat() for d in resolved.dates] == ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"]


def test_an_empty_request_is_the_day_before_it_was_requested() -> None:
    # GIVEN {} requested just after midnight UTC on New Year's day, in any notation of that instant
    for at in ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000Z", "2025-01-01T01:00:00+01:00",
               "2025-01-01T00:00:00.123456789Z"):
        # THEN it is the last day of the year before
        assert resolve_request("{}", at).first == date(2024, 12, 31)
    # AND without that time it cannot be resolved
    with pytest.raises(ValueError, match="needs the time it was requested at"):
        resolve_request({})


def test_the_schedules_time_decides_the_day_not_the_request_time() -> None:
    # A Scheduler retry may start the execution a day late: the scheduled time still decides.
    assert resolve_request({"scheduled_time": "2025-03-01T02:00:00Z"}, "2025-03-02T09:00:00.000Z").first == \
        date(2025, 2, 28)


# --- what is refused, and how clearly -----------------------------------------------------------------
@pytest.mark.parametrize(("request_", "message"), [
    ({"rundate": "2025-01-02"}, "unknown key.*'rundate'"),
    ({"run_date": "2025-01-02", "from_stpe": "stage"}, "unknown key.*'from_stpe'"),
    ({"from_date": "2025-01-30", "to_date": "2025-01-31", "x": 1}, "unknown key.*'x'"),
    ({"run_date": "2025-01-02", "from_date": "2025-01-02", "to_date": "2025-01-03"}, "none of the accepted shapes"),
    ({"from_date": "2025-01-30"}, "none of the accepted shapes"),
    ({"to_date": "2025-01-30"}, "none of the accepted shapes"),
    ({"from_step": "stage"}, "none of the accepted shapes"),
    ({"scheduled_time": "2025-01-16T02:00:00Z", "from_step": "stage"}, "none of the accepted shapes"),
    ({"scheduled_time": "2025-01-16T02:00:00Z", "run_date": "2025-01-02"}, "none of the accepted shapes"),
    ({"run_date": 20250102}, "run_date must be a string"),
    ({"from_date": "2025-01-30", "to_date": None}, "to_date must be a string"),
    ({"run_date": "2025-01-02", "from_step": 1}, "from_step must be a string"),
    ({"scheduled_time": 1}, "scheduled_time must be a string"),
    ({"run_date": "2025-01-02", "from_step": "load"}, "from_step must be one of clean, stage"),
    ({"run_date": "2025-02-30"}, "run_date .*not a calendar date"),
    ({"run_date": "2025-1-2"}, "run_date .*YYYY-MM-DD"),
    ({"run_date": ""}, "run_date .*YYYY-MM-DD"),
    ({"from_date": "2025-02-02", "to_date": "2025-01-30"}, "reversed"),
    ({"from_date": "2024-01-01", "to_date": "2025-06-01"}, "at most 366 days"),
    ({"scheduled_time": "2025-01-16"}, "scheduled_time must be a point in time"),
    ({"scheduled_time": "2025-01-16T25:00:00Z"}, "not a valid point in time"),
    ([], "must be a JSON object"),
    ("not json", "not JSON"),
    ('"2025-01-02"', "must be a JSON object"),
])
def test_a_wrong_request_is_refused_saying_why(request_: Any, message: str) -> None:
    # GIVEN a request the jobs cannot run; WHEN it is resolved; THEN a ValueError says what is wrong
    with pytest.raises(ValueError, match=message):
        resolve_request(request_, AT)


def test_a_wrong_shape_lists_the_accepted_ones() -> None:
    with pytest.raises(ValueError) as refused:
        resolve_request({"rundate": "2025-01-02"}, AT)
    assert runs.ACCEPTED_REQUESTS in str(refused.value)


def test_the_time_of_the_request_is_a_point_in_time() -> None:
    with pytest.raises(ValueError, match="the time of the request must be a point in time"):
        resolve_request({}, "2025-01-16")


# --- properties ---------------------------------------------------------------------------------------
_DAYS = st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 31))


@settings(derandomize=True, max_examples=200)
@given(first=_DAYS, length=st.integers(0, runs.MAX_RANGE_DAYS - 1), from_step=st.sampled_from([None, "clean", "stage"]))
def test_any_range_in_order_of_at_most_366_days_resolves_to_itself(first: date, length: int,
                                                                  from_step: str | None) -> None:
    last = min(first + timedelta(days=length), date(9999, 12, 31))
    request = {"from_date": first.isoformat(), "to_date": last.isoformat()} | (
        {"from_step": from_step} if from_step else {})
    resolved = resolve_request(json.dumps(request))
    assert (resolved.first, resolved.last, resolved.from_step) == (first, last, from_step or "clean")
    assert len(resolved.dates) == (last - first).days + 1


@settings(derandomize=True, max_examples=200)
@given(day=_DAYS, hour=st.integers(0, 23))
def test_a_scheduled_request_is_the_utc_day_before_its_time(day: date, hour: int) -> None:
    at = f"{day.isoformat()}T{hour:02d}:00:00Z"
    assert resolve_request({"scheduled_time": at}).first == day - timedelta(days=1)
    assert resolve_request({}, at).first == day - timedelta(days=1)


@settings(derandomize=True, max_examples=200)
@given(extra=st.text(min_size=1, max_size=12).filter(
    lambda k: k not in ("run_date", "from_date", "to_date", "scheduled_time", "from_step")),
    value=st.one_of(st.none(), st.integers(), st.text(max_size=5)))
def test_any_other_key_is_refused(extra: str, value: Any) -> None:
    with pytest.raises(ValueError, match="unknown key"):
        resolve_request({"run_date": "2025-01-02", extra: value}, AT)


# --- the jobs' arguments ------------------------------------------------------------------------------
@pytest.mark.parametrize(("arguments", "expected"), [
    ({"request": '{"run_date":"2025-01-02"}', "requested_at": AT}, ("2025-01-02", "2025-01-02")),
    ({"request": '{"from_date":"2025-01-30","to_date":"2025-02-02","from_step":"stage"}'},
     ("2025-01-30", "2025-02-02")),
    ({"request": "{}", "requested_at": AT}, ("2025-01-15", "2025-01-15")),
    ({"run_date": "2025-01-02"}, ("2025-01-02", "2025-01-02")),
    ({"run_date": "2025-01-02", "through": "2025-01-04"}, ("2025-01-02", "2025-01-04")),
    ({"run_date": "2025-01-03T06:00:00Z", "through": "2025-01-05T06:00:00Z"}, ("2025-01-02", "2025-01-04")),
])
def test_a_job_takes_the_state_machines_request_or_dates_given_by_hand(arguments: dict[str, str],
                                                                       expected: tuple[str, str]) -> None:
    # GIVEN a job run's arguments (others, like lake_root, are ignored); THEN its first and last date
    assert job_dates(arguments | {"lake_root": "s3://b", "JOB_NAME": "clean"}) == expected


@pytest.mark.parametrize("arguments", [
    {},
    {"requested_at": AT},
    {"through": "2025-01-04"},
    {"request": "{}", "run_date": "2025-01-02"},
    {"request": '{"run_date":"2025-01-02"}', "through": "2025-01-04"},
    {"run_date": "2025-01-02", "requested_at": AT},
])
def test_a_job_refuses_no_form_or_a_mix_of_both(arguments: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"either --request .* or --run_date"):
        job_dates(arguments)


def test_a_job_refuses_a_request_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="not a calendar date"):
        job_dates({"request": '{"run_date":"2025-02-30"}', "requested_at": AT})
