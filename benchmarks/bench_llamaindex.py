"""Benchmark: `RoutingLLM.chat` against the chosen LlamaIndex LLM's `chat` directly, on the
same scripted server (its own process), interleaved in the same run; ratio of medians.
Rule-based routing over two OpenAILike candidates; the cheap one is chosen.

    python3 -m uv run python benchmarks/bench_llamaindex.py [--calls 300] [--latencies 0 50]
"""

from __future__ import annotations

import asyncio

from llama_index.core.llms import ChatMessage
from llama_index.llms.openai_like import OpenAILike

from _harness import Figures, adapter_benchmark_cli, ainterleaved, interleaved
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


def measure(url: str, calls: int) -> Figures:
    direct = llm(url, "bench-model")
    router = RoutingLLM(models=[llm(url, "bench-model"), llm(url, "bench-strong")], specs=SPECS)
    assert router.chat(MESSAGES).additional_kwargs["langroute"]["answered_by"] == "bench-model"
    figures = interleaved(
        "chat", lambda: direct.chat(MESSAGES), lambda: router.chat(MESSAGES), calls
    )
    figures |= asyncio.run(
        ainterleaved("achat", lambda: direct.achat(MESSAGES), lambda: router.achat(MESSAGES), calls)
    )
    return figures


def main() -> None:
    adapter_benchmark_cli(
        __doc__, "RoutingLLM vs the chosen LlamaIndex LLM directly", measure, ("chat", "achat")
    )


if __name__ == "__main__":
    main()
