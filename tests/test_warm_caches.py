"""Plans that know which models hold the prompt in their provider's cache (`cache_aware`),
over the scripted server, which caches as OpenAI (on its own) and Claude (at breakpoints)
do."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langroute import ConfigError, ModelSpec, OpenAIProvider, RouterConfig
from langroute.testing import Reply, ScriptedServer
from langroute.types import (
    AssistantMessage,
    CacheControl,
    Message,
    SystemMessage,
    TextPart,
    UserMessage,
)
from langroute.warm_caches import GIVE_UP_AFTER_MISSES, WarmCaches
from tests.conftest import TEST_KEY, make_router

SYSTEM = "You answer questions for the ACME support desk, politely and briefly. " * 300
"""~4,000 tokens: long enough for any provider to cache."""


def priced(
    name: str, price: tuple[float, float, float], provider: str = "local", **pricing: float
) -> ModelSpec:
    """A spec priced (input, cached input, output) USD per 1M tokens, of equal quality."""
    return ModelSpec(
        name=name,
        provider=provider,
        pricing={"input": price[0], "cached_input": price[1], "output": price[2], **pricing},
        quality=dict.fromkeys(("code", "math", "reasoning", "creative", "extraction", "chat"), 0.8),
        context_window=100_000,
        max_output_tokens=1000,
    )


CHEAP = priced("cheap", (1.0, 0.1, 1.0))
"""Cheapest at list price."""
KEEPER = priced("keeper", (1.2, 0.12, 1.0))
"""Dearer at list price, cheaper than `CHEAP` while it holds the prompt and `CHEAP` does not."""

THRIFTY = priced("cheap", (1.0, 0.1, 0.5))
PRICEY = priced("keeper", (1.1, 0.5, 1.0))
"""Dearer than `THRIFTY` even while it holds the prompt and `THRIFTY` does not: worth a
switch once the prompt is used often enough to pay `THRIFTY`'s first write back."""


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path) -> Any:
    """Where the router keeps what it saw cached: this process (`cache_aware=True`), a
    SQLite file or Redis — the same tests run on each. The shared stores are called inline
    here (`blocking = False`), so a test reads right after it writes; the router calls
    them from worker threads (`test_two_routers_sharing_a_store_price_each_others_calls`)."""
    from langroute.state import RedisWarmStore, SQLiteWarmStore

    if request.param == "memory":
        return True
    if request.param == "sqlite":
        shared: Any = SQLiteWarmStore(tmp_path / "warm.db")
    else:
        url = request.getfixturevalue("redis_url")
        shared = RedisWarmStore(url, namespace=f"t{time.time_ns()}")
    shared.blocking = False
    return shared


@pytest.fixture
def caching_server():
    with ScriptedServer(api_key=TEST_KEY) as server:
        server.prompt_cache.automatic = True
        for name in ("cheap", "keeper", "claude-m"):
            server.add(name, Reply("All done."))
        yield server


def converse(router: Any, turns: int, first_model: str, **kwargs: Any) -> list[Any]:
    """A conversation under `SYSTEM`, its first call forced to `first_model`."""
    messages: list[Message] = [SystemMessage(content=SYSTEM)]
    answers = []
    for turn in range(turns):
        hints = {"model": first_model} if turn == 0 else None
        answer = router.chat([*messages, UserMessage(content=f"Question {turn}?")], hints=hints)
        answers.append(answer)
        messages += [UserMessage(content=f"Question {turn}?"), AssistantMessage(content="ok")]
    return answers


def test_a_conversation_stays_with_the_model_that_holds_its_prompt_cached(caching_server, store):
    aware = converse(make_router(caching_server, [CHEAP, KEEPER], cache_aware=store), 4, "keeper")
    caching_server.reset()
    listed = converse(make_router(caching_server, [CHEAP, KEEPER], cache_aware=False), 4, "keeper")

    assert [a.decision.answered_by for a in aware] == ["keeper"] * 4
    assert [a.decision.answered_by for a in listed] == ["keeper", "cheap", "cheap", "cheap"]
    second = aware[1].decision.plan
    assert second.models == ["keeper", "cheap"]
    assert "prompt cache warm" in second.chosen.reasons[-1]
    assert "prompt cache cold" in second.candidates[1].reasons[-1]
    # the warm model's estimate is what the call costs, not the list price
    keeper_cold = listed[0].decision.plan.chosen.expected_cost_usd
    assert second.chosen.expected_cost_usd < keeper_cold / 3
    assert aware[1].cost_usd < keeper_cold / 3
    # the cold model's estimate is still the call's own cost, though it was ranked lower
    cheap_cold = listed[1].decision.plan.chosen.expected_cost_usd
    assert second.candidates[1].expected_cost_usd == pytest.approx(cheap_cold, rel=0.01)
    assert aware[1].usage.cached_tokens > 1024 and listed[1].usage.cached_tokens == 0
    # priced on the longest prefix held: the last turn's whole prompt, not the system's
    third = aware[2].decision
    held = int(third.plan.chosen.reasons[-1].split()[3])  # "prompt cache warm: N of …"
    assert third.features.message_tokens[0] < held <= third.features.prompt_tokens
    assert sum(a.cost_usd for a in aware) < 0.8 * sum(a.cost_usd for a in listed)


def test_a_model_cheaper_once_warm_is_switched_to_when_the_prefix_has_paid_for_it(
    caching_server,
    store,
):
    """Ski rental: the switch to a model whose warm price is lower is made once the prefix
    has been used about as often as the switch costs in extra steps — not at once (the
    conversation may end), and not never (a router that stays with any warm model would
    pay the dearer warm price for good)."""
    router = make_router(caching_server, [THRIFTY, PRICEY], cache_aware=store)
    answers = converse(router, 6, "keeper")
    assert [a.decision.answered_by for a in answers] == ["keeper"] * 2 + ["cheap"] * 4
    assert "prompt cache cold" in answers[1].decision.plan.candidates[1].reasons[-1]
    assert "over the 2 calls" in answers[1].decision.plan.candidates[1].reasons[-1]
    assert "prompt cache warm" in answers[3].decision.plan.chosen.reasons[-1]


def test_a_prefix_many_conversations_share_pays_a_switch_back_sooner(caching_server, store):
    """A new conversation under a system prompt that earlier calls sent: the calls to come
    are expected to be as many as those that used it so far."""
    router = make_router(caching_server, [THRIFTY, PRICEY], cache_aware=store)
    chosen = []
    for n in range(3):
        question = [SystemMessage(content=SYSTEM), UserMessage(content=f"Order {n}?")]
        chosen.append(router.route(question).plan.chosen.model)
        router.chat(question, hints={"model": "keeper"})
    assert chosen == ["cheap", "keeper", "cheap"]


def test_warm_caches_are_kept_apart_per_tenant_and_api_key(caching_server, store):
    router = make_router(caching_server, [CHEAP, KEEPER], cache_aware=store)
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Where is my order?")]
    router.chat(question, hints={"model": "keeper"}, tenant="acme")
    assert router.route(question, tenant="acme").plan.chosen.model == "keeper"
    assert router.route(question, tenant="globex").plan.chosen.model == "cheap"
    assert router.route(question).plan.chosen.model == "cheap"
    byok = router.route(question, tenant="acme", api_key="sk-their-own-key-0123456789")
    assert byok.plan.chosen.model == "cheap"


def test_claude_is_priced_warm_only_for_calls_that_mark_a_breakpoint(caching_server, store):
    claude = priced("claude-m", (1.2, 0.12, 1.0), provider="claude", cache_write=1.5)
    router = make_router(caching_server, [CHEAP, claude], cache_aware=store)
    mark = CacheControl()
    rules = SystemMessage(content=[TextPart(text=SYSTEM, cache_control=mark)])
    first = router.chat([rules, UserMessage(content="Hi?")], hints={"model": "claude-m"})
    assert first.usage.cache_write_tokens > 1024
    marked = router.route([rules, UserMessage(content="And then?")])
    assert marked.plan.chosen.model == "claude-m"
    assert "prompt cache warm" in marked.plan.chosen.reasons[-1]
    unmarked = router.route([SystemMessage(content=SYSTEM), UserMessage(content="And then?")])
    assert unmarked.plan.chosen.model == "cheap"  # the same prompt, but nothing is read
    assert not any("prompt cache" in r for c in unmarked.plan.candidates for r in c.reasons)
    second = router.chat([rules, UserMessage(content="And then?")])
    assert second.decision.answered_by == "claude-m"
    assert second.usage.cached_tokens == first.usage.cache_write_tokens
    # only what was written is held: the rules, not the question after their breakpoint
    longer = [rules, UserMessage(content="And then?"), AssistantMessage(content="ok")]
    later = router.route([*longer, UserMessage(content=[TextPart(text="So?", cache_control=mark)])])
    rules_tokens = later.features.message_tokens[0]
    assert later.plan.chosen.reasons[-1].startswith(f"prompt cache warm: {rules_tokens} of")


def test_only_what_the_answer_says_was_cached_is_priced_warm(caching_server, store):
    """A breakpoint the provider did not cache (a prompt under its minimum for that model:
    Claude Haiku's is 2,048 tokens) is no reason to price it warm."""
    claude = priced("claude-m", (1.2, 0.12, 1.0), provider="claude", cache_write=1.5)
    router = make_router(caching_server, [CHEAP, claude], cache_aware=store)
    caching_server.prompt_cache.min_tokens = 100_000
    rules = SystemMessage(content=[TextPart(text=SYSTEM, cache_control=CacheControl())])
    first = router.chat([rules, UserMessage(content="Hi?")], hints={"model": "claude-m"})
    assert first.usage.cache_write_tokens == first.usage.cached_tokens == 0
    assert router.route([rules, UserMessage(content="And then?")]).plan.chosen.model == "cheap"


def test_a_model_whose_answers_read_nothing_cached_stops_being_priced_warm(caching_server):
    """A model priced with a cached price whose provider does not in fact cache (here the
    server's OpenAI-style caching is off) is priced warm on trust, then no more."""
    caching_server.prompt_cache.automatic = False
    router = make_router(caching_server, [CHEAP, KEEPER])
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Where is my order?")]
    chosen = []
    for _ in range(GIVE_UP_AFTER_MISSES + 2):
        answer = router.chat(question, hints={"model": "keeper"})
        assert answer.usage.cached_tokens == 0
        chosen.append(router.route(question).plan.chosen.model)
    assert chosen == ["keeper"] * GIVE_UP_AFTER_MISSES + ["cheap"] * 2


def test_a_prefix_unused_for_its_time_to_live_is_cold(caching_server, store):
    router = make_router(caching_server, [CHEAP, KEEPER], cache_aware=store)
    router.warm_caches = WarmCaches(router.warm_caches.store, ttl_s=0.3)
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Where is my order?")]
    router.chat(question, hints={"model": "keeper"})
    assert router.route(question).plan.chosen.model == "keeper"
    time.sleep(0.4)
    assert router.route(question).plan.chosen.model == "cheap"


def test_short_prompts_and_list_price_routers_keep_no_record(caching_server, tmp_path):
    router = make_router(caching_server, [CHEAP, KEEPER])
    router.chat("Where is my order?", hints={"model": "keeper"})
    assert router.warm_caches is not None and not router.warm_caches.store._entries
    assert router.route("Where is my order?").plan.chosen.model == "cheap"
    off = RouterConfig.from_data({"models": ["gpt-4.1-mini"], "cache_aware": False}).build()
    assert off.warm_caches is None
    assert RouterConfig.from_data({"models": ["gpt-4.1-mini"]}).build().warm_caches is not None
    with pytest.raises(ConfigError, match=r"cache_aware must be True, False or a warm-cache store"):
        make_router(caching_server, [CHEAP], cache_aware="redis://127.0.0.1:6379/0")
    db = f"sqlite:{tmp_path / 'state.db'}"
    shared = RouterConfig.from_data({"models": ["gpt-4.1-mini"], "state": db}).build()
    assert type(shared.warm_caches.store).__name__ == "SQLiteWarmStore"


def test_a_changed_tool_or_earlier_message_is_a_different_prefix(caching_server, store):
    router = make_router(caching_server, [CHEAP, KEEPER], cache_aware=store)
    tool = {"name": "lookup", "description": "Find an order", "parameters": {"type": "object"}}
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Where is my order?")]
    router.chat(question, tools=[tool], hints={"model": "keeper"})
    assert router.route(question, tools=[tool]).plan.chosen.model == "keeper"
    other = {**tool, "description": "Find an order by its number"}
    assert router.route(question, tools=[other]).plan.chosen.model == "cheap"
    edited = [SystemMessage(content=SYSTEM + " Be terse."), question[1]]
    assert router.route(edited, tools=[tool]).plan.chosen.model == "cheap"


NO_CALLS = {"local": OpenAIProvider(name="local", base_url="http://127.0.0.1:9", api_key="x")}
"""Plans only: nothing is called."""
PRICE = st.floats(min_value=0.01, max_value=50.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    prices=st.lists(
        st.tuples(PRICE, st.floats(0.0, 1.0), PRICE, st.booleans()), min_size=2, max_size=4
    ),
    warm=st.sets(st.integers(0, 3), min_size=1),
    turns=st.integers(0, 6),
    marked=st.booleans(),
)
def test_cache_prices_stay_between_the_cached_and_the_list_price(prices, warm, turns, marked):
    """Whatever the prices: a model is never priced below its price with the whole prompt
    cached, nor above its list price plus, for one that writes at breakpoints (Claude), the
    write's premium on the whole prompt; a cold one's plan figure is its call's own cost,
    at least its list price; models without a cheaper cached price are left alone."""
    from langroute import Router

    specs = [
        priced(f"m{i}", (inp, inp * share, out), **({"cache_write": inp * 1.25} if writes else {}))
        for i, (inp, share, out, writes) in enumerate(prices)
    ]
    router = Router([s.name for s in specs], registry=_registry(specs), providers=NO_CALLS)
    mark = CacheControl() if marked else None
    messages: list[Message] = [SystemMessage(content=[TextPart(text=SYSTEM, cache_control=mark)])]
    for turn in range(turns):
        messages += [UserMessage(content=f"Q{turn}"), AssistantMessage(content="A")]
    messages.append(UserMessage(content="Last?"))
    request = router.request(messages)
    assert router.warm_caches is not None
    for i in warm:
        if i < len(specs):
            used, system = request.features.prompt_tokens, request.features.message_tokens[0]
            usage = _usage(used, system if marked else 0)
            router.warm_caches.observe(request, specs[i], usage)
    listed = {e.spec.name: e.cost_usd for e in _estimates(router, request)}
    estimates = _estimates(router, request)
    warmth = router.warm_caches.lookup(request, specs)
    notes = router.warm_caches.reprice(request, estimates, warmth)
    for est in estimates:
        name, pricing = est.spec.name, est.spec.pricing
        full = est.spec.billed_prompt_tokens(request.features.prompt_tokens)
        floor = listed[name] - full * (pricing.input - pricing.cached_input) / 1e6
        ceiling = listed[name] + full * ((pricing.cache_write or 0) - pricing.input) / 1e6
        if pricing.cached_input >= pricing.input:
            assert name not in notes and est.cost_usd == listed[name]
            continue
        assert floor - 1e-12 <= est.cost_usd <= max(listed[name], ceiling) + 1e-12
        if name in notes and "cold" in notes[name][1]:
            assert listed[name] - 1e-12 <= notes[name][0] <= max(listed[name], ceiling) + 1e-12


def _registry(specs: list[ModelSpec]) -> Any:
    from langroute import Registry

    registry = Registry()
    for s in specs:
        registry.register(s)
    return registry


def _usage(prompt_tokens: int, written: int = 0) -> Any:
    from langroute.types import Usage

    return Usage(prompt_tokens=prompt_tokens, completion_tokens=5, cache_write_tokens=written)


def _estimates(router: Any, request: Any) -> list[Any]:
    from langroute.policy import eligible

    profile = router.classifier.classify(request.features)
    return eligible(router._specs, request.features, profile)[0]


def test_a_call_that_writes_claudes_cache_is_expected_to_cost_the_write(caching_server):
    """Claude bills what a call writes at its breakpoints at 1.25x the input price (2x for
    an hour): the plan's expected cost counts it, and only what is not cached already."""
    claude = priced(
        "claude-m", (1.2, 0.12, 1.0), provider="claude", cache_write=1.5, cache_write_1h=2.4
    )
    router = make_router(caching_server, [claude])

    def expected(*messages: Message) -> tuple[float, tuple[str, ...]]:
        chosen = router.route(list(messages)).plan.chosen
        return chosen.expected_cost_usd, chosen.reasons

    def rules(ttl: str | None = None) -> SystemMessage:
        mark = CacheControl(ttl=ttl) if ttl else CacheControl()
        return SystemMessage(content=[TextPart(text=SYSTEM, cache_control=mark)])

    question = UserMessage(content="Hi?")
    plain, _ = expected(SystemMessage(content=SYSTEM), question)
    marked, reasons = expected(rules(), question)
    hour, _ = expected(rules("1h"), question)
    written = router.request([rules(), question]).features.message_tokens[0]
    assert marked - plain == pytest.approx(written * 0.3 / 1e6)
    assert hour - plain == pytest.approx(written * 1.2 / 1e6)
    assert "more to write its cache" in reasons[-1]
    first = router.chat([rules(), question])
    assert first.usage.cache_write_tokens > 1024
    again, reasons = expected(rules(), UserMessage(content="And then?"))
    assert again < plain and "prompt cache warm" in reasons[-1]
    assert "to write" not in reasons[-1]


def test_a_breakpoint_before_the_models_minimum_is_expected_to_write_nothing(caching_server):
    """Claude Haiku 4.5 caches nothing shorter than 4,096 tokens (`cache_min_tokens`)."""
    from langroute import Registry

    assert Registry.builtin().get("claude-haiku-4-5").pricing.cache_min_tokens == 4096
    assert Registry.builtin().get("claude-sonnet-4-5").pricing.cache_min_tokens == 1024
    fussy = priced(
        "claude-m", (1.2, 0.12, 1.0), provider="claude", cache_write=1.5, cache_min_tokens=50_000
    )
    router = make_router(caching_server, [fussy])
    rules = SystemMessage(content=[TextPart(text=SYSTEM, cache_control=CacheControl())])
    marked = router.route([rules, UserMessage(content="Hi?")]).plan.chosen
    plain = router.route([SystemMessage(content=SYSTEM), UserMessage(content="Hi?")]).plan.chosen
    assert marked.expected_cost_usd == plain.expected_cost_usd
    assert not any("write" in r for r in marked.reasons)


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_two_routers_sharing_a_store_price_each_others_calls(caching_server, kind, request):
    """Two workers (two routers, each with its own process state) and one SQLite file or
    Redis: the turn one served is priced warm by the other, which reads and writes the
    store from worker threads, off the event loop. Two routers of one process may share an
    `InMemoryWarmStore` too. A router with a store of its own knows nothing of theirs."""
    from langroute._sync import run_sync
    from langroute.state import InMemoryWarmStore, RedisWarmStore, SQLiteWarmStore

    one = InMemoryWarmStore()

    def shared() -> Any:
        if kind == "memory":
            return one
        if kind == "sqlite":
            return SQLiteWarmStore(request.getfixturevalue("tmp_path") / "warm.db")
        url = request.getfixturevalue("redis_url")
        return RedisWarmStore(url, namespace=f"shared{id(request)}")

    first = make_router(caching_server, [CHEAP, KEEPER], cache_aware=shared())
    second = make_router(caching_server, [CHEAP, KEEPER], cache_aware=shared())
    alone = make_router(caching_server, [CHEAP, KEEPER])
    assert first.warm_caches is not None
    assert getattr(first.warm_caches.store, "blocking", False) == (kind != "memory")
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Where is my order?")]
    turn = first.chat(question, hints={"model": "keeper"})
    run_sync(first.drain())  # the store is written off the response path
    follow_up = [*question, AssistantMessage(content=turn.content), UserMessage(content="And?")]
    answer = second.chat(follow_up)
    assert answer.decision.answered_by == "keeper"
    assert "prompt cache warm" in answer.decision.plan.chosen.reasons[-1]
    assert answer.usage.cached_tokens > 1024
    assert alone.route(follow_up).plan.chosen.model == "cheap"


def test_a_top_level_breakpoint_marks_the_whole_prompt(caching_server):
    """Claude's automatic caching: `cache_control` on the call (LangChain's
    `invoke(..., cache_control=...)`) puts the breakpoint on the last block, so the call
    writes its whole prompt, and the next turn is priced warm on it."""
    claude = priced("claude-m", (1.2, 0.12, 1.0), provider="claude", cache_write=1.5)
    router = make_router(caching_server, [CHEAP, claude])
    automatic = {"cache_control": {"type": "ephemeral"}}
    question = [SystemMessage(content=SYSTEM), UserMessage(content="Hi?")]
    plain = router.route(question).plan.candidates
    marked = router.route(question, extra_body=automatic).plan.candidates
    by_name = {c.model: c.expected_cost_usd for c in plain}
    assert {c.model: c.expected_cost_usd for c in marked}["claude-m"] > by_name["claude-m"]
    first = router.chat(question, hints={"model": "claude-m"}, extra_body=automatic)
    assert first.usage.cache_write_tokens > 1024
    follow_up = [*question, AssistantMessage(content="ok"), UserMessage(content="And?")]
    later = router.route(follow_up, extra_body=automatic).plan.chosen
    assert later.model == "claude-m"
    assert later.reasons[-1].startswith(
        f"prompt cache warm: {sum(first.decision.features.message_tokens)} of"
    )
    assert router.route(follow_up).plan.chosen.model == "cheap"  # no breakpoint: no read
