"""One day of activity events, built column by column with numpy.

Everything is drawn in bulk except the plan changes: a ``plan_changed`` event's ``old_plan_id`` is
the customer's plan just before it, so those few events (under 4% of the day) walk the customers'
plan timeline in time order, the order staging uses (event_timestamp, then event_id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from telco360.generator import vocab
from telco360.generator.text import STR, Strings, clock_texts, concat, float_text, pick, texts, uuid4_texts

EVENT_TYPES: tuple[str, ...] = tuple(vocab.EVENT_MIX)
_WEIGHTS = np.asarray(tuple(vocab.EVENT_MIX.values())) / sum(vocab.EVENT_MIX.values())
PLAN_CHANGED = EVENT_TYPES.index("plan_changed")


def event_weights(plan_change_share: float | None = None) -> np.ndarray:
    """The share of each event type: the real mix, or the real mix with ``plan_changed`` set to
    ``plan_change_share`` and the other types scaled so they keep their proportions."""
    if plan_change_share is None:
        return _WEIGHTS
    if not 0.0 <= plan_change_share < 1.0:
        raise ValueError(f"plan_change_share must be in [0, 1), got {plan_change_share}")
    weights = _WEIGHTS.copy()
    weights[PLAN_CHANGED] = 0.0
    weights *= (1.0 - plan_change_share) / weights.sum()
    weights[PLAN_CHANGED] = plan_change_share
    return weights


def _choice_payload(key: str, options: tuple[str, ...] | tuple[int, ...]) -> Callable[[np.random.Generator, int],
                                                                                         Strings]:
    # Whole payload texts are precomputed per option, so a draw is a single take.
    rendered = tuple(f'{{"{key}": {o if isinstance(o, int) else chr(34) + o + chr(34)}}}' for o in options)

    def build(rng: np.random.Generator, n: int) -> Strings:
        return pick(rendered, rng.integers(0, len(options), n))

    return build


def _number_payload(key: str, bounds: tuple[int, int], as_float: bool) -> Callable[[np.random.Generator, int],
                                                                                     Strings]:
    def build(rng: np.random.Generator, n: int) -> Strings:
        values = rng.integers(bounds[0], bounds[1] + 1, n)
        return concat(f'{{"{key}": ', float_text(values) if as_float else texts(values), "}")

    return build


def _id_payload(id_key: str, number_key: str, bounds: tuple[int, int]) -> Callable[[np.random.Generator, int],
                                                                                    Strings]:
    def build(rng: np.random.Generator, n: int) -> Strings:
        return concat(f'{{"{id_key}": "', uuid4_texts(rng, n), f'", "{number_key}": ',
                      texts(rng.integers(bounds[0], bounds[1] + 1, n)), "}")

    return build


def _addon_payload(rng: np.random.Generator, n: int) -> Strings:
    return concat('{"addon": "', pick(vocab.ADDONS, rng.integers(0, len(vocab.ADDONS), n)), '", "price": ',
                  texts(np.asarray(vocab.ADDON_PRICES)[rng.integers(0, len(vocab.ADDON_PRICES), n)]), "}")


def _empty_payload(rng: np.random.Generator, n: int) -> Strings:
    return np.full(n, "{}", dtype=STR)


# event type -> payload builder (plan_changed is filled in by the plan timeline)
PAYLOADS: dict[str, Callable[[np.random.Generator, int], Strings]] = {
    "login": _empty_payload,
    "logout": _empty_payload,
    "app_open": _choice_payload("screen", vocab.SCREENS),
    "app_click": _choice_payload("element", vocab.ELEMENTS),
    "data_session": _number_payload("mb_used", vocab.MB_USED_CENTS, as_float=True),
    "call_started": _id_payload("call_id", "duration_seconds", vocab.CALL_SECONDS),
    "call_ended": _id_payload("call_id", "duration_seconds", vocab.CALL_SECONDS),
    "sms_sent": _id_payload("sms_id", "length", vocab.SMS_LENGTH),
    "topup": _choice_payload("amount", vocab.TOPUP_AMOUNTS),
    "balance_check": _number_payload("balance", vocab.BALANCE_CENTS, as_float=True),
    "purchase_addon": _addon_payload,
    "network_drop": _choice_payload("reason", vocab.DROP_REASONS),
}


@dataclass
class PlanTimeline:
    """Each customer's current plan (an index into the catalogue), moved by plan_changed events."""

    plan: np.ndarray
    changed: set[int] = field(default_factory=set)  # customers whose plan moved since the last extract

    def change(self, rng: np.random.Generator, customers: np.ndarray, plan_count: int) -> tuple[np.ndarray,
                                                                                               np.ndarray]:
        """Apply changes for ``customers`` in the given (time) order; returns (old, new) plan indices.
        The new plan is any other plan of the ``plan_count`` available, uniformly."""
        draws = rng.integers(0, plan_count - 1, len(customers))
        old = np.empty(len(customers), dtype=np.int64)
        new = np.empty(len(customers), dtype=np.int64)
        for i, (customer, draw) in enumerate(zip(customers.tolist(), draws.tolist(), strict=True)):
            old[i] = current = int(self.plan[customer])
            new[i] = draw + (draw >= current)
            self.plan[customer] = new[i]
            self.changed.add(customer)
        return old, new


@dataclass
class ActivityDay:
    values: dict[str, Strings]  # contract column -> text (payload: JSON text)
    event_type: np.ndarray  # int index into EVENT_TYPES
    customer: np.ndarray  # int index of the customer

    @property
    def count(self) -> int:
        return len(self.event_type)


def make_day(rng: np.random.Generator, day: date, customer_ids: Strings, plan_ids: Strings,
             timeline: PlanTimeline, events_per_customer_day: float = vocab.EVENTS_PER_CUSTOMER_DAY,
             weights: np.ndarray = _WEIGHTS) -> ActivityDay:
    """One day of events (Poisson volume around ``events_per_customer_day`` per customer, the type mix
    ``weights``, uniform customers and times of day). Event ids are random UUIDs drawn from the day's
    stream, so every day has its own events."""
    n = int(rng.poisson(events_per_customer_day * len(customer_ids)))
    kind = rng.choice(len(EVENT_TYPES), n, p=weights)
    customer = rng.integers(0, len(customer_ids), n)
    second = rng.integers(0, 86_400, n)
    event_id = uuid4_texts(rng, n)
    octets = texts(np.arange(256))[rng.integers(0, 256, (4, n))]
    payload = np.full(n, "{}", dtype=STR)
    for t, name in enumerate(EVENT_TYPES):
        where = np.flatnonzero(kind == t)
        if name != "plan_changed" and len(where):
            payload[where] = PAYLOADS[name](rng, len(where))
    changes = np.flatnonzero(kind == PLAN_CHANGED)
    changes = changes[np.lexsort((event_id[changes], second[changes]))]
    old, new = timeline.change(rng, customer[changes], len(plan_ids))
    payload[changes] = concat('{"new_plan_id": "', plan_ids[new], '", "old_plan_id": "', plan_ids[old], '"}')
    values = {
        "event_id": event_id,
        "customer_id": customer_ids[customer],
        "event_type": pick(EVENT_TYPES, kind),
        "event_timestamp": concat(f"{day.isoformat()}T", clock_texts()[second], "Z"),
        "device_type": pick(vocab.DEVICE_TYPES, rng.integers(0, len(vocab.DEVICE_TYPES), n)),
        "ip_address": concat(octets[0], ".", octets[1], ".", octets[2], ".", octets[3]),
        "network_type": pick(vocab.NETWORK_TYPES, rng.integers(0, len(vocab.NETWORK_TYPES), n)),
        "payload": payload,
    }
    return ActivityDay(values, kind, customer)
