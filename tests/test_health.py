"""Deployment health and circuit breakers: the state machine on a fake clock, and the router
routing around an ejected deployment over real HTTP."""

from __future__ import annotations

import asyncio

import pytest

from langroute import (
    AllModelsFailed,
    HealthConfig,
    InMemoryHealth,
    OpenAIProvider,
    Registry,
    RetryPolicy,
    Router,
)
from langroute.testing import Fail, Reply, ScriptedServer
from tests.conftest import TEST_KEY, spec


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


STORES = ["memory", "sqlite", "redis"]


def fresh_namespace() -> str:
    import uuid

    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path):
    """A health store factory — in this process, a SQLite file or Redis: the same suite
    runs on each."""
    from langroute.state import RedisHealth, SQLiteHealth

    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def make(**config: float) -> tuple[object, Clock]:
        clock = Clock()
        cfg = HealthConfig(**config)
        if request.param == "memory":
            return InMemoryHealth(cfg, clock=clock), clock
        if request.param == "sqlite":
            return SQLiteHealth(tmp_path / "state.db", cfg, clock=clock), clock
        return RedisHealth(url, cfg, clock=clock, namespace=fresh_namespace()), clock

    return make


def fail(health: InMemoryHealth, key: str, times: int, group: str = "m") -> None:
    for _ in range(times):
        assert health.started(key)
        health.failed(group, key)


def test_breaker_opens_probes_once_and_closes(store) -> None:
    health, clock = store(failures_to_open=3, base_ejection_s=10)
    keys = ["m@a", "m@b"]
    assert health.allowed("m", keys) == keys
    fail(health, "m@a", 2)
    assert health.snapshot("m@a").state == "closed"
    fail(health, "m@a", 1)
    snap = health.snapshot("m@a")
    assert (snap.state, snap.ejections, snap.open_for_s) == ("open", 1, 10)
    assert health.allowed("m", keys) == ["m@b"]
    clock.now += 10
    assert health.allowed("m", keys) == keys
    assert health.started("m@a"), "the single probe"
    assert not health.started("m@a"), "a second call may not probe at the same time"
    health.succeeded("m@a", 120.0)
    snap = health.snapshot("m@a")
    assert (snap.state, snap.consecutive_failures, snap.latency_ms) == ("closed", 0, 120.0)


def test_repeated_ejections_grow_and_are_capped(store) -> None:
    health, clock = store(failures_to_open=1, base_ejection_s=5, max_ejection_s=12)
    health.allowed("m", ["m@a", "m@b"])
    fail(health, "m@a", 1)
    assert health.snapshot("m@a").open_for_s == 5
    for expected in (10, 12, 12):
        clock.now += 100
        assert "m@a" in health.allowed("m", ["m@a", "m@b"])
        fail(health, "m@a", 1)  # the probe fails: open again, for longer
        assert health.snapshot("m@a").open_for_s == expected


def test_a_model_is_never_ejected_entirely(store) -> None:
    health, _ = store(failures_to_open=1, max_ejected_share=1.0)
    keys = ["m@a", "m@b"]
    health.allowed("m", keys)
    fail(health, "m@a", 1)
    fail(health, "m@b", 3)
    assert health.snapshot("m@a").state == "open"
    assert health.snapshot("m@b").state == "closed", "the last deployment stays in"
    assert health.allowed("m", keys) == ["m@b"]


def test_a_429_cools_a_deployment_down_for_retry_after(store) -> None:
    health, clock = store()
    health.allowed("m", ["m@a", "m@b"])
    assert health.started("m@a")
    health.failed("m", "m@a", retry_after_s=30)
    snap = health.snapshot("m@a")
    assert (snap.state, snap.ejections, snap.open_for_s) == ("open", 0, 30)
    clock.now += 30
    assert health.allowed("m", ["m@a", "m@b"]) == ["m@a", "m@b"]


def two_deployment_router(server: ScriptedServer, health: InMemoryHealth, *extra: str) -> Router:
    registry = Registry()
    registry.register(
        spec(
            "m",
            provider="p1",
            deployments=[
                {"provider": "p1", "model_id": "m-a"},
                {"provider": "p2", "model_id": "m-b"},
            ],
        )
    )
    for name in extra:
        registry.register(spec(name, provider="p1", price=(5.0, 10.0)))
    providers = {
        name: OpenAIProvider(name=name, base_url=server.openai_url, api_key=TEST_KEY)
        for name in ("p1", "p2")
    }
    return Router(
        ["m", *extra],
        registry=registry,
        providers=providers,
        retry=RetryPolicy(attempts=1),
        health=health,
    )


async def test_the_router_routes_around_an_ejected_deployment(aserver: ScriptedServer) -> None:
    health = InMemoryHealth(HealthConfig(failures_to_open=3, base_ejection_s=0.3))
    aserver.add("m-a", Fail(500))
    aserver.add("m-b", Reply("from b"))
    router = two_deployment_router(aserver, health)
    for _ in range(3):
        assert (await router.achat("hi")).provider == "p2"
    assert health.snapshot("m@p1/m-a").state == "open"
    answer = await router.achat("hi")
    assert answer.provider == "p2"
    assert [a.provider for a in answer.decision.attempts] == ["p2"], "no call to the ejected one"
    assert aserver.count("m-a") == 3
    aserver.add("m-a", Reply("from a"))
    await asyncio.sleep(0.35)
    probe = await router.achat("hi")
    assert probe.provider == "p1", "the half-open probe goes through and succeeds"
    assert health.snapshot("m@p1/m-a").state == "closed"
    assert (await router.achat("hi")).content == "from a"
    await router.aclose()


async def test_an_ejected_model_falls_back_with_a_typed_error(aserver: ScriptedServer) -> None:
    health = InMemoryHealth(HealthConfig(failures_to_open=1, base_ejection_s=30))
    aserver.add("m-a", Fail(503))
    aserver.add("m-b", Fail(503))
    aserver.add("backup", Reply("backup"))
    router = two_deployment_router(aserver, health, "backup")
    first = await router.achat("hi")
    assert first.model == "backup"
    second = await router.achat("hi")
    assert second.model == "backup"
    kinds = [(a.model, a.provider, a.error_type) for a in second.decision.attempts]
    assert kinds[0] == ("m", "p2", "ServerError"), "one deployment stays in: it is tried"
    lone = InMemoryHealth(HealthConfig(failures_to_open=1, base_ejection_s=30))
    registry = Registry()
    registry.register(spec("solo", provider="p1"))
    aserver.add("solo", Fail(500))
    solo = Router(
        ["solo"],
        registry=registry,
        retry=RetryPolicy(attempts=1),
        health=lone,
        providers={"p1": OpenAIProvider(name="p1", base_url=aserver.openai_url, api_key=TEST_KEY)},
    )
    with pytest.raises(AllModelsFailed):
        await solo.achat("hi")
    with pytest.raises(AllModelsFailed) as caught:
        await solo.achat("hi")
    assert [type(e).__name__ for e in caught.value.exceptions] == ["CircuitOpen"]
    assert aserver.count("solo") == 1, "the open circuit made no call"
    await router.aclose()
    await solo.aclose()


# --- rate limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORES)
def test_token_buckets_refill_and_settle(
    kind: str, tmp_path, request: pytest.FixtureRequest
) -> None:
    from langroute import InMemoryRateLimits
    from langroute.state import RedisRateLimits, SQLiteRateLimits

    clock = Clock()
    if kind == "memory":
        limits = InMemoryRateLimits(clock=clock)
    elif kind == "sqlite":
        limits = SQLiteRateLimits(tmp_path / "limits.db", clock=clock)
    else:
        limits = RedisRateLimits(
            request.getfixturevalue("redis_url"), clock=clock, namespace=fresh_namespace()
        )
    assert limits.try_acquire("k", rpm=2, tpm=None, tokens=10)
    assert limits.try_acquire("k", rpm=2, tpm=None, tokens=10)
    assert not limits.try_acquire("k", rpm=2, tpm=None, tokens=10)
    clock.now += 30  # rpm 2 refills one request per 30 s
    assert limits.try_acquire("k", rpm=2, tpm=None, tokens=10)
    assert limits.try_acquire("t", rpm=None, tpm=1000, tokens=600)
    assert not limits.try_acquire("t", rpm=None, tpm=1000, tokens=600)
    limits.settle("t", tpm=1000, delta_tokens=-500)  # the call used 100, not 600
    assert limits.try_acquire("t", rpm=None, tpm=1000, tokens=600)
    limits.settle("t", tpm=1000, delta_tokens=2000)  # a long answer puts it in debt
    clock.now += 30
    assert not limits.try_acquire("t", rpm=None, tpm=1000, tokens=100)


def limited_router(server: ScriptedServer, rpm: int, *extra: str) -> Router:
    from langroute import InMemoryRateLimits

    registry = Registry()
    registry.register(spec("capped", provider="p1", rpm=rpm))
    for name in extra:
        registry.register(spec(name, provider="p1", price=(5.0, 10.0)))
    provider = OpenAIProvider(name="p1", base_url=server.openai_url, api_key=TEST_KEY)
    return Router(
        ["capped", *extra],
        registry=registry,
        providers={"p1": provider},
        retry=RetryPolicy(attempts=1),
        limits=InMemoryRateLimits(),
    )


async def test_an_rpm_limit_holds_under_concurrency(aserver: ScriptedServer) -> None:
    aserver.add("capped", Reply("capped", ttft_s=0.05))
    aserver.add("backup", Reply("backup"))
    router = limited_router(aserver, 5, "backup")
    answers = await asyncio.gather(*(router.achat("hi") for _ in range(20)))
    assert aserver.count("capped") == 5, "the server's own count: never over the limit"
    assert sorted(a.model for a in answers).count("backup") == 15
    skipped = next(a for a in answers if a.model == "backup").decision.attempts[0]
    assert (skipped.model, skipped.error_type) == ("capped", "LimitExhausted")
    alone = limited_router(aserver, 1)
    await alone.achat("hi")
    with pytest.raises(AllModelsFailed) as caught:
        await alone.achat("hi")
    assert [type(e).__name__ for e in caught.value.exceptions] == ["LimitExhausted"]
    await router.aclose()
    await alone.aclose()


async def test_a_tpm_claim_counts_the_prompt_in_the_models_own_tokens(
    aserver: ScriptedServer,
) -> None:
    """A model whose tokenizer cuts text finer (Anthropic's: `prompt_token_factor`) takes
    that many more tokens from its tpm bucket, so concurrent calls cannot pass the limit
    the provider counts in its own tokens."""
    from langroute import InMemoryRateLimits

    prompt = "Name three rivers of Europe and say which sea each flows into. " * 4
    counted = Router(["gpt-4o-mini"]).request(prompt).features.prompt_tokens
    answer = 20
    aserver.add("fine", Reply("ok", ttft_s=0.05))
    aserver.add("backup", Reply("backup"))

    async def concurrent_calls(factor: float) -> list[str]:
        registry = Registry()
        # room for two claims counted in o200k tokens, for one in the model's own
        tpm = 2 * (counted + answer) + 5
        registry.register(spec("fine", provider="p1", tpm=tpm, prompt_token_factor=factor))
        registry.register(spec("backup", provider="p1", price=(5.0, 10.0)))
        router = Router(
            ["fine", "backup"],
            registry=registry,
            providers={
                "p1": OpenAIProvider(name="p1", base_url=aserver.openai_url, api_key=TEST_KEY)
            },
            retry=RetryPolicy(attempts=1),
            limits=InMemoryRateLimits(),
        )
        try:
            answers = await asyncio.gather(
                *(router.achat(prompt, max_tokens=answer) for _ in range(2))
            )
        finally:
            await router.aclose()
        return sorted(a.model for a in answers)

    assert await concurrent_calls(1.0) == ["fine", "fine"]
    assert await concurrent_calls(1.5) == ["backup", "fine"]


# --- balancing across deployments -------------------------------------------------------------


def arbitrage_router(server: ScriptedServer, balance: str, health: InMemoryHealth | None = None):
    registry = Registry()
    registry.register(
        spec(
            "m",
            provider="p1",
            deployments=[
                {"provider": "p1", "model_id": "m-dear", "pricing": {"input": 3, "output": 9}},
                {"provider": "p2", "model_id": "m-cheap", "pricing": {"input": 1, "output": 2}},
            ],
        )
    )
    providers = {
        name: OpenAIProvider(name=name, base_url=server.openai_url, api_key=TEST_KEY)
        for name in ("p1", "p2")
    }
    return Router(
        ["m"],
        registry=registry,
        providers=providers,
        balance=balance,
        retry=RetryPolicy(attempts=1),
        health=health,
    )


async def test_provider_arbitrage_and_balancing(aserver: ScriptedServer) -> None:
    from langroute.errors import ConfigError

    aserver.add("m-dear", Reply("dear", ttft_s=0.05))
    aserver.add("m-cheap", Reply("cheap"))
    cheapest = arbitrage_router(aserver, "cheapest")
    assert (await cheapest.achat("hi")).provider == "p2", "same model, cheapest provider first"
    health = InMemoryHealth()
    fastest = arbitrage_router(aserver, "latency", health)
    for _ in range(4):
        await fastest.achat("hi")
    assert health.snapshot("m@p2/m-cheap").latency_ms < health.snapshot("m@p1/m-dear").latency_ms
    assert (await fastest.achat("hi")).provider == "p2", "the faster deployment first"
    weighted = arbitrage_router(aserver, "weighted")
    providers = {(await weighted.achat("hi")).provider for _ in range(30)}
    assert providers == {"p1", "p2"}, "equal weights spread the calls"
    with pytest.raises(ConfigError, match="balance"):
        arbitrage_router(aserver, "round-robin-ish")
    for r in (cheapest, fastest, weighted):
        await r.aclose()


async def test_fault_injection_loses_no_request_and_the_breaker_recovers() -> None:
    from langroute.testing.faults import run_faults

    report = await run_faults(requests=800, concurrency=50, fault_rate=0.2)
    assert report.lost == 0
    assert report.errors_without_attempts == 0
    assert report.answered + sum(report.typed_errors.values()) == 800
    # Most calls are answered; how many depends on the machine's load (timeouts are 1 s).
    assert report.answered >= 0.8 * 800
    assert report.breaker_opened
    assert report.breaker_closed_after_recovery
    assert report.broken_calls_during_outage < 0.5 * 400, "the breaker kept traffic away"
    assert set(report.served_by) == {"p0", "p1", "p2"}


async def test_a_hedged_request_takes_the_first_answer_and_bills_both(
    aserver: ScriptedServer,
) -> None:
    import time

    registry = Registry()
    registry.register(
        spec(
            "m",
            provider="p1",
            deployments=[
                {"provider": "p1", "model_id": "m-slow"},
                {"provider": "p2", "model_id": "m-fast"},
            ],
        )
    )
    providers = {
        name: OpenAIProvider(name=name, base_url=aserver.openai_url, api_key=TEST_KEY)
        for name in ("p1", "p2")
    }
    router = Router(
        ["m"],
        registry=registry,
        providers=providers,
        hedge_after_ms=50,
        retry=RetryPolicy(attempts=1),
    )
    aserver.add("m-slow", Reply("slow", ttft_s=0.8))
    aserver.add("m-fast", Reply("fast"))
    started = time.perf_counter()
    completion = await router.achat("hi")
    assert time.perf_counter() - started < 0.5
    assert completion.content == "fast"
    outcomes = [(a.provider_model, a.outcome) for a in completion.decision.attempts]
    assert sorted(outcomes) == [("m-fast", "ok"), ("m-slow", "aborted")]
    assert completion.cost_usd == pytest.approx(completion.decision.actual_cost_usd)
    assert all(a.cost_usd > 0 for a in completion.decision.attempts), "the hedge is billed too"
    aserver.add("m-slow", Reply("quick now"))
    calm = await router.achat("hi")
    assert calm.content == "quick now"
    assert len(calm.decision.attempts) == 1, "no hedge when the first answers in time"
    with pytest.raises(Exception, match="hedge_after_ms"):
        Router(["m"], registry=registry, providers=providers, hedge_after_ms=0)
    await router.aclose()


def test_sqlite_state_survives_a_restart(tmp_path) -> None:
    from langroute.state import SQLiteHealth, SQLiteRateLimits

    path = tmp_path / "state.db"
    first = SQLiteHealth(path, HealthConfig(failures_to_open=1, base_ejection_s=60))
    first.allowed("m", ["m@a", "m@b"])
    assert first.started("m@a")
    first.failed("m", "m@a")
    again = SQLiteHealth(path)
    assert again.snapshot("m@a").state == "open"
    assert again.allowed("m", ["m@a", "m@b"]) == ["m@b"]
    limits = SQLiteRateLimits(path)
    assert limits.try_acquire("k", rpm=1, tpm=None, tokens=1)
    assert not SQLiteRateLimits(path).try_acquire("k", rpm=1, tpm=None, tokens=1)


CHILD = """
import asyncio, sys
from langroute import OpenAIProvider, Registry, RetryPolicy, Router
from langroute.registry import ModelSpec
from langroute.state import SQLiteRateLimits
from langroute.errors import AllModelsFailed

url, db, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
registry = Registry()
registry.register(ModelSpec(name="capped", provider="p", context_window=8000,
                            max_output_tokens=1000, pricing={"input": 1, "output": 2}, rpm=30))
router = Router(["capped"], registry=registry, retry=RetryPolicy(attempts=1),
                providers={"p": OpenAIProvider(name="p", base_url=url, api_key="k")},
                limits=SQLiteRateLimits(db))

async def main():
    ok = 0
    for _ in range(calls):
        try:
            await router.achat("hi")
            ok += 1
        except AllModelsFailed:
            pass
    print(ok)

asyncio.run(main())
"""


def run_four(child: str, where: str) -> tuple[int, int, float]:
    """Four processes each calling the rpm-30 model 25 times through a shared store:
    (calls they saw accepted, calls the scripted server received, seconds)."""
    import subprocess
    import sys
    import time

    from langroute.testing import ScriptedServer

    with ScriptedServer() as server:
        server.add("capped", Reply("ok"))
        started = time.time()
        children = [
            subprocess.Popen(
                [sys.executable, "-c", child, server.openai_url, where, "25"],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        accepted = sum(int(c.communicate(timeout=120)[0].strip()) for c in children)
        return accepted, server.count("capped"), time.time() - started


def test_four_processes_share_one_rpm_limit_through_sqlite(tmp_path) -> None:
    accepted, reached, elapsed = run_four(CHILD, str(tmp_path / "shared.db"))
    # rpm 30: a full bucket of 30, refilled at 0.5 calls/s while the run lasts
    allowed = 30 + int(elapsed * 30 / 60) + 1
    assert reached == accepted, "every accepted call reached the server, no other did"
    assert reached <= allowed, f"{reached} calls in {elapsed:.1f}s exceed rpm 30"
    assert reached >= 30, "the budget itself was used"


def test_redis_unreachable_fails_closed_or_degrades_never_hangs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket
    import time

    from langroute.state import RedisHealth, RedisRateLimits, StateUnavailable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{sock.getsockname()[1]}/0"  # nothing listens there
    strict = RedisRateLimits(dead, on_unavailable="fail")
    started = time.perf_counter()
    with pytest.raises(StateUnavailable, match="unreachable"):
        strict.try_acquire("k", rpm=10, tpm=None, tokens=1)
    assert time.perf_counter() - started < 2.0
    started = time.perf_counter()
    with pytest.raises(StateUnavailable, match="still down"):
        strict.try_acquire("k", rpm=10, tpm=None, tokens=1)
    assert time.perf_counter() - started < 0.05, "no second timeout while Redis is known down"
    lenient = RedisRateLimits(dead, on_unavailable="local")
    assert lenient.try_acquire("k", rpm=1, tpm=None, tokens=1)
    assert not lenient.try_acquire("k", rpm=1, tpm=None, tokens=1), "local limits still hold"
    assert "using this process's own state" in caplog.text
    health = RedisHealth(dead, on_unavailable="local")
    assert health.allowed("m", ["m@a"]) == ["m@a"]
    with pytest.raises(StateUnavailable):
        RedisHealth(dead).snapshot("m@a")


CHILD_REDIS = CHILD.replace(
    "from langroute.state import SQLiteRateLimits", "from langroute.state import RedisRateLimits"
).replace("limits=SQLiteRateLimits(db)", "limits=RedisRateLimits(db, namespace='shared')")


def test_four_processes_share_one_rpm_limit_through_redis(redis_url: str) -> None:
    accepted, reached, elapsed = run_four(CHILD_REDIS, redis_url)
    allowed = 30 + int(elapsed * 30 / 60) + 1
    assert reached == accepted
    assert 30 <= reached <= allowed, f"{reached} calls in {elapsed:.1f}s against rpm 30"


async def test_stores_that_do_io_never_block_the_event_loop(aserver: ScriptedServer) -> None:
    import time

    class SlowHealth(InMemoryHealth):
        """A store whose every call takes 100 ms of blocking I/O (like a slow Redis)."""

        blocking = True

        def allowed(self, group, keys):
            time.sleep(0.1)
            return super().allowed(group, keys)

        def started(self, key):
            time.sleep(0.1)
            return super().started(key)

    health = SlowHealth()
    aserver.add("m-a", Reply("a"))
    aserver.add("m-b", Reply("b"))
    router = two_deployment_router(aserver, health)
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        for _ in range(40):
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    answer, _ = await asyncio.gather(router.achat("hi"), ticker())
    assert answer.content == "a"
    assert max(gaps) < 0.08, f"the loop stalled for {max(gaps):.3f}s on a blocking store"
    await router.aclose()


def _open_limits_at(path: str, start: float) -> str:
    import time

    from langroute.state import SQLiteRateLimits

    while time.time() < start:
        pass
    try:
        SQLiteRateLimits(path)
        return "ok"
    except Exception as exc:  # reported, not raised: the parent counts them
        return f"{type(exc).__name__}: {exc}"


def test_sqlite_stores_opened_by_many_processes_at_once_all_open(tmp_path):
    """Switching a new file to WAL needs an exclusive lock that SQLite does not wait for:
    processes starting together failed with "database is locked" (~1 % of opens here)."""
    import multiprocessing
    import time

    failures = []
    with multiprocessing.get_context("forkserver").Pool(8) as pool:
        for i in range(25):
            start = time.time() + 0.2
            args = [(str(tmp_path / f"limits-{i}.db"), start)] * 8
            failures += [r for r in pool.starmap(_open_limits_at, args) if r != "ok"]
    assert failures == []
