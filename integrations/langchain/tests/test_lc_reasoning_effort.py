"""`reasoning_effort` through `RoutingChatModel`, over real HTTP: set once (as a field or
per call, as on `ChatOpenAI` and `ChatAnthropic`), each candidate gets it as it takes it.
ChatOpenAI candidates of a non-reasoning model got it too and OpenAI answered 400; an
o-series model got levels it refuses; an older Claude model got nothing."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_langroute import RoutingChatModel
from langroute import OpenAIProvider
from langroute.testing import Reply
from lc_helpers import KEY, SPECS, anthropic_candidate, openai_candidate
from lc_helpers import scripted_server as server_of

OPENAI = SPECS["std-openai"]
CLAUDE = SPECS["std-anthropic"]


pytestmark = pytest.mark.usefixtures("said_again")


@pytest.fixture(scope="module")
def server():
    server = server_of()
    for name in ("lc-effort-4o-mini", "o4-mini", "lc-effort-sonnet", "o3"):
        server.add(name, Reply("ok"))
    server.add("claude-opus-4-5", Reply("ok"), reasoning_efforts=("low", "medium", "high"))
    return server


def _router(server: Any, **kwargs: Any) -> RoutingChatModel:
    return RoutingChatModel(
        models={
            "lc-effort-4o-mini": openai_candidate("lc-effort-4o-mini"),
            "o4-mini": openai_candidate("o4-mini"),
            "lc-effort-sonnet": anthropic_candidate("lc-effort-sonnet"),
            "claude-opus-4-5": anthropic_candidate("claude-opus-4-5"),
            "native-o3": "native-o3",
        },
        specs={
            "lc-effort-4o-mini": OPENAI,
            "o4-mini": OPENAI,
            "lc-effort-sonnet": CLAUDE,
            # its levels come from ChatAnthropic's model profile
            "claude-opus-4-5": {k: v for k, v in CLAUDE.items() if k != "capabilities"},
            "native-o3": {**OPENAI, "provider": "scripted", "version": "o3"},
        },
        providers={
            "scripted": OpenAIProvider(name="scripted", base_url=server.openai_url, api_key=KEY)
        },
        **kwargs,
    )


SENT = {
    "lc-effort-4o-mini": ({}, {}),
    "o4-mini": ({"reasoning_effort": "high"}, {"reasoning_effort": "low"}),
    # ChatAnthropic's max_tokens (4,096 for a model it does not know) is raised above it
    "lc-effort-sonnet": ({"thinking": {"type": "enabled", "budget_tokens": 24576}}, {}),
    "claude-opus-4-5": (
        {"output_config": {"effort": "high"}},
        {"output_config": {"effort": "low"}},
    ),
    "native-o3": ({"reasoning_effort": "high"}, {"reasoning_effort": "low"}),
}
KEYS = ("reasoning_effort", "thinking", "output_config", "effort")


@pytest.mark.parametrize("mode", ["invoke", "stream"])
@pytest.mark.parametrize("model", list(SENT))
def test_each_candidate_gets_the_effort_as_it_takes_it(server, model, mode):
    llm = _router(server, reasoning_effort="high")  # the field; the second call overrides it
    for kwargs, expected in zip(({}, {"reasoning_effort": "minimal"}), SENT[model], strict=True):
        if mode == "invoke":
            answer = llm.invoke("What is 17*23?", model=model, **kwargs)
        else:
            chunks = list(llm.stream("What is 17*23?", model=model, **kwargs))
            answer = sum(chunks[1:], chunks[0])
            assert isinstance(answer, AIMessageChunk)
        assert answer.text == "ok", answer
        body = server.calls[-1].body
        assert server.calls[-1].model == model.replace("native-", "")
        assert {k: body[k] for k in KEYS if k in body} == expected, kwargs
        if "thinking" in expected:
            assert body["max_tokens"] == 4096 + 24576


@pytest.mark.parametrize("model", ["o4-mini", "native-o3"])
def test_hidden_reasoning_tokens_are_in_the_usage_metadata(server, model):
    answer = _router(server).invoke("What is 17*23?", model=model, reasoning_effort="medium")
    usage = answer.usage_metadata
    assert usage is not None
    assert usage["output_token_details"] == {"reasoning": 256}
    assert usage["output_tokens"] == 257


@pytest.mark.parametrize(
    "asked",
    [{"reasoning_effort": "high"}, {"thinking": {"type": "enabled", "budget_tokens": 2048}}],
    ids=["effort", "thinking"],
)
def test_a_routers_temperature_reaches_a_thinking_chatanthropic_as_1(server, asked):
    """`RoutingChatModel(temperature=0.2)` sent 0.2 to a ChatAnthropic candidate with
    thinking on, and Claude answered 400 ("`temperature` may only be set to 1 when thinking
    is enabled"): a bad request, so no fallback."""
    answer = _router(server, temperature=0.2).invoke("hi", model="lc-effort-sonnet", **asked)
    assert answer.text == "ok"
    body = server.calls[-1].body
    assert body["temperature"] == 1 and body["thinking"]["type"] == "enabled"
