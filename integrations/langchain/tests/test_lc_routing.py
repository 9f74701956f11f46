"""RoutingChatModel beyond the standard suites: the known delegation traps, fallback while
streaming, and agents whose steps are routed one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler, UsageMetadataCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.runnables import ConfigurableField
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_langroute import RoutingChatModel
from langroute import (
    AgentSteps,
    AllModelsFailed,
    ConfigError,
    CostOptimized,
    DeadlineExceeded,
    DomainMap,
    InMemoryHealth,
    InMemoryRateLimits,
    QualityBar,
    RetryPolicy,
    StreamInterrupted,
    UnknownModelError,
)
from langroute.testing import DropStream, Fail, Hang, Reply, ScriptedServer, smart_reply
from lc_helpers import (
    ANTHROPIC_NAME,
    KEY,
    NATIVE_SPECS,
    OPENAI_NAME,
    SPECS,
    anthropic_candidate,
    native_providers,
    openai_candidate,
)
from lc_helpers import scripted_server as server_of


class Counter(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts = 0
        self.tokens: list[str] = []
        self.ends = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.ends += 1


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny in {city}."


@tool
def get_population(city: str) -> str:
    """Get the population of a city."""
    return f"{city} has 700,000 inhabitants."


def router(**kwargs: Any) -> RoutingChatModel:
    return RoutingChatModel(
        models=[openai_candidate(), anthropic_candidate()], specs=SPECS, **kwargs
    )


def agent_router(make: Any = router) -> RoutingChatModel:
    """Tool steps to the cheapest capable candidate, answers after tool results to the one
    that clears a 0.9 quality bar."""
    return make(
        policy=AgentSteps(
            tool_step=CostOptimized(), after_tools=CostOptimized(bar=QualityBar(fixed=0.9))
        )
    )


@pytest.fixture
def server() -> ScriptedServer:
    server = server_of()
    for model in server.models.values():
        model.reset(smart_reply)
    return server


def answered_by(message: AIMessage) -> str:
    return message.response_metadata["langroute"]["answered_by"]


# --- callbacks and usage exactly once ----------------------------------------------------


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_callbacks_and_usage_fire_exactly_once(server, mode):
    llm = router()
    counter, usage = Counter(), UsageMetadataCallbackHandler()
    config = {"callbacks": [counter, usage]}
    if mode == "invoke":
        message = llm.invoke("hello there", config=config)
        text = message.content
    else:
        chunks = list(llm.stream("hello there", config=config))
        text = "".join(c.content for c in chunks)
        assert "".join(counter.tokens) == text  # every token once, none twice
    assert counter.starts == 1
    assert counter.ends == 1
    totals = usage.usage_metadata
    assert list(totals) == [OPENAI_NAME]  # keyed by the model that answered
    expected = -(-len("hello there") // 4)
    assert totals[OPENAI_NAME]["input_tokens"] == expected  # not doubled
    assert totals[OPENAI_NAME]["output_tokens"] == -(-len(text) // 4)


async def test_async_callbacks_exactly_once(server):
    llm = router()
    counter = Counter()
    chunks = [c async for c in llm.astream("hello", config={"callbacks": [counter]})]
    assert counter.starts == 1
    assert "".join(counter.tokens) == "".join(c.content for c in chunks)


def test_response_metadata_names_the_model_that_answered(server):
    llm = router()
    message = llm.invoke("hello")
    meta = message.response_metadata
    assert meta["model_name"] == OPENAI_NAME
    assert meta["model_provider"] == "openai"
    assert meta["finish_reason"] == "stop"
    decision = meta["langroute"]
    assert decision["chosen"] == decision["answered_by"] == OPENAI_NAME
    assert decision["candidates"] == [OPENAI_NAME, ANTHROPIC_NAME]
    assert decision["reasons"]
    assert decision["actual_cost_usd"] > 0
    assert message.usage_metadata["total_tokens"] > 0


def test_profile_advertises_only_what_every_candidate_can_do(server):
    profile = router().profile
    assert profile["tool_calling"] is True
    assert profile["structured_output"] is False  # the Anthropic candidate has no json_schema
    assert profile["max_input_tokens"] == 128_000


def test_token_counts_are_the_routers_scaled_to_the_finest_tokenizer(server):
    """`get_num_tokens*` work offline (LangChain's default needs `transformers`) and count
    as the router does, scaled by the largest candidate `prompt_token_factor`, so
    `trim_messages(token_counter=llm)` keeps what fits every candidate."""
    from langchain_core.messages import HumanMessage, SystemMessage, trim_messages

    from langroute.features import RoutingRequest
    from langroute.tokens import count_tokens, counts_are_exact
    from langroute.types import UserMessage

    specs = {**SPECS, ANTHROPIC_NAME: {**SPECS[ANTHROPIC_NAME], "prompt_token_factor": 1.5}}
    llm = RoutingChatModel(models=[openai_candidate(), anthropic_candidate()], specs=specs)
    text = "Which rivers flow into the Black Sea, and through which capitals? " * 3
    assert llm.get_num_tokens(text) == -(-count_tokens(text) * 3 // 2)
    core = RoutingRequest.build([UserMessage(content=text)]).features.prompt_tokens
    assert llm.get_num_tokens_from_messages([HumanMessage(text)]) == -(-core * 3 // 2)
    assert llm.get_num_tokens_from_messages(
        [HumanMessage(text)], tools=[get_weather]
    ) > llm.get_num_tokens_from_messages([HumanMessage(text)])

    history = [SystemMessage("Be brief.")] + [
        (HumanMessage if i % 2 == 0 else AIMessage)(f"turn {i}: " + "words " * 20)
        for i in range(12)
    ]
    kept = trim_messages(history, max_tokens=120, token_counter=llm, include_system=True)
    assert kept[0] == history[0] and kept[-1] == history[-1] and len(kept) < len(history)
    assert llm.get_num_tokens_from_messages(kept) <= 120
    assert llm.get_num_tokens_from_messages([]) == 0  # as trimming asks of empty prefixes

    if counts_are_exact():
        assert len(llm.get_token_ids(text)) == count_tokens(text)
    else:
        with pytest.raises(ConfigError, match="TIKTOKEN_CACHE_DIR"):
            llm.get_token_ids(text)


def test_a_candidate_the_catalog_lacks_is_described_by_its_langchain_profile(server):
    from langchain_openai import ChatOpenAI

    price = {"pricing": {"input": 1.1, "output": 4.4}}
    llm = RoutingChatModel(
        models=[
            ChatOpenAI(model="o3-mini", api_key=KEY),
            ChatOpenAI(model="gpt-4-turbo", api_key=KEY),
        ],
        specs={"o3-mini": price, "gpt-4-turbo": {**price, "capabilities": {"tools": False}}},
    )
    o3, turbo = (llm.router.registry.get(n) for n in ("o3-mini", "gpt-4-turbo"))
    assert (o3.context_window, o3.max_output_tokens) == (200_000, 100_000)
    assert (o3.capabilities.tools, o3.capabilities.vision) == (True, False)
    assert o3.capabilities.structured_output is True
    assert turbo.capabilities.tools is False  # specs win over the profile
    assert llm.profile["max_input_tokens"] == 128_000  # gpt-4-turbo's profile window


# --- tools and structured output ---------------------------------------------------------


class Weather(BaseModel):
    city: str
    temperature: int


def test_bind_tools_then_with_structured_output(server):
    llm = router().bind_tools([get_weather])
    assert llm.invoke("What's the weather in 'Oslo'?").tool_calls[0]["args"] == {"city": "Oslo"}
    structured = router().bind_tools([get_weather]).with_structured_output(Weather)
    result = structured.invoke("Weather in 'Rome' at 21 degrees")
    assert result == Weather(city="Rome", temperature=21)


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output_methods_route_to_capable_candidates(server, method):
    llm = router()
    server.reset()
    if method == "json_mode":
        out = llm.with_structured_output(None, method=method).invoke(
            "Return JSON with 'city' and 'country' keys"
        )
        assert set(out) == {"city", "country"}
    else:
        out = llm.with_structured_output(Weather, method=method, include_raw=True).invoke(
            "Weather in 'Lima' at 19 degrees"
        )
        assert out["parsed"] == Weather(city="Lima", temperature=19)
        assert out["parsing_error"] is None
    if method != "function_calling":  # only the OpenAI-protocol candidate can do these
        assert server.calls[-1].model == OPENAI_NAME
        assert server.calls[-1].body["response_format"]["type"] in ("json_schema", "json_object")


def test_tool_calls_restrict_routing_to_tool_capable_candidates(server):
    no_tools = dict(SPECS[OPENAI_NAME], capabilities={"tools": False})
    llm = RoutingChatModel(
        models=[openai_candidate(), anthropic_candidate()],
        specs={OPENAI_NAME: no_tools, ANTHROPIC_NAME: SPECS[ANTHROPIC_NAME]},
    )
    message = llm.bind_tools([get_weather], tool_choice="get_weather").invoke("weather in 'Oslo'")
    assert answered_by(message) == ANTHROPIC_NAME
    assert message.tool_calls[0]["name"] == "get_weather"
    body = server.calls[-1].body
    assert body["tools"][0]["name"] == "get_weather"  # formatted by ChatAnthropic itself
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}


# --- native candidates -------------------------------------------------------------------


def native_router(**kwargs: Any) -> RoutingChatModel:
    """The OpenAI-protocol candidate native (langroute's own provider), beside ChatAnthropic."""
    return RoutingChatModel(
        models=[OPENAI_NAME, anthropic_candidate()],
        specs=NATIVE_SPECS,
        providers=native_providers(),
        **kwargs,
    )


def test_a_native_candidate_makes_one_call_from_each_new_event_loop(server):
    """`asyncio.run` per task (Celery, thread pools): langroute's providers keep one HTTP
    client per loop, so each loop's first call is one call. `ChatOpenAI` and `ChatAnthropic`
    share one client across loops (langchain-ai/langchain#35783): there the first call of
    each new loop fails after it was sent, and the router's retry makes it two (README)."""
    llm = RoutingChatModel(models=[OPENAI_NAME], specs=NATIVE_SPECS, providers=native_providers())
    for _ in range(3):
        before = len(server.calls)
        answer = asyncio.run(llm.ainvoke("hello"))
        attempts = answer.response_metadata["langroute"]["attempts"]
        assert [a["outcome"] for a in attempts] == ["ok"]
        assert [c.model for c in server.calls[before:]] == [OPENAI_NAME]


@pytest.mark.parametrize("candidate", [openai_candidate, anthropic_candidate])
def test_a_langchain_candidate_sends_each_new_loops_first_call_twice(server, candidate):
    """The README's figure for langchain-ai/langchain#35783: `ChatOpenAI` and `ChatAnthropic`
    share one async client across event loops, so each new loop's first call fails after
    it was sent, and the router's retry makes two server calls. If this fails, LangChain
    has fixed it: say so in the README."""
    llm = RoutingChatModel(models=[candidate()], specs=SPECS)
    asyncio.run(llm.ainvoke("hello"))  # this loop's own pool: whatever earlier tests left
    for _ in range(2):
        before = len(server.calls)
        answer = asyncio.run(llm.ainvoke("hello"))
        attempts = answer.response_metadata["langroute"]["attempts"]
        assert [(a["outcome"], a["error_type"]) for a in attempts] == [
            ("error", "ConnectionFailed"),
            ("ok", None),
        ]
        assert attempts[0]["cost_usd"] == 0
        assert len(server.calls) - before == 2


@pytest.fixture(params=["langchain", "native"])
def make(request: pytest.FixtureRequest) -> Any:
    """Runs a test with the OpenAI-protocol candidate a ChatOpenAI, then native."""
    return router if request.param == "langchain" else native_router


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_native_candidate_answers_with_every_parameter_and_callbacks_once(server, mode):
    llm, counter, usage = native_router(), Counter(), UsageMetadataCallbackHandler()
    kwargs = {"stop": ["\n\n"], "top_p": 0.5, "seed": 7, "frequency_penalty": 0.2}
    config = {"callbacks": [counter, usage]}
    if mode == "invoke":
        message = llm.invoke("hello there", config=config, **kwargs)
    else:
        chunks = list(llm.stream("hello there", config=config, **kwargs))
        message = chunks[0]
        for chunk in chunks[1:]:
            message += chunk
        assert "".join(counter.tokens) == message.content
    assert message.content == "Hello! You said: hello there"
    assert message.response_metadata["model_name"] == OPENAI_NAME
    assert message.response_metadata["model_provider"] == "scripted-openai"
    call = server.calls[-1]
    assert call.headers["user-agent"].startswith("python-httpx")  # not the OpenAI SDK
    assert {k: call.body[k] for k in kwargs} == {**kwargs, "stop": ["\n\n"]}
    assert (counter.starts, counter.ends) == (1, 1)
    assert usage.usage_metadata[OPENAI_NAME]["input_tokens"] == -(-len("hello there") // 4)
    assert message.usage_metadata["output_tokens"] == -(-len(message.content) // 4)


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_native_candidate_calls_tools_and_gives_structured_output(server, mode):
    llm = native_router().bind_tools([get_weather], tool_choice="get_weather", strict=True)
    if mode == "invoke":
        message = llm.invoke("weather in 'Oslo'")
    else:
        chunks = list(llm.stream("weather in 'Oslo'"))
        message = chunks[0]
        for chunk in chunks[1:]:
            message += chunk
    assert message.tool_calls[0]["name"] == "get_weather"
    assert message.tool_calls[0]["args"] == {"city": "Oslo"}
    tool = server.calls[-1].body["tools"][0]["function"]
    assert (tool["name"], tool["strict"]) == ("get_weather", True)
    structured = native_router().with_structured_output(Weather, method="json_schema")
    assert structured.invoke("Weather in 'Lima' at 19 degrees") == Weather(
        city="Lima", temperature=19
    )
    assert server.calls[-1].body["response_format"]["type"] == "json_schema"


def test_a_native_candidate_falls_back_to_a_langchain_one_and_back(server):
    server.models[OPENAI_NAME].then(Fail(429, retry_after=60))
    message = native_router().invoke("hello")
    assert answered_by(message) == ANTHROPIC_NAME
    attempts = message.response_metadata["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        (OPENAI_NAME, "RateLimited"),
        (ANTHROPIC_NAME, None),
    ]
    server.models[OPENAI_NAME].then(Fail(503), Fail(503))
    chunks = list(native_router().stream("hello"))
    assert "".join(c.content for c in chunks) == "Hello! You said: hello"
    assert chunks[-1].response_metadata["langroute"]["answered_by"] == ANTHROPIC_NAME
    server.models[ANTHROPIC_NAME].then(Fail(503), Fail(503))
    anthropic_first = DomainMap(routes={}, default=(ANTHROPIC_NAME, OPENAI_NAME))
    message = RoutingChatModel(
        models=[OPENAI_NAME, anthropic_candidate()],
        specs=NATIVE_SPECS,
        providers=native_providers(),
        policy=anthropic_first,
    ).invoke("hello")
    attempts = message.response_metadata["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts][-1] == (OPENAI_NAME, None)
    assert attempts[0]["model"] == ANTHROPIC_NAME


def test_a_native_candidate_gets_the_whole_conversation(server):
    """Images in each of LangChain's block shapes, earlier tool calls with their ids and JSON
    arguments, and tool results reach a native candidate; a block it cannot send is an
    error that names it, not left out."""
    from langchain_core.messages import HumanMessage, ToolMessage

    picture = HumanMessage(
        content=[
            {"type": "text", "text": "Compare these"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            {"type": "image", "source_type": "url", "url": "https://example.com/b.png"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AA="},
            },
        ]
    )
    called = AIMessage(
        content="", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "c1"}]
    )
    answered = ToolMessage(content="It is sunny in Oslo.", tool_call_id="c1")
    native_router().bind_tools([get_weather]).invoke([picture, called, answered], model=OPENAI_NAME)
    sent = server.calls[-1].body["messages"]
    assert [p.get("image_url", {}).get("url") for p in sent[0]["content"]] == [
        None,
        "https://example.com/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "https://example.com/b.png",
        "data:image/jpeg;base64,/9j/4AA=",
    ]
    assert sent[1]["tool_calls"][0]["id"] == "c1"
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": "It is sunny in Oslo."}
    sound = HumanMessage(
        content=[{"type": "audio", "base64": "UklGRg==", "mime_type": "audio/wav"}]
    )
    with pytest.raises(ConfigError, match="cannot send a 'audio' content block"):
        native_router().invoke([sound], model=ANTHROPIC_NAME)  # refused even for a LangChain one
    screenshot = ToolMessage(
        content=[
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "text", "text": "the screen"},
        ],
        tool_call_id="c1",
    )
    with pytest.raises(ConfigError, match="cannot send a 'image_url' block in a tool result"):
        native_router().invoke([picture, called, screenshot])  # its image never dropped


def test_a_native_candidate_answers_after_chat_anthropics_tool_call(server):
    llm = native_router(
        policy=AgentSteps(
            tool_step=DomainMap(routes={}, default=(ANTHROPIC_NAME, OPENAI_NAME)),
            after_tools=CostOptimized(),
        )
    )
    agent = create_agent(llm, tools=[get_weather])
    result = agent.invoke({"messages": [("user", "What is the weather in 'Quito'?")]})
    assert run_steps(result) == [(ANTHROPIC_NAME, True), (OPENAI_NAME, False)]
    sent = server.calls[-1].body["messages"]
    call_id = result["messages"][1].tool_calls[0]["id"]  # the id ChatAnthropic's answer gave
    assert sent[-2]["tool_calls"] == [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Quito"}'},
        }
    ]
    assert sent[-1] == {"role": "tool", "tool_call_id": call_id, "content": "It is sunny in Quito."}


@pytest.mark.parametrize("make", [router, native_router])
def test_constructor_parameters_reach_the_candidate_and_unknown_ones_are_refused(server, make):
    """`temperature`/`max_tokens`/`model_kwargs` go with every call (a call's own win); an
    argument the class does not have is an error naming it, never dropped silently, and
    never echoed back (a key passed by mistake stays out of the message)."""
    llm = make(temperature=0.2, max_tokens=11, model_kwargs={"seed": 7})
    llm.invoke("hi")
    body = server.calls[-1].body
    assert body["temperature"] == 0.2 and body["seed"] == 7
    assert body.get("max_tokens", body.get("max_completion_tokens")) == 11
    llm.invoke("hi", seed=8, temperature=0.5)
    assert (server.calls[-1].body["seed"], server.calls[-1].body["temperature"]) == (8, 0.5)
    with pytest.raises(ConfigError) as info:
        make(temprature=0, api_key="sk-not-for-the-router-123")
    message = str(info.value)
    assert "no argument 'api_key', 'temprature'" in message and "model_kwargs" in message
    assert "sk-not-for-the-router-123" not in message


def test_the_repr_names_candidates_without_their_secrets(server):
    """A candidate's repr shows its fields (a proxy key in `default_headers`, say); the
    router's repr, which lands in logs and tracebacks, names each candidate and its class."""
    proxy_key = "sk-proxy-header-secret-4567"
    llm = RoutingChatModel(
        models=[openai_candidate(default_headers={"x-proxy-key": proxy_key}), OPENAI_NAME + "-n"],
        specs={**SPECS, OPENAI_NAME + "-n": {**NATIVE_SPECS[OPENAI_NAME]}},
        providers=native_providers(),
    )
    assert proxy_key in repr(llm.candidates[OPENAI_NAME]), "the candidate's own repr shows it"
    for text in (repr(llm), str(llm)):
        assert proxy_key not in text and KEY not in text
        assert f"models={{'{OPENAI_NAME}': 'ChatOpenAI', '{OPENAI_NAME}-n': 'native'}}" in text


def test_native_candidates_and_specs_are_checked_when_built(server):
    with pytest.raises(UnknownModelError, match=r"unknown model .gpt-9..*Known models"):
        RoutingChatModel(models=["gpt-9"])
    with pytest.raises(ValueError, match="provider 'nowhere', which is neither passed"):
        RoutingChatModel(
            models=[OPENAI_NAME], specs={OPENAI_NAME: {**SPECS[OPENAI_NAME], "provider": "nowhere"}}
        )
    with pytest.raises(ConfigError, match=r"invalid call parameters: top_p: .*less than or equal"):
        native_router().invoke("hi", top_p=3)
    with pytest.raises(ConfigError, match="invalid call parameters: temperature: "):
        router().invoke("hi", temperature=5)
    catalog = RoutingChatModel(
        models=["gpt-4o-mini", anthropic_candidate()], specs={ANTHROPIC_NAME: SPECS[ANTHROPIC_NAME]}
    )
    assert catalog.candidates["gpt-4o-mini"] == "gpt-4o-mini"
    assert catalog.router.registry.get("gpt-4o-mini").provider == "openai"


# --- fallback, streaming -----------------------------------------------------------------


def test_invoke_falls_back_on_rate_limit(server):
    server.models[OPENAI_NAME].then(Fail(429, retry_after=60))
    message = router().invoke("hello")
    assert answered_by(message) == ANTHROPIC_NAME
    attempts = message.response_metadata["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        (OPENAI_NAME, "RateLimited"),
        (ANTHROPIC_NAME, None),
    ]


def test_stream_falls_back_before_the_first_token(server):
    server.models[OPENAI_NAME].then(Fail(503), Fail(503))
    counter = Counter()
    chunks = list(router().stream("hello", config={"callbacks": [counter]}))
    text = "".join(c.content for c in chunks)
    assert text == "Hello! You said: hello"
    assert "".join(counter.tokens) == text
    assert chunks[-1].response_metadata["langroute"]["answered_by"] == ANTHROPIC_NAME


def test_stream_failure_after_the_first_token_is_a_typed_error(server):
    server.models[OPENAI_NAME].then(DropStream(after_chunks=2, reply=Reply("one two three")))
    strong_calls = server.count(ANTHROPIC_NAME)
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        for chunk in router().stream("hello"):
            received.append(chunk.content)
    assert "".join(received) == "one two"
    assert info.value.partial == "one two"
    assert server.count(ANTHROPIC_NAME) == strong_calls  # no fallback once text was shown


async def test_astream_falls_back_before_the_first_token(server):
    server.models[OPENAI_NAME].then(Fail(500), Fail(500))
    chunks = [c async for c in router().astream("hello")]
    assert chunks[-1].response_metadata["langroute"]["answered_by"] == ANTHROPIC_NAME


def assert_cut_and_fell_back(message: Any) -> None:
    attempts = message.response_metadata["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        (OPENAI_NAME, "Timeout"),
        (ANTHROPIC_NAME, None),
    ]
    assert 1500 <= attempts[0]["latency_ms"] < 5000  # cut by the router's timer
    assert attempts[0]["cost_usd"] > 0  # its prompt billed, estimated: the provider may bill it
    assert message.content == "Hello! You said: hello"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_candidate_that_hangs_is_cut_by_the_routers_timeout(server, mode):
    """The candidate's own client would wait for minutes (openai's default is 600 s); the
    router cuts it — in a sync call too, where the candidate's blocking client runs — and
    falls back."""
    server.models[OPENAI_NAME].then(Hang(5.0))
    llm = router(retry=RetryPolicy(attempts=1, attempt_timeout_s=1.5))
    if mode == "invoke":
        assert_cut_and_fell_back(llm.invoke("hello"))
    else:
        assert_cut_and_fell_back(sum(llm.stream("hello"), AIMessageChunk(content="")))


@pytest.mark.parametrize("mode", ["ainvoke", "astream"])
async def test_a_candidate_that_hangs_is_cut_by_the_routers_timeout_async(server, mode):
    server.models[OPENAI_NAME].then(Hang(5.0))
    llm = router(retry=RetryPolicy(attempts=1, attempt_timeout_s=1.5))
    if mode == "ainvoke":
        assert_cut_and_fell_back(await llm.ainvoke("hello"))
    else:
        chunks = [c async for c in llm.astream("hello")]
        assert_cut_and_fell_back(sum(chunks, AIMessageChunk(content="")))


CLIENT = """
import sys
from langchain_openai import ChatOpenAI
from langchain_langroute import RoutingChatModel
from langroute import RetryPolicy
slow_url, fast_url, fast = sys.argv[1:]  # the key: $OPENAI_API_KEY, never in argv
price = lambda usd: {"pricing": {"input": usd, "output": usd}}
llm = RoutingChatModel(
    models=[ChatOpenAI(model="hangs", base_url=slow_url, max_retries=0),
            ChatOpenAI(model=fast, base_url=fast_url, max_retries=0)],
    specs={"hangs": price(0.1), fast: price(5)},
    retry=RetryPolicy(attempts=1, attempt_timeout_s=1.5),
)
print(llm.invoke("hello").response_metadata["langroute"]["answered_by"], flush=True)
"""


def test_a_cut_sync_call_does_not_hold_up_the_process_at_exit(server):
    """The cut call's blocking client still waits in its thread (openai's SDK would wait
    600 s); that thread is a daemon, so the process exits at once — a thread of a shared
    pool is joined at exit, and the process would have lived as long as the 60 s hang, past
    the 50 s this test gives it."""
    import os
    import subprocess
    import sys

    slow = subprocess.Popen(
        [sys.executable, "-m", "langroute.testing", "--models", "hangs", "--ttft-ms", "60000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert slow.stdout is not None
        slow_url = slow.stdout.readline().split()[1]
        result = subprocess.run(
            [sys.executable, "-c", CLIENT, slow_url, server.openai_url, OPENAI_NAME],
            env={**os.environ, "OPENAI_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=50,
        )
    finally:
        slow.terminate()
        slow.wait(timeout=10)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [OPENAI_NAME]


def test_timeout_bounds_each_call_and_a_deadline_the_whole_one(server):
    server.models[OPENAI_NAME].then(Hang(5.0))
    message = router(timeout=1.5, max_retries=0).invoke("hello")
    assert answered_by(message) == ANTHROPIC_NAME
    server.models[OPENAI_NAME].then(Hang(5.0))
    calls = server.count(ANTHROPIC_NAME)
    with pytest.raises(AllModelsFailed) as caught:
        router().invoke("hello", hints={"deadline_s": 1.5})
    assert isinstance(caught.value.exceptions[-1], DeadlineExceeded)
    assert server.count(ANTHROPIC_NAME) == calls  # nothing is tried after the deadline


class CountingLimiter(BaseRateLimiter):
    """A rate limiter that never makes anyone wait, and counts who asked."""

    def __init__(self) -> None:
        self.asked = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.asked += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.asked += 1
        return True


async def test_a_candidates_own_rate_limiter_is_waited_on_for_each_of_its_calls(server):
    """LangChain's way to stay under a provider's rate limit, `ChatOpenAI(rate_limiter=...)`,
    was skipped: the router calls `_agenerate`, below the base class that waits on it."""
    limiter = CountingLimiter()
    model = RoutingChatModel(
        models=[openai_candidate(rate_limiter=limiter), anthropic_candidate()], specs=SPECS
    )
    await asyncio.to_thread(model.invoke, "hello")
    await asyncio.to_thread(lambda: list(model.stream("hello")))
    await model.ainvoke("hello")
    assert [c async for c in model.astream("hello")]
    assert limiter.asked == 4
    server.models[OPENAI_NAME].then(Fail(429, retry_after=60))
    assert answered_by(await model.ainvoke("hello")) == ANTHROPIC_NAME
    assert limiter.asked == 5  # the call that got the 429 waited too (Anthropic has none)
    shared = RoutingChatModel(
        models=[openai_candidate(rate_limiter=limiter), anthropic_candidate()],
        specs=SPECS,
        rate_limiter=limiter,
    )
    await shared.ainvoke("hello")
    assert limiter.asked == 6  # one slot per call: LangChain took it for the RoutingChatModel


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
@pytest.mark.parametrize(
    ("filtered_model", "finish"), [(OPENAI_NAME, "content_filter"), (ANTHROPIC_NAME, "refusal")]
)
async def test_an_answer_a_providers_filter_stopped_falls_back(
    server, mode, filtered_model, finish
):
    """LangChain returns a filtered answer as an answer (empty, `finish_reason` or
    `stop_reason` saying why): it is now a `ContentFiltered`, which falls back, as it does
    from a native provider. The refused call is billed for what it used."""
    first = {"pricing": {"input": 0.01, "output": 0.01}}
    model = RoutingChatModel(
        models=[openai_candidate(), anthropic_candidate()],
        specs={**SPECS, filtered_model: {**SPECS[filtered_model], **first}},
    )
    server.models[filtered_model].then(Reply("", finish_reason=finish))
    if mode == "invoke":
        message = await asyncio.to_thread(model.invoke, "hello")
    elif mode == "ainvoke":
        message = await model.ainvoke("hello")
    else:
        if mode == "stream":
            chunks = await asyncio.to_thread(lambda: list(model.stream("hello")))
        else:
            chunks = [c async for c in model.astream("hello")]
        message = sum(chunks[1:], chunks[0])
    assert message.text == "Hello! You said: hello"
    refused, answered = message.response_metadata["langroute"]["attempts"]
    assert (refused["model"], refused["error_type"]) == (filtered_model, "ContentFiltered")
    assert refused["cost_usd"] > 0 and answered["error_type"] is None


@pytest.mark.parametrize("candidate", [OPENAI_NAME, ANTHROPIC_NAME])
def test_a_streamed_call_costs_what_the_same_call_not_streamed_costs(server, candidate):
    """`ChatAnthropic` reads a stream's prompt tokens from its last event; `ChatOpenAI` at a
    base URL of its own sends no `stream_options` and gets no usage at all, which the router
    billed as $0 (and settled budget holds at $0). It now estimates what was not reported."""
    from langchain_openai import ChatOpenAI

    no_usage = ChatOpenAI(model=OPENAI_NAME, base_url=server.openai_url, api_key=KEY, max_retries=0)
    model = RoutingChatModel(
        models={OPENAI_NAME: no_usage, ANTHROPIC_NAME: anthropic_candidate()}, specs=SPECS
    )
    question = "hello there, how are you doing today my friend"
    invoked = model.invoke(question, model=candidate)
    chunks = list(model.stream(question, model=candidate))
    streamed = sum(chunks[1:], chunks[0])
    paid = [m.response_metadata["langroute"]["actual_cost_usd"] for m in (invoked, streamed)]
    if candidate == ANTHROPIC_NAME:  # reported: exactly the same
        assert paid[1] == pytest.approx(paid[0])
    else:  # estimated (the scripted server counts characters / 4, not tokens)
        assert 0.5 * paid[0] <= paid[1] <= 1.5 * paid[0]
    assert streamed.usage_metadata["input_tokens"] > 0


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_claudes_cache_writes_are_billed_at_their_price(server, mode):
    """ChatAnthropic reports prompt-cache writes by lifetime in `input_token_details`; they
    cost 1.25x (2x for an hour) the input price. They were billed as plain input."""
    server.models[ANTHROPIC_NAME].default = Reply(
        "Hi",
        prompt_tokens=1000,
        completion_tokens=10,
        cached_tokens=200,
        cache_write_tokens=500,
        cache_write_1h_tokens=100,
    )
    prices = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}
    llm = RoutingChatModel(
        models=[openai_candidate(), anthropic_candidate()],
        specs={
            **SPECS,
            ANTHROPIC_NAME: {**SPECS[ANTHROPIC_NAME], "pricing": {**prices, "cache_write_1h": 6.0}},
        },
        hints={"model": ANTHROPIC_NAME},
    )
    message = llm.invoke("hi") if mode == "invoke" else sum(llm.stream("hi"), AIMessageChunk(""))
    decision = message.response_metadata["langroute"]
    expected = (300 * 3.0 + 200 * 0.3 + 400 * 3.75 + 100 * 6.0 + 10 * 15.0) / 1e6
    assert decision["actual_cost_usd"] == pytest.approx(expected)
    details = message.usage_metadata["input_token_details"]
    by_lifetime = ("cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    assert details["cache_read"] == 200 and sum(details.get(k, 0) for k in by_lifetime) == 500
    assert message.usage_metadata["input_tokens"] == 1000


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_cascade_escalates_a_claude_answer_cut_off_by_max_tokens(server, mode):
    """ChatAnthropic says `stop_reason: max_tokens` where OpenAI says `length`: the finish
    reason is now put in OpenAI's words, so the cascade's "truncated" sign fires for it."""
    from langroute import Cascade

    cheap_claude = {**SPECS[ANTHROPIC_NAME], "pricing": {"input": 0.01, "output": 0.01}}
    model = RoutingChatModel(
        models=[anthropic_candidate(), openai_candidate()],
        specs={**SPECS, ANTHROPIC_NAME: cheap_claude},
        strategy=Cascade(),
    )
    server.models[ANTHROPIC_NAME].then(Reply("The first step is to", finish_reason="length"))
    if mode == "invoke":
        message = model.invoke("hello")
    else:
        chunks = list(model.stream("hello"))
        message = sum(chunks[1:], chunks[0])
    meta = message.response_metadata["langroute"]
    assert meta["answered_by"] == OPENAI_NAME
    assert "truncated by the length limit" in meta["escalations"][0]["reason"]


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_cascade_reads_a_langchain_candidates_logprobs(server, mode):
    """`LogprobConfidence` saw no logprobs from a LangChain candidate (they stay in its
    `response_metadata`), so it always said "no opinion" and never escalated."""
    from langroute import Cascade
    from langroute.scorers import LogprobConfidence

    model = RoutingChatModel(  # both OpenAI-protocol: ChatAnthropic refuses `logprobs=`
        models={OPENAI_NAME: openai_candidate(), ANTHROPIC_NAME: openai_candidate(ANTHROPIC_NAME)},
        specs=SPECS,
        strategy=Cascade(scorer=LogprobConfidence()),
    )
    server.models[OPENAI_NAME].then(Reply("Maybe 41?", logprob=-2.0))  # p ≈ 0.14 per token
    if mode == "invoke":
        message = model.invoke("What is six times seven?", logprobs=True)
    else:
        chunks = list(model.stream("What is six times seven?", logprobs=True))
        message = sum(chunks[1:], chunks[0])
    escalated, kept = message.response_metadata["langroute"]["escalations"]
    assert escalated["model"] == OPENAI_NAME and not escalated["accepted"]
    assert "mean token probability 0.14" in escalated["reason"]
    assert kept["model"] == ANTHROPIC_NAME and kept["accepted"]


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke"])
async def test_an_optional_argument_a_candidate_refuses_is_left_out_for_it(
    server, mode, caplog, monkeypatch
):
    """`model_kwargs={"seed": 7}` (the README's own example) or `logprobs=True` failed every
    call routed to ChatAnthropic, whose SDK takes neither. Left out for it, said once, as a
    native Anthropic provider does; the OpenAI candidate still gets them."""
    from langroute.providers import _http

    monkeypatch.setattr(_http, "_SAID", set())  # said once per process: once per test here
    since = len(server.calls)
    model = router(model_kwargs={"seed": 7})

    async def ask(forced: str) -> AIMessage:
        if mode == "invoke":
            return await asyncio.to_thread(model.invoke, "hello", model=forced, logprobs=True)
        if mode == "ainvoke":
            return await model.ainvoke("hello", model=forced, logprobs=True)
        chunks = await asyncio.to_thread(
            lambda: list(model.stream("hello", model=forced, logprobs=True))
        )
        return sum(chunks[1:], chunks[0])

    for forced in (ANTHROPIC_NAME, ANTHROPIC_NAME, OPENAI_NAME):
        message = await ask(forced)
        assert message.text == "Hello! You said: hello" and answered_by(message) == forced
    anthropic = [c.body for c in server.calls[since:] if c.model == ANTHROPIC_NAME]
    assert anthropic and not any("seed" in b or "logprobs" in b for b in anthropic)
    openai_body = server.calls[-1].body
    assert openai_body["seed"] == 7 and openai_body["logprobs"] is True
    assert "call without 'seed'" in caplog.text
    with pytest.raises(AllModelsFailed, match="unexpected keyword argument 'sed'"):
        await model.ainvoke("hello", model=ANTHROPIC_NAME, sed=7)  # a typo is not dropped


def test_health_skips_a_rate_limited_candidate_across_calls_and_rebuilt_models(server):
    """With `health`, a 429's Retry-After cools the candidate down: the next calls skip it
    without calling it — also from the per-call models `configurable_fields` builds, which
    share the router (and so its health) of the model they were built from."""
    llm = router(health=InMemoryHealth(), max_retries=0)
    server.models[OPENAI_NAME].then(Fail(429, retry_after=60))
    assert answered_by(llm.invoke("hello")) == ANTHROPIC_NAME
    openai_calls = server.count(OPENAI_NAME)
    per_tenant = llm.configurable_fields(tenant=ConfigurableField(id="tenant"))
    for tenant in ("acme", "globex"):
        message = per_tenant.invoke("hello", config={"configurable": {"tenant": tenant}})
        assert answered_by(message) == ANTHROPIC_NAME
        attempts = message.response_metadata["langroute"]["attempts"]
        assert attempts[0]["error_type"] == "CircuitOpen"  # skipped, not called
    assert server.count(OPENAI_NAME) == openai_calls


def test_models_langchain_rebuilds_per_call_keep_the_router(server):
    """`configurable_fields` builds a new model per call from the default's fields; it keeps
    the default's router: the call's feedback finds its route there, and a native candidate
    keeps one HTTP client (and its connections) instead of opening one per call."""
    llm = native_router()
    per_tenant = llm.configurable_fields(tenant=ConfigurableField(id="tenant"))
    message = per_tenant.invoke("hello", config={"configurable": {"tenant": "acme"}})
    record = llm.router.feedback(message.response_metadata["langroute"]["request_id"], 1.0)
    assert (record.model, record.tenant) == (OPENAI_NAME, "acme")
    # other candidates or settings make another router
    assert native_router().router is not llm.router
    assert RoutingChatModel(**{**llm.__dict__, "max_retries": 5}).router is not llm.router
    assert RoutingChatModel(**{**llm.__dict__, "tenant": "globex"}).router is llm.router


def test_rate_limits_declared_in_specs_are_enforced(server):
    specs = {**SPECS, OPENAI_NAME: {**SPECS[OPENAI_NAME], "rpm": 2}}
    llm = RoutingChatModel(
        models=[openai_candidate(), anthropic_candidate()],
        specs=specs,
        limits=InMemoryRateLimits(),
    )
    answered = [answered_by(llm.invoke("hello")) for _ in range(4)]
    assert answered == [OPENAI_NAME, OPENAI_NAME, ANTHROPIC_NAME, ANTHROPIC_NAME]


class PlainHTTPChatModel(BaseChatModel):
    """A chat model as a small integration writes one: httpx and `raise_for_status`, no
    vendor SDK (so its errors are `httpx.HTTPStatusError`s with no `status_code`)."""

    url: str
    model: str

    @property
    def _llm_type(self) -> str:
        return "plain-http"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any):
        import httpx

        response = httpx.post(
            f"{self.url}/chat/completions",
            json={"model": self.model, "messages": [{"role": "user", "content": "hello"}]},
            headers={"authorization": f"Bearer {KEY}"},
        )
        response.raise_for_status()
        text = response.json()["choices"][0]["message"]["content"]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def test_a_429_from_a_candidate_without_a_vendor_sdk_falls_back(server):
    server.models[OPENAI_NAME].then(Fail(429, retry_after=60))
    plain = PlainHTTPChatModel(url=server.openai_url, model=OPENAI_NAME)
    llm = RoutingChatModel(
        models={"plain": plain, ANTHROPIC_NAME: anthropic_candidate()},
        specs={"plain": SPECS[OPENAI_NAME], ANTHROPIC_NAME: SPECS[ANTHROPIC_NAME]},
    )
    message = llm.invoke("hello")
    attempts = message.response_metadata["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        ("plain", "RateLimited"),
        (ANTHROPIC_NAME, None),
    ]


@pytest.mark.parametrize("method", ["stream", "astream"])
async def test_a_candidate_that_does_not_stream_answers_a_stream_whole(server, method):
    """A candidate with `disable_streaming=True` was streamed anyway (the router called its
    `_astream`), and one implementing only `_generate` failed the call. Both now answer in
    one chunk, as their own `stream` would, and usage is still counted once."""
    counter = UsageMetadataCallbackHandler()
    llm = RoutingChatModel(
        models={
            OPENAI_NAME: openai_candidate(disable_streaming=True),
            "plain": PlainHTTPChatModel(url=server.openai_url, model=OPENAI_NAME),
        },
        specs={OPENAI_NAME: SPECS[OPENAI_NAME], "plain": SPECS[OPENAI_NAME]},
        callbacks=[counter],
    )
    for forced in (OPENAI_NAME, "plain"):
        since = len(server.calls)
        if method == "stream":
            chunks = await asyncio.to_thread(lambda m=forced: list(llm.stream("hello", model=m)))
        else:
            chunks = [c async for c in llm.astream("hello", model=forced)]
        assert "".join(c.text for c in chunks) == "Hello! You said: hello"
        assert [c.body.get("stream") for c in server.calls[since:]] in ([False], [None])
        assert answered_by(sum(chunks[1:], chunks[0])) == forced
    direct = openai_candidate().invoke("hello").usage_metadata
    assert counter.usage_metadata[OPENAI_NAME]["output_tokens"] == direct["output_tokens"]
    tooled = RoutingChatModel(
        models=[openai_candidate(disable_streaming="tool_calling")], specs=SPECS
    ).bind_tools([get_weather])
    message = None
    async for chunk in tooled.astream("What is the weather in Paris?"):
        message = chunk if message is None else message + chunk
    assert message is not None and message.tool_calls[0]["name"] == "get_weather"
    assert server.calls[-1].body.get("stream") is False


# --- agents ------------------------------------------------------------------------------


def run_steps(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return [
        (answered_by(m), bool(m.tool_calls)) for m in result["messages"] if isinstance(m, AIMessage)
    ]


def test_agent_tool_step_and_answer_go_to_different_candidates(server, make):
    agent = create_agent(agent_router(make), tools=[get_weather, get_population])
    result = agent.invoke({"messages": [("user", "What is the weather in 'Paris'?")]})
    assert run_steps(result) == [(OPENAI_NAME, True), (ANTHROPIC_NAME, False)]
    assert result["messages"][-1].content == "The tool returned It is sunny in Paris.."


async def test_agent_async_steps_are_routed_one_by_one(server, make):
    agent = create_agent(agent_router(make), tools=[get_weather, get_population])
    result = await agent.ainvoke({"messages": [("user", "What is the population of 'Oslo'?")]})
    assert run_steps(result) == [(OPENAI_NAME, True), (ANTHROPIC_NAME, False)]


async def test_eight_concurrent_agent_runs_do_not_mix_decisions(server, make):
    agent = create_agent(agent_router(make), tools=[get_weather, get_population])
    cities = ["Oslo", "Rome", "Lima", "Kyiv", "Baku", "Doha", "Suva", "Riga"]
    results = await asyncio.gather(
        *(
            agent.ainvoke({"messages": [("user", f"What is the weather in '{city}'?")]})
            for city in cities
        )
    )
    for city, result in zip(cities, results, strict=True):
        assert run_steps(result) == [(OPENAI_NAME, True), (ANTHROPIC_NAME, False)]
        call = result["messages"][1].tool_calls[0]
        assert call["args"] == {"city": city}
        assert result["messages"][-1].content == f"The tool returned It is sunny in {city}.."
        ids = {
            m.response_metadata["langroute"]["request_id"]
            for m in result["messages"]
            if isinstance(m, AIMessage)
        }
        assert len(ids) == 2  # one decision per model call


def test_agent_stream_messages_has_no_duplicated_tokens(server, make):
    agent = create_agent(agent_router(make), tools=[get_weather])
    pieces: list[str] = []
    for chunk, _meta in agent.stream(
        {"messages": [("user", "Weather in 'Nice'?")]}, stream_mode="messages"
    ):
        if isinstance(chunk, AIMessage) and chunk.text:
            pieces.append(chunk.text)
    assert "".join(pieces) == "The tool returned It is sunny in Nice.."


def test_routing_middleware_routes_each_call_of_an_agent_that_keeps_its_model(server):
    from langchain_langroute import RoutingMiddleware

    own_model = openai_candidate()
    agent = create_agent(
        own_model, tools=[get_weather], middleware=[RoutingMiddleware(agent_router())]
    )
    result = agent.invoke({"messages": [("user", "Weather in 'Bern'?")]})
    assert run_steps(result) == [(OPENAI_NAME, True), (ANTHROPIC_NAME, False)]


async def test_routing_middleware_async(server):
    from langchain_langroute import RoutingMiddleware

    agent = create_agent(
        openai_candidate(), tools=[get_weather], middleware=[RoutingMiddleware(agent_router())]
    )
    result = await agent.ainvoke({"messages": [("user", "Weather in 'Graz'?")]})
    assert run_steps(result) == [(OPENAI_NAME, True), (ANTHROPIC_NAME, False)]


def test_decision_model_answers_choice_questions_for_model_router_middleware(server):
    from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
    from langchain_core.decisions import Choice

    from langchain_langroute import LangrouteDecisionModel

    decider = LangrouteDecisionModel(labels={"fast": "gpt-4.1-nano", "strong": "gpt-4.1"})
    question = {
        "route": Choice(
            instructions="Which model?", criteria={"fast": "easy tasks", "strong": "hard tasks"}
        )
    }
    easy = decider.invoke({"state": "hi there", "questions": question}).choices["route"]
    assert easy.choice == "fast"
    assert sum(easy.probabilities.values()) == pytest.approx(1.0)
    hard = decider.invoke(
        {
            "state": (
                "Design a distributed consensus protocol step by step, prove its safety "
                "formally and analyze every edge case rigorously"
            ),
            "questions": question,
        }
    ).choices["route"]
    assert hard.choice == "strong"

    labels = {"fast": OPENAI_NAME, "strong": ANTHROPIC_NAME}
    agent = create_agent(
        openai_candidate(),
        tools=[get_weather],
        middleware=[
            ModelRouterMiddleware(
                choices={
                    "fast": ModelChoice(openai_candidate(), "simple tasks"),
                    "strong": ModelChoice(anthropic_candidate(), "hard tasks"),
                },
                instructions="Which model should handle this task?",
                classifier=LangrouteDecisionModel(labels=labels, router=router().router),
            )
        ],
    )
    result = agent.invoke({"messages": [("user", "Weather in 'Oslo'?")]})
    assert result["model_route"].choice == "fast"
    assert server.calls[-1].model == OPENAI_NAME


async def test_sync_invoke_inside_a_running_loop_and_from_threads(server):
    from concurrent.futures import ThreadPoolExecutor

    llm = router()
    assert answered_by(llm.invoke("hello")) == OPENAI_NAME  # sync call, loop running here
    with ThreadPoolExecutor(max_workers=4) as pool:
        messages = list(pool.map(lambda i: llm.invoke(f"hello {i}"), range(8)))
    assert [m.content for m in messages] == [f"Hello! You said: hello {i}" for i in range(8)]


# --- cascades ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_cascade_escalates_a_hedged_answer_and_shows_only_the_kept_one(server, mode):
    from langroute import Cascade

    server.models[OPENAI_NAME].then(Reply("I'm not sure, sorry."))
    server.models[ANTHROPIC_NAME].then(Reply("Paris is the capital of France."))
    counter = Counter()
    llm = router(strategy=Cascade(), callbacks=[counter])
    if mode == "invoke":
        message = llm.invoke("What is the capital of France?")
    else:
        message = None
        for chunk in llm.stream("What is the capital of France?"):
            message = chunk if message is None else message + chunk
    assert message.content == "Paris is the capital of France."
    assert "not sure" not in "".join(counter.tokens)
    meta = message.response_metadata["langroute"]
    assert meta["answered_by"] == ANTHROPIC_NAME
    assert [e["accepted"] for e in meta["escalations"]] == [False, True]
    assert meta["actual_cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in meta["attempts"]))
    assert (counter.starts, counter.ends) == (1, 1)


def test_the_core_router_of_the_adapter_runs_its_own_requests(server):
    """`router.chat(...)` on the adapter's core router: no LangChain call behind it."""
    server.reset()
    done = router().router.chat("hello", temperature=0.2, top_p=0.9, max_tokens=7, stop="END")
    assert done.content and done.decision.answered_by == OPENAI_NAME
    (sent,) = server.calls
    assert (sent.body["temperature"], sent.body["top_p"], sent.body["stop"]) == (0.2, 0.9, ["END"])
    assert 7 in (sent.body.get("max_tokens"), sent.body.get("max_completion_tokens"))


GRADER = "std-grader"


def judged_cascade(server: ScriptedServer) -> RoutingChatModel:
    """A cascade judged by a ChatAnthropic behind its own RoutingChatModel: its router runs
    requests the core built (no LangChain call behind them), translated to LangChain."""
    from langroute import Cascade
    from langroute.scorers import LLMJudge

    server.reset()
    server.add(
        GRADER,
        Reply(
            lambda text: '{"score": 0.1}' if "not sure" in text else '{"score": 0.9}',
            prompt_tokens=100,
            completion_tokens=5,
        ),
    )
    judge = RoutingChatModel(
        models=[anthropic_candidate(GRADER)], specs={GRADER: SPECS[ANTHROPIC_NAME]}
    )
    server.models[OPENAI_NAME].then(Reply("I'm not sure, sorry."))
    server.models[ANTHROPIC_NAME].then(Reply("Paris is the capital of France."))
    return router(strategy=Cascade(scorer=LLMJudge(judge.router)))


def check_judged(server: ScriptedServer, message: Any) -> None:
    assert message.content == "Paris is the capital of France."
    meta = message.response_metadata["langroute"]
    first, last = meta["escalations"]
    assert (first["reason"], first["accepted"]) == (f"judge {GRADER}: 0.10", False)
    assert last["score"] is None and last["accepted"]
    grading = (100 * 3.0 + 5 * 15.0) / 1e6
    assert first["scoring_cost_usd"] == pytest.approx(grading)
    answers = sum(a["cost_usd"] for a in meta["attempts"])
    assert meta["actual_cost_usd"] == pytest.approx(answers + grading)
    (sent,) = [c for c in server.calls if c.model == GRADER]
    assert sent.api == "anthropic" and sent.body["max_tokens"] == 20
    assert sent.body["system"] and "Question:" in str(sent.body["messages"])
    server.models.pop(GRADER)


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_langchain_model_judges_a_cascade_and_its_gradings_are_billed(server, mode):
    llm = judged_cascade(server)
    question = "What is the capital of France?"
    if mode == "invoke":
        message = llm.invoke(question)
    else:
        message = None
        for chunk in llm.stream(question):
            message = chunk if message is None else message + chunk
    check_judged(server, message)


async def test_a_langchain_model_judges_an_async_cascade(server):
    check_judged(server, await judged_cascade(server).ainvoke("What is the capital of France?"))


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_an_ensemble_keeps_one_answer_and_counts_every_member(server, mode):
    from langroute import Ensemble

    server.models[OPENAI_NAME].then(Reply("I'm not sure."))
    server.models[ANTHROPIC_NAME].then(Reply("Paris."))
    llm = router(strategy=Ensemble(size=2))
    if mode == "invoke":
        message = llm.invoke("Capital of France?")
    else:
        message = None
        for chunk in llm.stream("Capital of France?"):
            message = chunk if message is None else message + chunk
    assert message.content == "Paris."
    meta = message.response_metadata["langroute"]
    assert meta["answered_by"] == ANTHROPIC_NAME
    assert len([a for a in meta["attempts"] if a["outcome"] == "ok"]) == 2
    assert meta["actual_cost_usd"] == pytest.approx(sum(a["cost_usd"] for a in meta["attempts"]))


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_sync_ensemble_asks_its_members_at_once_and_keeps_its_deadline(server, mode):
    """A sync call runs candidates' blocking clients on its own loop; an ensemble's members
    still go out together (each in a thread of its own), so its deadline can cut the slow
    one — before, they ran in turn and the deadline never fired."""
    from langroute import Ensemble

    server.models[OPENAI_NAME].then(Reply("Paris.", ttft_s=1.0))
    server.models[ANTHROPIC_NAME].then(Reply("Paris, France.", ttft_s=5.0))
    llm = router(strategy=Ensemble(size=2, deadline_s=2.0))
    if mode == "invoke":
        message = llm.invoke("Capital of France?")
    else:
        message = sum(llm.stream("Capital of France?"), AIMessageChunk(content=""))
    assert message.content == "Paris."
    outcomes = {
        a["model"]: a["outcome"] for a in message.response_metadata["langroute"]["attempts"]
    }
    assert outcomes == {OPENAI_NAME: "ok", ANTHROPIC_NAME: "aborted"}
    first, second = server.calls[-2:]
    assert abs(first.at - second.at) < 0.5, "both members were asked before either answered"


def shadowed(server: ScriptedServer, reference_takes_s: float) -> tuple[RoutingChatModel, Any]:
    """A router whose every answer is compared with a LangChain reference model's."""
    from langroute.shadow import ShadowEvaluator

    server.add("reference-model", Reply("Paris.", ttft_s=reference_takes_s))
    reference = RoutingChatModel(
        models=[openai_candidate("reference-model")],
        specs={"reference-model": SPECS[OPENAI_NAME]},
    )
    shadow = ShadowEvaluator(reference.router, sample_rate=1.0)
    return router(shadow=shadow), shadow


def test_a_sync_calls_shadow_comparison_runs_off_its_response_path(server):
    """The shadow reference is a LangChain model that takes 3 s: the sync call returns
    without waiting for it (before, its blocking client ran on the caller's loop first)."""
    from langroute._sync import run_sync

    llm, shadow = shadowed(server, 3.0)
    assert llm.invoke("Capital of France?").content
    assert (shadow.compared, shadow.failed) == (0, 0), "the comparison is still running"
    run_sync(llm.router.drain())
    assert (shadow.compared, shadow.failed) == (1, 0)


def test_shadow_comparisons_of_a_batch_are_all_made(server):
    """`batch` calls from threads that end with it: their comparisons waited for those
    threads' loops to run again, which never happened, and `drain` then failed on tasks of
    other loops. They now run on the shared background loop."""
    from langroute._sync import run_sync

    llm, shadow = shadowed(server, 0.2)
    assert len(llm.batch([f"question {i}" for i in range(6)])) == 6
    run_sync(llm.router.drain())
    assert (shadow.compared, shadow.failed) == (6, 0)


def test_batches_with_a_native_candidate_reuse_their_connections(server):
    """`batch` runs its calls in threads that end with it. A native candidate opened a new
    connection (a TLS handshake against a real provider) and built a new HTTP client in each
    of them, for every `batch`; ChatOpenAI shares one client between threads."""
    llm = native_router()
    assert llm.invoke("warm up").content
    server.reset()
    for _ in range(3):
        answers = llm.batch([f"question {i}" for i in range(4)], {"max_concurrency": 4})
        assert [a.response_metadata["langroute"]["answered_by"] for a in answers] == [
            OPENAI_NAME
        ] * 4
    assert server.count(OPENAI_NAME) == 12 and server.connections() <= 4


# --- budgets, response cache and audit through the adapter --------------------------------


def test_response_cache_is_per_tenant_and_hits_report_zero_cost(server):
    from langroute import ResponseCache

    llm = router(response_cache=ResponseCache(), temperature=0)
    before = server.count(OPENAI_NAME)
    first = llm.invoke("Name a colour.", tenant="acme")
    run_drain(llm)
    hit = llm.invoke("Name a colour.", tenant="acme")
    other = llm.invoke("Name a colour.", tenant="globex")
    assert hit.content == first.content
    assert hit.response_metadata["langroute"]["cache"] == "exact"
    assert hit.response_metadata["langroute"]["actual_cost_usd"] == 0
    assert (
        hit.usage_metadata["input_token_details"]["cache_read"]
        == hit.usage_metadata["input_tokens"]
    )
    assert other.response_metadata["langroute"]["cache"] is None
    assert server.count(OPENAI_NAME) - before == 2, "only the two tenants' first calls"
    streamed = list(llm.stream("Name a colour.", tenant="acme"))
    assert "".join(c.content for c in streamed) == first.content
    assert streamed[-1].response_metadata["langroute"]["cache"] == "exact"


def test_langchains_own_cache_keys_on_what_can_change_the_answer(server):
    """With `set_llm_cache`, a hit needs the same candidates (and their settings), the same
    defaults and the same tenant: LangChain's cache must not serve one tenant's answer, or
    one temperature's, to another."""
    from langchain_core.caches import InMemoryCache
    from langchain_core.globals import set_llm_cache

    set_llm_cache(InMemoryCache())
    try:
        before = server.count()
        router(temperature=0).invoke("Name a metal.")
        router(temperature=0).invoke("Name a metal.")
        assert server.count() - before == 1, "the same model and defaults: a hit"
        router(temperature=0.9).invoke("Name a metal.")
        router(temperature=0, tenant="acme").invoke("Name a metal.")
        router(temperature=0, model_kwargs={"seed": 1}).invoke("Name a metal.")
        router(temperature=0).invoke("Name a metal.", tenant="globex")
        RoutingChatModel(
            models=[openai_candidate(temperature=1.0), anthropic_candidate()],
            specs=SPECS,
            temperature=0,
        ).invoke("Name a metal.")
        assert server.count() - before == 6, "each difference is a miss"
        assert KEY not in router()._get_llm_string()
    finally:
        set_llm_cache(None)


def test_cached_tool_calls_come_back_whole_and_streamed(server, make):
    from langroute import ResponseCache
    from langroute._sync import run_sync

    llm = make(response_cache=ResponseCache(cache_tool_calls=True, cache_sampled=True))
    bound = llm.bind_tools([get_weather])
    ask = "What is the weather in 'Bergen'?"
    first = bound.invoke(ask)
    run_sync(llm.router.drain())
    before = len(server.calls)
    hit = bound.invoke(ask)
    chunks = list(bound.stream(ask))
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed += chunk
    assert len(server.calls) == before, "both answered from the cache"
    for message in (hit, streamed):
        assert message.response_metadata["langroute"]["cache"] == "exact"
        assert message.tool_calls == first.tool_calls


def test_budgets_and_audit_through_the_adapter(server):
    from langroute import AuditLog, Budget, BudgetExceeded, Budgets
    from langroute.audit import MemoryAuditSink

    sink = MemoryAuditSink()
    llm = router(
        budgets=Budgets([Budget(limit_usd=0.0005, per="user")]),
        audit=AuditLog(sink),
        max_tokens=10,
    )
    llm.invoke("hello", user="ann")
    with pytest.raises(BudgetExceeded, match="user=\\* per day"):
        for _ in range(200):
            llm.invoke("hello", user="ann")
    assert llm.invoke("hello", user="bob").content, "another user's budget is untouched"
    llm.router.audit.flush()
    assert {r.user for r in sink.records} == {"ann", "bob"}
    assert sink.records[-1].outcome == "ok" and sink.records[-2].outcome == "error"
    assert sink.records[-2].error_type == "BudgetExceeded"


def run_drain(llm: RoutingChatModel) -> None:
    from langroute._sync import run_sync

    run_sync(llm.router.drain())


def test_streamed_calls_settle_their_budget_hold_and_are_audited(server):
    from langroute import AuditLog, Budget, Budgets
    from langroute.audit import MemoryAuditSink

    sink = MemoryAuditSink()
    budgets = Budgets([Budget(limit_usd=1.0, per="tenant")])
    llm = router(budgets=budgets, audit=AuditLog(sink), max_tokens=50)
    chunks = list(llm.stream("Tell me a short story.", tenant="acme"))
    assert "".join(c.content for c in chunks)
    cost = chunks[-1].response_metadata["langroute"]["actual_cost_usd"]
    run_drain(llm)
    features = llm.router.request("x", tenant="acme").features
    [state] = budgets.states(features, [OPENAI_NAME])
    assert state.held_usd == 0
    assert state.spent_usd == pytest.approx(cost, abs=1e-6), "integer micro-dollars, rounded up"
    [record] = sink.records
    assert record.outcome == "ok" and record.cost_usd == pytest.approx(cost)
    assert record.tenant == "acme" and record.completion_tokens > 0


def test_a_misspelt_hint_is_named_before_any_call(server: ScriptedServer) -> None:
    before = len(server.calls)
    with pytest.raises(ConfigError, match=r"max_cost: unknown hint\. Known: .*max_cost_usd"):
        router().invoke("hello", hints={"max_cost": 0.01})
    assert len(server.calls) == before


def test_two_candidates_calling_one_model_are_refused_not_merged(server: ScriptedServer) -> None:
    with pytest.raises(ValueError, match=r"two of RoutingChatModel's models call"):
        RoutingChatModel(models=[openai_candidate(), openai_candidate()], specs=SPECS)
    both = RoutingChatModel(
        models={OPENAI_NAME: openai_candidate(), "second": openai_candidate()},
        specs={**SPECS, "second": {"pricing": {"input": 0.15, "output": 0.6}}},
    )
    assert set(both.candidates) == {OPENAI_NAME, "second"}


# --- prompt caching -----------------------------------------------------------------------

HOUSE_RULES = "Answer as the house style guide says. " * 160  # ~1,520 tokens on the server
EPHEMERAL = {"type": "ephemeral"}


def cached_conversation(question: str) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [
        SystemMessage(content=[{"type": "text", "text": HOUSE_RULES, "cache_control": EPHEMERAL}]),
        HumanMessage(content=[{"type": "text", "text": question}]),
    ]


CACHE_TOOL = {
    "name": "lookup",
    "description": "Look a word up.",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
    "cache_control": EPHEMERAL,
}


def test_a_native_claude_candidate_caches_the_prompt_chat_anthropic_style(server):
    """Breakpoints set as ChatAnthropic takes them (on content blocks, on an Anthropic tool
    dict) reach a native Anthropic candidate; its second call reads the cached prefix and is
    billed at the cached price. They were dropped, so nothing was ever cached."""
    from langroute import AnthropicProvider

    server.prompt_cache.clear()
    prices = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}
    llm = RoutingChatModel(
        models=[ANTHROPIC_NAME],
        specs={ANTHROPIC_NAME: {**SPECS[ANTHROPIC_NAME], "provider": "claude", "pricing": prices}},
        providers={
            "claude": AnthropicProvider(name="claude", base_url=server.anthropic_url, api_key=KEY)
        },
    ).bind_tools([CACHE_TOOL])
    first = llm.invoke(cached_conversation("What is our tone?"))
    body = server.calls[-1].body
    assert body["system"][0]["cache_control"] == EPHEMERAL
    assert body["tools"][0]["cache_control"] == EPHEMERAL
    second = sum(llm.stream(cached_conversation("And spelling?")), AIMessageChunk(""))
    written = first.usage_metadata["input_token_details"]["cache_creation"]
    assert written > 1024 and first.usage_metadata["input_token_details"]["cache_read"] == 0
    assert second.usage_metadata["input_token_details"]["cache_read"] == written
    paid = [m.response_metadata["langroute"]["actual_cost_usd"] for m in (first, second)]
    assert paid[1] < paid[0] / 3


@pytest.mark.parametrize("candidate", ["ChatOpenAI", "native OpenAI"])
def test_each_apis_cache_settings_reach_it_and_no_other(server, candidate):
    """As LangChain's `ModelFallbackMiddleware` does, `cache_control` (on blocks, on tools,
    as a keyword) goes to ChatAnthropic only, and `prompt_cache_key` /
    `prompt_cache_retention` to OpenAI only: a router may send the same call to either, and
    each API refuses the other's (ChatAnthropic raised TypeError on `prompt_cache_key`)."""
    import json

    llm = (router if candidate == "ChatOpenAI" else native_router)().bind_tools([CACHE_TOOL])
    server.prompt_cache.clear()
    openai_settings = {"prompt_cache_key": "user-42", "prompt_cache_retention": "24h"}
    for name in (OPENAI_NAME, ANTHROPIC_NAME):
        llm.invoke(
            cached_conversation("hi"), model=name, cache_control=EPHEMERAL, **openai_settings
        )
        body = server.calls[-1].body
        assert body["model"] == name
        if name == OPENAI_NAME:
            assert "cache_control" not in json.dumps(body)
            assert {k: body[k] for k in openai_settings} == openai_settings
        else:
            assert not set(openai_settings).intersection(body)
            assert body["system"][0]["cache_control"] == EPHEMERAL
            assert body["tools"][0]["cache_control"] == EPHEMERAL
            assert body["cache_control"] == EPHEMERAL


def test_a_bad_breakpoint_is_an_error_that_names_it(server):
    from langchain_core.messages import HumanMessage

    bad = HumanMessage(content=[{"type": "text", "text": "hi", "cache_control": {"type": "x"}}])
    with pytest.raises(
        ConfigError, match=r"invalid messages: cache_control\.type: Input should be 'ephemeral'"
    ):
        native_router().invoke([bad], model=OPENAI_NAME)


def test_openais_own_keywords_do_not_fail_a_call_routed_to_claude(server):
    """`frequency_penalty`, `reasoning_effort`, `store` … passed for whichever model
    answers: a native Claude candidate sent them and the Messages API answered 400, so the
    call failed (ChatAnthropic already left out those its client refuses)."""
    from langroute import AnthropicProvider

    llm = RoutingChatModel(
        models=[ANTHROPIC_NAME],
        specs={ANTHROPIC_NAME: {**SPECS[ANTHROPIC_NAME], "provider": "claude"}},
        providers={
            "claude": AnthropicProvider(name="claude", base_url=server.anthropic_url, api_key=KEY)
        },
    )
    answer = llm.invoke("hi", frequency_penalty=0.1, reasoning_effort="low", store=True)
    assert answer.text and not {"frequency_penalty", "reasoning_effort", "store"}.intersection(
        server.calls[-1].body
    )


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_conversation_stays_with_the_candidate_that_holds_its_prompt_cached(server, mode):
    """Two ChatOpenAI candidates; the server caches long prompts as OpenAI does. The one
    that answered the first turn holds the prompt, so the next turns cost less there than
    on the one cheapest at list price: the router keeps the conversation where it is."""
    from langchain_core.messages import HumanMessage, SystemMessage

    def priced(input_price: float) -> dict[str, Any]:
        prices = {"input": input_price, "cached_input": input_price / 10, "output": 1.0}
        return {**SPECS[OPENAI_NAME], "pricing": prices}

    for name in ("lc-cheap", "lc-keeper"):
        server.add(name, Reply("Noted."))
    server.prompt_cache.automatic = True
    try:
        llm = RoutingChatModel(
            models=[openai_candidate("lc-cheap"), openai_candidate("lc-keeper")],
            specs={"lc-cheap": priced(1.0), "lc-keeper": priced(1.2)},
        )
        history: list[Any] = [SystemMessage(content=HOUSE_RULES * 3)]
        chosen, cached = [], []
        for turn in range(3):
            asked = [*history, HumanMessage(content=f"Question {turn}?")]
            kwargs: dict[str, Any] = {"hints": {"model": "lc-keeper"}} if turn == 0 else {}
            if mode == "invoke":
                answer = llm.invoke(asked, **kwargs)
            else:
                answer = sum(llm.stream(asked, **kwargs), AIMessageChunk(""))
            chosen.append(answered_by(answer))
            cached.append(answer.usage_metadata["input_token_details"].get("cache_read", 0))
            history = [*asked, answer]
        assert chosen == ["lc-keeper"] * 3
        assert cached[0] == 0 and min(cached[1:]) > 1024
        reasons = answer.response_metadata["langroute"]["reasons"]
        assert any(r.startswith("prompt cache warm") for r in reasons)
        listed = RoutingChatModel(
            models=[openai_candidate("lc-cheap"), openai_candidate("lc-keeper")],
            specs={"lc-cheap": priced(1.0), "lc-keeper": priced(1.2)},
            cache_aware=False,
        )
        assert answered_by(listed.invoke([*history, HumanMessage(content="More?")])) == "lc-cheap"
    finally:
        server.prompt_cache.automatic = False
        server.prompt_cache.clear()


def test_a_call_keyword_breakpoint_is_priced_as_claudes_cache_write(server):
    """`invoke(..., cache_control=...)` (Claude's automatic caching) writes the whole prompt
    to ChatAnthropic's cache at 1.25x the input price: the plan counts it, and prices the
    next turn warm once the answer shows the write."""
    from langchain_core.messages import HumanMessage, SystemMessage

    prices = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}
    llm = RoutingChatModel(
        models=[anthropic_candidate()],
        specs={ANTHROPIC_NAME: {**SPECS[ANTHROPIC_NAME], "pricing": prices}},
    )
    server.models[ANTHROPIC_NAME].default = Reply("Noted.")
    server.prompt_cache.clear()
    asked = [SystemMessage(content=HOUSE_RULES * 3), HumanMessage(content="Hi?")]
    first = llm.invoke(asked, cache_control=EPHEMERAL)
    assert "more to write its cache" in first.response_metadata["langroute"]["reasons"][-1]
    details = first.usage_metadata["input_token_details"]  # ChatAnthropic splits by lifetime
    assert details.get("cache_creation", 0) + details.get("ephemeral_5m_input_tokens", 0) > 1024
    later = llm.invoke([*asked, first, HumanMessage(content="And?")], cache_control=EPHEMERAL)
    reasons = later.response_metadata["langroute"]["reasons"]
    assert reasons[-1].startswith("prompt cache warm")
    assert later.usage_metadata["input_token_details"]["cache_read"] > 1024


def test_a_shut_down_candidate_is_left_out_and_the_router_says_so(monkeypatch, caplog):
    """A `ChatOpenAI(model="gpt-4.1-nano")` candidate: OpenAI shut the model down on
    2026-10-23, so calls to it fail; the router leaves it out and says why when built."""
    import logging

    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    server = server_of()
    server.add("gpt-4.1-nano", smart_reply)
    before = len(server.calls)
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        llm = RoutingChatModel(
            models=[openai_candidate("gpt-4.1-nano"), anthropic_candidate("lc-after-nano")],
            specs={"lc-after-nano": SPECS[ANTHROPIC_NAME]},
        )
        llm.router  # noqa: B018 - built on first use
    assert "model 'gpt-4.1-nano' was shut down by its provider on 2026-10-23" in caplog.text
    server.add("lc-after-nano", smart_reply)
    msg = llm.invoke("hello")
    meta = msg.response_metadata["langroute"]
    assert meta["answered_by"] == "lc-after-nano" and "gpt-4.1-nano" not in meta["candidates"]
    assert [c.model for c in server.calls[before:]] == ["lc-after-nano"]
