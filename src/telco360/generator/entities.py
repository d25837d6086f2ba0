"""Customers and plans: the master data, generated column by column, and the customers' state that
changes over the generated days (plan, status, email)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from telco360.generator import vocab
from telco360.generator.text import STR, Strings, concat, decimal_text, pick, texts, zero_padded


def customer_ids(n: int) -> Strings:
    return concat("C", zero_padded(np.arange(1, n + 1), 6))


def plan_ids(n: int) -> Strings:
    return concat("P", zero_padded(np.arange(1, n + 1), 3))


def _dates(rng: np.random.Generator, first: date, last: date, n: int) -> Strings:
    days = rng.integers(0, (last - first).days + 1, n)
    return texts(np.datetime64(first.isoformat(), "D") + days)


def _phones(rng: np.random.Generator, n: int) -> Strings:
    local = concat(vocab.LOCAL_PREFIX,
                   pick(vocab.LOCAL_LEADS, rng.choice(len(vocab.LOCAL_LEADS), n, p=vocab.LOCAL_LEAD_WEIGHTS)),
                   zero_padded(rng.integers(0, 10**9, n), 9))
    digits = np.where(rng.random(n) < vocab.FOREIGN_12_DIGIT_SHARE,
                      rng.integers(10**11, 10**12, n), rng.integers(10**10, 10**11, n))
    foreign = concat("+", texts(digits))
    return np.where(rng.random(n) < vocab.LOCAL_PHONE_SHARE, local, foreign).astype(STR)


@dataclass
class Customers:
    """Every customer's current state. ``plan`` indexes the plan catalogue (0 = P001)."""

    values: dict[str, Strings]  # column -> text, as of the last extract written
    plan: np.ndarray  # int, current plan index
    status: np.ndarray  # int, index into vocab.STATUSES

    @property
    def count(self) -> int:
        return len(self.plan)

    def rows(self, index: np.ndarray, plans: Strings) -> dict[str, Strings]:
        """The current state of some customers, as extract rows."""
        everyone = len(index) == self.count  # the full extract: no need to copy every column
        out = {name: column if everyone else column[index] for name, column in self.values.items()}
        out["plan_id"] = plans[self.plan[index]]
        out["status"] = pick(vocab.STATUSES, self.status[index])
        return out


def make_customers(rng: np.random.Generator, n: int, start: date, plan_count: int) -> Customers:
    first = rng.integers(0, len(vocab.FIRST_NAMES), n)
    last = rng.integers(0, len(vocab.LAST_NAMES), n)
    first_names, last_names = pick(vocab.FIRST_NAMES, first), pick(vocab.LAST_NAMES, last)
    number = texts(np.arange(1, n + 1))
    email = concat(np.strings.lower(first_names), ".", np.strings.lower(last_names), number, "@", vocab.EMAIL_DOMAIN)
    lo, hi = vocab.HOUSE_NUMBERS
    registered = _dates(rng, vocab.FIRST_REGISTRATION, date.fromordinal(start.toordinal() - 1), n)
    values = {
        "customer_id": customer_ids(n),
        "first_name": first_names,
        "last_name": last_names,
        "email": email,
        "phone": _phones(rng, n),
        "gender": pick(vocab.GENDERS, rng.integers(0, len(vocab.GENDERS), n)),
        "date_of_birth": _dates(rng, *vocab.BIRTH_DATES, n),
        "address": concat(texts(rng.integers(lo, hi + 1, n)), " ",
                          pick(vocab.STREETS, rng.integers(0, len(vocab.STREETS), n))),
        "state": pick(vocab.STATES, rng.integers(0, len(vocab.STATES), n)),
        "country": pick(vocab.COUNTRIES, rng.integers(0, len(vocab.COUNTRIES), n)),
        "registration_date": concat(registered, "T00:00:00Z"),
        "registration_channel": pick(vocab.CHANNELS, rng.integers(0, len(vocab.CHANNELS), n)),
    }
    return Customers(
        values=values,
        plan=rng.integers(0, plan_count, n),
        status=rng.choice(len(vocab.STATUSES), n, p=vocab.STATUS_WEIGHTS),
    )


def make_plans(rng: np.random.Generator, n: int, first_number: int = 1) -> dict[str, Strings]:
    """``n`` plans numbered from ``first_number`` (``Premium Plan 7``, P007)."""
    category = pick(vocab.PLAN_CATEGORIES,
                    rng.choice(len(vocab.PLAN_CATEGORIES), n, p=vocab.PLAN_CATEGORY_WEIGHTS))
    number = np.arange(first_number, first_number + n)
    lo, hi = vocab.PLAN_PRICE_CENTS

    def one_of(options: tuple[int, ...], p: tuple[float, ...] | None = None) -> Strings:
        return texts(np.asarray(options)[rng.choice(len(options), n, p=p)])

    return {
        "plan_id": concat("P", zero_padded(number, 3)),
        "plan_name": concat(category, " Plan ", texts(number)),
        "monthly_price": decimal_text(rng.integers(lo, hi + 1, n)),
        "data_allowance_gb": one_of(vocab.DATA_ALLOWANCES_GB),
        "voice_minutes": one_of(vocab.VOICE_MINUTES),
        "sms_allowance": one_of(vocab.SMS_ALLOWANCES),
        "roaming_enabled": pick(vocab.ROAMING_FLAGS, rng.integers(0, len(vocab.ROAMING_FLAGS), n)),
        "validity_days": one_of(vocab.VALIDITY_DAYS, vocab.VALIDITY_WEIGHTS),
        "plan_category": category,
    }
