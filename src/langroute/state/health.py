"""Health per deployment: latency and error EWMAs, in-flight count, cooldowns after 429s,
and a circuit breaker whose ejections grow on repeat (as Envoy's outlier detection does).

The breaker of a deployment opens after `failures_to_open` consecutive failures, for
`base_ejection_s` × 2^(ejections − 1) (at most `max_ejection_s`), then lets exactly one
probe through (half-open): a success closes it, a failure opens it again for longer. At
most `max_ejected_share` of one model's deployments are ejected at once, so a model is
never ejected entirely by its own breaker. A 429 with Retry-After puts the deployment in
cooldown for that long without counting as an ejection.

`HealthStore` is the protocol; `InMemoryHealth` keeps the state in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

BreakerState = Literal["closed", "open", "half_open"]


class HealthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=0.2, gt=0, le=1)
    """Weight of the newest sample in the latency and error EWMAs."""
    failures_to_open: int = Field(default=3, ge=1)
    base_ejection_s: float = Field(default=5.0, gt=0)
    max_ejection_s: float = Field(default=300.0, gt=0)
    max_ejected_share: float = Field(default=0.5, ge=0, le=1)
    """Of one model's deployments, at most this share may be ejected at once (at least one
    always stays when the model has more than one)."""


class DeploymentHealth(BaseModel):
    """A snapshot of one deployment's health."""

    key: str
    state: BreakerState
    latency_ms: float | None
    error_rate: float
    in_flight: int
    consecutive_failures: int
    ejections: int
    open_for_s: float
    """Seconds until an open breaker lets a probe through (0 when closed)."""


class HealthStore(Protocol):
    """Shared health of deployments, keyed `model@provider/model_id`."""

    def allowed(self, group: str, keys: Sequence[str]) -> list[str]:
        """The deployments of one model that may be called now, in the given order."""
        ...

    def started(self, key: str) -> bool:
        """Claims a call on `key` (the single probe of a half-open breaker); False if
        another call already holds that probe."""
        ...

    def succeeded(self, key: str, latency_ms: float) -> None: ...

    def failed(self, group: str, key: str, *, retry_after_s: float | None = None) -> None: ...

    def abandoned(self, key: str) -> None:
        """A call stopped by the caller (not the deployment's fault): only in-flight drops."""
        ...

    def snapshot(self, key: str) -> DeploymentHealth: ...


@dataclass
class _Entry:
    latency_ms: float | None = None
    error_rate: float = 0.0
    in_flight: int = 0
    consecutive: int = 0
    ejections: int = 0
    state: BreakerState = "closed"
    until: float = 0.0
    probing: bool = False


class _Tx(Protocol):
    """One atomic read-modify-write of health entries (a store's transaction)."""

    def entry(self, key: str) -> _Entry: ...

    def members(self, group: str, keys: Sequence[str] = ()) -> set[str]:
        """The group's deployments, after adding `keys`."""
        ...


class _Breakers:
    """The health logic, over any store that gives atomic transactions (`_transaction`)."""

    config: HealthConfig
    _clock: Callable[[], float]

    def _transaction(self) -> AbstractContextManager[_Tx]:
        raise NotImplementedError

    def allowed(self, group: str, keys: Sequence[str]) -> list[str]:
        now = self._clock()
        out = []
        with self._transaction() as tx:
            tx.members(group, keys)
            for key in keys:
                e = tx.entry(key)
                if e.state == "open" and now >= e.until:
                    e.state, e.probing = "half_open", False
                if e.state == "closed" or (e.state == "half_open" and not e.probing):
                    out.append(key)
                # open before its time, or half-open with its probe already out: skipped
        return out

    def started(self, key: str) -> bool:
        with self._transaction() as tx:
            e = tx.entry(key)
            if e.state == "half_open":
                if e.probing:
                    return False
                e.probing = True
            elif e.state == "open":
                return False
            e.in_flight += 1
            return True

    def succeeded(self, key: str, latency_ms: float) -> None:
        a = self.config.alpha
        with self._transaction() as tx:
            e = tx.entry(key)
            e.in_flight = max(0, e.in_flight - 1)
            e.latency_ms = (
                latency_ms if e.latency_ms is None else (1 - a) * e.latency_ms + a * latency_ms
            )
            e.error_rate *= 1 - a
            e.consecutive = 0
            if e.state != "closed":
                e.state, e.probing, e.until = "closed", False, 0.0

    def failed(self, group: str, key: str, *, retry_after_s: float | None = None) -> None:
        c = self.config
        now = self._clock()
        with self._transaction() as tx:
            e = tx.entry(key)
            e.in_flight = max(0, e.in_flight - 1)
            e.error_rate = (1 - c.alpha) * e.error_rate + c.alpha
            e.consecutive += 1
            if retry_after_s:
                e.state, e.probing = "open", False
                e.until = max(e.until, now + retry_after_s)
                return
            if e.state == "half_open" or (
                e.state == "closed"
                and e.consecutive >= c.failures_to_open
                and self._may_eject(tx, group, key)
            ):
                e.ejections += 1
                seconds = min(c.max_ejection_s, c.base_ejection_s * 2 ** (e.ejections - 1))
                e.state, e.probing, e.until = "open", False, now + seconds

    def abandoned(self, key: str) -> None:
        with self._transaction() as tx:
            e = tx.entry(key)
            e.in_flight = max(0, e.in_flight - 1)
            if e.state == "half_open":
                e.probing = False  # the probe never finished: let the next call probe

    def _may_eject(self, tx: _Tx, group: str, key: str) -> bool:
        members = tx.members(group, [key])
        ejected = sum(1 for k in members if k != key and tx.entry(k).state != "closed")
        share = int(self.config.max_ejected_share * len(members))
        # A lone deployment may open (the router falls back to other models); otherwise at
        # least one deployment of the model always stays in.
        limit = min(share, len(members) - 1) if len(members) > 1 else 1
        return ejected + 1 <= limit

    def snapshot(self, key: str) -> DeploymentHealth:
        now = self._clock()
        with self._transaction() as tx:
            e = tx.entry(key)
            return DeploymentHealth(
                key=key,
                state=e.state,
                latency_ms=e.latency_ms,
                error_rate=round(e.error_rate, 4),
                in_flight=e.in_flight,
                consecutive_failures=e.consecutive,
                ejections=e.ejections,
                open_for_s=max(0.0, e.until - now) if e.state == "open" else 0.0,
            )


class _MemoryTx:
    def __init__(self, entries: dict[str, _Entry], groups: dict[str, set[str]]) -> None:
        self._entries, self._groups = entries, groups

    def entry(self, key: str) -> _Entry:
        e = self._entries.get(key)
        if e is None:
            e = self._entries[key] = _Entry()
        return e

    def members(self, group: str, keys: Sequence[str] = ()) -> set[str]:
        found = self._groups.setdefault(group, set())
        found.update(keys)
        return set(found)


class InMemoryHealth(_Breakers):
    """Health kept in this process (thread-safe)."""

    def __init__(
        self, config: HealthConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or HealthConfig()
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._groups: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        with self._lock:
            yield _MemoryTx(self._entries, self._groups)
