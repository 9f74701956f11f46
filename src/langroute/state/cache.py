"""Response cache stores: answers by key, and (for the semantic cache) prompt vectors by
namespace, each with a TTL.

`CacheStore` is the protocol; `InMemoryCache` keeps entries in this process. SQLite and
Redis stores (`state.sqlite`, `state.redis`) share them between processes. The tenant
isolation is in the keys, which `ResponseCache` builds: a store never mixes namespaces.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol


class CacheStore(Protocol):
    def get(self, key: str) -> str | None:
        """The value under `key`, or None when absent or expired."""
        ...

    def put(self, key: str, value: str, ttl_s: float) -> None: ...

    def add_vector(self, namespace: str, key: str, vector: bytes, ttl_s: float) -> None:
        """Remember a prompt vector (float32 bytes) for `key` in `namespace`."""
        ...

    def vectors(self, namespace: str) -> Sequence[tuple[str, bytes]]:
        """The unexpired (key, vector) pairs of `namespace`."""
        ...


class InMemoryCache:
    """Cache entries in this process, bounded to `max_entries` (oldest dropped first)."""

    def __init__(
        self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._values: dict[str, tuple[str, float]] = {}
        self._vectors: dict[str, dict[str, tuple[bytes, float]]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            hit = self._values.get(key)
            if hit is None:
                return None
            if hit[1] <= self._clock():
                del self._values[key]
                return None
            return hit[0]

    def put(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = (value, self._clock() + ttl_s)
            while len(self._values) > self._max:
                del self._values[next(iter(self._values))]

    def add_vector(self, namespace: str, key: str, vector: bytes, ttl_s: float) -> None:
        with self._lock:
            space = self._vectors.setdefault(namespace, {})
            space[key] = (vector, self._clock() + ttl_s)
            while len(space) > self._max:
                del space[next(iter(space))]

    def vectors(self, namespace: str) -> Sequence[tuple[str, bytes]]:
        now = self._clock()
        with self._lock:
            space = self._vectors.get(namespace, {})
            for key in [k for k, (_, exp) in space.items() if exp <= now]:
                del space[key]
            return [(k, v) for k, (v, _) in space.items()]
