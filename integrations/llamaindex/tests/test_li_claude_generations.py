"""LlamaIndex `Anthropic` candidates of every Claude generation through `RoutingLLM`, over
real HTTP: Opus 4.7 and later refuse a thinking budget and a temperature other than 1. A
thinking budget, an effort or a temperature asked of the router failed every call to them
before; they are now sent no temperature at all, not even the 1 other Claude models need
while thinking (reports differ on whether Opus 4.7 takes that one)."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.anthropic import Anthropic

from langroute.errors import UnknownModelError
from langroute.testing import Reply
from li_helpers import KEY
from li_helpers import scripted_server as server_of
from llama_index.llms.langroute import RoutingLLM

MODELS = ("claude-sonnet-4-5", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-5")
DESCRIBED = {
    "provider": "anthropic",
    "pricing": {"input": 3.0, "output": 15.0},
    "context_window": 200_000,
    "max_output_tokens": 64_000,
}


pytestmark = pytest.mark.usefixtures("said_again")


@pytest.fixture(scope="module")
def server():
    server = server_of()
    for name in MODELS:
        server.add(name, Reply("ok"))
    return server


def _router(server: Any, **kwargs: Any) -> RoutingLLM:
    claude = {"base_url": server.anthropic_url, "api_key": KEY, "max_retries": 0}
    return RoutingLLM(
        models={name: Anthropic(model=name, **claude) for name in MODELS},
        specs=dict.fromkeys(MODELS, DESCRIBED),
        **kwargs,
    )


def _ask(llm: RoutingLLM, mode: str, **kwargs: Any) -> str:
    messages = [ChatMessage(role="user", content="What is 17*23?")]
    if mode == "chat":
        return str(llm.chat(messages, **kwargs).message.content)
    return "".join(r.delta or "" for r in llm.stream_chat(messages, **kwargs))


SUMMARIZED = {"type": "adaptive", "display": "summarized"}
BUDGET = {"type": "enabled", "budget_tokens": 2048}
SENT = {
    # model: (what a 2,048-token budget became, what effort "high" became)
    "claude-sonnet-4-5": ({"thinking": BUDGET}, {"thinking": {"type": "enabled"}}),
    "claude-sonnet-4-6": (
        {"thinking": BUDGET},
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
    ),
    "claude-opus-4-7": (
        {"thinking": SUMMARIZED, "output_config": {"effort": "low"}},
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
    ),
    "claude-opus-5": (
        {"thinking": SUMMARIZED, "output_config": {"effort": "low"}},
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
    ),
}


def _reasoning(body: dict[str, Any]) -> dict[str, Any]:
    sent = {k: body[k] for k in ("thinking", "output_config") if k in body}
    if sent.get("thinking", {}).get("budget_tokens") == 24576:  # the budget "high" buys
        sent["thinking"] = {"type": "enabled"}
    return sent


@pytest.mark.parametrize("mode", ["chat", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_thinking_and_effort_reach_each_generation_as_it_takes_them(server, model, mode):
    llm = _router(server)
    budget, effort = SENT[model]
    assert _ask(llm, mode, hints={"model": model}, thinking=BUDGET, max_tokens=4000) == "ok"
    body = server.calls[-1].body
    assert server.calls[-1].model == model and _reasoning(body) == budget
    # thinking: the temperature Claude requires, or none for a model that takes none
    assert body.get("temperature") == (1 if model.startswith("claude-sonnet-4") else None)
    assert _ask(llm, mode, hints={"model": model}, reasoning_effort="high") == "ok"
    assert _reasoning(server.calls[-1].body) == effort


@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_no_temperature_reaches_a_model_that_refuses_it(server, mode):
    llm = _router(server, temperature=0.3)
    for model in MODELS:
        assert _ask(llm, mode, hints={"model": model}, top_p=0.9) == "ok"
        body = server.calls[-1].body
        sampled = {k: body[k] for k in ("temperature", "top_p") if k in body}
        older = model.startswith("claude-sonnet-4")
        assert sampled == ({"temperature": 0.3, "top_p": 0.9} if older else {}), model


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@pytest.mark.parametrize("mode", ["chat", "stream"])
def test_no_tool_is_forced_on_a_claude_model_that_will_think(server, mode):
    """Claude refuses a forced tool choice while thinking, and Opus 5.5 always thinks:
    `tool_required=True` reaches it as auto, other models as asked."""
    from llama_index.core.tools import FunctionTool

    server.add("claude-opus-5-5", Reply("ok"))
    claude = {"base_url": server.anthropic_url, "api_key": KEY, "max_retries": 0}
    names = ("claude-opus-5-5", "claude-sonnet-4-5")
    llm = RoutingLLM(
        models={name: Anthropic(model=name, **claude) for name in names},
        specs=dict.fromkeys(names, DESCRIBED),
    )
    tools = [FunctionTool.from_defaults(fn=add)]
    cases = [
        ("claude-opus-5-5", {}, "auto"),
        ("claude-sonnet-4-5", {}, "any"),
        ("claude-sonnet-4-5", {"thinking": BUDGET, "max_tokens": 4000}, "auto"),
    ]
    for model, asked, sent in cases:
        kwargs = {"tool_required": True, "hints": {"model": model}, **asked}
        if mode == "chat":
            llm.chat_with_tools(tools, user_msg="What is 2+3?", **kwargs)
        else:
            list(llm.stream_chat_with_tools(tools, user_msg="What is 2+3?", **kwargs))
        assert server.calls[-1].model == model
        assert server.calls[-1].body["tool_choice"]["type"] == sent, (model, asked)


def test_model_names_the_candidate_that_answers(server):
    """`model=` picks a candidate, as on `RoutingChatModel`. Passed on to the candidate the
    router chose, it replaced that LLM's own model id: the decision, its cost and the audit
    named one model while another answered."""
    llm = _router(server)
    messages = [ChatMessage(role="user", content="hi")]
    for model in ("claude-opus-4-7", "claude-sonnet-4-6"):
        response = llm.chat(messages, model=model)
        assert server.calls[-1].model == model
        assert response.additional_kwargs["langroute"]["answered_by"] == model
    with pytest.raises(UnknownModelError, match=r"unknown model .claude-opus-9.*Known models"):
        llm.chat(messages, model="claude-opus-9")
