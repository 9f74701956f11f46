"""Extended thinking and reasoning through `RoutingLLM`, over real HTTP: a `FunctionAgent`'s
tool loop on a native Claude candidate with thinking on (Claude refuses the next step
unless the thinking blocks come back), the `thinking` setting only for LLMs that take it,
and reasoning as LlamaIndex's `ThinkingBlock`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ThinkingBlock
from llama_index.core.llms import ChatMessage
from llama_index.core.tools import FunctionTool

from langroute import AnthropicProvider, OpenAIProvider
from langroute.testing import CallInfo, Reply, ToolCallScript
from langroute.testing.thinking import signature
from li_helpers import CHEAP, KEY, SPECS, cheap_llm
from li_helpers import scripted_server as server_of
from llama_index.llms.langroute import RoutingLLM

THINK = {"type": "enabled", "budget_tokens": 2048}


pytestmark = pytest.mark.usefixtures("said_again")


def described(provider: str) -> dict[str, Any]:
    return {
        "provider": provider,
        "pricing": {"input": 1.0, "output": 5.0},
        "context_window": 200_000,
        "max_output_tokens": 64_000,
    }


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _tool_loop_reply(call: CallInfo) -> Reply:
    last = call.body["messages"][-1]
    content = last.get("content")
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return Reply("It is sunny in Paris.")
    return Reply("", tool_calls=(ToolCallScript("get_weather", {"city": "Paris"}),))


@pytest.fixture
def server():
    return server_of()


def claude_router(server: Any, name: str, **kwargs: Any) -> RoutingLLM:
    native = "claude-native"
    return RoutingLLM(
        models=[name],
        specs={name: described(native)},
        providers={
            native: AnthropicProvider(name=native, base_url=server.anthropic_url, api_key=KEY)
        },
        **kwargs,
    )


@pytest.mark.parametrize("streaming", [False, True], ids=["chat", "stream_chat"])
async def test_an_agent_thinks_through_its_tool_loop_on_a_native_claude_candidate(
    server, streaming
):
    """The thinking block of the step that called the tool reaches Claude again with the
    tool's result. It was dropped, and Claude answered 400."""
    name = f"li-think-{streaming}"
    server.add(name, _tool_loop_reply)
    llm = claude_router(server, name, additional_kwargs={"thinking": THINK})
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(get_weather)], llm=llm, streaming=streaming
    )
    result = await agent.run("What is the weather in Paris?")
    assert "It is sunny in Paris." in str(result)
    thought = "Thinking about: What is the weather in Paris?"
    sent = server.calls[-1].body
    assert sent["thinking"] == THINK
    assert sent["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": thought,
        "signature": signature(thought),
    }


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
def test_reasoning_comes_back_as_thinking_blocks(server, method):
    name = f"li-think-blocks-{method}"
    server.add(name, Reply("Paris.", reasoning="The capital of France is Paris."))
    llm = claude_router(server, name)
    question = [ChatMessage(role="user", content="Capital of France?")]
    if method == "chat":
        response = llm.chat(question, thinking=THINK)
    else:
        *_, response = llm.stream_chat(question, thinking=THINK)
    (block,) = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert block.content == "The capital of France is Paris."
    assert block.additional_information == {"signature": signature(block.content)}
    assert response.message.content == "Paris."
    llm.chat([*question, response.message, ChatMessage(role="user", content="And Italy?")])
    assert server.calls[-1].body["messages"][1]["content"][0]["type"] == "thinking"


def test_an_openai_candidate_does_not_get_claudes_thinking_setting(server, caplog):
    llm = RoutingLLM(models=[cheap_llm()], specs={CHEAP: SPECS[CHEAP]})
    with caplog.at_level(logging.WARNING, logger="langroute"):
        llm.chat([ChatMessage(role="user", content="hi")], thinking=THINK)
    assert server.calls[-1].model == CHEAP and "thinking" not in server.calls[-1].body
    assert "Claude's thinking setting" in caplog.text


def test_deepseek_style_reasoning_is_a_thinking_block_without_signature(server):
    name = "li-reasoner"
    server.add(name, Reply("42", reasoning="Six times seven."))
    llm = RoutingLLM(
        models=[name],
        specs={name: described("reasoner")},
        providers={
            "reasoner": OpenAIProvider(name="reasoner", base_url=server.openai_url, api_key=KEY)
        },
    )
    response = llm.chat([ChatMessage(role="user", content="6*7?")])
    (block,) = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
    assert block.content == "Six times seven." and block.additional_information == {}
    llm.chat(
        [
            ChatMessage(role="user", content="6*7?"),
            response.message,
            ChatMessage(role="user", content="Sure?"),
        ]
    )
    assert "Six times" not in str(server.calls[-1].body["messages"])


def test_the_plan_counts_thinking_for_a_native_claude_candidate_only(server):
    server.add("li-think-plan", Reply("Claude."))
    native = "claude-native"
    llm = RoutingLLM(
        models=["li-think-plan", cheap_llm()],
        specs={
            "li-think-plan": {
                **described(native),
                "pricing": {"input": 0.1, "output": 0.5},
                "default_quality": 0.95,  # both meet the bar
            },
            CHEAP: {**SPECS[CHEAP], "pricing": {"input": 0.15, "output": 0.6}},
        },
        providers={
            native: AnthropicProvider(name=native, base_url=server.anthropic_url, api_key=KEY)
        },
    )
    question = [ChatMessage(role="user", content="Why is the sky blue?")]
    assert llm.chat(question).additional_kwargs["langroute"]["answered_by"] == "li-think-plan"
    thought = llm.chat(question, thinking=THINK)
    assert thought.additional_kwargs["langroute"]["answered_by"] == CHEAP
    with pytest.raises(ValueError, match="budget_tokens"):
        llm.chat(question, thinking={"type": "enabled", "budget_tokens": 10})
