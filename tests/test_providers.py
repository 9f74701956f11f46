"""Native providers over real HTTP against the scripted server: shapes in, shapes out, errors."""

from __future__ import annotations

import json
import logging

import pytest

from langroute import (
    AnthropicProvider,
    AuthError,
    BadRequest,
    ChatParams,
    ConfigError,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    MalformedResponse,
    OpenAIProvider,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)
from langroute.providers.base import Provider
from langroute.testing import DropStream, Fail, Hang, Malformed, Reply, ToolCallScript
from langroute.types import MESSAGE, ResponseFormat, ToolSpec, Usage
from tests.conftest import TEST_KEY

IMAGE = "data:image/png;base64,iVBORw0KGgo="
WEATHER = ToolSpec.model_validate(
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
)


def msgs(*items: dict) -> list:
    return [MESSAGE.validate_python(m) for m in items]


def openai(server, **kw) -> OpenAIProvider:
    return OpenAIProvider(name="local", base_url=server.openai_url, api_key=TEST_KEY, **kw)


def anthropic(server, **kw) -> AnthropicProvider:
    return AnthropicProvider(name="claude", base_url=server.anthropic_url, api_key=TEST_KEY, **kw)


@pytest.fixture(params=["openai", "anthropic"])
def provider_kind(request) -> str:
    return request.param


def make(kind: str, server, **kw) -> Provider:
    return openai(server, **kw) if kind == "openai" else anthropic(server, **kw)


async def test_text_and_usage(aserver, provider_kind):
    aserver.add("m", Reply("Hello there", prompt_tokens=11, completion_tokens=3, cached_tokens=4))
    p = make(provider_kind, aserver)
    c = await p.chat(
        "m",
        msgs({"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}),
        ChatParams(),
    )
    assert c.content == "Hello there"
    assert c.finish_reason == "stop"
    assert c.usage.prompt_tokens == 11
    assert c.usage.completion_tokens == 3
    assert c.usage.cached_tokens == 4
    body = aserver.calls[-1].body
    if provider_kind == "anthropic":
        assert body["system"] == "be brief"
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        assert body["max_tokens"] == 4096
    else:
        assert body["messages"][0] == {"role": "system", "content": "be brief"}
    await p.aclose()


async def test_cache_writes_are_reported_complete_and_streamed(aserver, provider_kind):
    """Anthropic's `cache_creation_input_tokens` (split by cache lifetime), and the
    `prompt_tokens_details.cache_write_tokens` of OpenAI-shaped gateways to Claude."""
    aserver.add(
        "m",
        Reply(
            "Hi",
            prompt_tokens=100,
            completion_tokens=3,
            cached_tokens=20,
            cache_write_tokens=50,
            cache_write_1h_tokens=10,
        ),
    )
    p = make(provider_kind, aserver)
    hour = 10 if provider_kind == "anthropic" else 0  # the gateways' shape has no lifetimes
    done = await p.chat("m", msgs({"role": "user", "content": "hi"}), ChatParams())
    streamed = [
        c.usage
        async for c in p.chat_stream("m", msgs({"role": "user", "content": "hi"}), ChatParams())
        if c.usage is not None
    ]
    for usage in (done.usage, sum(streamed, Usage())):
        assert usage == Usage(
            prompt_tokens=100,
            completion_tokens=3,
            cached_tokens=20,
            cache_write_tokens=50,
            cache_write_1h_tokens=hour,
        )
    await p.aclose()


def test_deepseeks_cache_hits_are_read_from_its_own_field():
    """DeepSeek caches prompts by default and reports hits as `prompt_cache_hit_tokens`
    (billed at a tenth of input), not in `prompt_tokens_details`."""
    from langroute.providers.openai import _usage

    reported = {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64}
    assert _usage(reported) == Usage(prompt_tokens=100, completion_tokens=5, cached_tokens=64)


async def test_images_are_sent_in_each_protocol(aserver, provider_kind):
    aserver.add("m", Reply("a cat"))
    p = make(provider_kind, aserver)
    await p.chat(
        "m",
        msgs(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": IMAGE}},
                ],
            }
        ),
        ChatParams(),
    )
    content = aserver.calls[-1].body["messages"][0]["content"]
    if provider_kind == "anthropic":
        assert content[1] == {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        }
    else:
        assert content[1] == {"type": "image_url", "image_url": {"url": IMAGE}}
    await p.aclose()


async def test_tools_and_tool_calls_round_trip(aserver, provider_kind):
    aserver.add(
        "m", Reply("", tool_calls=(ToolCallScript("get_weather", {"city": "Oslo"}, id="call_1"),))
    )
    p = make(provider_kind, aserver)
    params = ChatParams(tools=[WEATHER], tool_choice="get_weather")
    c = await p.chat("m", msgs({"role": "user", "content": "weather in Oslo?"}), params)
    assert c.finish_reason == "tool_calls"
    assert [(t.id, t.function.name, json.loads(t.function.arguments)) for t in c.tool_calls] == [
        ("call_1", "get_weather", {"city": "Oslo"})
    ]
    body = aserver.calls[-1].body
    if provider_kind == "anthropic":
        assert body["tools"][0]["input_schema"]["required"] == ["city"]
        assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    else:
        assert body["tools"][0]["function"]["name"] == "get_weather"
        assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    # the tool result goes back in the protocol's own shape
    aserver.models["m"].default = Reply("It is 3°C in Oslo.")
    history = msgs(
        {"role": "user", "content": "weather in Oslo?"},
        c.message().model_dump(),
        {"role": "tool", "tool_call_id": "call_1", "content": "3°C"},
    )
    c2 = await p.chat("m", history, params)
    assert c2.content == "It is 3°C in Oslo."
    sent = aserver.calls[-1].body["messages"]
    if provider_kind == "anthropic":
        assert sent[1]["content"][0]["type"] == "tool_use"
        assert sent[2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "call_1",
            "content": "3°C",
        }
    else:
        assert sent[1]["tool_calls"][0]["id"] == "call_1"
        assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "3°C"}
    await p.aclose()


async def test_anthropic_gets_no_empty_message_or_text_block(aserver):
    """An empty answer earlier in the history (a model said nothing) would make the Messages
    API refuse the whole call with HTTP 400, which does not fall back: it is left out, and
    the user turns around it become one."""
    aserver.add("m", Reply("ok"))
    p = make("anthropic", aserver)
    history = msgs(
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": ""},
        {
            "role": "user",
            "content": [{"type": "text", "text": ""}, {"type": "text", "text": "again"}],
        },
    )
    assert (await p.chat("m", history, ChatParams())).content == "ok"
    assert aserver.calls[-1].body["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "again"}],
        }
    ]
    await p.aclose()


async def test_anthropic_maps_what_it_can_and_says_what_it_cannot_send(aserver, caplog):
    """`parallel_tool_calls=False` becomes `disable_parallel_tool_use`; a seed, logprobs or a
    temperature above Anthropic's 1.0 cannot be sent as asked, and a warning says so once
    per process rather than nothing at all."""
    from langroute.providers import _http

    _http._SAID.clear()
    aserver.add("m", Reply("ok"))
    p = make("anthropic", aserver)
    params = ChatParams(
        tools=[WEATHER], parallel_tool_calls=False, seed=7, logprobs=True, temperature=1.5
    )
    with caplog.at_level("WARNING", logger="langroute.providers.anthropic"):
        await p.chat("m", msgs({"role": "user", "content": "hi"}), params)
        await p.chat("m", msgs({"role": "user", "content": "hi"}), params)
    body = aserver.calls[-1].body
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["temperature"] == 1.0 and "seed" not in body and "logprobs" not in body
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 3, "once each, not once per call"
    assert any("without seed" in m for m in said) and any("without logprobs" in m for m in said)
    assert any("temperature above 1.0" in m for m in said)
    await p.chat("m", msgs({"role": "user", "content": "hi"}), ChatParams(tools=[WEATHER]))
    assert "tool_choice" not in aserver.calls[-1].body, "nothing asked, nothing sent"
    await p.aclose()


async def test_openai_reasoning_models_get_max_completion_tokens_and_no_sampling(aserver, caplog):
    """o-series and gpt-5 models refuse `max_tokens` and non-default sampling: a call routed
    there sends `max_completion_tokens`, leaves out what they refuse and says so once;
    other models are sent what was asked."""
    from langroute.providers import _http
    from langroute.providers.openai import is_reasoning_model

    assert [is_reasoning_model(m) for m in ("o3-2025-04-16", "openai/o4-mini", "gpt-5-mini")] == [
        True,
        True,
        True,
    ]
    assert not any(is_reasoning_model(m) for m in ("gpt-4o", "gpt-5-chat-latest", "omni-x"))
    _http._SAID.clear()
    aserver.add("o3-2025-04-16", Reply("ok"))
    aserver.add("gpt-4o", Reply("ok"))
    p = make("openai", aserver)
    params = ChatParams(max_tokens=50, temperature=0.2, top_p=1, seed=3, logprobs=True)
    with caplog.at_level("WARNING", logger="langroute.providers.openai"):
        await p.chat("o3-2025-04-16", msgs({"role": "user", "content": "hi"}), params)
        await p.chat("o3-2025-04-16", msgs({"role": "user", "content": "hi"}), params)
    body = aserver.calls[-1].body
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert "temperature" not in body and "logprobs" not in body
    assert body["top_p"] == 1 and body["seed"] == 3, "what they take is still sent"
    said = [r.getMessage() for r in caplog.records]
    assert sorted(said) == [
        "openai call without logprobs for reasoning models: they refuse it",
        "openai call without temperature for reasoning models: they refuse it",
    ]
    await p.chat("gpt-4o", msgs({"role": "user", "content": "hi"}), params)
    body = aserver.calls[-1].body
    assert (body["max_tokens"], body["temperature"], body["logprobs"]) == (50, 0.2, True)
    await p.aclose()


async def test_request_fields_rename_or_leave_out_what_a_server_names_otherwise(
    aserver, monkeypatch, caplog
):
    """Mistral answers HTTP 422 to `stream_options` and calls the seed `random_seed`: the
    catalog says so in `request_fields`, which renames a field or (`""`) leaves it out —
    with a warning when the caller asked for it."""
    from langroute.providers import _http, provider_from_spec
    from langroute.registry import ProviderSpec, Registry

    mistral = Registry.builtin().provider("mistral")
    assert mistral.request_fields == {"seed": "random_seed", "stream_options": ""}
    monkeypatch.setenv("LR_TEST_KEY", TEST_KEY)
    spec = ProviderSpec(
        kind="openai",
        base_url=aserver.openai_url,
        api_key_env="LR_TEST_KEY",
        request_fields={**mistral.request_fields, "logprobs": ""},
    )
    p = provider_from_spec("mistral-like", spec)
    aserver.add("m", Reply("ok"))
    _http._SAID.clear()
    with caplog.at_level("WARNING", logger="langroute.providers.mistral-like"):
        params = ChatParams(seed=3, logprobs=True)
        chunks = [
            c async for c in p.chat_stream("m", msgs({"role": "user", "content": "hi"}), params)
        ]
    assert "".join(c.content for c in chunks) == "ok"
    body = aserver.calls[-1].body
    assert body["random_seed"] == 3 and body["stream"] is True
    assert not {"seed", "stream_options", "logprobs"} & set(body)
    assert [r.getMessage() for r in caplog.records] == [
        "mistral-like call without logprobs: its request_fields say it refuses it"
    ]
    with pytest.raises(ValueError, match="request_fields applies to kind = 'openai'"):
        ProviderSpec(kind="anthropic", base_url="https://x", request_fields={"seed": ""})
    await p.aclose()


async def test_streaming_text_tools_and_usage(aserver, provider_kind):
    aserver.add(
        "m",
        Reply(
            "one two three",
            tool_calls=(ToolCallScript("get_weather", {"city": "Rome"}),),
            prompt_tokens=7,
            completion_tokens=5,
        ),
    )
    p = make(provider_kind, aserver)
    chunks = [
        c
        async for c in p.chat_stream(
            "m", msgs({"role": "user", "content": "go"}), ChatParams(tools=[WEATHER])
        )
    ]
    assert "".join(c.content for c in chunks) == "one two three"
    args = "".join(d.arguments for c in chunks for d in c.tool_calls)
    assert json.loads(args) == {"city": "Rome"}
    assert [d.name for c in chunks for d in c.tool_calls if d.name] == ["get_weather"]
    usage = [c.usage for c in chunks if c.usage]
    assert usage[-1].prompt_tokens == 7
    assert usage[-1].completion_tokens == 5
    assert any(c.finish_reason == "tool_calls" for c in chunks)
    if provider_kind == "openai":
        assert aserver.calls[-1].body["stream_options"] == {"include_usage": True}
    await p.aclose()


async def test_openai_response_format_and_logprobs(aserver):
    aserver.add("m", Reply('{"a": 1}'))
    p = openai(aserver)
    fmt = ResponseFormat.model_validate(
        {
            "type": "json_schema",
            "json_schema": {"name": "obj", "schema": {"type": "object"}, "strict": True},
        }
    )
    c = await p.chat(
        "m",
        msgs({"role": "user", "content": "json"}),
        ChatParams(response_format=fmt, logprobs=True, top_logprobs=2),
    )
    body = aserver.calls[-1].body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "obj", "schema": {"type": "object"}, "strict": True},
    }
    assert body["logprobs"] is True
    assert c.logprobs and c.logprobs[0].token == '{"a":'
    chunks = [
        c
        async for c in p.chat_stream(
            "m", msgs({"role": "user", "content": "json"}), ChatParams(logprobs=True)
        )
    ]
    assert any(c.logprobs for c in chunks)
    await p.aclose()


@pytest.mark.parametrize(
    ("behaviour", "error", "status"),
    [
        (Fail(429, retry_after=7), RateLimited, 429),
        (Fail(500), ServerError, 500),
        (Fail(503), ServerError, 503),
        (Fail(529), ServerError, 529),
        (Fail(401), AuthError, 401),
        (Fail(400, "bad field"), BadRequest, 400),
        (Fail(400, "too long", code="context_length_exceeded"), ContextTooLong, 400),
        (Fail(400, "flagged", code="content_filter"), ContentFiltered, 400),
        (Reply("partial", finish_reason="content_filter"), ContentFiltered, None),
        (Malformed(), MalformedResponse, None),
        (DropStream(), ConnectionFailed, None),
    ],
)
async def test_errors_are_normalised(aserver, provider_kind, behaviour, error, status):
    aserver.add("m", behaviour)
    p = make(provider_kind, aserver)
    with pytest.raises(error) as info:
        await p.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())
    assert info.value.status == status
    assert info.value.provider == p.name
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 7
    assert TEST_KEY not in str(info.value)
    await p.aclose()


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (Fail(429), RateLimited),
        (Fail(503), ServerError),
        (Malformed(), MalformedResponse),
        (DropStream(after_chunks=1), ConnectionFailed),
    ],
)
async def test_stream_errors_are_normalised(aserver, provider_kind, behaviour, error):
    aserver.add("m", behaviour)
    p = make(provider_kind, aserver)
    with pytest.raises(error):
        async for _ in p.chat_stream("m", msgs({"role": "user", "content": "x"}), ChatParams()):
            pass
    await p.aclose()


async def test_timeout_and_unreachable(aserver, provider_kind):
    aserver.add("slow", Hang(2.0))
    p = make(provider_kind, aserver, timeout=0.2)
    with pytest.raises(Timeout):
        await p.chat("slow", msgs({"role": "user", "content": "x"}), ChatParams())
    await p.aclose()
    dead = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="k", timeout=1)
    with pytest.raises(ConnectionFailed):
        await dead.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())


def test_each_event_loop_gets_a_client_without_reloading_the_ca_bundle(server, monkeypatch):
    """Each `asyncio.run` (a task queue's worker) and each thread's loop opens a client of
    its own; httpx built each one a verifying SSL context, reading certifi's CA bundle from
    disk (~20 ms a client, encode/httpx#2298). The context is now built once per CA setting
    ($SSL_CERT_FILE / $SSL_CERT_DIR, read as httpx reads them)."""
    import asyncio
    import ssl

    import certifi

    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(args or kwargs)
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server.add("m", Reply("x"))
    p = openai(server)

    async def call() -> str:
        return (await p.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())).content

    for _ in range(4):
        assert asyncio.run(call()) == "x"
    assert len(loads) <= 1  # none when an earlier test built the default context
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    for _ in range(3):
        assert asyncio.run(call()) == "x"
    assert loads[-1][0] == certifi.where() and len(loads) <= 2  # type: ignore[index]


async def test_wrong_key_is_auth_error_and_never_echoed(aserver, provider_kind):
    aserver.add("m", Reply("x"))
    secret = "sk-wrong-key-abcdef123456"
    p = (
        OpenAIProvider(base_url=aserver.openai_url, api_key=secret)
        if provider_kind == "openai"
        else AnthropicProvider(base_url=aserver.anthropic_url, api_key=secret)
    )
    with pytest.raises(AuthError) as info:
        await p.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())
    assert secret not in str(info.value) and secret not in repr(p)
    await p.aclose()


async def test_a_missing_key_says_how_to_give_it(aserver, provider_kind, monkeypatch):
    monkeypatch.delenv("LANGROUTE_TEST_KEY", raising=False)
    aserver.add("m", Reply("x"))
    kind = OpenAIProvider if provider_kind == "openai" else AnthropicProvider
    url = aserver.openai_url if provider_kind == "openai" else aserver.anthropic_url
    p = kind(base_url=url, api_key_env="LANGROUTE_TEST_KEY")
    hint = r"\(no API key was set: pass api_key= or set \$LANGROUTE_TEST_KEY\)"
    with pytest.raises(AuthError, match=hint):
        await p.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())
    with pytest.raises(AuthError, match=hint):
        async for _ in p.chat_stream("m", msgs({"role": "user", "content": "x"}), ChatParams()):
            pass
    await p.aclose()
    keyed = kind(base_url=url, api_key="sk-wrong-key-abcdef123456")
    with pytest.raises(AuthError) as info:
        await keyed.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())
    assert "no API key was set" not in str(info.value), "a key was set: it is wrong, not missing"
    await keyed.aclose()


def test_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    p = OpenAIProvider()
    assert p._key is not None and p._key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(p)


async def test_base_url_comes_from_the_sdks_environment_variable(
    aserver, provider_kind, monkeypatch
):
    aserver.add("m", Reply("from env"))
    kind = OpenAIProvider if provider_kind == "openai" else AnthropicProvider
    url = aserver.openai_url if provider_kind == "openai" else aserver.anthropic_url
    variable = "OPENAI_BASE_URL" if provider_kind == "openai" else "ANTHROPIC_BASE_URL"
    monkeypatch.setenv(variable, url)
    p = kind(api_key=TEST_KEY)
    assert p.base_url == url
    answer = await p.chat("m", msgs({"role": "user", "content": "x"}), ChatParams())
    assert answer.content == "from env"
    await p.aclose()
    # an explicit base_url wins over the variable
    assert kind(base_url="http://127.0.0.1:9/v1", api_key=TEST_KEY).base_url.endswith(":9/v1")


def test_a_bad_base_url_names_its_variable_without_echoing_it(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "admin:hunter2@proxy.internal:8080")
    with pytest.raises(
        ConfigError, match=r"environment variable OPENAI_BASE_URL must start"
    ) as info:
        OpenAIProvider(api_key=TEST_KEY)
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError, match=r"base_url must start with http"):
        AnthropicProvider(base_url="api.anthropic.com", api_key=TEST_KEY)


def test_catalog_providers_read_their_base_url_variable(server, monkeypatch):
    """The catalog's providers honour `<PREFIX>_BASE_URL`: a router over catalog models
    reaches a proxy, gateway or local server with no config file; a provider the user
    defines keeps its own base_url."""
    from langroute import Registry, Router

    server.add("gpt-4o-mini-2024-07-18", Reply("via OPENAI_BASE_URL"))  # pinned versions
    server.add("claude-haiku-4-5-20251001", Reply("via ANTHROPIC_BASE_URL"))
    server.add("deepseek-chat", Reply("via DEEPSEEK_BASE_URL"))
    for prefix, url in (
        ("OPENAI", server.openai_url),
        ("ANTHROPIC", server.anthropic_url),
        ("DEEPSEEK", server.openai_url),
    ):
        monkeypatch.setenv(f"{prefix}_BASE_URL", url)
        monkeypatch.setenv(f"{prefix}_API_KEY", TEST_KEY)
    for model in ("gpt-4o-mini", "claude-haiku-4-5", "deepseek-v3"):
        answer = Router([model]).chat("hi")
        assert answer.content.startswith("via "), (model, answer.content)
    assert [c.model for c in server.calls] == [
        "gpt-4o-mini-2024-07-18",
        "claude-haiku-4-5-20251001",
        "deepseek-chat",
    ]

    registry = Registry.builtin().load_data(
        {"providers": {"openai": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"}}}
    )
    router = Router(["gpt-4o-mini"], registry=registry)
    assert router.provider("openai").base_url == "http://127.0.0.1:9/v1"


def test_a_password_in_the_base_url_is_masked_in_reprs(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://team:hunter2@gateway.internal/anthropic")
    p = AnthropicProvider(api_key=TEST_KEY)
    assert p.base_url == "https://team:hunter2@gateway.internal/anthropic", "it is still used"
    assert repr(p) == (
        "AnthropicProvider(name='anthropic', base_url='https://team:***@gateway.internal/anthropic')"
    )
    assert "hunter2" not in repr(OpenAIProvider(base_url="http://u:hunter2@127.0.0.1:9/v1"))
    assert repr(OpenAIProvider(base_url="http://127.0.0.1:9/v1?a=b@c")).endswith("@c')")
    bare_token = OpenAIProvider(base_url="https://sk-proxy-token-42@gateway.internal/v1")
    assert repr(bare_token).endswith("base_url='https://***@gateway.internal/v1')")


# --- framework candidates' SDK exceptions, typed by duck typing ----------------------------


def _raised(exc_type: type[Exception], **attributes: object) -> Exception:
    exc = exc_type("scripted")
    for name, value in attributes.items():
        setattr(exc, name, value)
    return exc


class ResourceExhausted(Exception):  # google-api-core's 429: an HTTP `code`
    code = 429


class ClientError(Exception):  # botocore's: a response dict
    pass


class ThrottlingException(Exception):  # no status at all, only a telling name
    pass


class ServiceOverloaded(Exception):
    pass


def _sdk_errors() -> list[tuple[Exception, type[Exception], float | None]]:
    import httpx

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    limited = httpx.Response(429, headers={"retry-after": "7"}, request=request)
    bedrock = {
        "Error": {"Code": "ThrottlingException", "Message": "Too many requests"},
        "ResponseMetadata": {"HTTPStatusCode": 429, "HTTPHeaders": {"retry-after": "2"}},
    }
    down = {
        "Error": {"Code": "ServiceUnavailableException"},
        "ResponseMetadata": {"HTTPStatusCode": 503},
    }
    return [
        (httpx.HTTPStatusError("429", request=request, response=limited), RateLimited, 7.0),
        (ResourceExhausted("quota"), RateLimited, None),
        (_raised(ClientError, response=bedrock), RateLimited, 2.0),
        (_raised(ClientError, response=down), ServerError, None),
        (_raised(Exception, status=503), ServerError, None),  # aiohttp's ClientResponseError
        (ThrottlingException("slow down"), RateLimited, None),
        (ServiceOverloaded("busy"), ServerError, None),
        (_raised(Exception, status_code=200), MalformedResponse, None),  # openai's validation
        (_raised(Exception, code=8), ProviderError, None),  # a gRPC code is not an HTTP status
    ]


@pytest.mark.parametrize(("exc", "expected", "retry_after"), _sdk_errors())
def test_sdk_exceptions_are_typed_wherever_they_keep_their_status(exc, expected, retry_after):
    """A LangChain or LlamaIndex candidate raises its vendor SDK's exceptions: a 429 from
    Gemini, Bedrock or a plain-httpx integration must fall back like OpenAI's."""
    from langroute.providers.sdk_errors import normalise_exception

    error = normalise_exception(exc, model="m", provider="p")
    assert type(error) is expected
    assert (error.model, error.provider) == ("m", "p")
    if expected is RateLimited:
        assert error.retry_after == retry_after


@pytest.mark.parametrize(
    ("said", "meant", "refused"),
    [
        ("stop", "stop", False),
        ("length", "length", False),
        ("max_tokens", "length", False),  # Anthropic, Bedrock
        ("MAX_TOKENS", "length", False),  # Gemini
        ("model_length", "length", False),  # Mistral
        ("end_turn", "stop", False),
        ("tool_use", "tool_calls", False),
        ("content_filter", "content_filter", True),  # OpenAI, Azure
        ("refusal", "content_filter", True),  # Anthropic
        ("SAFETY", "content_filter", True),  # Gemini
        ("guardrail_intervened", "content_filter", True),  # Bedrock
        ("something_new", "something_new", False),
        (None, None, False),
    ],
)
def test_framework_finish_reasons_are_read_in_openais_words(said, meant, refused):
    """What a LangChain or LlamaIndex response says it ended with, whatever its provider:
    the cascade reads `length`, and a filter's reason is a `ContentFiltered`."""
    from langroute.providers.answers import filtered, finish_reason

    assert finish_reason(said) == meant
    error = filtered(said, model="m", provider="p")
    assert (error is not None) == refused
    if error is not None:
        assert said in str(error) and error.model == "m"


async def test_openais_own_fields_are_left_out_for_claude_and_logged(aserver, caplog):
    """Extra keywords meant for any model of a router (`frequency_penalty`, `store`, …)
    reached the Messages API, which answers 400 to them; they are left out for Claude,
    each said once, and other extra fields still go. (`reasoning_effort` is routed: see
    test_reasoning_effort.py.)"""
    aserver.add("m", Reply("ok"))
    extra = {
        "frequency_penalty": 0.1,
        "safety_identifier": "u-1",
        "store": True,
        "metadata": {"user_id": "u-1"},
    }
    p = anthropic(aserver)
    with caplog.at_level(logging.WARNING, logger="langroute.providers"):
        answer = await p.chat(
            "m", msgs({"role": "user", "content": "hi"}), ChatParams(extra_body=extra)
        )
    assert answer.content == "ok"
    body = aserver.calls[-1].body
    assert body["metadata"] == {"user_id": "u-1"}
    assert not {"frequency_penalty", "safety_identifier", "store"}.intersection(body)
    assert "anthropic call without safety_identifier: the Messages API refuses it" in caplog.text
    await p.aclose()
