"""Router execution over real HTTP: every fallback trigger, streaming before/after the first
token, retries honouring Retry-After, and the all-failed error."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from langroute import (
    AllModelsFailed,
    AuthError,
    BadRequest,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    FallbackChain,
    MalformedResponse,
    RateLimited,
    RetryPolicy,
    ServerError,
    Single,
    StreamInterrupted,
    Timeout,
)
from langroute.features import RoutingRequest
from langroute.strategies import DEFAULT_FALLBACK_ON
from langroute.testing import DropStream, Fail, Hang, Malformed, Reply
from tests.conftest import TEST_KEY, make_router, spec

NO_RETRY = RetryPolicy(attempts=1)


def two_models(server, *, second_provider="claude", **kw):
    """`cheap` (OpenAI protocol) is planned first, `strong` (Anthropic protocol) second."""
    server.add("cheap", Reply("cheap answer"))
    server.add("strong", Reply("strong answer"))
    return make_router(
        server,
        [
            spec("cheap", price=(0.1, 0.2)),
            spec("strong", provider=second_provider, price=(5, 10), context_window=100_000),
        ],
        **kw,
    )


FALLBACK_TRIGGERS = [
    (Fail(429, retry_after=0.01), RateLimited),
    (Hang(1.0), Timeout),
    (Fail(500), ServerError),
    (Fail(503), ServerError),
    (DropStream(), ConnectionFailed),
    (Malformed(), MalformedResponse),
    (Fail(400, "too long", code="context_length_exceeded"), ContextTooLong),
    (Fail(400, "flagged", code="content_filter"), ContentFiltered),
]


@pytest.mark.parametrize(("behaviour", "error"), FALLBACK_TRIGGERS)
async def test_fallback_on_each_trigger(aserver, behaviour, error):
    router = two_models(aserver, retry=NO_RETRY, timeout=0.3)
    aserver.models["cheap"].default = behaviour
    completion = await router.achat("hello")
    assert completion.content == "strong answer"
    assert completion.model == "strong"
    attempts = completion.decision.attempts
    assert [(a.model, a.outcome) for a in attempts] == [("cheap", "error"), ("strong", "ok")]
    assert attempts[0].error_type == error.__name__
    assert aserver.count("strong") == 1
    await router.aclose()


@pytest.mark.parametrize(("behaviour", "error"), FALLBACK_TRIGGERS)
async def test_stream_fallback_before_first_token_on_each_trigger(aserver, behaviour, error):
    router = two_models(aserver, retry=NO_RETRY, timeout=0.3)
    if isinstance(behaviour, DropStream):
        behaviour = DropStream(after_chunks=0)
    aserver.models["cheap"].default = behaviour
    chunks = [c async for c in router.astream("hello")]
    assert "".join(c.content for c in chunks) == "strong answer"
    assert {c.model for c in chunks} == {"strong"}
    last = chunks[-1]
    assert last.decision.attempts[0].error_type == error.__name__
    assert last.usage is not None and last.cost_usd == pytest.approx(last.decision.actual_cost_usd)
    await router.aclose()


@pytest.mark.parametrize(
    ("behaviour", "error"), [(Fail(401), AuthError), (Fail(400, "bad field"), BadRequest)]
)
async def test_no_fallback_on_auth_or_bad_request_by_default(aserver, behaviour, error):
    router = two_models(aserver)
    aserver.models["cheap"].default = behaviour
    with pytest.raises(AllModelsFailed) as info:
        await router.achat("hello")
    assert [type(e) for e in info.value.exceptions] == [error]
    assert "not a fallback trigger" in str(info.value)
    assert aserver.count("strong") == 0
    assert aserver.count("cheap") == 1  # not retried either
    await router.aclose()


async def test_fallback_on_auth_when_configured(aserver):
    router = two_models(
        aserver, strategy=FallbackChain(fallback_on=(*DEFAULT_FALLBACK_ON, AuthError))
    )
    aserver.models["cheap"].default = Fail(401)
    assert (await router.achat("hello")).model == "strong"
    await router.aclose()


async def test_context_too_long_skips_to_a_larger_window(aserver):
    aserver.add("small", Reply("small"), context_window=50)
    aserver.add("same", Reply("same"), context_window=50)
    aserver.add("large", Reply("large"))
    router = make_router(
        aserver,
        [
            spec("small", price=(0.1, 0.1), context_window=4000),
            spec("same", price=(0.2, 0.2), context_window=4000),
            spec("large", price=(5, 5), context_window=100_000),
        ],
    )
    completion = await router.achat("word " * 400)
    assert completion.model == "large"
    assert [a.model for a in completion.decision.attempts] == ["small", "large"]
    assert aserver.count("same") == 0
    await router.aclose()


async def test_context_window_prefilter_never_calls_a_too_small_model(aserver):
    aserver.add("tiny", Reply("tiny"))
    aserver.add("big", Reply("big"))
    router = make_router(
        aserver,
        [
            spec("tiny", price=(0.1, 0.1), context_window=100, max_output_tokens=50),
            spec("big", price=(5, 5), context_window=100_000),
        ],
    )
    completion = await router.achat("word " * 400)
    assert completion.model == "big"
    assert aserver.count("tiny") == 0
    assert "context window 100" in completion.decision.plan.rejected[0].reason
    await router.aclose()


async def test_windows_and_costs_are_in_each_models_own_tokens(aserver):
    """A model whose tokenizer cuts text 1.3x finer (`prompt_token_factor`) bills 1.3x the
    counted prompt and holds 1/1.3 of its window in counted tokens: its expected cost, the
    window filter and the skip after a context overflow all say so."""
    counted = RoutingRequest.build("word " * 400).features.prompt_tokens
    finer = spec("finer", price=(1, 1), context_window=int(counted * 1.2), prompt_token_factor=1.3)
    plain = spec("plain", price=(1, 1), context_window=int(counted * 1.2))
    assert finer.expected_cost(counted, 0) == pytest.approx(math.ceil(counted * 1.3) / 1e6)
    assert plain.expected_cost(counted, 0) == pytest.approx(counted / 1e6)
    aserver.add("finer", Reply("finer"))
    aserver.add("plain", Reply("plain"))
    router = make_router(aserver, [finer, plain])
    decision = router.route("word " * 400)
    assert decision.plan.models == ["plain"]
    (rejected,) = decision.plan.rejected
    assert f"prompt {counted} ({math.ceil(counted * 1.3)} in its tokens)" in rejected.reason
    await router.aclose()
    # after an overflow, a model with a smaller window but a coarser tokenizer still fits more
    aserver.add("big-finer", Fail(400, "too long", code="context_length_exceeded"))
    aserver.add("smaller-plain", Reply("smaller-plain"))
    router = make_router(
        aserver,
        [
            spec("big-finer", price=(0.1, 0.1), context_window=2000, prompt_token_factor=1.5),
            spec("smaller-plain", price=(5, 5), context_window=1500),
        ],
    )
    completion = await router.achat("hi")
    assert completion.model == "smaller-plain"  # 1500 counted tokens > 2000 / 1.5
    await router.aclose()


async def test_retry_same_deployment_honours_retry_after(aserver):
    router = two_models(
        aserver, retry=RetryPolicy(attempts=2, base_delay_s=0.0, max_retry_after_s=5)
    )
    aserver.models["cheap"].then(Fail(429, retry_after=0.4))
    started = time.monotonic()
    completion = await router.achat("hello")
    waited = time.monotonic() - started
    assert completion.model == "cheap"
    assert aserver.count("cheap") == 2
    assert waited >= 0.4  # waited for Retry-After before calling the same deployment again
    await router.aclose()


async def test_long_retry_after_falls_back_instead_of_waiting(aserver):
    router = two_models(aserver, retry=RetryPolicy(attempts=3, max_retry_after_s=1))
    aserver.models["cheap"].then(Fail(429, retry_after=30))
    completion = await router.achat("hello")
    assert completion.model == "strong"
    assert aserver.count("cheap") == 1
    await router.aclose()


async def test_stream_failure_after_first_token_raises_with_partial_text(aserver):
    router = two_models(aserver)
    aserver.models["cheap"].default = DropStream(
        after_chunks=2, reply=Reply("alpha beta gamma delta")
    )
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as info:
        async for chunk in router.astream("hello"):
            received.append(chunk.content)
    assert "".join(received) == "alpha beta"
    assert info.value.partial == "alpha beta"
    assert isinstance(info.value.cause, ConnectionFailed)
    assert aserver.count("strong") == 0  # no fallback once text was delivered
    assert aserver.count("cheap") == 1  # and no retry that could repeat it
    await router.aclose()


async def test_all_failed_lists_every_attempt(aserver):
    router = two_models(aserver, retry=RetryPolicy(attempts=2, base_delay_s=0.001))
    aserver.models["cheap"].default = Fail(503)
    aserver.models["strong"].default = Fail(429, retry_after=0.01)
    with pytest.raises(AllModelsFailed) as info:
        await router.achat("hello")
    errors = info.value.exceptions
    assert [(type(e), e.model, e.provider) for e in errors] == [
        (ServerError, "cheap", "local"),
        (RateLimited, "strong", "claude"),
    ]
    text = str(info.value)
    assert "cheap@local" in text and "strong@claude" in text
    assert isinstance(info.value, ExceptionGroup)
    assert TEST_KEY not in text
    assert aserver.count() == 4  # each model was retried once before moving on
    await router.aclose()


async def test_all_failed_while_streaming(aserver):
    router = two_models(aserver, retry=NO_RETRY)
    aserver.models["cheap"].default = Fail(500)
    aserver.models["strong"].default = DropStream(after_chunks=0)
    with pytest.raises(AllModelsFailed) as info:
        async for _ in router.astream("hello"):
            pass
    assert [type(e) for e in info.value.exceptions] == [ServerError, ConnectionFailed]
    await router.aclose()


async def test_single_strategy_does_not_fall_back(aserver):
    router = two_models(aserver, strategy=Single(), retry=NO_RETRY)
    aserver.models["cheap"].default = Fail(500)
    with pytest.raises(AllModelsFailed):
        await router.achat("hello")
    assert aserver.count("strong") == 0
    await router.aclose()


async def test_redundant_deployments_are_tried_before_the_next_model(aserver):
    from langroute.registry import Deployment

    aserver.add("llama-a", Fail(503))
    aserver.add("llama-b", Reply("from b"))
    aserver.add("other", Reply("other"))
    router = make_router(
        aserver,
        [
            spec(
                "llama",
                price=(0.1, 0.1),
                deployments=(
                    Deployment(provider="local", model_id="llama-a"),
                    Deployment(
                        provider="claude", model_id="llama-b", pricing={"input": 0.2, "output": 0.2}
                    ),
                ),
            ),
            spec("other", price=(5, 5)),
        ],
        retry=NO_RETRY,
    )
    completion = await router.achat("hi")
    assert completion.content == "from b"
    assert completion.provider == "claude"
    assert [(a.provider, a.outcome) for a in completion.decision.attempts] == [
        ("local", "error"),
        ("claude", "ok"),
    ]
    # cost is at the serving deployment's own price
    u = completion.usage
    assert completion.cost_usd == pytest.approx(
        (u.prompt_tokens * 0.2 + u.completion_tokens * 0.2) / 1e6
    )
    await router.aclose()


def test_sync_chat_and_stream(server):
    router = two_models(server)
    assert router.chat("hello").content == "cheap answer"
    assert "".join(c.content for c in router.stream("hello")) == "cheap answer"
    server.models["cheap"].default = Fail(503)
    assert router.chat("hello").model == "strong"


async def test_cost_and_usage_add_up(aserver):
    router = two_models(aserver, retry=NO_RETRY)
    aserver.models["strong"].default = Reply("x", prompt_tokens=1000, completion_tokens=500)
    aserver.models["cheap"].default = Fail(500)
    c = await router.achat("hello")
    assert c.cost_usd == pytest.approx((1000 * 5 + 500 * 10) / 1e6)
    assert c.decision.actual_cost_usd == pytest.approx(c.cost_usd)
    assert c.decision.answered_by == "strong"
    await router.aclose()


class EchoTarget:
    """A non-HTTP provider, as adapters write them: it reads the framework's own call from
    `request.native` and hands back its own objects in `raw`."""

    name = "echo"

    async def complete(self, model_id, request):
        from langroute import Completion, Usage

        return Completion(
            id="1",
            model=model_id,
            provider=self.name,
            provider_model=model_id,
            content=f"{model_id}:{request.native['text']}",
            usage=Usage(prompt_tokens=3, completion_tokens=2),
            raw={"native": request.native},
        )

    async def stream(self, model_id, request):
        from langroute import StreamChunk, Usage

        for word in request.native["text"].split():
            yield StreamChunk(model=model_id, content=word, raw=("native-chunk", word))
        yield StreamChunk(model=model_id, usage=Usage(prompt_tokens=3, completion_tokens=2))

    async def aclose(self):
        pass


async def test_custom_provider_gets_the_native_call_and_returns_raw_objects():
    from langroute import Provider, Registry, Router

    assert isinstance(EchoTarget(), Provider)
    registry = Registry()
    registry.register(spec("echo-model", provider="echo"))
    router = Router(["echo-model"], registry=registry, providers={"echo": EchoTarget()})
    request = router.request("hello there", native={"text": "hello there"})
    decision = router.plan(request)
    assert decision.chosen == "echo-model"
    completion = await router.achat("hello there", native={"text": "hello there"})
    assert completion.content == "echo-model:hello there"
    assert completion.raw == {"native": {"text": "hello there"}}
    assert completion.cost_usd == pytest.approx((3 * 1.0 + 2 * 2.0) / 1e6)
    chunks = [c async for c in router.astream("x", native={"text": "a b"})]
    assert [c.raw for c in chunks[:-1]] == [("native-chunk", "a"), ("native-chunk", "b")]
    assert chunks[-1].decision.answered_by == "echo-model"


def test_over_targets_maps_names_to_the_catalog_or_asks_for_specs():
    from langroute import ConfigError, Router

    router = Router.over_targets({"gpt-4o-mini": EchoTarget()})
    spec_ = router.registry.get("gpt-4o-mini")
    assert spec_.pricing.input == 0.15  # from the catalog
    assert [(d.provider, d.model_id) for d in spec_.all_deployments] == [("echo", "gpt-4o-mini")]
    pinned = Router.over_targets({"gpt-4o-mini-2024-07-18": EchoTarget()})
    assert pinned.registry.get("gpt-4o-mini-2024-07-18").pricing.output == 0.60  # by version
    with pytest.raises(ConfigError, match=r"candidate 'my-llm' is not in the model catalog") as e:
        Router.over_targets({"my-llm": EchoTarget()})
    assert str(e.value).endswith("'max_output_tokens': ...}}"), "a valid dict to copy"
    with pytest.raises(ConfigError) as e:  # described, with a typo: the typo is named
        Router.over_targets(
            {"my-llm": EchoTarget()},
            specs={"my-llm": {"pricng": {"input": 1, "output": 2}, "context_windw": 9000}},
        )
    assert "specs['my-llm'] has no 'pricing'" in str(e.value)
    assert "'pricng' (did you mean 'pricing'?), 'context_windw' (did you mean" in str(e.value)
    custom = Router.over_targets(
        {"my-llm": EchoTarget()},
        specs={"my-llm": {"pricing": {"input": 1, "output": 2}}},
        defaults=lambda name: {"context_window": 9000},
    )
    assert custom.registry.get("my-llm").context_window == 9000
    with pytest.raises(ConfigError, match="specs"):
        Router.over_targets(
            {"my-llm": EchoTarget()}, specs={"my-llm": {"pricing": {"input": -1, "output": 2}}}
        )


def test_a_misspelt_candidate_name_in_specs_is_pointed_out(caplog):
    """A specs entry for another name is allowed (one table for several routers), but one
    close to a candidate that has none is that candidate misspelt: its prices would not
    apply, silently."""
    from langroute import ConfigError, Router

    table = {"gpt-4o-mnii": {"pricing": {"input": 0.1, "output": 0.2}}, "claude-haiku-4-5": {}}
    with caplog.at_level("WARNING", logger="langroute.router"):
        router = Router.over_targets({"gpt-4o-mini": EchoTarget()}, specs=table)
    assert router.registry.get("gpt-4o-mini").pricing.input == 0.15, "the catalog's applies"
    [warning] = [r.getMessage() for r in caplog.records if "shut down" not in r.getMessage()]
    assert "specs['gpt-4o-mnii'] names no candidate" in warning
    assert "did you mean 'gpt-4o-mini'?" in warning
    with pytest.raises(ConfigError, match=r"\(specs has 'my-lm': did you mean that name\?\)"):
        Router.over_targets({"my-llm": EchoTarget()}, specs={"my-lm": {"pricing": {}}})


def test_candidates_calling_one_model_are_not_silently_merged():
    from langroute import ConfigError
    from langroute.router import named_candidates

    targets = [("gpt-4o-mini", 1), ("gpt-4o-mini", 2)]
    with pytest.raises(ConfigError, match=r"two of X's models call 'gpt-4o-mini'.*'gpt-4o-mini-2'"):
        named_candidates(targets, lambda t: t[0], owner="X")
    assert named_candidates({"a": 1, "b": 2}, str, owner="X") == {"a": 1, "b": 2}
    with pytest.raises(ConfigError, match="models is empty: give X at least one model"):
        named_candidates([], str, owner="X")


def test_a_policy_or_strategy_given_by_name_is_refused_at_once():
    from langroute import ConfigError, Router

    with pytest.raises(
        ConfigError, match=r"strategy must be a Strategy object .*'cascade'.*config"
    ):
        Router(["gpt-4o-mini"], strategy="cascade")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"policy must be a Policy object .*got object"):
        Router(["gpt-4o-mini"], policy=object())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="classifier must be a Classifier object"):
        Router(["gpt-4o-mini"], classifier="rules")  # type: ignore[arg-type]


async def test_sync_api_works_inside_a_running_event_loop(aserver):
    """Sync calls from code that already runs a loop (notebooks, async apps) go to the shared
    background loop instead of this thread's private one."""
    router = two_models(aserver)
    assert router.chat("hello").content == "cheap answer"
    assert "".join(c.content for c in router.stream("hello")) == "cheap answer"


def test_sync_calls_from_many_threads(server):
    from concurrent.futures import ThreadPoolExecutor

    router = two_models(server)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: router.chat(f"hello {i}").content, range(32)))
    assert answers == ["cheap answer"] * 32


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc")
def test_threads_and_loops_that_end_leave_no_sockets_open(server):
    """Each thread that calls the sync API, and each `asyncio.run` (a task queue's worker),
    has a loop of its own with an HTTP client of its own. Before, each left its sockets open
    for good when it ended, and a thread's loop waited for the collector. Now an ended
    thread's loop is kept for the next thread, and only `IDLE_LOOPS_KEPT` of them."""
    from langroute import _sync

    router = two_models(server)
    router.chat("warm up")
    before = _open_files()
    loops = []

    def call(i: int) -> None:
        router.chat(f"hello {i}")
        private = _sync._thread_loop()
        assert private is not None
        loops.append(private.loop)

    for i in range(20):
        thread = threading.Thread(target=call, args=(i,))
        thread.start()
        thread.join()
    for i in range(20):
        asyncio.run(router.achat(f"hello {i}"))
    gc.collect()
    assert len(loops) == 20 and len(set(loops)) == 1  # one after the other: one loop
    assert _open_files() - before < 10
    together = threading.Barrier(_sync.IDLE_LOOPS_KEPT + 8)

    def call_together(i: int) -> None:
        together.wait()  # each thread is running when the others call: a loop each
        call(i)
        together.wait()  # none ends (giving its loop back) before all have called

    many = [threading.Thread(target=call_together, args=(i,)) for i in range(together.parties)]
    for thread in many:
        thread.start()
    for thread in many:
        thread.join()
    gc.collect()
    assert len(_sync._idle) == _sync.IDLE_LOOPS_KEPT
    assert sum(loop.is_closed() for loop in set(loops)) >= 8


def test_short_lived_threads_reuse_the_connections_of_ended_ones(server):
    """Sync calls from threads that start and end (LangChain's `batch`, `RunnableParallel`,
    a thread per web request) each opened a new connection — a TLS handshake against a real
    provider — and built a new client (~20 ms, most of it loading the CA bundle). Now a new
    thread runs on a loop an ended thread left, with its connections."""
    from concurrent.futures import ThreadPoolExecutor

    router = two_models(server)
    router.chat("warm up")
    server.reset()
    for i in range(10):
        thread = threading.Thread(target=router.chat, args=(f"hello {i}",))
        thread.start()
        thread.join()
    assert server.count() == 10 and server.connections() == 1
    server.reset()

    def call(barrier: threading.Barrier) -> str:
        barrier.wait()  # four calls at once: four connections
        return router.chat("hello").content

    for _ in range(3):
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert list(pool.map(call, [threading.Barrier(4)] * 4)) == ["cheap answer"] * 4
    assert server.count() == 12 and server.connections() == 4


def test_a_sync_stream_is_read_to_its_end_from_any_thread(server):
    """A sync stream ran on its caller thread's loop. Read from another thread (Starlette
    reads a sync `StreamingResponse` from any of its workers), it failed with "This event
    loop is already running" while its first thread made another call, and with "Event loop
    is closed" once that thread had ended (after four tracebacks printed at its end)."""
    router = two_models(server)
    server.add("cheap", Reply(" ".join(f"w{i}" for i in range(12)), tokens_per_s=400))
    chunks: list[Any] = []
    first = threading.Event()
    answers: list[str] = []

    def begin_then_keep_calling() -> None:
        chunks.append(router.stream("hello"))
        chunks.append(next(chunks[0]))
        first.set()
        answers.extend(router.chat(f"more {i}").content for i in range(4))

    thread = threading.Thread(target=begin_then_keep_calling)
    thread.start()
    first.wait(10)
    rest = [c.content for c in chunks[0]]  # meanwhile its first thread calls again
    thread.join()
    text = chunks[1].content + "".join(rest)
    assert text == " ".join(f"w{i}" for i in range(12))
    assert len(answers) == 4

    half = threading.Thread(target=lambda: chunks.__setitem__(0, router.stream("hello")))
    half.start()
    half.join()  # began (not read) by a thread that has ended
    assert "".join(c.content for c in chunks[0]) == text


def test_a_script_that_calls_the_sync_api_exits_with_everything_closed(tmp_path):
    """The main thread's loop and a thread pool's loops are closed with their clients'
    sockets before the interpreter ends (before, the collector closed them at exit, after
    their sockets, and an `Exception ignored ... Invalid file descriptor` could be printed)."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            from concurrent.futures import ThreadPoolExecutor
            from langroute.testing import Reply, ScriptedServer
            from tests.conftest import TEST_KEY, make_router, spec

            with ScriptedServer(api_key=TEST_KEY) as server:
                server.add("cheap", Reply("ok"))
                router = make_router(server, [spec("cheap", price=(0.1, 0.2))])
                assert router.chat("hi").content == "ok"
                with ThreadPoolExecutor(4) as pool:
                    assert set(pool.map(lambda i: router.chat(str(i)).content, range(8))) == {"ok"}
            print("done")
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr
    assert "ResourceWarning" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_forked_workers_call_audit_and_budget_on_their_own(tmp_path):
    """A router used before fork() (gunicorn --preload, Celery's prefork pool), then in each
    child. Before, each child's first call failed (its loop's selector and the connection
    were the parent's: "File exists"), and every audit record of a child was lost (the
    writer thread stayed in the parent) while the child waited at exit for it."""
    script = tmp_path / "forks.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, os, time
            from langroute import AuditLog, Budget, Budgets
            from langroute.audit import JSONLAuditSink
            from langroute.state import SQLiteBudgets
            from langroute.testing import Reply, ScriptedServer
            from tests.conftest import TEST_KEY, make_router, spec

            audit_path, db = {str(tmp_path / "audit.jsonl")!r}, {str(tmp_path / "b.db")!r}
            with ScriptedServer(api_key=TEST_KEY) as server:
                server.add("cheap", Reply("ok", prompt_tokens=10, completion_tokens=10))
                budgets = Budgets([Budget(limit_usd=100, per="tenant")], SQLiteBudgets(db))
                router = make_router(
                    server,
                    [spec("cheap", price=(1000, 1000))],
                    audit=AuditLog(JSONLAuditSink(audit_path)),
                    budgets=budgets,
                )
                assert router.chat("parent", tenant="t").content == "ok"
                router.audit.flush()
                children = []
                for k in range(2):
                    pid = os.fork()
                    if pid == 0:
                        started, failed = time.monotonic(), 0
                        for i in range(4):
                            try:
                                router.chat(f"child {{k}} {{i}}", tenant="t")
                            except Exception:
                                failed += 1
                        try:
                            asyncio.run(router.achat(f"child {{k}} async", tenant="t"))
                        except Exception:
                            failed += 1
                        router.audit.flush(timeout_s=5)
                        os._exit(10 * failed + (time.monotonic() - started > 4))
                    children.append(pid)
                codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in children]
                [state] = budgets.states(router.request("x", tenant="t").features, ["cheap"])
            with open(audit_path) as f:
                records = len(f.read().splitlines())
            print(codes, records, round(state.spent_usd, 6), state.held_usd)
            """
        )
    )
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    assert run.returncode == 0, run.stderr
    # 11 calls of 20 tokens at $1000 per million: 0.02 each
    assert run.stdout.split() == ["[0,", "0]", "11", "0.22", "0.0"], run.stdout + run.stderr


def test_all_models_failed_is_typed_even_with_no_error_to_hold():
    """An exception group cannot be empty: the typed error still comes, never a ValueError."""
    from langroute import ProviderError

    error = AllModelsFailed("nothing was tried", [])
    assert [type(e) for e in error.exceptions] == [ProviderError]
    assert "nothing was tried" in str(error)
