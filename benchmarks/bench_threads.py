"""Benchmark: sync calls from threads that come and go — LangChain's `batch` (its threads
end with each batch) and a thread per call (a thread-per-request server) — through
`RoutingChatModel` against the chosen `ChatOpenAI` directly, on the same scripted server (its
own process), interleaved in the same run; ratio of medians per batch or call. The router's
cheap candidate is either a ChatOpenAI (a framework candidate) or langroute's own
`OpenAIProvider` (a native one, with an HTTP client per event loop).

    python3 -m uv run python benchmarks/bench_threads.py [--calls 100] [--latencies 0 50]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from langchain_openai import ChatOpenAI

from _harness import Figures, adapter_benchmark_cli, interleaved
from langchain_langroute import RoutingChatModel
from langroute import OpenAIProvider

SPECS: dict[str, dict[str, Any]] = {
    "bench-model": {"pricing": {"input": 0.15, "output": 0.6}, "quality": {"chat": 0.85}},
    "bench-strong": {"pricing": {"input": 3.0, "output": 15.0}, "quality": {"chat": 0.95}},
}
NATIVE = {"provider": "bench", "context_window": 128_000, "max_output_tokens": 16_384}
"""What a native candidate's spec needs beyond a framework one's (which its model tells)."""
PROMPTS = [f"Summarize the plot of Hamlet in two sentences ({i})." for i in range(4)]


def chat_model(url: str, name: str) -> ChatOpenAI:
    return ChatOpenAI(model=name, base_url=url, api_key="bench", max_retries=0)


def in_a_new_thread(call: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        thread = threading.Thread(target=call)
        thread.start()
        thread.join()

    return run


def measure(url: str, calls: int) -> Figures:
    direct = chat_model(url, "bench-model")
    framework = RoutingChatModel(
        models=[chat_model(url, "bench-model"), chat_model(url, "bench-strong")], specs=SPECS
    )
    native = RoutingChatModel(
        models=["bench-model", chat_model(url, "bench-strong")],
        specs={**SPECS, "bench-model": {**SPECS["bench-model"], **NATIVE}},
        providers={"bench": OpenAIProvider(name="bench", base_url=url, api_key="bench")},
    )
    for router in (framework, native):
        answer = router.invoke(PROMPTS[0]).response_metadata["langroute"]
        assert answer["answered_by"] == "bench-model"
    figures: Figures = {}
    for label, router in (("framework", framework), ("native", native)):
        figures |= interleaved(
            f"batch4-{label}",
            lambda: direct.batch(PROMPTS),
            lambda router=router: router.batch(PROMPTS),
            calls,
            warmup=5,
        )
        figures |= interleaved(
            f"thread-{label}",
            in_a_new_thread(lambda: direct.invoke(PROMPTS[0])),
            in_a_new_thread(lambda router=router: router.invoke(PROMPTS[0])),
            calls,
            warmup=5,
        )
    return figures


def main() -> None:
    adapter_benchmark_cli(
        __doc__,
        "RoutingChatModel vs the chosen ChatOpenAI, called from threads that end",
        measure,
        ("batch4-framework", "thread-framework", "batch4-native", "thread-native"),
    )


if __name__ == "__main__":
    main()
