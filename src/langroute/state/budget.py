"""Budget ledgers: spend and in-flight reservations per budget key, in integer micro-dollars.

A call reserves its worst-case cost on every budget it falls under, in one atomic step
(all or none); when it ends, the reservation is replaced by the real cost (`settle`), or
dropped (`settle` with 0) on failure or cancellation. A reservation carries an expiry, so a
worker that crashed mid-call frees its hold after `hold_s`. Available = limit − spent −
unexpired holds; a reservation that would take it below zero is refused.

`BudgetStore` is the protocol; `InMemoryBudgets` keeps the ledgers in this process.
SQLite and Redis stores (`state.sqlite`, `state.redis`) share them between processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One budget key a call falls under, e.g. `tenant=acme|day:2026-11-27`."""

    key: str
    limit: int
    """Micro-dollars."""
    ttl_s: int
    """How long the ledger is kept after its last update (0: forever)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """The budget line that could not hold a reservation, and its state at that moment."""

    line: BudgetLine
    spent: int
    held: int


class BudgetStore(Protocol):
    def reserve(
        self, lines: Sequence[BudgetLine], amount: int, rid: str, expires_at: float
    ) -> Refusal | None:
        """Hold `amount` on every line, or on none: None when held, else the refusing line."""
        ...

    def settle(self, lines: Sequence[BudgetLine], rid: str, amount: int) -> None:
        """Replace reservation `rid` by a spend of `amount` (0: release it) on every line."""
        ...

    def usage(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        """(spent, held by unexpired reservations) per key."""
        ...


@dataclass
class _Ledger:
    spent: int = 0
    holds: dict[str, tuple[int, float]] = field(default_factory=dict)

    def held(self, now: float) -> int:
        for rid in [r for r, (_, exp) in self.holds.items() if exp <= now]:
            del self.holds[rid]
        return sum(a for a, _ in self.holds.values())


class InMemoryBudgets:
    """Budget ledgers in this process (one lock: reservations are all-or-none)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._ledgers: dict[str, _Ledger] = {}
        self._lock = threading.Lock()

    def reserve(
        self, lines: Sequence[BudgetLine], amount: int, rid: str, expires_at: float
    ) -> Refusal | None:
        now = self._clock()
        with self._lock:
            ledgers = [self._ledgers.setdefault(line.key, _Ledger()) for line in lines]
            for line, ledger in zip(lines, ledgers, strict=True):
                held = ledger.held(now)
                if ledger.spent + held + amount > line.limit:
                    return Refusal(line, ledger.spent, held)
            for ledger in ledgers:
                ledger.holds[rid] = (amount, expires_at)
            return None

    def settle(self, lines: Sequence[BudgetLine], rid: str, amount: int) -> None:
        with self._lock:
            for line in lines:
                ledger = self._ledgers.setdefault(line.key, _Ledger())
                ledger.holds.pop(rid, None)
                ledger.spent += amount

    def usage(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        now = self._clock()
        with self._lock:
            out = []
            for key in keys:
                ledger = self._ledgers.get(key) or _Ledger()
                out.append((ledger.spent, ledger.held(now)))
            return out
