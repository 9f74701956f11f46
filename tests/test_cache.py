"""Response cache: exact and semantic hits, tenant isolation, what is never cached, TTL,
the three stores, and streaming."""

from __future__ import annotations

import uuid

import pytest

from langroute import AllModelsFailed, ResponseCache
from langroute.state import InMemoryCache, RedisCache, SQLiteCache
from langroute.testing import Fail, Reply, ScriptedServer, ToolCallScript
from tests.conftest import make_router, spec


@pytest.fixture(params=["memory", "sqlite", "redis"])
def cache_store(request: pytest.FixtureRequest, tmp_path):
    if request.param == "memory":
        return InMemoryCache()
    if request.param == "sqlite":
        return SQLiteCache(tmp_path / "cache.db")
    url = request.getfixturevalue("redis_url")
    return RedisCache(url, namespace=f"t-{uuid.uuid4().hex[:8]}", on_unavailable="fail")


async def test_an_exact_hit_costs_nothing_and_is_reported(
    aserver: ScriptedServer, cache_store
) -> None:
    aserver.add("m", Reply("Paris.", prompt_tokens=20, completion_tokens=3))
    router = make_router(aserver, [spec("m")], cache=ResponseCache(cache_store))
    first = await router.achat("Capital of France?", temperature=0)
    assert first.decision.cache is None and first.cost_usd > 0
    await router.drain()
    again = await router.achat("Capital of France?", temperature=0)
    assert aserver.count("m") == 1, "the second call never reached the model"
    assert again.content == "Paris."
    assert again.decision.cache == "exact" and again.decision.answered_by == "m"
    assert again.cost_usd == 0 and again.decision.attempts == []
    assert again.usage.prompt_tokens == 20 and again.usage.cached_tokens == 20
    assert again.decision.summary()["cache"] == "exact"
    different = await router.achat("Capital of France?", temperature=0, max_tokens=5)
    assert different.decision.cache is None, "a parameter that changes the answer is in the key"
    await router.aclose()


async def test_two_tenants_never_see_each_others_answer(
    aserver: ScriptedServer, cache_store
) -> None:
    aserver.add("m", script=[Reply("answer for acme"), Reply("answer for globex")])
    router = make_router(aserver, [spec("m")], cache=ResponseCache(cache_store))
    prompt = "Summarise our Q3 revenue."
    acme = await router.achat(prompt, tenant="acme", temperature=0)
    await router.drain()
    globex = await router.achat(prompt, tenant="globex", temperature=0)
    assert (acme.content, globex.content) == ("answer for acme", "answer for globex")
    assert globex.decision.cache is None and aserver.count("m") == 2
    await router.drain()
    for tenant, expected in (("acme", "answer for acme"), ("globex", "answer for globex")):
        again = await router.achat(prompt, tenant=tenant, temperature=0)
        assert again.decision.cache == "exact" and again.content == expected
    anonymous = await router.achat(prompt, temperature=0)
    assert anonymous.decision.cache is None, "no tenant is its own namespace"
    await router.aclose()


async def test_a_semantic_hit_and_a_near_miss_below_threshold(aserver: ScriptedServer) -> None:
    from langroute.embed.minilm import MiniLMEmbedder

    aserver.add("m", Reply(lambda text: f"answer to: {text}"))
    cache = ResponseCache(embedder=MiniLMEmbedder(), threshold=0.92)
    router = make_router(aserver, [spec("m")], cache=cache)
    await router.achat("What is the capital of France?", temperature=0, tenant="t")
    await router.drain()
    hit = await router.achat("what is the capital city of France?", temperature=0, tenant="t")
    assert hit.decision.cache == "semantic"
    assert hit.content == "answer to: What is the capital of France?"
    for near_miss in (
        "What is the capital of France? Answer in one word.",  # similarity 0.88
        "What is the capital of Germany?",  # 0.66
    ):
        miss = await router.achat(near_miss, temperature=0, tenant="t")
        assert miss.decision.cache is None and miss.content == f"answer to: {near_miss}"
    other_tenant = await router.achat("What is the capital of France?", temperature=0, tenant="u")
    assert other_tenant.decision.cache is None
    assert aserver.count("m") == 4
    await router.aclose()


async def test_errors_tool_calls_and_sampled_answers_are_not_cached(
    aserver: ScriptedServer,
) -> None:
    aserver.add("m", script=[Fail(500), Fail(500)], default=Reply("fine"))
    router = make_router(aserver, [spec("m")], cache=ResponseCache())
    with pytest.raises(AllModelsFailed):
        await router.achat("hi", temperature=0)
    ok = await router.achat("hi", temperature=0)
    assert ok.content == "fine" and ok.decision.cache is None, "the error was not cached"

    sampled = [await router.achat("tell me a story") for _ in range(2)]
    assert [s.decision.cache for s in sampled] == [None, None], "temperature unset: sampled"

    tool = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    aserver.models["m"].default = Reply("", tool_calls=(ToolCallScript("lookup", {"q": "x"}),))
    calls = [await router.achat("find x", tools=[tool], temperature=0) for _ in range(2)]
    assert [c.decision.cache for c in calls] == [None, None]
    assert calls[1].tool_calls[0].function.name == "lookup"

    opted_in = make_router(
        aserver, [spec("m")], cache=ResponseCache(cache_tool_calls=True, cache_sampled=True)
    )
    for _ in range(2):
        tool_answer = await opted_in.achat("find x", tools=[tool])
        await opted_in.drain()
    assert tool_answer.decision.cache == "exact"
    assert tool_answer.tool_calls[0].function.name == "lookup"
    await router.aclose()
    await opted_in.aclose()


def test_entries_expire_after_their_ttl() -> None:
    now = [0.0]
    store = InMemoryCache(clock=lambda: now[0])
    store.put("k", "v", ttl_s=10)
    store.add_vector("ns", "k", b"\x00\x00\x80?", ttl_s=10)
    assert store.get("k") == "v" and len(store.vectors("ns")) == 1
    now[0] = 10.5
    assert store.get("k") is None and store.vectors("ns") == []


async def test_a_streamed_answer_is_cached_and_a_hit_streams_back(
    aserver: ScriptedServer,
) -> None:
    aserver.add("m", Reply("streamed answer"))
    router = make_router(aserver, [spec("m")], cache=ResponseCache())
    first = [c async for c in router.astream("hi", temperature=0)]
    assert "".join(c.content for c in first) == "streamed answer"
    await router.drain()
    second = [c async for c in router.astream("hi", temperature=0)]
    assert "".join(c.content for c in second) == "streamed answer"
    assert second[-1].decision.cache == "exact" and second[-1].cost_usd == 0
    assert aserver.count("m") == 1
    completion = await router.achat("hi", temperature=0)
    assert completion.decision.cache == "exact"
    await router.aclose()


def test_cache_configuration_is_validated() -> None:
    from langroute import ConfigError

    with pytest.raises(ConfigError, match="threshold is a cosine similarity"):
        ResponseCache(threshold=1.5)
    with pytest.raises(ConfigError, match="ttl_s must be positive"):
        ResponseCache(ttl_s=0)


async def test_prompt_cache_hints_do_not_change_the_key(aserver: ScriptedServer) -> None:
    """Breakpoints and OpenAI's cache settings change what a call costs, not its answer: the
    same question asked with and without them is one entry."""
    aserver.add("m", Reply("Paris."))
    router = make_router(aserver, [spec("m")], cache=ResponseCache(InMemoryCache()))
    marked = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": {}}]},
        {"role": "user", "content": "Capital of France?"},
    ]
    plain = [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]}, marked[1]]
    await router.achat(marked, temperature=0, prompt_cache_key="user-1")
    await router.drain()
    again = await router.achat(plain, temperature=0)
    assert again.decision.cache == "exact" and aserver.count("m") == 1
