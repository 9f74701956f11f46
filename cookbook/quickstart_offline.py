"""Route real calls offline: two models on the scripted server, one of them flaky.

    python3 -m uv run python cookbook/quickstart_offline.py

The cheap model answers easy prompts; a hard prompt goes to the strong one; when the cheap
model is rate-limited the router falls back; streaming shows the same decision.
"""

from __future__ import annotations

import asyncio

from langroute import (
    AnthropicProvider,
    ModelSpec,
    OpenAIProvider,
    Registry,
    RetryPolicy,
    Router,
)
from langroute.testing import Fail, Reply, ScriptedServer


async def main() -> None:
    async with ScriptedServer() as server:
        server.add(
            "small-model",
            lambda call: Reply(f"[small] short answer to: {call.last_user_text[:40]}"),
        )
        server.add(
            "large-model",
            lambda call: Reply(f"[large] careful answer to: {call.last_user_text[:40]}"),
        )

        registry = Registry()
        registry.register(
            ModelSpec(
                name="small",
                provider="openai-compatible",
                version="small-model",
                pricing={"input": 0.15, "output": 0.60},
                context_window=128_000,
                max_output_tokens=16_384,
                quality={"chat": 0.82, "code": 0.70, "reasoning": 0.68},
            )
        )
        registry.register(
            ModelSpec(
                name="large",
                provider="anthropic-compatible",
                version="large-model",
                pricing={"input": 3.0, "output": 15.0},
                context_window=200_000,
                max_output_tokens=64_000,
                quality={"chat": 0.91, "code": 0.94, "reasoning": 0.90},
            )
        )
        router = Router(
            ["small", "large"],
            registry=registry,
            providers={
                "openai-compatible": OpenAIProvider(
                    name="openai-compatible", base_url=server.openai_url, api_key="offline"
                ),
                "anthropic-compatible": AnthropicProvider(
                    name="anthropic-compatible", base_url=server.anthropic_url, api_key="offline"
                ),
            },
            retry=RetryPolicy(attempts=1),
        )

        easy = await router.achat("Hi! What's a good name for a goldfish?")
        print(f"easy  → {easy.model}: {easy.content}  (cost ${easy.cost_usd:.6f})")

        hard = await router.achat(
            "Design a lock-free queue in Rust step by step, analyze the memory-ordering "
            "trade-offs rigorously and list the edge cases."
        )
        print(f"hard  → {hard.model}: {hard.content}")
        print("        why: " + "; ".join(hard.decision.reasons))

        server.models["small-model"].then(Fail(429, "rate limited", retry_after=30))
        fallback = await router.achat("Hi again! Another goldfish name?")
        print(f"429   → {fallback.model}: {fallback.content}")
        for attempt in fallback.decision.attempts:
            print(
                f"        attempt {attempt.model}@{attempt.provider}: {attempt.outcome}"
                + (f" ({attempt.error_type})" if attempt.error_type else "")
            )

        print("stream → ", end="")
        async for chunk in router.astream("Say hello in five words."):
            print(chunk.content, end="", flush=True)
            if chunk.decision is not None:
                print(
                    f"\n        answered by {chunk.decision.answered_by}, "
                    f"{chunk.usage.completion_tokens} tokens, ${chunk.cost_usd:.6f}"
                )
        await router.aclose()


if __name__ == "__main__":
    asyncio.run(main())
