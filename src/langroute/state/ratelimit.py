"""Rate limits per deployment: rpm and tpm token buckets.

A call first reserves one request and its token estimate (prompt tokens plus the expected
answer); when the real usage is known the reservation is settled (the difference is added
or given back, so the bucket may go into debt and later calls wait). A deployment without
budget is skipped; when no deployment of a model has budget, the router raises
`LimitExhausted`, which the fallback chain moves past. Buckets refill continuously: rpm/60
requests and tpm/60 tokens per second, up to one minute's worth.

`RateLimitStore` is the protocol; `InMemoryRateLimits` keeps the buckets in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class RateLimitStore(Protocol):
    def try_acquire(self, key: str, *, rpm: int | None, tpm: int | None, tokens: int) -> bool:
        """Reserve one request and `tokens` tokens on `key`; False (and nothing taken) when
        either bucket lacks them."""
        ...

    def settle(self, key: str, *, tpm: int | None, delta_tokens: int) -> None:
        """Correct a reservation once the real token count is known (negative: give back)."""
        ...


@dataclass
class _Bucket:
    requests: float
    tokens: float
    at: float


def _refill(b: _Bucket | None, now: float, rpm: int | None, tpm: int | None) -> _Bucket:
    if b is None:
        return _Bucket(float(rpm or 0), float(tpm or 0), now)
    elapsed = max(0.0, now - b.at)
    if rpm:
        b.requests = min(float(rpm), b.requests + elapsed * rpm / 60)
    if tpm:
        b.tokens = min(float(tpm), b.tokens + elapsed * tpm / 60)
    b.at = now
    return b


def _take(b: _Bucket, rpm: int | None, tpm: int | None, tokens: int) -> bool:
    if rpm and b.requests < 1:
        return False
    if tpm and b.tokens < min(tokens, tpm):
        return False
    if rpm:
        b.requests -= 1
    if tpm:
        b.tokens -= tokens
    return True


def _settled(b: _Bucket, tpm: int, delta_tokens: int) -> None:
    b.tokens = min(float(tpm), b.tokens - delta_tokens)


class InMemoryRateLimits:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def try_acquire(self, key: str, *, rpm: int | None, tpm: int | None, tokens: int) -> bool:
        with self._lock:
            b = self._buckets[key] = _refill(self._buckets.get(key), self._clock(), rpm, tpm)
            return _take(b, rpm, tpm, tokens)

    def settle(self, key: str, *, tpm: int | None, delta_tokens: int) -> None:
        if not tpm:
            return
        with self._lock:
            b = self._buckets[key] = _refill(self._buckets.get(key), self._clock(), None, tpm)
            _settled(b, tpm, delta_tokens)
