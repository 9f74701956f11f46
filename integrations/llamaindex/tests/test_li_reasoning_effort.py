"""`reasoning_effort` through `RoutingLLM`, over real HTTP: set once (a field, or per call),
each candidate gets it as it takes it. Passed as it was, LlamaIndex's `OpenAI` of a
non-reasoning model sent it and OpenAI answered 400; an o-series model got levels it
refuses; an older Claude model got nothing."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.anthropic import Anthropic
from llama_index.llms.openai import OpenAI

from langroute import OpenAIProvider
from langroute.testing import Reply
from li_helpers import CHEAP, KEY, STRONG
from li_helpers import scripted_server as server_of
from llama_index.llms.langroute import RoutingLLM

EFFORT_CLAUDE = "claude-opus-4-5"


pytestmark = pytest.mark.usefixtures("said_again")


@pytest.fixture(scope="module")
def server():
    server = server_of()
    server.add("o4-mini", Reply("ok"))
    server.add("li-o3", Reply("ok"), reasoning_efforts=("low", "medium", "high"))
    server.add(EFFORT_CLAUDE, Reply("ok"), reasoning_efforts=("low", "medium", "high"))
    return server


def _router(server: Any, **kwargs: Any) -> RoutingLLM:
    openai = {"api_base": server.openai_url, "api_key": KEY, "max_retries": 0}
    claude = {"base_url": server.anthropic_url, "api_key": KEY, "max_retries": 0}
    described = {
        "pricing": {"input": 5.0, "output": 25.0},
        "context_window": 200_000,
        "max_output_tokens": 64_000,
    }
    return RoutingLLM(
        models={
            CHEAP: OpenAI(model=CHEAP, **openai),
            "o4-mini": OpenAI(model="o4-mini", **openai),
            STRONG: Anthropic(model=STRONG, **claude),
            EFFORT_CLAUDE: Anthropic(model=EFFORT_CLAUDE, **claude),
            "li-o3": "li-o3",
        },
        specs={
            EFFORT_CLAUDE: {
                **described,
                "provider": "anthropic",
                "capabilities": {"reasoning_efforts": ["low", "medium", "high"]},
            },
            "li-o3": {
                **described,
                "provider": "scripted",
                "version": "li-o3",
                "capabilities": {"reasoning_efforts": ["low", "medium", "high"]},
            },
        },
        providers={
            "scripted": OpenAIProvider(name="scripted", base_url=server.openai_url, api_key=KEY)
        },
        **kwargs,
    )


SENT = {
    CHEAP: ({}, {}),
    "o4-mini": ({"reasoning_effort": "high"}, {"reasoning_effort": "low"}),
    # LlamaIndex's Anthropic max_tokens (512) is raised above the budget, its temperature
    # (0.1) sent as 1
    STRONG: ({"thinking": {"type": "enabled", "budget_tokens": 24576}}, {}),
    EFFORT_CLAUDE: ({"output_config": {"effort": "high"}}, {"output_config": {"effort": "low"}}),
    "li-o3": ({"reasoning_effort": "high"}, {"reasoning_effort": "low"}),
}
KEYS = ("reasoning_effort", "thinking", "output_config")


@pytest.mark.parametrize("streaming", [False, True], ids=["achat", "astream_chat"])
@pytest.mark.parametrize("model", list(SENT))
async def test_each_candidate_gets_the_effort_as_it_takes_it(server, model, streaming):
    llm = _router(server, reasoning_effort="high")  # the field; the second call overrides it
    question = [ChatMessage(role="user", content="What is 17*23?")]
    for kwargs, expected in zip(({}, {"reasoning_effort": "minimal"}), SENT[model], strict=True):
        if streaming:
            stream = await llm.astream_chat(question, hints={"model": model}, **kwargs)
            text = [r async for r in stream][-1].message.content
        else:
            text = (await llm.achat(question, hints={"model": model}, **kwargs)).message.content
        assert text  # the cheap model's scripted answer repeats the question
        call = server.calls[-1]
        assert call.model == model
        assert {k: call.body[k] for k in KEYS if k in call.body} == expected, kwargs
        if "thinking" in expected:
            assert call.body["max_tokens"] == 512 + 24576
            assert call.body["temperature"] == 1


async def test_hidden_reasoning_tokens_are_in_the_raw_usage(server):
    llm = _router(server)
    question = [ChatMessage(role="user", content="What is 17*23?")]
    for model in ("o4-mini", "li-o3"):
        answer = await llm.achat(question, hints={"model": model}, reasoning_effort="medium")
        raw = answer.raw if isinstance(answer.raw, dict) else answer.raw.model_dump()
        reasoning = raw["usage"]["completion_tokens_details"]["reasoning_tokens"]
        assert reasoning == 256, model


async def test_thinking_on_llamaindex_anthropic_is_sent_with_temperature_1(server):
    """LlamaIndex's `Anthropic` sends its own temperature (0.1 by default); with `thinking`
    on, Claude answered 400 ("`temperature` may only be set to 1 when thinking is
    enabled"), a bad request, so no fallback."""
    llm = _router(server)
    question = [ChatMessage(role="user", content="hi")]
    thinking = {"type": "enabled", "budget_tokens": 2048}
    answer = await llm.achat(question, hints={"model": STRONG}, thinking=thinking, max_tokens=4096)
    assert answer.message.content
    body = server.calls[-1].body
    assert body["thinking"] == thinking and body["temperature"] == 1
