"""The catalog as of November 2026: models their providers have shut down are left out of
plans (a router told to use one says so, with the replacement), GPT-6 takes function tools
on Chat Completions only with `reasoning_effort` "none", and long prompts are priced at the
long-context rates GPT-6 and Claude Haiku 5.5 bill them at.

Before, the catalog was a year old: gpt-4.1-nano and o4-mini (shut down on 2026-10-23) were
planned like any other model, the README's quickstart named gpt-4.1-nano, and every tool
call routed to a GPT-6 model failed with OpenAI's 400 ("Function tools with reasoning_effort
are not supported for gpt-6-luna in /v1/chat/completions...")."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest

from langroute import AnthropicProvider, OpenAIProvider, Registry, Router
from langroute.errors import ConfigError, NoCandidateError
from langroute.registry import Pricing, lifecycle
from langroute.testing import smart_reply
from langroute.types import Completion

from .conftest import FAST_RETRY, TEST_KEY

pytestmark = pytest.mark.usefixtures("said_again")

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _catalog_router(aserver: Any, models: list[str], **kwargs: Any) -> Router:
    """A router over catalog entries whose providers are the scripted server."""
    providers = {
        "openai": OpenAIProvider(name="openai", base_url=aserver.openai_url, api_key=TEST_KEY),
        "anthropic": AnthropicProvider(
            name="anthropic", base_url=aserver.anthropic_url, api_key=TEST_KEY
        ),
    }
    return Router(models, providers=providers, retry=FAST_RETRY, **kwargs)


def _serve(aserver: Any, *names: str) -> None:
    registry = Registry.builtin()
    for name in names:
        spec = registry.get(name)
        aserver.add(
            spec.all_deployments[0].model_id,
            smart_reply,
            reasoning_efforts=spec.reasoning_efforts,
        )


async def _ask(router: Router, prompt: str, stream: bool, **kwargs: Any) -> Completion:
    if stream:
        return Completion.from_chunks([c async for c in router.astream(prompt, **kwargs)])
    return await router.achat(prompt, **kwargs)


# --- shutdowns ---


@pytest.mark.parametrize("stream", [False, True])
async def test_a_shut_down_model_is_left_out_and_the_router_says_so(
    aserver, monkeypatch, caplog, stream
):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    _serve(aserver, "gpt-4.1-nano", "gpt-6-luna")
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        router = _catalog_router(aserver, ["gpt-4.1-nano", "gpt-6-luna"])
    said = caplog.text
    assert "model 'gpt-4.1-nano' was shut down by its provider on 2026-10-23" in said
    assert "developers.openai.com/api/docs/deprecations" in said
    assert "Use gpt-6-luna instead" in said
    assert "registry.override('gpt-4.1-nano', {'shutdown': None})" in said

    decision = router.route("hi there")
    assert decision.plan.models == ["gpt-6-luna"]
    assert {r.model: r.reason for r in decision.plan.rejected}["gpt-4.1-nano"] == (
        "shut down by its provider on 2026-10-23; its replacement: gpt-6-luna"
    )
    answer = await _ask(router, "hi there", stream)
    assert answer.model == "gpt-6-luna"
    assert [c.model for c in aserver.calls] == ["gpt-6-luna"]  # never tried
    assert router.models == ["gpt-4.1-nano", "gpt-6-luna"]
    assert router.models_in_service == ["gpt-6-luna"]
    await router.aclose()


def test_a_router_of_shut_down_models_only_is_refused_with_their_replacements(monkeypatch):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    with pytest.raises(ConfigError) as raised:
        Router(["o4-mini", "claude-3-5-haiku"])
    message = str(raised.value)
    assert "every model of this router has been shut down by its provider" in message
    assert "o4-mini: shut down by its provider on 2026-10-23; its replacement: gpt-6.1-terra" in (
        message
    )
    assert "claude-3-5-haiku: shut down by its provider on 2026-02-19" in message


def test_a_shutdown_ahead_is_announced_and_takes_effect_on_its_day(monkeypatch, caplog):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        router = Router(["gpt-5-mini", "gpt-6-luna"])
    assert (
        "model 'gpt-5-mini' will be shut down by its provider on 2026-12-11, in 12 days"
        in caplog.text
    )
    assert "Use gpt-6.1-terra instead" in caplog.text
    assert "gpt-5-mini" in router.route("hi").plan.models
    assert router.models_in_service == ["gpt-5-mini", "gpt-6-luna"]
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-12-11")
    later = Router(["gpt-5-mini", "gpt-6-luna"])
    assert later.models_in_service == ["gpt-6-luna"]
    assert "gpt-5-mini" not in later.route("hi").plan.models


def test_a_running_router_leaves_a_model_out_from_the_day_it_shuts_down(monkeypatch):
    """No restart needed: a router built the day before judges shutdowns again at the next
    UTC midnight, so its plans stop naming the model on the day its provider stops it."""
    monkeypatch.delenv("LANGROUTE_TODAY")
    day = [dt.date(2026, 12, 10)]
    monkeypatch.setattr(lifecycle, "today", lambda: day[0])
    router = Router(["gpt-5-nano", "gpt-6-luna"])
    assert "gpt-5-nano" in router.models_in_service
    until = router._judged_until
    assert until == dt.datetime(2026, 12, 11, tzinfo=dt.UTC).timestamp()
    day[0] = dt.date(2026, 12, 11)
    assert "gpt-5-nano" in router.models_in_service  # not judged again before midnight
    router._judged_until = 0.0  # midnight has passed
    decision = router.route("hi")
    assert "gpt-5-nano" not in decision.plan.models
    assert any(r.model == "gpt-5-nano" for r in decision.plan.rejected)
    assert router._judged_until is None  # no shutdown left ahead: never judged again


def test_the_whole_catalog_leaves_shut_down_models_out_without_a_warning_each(monkeypatch, caplog):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        router = Router()
    assert "shut down" not in caplog.text  # nobody named them
    gone = set(router.models) - set(router.models_in_service)
    assert gone == {"gpt-4.1-nano", "o4-mini", "claude-opus-4-1", "claude-3-5-haiku"}
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-12-01")
    assert {"gemini-2.5-pro", "gemini-2.5-flash"} <= set(Router().models) - set(
        Router().models_in_service
    )
    rejected = {r.model for r in router.route("hi").plan.rejected}
    assert gone <= rejected


def test_an_endpoint_that_still_serves_a_model_can_say_so(monkeypatch, caplog):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    registry = Registry.builtin()
    registry.override("gpt-4.1-nano", {"shutdown": None})
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        router = Router(["gpt-4.1-nano"], registry=registry)
    assert caplog.text == ""
    assert router.route("hi").plan.models == ["gpt-4.1-nano"]


def test_forcing_a_shut_down_model_names_the_shutdown(monkeypatch):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    router = Router(["o4-mini", "gpt-6-luna"])
    with pytest.raises(NoCandidateError) as raised:
        router.route("hi", hints={"model": "o4-mini"})
    assert "o4-mini: shut down by its provider on 2026-10-23" in str(raised.value)


def test_a_bad_day_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LANGROUTE_TODAY", "29/11/2026")
    with pytest.raises(ConfigError, match=r"\$LANGROUTE_TODAY is '29/11/2026', not a date: "):
        Router(["gpt-6-luna"])


def test_the_catalog_has_each_providers_current_models_and_dates_the_old_ones():
    registry = Registry.builtin()
    for name in ("gpt-6.2-astra", "gpt-6.2-sol", "gpt-6.1-terra", "gpt-6-luna"):
        spec = registry.get(name)
        assert spec.shutdown is None and spec.pricing.as_of == dt.date(2026, 11, 29)
        assert spec.pricing.source == f"https://developers.openai.com/api/docs/models/{name}"
    for name in ("claude-fable-5-1", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"):
        assert registry.get(name).pricing.as_of == dt.date(2026, 11, 29)
    dated = {s.name: s.shutdown for s in registry if s.shutdown is not None}
    assert dated["gpt-4o-mini"] == dt.date(2027, 1, 14)
    assert dated["o3"] == dt.date(2026, 12, 11)
    assert dated["gemini-2.5-flash"] == dt.date(2026, 12, 1)
    for spec in registry:
        if spec.replacement is not None and spec.replacement in registry:
            assert registry.get(spec.replacement).shutdown is None, spec.name  # still served
    missing = {s.replacement for s in registry if s.replacement and s.replacement not in registry}
    assert missing == {"gemini-3.8-flash", "gemini-3.5-flash-lite"}  # prices not read yet


# --- GPT-6's function tools on Chat Completions ---


@pytest.mark.parametrize("stream", [False, True])
async def test_gpt6_tool_calls_are_sent_effort_none_as_openai_requires(aserver, caplog, stream):
    _serve(aserver, "gpt-6-luna")
    router = _catalog_router(aserver, ["gpt-6-luna"])
    answer = await _ask(router, "What's the weather in Paris? get_weather", stream, tools=[WEATHER])
    assert answer.tool_calls and answer.tool_calls[0].function.name == "get_weather"
    assert aserver.calls[-1].status == 200
    assert aserver.calls[-1].body["reasoning_effort"] == "none"
    with caplog.at_level(logging.WARNING, logger="langroute.providers.openai"):
        asked = await _ask(
            router, "Weather in Oslo? get_weather", stream, tools=[WEATHER], reasoning_effort="high"
        )
    assert asked.tool_calls and aserver.calls[-1].body["reasoning_effort"] == "none"
    assert "without reasoning_effort 'high' beside function tools" in caplog.text
    plain = await _ask(router, "hello", stream, reasoning_effort="high")
    assert plain.content and aserver.calls[-1].body["reasoning_effort"] == "high"  # no tools
    await router.aclose()


async def test_the_scripted_server_refuses_gpt6_tools_as_openai_does(aserver):
    _serve(aserver, "gpt-6-luna", "gpt-6.2-sol")
    body: dict[str, Any] = {
        "model": "gpt-6-luna",
        "messages": [{"role": "user", "content": "get_weather in Paris"}],
        "tools": [WEATHER],
    }
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TEST_KEY}"}) as client:
        url = f"{aserver.openai_url}/chat/completions"
        for effort in (None, "medium"):
            sent = body if effort is None else {**body, "reasoning_effort": effort}
            refused = await client.post(url, json=sent)
            assert refused.status_code == 400
            assert refused.json()["error"]["message"] == (
                "Function tools with reasoning_effort are not supported for gpt-6-luna in "
                "/v1/chat/completions. To use function tools, use /v1/responses or set "
                "reasoning_effort to 'none'."
            )
        ok = await client.post(url, json={**body, "reasoning_effort": "none"})
        assert ok.status_code == 200
        sol = await client.post(
            url, json={**body, "model": "gpt-6.2-sol", "reasoning_effort": "none"}
        )
        assert sol.status_code == 400
        assert "does not support 'none' with this model" in sol.json()["error"]["message"]


async def test_tool_calls_skip_the_gpt6_models_that_take_no_tools_there(aserver):
    """gpt-6.2-sol refuses "none", so it can take no function tools on Chat Completions: a
    tool call goes to a model that can, a call without tools may still go to it."""
    _serve(aserver, "gpt-6.2-sol", "gpt-6.1-terra")
    router = _catalog_router(aserver, ["gpt-6.2-sol", "gpt-6.1-terra"])
    decision = router.route("Weather in Paris? get_weather", tools=[WEATHER])
    assert "gpt-6.2-sol" not in decision.plan.models
    assert {r.model: r.reason for r in decision.plan.rejected}["gpt-6.2-sol"] == (
        "lacks capability 'tools'"
    )
    answer = await router.achat("Weather in Paris? get_weather", tools=[WEATHER])
    assert answer.model == "gpt-6.1-terra" and answer.tool_calls
    assert "gpt-6.2-sol" in router.route("Prove that sqrt(2) is irrational.").plan.models
    await router.aclose()


# --- long-context prices ---


def test_a_long_prompt_is_billed_whole_at_the_long_context_prices():
    registry = Registry.builtin()
    luna = registry.get("gpt-6-luna").pricing
    assert luna.cost(272_000, 1_000) == pytest.approx((272_000 * 0.10 + 1_000 * 0.50) / 1e6)
    assert luna.cost(272_001, 1_000) == pytest.approx((272_001 * 0.20 + 1_000 * 0.75) / 1e6)
    assert luna.cost(300_000, 0, cached_tokens=100_000) == pytest.approx(
        (200_000 * 0.20 + 100_000 * 0.02) / 1e6
    )
    haiku = registry.get("claude-haiku-5-5").pricing
    assert haiku.cost(100_001, 1_000) == pytest.approx((100_001 * 0.50 + 1_000 * 2.50) / 1e6)
    assert haiku.most_for(200_000, 1_000) == pytest.approx((200_000 * 1.0 + 1_000 * 2.5) / 1e6)
    spec = registry.get("claude-haiku-5-5")
    short_cost, _ = spec.expected_cost_and_latency(50_000, 100)
    long_cost, _ = spec.expected_cost_and_latency(90_000, 100)  # 117,000 in Claude's tokens
    assert long_cost == pytest.approx((117_000 * 0.50 + 200 * 2.50) / 1e6)
    assert short_cost == pytest.approx((65_000 * 0.10 + 200 * 0.50) / 1e6)


def test_a_long_context_tier_is_given_whole():
    with pytest.raises(ValueError, match="long_context_above and long_context go together"):
        Pricing(input=1, output=2, long_context_above=1000)
    with pytest.raises(ValueError, match="give one tier only"):
        Pricing(
            input=1,
            output=2,
            long_context_above=1000,
            long_context={
                "input": 2,
                "output": 4,
                "long_context_above": 5000,
                "long_context": {"input": 3, "output": 6},
            },
        )


def test_gpt6_caches_on_its_own_though_it_bills_cache_writes():
    """OpenAI bills GPT-5.6 and later for the writes of its automatic cache breakpoint, so a
    cache-write price no longer means "needs breakpoints, as Claude does": cache-aware plans
    still price a GPT-6 model warm without any."""
    from langroute.warm_caches import caches_on_its_own

    registry = Registry.builtin()
    assert registry.get("gpt-6-luna").pricing.cache_write == 0.125
    assert caches_on_its_own(registry.get("gpt-6-luna"))
    assert caches_on_its_own(registry.get("gpt-4.1"))  # no write price
    assert not caches_on_its_own(registry.get("claude-haiku-5-5"))


def test_the_tests_day_is_before_every_shutdown_in_the_catalog():
    """The suite judges shutdowns by a fixed day (the root conftest), so that its tests of
    older catalog models by name do not change with the calendar."""
    from conftest import TESTS_TODAY

    day = dt.date.fromisoformat(TESTS_TODAY)
    assert all(s.shutdown is None or s.shutdown > day for s in Registry.builtin())


async def test_savings_are_counted_against_a_model_still_served(aserver, monkeypatch):
    """The audit record's always-premium cost is what calling the dearest model of the
    router would have cost: a shut-down one (Opus 4.1, $15/$75) cannot be called, so it
    does not count."""
    from langroute import AuditLog
    from langroute.audit import MemoryAuditSink

    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    _serve(aserver, "gpt-6-luna")
    sink = MemoryAuditSink()
    router = _catalog_router(
        aserver, ["claude-opus-4-1", "claude-sonnet-5-5", "gpt-6-luna"], audit=AuditLog(sink)
    )
    await router.achat("hi there")
    router.audit.flush()
    (record,) = sink.records
    assert record.premium_model == "claude-sonnet-5-5"
    await router.aclose()
