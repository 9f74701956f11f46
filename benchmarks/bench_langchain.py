"""Benchmark: `RoutingChatModel.invoke` against the chosen `ChatOpenAI.invoke` directly, on the
same scripted server (its own process), interleaved in the same run; ratio of medians.
Rule-based routing over two ChatOpenAI candidates; the cheap one is chosen.

    python3 -m uv run python benchmarks/bench_langchain.py [--calls 300] [--latencies 0 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from bench_core import start_server
from langchain_openai import ChatOpenAI

from langchain_langroute import RoutingChatModel

SPECS = {
    "bench-model": {"pricing": {"input": 0.15, "output": 0.6}, "quality": {"chat": 0.85}},
    "bench-strong": {"pricing": {"input": 3.0, "output": 15.0}, "quality": {"chat": 0.95}},
}
PROMPT = "Summarize the plot of Hamlet in two sentences."


def candidates(url: str) -> tuple[ChatOpenAI, ChatOpenAI]:
    return (
        ChatOpenAI(model="bench-model", base_url=url, api_key="bench", max_retries=0),
        ChatOpenAI(model="bench-strong", base_url=url, api_key="bench", max_retries=0),
    )


def measure(url: str, calls: int) -> dict[str, float]:
    direct = candidates(url)[0]
    router = RoutingChatModel(models=list(candidates(url)), specs=SPECS)
    assert router.invoke(PROMPT).response_metadata["langroute"]["answered_by"] == "bench-model"
    out: dict[str, float] = {}

    def pair(a: Any, b: Any, label: str) -> None:
        for _ in range(20):
            a()
            b()
        ta: list[float] = []
        tb: list[float] = []
        for i in range(calls):
            first, second = (a, b) if i % 2 == 0 else (b, a)
            t0 = time.perf_counter()
            first()
            t1 = time.perf_counter()
            second()
            t2 = time.perf_counter()
            (ta if first is a else tb).append(t1 - t0)
            (tb if second is b else ta).append(t2 - t1)
        out[f"{label}_direct_p50_ms"] = statistics.median(ta) * 1000
        out[f"{label}_router_p50_ms"] = statistics.median(tb) * 1000
        out[f"{label}_ratio"] = statistics.median(tb) / statistics.median(ta)

    pair(lambda: direct.invoke(PROMPT), lambda: router.invoke(PROMPT), "invoke")

    async def ainvoke_pair() -> None:
        loop = asyncio.get_running_loop()
        results: dict[str, list[float]] = {"a": [], "b": []}
        for _ in range(20):
            await direct.ainvoke(PROMPT)
            await router.ainvoke(PROMPT)
        for i in range(calls):
            order = ("a", "b") if i % 2 == 0 else ("b", "a")
            for key in order:
                t0 = loop.time()
                await (direct if key == "a" else router).ainvoke(PROMPT)
                results[key].append(loop.time() - t0)
        out["ainvoke_direct_p50_ms"] = statistics.median(results["a"]) * 1000
        out["ainvoke_router_p50_ms"] = statistics.median(results["b"]) * 1000
        out["ainvoke_ratio"] = statistics.median(results["b"]) / statistics.median(results["a"])

    asyncio.run(ainvoke_pair())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    print("RoutingChatModel vs the chosen ChatOpenAI directly (ratio of medians; target <= 1.05)")
    for latency in args.latencies:
        proc, url = start_server(latency, models="bench-model,bench-strong")
        try:
            figures = measure(url, args.calls)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        report[f"server_latency_{latency:g}ms"] = figures
        for label in ("invoke", "ainvoke"):
            print(
                f"  server latency {latency:>4g} ms, {label:7}: direct "
                f"{figures[f'{label}_direct_p50_ms']:7.2f} ms, router "
                f"{figures[f'{label}_router_p50_ms']:7.2f} ms, ratio "
                f"{figures[f'{label}_ratio']:.3f}"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
