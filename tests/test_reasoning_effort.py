"""One reasoning effort routed to every model, over real HTTP: OpenAI's reasoning models get
`reasoning_effort` at a level they take, Claude models that take an effort get
`output_config.effort`, older Claude models the thinking budget it stands for, and models
that do not reason get nothing (the APIs answer 400 to what they do not take); plans price
the thinking it buys; usage says how many completion tokens were hidden reasoning."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langroute.reasoning import EFFORTS, THINKING_BUDGETS, fit_reasoning, nearest_effort
from langroute.testing import Reply
from langroute.types import ChatParams, Completion, ThinkingConfig, UserMessage

from .conftest import make_router, spec

pytestmark = pytest.mark.usefixtures("said_again")


EFFORT_CLAUDE = ("low", "medium", "high")


def _router(aserver, **kwargs):
    for name in ("gpt-4o-mini", "o4-mini", "gpt-5-mini", "claude-sonnet-4-5"):
        aserver.add(name, Reply("ok"))
    aserver.add("claude-opus-4-5", Reply("ok"), reasoning_efforts=EFFORT_CLAUDE)
    specs = [
        spec("gpt-4o-mini"),
        spec("o4-mini"),
        spec("gpt-5-mini"),
        spec(
            "claude-sonnet-4-5", provider="claude", max_output_tokens=64000, context_window=200000
        ),
        spec(
            "claude-opus-4-5",
            provider="claude",
            capabilities={"reasoning_efforts": list(EFFORT_CLAUDE)},
        ),
    ]
    return make_router(aserver, specs, **kwargs)


SENT = {
    # model: what its request carried for effort "high", then for "minimal"
    "gpt-4o-mini": ({}, {}),
    "o4-mini": ({"reasoning_effort": "high"}, {"reasoning_effort": "low"}),
    "gpt-5-mini": ({"reasoning_effort": "high"}, {"reasoning_effort": "minimal"}),
    "claude-sonnet-4-5": ({"thinking": {"type": "enabled", "budget_tokens": 24576}}, {}),
    "claude-opus-4-5": (
        {"output_config": {"effort": "high"}},
        {"output_config": {"effort": "low"}},
    ),
}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("model", list(SENT))
async def test_each_model_gets_the_effort_as_it_takes_it(aserver, model, stream):
    router = _router(aserver)
    for effort, expected in zip(("high", "minimal"), SENT[model], strict=True):
        kwargs = {"hints": {"model": model}, "reasoning_effort": effort}
        if stream:
            chunks = [c async for c in router.astream("What is 17*23?", **kwargs)]
            answer = Completion.from_chunks(chunks)
        else:
            answer = await router.achat("What is 17*23?", **kwargs)
        assert answer.content == "ok" and answer.model == model
        body = aserver.calls[-1].body
        keys = ("reasoning_effort", "thinking", "output_config")
        assert {k: body[k] for k in keys if k in body} == expected, effort
    await router.aclose()


async def test_extra_body_effort_is_routed_too_and_a_non_reasoning_model_is_not_sent_it(
    aserver, caplog
):
    """OpenAI's SDK users pass `extra_body={"reasoning_effort": ...}`; sent as it was to
    gpt-4o-mini, OpenAI answers 400 ("Unsupported parameter"), which is no fallback
    trigger: the call failed."""
    router = _router(aserver)
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        answer = await router.achat(
            "hi",
            hints={"model": "gpt-4o-mini"},
            extra_body={"reasoning_effort": "low", "user": "u"},
        )
    assert answer.content == "ok"
    body = aserver.calls[-1].body
    assert "reasoning_effort" not in body and body["user"] == "u"
    assert "gpt-4o-mini call without reasoning_effort 'low': it takes no reasoning effort" in (
        caplog.text
    )
    await router.aclose()


async def test_the_server_refuses_what_the_real_apis_refuse(aserver):
    """The scripted server's rules, so that the tests above can fail."""
    from langroute import AnthropicProvider, OpenAIProvider
    from langroute.errors import BadRequest

    from .conftest import TEST_KEY

    aserver.add("gpt-4o-mini", Reply("ok"))
    aserver.add("o4-mini", Reply("ok"))
    aserver.add("claude-sonnet-4-5", Reply("ok"))
    openai = OpenAIProvider(base_url=aserver.openai_url, api_key=TEST_KEY)
    claude = AnthropicProvider(base_url=aserver.anthropic_url, api_key=TEST_KEY)
    msgs = [UserMessage(content="hi")]
    with pytest.raises(BadRequest, match="'reasoning_effort' is not supported with this model"):
        await openai.chat("gpt-4o-mini", msgs, ChatParams(reasoning_effort="low"))
    with pytest.raises(BadRequest, match="does not support 'minimal'"):
        await openai.chat("o4-mini", msgs, ChatParams(reasoning_effort="minimal"))
    with pytest.raises(BadRequest, match="does not support the effort parameter"):
        await claude.chat("claude-sonnet-4-5", msgs, ChatParams(reasoning_effort="low"))
    answer = await openai.chat("o4-mini", msgs, ChatParams(reasoning_effort="medium"))
    assert answer.usage.reasoning_tokens == 256
    assert answer.usage.completion_tokens == 256 + 1
    await openai.aclose()
    await claude.aclose()


async def test_plans_price_the_thinking_budget_an_effort_buys_on_claude(aserver):
    """With `reasoning_effort="medium"`, claude-sonnet-4-5 thinks on an 8,192-token budget,
    billed as output: the plan counts it (and so prefers the model that is cheaper once it
    is counted); Claude models that take an effort themselves are not charged a budget."""
    router = _router(aserver)
    plain = router.route("Explain recursion briefly.")
    effort = router.route("Explain recursion briefly.", reasoning_effort="medium")
    cost = {c.model: c.expected_cost_usd for c in plain.plan.candidates}
    with_effort = {c.model: c for c in effort.plan.candidates}
    sonnet = with_effort["claude-sonnet-4-5"]
    assert sonnet.expected_cost_usd == pytest.approx(cost["claude-sonnet-4-5"] + 8192 * 2.0 / 1e6)
    assert any("8192 more output tokens" in r for r in sonnet.reasons)
    assert with_effort["claude-opus-4-5"].expected_cost_usd == cost["claude-opus-4-5"]
    await router.aclose()


async def test_a_small_max_tokens_caps_the_budget_or_leaves_thinking_out(aserver):
    router = _router(aserver)
    kwargs = {"hints": {"model": "claude-sonnet-4-5"}, "reasoning_effort": "high"}
    await router.achat("hi", max_tokens=3000, **kwargs)
    body = aserver.calls[-1].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2999}
    assert body["max_tokens"] == 3000
    await router.achat("hi", max_tokens=900, **kwargs)
    assert "thinking" not in aserver.calls[-1].body
    await router.aclose()


async def test_claude_thinking_reaches_an_effort_model_as_its_nearest_effort(aserver):
    """A call that sets Claude's thinking budget, routed to o4-mini, asks it for the effort
    the budget stands for rather than nothing."""
    router = _router(aserver)
    think = ThinkingConfig(type="enabled", budget_tokens=20000)
    await router.achat("hi", hints={"model": "o4-mini"}, thinking=think)
    body = aserver.calls[-1].body
    assert body["reasoning_effort"] == "high" and "thinking" not in body
    await router.aclose()


efforts = st.sampled_from(EFFORTS)


@given(efforts, st.lists(efforts, min_size=1, unique=True).map(tuple))
def test_nearest_effort_is_a_level_the_model_takes_and_exact_when_it_can(effort, levels):
    sent = nearest_effort(effort, levels)
    assert sent in levels
    assert (sent == effort) == (effort in levels)
    distance = abs(EFFORTS.index(sent) - EFFORTS.index(effort))
    assert all(abs(EFFORTS.index(level) - EFFORTS.index(effort)) >= distance for level in levels)


@given(
    efforts,
    st.lists(efforts, unique=True).map(tuple),
    st.booleans(),
    st.one_of(st.none(), st.integers(1, 40000)),
)
def test_a_fitted_call_never_asks_what_the_model_refuses(effort, levels, thinks, max_tokens):
    params = ChatParams(reasoning_effort=effort, max_tokens=max_tokens)
    fitted, _ = fit_reasoning(params, levels, thinks=thinks)
    assert fitted.reasoning_effort is None or fitted.reasoning_effort in levels
    if fitted.thinking is not None:
        assert thinks and not levels
        budget = fitted.thinking.budget_tokens
        assert budget is not None and 1024 <= budget <= THINKING_BUDGETS[effort]
        assert max_tokens is None or budget < max_tokens
