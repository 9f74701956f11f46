"""Response cache: exact and semantic, isolated per tenant.

- **Exact**: a SHA-256 of the canonical JSON of the messages, the tools and every parameter
  that changes the answer (temperature, max_tokens, stop, response format, seed, …), plus
  the router's model set. Two calls hit the same entry only when all of those are equal.
- **Semantic** (with an `Embedder`): the last user message's vector is compared with the
  cached ones of the *same tenant and the same context* (the earlier messages and the
  parameters hash equal); a cosine similarity at or above `threshold` is a hit.
- **Tenant isolation**: every key and vector namespace starts with the tenant (`(none)`
  when the call names none), so no tenant ever reads another's answer.
- Only successful answers are stored, never errors. Answers with tool calls, and answers
  to sampled calls (temperature not 0 — the provider default is sampled), are stored only
  when `cache_tool_calls` / `cache_sampled` is set.
- A hit returns the stored answer with `cost_usd` 0, its original token counts (all prompt
  tokens marked cached), and `decision.cache` = `exact` or `semantic`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from langroute.errors import ConfigError
from langroute.features import RoutingRequest
from langroute.state.cache import CacheStore, InMemoryCache
from langroute.types import Completion, UserMessage, text_of

if TYPE_CHECKING:
    from langroute.embed.base import Embedder

CacheHit = Literal["exact", "semantic"]


_PROMPT_CACHE_SETTINGS = {"prompt_cache_key", "prompt_cache_retention"}


def _canonical(request: RoutingRequest, messages: Sequence[object], scope: str) -> str:
    """The key of a request's answer: its scope, messages and parameters, without the
    provider prompt-cache hints (breakpoints, OpenAI's cache settings), which change what
    a call costs, never what it answers."""
    dumped = [m.model_dump(mode="json", exclude_none=True) for m in messages]  # type: ignore[attr-defined]
    params = request.params.model_dump(
        mode="json", exclude_none=True, by_alias=True, exclude=_PROMPT_CACHE_SETTINGS
    )
    for shape in (*dumped, *params.get("tools", ())):
        shape.pop("cache_control", None)
        if isinstance(content := shape.get("content"), list):
            for part in content:
                part.pop("cache_control", None)
    if "extra_body" in params:
        params["extra_body"].pop("cache_control", None)
        if not params["extra_body"]:
            del params["extra_body"]
    payload = {"scope": scope, "messages": dumped, "params": params}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """Where answers are kept (`store`), for how long, and which answers may be reused."""

    def __init__(
        self,
        store: CacheStore | None = None,
        *,
        ttl_s: float = 3600.0,
        embedder: Embedder | None = None,
        threshold: float = 0.95,
        cache_tool_calls: bool = False,
        cache_sampled: bool = False,
    ) -> None:
        if ttl_s <= 0:
            raise ConfigError(f"ttl_s must be positive, got {ttl_s}")
        if not 0 < threshold <= 1:
            raise ConfigError(f"threshold is a cosine similarity in (0, 1], got {threshold}")
        self.store: CacheStore = store if store is not None else InMemoryCache()
        self.ttl_s = ttl_s
        self.embedder = embedder
        """Set for the semantic cache (None: exact matches only)."""
        self.threshold = threshold
        self.cache_tool_calls = cache_tool_calls
        self.cache_sampled = cache_sampled
        self._missed: dict[str, tuple[str, str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def blocking(self) -> bool:
        return bool(getattr(self.store, "blocking", False)) or self.embedder is not None

    def cacheable(self, request: RoutingRequest) -> bool:
        """Whether this request's answer may come from, or go to, the cache."""
        return self.cache_sampled or request.params.temperature == 0

    @staticmethod
    def _tenant(request: RoutingRequest) -> str:
        return request.features.tenant or "(none)"

    def _keys(self, request: RoutingRequest, scope: str) -> tuple[str, str]:
        """(exact key, semantic namespace): both start with the tenant."""
        tenant = self._tenant(request)
        exact = f"{tenant}:{_canonical(request, request.messages, scope)}"
        context = request.messages[:-1] if isinstance(request.messages[-1], UserMessage) else ()
        namespace = f"{tenant}:{_canonical(request, context, scope)}"
        return exact, namespace

    def lookup(self, request: RoutingRequest, scope: str) -> tuple[Completion, CacheHit] | None:
        """A stored answer for this request (exact first, then semantic), or None."""
        if not self.cacheable(request):
            return None
        exact, namespace = self._keys(request, scope)
        value = self.store.get(exact)
        if value is not None:
            return Completion.model_validate_json(value), "exact"
        if self.embedder is None or not isinstance(request.messages[-1], UserMessage):
            self._remember(request.request_id, exact, namespace, None)
            return None
        import numpy as np

        query = self.embedder.embed([text_of(request.messages[-1].content)])[0]
        self._remember(request.request_id, exact, namespace, query)
        candidates = self.store.vectors(namespace)
        if not candidates:
            return None
        matrix = np.stack([np.frombuffer(v, dtype=np.float32) for _, v in candidates])
        scores = matrix @ query
        best = int(np.argmax(scores))
        if float(scores[best]) < self.threshold:
            return None
        value = self.store.get(candidates[best][0])
        if value is None:
            return None
        return Completion.model_validate_json(value), "semantic"

    def save(self, request: RoutingRequest, scope: str, completion: Completion) -> bool:
        """Keep a successful answer; False when this answer may not be cached."""
        if not self.cacheable(request) or completion.finish_reason == "error":
            return False
        if completion.tool_calls and not self.cache_tool_calls:
            return False
        if not completion.content and not completion.tool_calls:
            return False
        with self._lock:
            missed = self._missed.pop(request.request_id, None)
        exact, namespace, vector = missed or (*self._keys(request, scope), None)
        stored = completion.model_copy(update={"raw": None, "decision": None})
        self.store.put(exact, stored.model_dump_json(exclude={"raw", "decision"}), self.ttl_s)
        last = request.messages[-1]
        if self.embedder is not None and isinstance(last, UserMessage):
            if vector is None:
                vector = self.embedder.embed([text_of(last.content)])[0]
            self.store.add_vector(namespace, exact, vector.astype("float32").tobytes(), self.ttl_s)
        return True

    def _remember(self, request_id: str, exact: str, namespace: str, vector: Any) -> None:
        """A miss's keys and prompt vector, so saving its answer neither hashes nor embeds
        the request again."""
        with self._lock:
            self._missed[request_id] = (exact, namespace, vector)
            if len(self._missed) > 4096:
                del self._missed[next(iter(self._missed))]
