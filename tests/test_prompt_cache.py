"""Prompt caching through native providers: breakpoints (`cache_control`) reach the Messages
API where it takes them, stay out of OpenAI-compatible bodies unless a gateway wants them,
and a routed call that reads a cached prefix is billed at the cached price."""

from __future__ import annotations

import json
import logging

import pytest

from langroute import AnthropicProvider, OpenAIProvider
from langroute.errors import BadRequest
from langroute.registry.spec import Pricing, ProviderSpec
from langroute.testing import Reply
from langroute.types import MESSAGE, ChatParams, ToolSpec

from .conftest import TEST_KEY, make_router, spec

EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}
RULES = "Answer as the house style guide says. " * 160  # ~1,520 tokens on the server


def msgs(*items: dict) -> list:
    return [MESSAGE.validate_python(m) for m in items]


def marked_conversation() -> list:
    return msgs(
        {"role": "system", "content": [{"type": "text", "text": RULES, "cache_control": HOUR}]},
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look at this."},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
                {"type": "text", "text": "", "cache_control": EPHEMERAL},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "A cat.", "cache_control": EPHEMERAL}],
            "tool_calls": [
                {"id": "t1", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}}
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "t1",
            "content": [{"type": "text", "text": "felis catus", "cache_control": EPHEMERAL}],
        },
    )


LOOKUP = ToolSpec.model_validate(
    {
        "name": "lookup",
        "description": "look a word up",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "cache_control": EPHEMERAL,
    }
)


def test_a_tool_in_anthropics_flat_form_keeps_its_breakpoint():
    assert LOOKUP.cache_control is not None and LOOKUP.cache_control.type == "ephemeral"
    assert LOOKUP.function.name == "lookup"
    assert LOOKUP.function.parameters["properties"] == {"q": {"type": "string"}}


async def test_breakpoints_reach_the_messages_api_where_it_takes_them(aserver):
    aserver.add("claude-m", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    await provider.chat("claude-m", marked_conversation(), ChatParams())
    body = aserver.calls[-1].body
    # a marked system message makes `system` blocks; the unmarked one follows as a block
    assert body["system"] == [
        {"type": "text", "text": RULES, "cache_control": HOUR},
        {"type": "text", "text": "Be brief."},
    ]
    user, assistant, tool = body["messages"]
    # an empty text part is left out; its breakpoint marks the same prefix, on the image
    assert user["content"][-1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://x/cat.png"},
        "cache_control": EPHEMERAL,
    }
    assert assistant["content"][0] == {"type": "text", "text": "A cat.", "cache_control": EPHEMERAL}
    # the API refuses a breakpoint inside a tool result's content: it goes on the result
    assert tool["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": "felis catus",
            "cache_control": EPHEMERAL,
        }
    ]
    # tools come first in the cache: a breakpoint on the last one caches them all
    await provider.chat(
        "claude-m", msgs({"role": "user", "content": "hi"}), ChatParams(tools=[LOOKUP])
    )
    assert aserver.calls[-1].body["tools"][0]["cache_control"] == EPHEMERAL
    await provider.aclose()


async def test_unmarked_system_messages_are_still_sent_as_one_string(aserver):
    aserver.add("claude-m", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    conversation = msgs(
        {"role": "system", "content": [{"type": "text", "text": "One."}]},
        {"role": "system", "content": "Two."},
        {"role": "user", "content": "hi"},
    )
    await provider.chat("claude-m", conversation, ChatParams())
    await provider.aclose()
    assert aserver.calls[-1].body["system"] == "One.\n\nTwo."


async def test_openai_compatible_servers_get_breakpoints_only_when_told(aserver, caplog):
    aserver.add("gpt-m", Reply("ok"))
    params = ChatParams(tools=[LOOKUP], extra_body={"cache_control": EPHEMERAL})
    plain = OpenAIProvider(name="plain", base_url=aserver.openai_url, api_key=TEST_KEY)
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        await plain.chat("gpt-m", marked_conversation(), params)
    assert "cache_control" not in json.dumps(aserver.calls[-1].body)
    assert "plain call without cache breakpoints" in caplog.text
    gateway = OpenAIProvider(
        name="gateway", base_url=aserver.openai_url, api_key=TEST_KEY, send_cache_control=True
    )
    await gateway.chat("gpt-m", marked_conversation(), params)
    body = aserver.calls[-1].body
    assert body["messages"][0]["content"][0]["cache_control"] == HOUR
    assert body["tools"][0]["cache_control"] == EPHEMERAL
    assert body["cache_control"] == EPHEMERAL
    await plain.aclose()
    await gateway.aclose()


def test_only_openai_compatible_providers_take_send_cache_control():
    with pytest.raises(ValueError, match="send_cache_control applies to kind = 'openai'"):
        ProviderSpec(kind="anthropic", base_url="https://x", send_cache_control=True)
    assert ProviderSpec(kind="openai", base_url="https://x", send_cache_control=True)


CLAUDE = spec("claude-m", provider="claude", context_window=200_000).model_copy(
    update={"pricing": Pricing(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)}
)


def cached_rules(question: str) -> list:
    return msgs(
        {
            "role": "system",
            "content": [{"type": "text", "text": RULES, "cache_control": EPHEMERAL}],
        },
        {"role": "user", "content": question},
    )


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_routed_call_writes_the_cache_once_then_reads_it_at_the_cached_price(
    aserver, streamed
):
    aserver.add("claude-m", Reply("ok"))
    router = make_router(aserver, [CLAUDE])

    async def ask(question: str):
        if not streamed:
            return await router.achat(cached_rules(question))
        async for chunk in router.astream(cached_rules(question)):
            last = chunk
        return last

    first, second = await ask("What is our tone?"), await ask("And our spelling?")
    rules = aserver.prompt_cache._blocks({"system": [{"type": "text", "text": RULES}]})[0].tokens
    assert first.usage.cache_write_tokens == rules and first.usage.cached_tokens == 0
    assert second.usage.cached_tokens == rules and second.usage.cache_write_tokens == 0
    for answer in (first, second):
        usage = answer.usage
        rest = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
        expected = (
            rest * 3.0
            + usage.cached_tokens * 0.3
            + usage.cache_write_tokens * 3.75
            + usage.completion_tokens * 15.0
        ) / 1e6
        assert answer.cost_usd == pytest.approx(expected)
    assert second.cost_usd < first.cost_usd / 3
    await router.aclose()


async def test_a_conversation_reads_what_its_last_turn_cached(aserver):
    """Each turn marks its last message; the next turn, longer, finds the last one's prefix
    by looking back from its own breakpoint, as the Messages API does."""
    aserver.add("claude-m", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    turn = [{"role": "user", "content": [{"type": "text", "text": RULES, "cache_control": HOUR}]}]
    first = await provider.chat("claude-m", msgs(*turn), ChatParams())
    turn = [
        {"role": "user", "content": [{"type": "text", "text": RULES}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "more", "cache_control": HOUR}]},
    ]
    second = await provider.chat("claude-m", msgs(*turn), ChatParams())
    await provider.aclose()
    assert first.usage.cache_write_tokens == first.usage.cache_write_1h_tokens > 1024
    assert second.usage.cached_tokens == first.usage.cache_write_tokens
    assert 0 < second.usage.cache_write_tokens < 10


async def test_a_prompt_below_the_minimum_is_not_cached(aserver):
    aserver.add("claude-m", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    short = [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {}}]}]
    for _ in range(2):
        answer = await provider.chat("claude-m", msgs(*short), ChatParams())
        assert answer.usage.cached_tokens == answer.usage.cache_write_tokens == 0
    await provider.aclose()


async def test_each_model_caches_from_its_own_minimum_as_the_api_does(aserver):
    """Claude Haiku 4.5 caches nothing shorter than 4,096 tokens, Sonnet 4.5 from 1,024: a
    ~1,500-token breakpoint writes on one and silently not on the other."""
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    written = {}
    for model in ("claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"):
        aserver.add(model, Reply("ok"))
        answer = await provider.chat(model, cached_rules("Hi?"), ChatParams())
        written[model] = answer.usage.cache_write_tokens
    await provider.aclose()
    assert written["claude-haiku-4-5-20251001"] == 0
    assert written["claude-sonnet-4-5-20250929"] > 1024


async def test_more_than_four_breakpoints_are_refused_as_the_api_does(aserver):
    aserver.add("claude-m", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    parts = [{"type": "text", "text": f"part {i}", "cache_control": EPHEMERAL} for i in range(5)]
    with pytest.raises(BadRequest, match="A maximum of 4 blocks with cache_control"):
        await provider.chat("claude-m", msgs({"role": "user", "content": parts}), ChatParams())
    await provider.aclose()


async def test_openais_cache_settings_go_to_openai_compatible_servers_only(aserver, caplog):
    aserver.add("gpt-m", Reply("ok"))
    aserver.add("claude-m", Reply("ok"))
    params = ChatParams(prompt_cache_key="user-42", prompt_cache_retention="24h")
    gpt = OpenAIProvider(name="o", base_url=aserver.openai_url, api_key=TEST_KEY)
    claude = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    hi = msgs({"role": "user", "content": "hi"})
    await gpt.chat("gpt-m", hi, params)
    sent = aserver.calls[-1].body
    assert (sent["prompt_cache_key"], sent["prompt_cache_retention"]) == ("user-42", "24h")
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        await claude.chat("claude-m", hi, params)
    assert not {"prompt_cache_key", "prompt_cache_retention"}.intersection(aserver.calls[-1].body)
    assert "anthropic call without OpenAI's prompt cache settings" in caplog.text
    await gpt.aclose()
    await claude.aclose()


async def test_the_scripted_messages_api_refuses_openais_fields(aserver):
    """As the real one does: a client that sends Claude an OpenAI-only field is caught (the
    providers themselves leave these out)."""
    import httpx

    aserver.add("claude-m", Reply("ok"))
    body = {"model": "claude-m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    async with httpx.AsyncClient(base_url=aserver.anthropic_url) as client:
        sent = await client.post(
            "/v1/messages", json={**body, "prompt_cache_key": "x"}, headers={"x-api-key": TEST_KEY}
        )
        fine = await client.post("/v1/messages", json=body, headers={"x-api-key": TEST_KEY})
    assert sent.status_code == 400
    assert sent.json()["error"]["message"] == "prompt_cache_key: Extra inputs are not permitted"
    assert fine.status_code == 200


async def test_the_scripted_server_caches_openai_calls_as_openai_does(aserver):
    """`prompt_cache.automatic`: every prompt of 1,024 tokens or more is cached without
    breakpoints, and a later call that starts the same way reads it in 128-token steps."""
    aserver.prompt_cache.automatic = True
    aserver.add("m", Reply("ok"))
    provider = OpenAIProvider(name="local", base_url=aserver.openai_url, api_key=TEST_KEY)
    long = msgs({"role": "system", "content": RULES}, {"role": "user", "content": "Hi?"})
    first = await provider.chat("m", long, ChatParams())
    longer = [*long, *msgs({"role": "user", "content": "More?"})]
    again = await provider.chat("m", longer, ChatParams())
    short = msgs({"role": "user", "content": "Hi?"})
    answers = [await provider.chat("m", short, ChatParams()) for _ in range(2)]
    await provider.aclose()
    assert first.usage.cached_tokens == 0
    assert 1024 <= again.usage.cached_tokens <= first.usage.prompt_tokens
    assert (again.usage.cached_tokens - 1024) % 128 == 0
    assert [a.usage.cached_tokens for a in answers] == [0, 0]
