"""RoutingLLM against the scripted server over real HTTP, through real LlamaIndex OpenAI,
OpenAILike and Anthropic candidates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.callbacks import (
    CallbackManager,
    CBEventType,
    EventPayload,
    LlamaDebugHandler,
    TokenCountingHandler,
)
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
)
from llama_index.core.llms import ChatMessage
from llama_index.core.rate_limiter import BaseRateLimiter
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from langroute import (
    AgentSteps,
    AllModelsFailed,
    ConfigError,
    CostOptimized,
    DeadlineExceeded,
    InMemoryHealth,
    InMemoryRateLimits,
    QualityBar,
    RetryPolicy,
    StreamInterrupted,
)
from langroute.testing import DropStream, Fail, Hang, Reply, smart_reply
from li_helpers import (
    CHEAP,
    DOMAINS,
    KEY,
    LOCAL,
    NATIVE_SPECS,
    SPECS,
    STRONG,
    cheap_llm,
    local_llm,
    native_providers,
    strong_llm,
)
from li_helpers import scripted_server as server_of
from llama_index.llms.langroute import RoutingLLM
from llama_index.llms.langroute.testing import HashEmbedding


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny in {city}."


def get_population(city: str) -> str:
    """Get the population of a city."""
    return f"{city} has 700,000 inhabitants."


TOOLS = [FunctionTool.from_defaults(get_weather), FunctionTool.from_defaults(get_population)]


def router(**kwargs: Any) -> RoutingLLM:
    return RoutingLLM(**{"models": [cheap_llm(), strong_llm()], "specs": SPECS, **kwargs})


def native_router(**kwargs: Any) -> RoutingLLM:
    """The cheap candidate native (langroute's own provider), beside a LlamaIndex Anthropic."""
    return RoutingLLM(
        **{
            "models": [CHEAP, strong_llm()],
            "providers": native_providers(),
            "specs": NATIVE_SPECS,
            **kwargs,
        }
    )


@pytest.fixture(params=["llamaindex", "native"])
def make(request: pytest.FixtureRequest) -> Any:
    """Runs a test with the cheap candidate a LlamaIndex `OpenAI`, then native."""
    return router if request.param == "llamaindex" else native_router


def agent_router(make: Any = router) -> RoutingLLM:
    return make(
        policy=AgentSteps(
            tool_step=CostOptimized(), after_tools=CostOptimized(bar=QualityBar(fixed=0.85))
        )
    )


def who(response: Any) -> str:
    return response.additional_kwargs["langroute"]["answered_by"]


@pytest.fixture
def server():
    server = server_of()
    for model in server.models.values():
        model.reset(smart_reply)
    return server


USER = [ChatMessage(role="user", content="hello")]


def test_metadata_is_truthful_for_the_candidate_set(server):
    meta = router().metadata
    assert meta.is_function_calling_model is True
    assert meta.is_chat_model is True
    assert meta.context_window == 128_000  # gpt-4o-mini's, the smaller window
    mixed = RoutingLLM(
        models=[cheap_llm(), local_llm()],
        specs={**SPECS, "local-model": {**SPECS["local-model"], "capabilities": {"tools": False}}},
    )
    assert mixed.metadata.is_function_calling_model is False
    assert mixed.metadata.context_window == 32_000


def test_constructor_parameters_reach_the_candidate_and_unknown_ones_are_refused(server, make):
    """`temperature`/`max_tokens`/`additional_kwargs` go with every call (a call's own win),
    and `max_tokens` bounds routing (by each model's output cap and window); an unknown
    argument is an error naming it, not dropped
    silently and not echoed back."""
    llm = make(temperature=0.3, max_tokens=11, additional_kwargs={"seed": 7})
    response = llm.chat(USER)
    body = server.calls[-1].body
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.3, 11, 7)
    assert response.additional_kwargs["langroute"]["answered_by"] == CHEAP
    llm.chat(USER, seed=8)
    assert server.calls[-1].body["seed"] == 8
    long_answers = make(max_tokens=20_000)
    assert who(long_answers.chat(USER)) == STRONG, "gpt-4o-mini writes at most 16,384 tokens"
    assert server.calls[-1].body["max_tokens"] == 20_000
    with pytest.raises(ConfigError) as info:
        make(temprature=0, api_key="sk-not-for-the-router-123")
    message = str(info.value)
    assert "no argument 'api_key', 'temprature'" in message and "additional_kwargs" in message
    assert "sk-not-for-the-router-123" not in message


def test_the_repr_names_candidates_without_their_secrets(server):
    """LlamaIndex's `OpenAI` prints `api_key=` in full in its repr; the router's repr, which
    lands in logs and tracebacks, names each candidate and its class instead."""
    assert KEY in repr(cheap_llm()) and KEY in repr(local_llm())
    llm = router(models=[cheap_llm(), strong_llm(), local_llm()])
    native = native_router(models=[CHEAP, local_llm()])
    for text in (repr(llm), str(llm), repr(native)):
        assert KEY not in text
    assert f"'{CHEAP}': 'OpenAI', '{STRONG}': 'Anthropic', '{LOCAL}': 'OpenAILike'}}" in repr(llm)
    assert f"models={{'{CHEAP}': 'NativeLLM', '{LOCAL}': 'OpenAILike'}}" in repr(native)


def test_sync_methods(server, make):
    llm = make()
    response = llm.chat(USER)
    assert response.message.content == "Hello! You said: hello"
    decision = response.additional_kwargs["langroute"]
    assert decision["answered_by"] == CHEAP
    assert decision["reasons"]
    assert decision["actual_cost_usd"] > 0
    assert llm.complete("hi there").text == "Hello! You said: hi there"
    deltas = [r.delta for r in llm.stream_chat(USER)]
    assert "".join(deltas) == "Hello! You said: hello"
    assert "".join(r.delta for r in llm.stream_complete("hey")) == "Hello! You said: hey"


async def test_async_methods(server, make):
    llm = make()
    assert (await llm.achat(USER)).message.content == "Hello! You said: hello"
    assert (await llm.acomplete("hi")).text == "Hello! You said: hi"
    stream = await llm.astream_chat(USER)
    responses = [r async for r in stream]
    assert "".join(r.delta for r in responses) == "Hello! You said: hello"
    assert who(responses[-1]) == CHEAP
    assert responses[-1].message.content == "Hello! You said: hello"
    completion = await llm.astream_complete("yo")
    assert "".join([r.delta async for r in completion]) == "Hello! You said: yo"


def test_tools_are_formatted_by_the_chosen_candidate_and_parsed_by_it(server, make):
    llm = make()
    response = llm.chat_with_tools(TOOLS, user_msg="What is the weather in 'Oslo'?")
    calls = llm.get_tool_calls_from_response(response)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {"city": "Oslo"})]
    body = server.calls[-1].body
    assert body["tools"][0]["function"]["name"] == "get_weather"  # OpenAI's own format
    forced = make(hints={"model": STRONG})
    response = forced.chat_with_tools(TOOLS, user_msg="What is the weather in 'Rome'?")
    assert who(response) == STRONG
    assert server.calls[-1].body["tools"][0]["name"] == "get_weather"  # Anthropic's format
    calls = forced.get_tool_calls_from_response(response)
    assert calls[0].tool_kwargs == {"city": "Rome"}


async def test_async_tools_and_streamed_tool_calls(server, make):
    llm = make()
    response = await llm.achat_with_tools(TOOLS, user_msg="Population of 'Lima'?")
    assert llm.get_tool_calls_from_response(response)[0].tool_name == "get_population"
    stream = await llm.astream_chat_with_tools(TOOLS, user_msg="Population of 'Kyiv'?")
    last = None
    async for last in stream:
        llm.get_tool_calls_from_response(last, error_on_no_tool_call=False)
    calls = llm.get_tool_calls_from_response(last)
    assert calls[0].tool_kwargs == {"city": "Kyiv"}


class City(BaseModel):
    name: str
    population: int


def test_structured_predict_sync_and_async(server, make):
    from llama_index.core.prompts import PromptTemplate

    llm = make()
    prompt = PromptTemplate("Tell me about {city}, population {n}")
    city = llm.structured_predict(City, prompt, city="'Lisbon'", n="545000")
    assert city == City(name="Lisbon", population=545000)
    city = asyncio.run(llm.astructured_predict(City, prompt, city="'Porto'", n="231000"))
    assert city == City(name="Porto", population=231000)


def test_streamed_structured_output_calls_the_output_tool(server, make):
    """LlamaIndex's streaming program leaves the tool choice to the model; the router makes
    the chosen candidate call the output tool, as `structured_predict` does. (LlamaIndex's
    Anthropic LLM streams tool calls in a shape its structured stream cannot parse, routed
    or not; so the object is checked on the OpenAI-protocol candidate.)"""
    from llama_index.core.prompts import PromptTemplate

    llm = make()
    prompt = PromptTemplate("Tell me about {city}, population {n}")
    partials = list(llm.stream_structured_predict(City, prompt, city="'Lisbon'", n="545000"))
    assert partials[-1] == City(name="Lisbon", population=545000)
    assert server.calls[-1].body["tool_choice"] == "required"

    async def streamed() -> list[Any]:
        stream = await llm.astream_structured_predict(City, prompt, city="'Porto'", n="231000")
        return [partial async for partial in stream]

    partials = asyncio.run(streamed())
    assert partials[-1] == City(name="Porto", population=231000)
    assert server.calls[-1].body["tool_choice"] == "required"
    # each candidate is asked in its own format (Anthropic's "any" is OpenAI's "required")
    list(
        llm.stream_structured_predict(
            City, prompt, llm_kwargs={"hints": {"model": STRONG}}, city="'Braga'", n="193000"
        )
    )
    assert server.calls[-1].model == STRONG
    assert server.calls[-1].body["tool_choice"]["type"] == "any"


def test_fallback_before_the_first_token_sync_and_stream(server, make):
    llm = make()
    server.models[CHEAP].then(Fail(429, retry_after=60))
    response = llm.chat(USER)
    assert who(response) == STRONG
    attempts = response.additional_kwargs["langroute"]["attempts"]
    assert [(a["model"], a["error_type"]) for a in attempts] == [
        (CHEAP, "RateLimited"),
        (STRONG, None),
    ]
    server.models[CHEAP].then(Fail(503), Fail(503))
    responses = list(llm.stream_chat(USER))
    assert "".join(r.delta for r in responses) == "Hello! You said: hello"
    assert who(responses[-1]) == STRONG


def test_a_candidate_that_hangs_is_cut_by_the_routers_timeout(server, make):
    """`timeout` bounds each model call whatever the candidate's client does (LlamaIndex's
    `OpenAI` waits 60 s by default) — in sync calls too, where its blocking client runs."""
    llm = make(timeout=1.5, retry=RetryPolicy(attempts=1))
    for call in (llm.chat, llm.stream_chat):
        server.models[CHEAP].then(Hang(5.0))
        response = call(USER)
        if not hasattr(response, "message"):
            response = list(response)[-1]
        attempts = response.additional_kwargs["langroute"]["attempts"]
        assert [(a["model"], a["error_type"]) for a in attempts] == [
            (CHEAP, "Timeout"),
            (STRONG, None),
        ]
        assert 1500 <= attempts[0]["latency_ms"] < 5000  # cut by the router's timer


async def test_a_deadline_bounds_the_whole_async_call(server, make):
    llm = make(retry=RetryPolicy(attempts=1, attempt_timeout_s=1.5))
    server.models[CHEAP].then(Hang(5.0))
    before = server.count(STRONG)
    with pytest.raises(AllModelsFailed) as caught:
        await llm.achat(USER, hints={"deadline_s": 1.0})
    assert isinstance(caught.value.exceptions[-1], DeadlineExceeded)
    assert server.count(STRONG) == before
    server.models[CHEAP].then(Hang(5.0))
    response = await llm.achat(USER, timeout=1.5)
    assert who(response) == STRONG


def test_health_and_rate_limits_reach_the_router(server, make):
    """With `health`, a 429's Retry-After cools a candidate down: later calls skip it
    without calling it; with `limits`, a candidate's rpm from `specs` is enforced."""
    llm = make(health=InMemoryHealth(), retry=RetryPolicy(attempts=1))
    server.models[CHEAP].then(Fail(429, retry_after=60))
    assert who(llm.chat(USER)) == STRONG
    before = server.count(CHEAP)
    response = llm.chat(USER)
    assert who(response) == STRONG
    assert response.additional_kwargs["langroute"]["attempts"][0]["error_type"] == "CircuitOpen"
    assert server.count(CHEAP) == before
    specs = NATIVE_SPECS if make is native_router else SPECS
    limited = make(limits=InMemoryRateLimits(), specs={**specs, CHEAP: {**specs[CHEAP], "rpm": 1}})
    assert [who(limited.chat(USER)) for _ in range(2)] == [CHEAP, STRONG]


async def test_failure_after_the_first_token_is_a_typed_error(server, make):
    llm = make()
    server.models[CHEAP].then(DropStream(after_chunks=2, reply=Reply("one two three")))
    before = server.count(STRONG)
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for response in await llm.astream_chat(USER):
            received.append(response.delta)
    assert "".join(received) == "one two"
    assert info.value.partial == "one two"
    assert server.count(STRONG) == before


class EventCounter(BaseEventHandler):
    starts: int = 0
    ends: int = 0

    @classmethod
    def class_name(cls) -> str:
        return "EventCounter"

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, LLMChatStartEvent):
            self.starts += 1
        elif isinstance(event, LLMChatEndEvent):
            self.ends += 1


@pytest.fixture
def events():
    counter = EventCounter()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(counter)
    yield counter
    dispatcher.event_handlers.remove(counter)


@pytest.mark.parametrize("method", ["chat", "stream_chat", "complete"])
def test_instrumentation_events_fire_once_per_call(server, events, method, make):
    llm = make()
    if method == "chat":
        llm.chat(USER)
    elif method == "stream_chat":
        list(llm.stream_chat(USER))
    else:
        llm.complete("hello")
    assert (events.starts, events.ends) == (1, 1)


async def test_async_instrumentation_events_fire_once(server, events, make):
    await make().achat(USER)
    assert (events.starts, events.ends) == (1, 1)


# --- legacy callback handlers: TokenCountingHandler, LlamaDebugHandler ---------------------


async def call(llm: RoutingLLM, method: str, **kwargs: Any) -> Any:
    """One call by `method` (the sync ones in a thread, with a loop of their own); a stream
    is read to its end. The last response."""
    if method == "chat":
        return await asyncio.to_thread(lambda: llm.chat(USER, **kwargs))
    if method == "stream_chat":
        return await asyncio.to_thread(lambda: list(llm.stream_chat(USER, **kwargs))[-1])
    if method == "achat":
        return await llm.achat(USER, **kwargs)
    return [r async for r in await llm.astream_chat(USER, **kwargs)][-1]


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
async def test_legacy_callback_handlers_see_each_model_call_once(server, method, make):
    """The documented way to count tokens in LlamaIndex, handlers on the LLM's callback
    manager, saw nothing: each candidate calls only its own."""
    tokens, debug = TokenCountingHandler(), LlamaDebugHandler()
    llm = make(callback_manager=CallbackManager([tokens, debug]))
    response = await call(llm, method)
    assert response.message.content == "Hello! You said: hello"
    (count,) = tokens.llm_token_counts
    assert count.prompt_token_count > 0 and count.completion_token_count > 0
    assert "Hello! You said: hello" in count.completion
    ((_, end),) = debug.get_event_pairs(CBEventType.LLM)
    assert end.payload[EventPayload.RESPONSE].message.content == "Hello! You said: hello"
    server.models[CHEAP].then(Fail(429, retry_after=60))
    response = await call(llm, method)  # falls back: two model calls, the first one failed
    assert who(response) == STRONG
    failed, answered = tokens.llm_token_counts[1:]
    assert failed.completion_token_count == 0 and answered.completion_token_count > 0
    assert len(debug.get_event_pairs(CBEventType.LLM)) == 3


def test_handlers_a_candidate_calls_itself_are_not_called_twice(server):
    """A candidate built after `Settings.callback_manager` was set has its handlers
    already; `RoutingLLM` calls only those it lacks."""
    tokens = TokenCountingHandler()
    previous, previous_llm = Settings._callback_manager, Settings._llm
    before = cheap_llm()
    try:
        Settings.callback_manager = CallbackManager([tokens])
        after = cheap_llm()
        assert after.callback_manager.handlers == [tokens]
        assert before.callback_manager.handlers == []
        for candidate in (before, after):
            llm = RoutingLLM(models=[candidate], specs=SPECS)
            Settings.llm = llm  # the way LlamaIndex hands it Settings' callback manager
            assert Settings.llm.callback_manager.handlers == [tokens]
            Settings.llm.chat(USER)
        assert len(tokens.llm_token_counts) == 2
    finally:
        Settings._callback_manager, Settings._llm = previous, previous_llm


class CountingLimiter(BaseRateLimiter):
    """A rate limiter that never makes anyone wait, and counts who asked."""

    def __init__(self) -> None:
        self.asked = 0

    def acquire(self, num_tokens: int = 0) -> None:
        self.asked += 1

    async def async_acquire(self, num_tokens: int = 0) -> None:
        self.asked += 1


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
async def test_the_routing_llms_rate_limiter_is_waited_on_for_each_model_call(server, method, make):
    """`RoutingLLM(rate_limiter=...)` was accepted and ignored: LlamaIndex waits on it only
    in decorated methods, and `RoutingLLM`'s are not."""
    limiter = CountingLimiter()
    await call(make(rate_limiter=limiter), method)
    assert limiter.asked == 1
    server.models[CHEAP].then(Fail(429, retry_after=60))
    assert who(await call(make(rate_limiter=limiter), method)) == STRONG
    assert limiter.asked == 3  # one per model call
    shared = make(rate_limiter=limiter)
    shared.models[-1].rate_limiter = limiter  # waits on it itself: not twice
    await call(shared, method, hints={"model": STRONG})
    assert limiter.asked == 4


# --- native candidates (also run by the tests above, through `make`) -----------------------


def test_a_native_candidate_gets_every_parameter_and_images(server):
    from llama_index.core.base.llms.types import ImageBlock, TextBlock

    llm = native_router()
    llm.chat(USER, temperature=0.2, top_p=0.5, seed=3, stop=["END"], frequency_penalty=0.1)
    call = server.calls[-1]
    assert call.headers["user-agent"].startswith("python-httpx")  # not the OpenAI SDK
    sent = {k: call.body[k] for k in ("temperature", "top_p", "seed", "stop", "frequency_penalty")}
    assert sent == {
        "temperature": 0.2,
        "top_p": 0.5,
        "seed": 3,
        "stop": ["END"],
        "frequency_penalty": 0.1,
    }
    picture = ChatMessage(
        role="user",
        blocks=[TextBlock(text="What is this?"), ImageBlock(url="https://example.com/a.png")],
    )
    llm.chat([picture])
    [content] = [m["content"] for m in server.calls[-1].body["messages"]]
    assert content[1] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}


async def test_a_native_candidate_answers_after_another_candidates_tool_call(server):
    """Anthropic's LLM makes the tool call (its own blocks and ids); the native candidate
    answers after the tool result: the whole conversation reaches it, ids intact."""
    from langroute import DomainMap

    llm = native_router(
        policy=AgentSteps(
            tool_step=DomainMap(routes={}, default=(STRONG, CHEAP)), after_tools=CostOptimized()
        )
    )
    since = len(server.calls)
    result = await FunctionAgent(tools=TOOLS, llm=llm).run("What is the weather in 'Quito'?")
    assert str(result) == "The tool returned It is sunny in Quito.."
    assert steps_of(server, since) == [(STRONG, True), (CHEAP, False)]
    messages = server.calls[-1].body["messages"]
    call_id = messages[-2]["tool_calls"][0]["id"]  # the id Anthropic's answer gave
    assert messages[-2]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Quito"}',
    }
    assert messages[-1] == {
        "role": "tool",
        "tool_call_id": call_id,
        "content": "It is sunny in Quito.",
    }


def test_a_native_candidate_fails_over_between_its_deployments(server, events):
    """A native candidate keeps its model's deployments: a 429 at the first moves the call
    to the second (the core's failover), and each attempt is instrumented."""
    from li_helpers import NATIVE_PROVIDER

    if "cheap-busy" not in server.models:
        server.add("cheap-busy", smart_reply)
    server.models["cheap-busy"].then(Fail(429, retry_after=60))
    two = {
        **NATIVE_SPECS[CHEAP],
        "deployments": [
            {"provider": NATIVE_PROVIDER, "model_id": "cheap-busy"},
            {"provider": "second", "model_id": CHEAP},
        ],
    }
    providers = {**native_providers(), "second": native_providers()[NATIVE_PROVIDER]}
    llm = RoutingLLM(
        models=[CHEAP, strong_llm()], specs={**NATIVE_SPECS, CHEAP: two}, providers=providers
    )
    response = llm.chat(USER)
    assert response.message.content == "Hello! You said: hello"
    attempts = response.additional_kwargs["langroute"]["attempts"]
    assert [(a["model"], a["provider"], a["error_type"]) for a in attempts] == [
        (CHEAP, NATIVE_PROVIDER, "RateLimited"),
        (CHEAP, "second", None),
    ]
    assert [c.model for c in server.calls[-2:]] == ["cheap-busy", CHEAP]
    assert (events.starts, events.ends) == (2, 1)  # the failed attempt ends in an error


def test_native_candidates_are_checked_when_built_and_refuse_what_they_cannot_send(server):
    from llama_index.core.base.llms.types import AudioBlock

    from langroute import AllModelsFailed, UnknownModelError

    with pytest.raises(UnknownModelError, match=r"unknown model 'gpt-9'.*Known models"):
        RoutingLLM(models=["gpt-9"])
    with pytest.raises(ConfigError, match="unknown provider 'nowhere'"):
        RoutingLLM(models=[CHEAP], specs={CHEAP: {"provider": "nowhere"}})
    sound = ChatMessage(role="user", blocks=[AudioBlock(audio=b"UklGRg==", format="wav")])
    with pytest.raises(AllModelsFailed, match="cannot send a AudioBlock"):
        native_router(hints={"model": CHEAP}).chat([sound])
    from llama_index.core.base.llms.types import ImageBlock, TextBlock

    screenshot = ChatMessage(
        role="tool",
        blocks=[TextBlock(text="the screen"), ImageBlock(url="https://example.com/s.png")],
        additional_kwargs={"tool_call_id": "c1"},
    )
    with pytest.raises(AllModelsFailed, match="cannot send an image in a tool message"):
        native_router(hints={"model": CHEAP}).chat([*USER, screenshot])  # never dropped


# --- agents and Settings.llm --------------------------------------------------------------


def steps_of(server, since: int) -> list[tuple[str, bool]]:
    """(model, was a tool step) of each call the server received since `since`."""
    steps = []
    for call in server.calls[since:]:
        messages = call.body.get("messages") or []
        after_tool = bool(messages) and (
            messages[-1].get("role") == "tool"
            or any(
                isinstance(b, dict) and b.get("type") == "tool_result"
                for b in (messages[-1].get("content") or [])
                if isinstance(b, dict)
            )
        )
        steps.append((call.model, not after_tool))
    return steps


async def test_function_agent_tool_step_and_answer_go_to_different_candidates(server, make):
    agent = FunctionAgent(tools=TOOLS, llm=agent_router(make))
    since = len(server.calls)
    result = await agent.run("What is the weather in 'Paris'?")
    assert str(result) == "The tool returned It is sunny in Paris.."
    assert steps_of(server, since) == [(CHEAP, True), (STRONG, False)]


async def test_eight_concurrent_agent_runs_do_not_mix_decisions(server, make):
    agent = FunctionAgent(tools=TOOLS, llm=agent_router(make))
    cities = ["Oslo", "Rome", "Lima", "Kyiv", "Baku", "Doha", "Suva", "Riga"]
    results = await asyncio.gather(*(agent.run(f"What is the weather in '{c}'?") for c in cities))
    for city, result in zip(cities, results, strict=True):
        assert str(result) == f"The tool returned It is sunny in {city}.."
        assert [c.tool_kwargs for c in result.tool_calls] == [{"city": city}]


def test_a_chat_engines_streamed_answers_reuse_one_connection(server):
    """A chat engine's `stream_chat` reads the model's stream in a thread it starts for each
    answer. A native candidate opened a new connection (a TLS handshake against a real
    provider) and built a new HTTP client in each of those threads."""
    from llama_index.core.chat_engine import SimpleChatEngine

    engine = SimpleChatEngine.from_defaults(llm=native_router())
    assert engine.chat("warm up").response
    server.reset()
    for i in range(5):
        assert "".join(engine.stream_chat(f"question {i}").response_gen)
    assert server.count(CHEAP) == 5 and server.connections() == 1


def test_settings_llm_with_a_query_engine(server):
    previous = Settings._llm
    try:
        Settings.llm = router()
        index = VectorStoreIndex.from_documents(
            [
                Document(text="Oslo is the capital of Norway."),
                Document(text="Lima is the capital of Peru."),
            ],
            embed_model=HashEmbedding(),
        )
        since = len(server.calls)
        response = index.as_query_engine(similarity_top_k=1).query("capital of Peru?")
        assert "capital of Peru" in str(response)
        assert [c.model for c in server.calls[since:]] == [CHEAP]
        assert "Lima is the capital of Peru." in str(server.calls[-1].body["messages"])
    finally:
        Settings._llm = previous


async def test_react_agent_steps_are_routed_one_by_one(server):
    from llama_index.core.agent.workflow import ReActAgent

    agent = ReActAgent(
        tools=TOOLS,
        llm=router(
            policy=AgentSteps(
                tool_step=CostOptimized(),
                after_tools=CostOptimized(bar=QualityBar(fixed=0.85)),
                plain=CostOptimized(),
            )
        ),
    )
    since = len(server.calls)
    result = await agent.run("What is the population of 'Oslo'?")
    assert str(result) == "The tool returned Oslo has 700,000 inhabitants.."
    assert [c.model for c in server.calls[since:]] == [CHEAP, CHEAP]  # no tools bound: plain


async def test_agent_workflow_routes_each_step(server):
    from llama_index.core.agent.workflow import AgentWorkflow

    workflow = AgentWorkflow(
        agents=[
            FunctionAgent(name="weather", description="weather", tools=TOOLS, llm=agent_router())
        ]
    )
    since = len(server.calls)
    result = await workflow.run(user_msg="What is the weather in 'Bern'?")
    assert str(result) == "The tool returned It is sunny in Bern.."
    assert [c.model for c in server.calls[since:]] == [CHEAP, STRONG]


@pytest.mark.parametrize("candidate", [CHEAP, STRONG])
def test_usage_and_cost_are_counted_once(server, candidate, make):
    response = make(hints={"model": candidate}).chat(USER)
    decision = response.additional_kwargs["langroute"]
    [attempt] = decision["attempts"]
    # the scripted server reports ceil(chars / 4) tokens: "hello" → 2 in, the reply → 6 out
    price_in, price_out = {CHEAP: (0.15, 0.60), STRONG: (1.0, 5.0)}[candidate]
    assert attempt["cost_usd"] == pytest.approx((2 * price_in + 6 * price_out) / 1e6)
    assert decision["actual_cost_usd"] == pytest.approx(attempt["cost_usd"])


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
def test_claudes_cache_writes_are_billed_at_their_price(server, method):
    """LlamaIndex's Anthropic leaves the prompt-cache writes in its raw usage; they were not
    counted at all (neither as prompt tokens nor in the cost). Claude Haiku 4.5's catalog
    prices: input 1.0, read 0.1, write 1.25 (2.0 for an hour), output 5.0."""
    server.models[STRONG].default = Reply(
        "Hi",
        prompt_tokens=1000,
        completion_tokens=10,
        cached_tokens=200,
        cache_write_tokens=500,
        cache_write_1h_tokens=100,
    )
    llm = router(hints={"model": STRONG})
    if method == "chat":
        response = llm.chat(USER)
    else:
        *_, response = llm.stream_chat(USER)
    decision = response.additional_kwargs["langroute"]
    expected = (300 * 1.0 + 200 * 0.1 + 400 * 1.25 + 100 * 2.0 + 10 * 5.0) / 1e6
    assert decision["actual_cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize("candidate", [CHEAP, STRONG])
def test_a_streamed_call_costs_what_the_same_call_not_streamed_costs(server, candidate):
    """LlamaIndex's `OpenAI` streams without usage: the router billed such a call $0 (and
    settled its budget hold at $0), then estimated it. It now asks for the usage, as
    OpenAI's API needs (`stream_options`), and bills what the server reports; a candidate
    that reports none (an `OpenAILike` server) is still estimated."""
    question = [ChatMessage(role="user", content="hello there, how are you doing today")]
    llm = router(hints={"model": candidate})
    chatted = llm.chat(question).additional_kwargs["langroute"]["actual_cost_usd"]
    streamed = list(llm.stream_chat(question))[-1].additional_kwargs["langroute"]
    assert streamed["actual_cost_usd"] == pytest.approx(chatted)
    if candidate == CHEAP:
        assert server.calls[-1].body["stream_options"] == {"include_usage": True}


def test_a_streamed_call_of_a_candidate_that_reports_no_usage_is_estimated(server):
    """An `OpenAILike` server is not asked for usage (some refuse the option): its streamed
    call is billed from an estimate (the scripted server counts characters / 4)."""
    priced = {**SPECS[LOCAL], "pricing": {"input": 1.0, "output": 2.0}}
    llm = RoutingLLM(models=[local_llm()], specs={LOCAL: priced})
    question = [ChatMessage(role="user", content="hello there, how are you doing today")]
    chatted = llm.chat(question).additional_kwargs["langroute"]["actual_cost_usd"]
    streamed = list(llm.stream_chat(question))[-1].additional_kwargs["langroute"]
    assert "stream_options" not in server.calls[-1].body
    assert 0.5 * chatted <= streamed["actual_cost_usd"] <= 1.5 * chatted


@pytest.mark.parametrize("mode", ["chat", "stream_chat"])
def test_a_cascade_escalates_a_refusal_and_shows_only_the_kept_answer(server, mode):
    from langroute import Cascade

    server.models[CHEAP].then(Reply("I'm sorry, I can't help with that."))
    server.models[STRONG].then(Reply("Here is how to do it."))
    llm = router(strategy=Cascade())
    question = [ChatMessage(role="user", content="How do I sort a list?")]
    if mode == "chat":
        response = llm.chat(question)
    else:
        response = None
        seen = []
        for response in llm.stream_chat(question):
            seen.append(response.delta or "")
        assert "sorry" not in "".join(seen)
    assert response.message.content == "Here is how to do it."
    meta = response.additional_kwargs["langroute"]
    assert meta["answered_by"] == STRONG
    assert [e["accepted"] for e in meta["escalations"]] == [False, True]


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
@pytest.mark.parametrize(
    ("filtered_model", "finish"), [(CHEAP, "content_filter"), (STRONG, "refusal")]
)
async def test_an_answer_a_providers_filter_stopped_falls_back(
    server, method, filtered_model, finish
):
    """LlamaIndex returns a filtered answer as an answer (empty, `finish_reason` or
    `stop_reason` saying why): it is now a `ContentFiltered`, which falls back, as it does
    from a native provider. The refused call is billed for what it used."""
    first = {"pricing": {"input": 0.01, "output": 0.01}}
    llm = router(specs={**SPECS, filtered_model: {**SPECS[filtered_model], **first}})
    server.models[filtered_model].then(Reply("", finish_reason=finish))
    response = await call(llm, method)
    assert response.message.content == "Hello! You said: hello"
    refused, answered = response.additional_kwargs["langroute"]["attempts"]
    assert (refused["model"], refused["error_type"]) == (filtered_model, "ContentFiltered")
    assert refused["cost_usd"] > 0 and answered["error_type"] is None


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
@pytest.mark.parametrize("cut", [CHEAP, STRONG])
async def test_a_cascade_escalates_an_answer_cut_off_by_the_length_limit(server, method, cut):
    """The finish reason of a LlamaIndex candidate's answer reaches the heuristics (it was
    left out, so "truncated by the length limit" never fired), in OpenAI's words (Claude
    says `max_tokens`)."""
    from langroute import Cascade

    cheap = {**SPECS[cut], "pricing": {"input": 0.01, "output": 0.01}}
    llm = router(specs={**SPECS, cut: cheap}, strategy=Cascade())
    server.models[cut].then(Reply("The first step is to", finish_reason="length"))
    response = await call(llm, method)
    meta = response.additional_kwargs["langroute"]
    assert meta["answered_by"] == ({CHEAP, STRONG} - {cut}).pop()
    assert "truncated by the length limit" in meta["escalations"][0]["reason"]


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
async def test_a_cascade_reads_a_llamaindex_candidates_logprobs(server, method):
    """`LogprobConfidence` saw no logprobs from a LlamaIndex candidate (its `logprobs` keep
    only each token's alternatives; the tokens' own are in `raw`), so it never escalated."""
    from langroute import Cascade
    from langroute.scorers import LogprobConfidence

    server.models[LOCAL].then(Reply("Maybe 41?", logprob=-2.0))  # p ≈ 0.14 per token
    llm = RoutingLLM(  # both OpenAI-protocol: Anthropic's SDK refuses `logprobs=`
        models=[local_llm(), cheap_llm()],
        specs=SPECS,
        strategy=Cascade(scorer=LogprobConfidence()),
    )
    response = await call(llm, method, logprobs=True)
    escalated, kept = response.additional_kwargs["langroute"]["escalations"]
    assert escalated["model"] == LOCAL and not escalated["accepted"]
    assert "mean token probability 0.14" in escalated["reason"]
    assert kept["model"] == CHEAP and kept["accepted"]


@pytest.mark.parametrize("method", ["chat", "stream_chat", "achat", "astream_chat"])
async def test_an_optional_argument_a_candidate_refuses_is_left_out_for_it(
    server, method, caplog, monkeypatch
):
    """`seed=` or `logprobs=True` failed every call routed to LlamaIndex's Anthropic,
    whose SDK takes neither. Left out for it, said once, as a native Anthropic provider
    does; the OpenAI candidate still gets them."""
    from langroute.providers import _http

    monkeypatch.setattr(_http, "_SAID", set())  # said once per process: once per test here
    since = len(server.calls)
    llm = router()
    for forced in (STRONG, STRONG, CHEAP):
        response = await call(llm, method, hints={"model": forced}, seed=7, logprobs=True)
        assert response.message.content == "Hello! You said: hello" and who(response) == forced
    anthropic = [c.body for c in server.calls[since:] if c.model == STRONG]
    assert anthropic and not any("seed" in b or "logprobs" in b for b in anthropic)
    openai_body = server.calls[-1].body
    assert openai_body["seed"] == 7 and openai_body["logprobs"] is True
    assert "call without 'seed'" in caplog.text


def test_the_core_router_of_the_adapter_runs_its_own_requests(server):
    """`router.chat(...)` on the adapter's core router: no LlamaIndex call behind it."""
    server.reset()
    done = router().router.chat("hello", temperature=0.2, top_p=0.9, max_tokens=7)
    assert done.content and done.decision.answered_by == CHEAP
    (sent,) = server.calls
    assert (sent.body["temperature"], sent.body["top_p"]) == (0.2, 0.9)
    assert 7 in (sent.body.get("max_tokens"), sent.body.get("max_completion_tokens"))


@pytest.mark.parametrize("mode", ["chat", "achat", "stream_chat"])
def test_a_llamaindex_llm_judges_a_cascade_and_its_gradings_are_billed(server, mode):
    """The judge is an OpenAILike behind its own RoutingLLM: its router runs a request the
    core built (no LlamaIndex call behind it), translated to LlamaIndex messages."""
    import asyncio

    from llama_index.llms.openai_like import OpenAILike

    from langroute import Cascade
    from langroute.scorers import LLMJudge

    grader = "li-grader"
    server.reset()
    server.add(
        grader,
        Reply(
            lambda text: '{"score": 0.1}' if "sorry" in text else '{"score": 0.9}',
            prompt_tokens=100,
            completion_tokens=5,
        ),
    )
    judge_llm = OpenAILike(
        model=grader,
        api_base=server.openai_url,
        api_key=KEY,
        is_chat_model=True,
        context_window=32_000,
        max_retries=0,
    )
    judge = RoutingLLM(
        models=[judge_llm],
        specs={grader: SPECS[LOCAL] | {"pricing": {"input": 0.5, "output": 1.5}}},
    )
    server.models[CHEAP].then(Reply("I'm sorry, I can't help with that."))
    server.models[STRONG].then(Reply("Here is how to do it."))
    llm = router(strategy=Cascade(scorer=LLMJudge(judge.router)))
    question = [ChatMessage(role="user", content="How do I sort a list?")]
    if mode == "chat":
        response = llm.chat(question)
    elif mode == "achat":
        response = asyncio.run(llm.achat(question))
    else:
        *_, response = llm.stream_chat(question)
    assert response.message.content == "Here is how to do it."
    meta = response.additional_kwargs["langroute"]
    first, last = meta["escalations"]
    assert (first["reason"], first["accepted"]) == (f"judge {grader}: 0.10", False)
    assert last["score"] is None and last["accepted"]
    grading = (100 * 0.5 + 5 * 1.5) / 1e6
    assert first["scoring_cost_usd"] == pytest.approx(grading)
    answers = sum(a["cost_usd"] for a in meta["attempts"])
    assert meta["actual_cost_usd"] == pytest.approx(answers + grading)
    (sent,) = [c for c in server.calls if c.model == grader]
    assert sent.body["max_tokens"] == 20 and sent.body["temperature"] == 0
    assert sent.body["messages"][0]["role"] == "system"
    server.models.pop(grader)


def test_an_ensemble_streams_its_kept_answer(server):
    from langroute import Ensemble

    server.models[CHEAP].then(Reply("I don't know."))
    server.models[STRONG].then(Reply("Use sorted()."))
    llm = router(strategy=Ensemble(size=2))
    responses = list(llm.stream_chat([ChatMessage(role="user", content="How to sort?")]))
    assert responses[-1].message.content == "Use sorted()."
    assert "".join(r.delta or "" for r in responses) == "Use sorted()."
    meta = responses[-1].additional_kwargs["langroute"]
    assert meta["answered_by"] == STRONG


# --- budgets, response cache and audit through the adapter --------------------------------


def test_response_cache_is_per_tenant_and_hits_report_zero_cost(server):
    from langroute import ResponseCache
    from langroute._sync import run_sync

    llm = router(response_cache=ResponseCache(cache_sampled=True))
    before = server.count(CHEAP)
    messages = [ChatMessage(role="user", content="Name a colour.")]
    first = llm.chat(messages, tenant="acme")
    run_sync(llm.router.drain())
    hit = llm.chat(messages, tenant="acme")
    other = llm.chat(messages, tenant="globex")
    assert hit.message.content == first.message.content
    assert hit.additional_kwargs["langroute"]["cache"] == "exact"
    assert hit.additional_kwargs["langroute"]["actual_cost_usd"] == 0
    assert other.additional_kwargs["langroute"]["cache"] is None
    assert server.count(CHEAP) - before == 2, "only the two tenants' first calls"
    streamed = list(llm.stream_chat(messages, tenant="acme"))
    assert streamed[-1].message.content == first.message.content
    assert streamed[-1].additional_kwargs["langroute"]["cache"] == "exact"


def test_cached_tool_calls_come_back_and_parse(server, make):
    """A cached tool-call answer (`cache_tool_calls=True`) comes back with its tool calls,
    as `ToolCallBlock`s the candidate that first answered parses, whole or streamed."""
    from langroute import ResponseCache
    from langroute._sync import run_sync

    llm = make(response_cache=ResponseCache(cache_tool_calls=True, cache_sampled=True))
    ask = "What is the weather in 'Bergen'?"
    first = llm.chat_with_tools(TOOLS, user_msg=ask)
    run_sync(llm.router.drain())
    before = len(server.calls)
    hit = llm.chat_with_tools(TOOLS, user_msg=ask)
    streamed = list(llm.stream_chat_with_tools(TOOLS, user_msg=ask))
    assert len(server.calls) == before, "both answered from the cache"
    for response in (hit, streamed[-1]):
        assert response.additional_kwargs["langroute"]["cache"] == "exact"
        calls = llm.get_tool_calls_from_response(response)
        assert [(c.tool_name, c.tool_kwargs) for c in calls] == [
            ("get_weather", {"city": "Bergen"})
        ]
        assert calls[0].tool_id == llm.get_tool_calls_from_response(first)[0].tool_id


async def test_budgets_and_audit_through_the_adapter(server):
    from langroute import AuditLog, Budget, BudgetExceeded, Budgets
    from langroute.audit import MemoryAuditSink

    sink = MemoryAuditSink()
    budgets = Budgets([Budget(limit_usd=0.012, per="user")])  # a worst case is ~$0.0098
    llm = router(budgets=budgets, audit=AuditLog(sink))
    first = await llm.achat(USER, user="ann")
    [(_, line)] = budgets.lines(llm.router.request("x", user="ann").features, CHEAP)
    budgets.store.settle([line], "earlier-calls", 5_000)  # ann has spent $0.005 more today
    with pytest.raises(BudgetExceeded, match="user=\\* per day") as refused:
        await llm.achat(USER, user="ann")
    assert refused.value.spent_usd == pytest.approx(0.005 + who_cost(first), abs=1e-6)
    assert (await llm.achat(USER, user="bob")).message.content
    await llm.router.drain()
    assert {r.user for r in sink.records} == {"ann", "bob"}
    assert sink.records[-2].error_type == "BudgetExceeded"


def who_cost(response: Any) -> float:
    return response.additional_kwargs["langroute"]["actual_cost_usd"]


def test_a_misspelt_hint_is_named_before_any_call(server):
    before = len(server.calls)
    with pytest.raises(ConfigError, match=r"max_cost: unknown hint\. Known: .*max_cost_usd"):
        router().chat(USER, hints={"max_cost": 0.01})
    assert len(server.calls) == before


def test_two_candidates_calling_one_model_are_refused_not_merged(server):
    with pytest.raises(ConfigError, match=r"two of RoutingLLM's models call"):
        RoutingLLM(models=[cheap_llm(), cheap_llm()], specs=SPECS)
    both = RoutingLLM(
        models={CHEAP: cheap_llm(), "second": cheap_llm()},
        specs={**SPECS, "second": {"pricing": {"input": 0.15, "output": 0.6}}},
    )
    assert set(both.candidates) == {CHEAP, "second"}


# --- prompt caching -----------------------------------------------------------------------

HOUSE_RULES = "Answer as the house style guide says. " * 480  # ~4,560 tokens on the server
"""Longer than Claude Haiku 4.5 caches at all (4,096 tokens), as the scripted server holds."""


def cached_conversation(question: str, role: str = "system") -> list[ChatMessage]:
    from llama_index.core.base.llms.types import CacheControl, CachePoint, TextBlock

    return [
        ChatMessage(
            role=role,
            blocks=[
                TextBlock(text=HOUSE_RULES),
                CachePoint(cache_control=CacheControl(type="ephemeral")),
            ],
        ),
        ChatMessage(role="user", content=question),
    ]


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
def test_a_native_claude_candidate_caches_the_prompt_at_its_cache_point(server, method):
    """A `CachePoint` marks the block before it, as LlamaIndex's Anthropic LLM reads it; a
    native Anthropic candidate now sends it (it refused the block), and its second call reads
    the cached prefix at the cached price (Claude Haiku 4.5: 0.1 against 1.0 input)."""
    from langroute import AnthropicProvider

    server.prompt_cache.clear()
    native = "claude-native"
    llm = RoutingLLM(
        models=[STRONG],
        specs={
            STRONG: {
                **SPECS[STRONG],
                "provider": native,
                "deployments": [{"provider": native, "model_id": STRONG}],
            }
        },
        providers={
            native: AnthropicProvider(name=native, base_url=server.anthropic_url, api_key=KEY)
        },
    )

    def ask(question: str) -> Any:
        if method == "chat":
            return llm.chat(cached_conversation(question))
        *_, last = llm.stream_chat(cached_conversation(question))
        return last

    first = ask("What is our tone?")
    assert server.calls[-1].body["system"] == [
        {"type": "text", "text": HOUSE_RULES, "cache_control": {"type": "ephemeral", "ttl": "5m"}}
    ]
    second = ask("And spelling?")
    paid = [r.additional_kwargs["langroute"]["actual_cost_usd"] for r in (first, second)]
    assert paid[1] < paid[0] / 3


@pytest.mark.parametrize("cheap", ["OpenAI", "native OpenAI"])
def test_cache_points_reach_claude_and_stay_out_of_openai_calls(server, cheap):
    """LlamaIndex's `OpenAI` raises on a `CachePoint` block, and strict OpenAI-compatible
    servers refuse `cache_control`: the point is left out for them, kept for Anthropic's
    LLM (which reads cache points in user messages, not in system ones)."""
    import json

    llm = router() if cheap == "OpenAI" else native_router()
    server.prompt_cache.clear()
    for name in (CHEAP, STRONG):
        llm.chat(
            cached_conversation("hi", role="user"),
            hints={"model": name},
            prompt_cache_key="user-42",  # OpenAI's: Anthropic's SDK raised TypeError on it
        )
        body = server.calls[-1].body
        assert body["model"] == name
        if name == CHEAP:
            assert "cache_control" not in json.dumps(body)
            assert HOUSE_RULES in json.dumps(body["messages"][0])
            assert body["prompt_cache_key"] == "user-42"
        else:
            assert "prompt_cache_key" not in body
            assert body["messages"][0]["content"][0]["cache_control"]["type"] == "ephemeral"


def test_a_cache_point_with_nothing_before_it_is_an_error(server):
    """As with any block a native candidate cannot send, the call fails naming it (every
    candidate was asked: a LlamaIndex LLM would refuse it too)."""
    from llama_index.core.base.llms.types import CacheControl, CachePoint

    from langroute import AllModelsFailed

    first = ChatMessage(
        role="user", blocks=[CachePoint(cache_control=CacheControl(type="ephemeral"))]
    )
    with pytest.raises(AllModelsFailed, match="a cache point must follow a text or image block"):
        native_router(hints={"model": CHEAP}).chat([first])
    wrong = ChatMessage(role="user", content="hi", additional_kwargs={"cache_control": {"ttl": 5}})
    with pytest.raises(AllModelsFailed, match=r"invalid cache point in a user message: ttl"):
        native_router(hints={"model": CHEAP}).chat([wrong])


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
def test_a_native_candidates_cache_reads_are_billed_at_the_cached_price(server, method):
    """A native candidate's answer carried only prompt and answer tokens in its `raw`, so
    OpenAI's cache hits (automatic on long prompts) were billed as plain input."""
    server.models[CHEAP].default = Reply(
        "Hi", prompt_tokens=1000, completion_tokens=10, cached_tokens=600
    )
    llm = native_router(hints={"model": CHEAP})
    if method == "chat":
        response = llm.chat(USER)
    else:
        *_, response = llm.stream_chat(USER)
    expected = (400 * 0.15 + 600 * 0.075 + 10 * 0.60) / 1e6
    assert response.additional_kwargs["langroute"]["actual_cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize("method", ["chat", "stream_chat"])
def test_a_conversation_stays_with_the_candidate_that_holds_its_prompt_cached(server, method):
    """Two LlamaIndex `OpenAI` candidates; the server caches long prompts as OpenAI does.
    The one that answered the first turn holds the prompt, so the next turns cost less
    there than on the one cheapest at list price: the router keeps the conversation."""
    from llama_index.llms.openai import OpenAI

    keeper = "gpt-4.1-mini"
    server.add(keeper, Reply("Noted."))
    server.models[CHEAP].default = Reply("Noted.")

    def priced(input_price: float) -> dict[str, Any]:
        prices = {"input": input_price, "cached_input": input_price / 10, "output": 1.0}
        return {"quality": dict.fromkeys(DOMAINS, 0.8), "pricing": prices}

    server.prompt_cache.automatic = True
    try:
        candidate = OpenAI(model=keeper, api_base=server.openai_url, api_key=KEY, max_retries=0)
        llm = RoutingLLM(
            models=[cheap_llm(), candidate], specs={CHEAP: priced(1.0), keeper: priced(1.2)}
        )
        rules = "Answer as the house style guide says. " * 500
        history = [ChatMessage(role="system", content=rules)]
        chosen, costs = [], []
        for turn in range(3):
            asked = [*history, ChatMessage(role="user", content=f"Question {turn}?")]
            kwargs: dict[str, Any] = {"hints": {"model": keeper}} if turn == 0 else {}
            if method == "chat":
                response = llm.chat(asked, **kwargs)
            else:
                *_, response = llm.stream_chat(asked, **kwargs)
            decision = response.additional_kwargs["langroute"]
            chosen.append(decision["answered_by"])
            costs.append(decision["actual_cost_usd"])  # streamed: billed from its usage
            history = [*asked, response.message]
        assert chosen == [keeper] * 3
        assert max(costs[1:]) < costs[0] / 3  # the prompt read from the cache
        assert any(r.startswith("prompt cache warm") for r in decision["reasons"])
        listed = RoutingLLM(
            models=[cheap_llm(), candidate],
            specs={CHEAP: priced(1.0), keeper: priced(1.2)},
            cache_aware=False,
        )
        more = [*history, ChatMessage(role="user", content="More?")]
        assert listed.chat(more).additional_kwargs["langroute"]["answered_by"] == CHEAP
    finally:
        server.prompt_cache.automatic = False
        server.prompt_cache.clear()


def test_a_shut_down_candidate_is_left_out_and_the_router_says_so(monkeypatch, caplog):
    """An `OpenAI(model="gpt-4.1-nano")` candidate: OpenAI shut the model down on 2026-10-23,
    so calls to it fail; the router leaves it out and says why when built."""
    import logging

    from llama_index.llms.openai import OpenAI

    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    server = server_of()
    server.add("gpt-4.1-nano", smart_reply)
    nano = OpenAI(model="gpt-4.1-nano", api_base=server.openai_url, api_key=KEY, max_retries=0)
    before = len(server.calls)
    with caplog.at_level(logging.WARNING, logger="langroute.router"):
        llm = RoutingLLM(models=[nano, strong_llm()], specs=SPECS)
    assert "model 'gpt-4.1-nano' was shut down by its provider on 2026-10-23" in caplog.text
    answer = llm.chat([ChatMessage(role="user", content="hello")])
    meta = answer.additional_kwargs["langroute"]
    assert meta["answered_by"] == STRONG and "gpt-4.1-nano" not in meta["candidates"]
    assert [c.model for c in server.calls[before:]] == [STRONG]
