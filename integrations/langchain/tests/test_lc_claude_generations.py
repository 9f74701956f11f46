"""`ChatAnthropic` candidates of every Claude generation through `RoutingChatModel`, over
real HTTP: Opus 4.7 and later refuse a thinking budget and a temperature but 1, and Opus 5
and later are refused a budget by `ChatAnthropic` itself. A router's thinking, effort and
temperature, and a candidate's own temperature, failed every call to them before."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from pydantic import BaseModel

from langchain_langroute import RoutingChatModel
from langroute.testing import Reply, ToolCallScript
from lc_helpers import SPECS, anthropic_candidate, openai_candidate
from lc_helpers import scripted_server as server_of

CLAUDE = {k: v for k, v in SPECS["std-anthropic"].items() if k != "capabilities"}
"""A price and priors: what each model takes comes from its `ChatAnthropic` profile."""
MODELS = ("claude-sonnet-4-5", "claude-sonnet-4-6", "claude-opus-4-7", "claude-opus-5")


pytestmark = pytest.mark.usefixtures("said_again")


@pytest.fixture(scope="module")
def server():
    server = server_of()
    for name in (*MODELS, "lc-gen-4o-mini"):
        server.add(name, Reply("ok"))
    return server


def _router(server: Any, own: dict[str, Any] | None = None, **kwargs: Any) -> RoutingChatModel:
    return RoutingChatModel(
        models={
            **{name: anthropic_candidate(name, **(own or {})) for name in MODELS},
            "lc-gen-4o-mini": openai_candidate("lc-gen-4o-mini"),
        },
        specs={**dict.fromkeys(MODELS, CLAUDE), "lc-gen-4o-mini": SPECS["std-openai"]},
        **kwargs,
    )


def _ask(llm: RoutingChatModel, mode: str, **kwargs: Any) -> Any:
    if mode == "invoke":
        return llm.invoke("What is 17*23?", **kwargs)
    chunks = list(llm.stream("What is 17*23?", **kwargs))
    answer = sum(chunks[1:], chunks[0])
    assert isinstance(answer, AIMessageChunk)
    return answer


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


@pytest.mark.parametrize("mode", ["invoke", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_thinking_and_effort_reach_each_generation_as_it_takes_them(server, model, mode):
    llm = _router(server)
    budget, effort = SENT[model]
    answer = _ask(llm, mode, model=model, thinking=BUDGET, max_tokens=4000)
    assert answer.text == "ok" and answer.response_metadata["model_name"] == model
    assert server.calls[-1].model == model
    assert _reasoning(server.calls[-1].body) == budget
    answer = _ask(llm, mode, model=model, reasoning_effort="high")
    assert answer.text == "ok"
    assert _reasoning(server.calls[-1].body) == effort


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_no_temperature_reaches_a_model_that_refuses_it(server, mode):
    """The router's temperature and each candidate's own: Opus 4.7 and 5 get none (a 400
    otherwise), the 4.x models before get them as asked."""
    llm = _router(server, own={"temperature": 0.5}, temperature=0.3)
    for model in MODELS:
        assert _ask(llm, mode, model=model, top_p=0.9).text == "ok"
        body = server.calls[-1].body
        sampled = {k: body[k] for k in ("temperature", "top_p") if k in body}
        older = model in ("claude-sonnet-4-5", "claude-sonnet-4-6")
        assert sampled == ({"temperature": 0.3, "top_p": 0.9} if older else {}), model
    llm = _router(server, own={"temperature": 0.5})  # a candidate's own, under thinking
    for model in ("claude-sonnet-4-5", "claude-opus-4-7"):
        assert _ask(llm, mode, model=model, thinking=BUDGET, max_tokens=4000).text == "ok"
        body = server.calls[-1].body
        assert body.get("temperature") == (1 if model == "claude-sonnet-4-5" else None)


def test_the_profile_tells_what_each_model_takes(server):
    specs = {s.name: s for s in _router(server)._router.registry}
    assert not specs["claude-opus-4-7"].takes_sampling
    assert specs["claude-sonnet-4-6"].takes_sampling
    assert specs["claude-opus-4-7"].thinking_types == ("adaptive", "disabled")
    assert "xhigh" in specs["claude-opus-4-7"].reasoning_efforts


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_no_tool_is_forced_on_a_claude_model_that_will_think(server, mode):
    """Claude refuses a forced tool choice while thinking, and Opus 5.5 always thinks:
    `bind_tools(tool_choice="any")` reaches it as auto, other models as asked."""
    server.add("claude-opus-5-5", Reply("ok"))
    llm = RoutingChatModel(
        models={name: anthropic_candidate(name) for name in ("claude-opus-5-5", *MODELS[:1])},
        specs=dict.fromkeys(("claude-opus-5-5", *MODELS[:1]), CLAUDE),
    )
    bound = llm.bind_tools([add], tool_choice="any")
    cases = [
        ("claude-opus-5-5", {}, "auto"),
        ("claude-sonnet-4-5", {}, "any"),
        ("claude-sonnet-4-5", {"thinking": BUDGET, "max_tokens": 4000}, "auto"),
    ]
    for model, asked, sent in cases:
        if mode == "invoke":
            answer = bound.invoke("What is 2+3?", model=model, **asked)
        else:
            chunks = list(bound.stream("What is 2+3?", model=model, **asked))
            answer = chunks[0] if chunks else None
        assert server.calls[-1].model == model
        assert server.calls[-1].body["tool_choice"]["type"] == sent, (model, asked)
        assert answer is not None


class City(BaseModel):
    city: str
    country: str


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream"])
def test_structured_output_from_a_model_that_will_not_call_the_tool_is_an_error(server, mode):
    """Opus 5.5 is not forced to call the output tool (it always thinks); an answer without
    it used to come back as None, the request lost without a word."""
    import asyncio

    from langchain_core.exceptions import OutputParserException

    server.add("claude-opus-5-5", Reply("The Eiffel Tower is in Paris, France."))
    paris = ToolCallScript("City", {"city": "Paris", "country": "France"})
    server.add("lc-gen-tool", Reply("", tool_calls=(paris,)))
    llm = RoutingChatModel(
        models={
            "claude-opus-5-5": anthropic_candidate("claude-opus-5-5"),
            "lc-gen-tool": anthropic_candidate("lc-gen-tool"),
        },
        specs={"claude-opus-5-5": CLAUDE, "lc-gen-tool": SPECS["std-anthropic"]},
    )
    structured = llm.with_structured_output(City)

    def ask(model: str) -> Any:
        if mode == "invoke":
            return structured.invoke("Where is the Eiffel Tower?", model=model)
        if mode == "ainvoke":
            return asyncio.run(structured.ainvoke("Where is the Eiffel Tower?", model=model))
        return list(structured.stream("Where is the Eiffel Tower?", model=model))[-1]

    assert ask("lc-gen-tool") == City(city="Paris", country="France")
    with pytest.raises(OutputParserException, match="without calling the output tool"):
        ask("claude-opus-5-5")
    alone = RoutingChatModel(
        models={"claude-opus-5-5": anthropic_candidate("claude-opus-5-5")},
        specs={"claude-opus-5-5": CLAUDE},
    )
    raw = alone.with_structured_output(City, include_raw=True).invoke("Where is it?")
    assert raw["parsed"] is None and "Paris" in raw["raw"].text  # the answer, for who asks
