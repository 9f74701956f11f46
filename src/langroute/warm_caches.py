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
forgotten after `ttl_s` without use. A model priced warm whose answers read nothing from
the cache `GIVE_UP_AFTER_MISSES` times in a row is no longer priced warm.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from langroute.features import RoutingRequest
from langroute.policy.base import Estimate, RoutePlan, usd
from langroute.registry.spec import ModelSpec
from langroute.types import AssistantMessage, ImagePart, Message, TextPart, ToolMessage, Usage

MIN_CACHED_TOKENS = 1024
"""The shortest prompt a provider caches (OpenAI's and Claude's minimum)."""
GIVE_UP_AFTER_MISSES = 3
_TTL_1H_S = 3600.0
_TTL_24H_S = 86400.0
_Scope = tuple[str | None, str | None]


@dataclass(slots=True)
class _Entry:
    tokens: int
    """Prompt tokens (the router's count) up to the end of this prefix."""
    expires: float
    uses: int
    """Calls that sent this prefix to the model while it was cached."""


@dataclass(frozen=True, slots=True)
class Warmth:
    """How this request's prompt stands with each model's cache."""

    warm: Mapping[str, int]
    """Model name → prompt tokens (the router's count) it is expected to read cached."""
    marked: bool | None
    """Whether the call marks a breakpoint (None: not looked at yet)."""
    calls: int
    """Calls the prefix is expected to serve, this one included: as many as have used it
    so far (the conversation's steps, or the calls that shared its prefix), plus this one.
    A cold model's first write is spread over them when ranking."""


def caches_on_its_own(spec: ModelSpec) -> bool:
    """Whether the model's provider caches long prompts without breakpoints: it has a
    cached price and no cache-write price (OpenAI, Gemini, DeepSeek; Claude needs them)."""
    pricing = spec.pricing
    return pricing.cached_input is not None and pricing.cache_write is None


def _cache_discount(spec: ModelSpec) -> float:
    """USD saved per prompt token the model reads from its cache (0: no cached price)."""
    pricing = spec.pricing
    if pricing.cached_input is None or pricing.cached_input >= pricing.input:
        return 0.0
    return (pricing.input - pricing.cached_input) / 1_000_000


def _marked(request: RoutingRequest) -> bool:
    """Whether the call carries a prompt-cache breakpoint (`cache_control`) anywhere."""
    for tool in request.params.tools or ():
        if tool.cache_control is not None:
            return True
    for message in request.messages:
        content = message.content
        if isinstance(content, list) and any(p.cache_control is not None for p in content):
            return True
    return False


def _write_premium(spec: ModelSpec, ttl: str) -> float:
    """USD per prompt token written to the cache beyond the input price."""
    write, write_1h = spec.pricing.write_prices()
    return ((write_1h if ttl == "1h" else write) - spec.pricing.input) / 1_000_000


def _is_marked(request: RoutingRequest, warmth: Warmth | None) -> bool:
    if warmth is not None and warmth.marked is not None:
        return warmth.marked
    return _marked(request)


def _last_breakpoint(request: RoutingRequest) -> tuple[int, str] | None:
    """Prompt tokens up to the call's last breakpoint that ends a message (or the tools),
    and its lifetime ("5m" or "1h"); None when there is none."""
    features = request.features
    tokens = features.prompt_tokens - sum(features.message_tokens)
    found: tuple[int, str] | None = None
    tools = request.params.tools
    if tools and (control := tools[-1].cache_control) is not None:
        found = tokens, control.ttl or "5m"
    for message, share in zip(request.messages, features.message_tokens, strict=True):
        tokens += share
        content = message.content
        if isinstance(content, list) and content:
            control = content[-1].cache_control
            if control is not None:
                found = tokens, control.ttl or "5m"
    return found


def _breakpoint_ends(request: RoutingRequest) -> set[int]:
    """The indexes, in `prefixes(request)`, of the prefixes that end at a breakpoint: the
    tools when the last one is marked, a message when its last part is."""
    ends: set[int] = set()
    tools = request.params.tools
    offset = 0
    if tools:
        offset = 1
        if tools[-1].cache_control is not None:
            ends.add(0)
    for i, message in enumerate(request.messages):
        content = message.content
        if isinstance(content, list) and content and content[-1].cache_control is not None:
            ends.add(i + offset)
    return ends


def _message_key(message: Message) -> int:
    """What a provider's cache matches of one message (breakpoints are not part of it), as
    a hash: Python keeps a string's hash, so a conversation's earlier messages cost
    next to nothing to hash again on its next call."""
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
    return hash((message.role, text, calls, called))


def prefixes(request: RoutingRequest) -> list[tuple[int, int]]:
    """The request's prompt prefixes a provider may hold, shortest first: a key for each,
    ending after the tools and after every message, with its prompt tokens. Keys are
    this process's (Python's string hashing is salted per process), as is what they key."""
    features = request.features
    tokens = features.prompt_tokens - sum(features.message_tokens)
    out: list[tuple[int, int]] = []
    running = 0
    tools = request.params.tools
    if tools:
        running = hash(json.dumps([t.function.model_dump() for t in tools], sort_keys=True))
        out.append((running, tokens))
    for message, share in zip(request.messages, features.message_tokens, strict=True):
        running = hash((running, _message_key(message)))
        tokens += share
        out.append((running, tokens))
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
    this router's calls have shown (in this process; see the module docstring)."""

    def __init__(self, *, ttl_s: float = 300.0, max_entries: int = 20_000) -> None:
        self.ttl_s = ttl_s
        """How long a prefix stays cached after its last use (providers keep 5 minutes at
        least; a 1-hour write is kept an hour, OpenAI's 24-hour retention a day)."""
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[_Scope, str, int], _Entry] = OrderedDict()
        self._models: dict[_Scope, set[str]] = {}
        self._misses: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _scope(request: RoutingRequest) -> _Scope:
        return request.features.tenant, request.features.api_key_id

    def warmth(self, request: RoutingRequest, specs: Iterable[ModelSpec]) -> Warmth | None:
        """Which of `specs` are expected to read part of this prompt from their cache, None
        when none is (the plan then prices every model at its list price)."""
        if request.features.prompt_tokens < MIN_CACHED_TOKENS or not self._entries:
            return None
        scope = self._scope(request)
        seen = self._models.get(scope)
        if not seen:
            return None
        marked: bool | None = None
        candidates: list[str] = []
        for spec in specs:
            if spec.name not in seen or self._misses.get(spec.name, 0) >= GIVE_UP_AFTER_MISSES:
                continue
            if not caches_on_its_own(spec):
                marked = _marked(request) if marked is None else marked
                if not marked:  # Claude reads its cache only at a breakpoint
                    continue
            candidates.append(spec.name)
        if not candidates:
            return None
        warm: dict[str, int] = {}
        uses = 0
        now = time.monotonic()
        found = reversed(prefixes(request))
        with self._lock:
            for digest, tokens in found:
                if tokens < MIN_CACHED_TOKENS:
                    break
                for name in candidates:
                    if name in warm:
                        continue
                    entry = self._entries.get((scope, name, digest))
                    if entry is not None and entry.expires > now:
                        warm[name] = entry.tokens
                        uses = max(uses, entry.uses)
                if len(warm) == len(candidates):
                    break
        if not warm:
            return None
        steps = sum(isinstance(m, AssistantMessage) for m in request.messages)
        return Warmth(warm, marked, max(steps, uses) + 1)

    def observe(self, request: RoutingRequest, spec: ModelSpec, usage: Usage) -> None:
        """Note what a call's answer shows its model's provider now holds cached: the prefix
        it read and wrote, or the whole prompt for a model that caches on its own."""
        features = request.features
        if features.prompt_tokens < MIN_CACHED_TOKENS or _cache_discount(spec) == 0.0:
            return
        held = usage.cached_tokens + usage.cache_write_tokens
        automatic = caches_on_its_own(spec)
        if automatic and usage.prompt_tokens >= MIN_CACHED_TOKENS:
            held = usage.prompt_tokens
        if held <= 0 or usage.prompt_tokens <= 0:
            upto = 0
        else:  # the provider's tokens, in the router's count, with a little slack
            upto = round(held * features.prompt_tokens / usage.prompt_tokens * 1.02) + 8
        ttl = self.ttl_s
        if usage.cache_write_1h_tokens:
            ttl = max(ttl, _TTL_1H_S)
        if automatic and request.params.prompt_cache_retention == "24h":
            ttl = max(ttl, _TTL_24H_S)
        scope, name = self._scope(request), spec.name
        now = time.monotonic()
        found = prefixes(request)
        readable = automatic or _marked(request)
        ends = None if automatic else _breakpoint_ends(request)
        with self._lock:
            expected = readable and any(
                (e := self._entries.get((scope, name, digest))) is not None and e.expires > now
                for digest, tokens in found
                if tokens >= MIN_CACHED_TOKENS
            )
            if usage.cached_tokens > 0:
                self._misses.pop(name, None)
            elif expected:
                self._misses[name] = self._misses.get(name, 0) + 1
            for i, (digest, tokens) in enumerate(found):
                if tokens > upto:
                    break
                if tokens < MIN_CACHED_TOKENS:
                    continue
                key = (scope, name, digest)
                old = self._entries.get(key)
                held_before = old is not None and old.expires > now
                if ends is not None and not held_before and i not in ends:
                    continue  # Claude caches up to a breakpoint, not beyond
                uses = old.uses + 1 if old is not None and held_before else 1
                self._entries[key] = _Entry(tokens, now + ttl, uses)
                self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self._models.setdefault(scope, set()).add(name)

    def reprice(
        self, request: RoutingRequest, estimates: Sequence[Estimate]
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
        warmth = self.warmth(request, (e.spec for e in estimates))
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
            if spread > 0 and (caches_on_its_own(spec) or _is_marked(request, warmth)):
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

    def clear(self) -> None:
        """Forget every cached prefix (as after the providers' caches expired)."""
        with self._lock:
            self._entries.clear()
            self._models.clear()
            self._misses.clear()
