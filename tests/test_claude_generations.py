"""Each Claude model gets thinking, effort and sampling as its generation takes them, over
real HTTP: a budget up to 4.5, adaptive thinking too on 4.6, only adaptive (and no
temperature, top_p or top_k) from Opus 4.7, and thinking always on from 5.5. The scripted
server refuses the rest with the real API's 400s, which are not fallback triggers: before
this, every such call a router sent failed."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langroute.errors import BadRequest
from langroute.reasoning import (
    EFFORTS,
    claude_version,
    default_efforts,
    default_sampling,
    default_thinking_types,
    fit_thinking,
)
from langroute.registry import ModelSpec
from langroute.testing import Reply
from langroute.types import ChatParams, Completion, ThinkingConfig

from .conftest import make_router, spec

pytestmark = pytest.mark.usefixtures("said_again")


CLAUDES = (
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-opus-4-7",
    "claude-opus-5",
    "claude-opus-5-5",
)


def _router(aserver, **kwargs):
    for name in (*CLAUDES, "gpt-4.1-mini"):
        aserver.add(name, Reply("ok"))
    specs = [
        spec(name, provider="claude", context_window=200000, max_output_tokens=64000)
        for name in CLAUDES
    ]
    return make_router(aserver, [*specs, spec("gpt-4.1-mini")], **kwargs)


SUMMARIZED = {"type": "adaptive", "display": "summarized"}
SENT = {
    # model: (what a 2,048-token budget became, what effort "high" became)
    "claude-sonnet-4-5": (
        {"thinking": {"type": "enabled", "budget_tokens": 2048}},
        {"thinking": {"type": "enabled", "budget_tokens": 24576}},
    ),
    "claude-sonnet-4-6": (
        {"thinking": {"type": "enabled", "budget_tokens": 2048}},
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
    "claude-opus-5-5": (
        {"thinking": SUMMARIZED, "output_config": {"effort": "low"}},
        {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
    ),
}


async def _ask(router, stream: bool, **kwargs) -> Completion:
    if stream:
        return Completion.from_chunks([c async for c in router.astream("What is 17*23?", **kwargs)])
    return await router.achat("What is 17*23?", **kwargs)


def _reasoning(body) -> dict:
    return {k: body[k] for k in ("thinking", "output_config") if k in body}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("model", CLAUDES)
async def test_thinking_and_effort_reach_each_generation_as_it_takes_them(aserver, model, stream):
    router = _router(aserver)
    budget, effort = SENT[model]
    answer = await _ask(
        router,
        stream,
        hints={"model": model},
        thinking={"type": "enabled", "budget_tokens": 2048},
        max_tokens=4000,
    )
    assert answer.content == "ok" and answer.model == model
    assert _reasoning(aserver.calls[-1].body) == budget
    answer = await _ask(router, stream, hints={"model": model}, reasoning_effort="high")
    assert answer.content == "ok"
    assert _reasoning(aserver.calls[-1].body) == effort
    await router.aclose()


@pytest.mark.parametrize("model", CLAUDES)
async def test_adaptive_and_no_thinking_reach_each_generation(aserver, model):
    router = _router(aserver)
    answer = await router.achat("hi", hints={"model": model}, thinking={"type": "adaptive"})
    assert answer.content == "ok"
    sent = aserver.calls[-1].body
    if model == "claude-sonnet-4-5":  # takes only a budget: adaptive's default effort's
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 24576}
        assert sent["max_tokens"] > 24576
    else:
        assert sent["thinking"] == {"type": "adaptive"}
        assert sent["max_tokens"] >= 24576  # adaptive thinking counts in max_tokens too
    answer = await router.achat("hi", hints={"model": model}, thinking={"type": "disabled"})
    assert answer.content == "ok"
    off = aserver.calls[-1].body.get("thinking")
    assert off == (None if model == "claude-opus-5-5" else {"type": "disabled"})
    await router.aclose()


async def test_effort_none_turns_thinking_off_where_it_is_on_by_default(aserver):
    router = _router(aserver)
    await router.achat("hi", hints={"model": "claude-opus-5"}, reasoning_effort="none")
    assert _reasoning(aserver.calls[-1].body) == {"thinking": {"type": "disabled"}}
    await router.achat("hi", hints={"model": "claude-sonnet-4-6"}, reasoning_effort="none")
    assert _reasoning(aserver.calls[-1].body) == {"thinking": {"type": "disabled"}}
    await router.achat("hi", hints={"model": "claude-opus-5-5"}, reasoning_effort="none")
    assert _reasoning(aserver.calls[-1].body) == {"output_config": {"effort": "low"}}
    await router.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_newer_claude_models_are_sent_no_sampling_settings(aserver, stream, caplog):
    router = _router(aserver)
    caplog.set_level(logging.WARNING, logger="langroute")
    for model in CLAUDES:
        answer = await _ask(
            router,
            stream,
            hints={"model": model},
            temperature=0.3,
            top_p=0.9,
            extra_body={"top_k": 40},
        )
        assert answer.content == "ok"
        body = aserver.calls[-1].body
        sampled = {k: body[k] for k in ("temperature", "top_p", "top_k") if k in body}
        if model in ("claude-sonnet-4-5", "claude-sonnet-4-6"):
            assert sampled == {"temperature": 0.3, "top_p": 0.9, "top_k": 40}
        else:
            assert sampled == {}
    said = [r.getMessage() for r in caplog.records if "sampling" in r.getMessage()]
    assert [m.split()[0] for m in said] == ["claude-opus-4-7", "claude-opus-5", "claude-opus-5-5"]
    assert all("without temperature and top_p and top_k" in m for m in said)  # once a model
    await router.aclose()


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_no_tool_is_forced_on_a_claude_model_that_will_think(aserver, stream):
    """Claude refuses a forced tool choice while thinking, and Opus 5.5 always thinks: the
    choice is sent as auto there, as asked elsewhere."""
    router = _router(aserver)
    tool = {"name": "add", "description": "Add two numbers", "parameters": {"type": "object"}}
    cases = [
        ("claude-opus-5-5", {}, {"type": "auto"}),
        ("claude-sonnet-4-5", {}, {"type": "any"}),
        ("claude-sonnet-4-5", {"thinking": BUDGET_2K, "max_tokens": 4000}, {"type": "auto"}),
        ("claude-opus-4-7", {"reasoning_effort": "low"}, {"type": "auto"}),
        ("gpt-4.1-mini", {"reasoning_effort": "low"}, "required"),
    ]
    for model, asked, sent in cases:
        answer = await _ask(
            router, stream, hints={"model": model}, tools=[tool], tool_choice="required", **asked
        )
        assert answer.content == "ok", model
        assert aserver.calls[-1].body["tool_choice"] == sent, model
    await router.aclose()


BUDGET_2K = {"type": "enabled", "budget_tokens": 2048}


async def test_the_scripted_server_refuses_what_the_real_api_refuses(aserver):
    """The rules the router is fitted to: without `fit_thinking` / `fit_sampling` these
    are what every call got (a 400, which no fallback catches)."""
    router = _router(aserver)
    spec_47 = router.registry.get("claude-opus-4-7")
    provider = router.provider(spec_47.provider)
    from langroute.features import RoutingRequest

    cases = [
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4000},
            '"thinking.type.enabled" is not supported for this model',
        ),
        ({"temperature": 0.3}, "`temperature` is deprecated for this model."),
    ]
    for params, words in cases:
        req = RoutingRequest.build("hi", ChatParams.model_validate(params))
        with pytest.raises(BadRequest, match=words.replace(".", r"\.")):
            await provider.complete("claude-opus-4-7", req)
    req = RoutingRequest.build("hi", ChatParams(thinking=ThinkingConfig(type="adaptive")))
    with pytest.raises(BadRequest, match="adaptive thinking is not supported"):
        await provider.complete("claude-sonnet-4-5", req)
    tools = [{"name": "add", "description": "Add", "parameters": {"type": "object"}}]
    req = RoutingRequest.build("hi", ChatParams(tools=tools, tool_choice="required"))
    with pytest.raises(BadRequest, match="tool_choice forces tool use"):
        await provider.complete("claude-opus-5-5", req)
    await provider.complete("claude-sonnet-4-5", req)  # one that is not thinking takes it
    await router.aclose()


def test_versions_are_read_from_every_spelling_of_an_id():
    assert claude_version("claude-opus-4-7") == (4, 7, "opus")
    assert claude_version("anthropic.claude-opus-4-7") == (4, 7, "opus")
    assert claude_version("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == (4, 5, "sonnet")
    assert claude_version("claude-sonnet-4-5@20250929") == (4, 5, "sonnet")
    assert claude_version("anthropic/claude-opus-4.7") == (4, 7, "opus")
    assert claude_version("claude-sonnet-4-20250514") == (4, 0, "sonnet")
    assert claude_version("claude-3-5-haiku-20241022") == (3, 5, "")
    assert claude_version("claude-fable-5-1") == (5, 1, "fable")
    assert claude_version("gpt-4.1") is None
    assert default_thinking_types("claude-sonnet-4-5") == ("enabled", "disabled")
    assert default_thinking_types("claude-opus-4-6") == ("enabled", "adaptive", "disabled")
    assert default_thinking_types("claude-opus-4-8") == ("adaptive", "disabled")
    assert default_thinking_types("claude-sonnet-5") == ("adaptive", "disabled")
    assert default_thinking_types("claude-sonnet-5-5") == ("adaptive",)
    assert default_thinking_types("claude-fable-5") == ("adaptive",)
    assert default_thinking_types("gpt-5") == ()
    assert default_sampling("claude-opus-4-6") and default_sampling("gpt-5")
    assert not default_sampling("claude-opus-4-7") and not default_sampling("claude-haiku-5-5")
    assert default_efforts("claude-sonnet-4-5") == ()
    assert default_efforts("claude-opus-4-5") == ("low", "medium", "high")
    assert default_efforts("claude-opus-4-6") == ("low", "medium", "high", "max")
    assert "xhigh" in default_efforts("claude-opus-4-7")


def test_a_spec_says_what_it_takes_and_can_be_told_otherwise():
    told = spec("proxy-claude", capabilities={"thinking_types": ["adaptive"], "sampling": False})
    assert told.thinking_types == ("adaptive",) and not told.takes_sampling
    by_id = spec("fast", deployments=[{"provider": "claude", "model_id": "claude-opus-4-7"}])
    assert by_id.thinking_types == ("adaptive", "disabled") and not by_id.takes_sampling
    with pytest.raises(ValueError, match="thinking_types"):
        spec("bad", capabilities={"thinking_types": ["budget"]})
    assert isinstance(told, ModelSpec)


KINDS = st.lists(st.sampled_from(["enabled", "adaptive", "disabled"]), min_size=1, unique=True)


@given(
    kinds=KINDS,
    levels=st.sampled_from([(), ("low", "medium", "high"), EFFORTS[2:]]),
    thinking=st.one_of(
        st.none(),
        st.just(ThinkingConfig(type="adaptive")),
        st.just(ThinkingConfig(type="disabled")),
        st.integers(1024, 40000).map(lambda b: ThinkingConfig(type="enabled", budget_tokens=b)),
    ),
    effort=st.one_of(st.none(), st.sampled_from(EFFORTS)),
    max_tokens=st.one_of(st.none(), st.integers(1, 50000)),
)
def test_fitted_thinking_is_always_a_kind_the_model_takes(
    kinds, levels, thinking, effort, max_tokens
):
    params = ChatParams(thinking=thinking, reasoning_effort=effort, max_tokens=max_tokens)
    fitted, changed = fit_thinking(params, tuple(kinds), levels)
    sent = fitted.thinking
    assert sent is None or sent.type in kinds
    if sent is not None and sent.type == "enabled" and sent != thinking:  # a budget it chose
        assert sent.budget_tokens is not None and sent.budget_tokens >= 1024
        assert max_tokens is None or sent.budget_tokens < max_tokens
    if sent is not None and sent.type == "adaptive":
        assert sent.budget_tokens is None
    if thinking is not None and thinking.type in kinds:
        assert fitted is params and changed is None  # what a model takes is sent as asked
    if thinking is not None and fitted.thinking != thinking:
        assert changed is not None  # every change is said


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_openai_reasoning_models_of_every_generation_get_what_they_take(aserver, stream):
    """GPT-6 (current in late 2026) was not known as a reasoning model: it was sent
    `max_tokens` and the temperature, and OpenAI answers 400 to both there."""
    for name in ("gpt-6-sol", "gpt-5.4-mini", "o4-mini"):
        aserver.add(name, Reply("ok"))
    router = make_router(aserver, [spec(n) for n in ("gpt-6-sol", "gpt-5.4-mini", "o4-mini")])
    for model in ("gpt-6-sol", "gpt-5.4-mini", "o4-mini"):
        answer = await _ask(router, stream, hints={"model": model}, max_tokens=300, temperature=0.3)
        assert answer.content == "ok", model
        body = aserver.calls[-1].body
        assert body["max_completion_tokens"] == 300 and "max_tokens" not in body
        assert "temperature" not in body
    answer = await _ask(router, stream, hints={"model": "gpt-6-sol"}, reasoning_effort="max")
    assert aserver.calls[-1].body["reasoning_effort"] == "max"
    await router.aclose()


def test_openai_reasoning_models_are_told_by_id():
    from langroute.reasoning import is_reasoning_model

    told = ["o3", "gpt-5", "gpt-5.1", "gpt-5.4-mini", "gpt-6-sol", "openai/gpt-6-luna", "gpt-10"]
    assert all(is_reasoning_model(m) for m in told)
    not_told = ["gpt-4o", "gpt-4.1-mini", "gpt-5-chat-latest", "gpt-6.1-chat-latest"]
    assert not any(is_reasoning_model(m) for m in not_told)
