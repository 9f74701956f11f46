"""Warm prompt-cache stores: which prompt prefixes each model's provider holds cached, per
scope (tenant and API key), each with a time to live and a count of the calls that used it.

`WarmStore` is the protocol; `InMemoryWarmStore` keeps them in this process. SQLite and Redis
stores (`state.sqlite`, `state.redis`) share them between processes, so a conversation
whose turns reach different workers is priced as warm by each. Keys are digests of prompt
prefixes (`langroute.warm_caches.prefixes`): never the prompt itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

Key = int | str
"""A prompt prefix's digest: a Python hash in this process, a hex digest when shared."""


class WarmStore(Protocol):
    stable_keys: bool
    """Whether keys must be the same in every process (a shared store): hex digests."""

    def held(self, scope: str, models: Sequence[str], keys: Sequence[Key]) -> dict[str, Held]:
        """For each of `models`, the first of `keys` (prefixes, longest first) whose prefix
        it holds unexpired, with its tokens and uses; models holding none are left out."""
        ...

    def hold(
        self, scope: str, model: str, prefixes: Sequence[tuple[Key, int]], ttl_s: float
    ) -> None:
        """`model` holds these (key, tokens) prefixes for `ttl_s` more: one more use each
        (a prefix that had expired starts again at one)."""
        ...


@dataclass(frozen=True, slots=True)
class Held:
    """A prefix a model's provider holds cached."""

    key: Key
    tokens: int
    """Prompt tokens (the router's count) up to the end of the prefix."""
    uses: int
    """Calls that sent it while it was held."""


@dataclass(slots=True)
class _Entry:
    tokens: int
    expires: float
    uses: int


class InMemoryWarmStore:
    """Held prefixes in this process, bounded to `max_entries` (least recently used dropped
    first)."""

    stable_keys = False

    def __init__(
        self, max_entries: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str, Key], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def held(self, scope: str, models: Sequence[str], keys: Sequence[Key]) -> dict[str, Held]:
        found: dict[str, Held] = {}
        if not self._entries:
            return found
        now = self._clock()
        with self._lock:
            for key in keys:
                for model in models:
                    if model in found:
                        continue
                    entry = self._entries.get((scope, model, key))
                    if entry is not None and entry.expires > now:
                        found[model] = Held(key, entry.tokens, entry.uses)
                if len(found) == len(models):
                    break
        return found

    def hold(
        self, scope: str, model: str, prefixes: Sequence[tuple[Key, int]], ttl_s: float
    ) -> None:
        now = self._clock()
        with self._lock:
            for key, tokens in prefixes:
                slot = (scope, model, key)
                old = self._entries.get(slot)
                uses = old.uses + 1 if old is not None and old.expires > now else 1
                self._entries[slot] = _Entry(tokens, now + ttl_s, uses)
                self._entries.move_to_end(slot)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
