"""Budget enforcement: hard USD caps per user, tenant, API key, model or overall, per day,
month or in total, and per request — never overspent, even under concurrency.

Before each model call the router reserves its worst-case cost (prompt tokens, with a
margin, plus the full output allowance, at that deployment's price) on every budget the call
falls under, atomically; after the call the reservation becomes the real cost, and on a
failure or a cancellation it is released (in a `finally`). Reservations expire after
`hold_s`, so a crashed worker frees its hold. Amounts are integer micro-dollars.

As spend nears a cap (`downgrade_at`) the router moves cheaper models first; at the cap a
call raises `BudgetExceeded`, naming the budget, its limit and its spend.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dt_time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from langroute.errors import BudgetExceeded, ConfigError
from langroute.features import RequestFeatures
from langroute.registry.spec import ModelSpec, Pricing
from langroute.state.budget import BudgetLine, BudgetStore, InMemoryBudgets

MICRO = 1_000_000
PROMPT_MARGIN = 1.1
"""Prompt tokens are counted locally (tiktoken); the reservation allows 10 % more, or as
much more as the model's provider has been seen to bill (`Budgets.prompt_margin`)."""

BILLED_WINDOW = 50
"""How many recent calls of a model the learned prompt margin looks at."""
MIN_COUNTED = 32
"""Prompts shorter than this (counted) teach nothing: framing tokens dominate them."""

Scope = Literal["global", "user", "tenant", "api_key", "model"]
Period = Literal["day", "month", "total"]
_TTL = {"day": 3 * 86_400, "month": 40 * 86_400, "total": 0}


class Budget(BaseModel):
    """One cap: `limit_usd` per `period`, for each `per` value (or only the one in `only`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_usd: float = Field(gt=0)
    per: Scope = "global"
    """What the cap is counted by: every call together, or each user / tenant / API key /
    model separately. Calls that name no user (tenant, key) share one `(none)` ledger."""
    period: Period = "day"
    only: str | None = None
    """Apply the cap to this one user / tenant / key / model only (None: to each)."""
    timezone: str = "UTC"
    """Where days and months begin (an IANA name, e.g. `Europe/Paris`)."""
    downgrade_at: float = Field(default=0.8, ge=0, le=1)
    """Share of the limit past which cheaper models are tried first."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'UTC'") from None
        return value

    @property
    def name(self) -> str:
        who = "all calls" if self.per == "global" else f"{self.per}={self.only or '*'}"
        return f"{who} per {self.period}"


class BudgetState(BaseModel):
    """A budget as one call saw it: limit, spend and holds of its current period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget: str
    key: str
    limit_usd: float
    spent_usd: float
    held_usd: float
    downgrade_at: float = 1.0

    @property
    def used(self) -> float:
        """Share of the limit spent or held."""
        return (self.spent_usd + self.held_usd) / self.limit_usd


@dataclass(frozen=True, slots=True)
class Reservation:
    """A hold taken for one call on one deployment, to settle or release exactly once."""

    rid: str
    lines: tuple[BudgetLine, ...]
    amount: int


def key_fingerprint(api_key: str) -> str:
    """The id under which an API key's spend is kept: a hash, never the key itself."""
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def micros(usd: float) -> int:
    return math.ceil(usd * MICRO - 1e-6)


class Budgets:
    """The budgets a router enforces, and the store that keeps their ledgers."""

    def __init__(
        self,
        budgets: Sequence[Budget] = (),
        store: BudgetStore | None = None,
        *,
        per_request_usd: float | None = None,
        hold_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not budgets and per_request_usd is None:
            raise ConfigError("Budgets needs at least one Budget(...) or per_request_usd")
        if per_request_usd is not None and per_request_usd <= 0:
            raise ConfigError(f"per_request_usd must be positive, got {per_request_usd}")
        if hold_s <= 0:
            raise ConfigError(f"hold_s must be positive, got {hold_s}")
        self.budgets = tuple(budgets)
        self.store: BudgetStore = store if store is not None else InMemoryBudgets(clock)
        self.per_request_usd = per_request_usd
        self.hold_s = hold_s
        self._clock = clock
        self._seq = itertools.count(1)  # next() is atomic: no two holds share an id
        self._prefix = os.urandom(6).hex()
        self._windows: dict[int, tuple[str, float, float]] = {}
        self._billed: dict[str, deque[float]] = {}

    def observe_prompt(self, model: str, counted: int, billed: int) -> None:
        """Learn from one answered call how many prompt tokens `model`'s provider billed
        for the `counted` the router counted: its tokenizer may cut text finer than
        o200k (Anthropic's does), or the count may be the offline estimate."""
        if counted >= MIN_COUNTED and billed > 0:
            self._billed.setdefault(model, deque(maxlen=BILLED_WINDOW)).append(billed / counted)

    def prompt_margin(self, spec: ModelSpec) -> float:
        """What a hold multiplies the counted prompt tokens by: the largest billed-to-counted
        ratio among the model's last calls (at least `PROMPT_MARGIN`); before any call,
        `PROMPT_MARGIN` times the model's `prompt_token_factor`."""
        seen = self._billed.get(spec.name)
        if seen:
            return max(PROMPT_MARGIN, *seen)
        return PROMPT_MARGIN * spec.prompt_token_factor

    @property
    def blocking(self) -> bool:
        return bool(getattr(self.store, "blocking", False))

    def _value(self, budget: Budget, features: RequestFeatures, model: str) -> str | None:
        value = {
            "global": "all",
            "user": features.user,
            "tenant": features.tenant,
            "api_key": features.api_key_id,
            "model": model,
        }[budget.per]
        value = value or "(none)"
        if budget.only is not None and value != budget.only:
            return None
        return value

    def _window(self, index: int, budget: Budget) -> str:
        """The current period's label, e.g. `day:2026-11-27@UTC`; computed once per period
        (the date arithmetic runs when a period ends, not on every call)."""
        if budget.period == "total":
            return "total"
        now = self._clock()
        cached = self._windows.get(index)
        if cached is not None and cached[1] <= now < cached[2]:
            return cached[0]
        zone = ZoneInfo(budget.timezone)
        local = datetime.fromtimestamp(now, zone)
        if budget.period == "day":
            first = local.date()
            after = first + timedelta(days=1)
            label = first.isoformat()
        else:
            first = local.date().replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
            label = first.strftime("%Y-%m")
        window = f"{budget.period}:{label}@{budget.timezone}"
        start = datetime.combine(first, dt_time(0), zone).timestamp()
        end = datetime.combine(after, dt_time(0), zone).timestamp()
        self._windows[index] = (window, start, end)
        return window

    def lines(self, features: RequestFeatures, model: str) -> list[tuple[Budget, BudgetLine]]:
        """The budget ledgers a call of `model` falls under now."""
        out: dict[str, tuple[Budget, BudgetLine]] = {}
        for index, budget in enumerate(self.budgets):
            value = self._value(budget, features, model)
            if value is None:
                continue
            key = f"{budget.per}={value}|{self._window(index, budget)}"
            line = BudgetLine(key, micros(budget.limit_usd), _TTL[budget.period])
            if key not in out or line.limit < out[key][1].limit:
                out[key] = (budget, line)  # one ledger per key: the tightest cap holds
        return list(out.values())

    @staticmethod
    def worst_case_usd(
        features: RequestFeatures,
        spec: ModelSpec,
        pricing: Pricing,
        prompt_margin: float = PROMPT_MARGIN,
    ) -> float:
        """The most this call can cost: the prompt (times the margin, at the highest prompt
        price: a framework's request may write it to the provider's cache) and the whole
        output allowance (the call's max_tokens, else the model's max output)."""
        output = min(features.max_output_tokens or spec.max_output_tokens, spec.max_output_tokens)
        return pricing.most_for(math.ceil(features.prompt_tokens * prompt_margin), output)

    def reserve(
        self,
        features: RequestFeatures,
        spec: ModelSpec,
        pricing: Pricing,
        *,
        hold_s: float | None = None,
    ) -> Reservation:
        """Hold the worst-case cost on every budget the call falls under, or raise
        `BudgetExceeded` naming the budget that cannot hold it. The hold expires after
        `hold_s` (default: the budgets' `hold_s`)."""
        needed = self.worst_case_usd(features, spec, pricing, self.prompt_margin(spec))
        if self.per_request_usd is not None and needed > self.per_request_usd:
            raise BudgetExceeded(
                "per request",
                limit_usd=self.per_request_usd,
                spent_usd=0.0,
                held_usd=0.0,
                needed_usd=needed,
                model=spec.name,
            )
        pairs = self.lines(features, spec.name)
        rid = f"{self._prefix}{next(self._seq):x}"
        amount = micros(needed)
        lines = tuple(line for _, line in pairs)
        if lines:
            expires = self._clock() + (hold_s if hold_s is not None else self.hold_s)
            refusal = self.store.reserve(lines, amount, rid, expires)
            if refusal is not None:
                budget = next(b for b, line in pairs if line == refusal.line)
                raise BudgetExceeded(
                    f"{budget.name} ({refusal.line.key})",
                    limit_usd=refusal.line.limit / MICRO,
                    spent_usd=refusal.spent / MICRO,
                    held_usd=refusal.held / MICRO,
                    needed_usd=needed,
                    model=spec.name,
                )
        return Reservation(rid, lines, amount)

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Turn a hold into the real cost (0 releases it)."""
        if reservation.lines:
            self.store.settle(reservation.lines, reservation.rid, micros(cost_usd))

    def states(self, features: RequestFeatures, models: Sequence[str]) -> list[BudgetState]:
        """The current period of every budget these models' calls fall under."""
        seen: dict[str, Budget] = {}
        limits: dict[str, int] = {}
        for model in models:
            for budget, line in self.lines(features, model):
                seen.setdefault(line.key, budget)
                limits[line.key] = line.limit
        if not seen:
            return []
        usage = self.store.usage(list(seen))
        return [
            BudgetState(
                budget=seen[key].name,
                key=key,
                limit_usd=limits[key] / MICRO,
                spent_usd=spent / MICRO,
                held_usd=held / MICRO,
                downgrade_at=seen[key].downgrade_at,
            )
            for key, (spent, held) in zip(seen, usage, strict=True)
        ]
