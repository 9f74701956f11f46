"""Benchmark: `RoutingChatModel.invoke` against the chosen `ChatOpenAI.invoke` directly, on the
same scripted server (its own process), interleaved in the same run; ratio of medians.
Rule-based routing over two ChatOpenAI candidates; the cheap one is chosen.

    python3 -m uv run python benchmarks/bench_langchain.py [--calls 300] [--latencies 0 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json

from langchain_openai import ChatOpenAI

from _harness import Figures, ainterleaved, interleaved, over_latencies
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = over_latencies(
        "RoutingChatModel vs the chosen ChatOpenAI directly",
        lambda url: measure(url, args.calls),
        ("invoke", "ainvoke"),
        args.latencies,
        models="bench-model,bench-strong",
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
