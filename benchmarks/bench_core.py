"""Benchmark of the routing core (issue: the routing core).

1. The rule-based decision's time per call: `Router.plan` (classify + filter + rank +
   Decision record) over the demo prompts, p50/p99, for a 5-model router and for the
   whole catalog (32 models); and the same 5-model decision when the process has just idled
   for 2 or 10 ms, as it does while a model answers (its caches have gone cold).
2. The router's own CPU per call (in-memory provider): in a warm tight loop, and right
   after a real HTTP call, which is where it runs in production.
3. The Router's end-to-end overhead against calling the same provider directly, on the
   scripted server (its own process), as a ratio of medians measured in the same run with
   the two interleaved — for non-streaming and streaming calls, at several server latencies.

    uv run python benchmarks/bench_core.py [--calls 400] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

from _harness import Figures, ainterleaved, over_latencies, start_server
from langroute import ModelSpec, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.cli import _demo_prompts
from langroute.types import ChatParams, Completion, Usage, UserMessage

FIVE = ["gpt-6-luna", "gpt-6.1-terra", "claude-haiku-4-5", "claude-sonnet-4-5", "llama-3.3-70b"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_decision(models: list[str] | None, rounds: int) -> dict[str, Any]:
    router = Router(models)
    requests = [router.request(p) for p in _demo_prompts()]
    for _ in range(100):
        for r in requests:
            router.plan(r)
    plan_ns: list[float] = []
    route_ns: list[float] = []
    for _ in range(rounds):
        for r in requests:
            t = time.perf_counter_ns()
            router.plan(r)
            plan_ns.append(time.perf_counter_ns() - t)
            t = time.perf_counter_ns()
            router.route(r.features.last_user_text)
            route_ns.append(time.perf_counter_ns() - t)
    return {
        "models": len(router.models_in_service),
        "plan_p50_us": pct(plan_ns, 0.5) / 1000,
        "plan_p99_us": pct(plan_ns, 0.99) / 1000,
        "route_p50_us": pct(route_ns, 0.5) / 1000,
        "route_p99_us": pct(route_ns, 0.99) / 1000,
    }


def bench_decision_after_idle(idle_ms: float, rounds: int) -> dict[str, float]:
    """p50 µs of one 5-model `Router.plan` right after `idle_ms` of sleep, as between two
    network waits, when the router's code and data have left the CPU caches; beside it, the
    same for a call of an empty function, which shows the machine's own share."""
    router = Router(FIVE)
    requests = [router.request(p) for p in _demo_prompts()]
    for r in requests * 50:
        router.plan(r)

    def nothing(request: Any) -> None:
        return None

    calls = {"plan": router.plan, "empty": nothing}
    times: dict[str, list[float]] = {label: [] for label in calls}
    for i in range(rounds):
        for label, call in calls.items():
            time.sleep(idle_ms / 1000)
            t = time.perf_counter_ns()
            call(requests[i % len(requests)])
            times[label].append(time.perf_counter_ns() - t)
    return {f"{label}_p50_us": pct(v, 0.5) / 1000 for label, v in times.items()}


def bench_registry() -> Registry:
    registry = Registry()
    registry.register(
        ModelSpec(
            name="bench-model",
            provider="local",
            context_window=128000,
            max_output_tokens=4096,
            pricing={"input": 1, "output": 2},
        )
    )
    return registry


class InMemoryProvider:
    """Answers at once, with no I/O: what remains of a routed call is the router's own CPU."""

    name = "local"

    async def complete(self, model_id: str, request: Any) -> Completion:
        return Completion(
            id="1",
            model=model_id,
            provider=self.name,
            provider_model=model_id,
            content="ok",
            usage=Usage(prompt_tokens=10, completion_tokens=2),
        )

    def stream(self, model_id: str, request: Any) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def in_memory_router() -> tuple[Router, InMemoryProvider]:
    provider = InMemoryProvider()
    router = Router(
        ["bench-model"],
        registry=bench_registry(),
        providers={"local": provider},
        retry=RetryPolicy(attempts=1),
    )
    return router, provider


async def bench_router_cpu(calls: int) -> float:
    """Microseconds of router CPU per `achat` (in-memory provider, warm tight loop)."""
    router, provider = in_memory_router()
    prompt = "Summarize the plot of Hamlet in two sentences."
    for _ in range(500):
        await router.achat(prompt)
    t0 = time.perf_counter()
    for _ in range(calls):
        await provider.complete("bench-model", None)
    alone = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(calls):
        await router.achat(prompt)
    return (time.perf_counter() - t0 - alone) / calls * 1e6


async def bench_router_cpu_after_http(url: str, calls: int) -> dict[str, float]:
    """p50 µs of one in-memory routed `achat` in a warm tight loop, and right after a real
    HTTP call to the scripted server (as it runs between two calls in production): the
    difference is what the HTTP client's code leaves in the CPU caches for the router."""
    router, _ = in_memory_router()
    direct = OpenAIProvider(name="local", base_url=url, api_key="bench")
    prompt = "Summarize the plot of Hamlet in two sentences."
    messages, params = [UserMessage(content=prompt)], ChatParams()
    for _ in range(50):
        await direct.chat("bench-model", messages, params)
        await router.achat(prompt)
    times: dict[str, list[float]] = {"warm": [], "after_http": []}
    for label in times:
        for _ in range(calls):
            if label == "after_http":
                await direct.chat("bench-model", messages, params)
            t = time.perf_counter_ns()
            await router.achat(prompt)
            times[label].append(time.perf_counter_ns() - t)
    await direct.aclose()
    return {f"{label}_p50_us": pct(v, 0.5) / 1000 for label, v in times.items()}


async def bench_overhead(url: str, calls: int) -> Figures:
    direct = OpenAIProvider(name="local", base_url=url, api_key="bench")
    registry = bench_registry()
    router = Router(
        ["bench-model"],
        registry=registry,
        providers={"local": OpenAIProvider(name="local", base_url=url, api_key="bench")},
        retry=RetryPolicy(attempts=1),
    )
    prompt = "Summarize the plot of Hamlet in two sentences."
    messages = [UserMessage(content=prompt)]
    params = ChatParams()

    async def via_direct() -> None:
        await direct.chat("bench-model", messages, params)

    async def via_router() -> None:
        await router.achat(prompt)

    async def via_direct_stream() -> None:
        async for _ in direct.chat_stream("bench-model", messages, params):
            pass

    async def via_router_stream() -> None:
        async for _ in router.astream(prompt):
            pass

    results = await ainterleaved("complete", via_direct, via_router, calls)
    results |= await ainterleaved("stream", via_direct_stream, via_router_stream, calls)
    await direct.aclose()
    await router.aclose()
    return results


def main() -> None:
    # Shutdowns judged on the catalog's date, so the whole catalog means the same models
    # (and the README's figures the same runs) whatever day the benchmark runs.
    os.environ.setdefault("LANGROUTE_TODAY", str(Registry.builtin().as_of))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--latencies",
        type=float,
        nargs="+",
        default=[0.0, 2.0, 10.0, 50.0],
        help="scripted server latencies (ms) to measure the overhead at",
    )
    args = parser.parse_args()
    report: dict[str, Any] = {
        "decision": [bench_decision(FIVE, args.rounds), bench_decision(None, args.rounds // 3)]
    }
    print("Rule-based decision time per call (Router.plan; route = plan + request parsing)")
    for d in report["decision"]:
        print(
            f"  {d['models']:>2} models: plan p50 {d['plan_p50_us']:6.1f} us  "
            f"p99 {d['plan_p99_us']:6.1f} us | route p50 {d['route_p50_us']:6.1f} us  "
            f"p99 {d['route_p99_us']:6.1f} us   (target: p50 <= 50 us)"
        )
    report["decision_after_idle_p50_us"] = {
        f"{idle:g}ms": bench_decision_after_idle(idle, max(10, args.rounds)) for idle in (2, 10)
    }
    for idle, d in report["decision_after_idle_p50_us"].items():
        print(
            f"   5 models, right after the process idled {idle:>4} (cold caches): plan p50 "
            f"{d['plan_p50_us']:6.1f} us (an empty function call: {d['empty_p50_us']:.1f} us)"
        )
    report["router_cpu_us"] = asyncio.run(bench_router_cpu(5000))
    print(
        f"\nRouter CPU per call, in-memory provider, warm tight loop: "
        f"{report['router_cpu_us']:.1f} us"
    )
    proc, url = start_server(0.0)
    try:
        report["router_cpu_after_http"] = after = asyncio.run(
            bench_router_cpu_after_http(url, max(20, 5 * args.calls))
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(
        f"Same, p50 of one call: {after['warm_p50_us']:.1f} us in a tight loop, "
        f"{after['after_http_p50_us']:.1f} us right after an HTTP call to the scripted server "
        "(cold caches)"
    )
    print()
    report["overhead"] = over_latencies(
        "Router end-to-end vs the same provider called directly (scripted server, own process)",
        lambda url: asyncio.run(bench_overhead(url, args.calls)),
        ("complete", "stream"),
        args.latencies,
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
