"""Benchmark: `RoutingChatModel.invoke` against the chosen `ChatOpenAI.invoke` directly, on the
same scripted server (its own process), interleaved in the same run; ratio of medians.
Rule-based routing over two ChatOpenAI candidates; the cheap one is chosen.

    python3 -m uv run python benchmarks/bench_langchain.py [--calls 300] [--latencies 0 50]
"""

from __future__ import annotations

import asyncio

from langchain_openai import ChatOpenAI

from _harness import Figures, adapter_benchmark_cli, ainterleaved, interleaved
from langchain_langroute import RoutingChatModel

SPECS = {
    "bench-model": {"pricing": {"input": 0.15, "output": 0.6}, "quality": {"chat": 0.85}},
    "bench-strong": {"pricing": {"input": 3.0, "output": 15.0}, "quality": {"chat": 0.95}},
}
PROMPT = "Summarize the plot of Hamlet in two sentences."


def chat_model(url: str, name: str) -> ChatOpenAI:
    return ChatOpenAI(model=name, base_url=url, api_key="bench", max_retries=0)


def measure(url: str, calls: int) -> Figures:
    direct = chat_model(url, "bench-model")
    router = RoutingChatModel(
        models=[chat_model(url, "bench-model"), chat_model(url, "bench-strong")], specs=SPECS
    )
    assert router.invoke(PROMPT).response_metadata["langroute"]["answered_by"] == "bench-model"
    figures = interleaved(
        "invoke", lambda: direct.invoke(PROMPT), lambda: router.invoke(PROMPT), calls
    )
    figures |= asyncio.run(
        ainterleaved(
            "ainvoke", lambda: direct.ainvoke(PROMPT), lambda: router.ainvoke(PROMPT), calls
        )
    )
    return figures


def main() -> None:
    adapter_benchmark_cli(
        __doc__,
        "RoutingChatModel vs the chosen ChatOpenAI directly",
        measure,
        ("invoke", "ainvoke"),
    )


if __name__ == "__main__":
    main()
