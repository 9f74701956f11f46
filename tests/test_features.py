"""Request features: computed once, offline-safe token counts, tools, images, hints."""

from __future__ import annotations

import logging

import pytest

from langroute import CallerHints, ConfigError, Router, RoutingRequest
from langroute import tokens as tok
from langroute.types import ChatParams, ResponseFormat, ToolSpec


def test_features_of_a_multimodal_tool_conversation():
    tool = ToolSpec.model_validate({"type": "function", "function": {"name": "search"}})
    req = RoutingRequest.build(
        [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "first question"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "function": {"name": "search", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "result"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "and this picture?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            },
        ],
        ChatParams(
            tools=[tool], response_format=ResponseFormat(type="json_object"), max_tokens=300
        ),
        hints={"max_cost_usd": 0.01, "min_quality": 0.8},
        tenant="acme",
        user="u1",
        tags=["support"],
    )
    f = req.features
    assert f.last_user_text == "and this picture?"
    assert f.has_images and f.has_tool_results and f.structured_output
    assert f.tool_names == ("search",) and f.needs_tools
    assert f.conversation_depth == 2
    assert f.max_output_tokens == 300
    assert (f.tenant, f.user, f.tags) == ("acme", "u1", ("support",))
    assert f.hints == CallerHints(max_cost_usd=0.01, min_quality=0.8)
    assert f.prompt_tokens > tok.IMAGE_TOKENS


def test_token_count_falls_back_to_a_documented_estimate_with_one_warning(monkeypatch, caplog):
    import tiktoken

    def offline(name):
        raise ConnectionError("no network")

    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    monkeypatch.setattr(tok, "_warned", False)
    tok._counter.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="langroute.tokens"):
            assert tok.count_tokens("abcdefghi") == 2  # words in chunks of five letters
            assert tok.count_tokens("x" * 400) == 80
            assert not tok.counts_are_exact()
            req = RoutingRequest.build("hello world")
        assert req.features.tokens_exact is False
        warnings = [r for r in caplog.records if "estimated" in r.getMessage()]
        assert len(warnings) == 1
    finally:
        tok._counter.cache_clear()


def test_exact_counts_when_the_encoding_loads(monkeypatch):
    class FakeEncoding:
        def encode_ordinary(self, text):
            return text.split()

    import tiktoken

    monkeypatch.setattr(tiktoken, "get_encoding", lambda name: FakeEncoding())
    tok._counter.cache_clear()
    try:
        assert tok.count_tokens("one two three") == 3
        assert tok.counts_are_exact()
    finally:
        tok._counter.cache_clear()


def test_bad_call_parameters_are_named():
    router = Router(["gpt-4o-mini"])
    with pytest.raises(ConfigError, match="temprature: unknown parameter"):
        router.route("hi", temprature=0.2)
    with pytest.raises(ConfigError, match="temperature"):
        router.route("hi", temperature=5)
    with pytest.raises(ConfigError, match="messages is empty"):
        router.route([])
    with pytest.raises(ConfigError, match="got dict: wrap the one message in a list"):
        router.route({"role": "user", "content": "hi"})
    for wrong, name in ((42, "int"), (None, "NoneType"), (b"hi", "bytes")):
        with pytest.raises(ConfigError, match=f"a string or a list of messages, got {name}$"):
            router.route(wrong)
    one = [{"role": "user", "content": "hi"}]
    assert router.route(iter(one)).chosen == router.route(tuple(one)).chosen == "gpt-4o-mini"


def test_bad_messages_and_hints_are_named_without_echoing_their_values():
    router = Router(["gpt-4o-mini"])
    with pytest.raises(ConfigError, match=r"messages\[1\]: .*'wizard'.*'role' \(system") as bad:
        router.route([{"role": "user", "content": "x"}, {"role": "wizard", "content": "s3cr3t"}])
    assert "s3cr3t" not in str(bad.value)
    with pytest.raises(ConfigError, match=r"messages\[0\]: user.content: Field required"):
        router.route([{"role": "user"}])
    with pytest.raises(ConfigError, match=r"max_cost: unknown hint\. Known: .*max_cost_usd"):
        router.route("hi", hints={"max_cost": 0.01})
    with pytest.raises(ConfigError, match=r"invalid hints: min_quality: .*less than or equal to 1"):
        router.route("hi", hints={"min_quality": 7})


def test_forced_model_must_be_known():
    router = Router(["gpt-4o-mini", "gpt-4o"])
    assert router.route("hi", hints={"model": "gpt-4o"}).chosen == "gpt-4o"
    with pytest.raises(ConfigError, match="not one of this router's models"):
        router.route("hi", hints={"model": "claude-sonnet-4-5"})
    with pytest.raises(Exception, match="Known models"):
        router.route("hi", hints={"model": "gpt-9"})


def test_a_tool_choice_naming_no_tool_of_the_call_is_refused_before_any_call():
    router = Router(["gpt-4o-mini"])
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    with pytest.raises(ConfigError, match=r"tool_choice 'get_wether' names no tool.*get_weather"):
        router.route("hi", tools=[weather], tool_choice="get_wether")
    with pytest.raises(ConfigError, match=r"tool_choice 'required' needs tools; .*tools: none"):
        router.route("hi", tool_choice="required")
    for choice in ("get_weather", "required", "auto", "none"):
        decision = router.route("hi", tools=[weather], tool_choice=choice)
        assert decision.features.tool_choice == choice


def test_one_tag_or_stop_string_is_one_item_and_a_tenant_must_be_a_string():
    router = Router(["gpt-4o-mini"])
    assert router.route("hi", tags="nightly-batch").features.tags == ("nightly-batch",)
    assert router.request("hi", stop="END").params.stop == ["END"]
    with pytest.raises(ConfigError, match="tenant must be a string, got int"):
        router.route("hi", tenant=42)
    with pytest.raises(ConfigError, match="user must be a string, got dict"):
        router.route("hi", user={"id": 1})


def test_forcing_an_unknown_model_lists_this_routers_models():
    from langroute import UnknownModelError

    router = Router(["gpt-4o-mini", "claude-haiku-4-5"])
    with pytest.raises(UnknownModelError) as info:
        router.route("hi", hints={"model": "gpt-4o-mni"})
    assert "Did you mean: gpt-4o-mini?" in str(info.value)
    assert "Known models: claude-haiku-4-5, gpt-4o-mini." in str(info.value)


def test_tools_in_flat_and_anthropic_form_are_read_as_the_same_tool():
    router = Router(["gpt-4o-mini"])
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    nested = {"type": "function", "function": {"name": "get_weather", "parameters": schema}}
    flat = {"type": "function", "name": "get_weather", "parameters": schema}
    anthropic = {"name": "get_weather", "input_schema": schema}
    specs = [router.request("hi", tools=[t]).params.tools for t in (nested, flat, anthropic)]
    assert specs[0] == specs[1] == specs[2]
    with pytest.raises(
        ConfigError, match=r"tools\.0\.description: unknown field\. A tool is"
    ) as bad:
        router.route("hi", tools=[{"description": "weather"}])
    assert "Known:" not in str(bad.value), "the call parameters are not what is wrong"
