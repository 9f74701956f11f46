"""A fault-injection run: many concurrent calls through a `Router` against the scripted
server, with faults injected on a model's three deployments. Shared by the test suite
(small counts) and `benchmarks/bench_faults.py` (the full run).

Deployments `flaky-a` and `flaky-b` fail at `fault_rate` with a random fault (429 with
Retry-After, 500, 503, a timeout, malformed JSON, a stream dropped mid-way); `broken` (tried
first) fails every call until `recover_after` requests have been started, then answers.
Every call must end in an answer or in one typed error whose decision lists its attempts;
anything else is counted as lost.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from typing import Any

from pydantic import BaseModel

from langroute.errors import AllModelsFailed, StreamInterrupted
from langroute.providers import OpenAIProvider
from langroute.registry import ModelSpec, Registry
from langroute.retry import RetryPolicy
from langroute.router import Router
from langroute.state.health import HealthConfig, InMemoryHealth
from langroute.testing.script import CallInfo, DropStream, Fail, Hang, Malformed, Reply
from langroute.testing.server import ScriptedServer

ANSWER = "one two three four five six seven eight"


class FaultReport(BaseModel):
    requests: int
    concurrency: int
    fault_rate: float
    answered: int
    typed_errors: dict[str, int]
    lost: int
    errors_without_attempts: int
    served_by: dict[str, float]
    p50_ms: float
    p99_ms: float
    seconds: float
    breaker_opened: bool
    breaker_closed_after_recovery: bool
    broken_calls_during_outage: int
    """Calls that reached the broken deployment while it was down (the breaker keeps this
    far below the number of requests of that phase)."""


def faulty(rate: float, rng: random.Random, timeout_s: float) -> Any:
    faults = [
        Fail(429, "rate limited", retry_after=1),
        Fail(500),
        Fail(503),
        Hang(timeout_s * 4),
        Malformed(),
        DropStream(after_chunks=3, reply=Reply(ANSWER)),
    ]

    def respond(call: CallInfo) -> Any:
        if rng.random() < rate:
            fault = rng.choice(faults)
            if isinstance(fault, DropStream) and not call.stream:
                return Fail(502)
            return fault
        return Reply(ANSWER)

    return respond


async def run_faults(
    requests: int = 10_000,
    concurrency: int = 100,
    fault_rate: float = 0.2,
    *,
    stream_share: float = 0.3,
    timeout_s: float = 1.0,
    seed: int = 7,
) -> FaultReport:
    rng = random.Random(seed)
    recover_after = requests // 2
    started = 0

    def broken(call: CallInfo) -> Any:
        return Fail(503, "down") if started < recover_after else Reply(ANSWER)

    async with ScriptedServer() as server:
        server.add("flaky-a", faulty(fault_rate, rng, timeout_s))
        server.add("flaky-b", faulty(fault_rate, rng, timeout_s))
        server.add("broken", broken)
        registry = Registry()
        registry.register(
            ModelSpec(
                name="m",
                provider="p0",
                context_window=128_000,
                max_output_tokens=4096,
                pricing={"input": 1.0, "output": 2.0},
                deployments=[
                    {"provider": "p0", "model_id": "broken"},
                    {"provider": "p1", "model_id": "flaky-a"},
                    {"provider": "p2", "model_id": "flaky-b"},
                ],
            )
        )
        providers = {
            name: OpenAIProvider(
                name=name, base_url=server.openai_url, api_key="k", timeout=timeout_s
            )
            for name in ("p0", "p1", "p2")
        }
        health = InMemoryHealth(
            HealthConfig(failures_to_open=3, base_ejection_s=0.2, max_ejection_s=1.0)
        )
        router = Router(
            ["m"],
            registry=registry,
            providers=providers,
            health=health,
            retry=RetryPolicy(
                attempts=2, base_delay_s=0.01, max_delay_s=0.05, max_retry_after_s=0.05
            ),
        )
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []
        served: Counter[str] = Counter()
        typed: Counter[str] = Counter()
        lost = 0
        no_attempts = 0
        opened = False
        closed_again = False
        outage_calls: int | None = None

        async def one(i: int) -> None:
            nonlocal started, lost, no_attempts, opened, outage_calls, closed_again
            async with gate:
                started += 1
                if started == recover_after:
                    outage_calls = server.count("broken")
                t0 = time.perf_counter()
                try:
                    if rng.random() < stream_share:
                        last = None
                        async for chunk in router.astream(f"request {i}"):
                            last = chunk
                        if last is None or last.decision is None:
                            raise RuntimeError("the stream ended without its final chunk")
                        served[last.provider] += 1
                    else:
                        done = await router.achat(f"request {i}")
                        served[done.provider] += 1
                except (AllModelsFailed, StreamInterrupted) as exc:
                    typed[type(exc).__name__] += 1
                    decision = getattr(exc, "decision", None)
                    if decision is None or not decision.attempts:
                        no_attempts += 1
                except Exception:  # anything untyped is a lost request
                    lost += 1
                latencies.append(time.perf_counter() - t0)
                state = health.snapshot("m@p0/broken").state
                if state != "closed" and started < recover_after:
                    opened = True
                elif state == "closed" and opened and started > recover_after:
                    closed_again = True

        t_start = time.perf_counter()
        tasks = [asyncio.create_task(one(i)) for i in range(requests)]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(120.0, requests / 20))
        seconds = time.perf_counter() - t_start
        await router.aclose()
    total = sum(served.values())
    ordered = sorted(latencies)
    return FaultReport(
        requests=requests,
        concurrency=concurrency,
        fault_rate=fault_rate,
        answered=total,
        typed_errors=dict(typed),
        lost=lost + requests - len(latencies),
        errors_without_attempts=no_attempts,
        served_by={k: v / total for k, v in sorted(served.items())} if total else {},
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        seconds=seconds,
        breaker_opened=opened,
        breaker_closed_after_recovery=closed_again,
        broken_calls_during_outage=outage_calls or 0,
    )
