"""langroute's Router beside LiteLLM's Router, in the same run, against the same scripted
server (its own process), with the same fallback setup: a primary model and a backup,
no retries.

Per-request overhead = median latency through the router − median latency of a direct call
(langroute's own `OpenAIProvider`, plain httpx), the three interleaved call by call;
throughput = requests/s at a given concurrency. LiteLLM is installed only for this run:

    python3 -m uv run --with litellm python benchmarks/bench_litellm.py [--calls 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import

from _harness import start_server
from langroute import ModelSpec, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.types import ChatParams, UserMessage

PROMPT = "Summarize the plot of Hamlet in two sentences."


def langroute_router(url: str) -> Router:
    registry = Registry()
    for name in ("primary", "backup"):
        registry.register(
            ModelSpec(
                name=name,
                provider="local",
                context_window=128_000,
                max_output_tokens=4096,
                pricing={"input": 1, "output": 2},
            )
        )
    return Router(
        ["primary", "backup"],
        registry=registry,
        retry=RetryPolicy(attempts=1),
        providers={"local": OpenAIProvider(name="local", base_url=url, api_key="k")},
    )


def litellm_router(url: str) -> Any:
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    model_list = [
        {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "api_base": url, "api_key": "k"},
        }
        for name in ("primary", "backup")
    ]
    return litellm.Router(model_list=model_list, fallbacks=[{"primary": ["backup"]}], num_retries=0)


async def measure(url: str, calls: int, concurrency: int, total: int) -> dict[str, Any]:
    direct = OpenAIProvider(name="local", base_url=url, api_key="k")
    ours = langroute_router(url)
    theirs = litellm_router(url)
    messages = [UserMessage(content=PROMPT)]
    params = ChatParams()

    async def via_direct() -> None:
        await direct.chat("primary", messages, params)

    async def via_langroute() -> None:
        await ours.achat(PROMPT)

    async def via_litellm() -> None:
        await theirs.acompletion(model="primary", messages=[{"role": "user", "content": PROMPT}])

    paths = {"direct": via_direct, "langroute": via_langroute, "litellm": via_litellm}
    for _ in range(20):
        for call in paths.values():
            await call()
    # Each router is timed against its own direct baseline, interleaved call by call (a,b
    # then b,a): LiteLLM leaves work on the loop after each call (logging callbacks), which
    # slows whatever runs next, so the two routers are never measured back to back.
    p50: dict[str, float] = {}
    baseline: dict[str, float] = {}
    for name in ("langroute", "litellm"):
        times: dict[str, list[float]] = {"direct": [], name: []}
        for i in range(calls):
            for which in ("direct", name) if i % 2 == 0 else (name, "direct"):
                t0 = time.perf_counter()
                await paths[which]()
                times[which].append(time.perf_counter() - t0)
        p50[name] = statistics.median(times[name]) * 1000
        baseline[name] = statistics.median(times["direct"]) * 1000
    p50["direct"] = min(baseline.values())
    throughput = {}
    for name, call in paths.items():
        gate = asyncio.Semaphore(concurrency)

        async def one(call: Any = call, gate: asyncio.Semaphore = gate) -> None:
            async with gate:
                await call()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        throughput[name] = total / (time.perf_counter() - t0)
    await direct.aclose()
    await ours.aclose()
    ours_over = p50["langroute"] - baseline["langroute"]
    theirs_over = p50["litellm"] - baseline["litellm"]
    return {
        "p50_ms": p50,
        "direct_p50_ms_per_pair": baseline,
        "overhead_ms": {"langroute": ours_over, "litellm": theirs_over},
        "overhead_ratio_langroute_over_litellm": ours_over / theirs_over,
        "throughput_rps": throughput,
        "throughput_ratio_langroute_over_litellm": throughput["langroute"] / throughput["litellm"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--json")
    args = parser.parse_args()
    proc, url = start_server(0.0, "primary,backup")
    try:
        report = asyncio.run(measure(url, args.calls, args.concurrency, args.total))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    p50, over, rps = report["p50_ms"], report["overhead_ms"], report["throughput_rps"]
    print("Router overhead beside LiteLLM's Router (scripted server, 0 ms; same run)")
    base = report["direct_p50_ms_per_pair"]
    print(
        f"  p50: langroute {p50['langroute']:.3f} ms (direct {base['langroute']:.3f} ms), "
        f"LiteLLM {p50['litellm']:.3f} ms (direct {base['litellm']:.3f} ms)"
    )
    print(
        f"  overhead per request: langroute {over['langroute']:.3f} ms, LiteLLM "
        f"{over['litellm']:.3f} ms → ratio {report['overhead_ratio_langroute_over_litellm']:.3f}"
        " (target <= 0.333)"
    )
    print(
        f"  throughput at concurrency {args.concurrency}: direct {rps['direct']:.0f}/s, "
        f"langroute {rps['langroute']:.0f}/s, LiteLLM {rps['litellm']:.0f}/s "
        f"(langroute/LiteLLM {report['throughput_ratio_langroute_over_litellm']:.2f}x)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
