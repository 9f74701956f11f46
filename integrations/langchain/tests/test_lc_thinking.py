"""Extended thinking and reasoning through `RoutingChatModel`, over real HTTP: an agent's
tool loop on a native Claude candidate with thinking on (Claude refuses the next step
unless the thinking blocks come back), the `thinking` setting only for candidates that
speak Anthropic's API, and DeepSeek-style reasoning where LangChain users look for it."""

from __future__ import annotations

import logging
import operator
from functools import reduce
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool

from langchain_langroute import RoutingChatModel
from langroute import AnthropicProvider, OpenAIProvider
from langroute.testing import CallInfo, Reply, ToolCallScript
from langroute.testing.thinking import signature
from lc_helpers import KEY, SPECS, anthropic_candidate, openai_candidate
from lc_helpers import scripted_server as server_of

THINK = {"type": "enabled", "budget_tokens": 2048}
CLAUDE = {**SPECS["std-anthropic"], "provider": "claude"}


pytestmark = pytest.mark.usefixtures("said_again")


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _tool_loop_reply(call: CallInfo) -> Reply:
    last = call.body["messages"][-1]
    content = last.get("content")
    if last.get("role") == "tool" or (
        isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)
    ):
        return Reply("It is sunny in Paris.")
    return Reply("", tool_calls=(ToolCallScript("weather", {"city": "Paris"}),))


@pytest.fixture
def server():
    return server_of()


def claude_router(server: Any, name: str, **kwargs: Any) -> RoutingChatModel:
    return RoutingChatModel(
        models=[name],
        specs={name: CLAUDE},
        providers={
            "claude": AnthropicProvider(name="claude", base_url=server.anthropic_url, api_key=KEY)
        },
        **kwargs,
    )


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_an_agent_thinks_through_its_tool_loop_on_a_native_claude_candidate(server, mode):
    """Each step is routed on its own; the thinking blocks of the step that called the tool
    reach Claude again with the tool's result. They were dropped, and Claude answered 400."""
    name = f"lc-think-{mode}"
    server.add(name, _tool_loop_reply)
    agent = create_agent(
        claude_router(server, name, model_kwargs={"thinking": THINK}), tools=[weather]
    )
    question = {"messages": [HumanMessage("What is the weather in Paris?")]}
    if mode == "invoke":
        messages = agent.invoke(question)["messages"]
    else:  # the "messages" mode makes each model step stream
        state: dict[str, Any] = {}
        for kind, data in agent.stream(question, stream_mode=["messages", "values"]):
            if kind == "values":
                state = data
        messages = state["messages"]
    assert messages[-1].text == "It is sunny in Paris."
    called = messages[1]
    assert isinstance(called, AIMessage) and called.tool_calls
    thought = "Thinking about: What is the weather in Paris?"
    assert {k: v for k, v in called.content[0].items() if k != "index"} == {
        "type": "thinking",
        "thinking": thought,
        "signature": signature(thought),
    }
    assert called.content_blocks[0]["type"] == "reasoning"
    sent = server.calls[-1].body
    assert sent["thinking"] == THINK
    assert sent["messages"][1]["content"][0]["type"] == "thinking"


def test_a_streamed_claude_answer_adds_up_to_the_blocks_claude_needs_back(server):
    name = "lc-think-chunks"
    server.add(name, Reply("Paris.", reasoning="The capital of France is Paris."))
    llm = claude_router(server, name)
    # added up as LangChain does, from the first chunk (ChatAnthropic's too start as lists)
    answer = reduce(operator.add, llm.stream("Capital of France?", thinking=THINK))
    blocks = [{k: v for k, v in b.items() if k != "index"} for b in answer.content]
    assert blocks == [
        {
            "type": "thinking",
            "thinking": "The capital of France is Paris.",
            "signature": signature("The capital of France is Paris."),
        },
        {"type": "text", "text": "Paris."},
    ]
    assert answer.text == "Paris."
    # the whole streamed message goes back unchanged
    llm.invoke([HumanMessage("Capital of France?"), answer, HumanMessage("And Italy?")])
    assert server.calls[-1].body["messages"][1]["content"][0]["signature"] == signature(
        "The capital of France is Paris."
    )


def test_only_candidates_that_speak_anthropics_api_get_the_thinking_setting(server, caplog):
    server.add("lc-think-oai", Reply("From OpenAI."))
    server.add("lc-think-ant", Reply("From Claude."))
    openai_only = RoutingChatModel(
        models=[openai_candidate("lc-think-oai")], specs={"lc-think-oai": SPECS["std-openai"]}
    )
    with caplog.at_level(logging.WARNING, logger="langroute"):
        assert openai_only.invoke("hi", thinking=THINK).content == "From OpenAI."
    assert "thinking" not in server.calls[-1].body
    assert "Claude's thinking setting" in caplog.text
    claude = RoutingChatModel(
        models=[anthropic_candidate("lc-think-ant")], specs={"lc-think-ant": CLAUDE}
    )
    answer = claude.invoke("hi", thinking=THINK)
    assert server.calls[-1].body["thinking"] == THINK
    assert answer.content_blocks[0]["type"] == "reasoning"  # ChatAnthropic's own answer


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_deepseek_style_reasoning_is_where_langchain_users_look_for_it(server, mode):
    name = f"lc-reasoner-{mode}"
    server.add(name, Reply("42", reasoning="Six times seven."))
    llm = RoutingChatModel(
        models=[name],
        specs={name: {**SPECS["std-openai"], "provider": "reasoner"}},
        providers={
            "reasoner": OpenAIProvider(name="reasoner", base_url=server.openai_url, api_key=KEY)
        },
    )
    stream = mode == "stream"
    answer = sum(llm.stream("6*7?"), AIMessageChunk("")) if stream else llm.invoke("6*7?")
    assert answer.content == "42"
    assert answer.additional_kwargs["reasoning_content"] == "Six times seven."
    assert {"type": "reasoning", "reasoning": "Six times seven."} in answer.content_blocks
    llm.invoke([HumanMessage("6*7?"), answer, HumanMessage("Sure?")])
    assert "reasoning" not in str(server.calls[-1].body["messages"])


def test_the_plan_counts_thinking_for_a_chat_anthropic_candidate_only(server):
    """ChatAnthropic is passed `thinking` and bills it; ChatOpenAI is not passed it."""
    server.add("lc-think-plan-ant", Reply("Claude."))
    server.add("lc-think-plan-oai", Reply("GPT."))
    llm = RoutingChatModel(
        models=[anthropic_candidate("lc-think-plan-ant"), openai_candidate("lc-think-plan-oai")],
        specs={
            "lc-think-plan-ant": {**CLAUDE, "pricing": {"input": 1.0, "output": 10.0}},
            "lc-think-plan-oai": {
                **SPECS["std-openai"],
                "pricing": {"input": 4.0, "output": 12.0},
                "quality": SPECS["std-anthropic"]["quality"],  # both meet the bar
            },
        },
    )
    assert llm.invoke("Why is the sky blue?").text == "Claude."
    answer = llm.invoke("Why is the sky blue?", thinking=THINK)
    assert answer.text == "GPT."
    assert "thinking" not in server.calls[-1].body
    with pytest.raises(ValueError, match="budget_tokens"):
        llm.invoke("hi", thinking={"type": "enabled", "budget_tokens": 10})
