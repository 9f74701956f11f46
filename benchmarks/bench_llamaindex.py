"""Benchmark: `RoutingLLM.chat` against the chosen LlamaIndex LLM's `chat` directly, on the
same scripted server (its own process), interleaved in the same run; ratio of medians.
Rule-based routing over two OpenAILike candidates; the cheap one is chosen.

    python3 -m uv run python benchmarks/bench_llamaindex.py [--calls 300] [--latencies 0 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from bench_core import start_server
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from llama_index.llms.langroute import RoutingLLM

SPECS = {
    "bench-model": {"pricing": {"input": 0.15, "output": 0.6}, "quality": {"chat": 0.85}},
    "bench-strong": {"pricing": {"input": 3.0, "output": 15.0}, "quality": {"chat": 0.95}},
}
MESSAGES = [ChatMessage(role="user", content="Summarize the plot of Hamlet in two sentences.")]


def llm(url: str, name: str) -> OpenAILike:
    return OpenAILike(
        model=name,
        api_base=url,
        api_key="bench",
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=128_000,
        max_retries=0,
    )


def interleave(a: Any, b: Any, calls: int) -> tuple[float, float]:
    ta: list[float] = []
    tb: list[float] = []
    for i in range(calls):
        for key in ("a", "b") if i % 2 == 0 else ("b", "a"):
            t0 = time.perf_counter()
            (a if key == "a" else b)()
            (ta if key == "a" else tb).append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def measure(url: str, calls: int) -> dict[str, float]:
    direct = llm(url, "bench-model")
    router = RoutingLLM(models=[llm(url, "bench-model"), llm(url, "bench-strong")], specs=SPECS)
    assert router.chat(MESSAGES).additional_kwargs["langroute"]["answered_by"] == "bench-model"
    for _ in range(20):
        direct.chat(MESSAGES)
        router.chat(MESSAGES)
    a, b = interleave(lambda: direct.chat(MESSAGES), lambda: router.chat(MESSAGES), calls)
    out = {"chat_direct_p50_ms": a * 1000, "chat_router_p50_ms": b * 1000, "chat_ratio": b / a}

    async def run_async() -> None:
        for _ in range(20):
            await direct.achat(MESSAGES)
            await router.achat(MESSAGES)
        ta: list[float] = []
        tb: list[float] = []
        for i in range(calls):
            for key in ("a", "b") if i % 2 == 0 else ("b", "a"):
                t0 = time.perf_counter()
                await (direct if key == "a" else router).achat(MESSAGES)
                (ta if key == "a" else tb).append(time.perf_counter() - t0)
        out["achat_direct_p50_ms"] = statistics.median(ta) * 1000
        out["achat_router_p50_ms"] = statistics.median(tb) * 1000
        out["achat_ratio"] = statistics.median(tb) / statistics.median(ta)

    asyncio.run(run_async())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    print("RoutingLLM vs the chosen LlamaIndex LLM directly (ratio of medians; target <= 1.05)")
    for latency in args.latencies:
        proc, url = start_server(latency, models="bench-model,bench-strong")
        try:
            figures = measure(url, args.calls)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        report[f"server_latency_{latency:g}ms"] = figures
        for label in ("chat", "achat"):
            print(
                f"  server latency {latency:>4g} ms, {label:5}: direct "
                f"{figures[f'{label}_direct_p50_ms']:7.2f} ms, router "
                f"{figures[f'{label}_router_p50_ms']:7.2f} ms, ratio "
                f"{figures[f'{label}_ratio']:.3f}"
            )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
