"""Which models hold a request's prompt prefix in their provider's prompt cache, as seen
from the router's own calls — so a plan prices what a model would read from its cache at
the cached price instead of the list price.

A provider bills a cached prefix at a tenth to a half of its input price. A router that
sends each call of a conversation or an agent to the model cheapest at list price throws
that away whenever it switches, so it may spend more than one model would. Here a model
that holds the prefix is priced at what the call will really cost, and a model that does
not is ranked as if its first write were paid back over the calls still to come — about
as many as have used the prefix so far (the break-even rule of ski rental) — so a model
cheaper once warm is switched to when the prefix has shown it will be used long enough to
pay the switch back.

What a provider caches is read from what each answer reports: the prompt tokens it read
from and wrote to the cache (Claude, at `cache_control` breakpoints); a model priced with
a cached price but no cache-write price (OpenAI, Gemini, DeepSeek) caches every prompt of
`MIN_CACHED_TOKENS` or more on its own. Caches are kept apart per tenant and API key, and
forgotten after `ttl_s` without use, in a `WarmStore`: this process's, or one that workers
share (SQLite, Redis), so a conversation whose turns reach different workers is priced
warm by each. A model priced warm whose answers read nothing from the cache
`GIVE_UP_AFTER_MISSES` times in a row is no longer priced warm by this process.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from langroute.features import RoutingRequest
from langroute.policy.base import Estimate, RoutePlan, usd
from langroute.reasoning import is_gpt_5_6_or_later
from langroute.registry.spec import ModelSpec
from langroute.state.warm import InMemoryWarmStore, Key, WarmStore
from langroute.types import (
    AssistantMessage,
    CacheControl,
    ImagePart,
    Message,
    TextPart,
    ToolMessage,
    Usage,
)

MIN_CACHED_TOKENS = 1024
"""The shortest prompt a provider caches (OpenAI's and Claude's minimum)."""
GIVE_UP_AFTER_MISSES = 3
_KEYS_LOOKED_UP = 100
_TTL_1H_S = 3600.0
_TTL_24H_S = 86400.0


@dataclass(frozen=True, slots=True)
class Warmth:
    """How this request's prompt stands with each model's cache."""

    warm: Mapping[str, int]
    """Model name → prompt tokens (the router's count) it is expected to read cached."""
    calls: int
    """Calls the prefix is expected to serve, this one included: as many as have used it
    so far (the conversation's steps, or the calls that shared its prefix), plus this one.
    A cold model's first write is spread over them when ranking."""


def caches_on_its_own(spec: ModelSpec) -> bool:
    """Whether the model's provider caches long prompts without breakpoints: it has a
    cached price and no cache-write price (OpenAI, Gemini, DeepSeek; Claude needs them), or
    it is GPT-5.6 or later, whose automatic breakpoint OpenAI bills writes for."""
    pricing = spec.pricing
    if pricing.cached_input is None:
        return False
    return pricing.cache_write is None or any(
        is_gpt_5_6_or_later(dep.model_id) for dep in spec.all_deployments
    )


def _cache_discount(spec: ModelSpec) -> float:
    """USD saved per prompt token the model reads from its cache (0: no cached price)."""
    pricing = spec.pricing
    if pricing.cached_input is None or pricing.cached_input >= pricing.input:
        return 0.0
    return (pricing.input - pricing.cached_input) / 1_000_000


def _top_level_mark(request: RoutingRequest) -> str | None:
    """The lifetime of the call's top-level `cache_control` (Claude's automatic caching: a
    breakpoint on the last block), None when it has none."""
    extra = request.params.extra_body
    control = extra.get("cache_control") if extra else None
    if not isinstance(control, Mapping):
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


def _mark_of(part: object) -> CacheControl | None:
    """A content part's breakpoint (reasoning parts carry none)."""
    return getattr(part, "cache_control", None)


def _marked(request: RoutingRequest) -> bool:
    """Whether the call carries a prompt-cache breakpoint (`cache_control`) anywhere."""
    if _top_level_mark(request) is not None:
        return True
    for tool in request.params.tools or ():
        if tool.cache_control is not None:
            return True
    for message in request.messages:
        content = message.content
        if isinstance(content, list) and any(_mark_of(p) is not None for p in content):
            return True
    return False


def _write_premium(spec: ModelSpec, ttl: str) -> float:
    """USD per prompt token written to the cache beyond the input price."""
    write, write_1h = spec.pricing.write_prices()
    return ((write_1h if ttl == "1h" else write) - spec.pricing.input) / 1_000_000


def _message_key(message: Message) -> tuple[object, ...]:
    """What a provider's cache matches of one message (breakpoints are not part of it)."""
    content = message.content
    if isinstance(content, str) or content is None:
        text: object = content
    elif len(content) == 1 and isinstance(content[0], TextPart):
        text = content[0].text  # the same prompt as the plain string
    else:  # parts are cached block by block: keep where they split, and the images
        text = tuple(
            p.text if isinstance(p, TextPart) else p.image_url.url
            for p in content
            if isinstance(p, TextPart | ImagePart)
        )
    calls: object = None
    if isinstance(message, AssistantMessage) and message.tool_calls:
        calls = tuple((c.id, c.function.name, c.function.arguments) for c in message.tool_calls)
    called = message.tool_call_id if isinstance(message, ToolMessage) else None
    return message.role, text, calls, called


def _lifetime(control: CacheControl | None) -> str | None:
    return None if control is None else control.ttl or "5m"


def _ends(request: RoutingRequest) -> list[tuple[int, str | None]]:
    """Where the prompt's prefixes end, in the order a provider caches it — after the
    tools, then after each message: the prompt tokens of each piece, and the lifetime of a
    breakpoint at its end ("5m", "1h"; None: none). A top-level `cache_control` (Claude's
    automatic caching) is a breakpoint after the last message."""
    features = request.features
    ends: list[tuple[int, str | None]] = []
    tools = request.params.tools
    if tools:
        tools_tokens = features.prompt_tokens - sum(features.message_tokens)
        ends.append((tools_tokens, _lifetime(tools[-1].cache_control)))
    for message, share in zip(request.messages, features.message_tokens, strict=True):
        content = message.content
        control = _mark_of(content[-1]) if isinstance(content, list) and content else None
        ends.append((share, _lifetime(control)))
    if (ttl := _top_level_mark(request)) is not None:
        ends[-1] = ends[-1][0], ttl
    return ends


def _last_breakpoint(request: RoutingRequest) -> tuple[int, str] | None:
    """Prompt tokens up to the call's last breakpoint that ends a message (or the tools),
    and its lifetime ("5m" or "1h"); None when there is none."""
    tokens, found = 0, None
    for share, ttl in _ends(request):
        tokens += share
        if ttl is not None:
            found = tokens, ttl
    return found


def prefixes(request: RoutingRequest, *, stable: bool = False) -> list[tuple[Key, int]]:
    """The request's prompt prefixes a provider may hold, shortest first: a key for each,
    ending after the tools and after every message (as `_ends` lists them), with its
    prompt tokens.

    Keys are Python hashes, salted per process: cheap, as Python keeps a string's hash, so
    a conversation's earlier messages cost next to nothing to hash again. `stable` keys,
    for a store other processes share, are BLAKE2 digests of the same content."""
    features = request.features
    tools = request.params.tools
    pieces: list[object] = [_message_key(m) for m in request.messages]
    shares = list(features.message_tokens)
    if tools:
        pieces.insert(0, json.dumps([t.function.model_dump() for t in tools], sort_keys=True))
        shares.insert(0, features.prompt_tokens - sum(features.message_tokens))
    digest = hashlib.blake2b(digest_size=16) if stable else None
    running, tokens = 0, 0
    out: list[tuple[Key, int]] = []
    for piece, share in zip(pieces, shares, strict=True):
        tokens += share
        key: Key
        if digest is not None:
            digest.update(json.dumps(piece).encode())
            key = digest.hexdigest()
        else:
            key = running = hash((running, piece))
        out.append((key, tokens))
    return out


def with_call_prices(plan: RoutePlan, priced: Mapping[str, tuple[float, str]]) -> RoutePlan:
    """`plan` with each repriced model's expected cost set back to what the call itself is
    expected to cost (a cold one was ranked lower), and why it was priced so."""
    candidates = tuple(
        c.model_copy(
            update={
                "expected_cost_usd": priced[c.model][0],
                "reasons": (*c.reasons, priced[c.model][1]),
            }
        )
        if c.model in priced
        else c
        for c in plan.candidates
    )
    return plan.model_copy(update={"candidates": candidates})


class WarmCaches:
    """The prompt prefixes each model's provider holds cached, per tenant and API key, as
    the router's calls have shown (see the module docstring), kept in `store`: this
    process's by default, or one that processes share (`SQLiteWarmStore`, `RedisWarmStore`)."""

    def __init__(self, store: WarmStore | None = None, *, ttl_s: float = 300.0) -> None:
        self.store: WarmStore = store if store is not None else InMemoryWarmStore()
        self.ttl_s = ttl_s
        """How long a prefix stays cached after its last use (providers keep 5 minutes at
        least; a 1-hour write is kept an hour, OpenAI's 24-hour retention a day)."""
        self._stable = bool(getattr(self.store, "stable_keys", False))
        self._own = store is None
        self._seen: dict[str, set[str]] = {}
        """Per scope, the models this router saw hold a prefix: with a store of its own,
        which nothing else writes, a call to another model needs no look-up."""
        self._misses: dict[str, int] = {}
        self._priced_warm: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _scope(request: RoutingRequest) -> str:
        features = request.features
        return f"{features.tenant or ''}\x00{features.api_key_id or ''}"

    def worth_looking(self, request: RoutingRequest, specs: Iterable[ModelSpec]) -> bool:
        """Whether `lookup` could find anything: a long prompt, a model with a cached price,
        and (with a store of this process only) a model seen holding a prefix."""
        if request.features.prompt_tokens < MIN_CACHED_TOKENS:
            return False
        if self._own and not self._seen.get(self._scope(request)):
            return False
        return any(_cache_discount(spec) for spec in specs)

    def lookup(self, request: RoutingRequest, specs: Iterable[ModelSpec]) -> Warmth | None:
        """Which of `specs` are expected to read part of this prompt from their cache, None
        when none is (the plan then prices every model at its list price). Reads the store:
        call it from a worker thread when the store does I/O."""
        if request.features.prompt_tokens < MIN_CACHED_TOKENS:
            return None
        scope = self._scope(request)
        seen = self._seen.get(scope, set()) if self._own else None
        marked: bool | None = None
        candidates: list[str] = []
        for spec in specs:
            if _cache_discount(spec) == 0.0 or (seen is not None and spec.name not in seen):
                continue
            if self._misses.get(spec.name, 0) >= GIVE_UP_AFTER_MISSES:
                continue
            if not caches_on_its_own(spec):
                marked = _marked(request) if marked is None else marked
                if not marked:  # Claude reads its cache only at a breakpoint
                    continue
            candidates.append(spec.name)
        if not candidates:
            return None
        keys = [
            key
            for key, tokens in reversed(prefixes(request, stable=self._stable))
            if tokens >= MIN_CACHED_TOKENS
        ]
        if len(keys) > 2 * _KEYS_LOOKED_UP:  # a long run: its latest turns and its start
            keys = keys[:_KEYS_LOOKED_UP] + keys[-_KEYS_LOOKED_UP:]
        held = self.store.held(scope, candidates, keys) if keys else {}
        if not held:
            return None
        steps = sum(isinstance(m, AssistantMessage) for m in request.messages)
        uses = max(h.uses for h in held.values())
        warm = {name: h.tokens for name, h in held.items()}
        return Warmth(warm, max(steps, uses) + 1)

    def observe(self, request: RoutingRequest, spec: ModelSpec, usage: Usage) -> None:
        """Note what a call's answer shows its model's provider now holds cached: the prefix
        it read and wrote (up to a breakpoint), or the whole prompt for a model that caches
        on its own. Writes the store: call it from a worker thread when it does I/O."""
        features = request.features
        if features.prompt_tokens < MIN_CACHED_TOKENS:
            return  # nothing cached, nothing priced warm
        name = spec.name
        with self._lock:
            priced_warm = name in self._priced_warm.pop(request.request_id, frozenset())
        if _cache_discount(spec) == 0.0:
            return
        if usage.cached_tokens > 0:
            self._misses.pop(name, None)
        elif priced_warm:
            self._misses[name] = self._misses.get(name, 0) + 1
        held = usage.cached_tokens + usage.cache_write_tokens
        automatic = caches_on_its_own(spec)
        if automatic and usage.prompt_tokens >= MIN_CACHED_TOKENS:
            held = usage.prompt_tokens
        if held <= 0 or usage.prompt_tokens <= 0:
            return
        # the provider's tokens, in the router's count, with a little slack
        upto = round(held * features.prompt_tokens / usage.prompt_tokens * 1.02) + 8
        ttl = self.ttl_s
        if usage.cache_write_1h_tokens:
            ttl = max(ttl, _TTL_1H_S)
        if automatic and request.params.prompt_cache_retention == "24h":
            ttl = max(ttl, _TTL_24H_S)
        found = prefixes(request, stable=self._stable)
        marks = [ttl for _, ttl in _ends(request)] if not automatic else [None] * len(found)
        kept = [
            (key, tokens)
            for (key, tokens), mark in zip(found, marks, strict=True)
            if MIN_CACHED_TOKENS <= tokens <= upto and (automatic or mark is not None)
        ]  # Claude caches up to a breakpoint, not beyond
        if not kept:
            return
        self.store.hold(self._scope(request), name, kept, ttl)
        with self._lock:
            self._seen.setdefault(self._scope(request), set()).add(name)

    def _remember_priced_warm(self, request: RoutingRequest, models: frozenset[str]) -> None:
        """Which models this call was priced warm on, so its answers tell a miss."""
        with self._lock:
            self._priced_warm[request.request_id] = models
            while len(self._priced_warm) > 10_000:
                self._priced_warm.popitem(last=False)

    def reprice(
        self, request: RoutingRequest, estimates: Sequence[Estimate], warmth: Warmth | None
    ) -> dict[str, tuple[float, str]]:
        """Adjust `estimates` (in place) for this prompt's caches: a warm model's cost
        becomes what the call is expected to cost, and so does that of a model that will
        write its breakpoints (Claude: 1.25x the input price, 2x for an hour); a cold model
        that could cache is ranked by its cost once warm plus its first write spread over
        the calls expected. Returns, per adjusted model, what the call itself is expected to
        cost and why."""
        prompt = request.features.prompt_tokens
        if prompt < MIN_CACHED_TOKENS:
            return {}
        if warmth is not None:
            self._remember_priced_warm(request, frozenset(warmth.warm))
        looked, mark = False, None
        notes: dict[str, tuple[float, str]] = {}
        for est in estimates:
            spec = est.spec
            discount = _cache_discount(spec)
            if discount == 0.0:
                continue
            tokens = warmth.warm.get(spec.name) if warmth is not None else None
            saved = spec.billed_prompt_tokens(min(tokens, prompt)) * discount if tokens else 0.0
            written = 0.0
            if spec.pricing.cache_write is not None:
                if not looked:
                    looked, mark = True, _last_breakpoint(request)
                if (
                    mark is not None
                    and spec.billed_prompt_tokens(mark[0]) >= spec.pricing.cache_min_tokens
                    and mark[0] > (tokens or 0)
                ):
                    written = spec.billed_prompt_tokens(mark[0] - (tokens or 0)) * (
                        _write_premium(spec, mark[1])
                    )
            call = max(0.0, est.cost_usd - saved + written)
            writes = f", {usd(written)} more to write its cache" if written else ""
            if tokens is not None:
                est.cost_usd = call
                notes[spec.name] = (
                    call,
                    f"prompt cache warm: {tokens} of {prompt} prompt tokens at the cached "
                    f"price{writes}, expected cost {usd(call)}",
                )
                continue
            spread = 1 - 1 / warmth.calls if warmth is not None else 0.0
            if spread > 0 and (caches_on_its_own(spec) or _marked(request)):
                assert warmth is not None
                longest = spec.billed_prompt_tokens(max(warmth.warm.values()))
                est.cost_usd = call - (longest * discount + written) * spread
                notes[spec.name] = (
                    call,
                    f"prompt cache cold: ranked at {usd(est.cost_usd)}, its first write "
                    f"spread over the {warmth.calls} calls this conversation is expected to "
                    f"make (this one: {usd(call)}{writes})",
                )
            elif written:
                est.cost_usd = call
                notes[spec.name] = (call, f"expected cost {usd(call)}{writes}")
        return notes
