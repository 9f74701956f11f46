"""Budgets: reserve the worst case, settle the real cost, release on failure or
cancellation, never overspend — in one process, on SQLite and across processes on Redis."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langroute import AllModelsFailed, Budget, BudgetExceeded, Budgets, ModelSpec, RoutingRequest
from langroute.errors import ConfigError
from langroute.policy.base import PlanContext, RoutePlan, plan_from
from langroute.state import InMemoryBudgets, RedisBudgets, SQLiteBudgets
from langroute.state.budget import BudgetLine
from langroute.testing import Fail, Reply, ScriptedServer
from langroute.types import ChatParams
from tests.conftest import make_router, spec

STORES = ["memory", "sqlite", "redis"]


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path):
    url = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def make(clock: Clock):
        if request.param == "memory":
            return InMemoryBudgets(clock)
        if request.param == "sqlite":
            return SQLiteBudgets(tmp_path / "budgets.db", clock)
        return RedisBudgets(url, namespace=f"t-{uuid.uuid4().hex[:8]}", clock=clock)

    return make


def test_reservations_are_all_or_none_settle_and_expire(make_store) -> None:
    clock = Clock()
    store = make_store(clock)
    tenant = BudgetLine("tenant=a|day", limit=100, ttl_s=60)
    user = BudgetLine("user=u|day", limit=50, ttl_s=60)
    assert store.reserve([tenant, user], 30, "r1", clock.now + 10) is None
    refusal = store.reserve([tenant, user], 30, "r2", clock.now + 10)
    assert refusal is not None and refusal.line == user and refusal.held == 30
    assert store.usage([tenant.key, user.key]) == [(0, 30), (0, 30)], "r2 took nothing"
    store.settle([tenant, user], "r1", 12)
    assert store.usage([tenant.key, user.key]) == [(12, 0), (12, 0)]
    assert store.reserve([tenant], 80, "r3", clock.now + 10) is None  # a crashed worker's hold
    assert store.reserve([tenant], 10, "r4", clock.now + 10) is not None
    clock.now += 11
    assert store.usage([tenant.key]) == [(12, 0)], "the crashed worker's hold expired"
    assert store.reserve([tenant], 80, "r4", clock.now + 10) is None
    store.settle([tenant], "r4", 0)  # released: nothing spent
    assert store.usage([tenant.key]) == [(12, 0)]


def test_budget_configuration_is_validated() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Budget(limit_usd=1, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="limit_usd"):
        Budget(limit_usd=0)
    with pytest.raises(ValueError, match="per"):
        Budget(limit_usd=1, per="planet")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="at least one Budget"):
        Budgets([])


def test_periods_follow_the_configured_time_zone() -> None:
    # 2027-01-01 03:00 UTC is still 2026-12-31 in New York
    clock = Clock(1798772400.0)
    budgets = Budgets(
        [
            Budget(limit_usd=1, per="tenant", period="day", timezone="America/New_York"),
            Budget(limit_usd=5, per="tenant", period="month"),
        ],
        clock=clock,
    )
    request = RoutingRequest.build("hi", tenant="acme")
    keys = [line.key for _, line in budgets.lines(request.features, "m")]
    assert keys == [
        "tenant=acme|day:2026-12-31@America/New_York",
        "tenant=acme|month:2027-01@UTC",
    ]


def priced(name: str = "metered", price: float = 100.0, **extra) -> ModelSpec:
    return spec(name, price=(price, price), **extra)


def exact_reply(request_prompt_tokens: int, output: int = 100) -> Reply:
    """An answer whose real cost equals the worst case reserved for it."""
    return Reply(
        "x" * 10, prompt_tokens=math.ceil(request_prompt_tokens * 1.1), completion_tokens=output
    )


async def run_200(router, budgets: Budgets) -> tuple[int, list[BaseException]]:
    async def one(i: int):
        return await router.achat("hi", tenant="acme", max_tokens=100)

    results = await asyncio.gather(*(one(i) for i in range(200)), return_exceptions=True)
    ok = sum(1 for r in results if not isinstance(r, BaseException))
    return ok, [r for r in results if isinstance(r, BaseException)]


def test_a_hold_covers_a_prompt_written_to_the_providers_cache() -> None:
    """A ChatAnthropic or LlamaIndex Anthropic candidate may send `cache_control`: its whole
    prompt is then billed at the cache-write price (2x input for the 1-hour cache). The hold
    took the input price, so a call that also used its whole output allowance cost more than
    it held."""
    from langroute import Registry
    from langroute.types import Usage

    claude = Registry.builtin().get("claude-sonnet-4-5")
    features = RoutingRequest.build("word " * 2000, params=None).features
    features = features.model_copy(update={"max_output_tokens": 100})
    prompt = math.ceil(features.prompt_tokens * 1.1)
    written = Usage(
        prompt_tokens=prompt,
        completion_tokens=100,
        cache_write_tokens=prompt,
        cache_write_1h_tokens=prompt,
    )
    assert Budgets.worst_case_usd(features, claude, claude.pricing) >= claude.pricing.cost_of(
        written
    )


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_200_concurrent_calls_never_overspend_a_cap_that_affords_50(
    aserver: ScriptedServer, tmp_path, store: str
) -> None:
    model = priced()
    features = RoutingRequest.build("hi", tenant="acme", params=None).features
    aserver.add("metered", exact_reply(features.prompt_tokens))
    worst = Budgets.worst_case_usd(
        features.model_copy(update={"max_output_tokens": 100}), model, model.pricing
    )
    cap = 50 * worst
    ledger = InMemoryBudgets() if store == "memory" else SQLiteBudgets(tmp_path / "b.db")
    budgets = Budgets([Budget(limit_usd=cap, per="tenant")], ledger)
    router = make_router(aserver, [model], budgets=budgets)
    ok, errors = await run_200(router, budgets)
    assert all(isinstance(e, BudgetExceeded) for e in errors), errors[:3]
    assert ok == 50 and len(errors) == 150
    assert aserver.count("metered") == 50, "refused calls never reached the provider"
    refused = errors[0]
    assert isinstance(refused, BudgetExceeded)
    assert refused.budget.startswith("tenant=* per day (tenant=acme|day:")
    assert refused.limit_usd == pytest.approx(cap, abs=1e-6)
    assert "limit $" in str(refused) and "spent $" in str(refused)
    assert refused.decision.attempts[-1].error_type == "BudgetExceeded"
    await router.drain()  # settlements of SQLite stores run in the executor
    [state] = budgets.states(features.model_copy(update={"tenant": "acme"}), ["metered"])
    assert state.held_usd == 0, "every reservation settled"
    assert state.spent_usd <= cap + 1e-9
    assert state.spent_usd == pytest.approx(50 * worst, rel=1e-6)
    await router.aclose()


PROMPT = "Summarize the plot of Hamlet in two sentences and explain the ending. " * 4


async def test_a_provider_billing_more_prompt_tokens_than_counted_cannot_overspend(
    aserver: ScriptedServer,
) -> None:
    """Its tokenizer cuts text finer than o200k (or the count is the offline estimate): a
    hold of the counted prompt plus 10 % is too small, so concurrent calls near the cap
    would spend past it. After one call, holds use the billed-to-counted ratio seen."""
    counted = RoutingRequest.build(PROMPT, tenant="acme").features.prompt_tokens
    billed = 2 * counted
    aserver.add("metered", Reply("ok", prompt_tokens=billed, completion_tokens=1))
    model = priced()
    real = model.pricing.cost(billed, 1)
    budgets = Budgets([Budget(limit_usd=1000, per="tenant")])
    router = make_router(aserver, [model], budgets=budgets)
    await router.achat(PROMPT, tenant="acme", max_tokens=1)  # the first call shows the ratio
    assert budgets.prompt_margin(model) == pytest.approx(2.0)
    ledger = router.request("x", tenant="acme").features
    (first,) = budgets.states(ledger, ["metered"])
    cap = first.spent_usd + 20 * real + 1e-6
    capped = Budgets([Budget(limit_usd=cap, per="tenant")], budgets.store)
    capped.observe_prompt("metered", counted, billed)
    router.budgets = capped
    results = await asyncio.gather(
        *(router.achat(PROMPT, tenant="acme", max_tokens=1) for _ in range(100)),
        return_exceptions=True,
    )
    assert all(isinstance(r, BudgetExceeded) for r in results if isinstance(r, BaseException))
    await router.drain()
    (state,) = capped.states(ledger, ["metered"])
    assert state.held_usd == 0
    assert state.spent_usd <= cap, "holds of the counted prompt + 10 % spent 70 % past it"
    assert sum(not isinstance(r, BaseException) for r in results) >= 19
    await router.aclose()


def test_a_models_prompt_token_factor_sizes_its_holds_until_calls_show_the_ratio() -> None:
    budgets = Budgets([Budget(limit_usd=1000)])
    features = RoutingRequest.build(PROMPT, ChatParams(max_tokens=1)).features
    finer = priced("finer", prompt_token_factor=1.3)
    hold = budgets.reserve(features, finer, finer.pricing)
    assert hold.amount == math.ceil(
        Budgets.worst_case_usd(features, finer, finer.pricing, 1.1 * 1.3) * 1e6 - 1e-6
    )
    assert budgets.prompt_margin(finer) == pytest.approx(1.43)
    budgets.observe_prompt("finer", 1000, 1150)
    assert budgets.prompt_margin(finer) == pytest.approx(1.15)  # measured replaces the prior
    budgets.observe_prompt("finer", 10, 40)  # too short to teach anything
    assert budgets.prompt_margin(finer) == pytest.approx(1.15)
    budgets.observe_prompt("finer", 1000, 900)
    assert budgets.prompt_margin(finer) == pytest.approx(1.15)  # the largest recent ratio
    assert budgets.prompt_margin(priced()) == pytest.approx(1.1)
    for _ in range(50):  # an old spike leaves the window
        budgets.observe_prompt("finer", 1000, 1000)
    assert budgets.prompt_margin(finer) == pytest.approx(1.1)


async def test_failures_and_cancellations_release_their_hold(aserver: ScriptedServer) -> None:
    model = priced()
    budgets = Budgets([Budget(limit_usd=10, per="tenant")])
    router = make_router(aserver, [model], budgets=budgets)
    features = router.request("hi", tenant="t").features
    aserver.add("metered", Fail(400, "bad request"))
    with pytest.raises(AllModelsFailed):
        await router.achat("hi", tenant="t")
    assert budgets.states(features, ["metered"])[0].model_dump(
        include={"spent_usd", "held_usd"}
    ) == {
        "spent_usd": 0.0,
        "held_usd": 0.0,
    }
    aserver.models["metered"].default = Reply("slow", ttft_s=5)
    task = asyncio.create_task(router.achat("hi", tenant="t"))
    await asyncio.sleep(0.3)
    assert budgets.states(features, ["metered"])[0].held_usd > 0, "held while in flight"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0
    assert 0 < state.spent_usd < 0.01, "the cancelled call's prompt is billed, its hold freed"

    stream = router.astream("hi", tenant="t")
    aserver.models["metered"].default = Reply("abc", ttft_s=5)
    task = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert budgets.states(features, ["metered"])[0].held_usd == 0
    await router.aclose()


def test_a_sync_stream_left_early_frees_its_hold_at_once(server: ScriptedServer) -> None:
    """`break` out of a sync stream: every stream beneath it closes at that moment, so its
    hold is freed and what it delivered is billed. Before, the inner streams were left for
    the thread's loop to close when it next ran (the thread's next call) — in a thread that
    made no more calls, the money stayed held for good."""
    budgets = Budgets([Budget(limit_usd=100, per="tenant")])
    server.add("metered", Reply("word " * 200, tokens_per_s=500))
    router = make_router(server, [priced()], budgets=budgets)
    features = router.request("hi", tenant="t").features
    for i, _ in enumerate(router.stream("hi", tenant="t")):
        if i == 3:
            break
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0 and state.spent_usd > 0


async def test_an_async_stream_closed_early_frees_its_hold_when_closed(
    aserver: ScriptedServer,
) -> None:
    budgets = Budgets([Budget(limit_usd=100, per="tenant")])
    aserver.add("metered", Reply("word " * 200, tokens_per_s=500))
    router = make_router(aserver, [priced()], budgets=budgets)
    features = router.request("hi", tenant="t").features
    stream = router.astream("hi", tenant="t")
    for _ in range(3):
        await anext(stream)
    await stream.aclose()  # nothing else runs on the loop before the check
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0 and state.spent_usd > 0
    await router.aclose()


def settling_after(wait: Callable[[], object], path: Path) -> Budgets:
    """A $100-per-tenant budget in SQLite whose store runs `wait()` before each settlement:
    a slow or held store, to see what waits for it."""

    class SlowToSettle(SQLiteBudgets):
        def settle(self, lines, rid, amount) -> None:  # type: ignore[no-untyped-def]
            wait()
            super().settle(lines, rid, amount)

    return Budgets([Budget(limit_usd=100, per="tenant")], SlowToSettle(path))


def test_a_thread_that_ends_finishes_its_settlements_first(
    server: ScriptedServer, tmp_path
) -> None:
    """A sync call settles its hold off the response path (a worker thread of its loop).
    When the calling thread ended first, as LangChain's `batch` threads do, the settlement
    still ran but was never marked done: its future stayed in `PENDING` for good."""
    import threading
    import time

    from langroute.state.calls import PENDING

    budgets = settling_after(lambda: time.sleep(0.2), tmp_path / "b.db")
    server.add("metered", Reply("ok"))
    router = make_router(server, [priced()], budgets=budgets)
    features = router.request("hi", tenant="t").features
    before = set(PENDING)
    for _ in range(3):
        thread = threading.Thread(target=router.chat, args=("hi",), kwargs={"tenant": "t"})
        thread.start()
        thread.join()
    assert set(PENDING) <= before
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0 and state.spent_usd > 0


def test_a_sync_stream_ends_without_waiting_for_its_settlement(
    server: ScriptedServer, tmp_path
) -> None:
    """A sync stream runs on a loop of its own, kept for the next stream or thread when it
    ends. Its budget settlement still runs off the response path: the stream ends while a
    slow store settles, and the settlement is then made and marked done."""
    import threading
    import time

    from langroute._sync import run_sync
    from langroute.state.calls import PENDING

    released = threading.Event()
    budgets = settling_after(lambda: released.wait(10), tmp_path / "b.db")
    server.add("metered", Reply("one two three"))
    router = make_router(server, [priced()], budgets=budgets)
    features = router.request("hi", tenant="t").features
    started = time.monotonic()
    assert "".join(c.content for c in router.stream("hi", tenant="t")) == "one two three"
    assert time.monotonic() - started < 5  # it waited up to 5 s for the held settlement
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd > 0 and state.spent_usd == 0  # still settling
    released.set()
    thread = threading.Thread(target=router.chat, args=("again",), kwargs={"tenant": "t"})
    thread.start()  # runs on the stream's kept loop, and waits for its updates when it ends
    thread.join()
    run_sync(asyncio.sleep(0))
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0 and state.spent_usd > 0
    assert not [f for f in PENDING if not f.done()]


async def test_the_policy_turns_to_cheaper_models_near_the_cap(aserver: ScriptedServer) -> None:
    cheap, strong = (
        spec("cheap", price=(0.1, 0.1), quality=0.5),
        spec("strong", price=(10, 10), quality=0.95),
    )
    aserver.add("cheap", Reply("c"))
    aserver.add("strong", Reply("s"))
    budgets = Budgets([Budget(limit_usd=1.0, per="tenant", downgrade_at=0.8)])
    router = make_router(aserver, [cheap, strong], budgets=budgets)
    hard = "Prove that there are infinitely many primes, step by step, rigorously."
    first = await router.achat(hard, tenant="acme", hints={"min_quality": 0.9})
    assert first.decision.answered_by == "strong"
    budgets.store.settle(
        budgets.lines(first.decision.features, "strong")[0][1:], "seed", 850_000
    )  # $0.85 of $1 spent
    later = await router.achat(hard, tenant="acme")
    assert later.decision.answered_by == "cheap"
    assert "at 85% of $1: cheaper models first" in later.decision.reasons[0]
    assert later.decision.budgets[0].spent_usd == pytest.approx(0.85 + first.cost_usd)
    await router.aclose()


class InOrder:
    """Keeps the router's models in the order given (to test what happens to the first)."""

    name = "in-order"

    def rank(self, context: PlanContext) -> RoutePlan:
        return plan_from(self.name, context, [(e, ("listed first",)) for e in context.estimates])


async def test_model_caps_fall_back_and_per_request_caps_refuse(aserver: ScriptedServer) -> None:
    cheap, strong = spec("cheap", price=(0.1, 0.1)), spec("strong", price=(10, 10))
    aserver.add("cheap", Reply("c"))
    aserver.add("strong", Reply("s"))
    budgets = Budgets([Budget(limit_usd=0.001, per="model", only="strong")])
    router = make_router(aserver, [strong, cheap], budgets=budgets, policy=InOrder())
    answer = await router.achat("hi", max_tokens=500)
    assert answer.decision.answered_by == "cheap"
    assert [a.error_type for a in answer.decision.attempts] == ["BudgetExceeded", None]
    assert aserver.count("strong") == 0

    per_request = Budgets(per_request_usd=0.0001)
    router = make_router(aserver, [strong], budgets=per_request)
    with pytest.raises(BudgetExceeded, match="budget per request is exhausted") as info:
        await router.achat("hi", max_tokens=1000)
    assert info.value.needed_usd > 0.0001
    assert aserver.count("strong") == 0
    await router.aclose()


async def test_api_keys_are_budgeted_by_fingerprint_never_stored(aserver: ScriptedServer) -> None:
    secret = "sk-live-abcdef0123456789-caller"
    budgets = Budgets([Budget(limit_usd=1, per="api_key", period="month")])
    aserver.add("metered", Reply("ok"))
    router = make_router(aserver, [priced()], budgets=budgets)
    answer = await router.achat("hi", api_key=secret)
    assert answer.decision.features.api_key_id.startswith("key-")
    dumped = answer.decision.model_dump_json()
    assert secret not in dumped and answer.decision.features.api_key_id in dumped
    await router.aclose()


CHILD = """
import asyncio, sys
from langroute import Budget, Budgets, BudgetExceeded, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.registry import ModelSpec
from langroute.state import RedisBudgets

url, redis_url, ns, cap = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
go = sys.argv[5]
registry = Registry()
registry.register(ModelSpec(name="metered", provider="p", context_window=8000,
                            max_output_tokens=1000, pricing={"input": 100, "output": 100}))
budgets = Budgets([Budget(limit_usd=cap, per="tenant")], RedisBudgets(redis_url, namespace=ns))
router = Router(["metered"], registry=registry, retry=RetryPolicy(attempts=1), budgets=budgets,
                providers={"p": OpenAIProvider(name="p", base_url=url, api_key="k")})

async def one(i):
    await asyncio.sleep(i * 0.01)  # each process spreads its 50 calls over half a second
    try:
        await router.achat("hi", tenant="acme", max_tokens=100)
        return "ok"
    except BudgetExceeded:
        return "refused"
    except Exception as exc:
        return type(exc).__name__

async def main():
    import os
    print("READY", flush=True)
    while not os.path.exists(go):  # all four processes start together
        await asyncio.sleep(0.005)
    results = await asyncio.gather(*(one(i) for i in range(50)))
    print(results.count("ok"), results.count("refused"), len(results))

asyncio.run(main())
"""


def test_four_processes_share_one_budget_through_redis(redis_url: str, tmp_path) -> None:
    model = priced()
    features = RoutingRequest.build("hi", tenant="acme").features
    worst = Budgets.worst_case_usd(
        features.model_copy(update={"max_output_tokens": 100}), model, model.pricing
    )
    cap = 50 * worst
    ns = f"shared-{uuid.uuid4().hex[:8]}"
    go = tmp_path / "go"
    with ScriptedServer() as server:
        # answers take 0.3 s, so the processes' holds overlap while they compete
        slow = exact_reply(features.prompt_tokens)
        server.add("metered", dataclasses.replace(slow, ttft_s=0.3))
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, server.openai_url, redis_url, ns, repr(cap), str(go)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for child in children:  # each has imported everything and built its router
            assert child.stdout is not None and child.stdout.readline().strip() == "READY"
        go.touch()
        counts = [tuple(map(int, c.communicate(timeout=120)[0].split())) for c in children]
        reached = server.count("metered")
    ok = sum(c[0] for c in counts)
    refused = sum(c[1] for c in counts)
    assert sum(c[2] for c in counts) == 200
    assert ok + refused == 200, f"every call answered or refused with BudgetExceeded: {counts}"
    assert ok == reached == 50
    assert sum(1 for c in counts if c[0] > 0) >= 2, f"the processes competed: {counts}"
    budgets = Budgets([Budget(limit_usd=cap, per="tenant")], RedisBudgets(redis_url, namespace=ns))
    [state] = budgets.states(features, ["metered"])
    assert state.held_usd == 0, "every reservation settled"
    assert state.spent_usd <= cap + 1e-9


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["reserve", "settle", "release", "tick"]),
            st.integers(min_value=1, max_value=400),
            st.floats(min_value=0.0, max_value=1.0),
        ),
        max_size=60,
    )
)
@settings(max_examples=300, deadline=None)
def test_no_sequence_of_calls_overspends_or_leaks_a_hold(ops) -> None:
    """Whatever the interleaving of reservations, settlements at or below the hold,
    releases and expiries: spent + held never passes the limit, spent never does, and a
    hold never outlives its expiry."""
    clock = Clock()
    store = InMemoryBudgets(clock)
    line = BudgetLine("tenant=t|day", limit=1000, ttl_s=60)
    open_holds: dict[str, tuple[int, float]] = {}
    for i, (op, amount, fraction) in enumerate(ops):
        if op == "reserve":
            expires = clock.now + 30
            if store.reserve([line], amount, f"r{i}", expires) is None:
                open_holds[f"r{i}"] = (amount, expires)
        elif op in ("settle", "release") and open_holds:
            rid, (held, _) = open_holds.popitem()
            store.settle([line], rid, int(held * fraction) if op == "settle" else 0)
        elif op == "tick":
            clock.now += amount / 10
            open_holds = {r: h for r, h in open_holds.items() if h[1] > clock.now}
        [(spent, held)] = store.usage([line.key])
        assert spent + held <= line.limit
        assert held == sum(a for a, _ in open_holds.values())
