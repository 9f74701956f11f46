"""Extended thinking and reasoning through the router, over real HTTP: Claude's signed
thinking blocks come back in the answer and go back unchanged in a tool loop (the Messages
API refuses the next step otherwise), streamed or not; what Claude refuses beside thinking
is left out; a fallback to an OpenAI-compatible model neither gets Claude's setting nor its
blocks; and DeepSeek-style `reasoning_content` is read."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from langroute import AnthropicProvider, OpenAIProvider
from langroute.errors import BadRequest
from langroute.testing import CallInfo, Fail, Reply, ToolCallScript
from langroute.testing.thinking import signature
from langroute.types import (
    MESSAGE,
    AssistantMessage,
    ChatParams,
    Completion,
    RedactedThinkingPart,
    StreamChunk,
    TextPart,
    ThinkingConfig,
    ThinkingDelta,
    ThinkingPart,
    ToolMessage,
    UserMessage,
)

from .conftest import TEST_KEY, make_router, spec

THINK = {"type": "enabled", "budget_tokens": 2048}


pytestmark = pytest.mark.usefixtures("said_again")


WEATHER = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def _tool_loop_reply(call: CallInfo) -> Reply:
    """Calls the weather tool first; answers once the tool's result is in."""
    last = call.body["messages"][-1]
    answered = last.get("role") == "tool" or (
        isinstance(last.get("content"), list)
        and any(b.get("type") == "tool_result" for b in last["content"])
    )
    if answered:
        return Reply("It is sunny in Paris.")
    return Reply("", tool_calls=(ToolCallScript("weather", {"city": "Paris"}, id="tu_1"),))


async def _answer(router: Any, messages: list[Any], stream: bool, **kwargs: Any) -> Completion:
    if not stream:
        return await router.achat(messages, **kwargs)
    return Completion.from_chunks([c async for c in router.astream(messages, **kwargs)])


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_a_claude_tool_loop_with_thinking_sends_its_thinking_back(aserver, stream):
    aserver.add("claude-t", _tool_loop_reply)
    router = make_router(aserver, [spec("claude-t", provider="claude")])
    question = [UserMessage(content="What is the weather in Paris?")]
    first = await _answer(router, question, stream, tools=[WEATHER], thinking=THINK)
    assert first.tool_calls and first.tool_calls[0].function.name == "weather"
    (block,) = first.thinking
    assert isinstance(block, ThinkingPart)
    assert block.thinking == "Thinking about: What is the weather in Paris?"
    assert block.signature == signature(block.thinking)
    assert first.reasoning_text == block.thinking
    # the thinking tokens are billed as output: the plan's estimate does not see them
    assert first.usage.completion_tokens >= 10

    turn = [*question, first.message(), ToolMessage(content="sunny", tool_call_id="tu_1")]
    second = await _answer(router, turn, stream, tools=[WEATHER], thinking=THINK)
    assert second.content == "It is sunny in Paris."
    sent = aserver.calls[-1].body["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    assert sent[1]["type"] == "tool_use"
    await router.aclose()


async def test_the_messages_api_refuses_a_tool_loop_that_lost_its_thinking(aserver):
    """What users of a router that drops thinking blocks hit (the scripted server's rule)."""
    aserver.add("claude-t", _tool_loop_reply)
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    params = ChatParams(tools=[WEATHER], thinking=THINK)
    question = [UserMessage(content="What is the weather in Paris?")]
    first = await provider.chat("claude-t", question, params)
    bare = first.message().model_copy(update={"content": None})
    with pytest.raises(BadRequest, match="must start with a thinking block"):
        await provider.chat(
            "claude-t", [*question, bare, ToolMessage(content="sunny", tool_call_id="tu_1")], params
        )
    changed = AssistantMessage(
        content=[ThinkingPart(thinking="Something else.", signature=first.thinking[0].signature)],
        tool_calls=first.tool_calls,
    )
    with pytest.raises(BadRequest, match="Invalid `signature`"):
        await provider.chat(
            "claude-t",
            [*question, changed, ToolMessage(content="sunny", tool_call_id="tu_1")],
            params,
        )
    await provider.aclose()


async def test_what_claude_refuses_beside_thinking_is_left_out_and_said(aserver, caplog):
    aserver.add("claude-t", Reply("ok"))
    provider = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    params = ChatParams(
        tools=[WEATHER], tool_choice="weather", temperature=0.2, top_p=0.5, thinking=THINK
    )
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        answer = await provider.chat("claude-t", [UserMessage(content="hi")], params)
    body = aserver.calls[-1].body
    assert answer.content == "ok" and answer.thinking
    assert "temperature" not in body and "top_p" not in body
    assert body["tool_choice"] == {"type": "auto"}
    # no max_tokens given: the default leaves room for the answer beside the budget
    assert body["max_tokens"] == 4096 + 2048
    for said in ("temperature with thinking", "top_p under 0.95", "a forced tool choice"):
        assert said in caplog.text
    await provider.aclose()


async def test_a_fallback_to_an_openai_model_gets_neither_the_setting_nor_the_blocks(
    aserver, caplog
):
    aserver.add("claude-t", Fail(529, "overloaded", code="overloaded_error"))
    aserver.add("gpt-t", Reply("Sunny."))
    router = make_router(
        aserver, [spec("claude-t", provider="claude", price=(1, 1)), spec("gpt-t", price=(9, 9))]
    )
    history = [
        UserMessage(content="Weather?"),
        AssistantMessage(
            content=[
                ThinkingPart(thinking="Let me look.", signature=signature("Let me look.")),
                RedactedThinkingPart(data="EnCrYpTeD"),
                TextPart(text="Looking it up."),
            ],
            tool_calls=[
                {"id": "tu_1", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
            ],
        ),
        ToolMessage(content="sunny", tool_call_id="tu_1"),
    ]
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        answer = await router.achat(history, tools=[WEATHER], thinking=THINK)
    assert answer.model == "gpt-t" and answer.content == "Sunny."
    body = aserver.calls[-1].body
    assert "thinking" not in body
    assert body["messages"][1]["content"] == [{"type": "text", "text": "Looking it up."}]
    assert "Claude's thinking setting" in caplog.text
    # Claude got both blocks, in order, before the text
    claude_body = next(c.body for c in aserver.calls if c.model == "claude-t")
    kinds = [b["type"] for b in claude_body["messages"][1]["content"]]
    assert kinds == ["thinking", "redacted_thinking", "text", "tool_use"]
    await router.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_deepseek_style_reasoning_content_is_read_and_not_sent_back(aserver, stream):
    aserver.add("reasoner-t", Reply("42", reasoning="Six times seven is forty-two."))
    router = make_router(aserver, [spec("reasoner-t")])
    answer = await _answer(router, [UserMessage(content="6*7?")], stream)
    assert answer.content == "42"
    assert answer.thinking == [ThinkingPart(thinking="Six times seven is forty-two.")]
    await router.achat([UserMessage(content="6*7?"), answer.message(), UserMessage(content="ok")])
    sent = aserver.calls[-1].body["messages"][1]
    assert sent == {"role": "assistant", "content": [{"type": "text", "text": "42"}]}
    # Claude cannot check another API's unsigned reasoning: it is not sent to Claude either
    claude = AnthropicProvider(name="c", base_url=aserver.anthropic_url, api_key=TEST_KEY)
    aserver.add("claude-t", Reply("ok"))
    await claude.chat("claude-t", [UserMessage(content="6*7?"), answer.message()], ChatParams())
    assert aserver.calls[-1].body["messages"][1]["content"] == [{"type": "text", "text": "42"}]
    await claude.aclose()
    await router.aclose()


async def test_an_answer_streamed_with_thinking_is_cached_with_it(aserver):
    from langroute import ResponseCache

    aserver.add("claude-t", Reply("Paris."))
    router = make_router(
        aserver, [spec("claude-t", provider="claude")], cache=ResponseCache(cache_sampled=True)
    )
    question = [UserMessage(content="Capital of France?")]
    streamed = Completion.from_chunks([c async for c in router.astream(question, thinking=THINK)])
    again = Completion.from_chunks([c async for c in router.astream(question, thinking=THINK)])
    assert aserver.count("claude-t") == 1
    assert again.content == "Paris." and again.thinking == streamed.thinking
    await router.aclose()


def test_thinking_settings_are_checked_with_a_clear_error():
    with pytest.raises(ValueError, match="needs budget_tokens"):
        ThinkingConfig(type="enabled")
    with pytest.raises(ValueError, match="greater than or equal to 1024"):
        ThinkingConfig(type="enabled", budget_tokens=100)
    assert ThinkingConfig(type="adaptive").on and not ThinkingConfig(type="disabled").on
    # a field the API adds later passes through
    assert ThinkingConfig(type="enabled", budget_tokens=2048, display="summarized").model_dump(
        exclude_none=True
    ) == {"type": "enabled", "budget_tokens": 2048, "display": "summarized"}


def test_assistant_messages_take_reasoning_parts_as_dicts():
    message = MESSAGE.validate_python(
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": "s"},
                {"type": "redacted_thinking", "data": "x"},
                {"type": "text", "text": "ok"},
            ],
        }
    )
    assert isinstance(message, AssistantMessage)
    assert [type(p).__name__ for p in message.content or []] == [
        "ThinkingPart",
        "RedactedThinkingPart",
        "TextPart",
    ]


def test_chunks_are_put_together_by_index():
    chunks = [
        StreamChunk(model="m", thinking=[ThinkingDelta(index=0, thinking="a ")]),
        StreamChunk(model="m", thinking=[ThinkingDelta(index=0, thinking="b")]),
        StreamChunk(model="m", thinking=[ThinkingDelta(index=0, signature="sig")]),
        StreamChunk(model="m", thinking=[ThinkingDelta(index=1, redacted="enc")]),
        StreamChunk(model="m", content="Hi"),
        StreamChunk(model="m", tool_calls=[{"index": 0, "id": "t", "name": "f"}]),
        StreamChunk(model="m", tool_calls=[{"index": 0, "arguments": '{"a": 1}'}]),
        StreamChunk(model="m", finish_reason="tool_calls", usage={"completion_tokens": 5}),
    ]
    answer = Completion.from_chunks(chunks)
    assert answer.thinking == [
        ThinkingPart(thinking="a b", signature="sig"),
        RedactedThinkingPart(data="enc"),
    ]
    assert answer.content == "Hi" and answer.finish_reason == "tool_calls"
    assert json.loads(answer.tool_calls[0].function.arguments) == {"a": 1}
    assert answer.usage.completion_tokens == 5
    with pytest.raises(ValueError, match="no chunks"):
        Completion.from_chunks([])


async def test_an_openai_server_refuses_claudes_setting_when_sent_raw(aserver):
    """`extra_body` is sent as given: the scripted server answers as OpenAI does."""
    aserver.add("gpt-t", Reply("ok"))
    provider = OpenAIProvider(name="o", base_url=aserver.openai_url, api_key=TEST_KEY)
    with pytest.raises(BadRequest, match="Unrecognized request argument supplied: thinking"):
        await provider.chat(
            "gpt-t", [UserMessage(content="hi")], ChatParams(extra_body={"thinking": THINK})
        )
    await provider.aclose()


async def test_a_claude_model_that_cannot_think_is_called_without_the_setting(aserver, caplog):
    """Claude 3.5 Haiku refuses `thinking` (the catalog says so): routed there, the call goes
    without it rather than fail with a 400 that no fallback would catch."""
    aserver.add("claude-old", Reply("Paris."))
    router = make_router(
        aserver,
        [spec("claude-old", provider="claude", capabilities={"thinking": False})],
    )
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        answer = await router.achat("Capital of France?", thinking=THINK)
        chunks = [c async for c in router.astream("Capital of France?", thinking=THINK)]
    assert answer.content == "Paris." and not answer.thinking
    assert Completion.from_chunks(chunks).content == "Paris."
    assert all("thinking" not in c.body for c in aserver.calls)
    assert "claude-old call without Claude's thinking setting" in caplog.text
    from langroute import Registry

    assert not Registry.builtin().get("claude-3-5-haiku").capabilities.thinking
    assert Registry.builtin().get("claude-haiku-4-5").capabilities.thinking


def test_plans_count_the_thinking_tokens_claude_bills(server):
    """Claude bills its thinking as output tokens: a plan that left them out would send a
    thinking call to Claude as if it cost what the answer alone costs."""
    router = make_router(
        server,
        [
            spec("claude-t", provider="claude", price=(1.0, 10.0)),
            spec("gpt-t", price=(4.0, 12.0)),
        ],
    )
    plain = router.route("Explain briefly why the sky is blue.")
    assert plain.chosen == "claude-t"
    thinking = router.route("Explain briefly why the sky is blue.", thinking=THINK)
    assert thinking.chosen == "gpt-t"
    claude = next(c for c in thinking.plan.candidates if c.model == "claude-t")
    before = next(c for c in plain.plan.candidates if c.model == "claude-t")
    assert claude.expected_cost_usd == pytest.approx(before.expected_cost_usd + 2048 * 10e-6)
    assert any(r.startswith("thinking: up to 2048 more output tokens") for r in claude.reasons)
    gpt = next(c for c in thinking.plan.candidates if c.model == "gpt-t")
    assert not any("thinking" in r for r in gpt.reasons)  # it is not sent the setting
    # a max_cost hint is checked with the thinking counted
    assert max(c.expected_cost_usd for c in plain.plan.candidates) < 0.01
    capped = router.route(
        "Explain briefly why the sky is blue.",
        thinking=THINK,
        hints={"max_cost_usd": 0.01},  # above both without thinking
    )
    assert capped.plan.models == ["gpt-t"]
    (refused,) = capped.plan.rejected
    assert refused.model == "claude-t" and "with thinking > max_cost" in refused.reason
    # a model that cannot think is not counted
    old = make_router(
        server, [spec("claude-old", provider="claude", capabilities={"thinking": False})]
    )
    (only,) = old.route("hi", thinking=THINK).plan.candidates
    assert not any("thinking" in r for r in only.reasons)
