"""Train a learned router on your own logs, check it on held-out prompts, route with it.

    python3 -m uv run python cookbook/learned_routing.py

"Your logs" here are made up: for each past prompt, whether a small and a large model
answered it well, and what each call cost. Real logs go in the same JSONL format (see the
README). The router learns which prompts the small model handles, is scored on prompts it
never saw, then routes live calls on the scripted server.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from langroute import LearnedPolicy, ModelSpec, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.eval import EvalItem, Outcome, held_out
from langroute.eval.evaluate import report_routers
from langroute.eval.loaders import load_jsonl, write_jsonl
from langroute.eval.report import render_multi
from langroute.eval.train import train_router
from langroute.testing import Reply, ScriptedServer

HARD = [
    "Write a {lang} function that {task}, with tests",
    "Find the bug in this {lang} code that {task}",
    "Design a {lang} module that {task} and explain the trade-offs",
]
EASY = [
    "Hi! Can you {ask}?",
    "Quick question: {ask}",
    "Please {ask}, briefly",
]
LANGS = ["Python", "Rust", "Go", "TypeScript", "Java", "C++"]
TASKS = [
    "parses ISO dates",
    "merges sorted lists",
    "retries HTTP calls with backoff",
    "deduplicates records",
    "walks a directory tree",
    "rate-limits requests",
]
ASKS = [
    "say good morning in French",
    "suggest a name for my cat",
    "tell me today's tip",
    "recommend a board game",
    "summarise 'the meeting moved to 3pm'",
    "thank the team",
]


def past_calls(n: int, seed: int) -> list[EvalItem]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        hard = rng.random() < 0.4
        if hard:
            prompt = rng.choice(HARD).format(lang=rng.choice(LANGS), task=rng.choice(TASKS))
        else:
            prompt = rng.choice(EASY).format(ask=rng.choice(ASKS))
        prompt += f" (ticket {rng.randint(1000, 99999)})"
        small_ok = rng.random() < (0.3 if hard else 0.95)
        items.append(
            EvalItem(
                id=f"call-{seed}-{i}",
                prompt=prompt,
                outcomes={
                    "large-model": Outcome(
                        score=1.0 if rng.random() < 0.95 else 0.0, cost_usd=0.012
                    ),
                    "small-model": Outcome(score=1.0 if small_ok else 0.0, cost_usd=0.0008),
                },
            )
        )
    return items


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="langroute-cookbook-"))
    write_jsonl(past_calls(400, seed=1), work / "last_month.jsonl")
    write_jsonl(past_calls(200, seed=2), work / "this_week.jsonl")

    split = held_out(load_jsonl(work / "last_month.jsonl"), load_jsonl(work / "this_week.jsonl"))
    router = train_router(split.train, target_quality=0.95)
    artifact = router.save(work / "router.npz")
    print(
        f"trained on {len(split.train)} past calls → {artifact.name}, operating point "
        f"{router.operating_point.rule}={router.operating_point.value:.3g}"
    )
    report = report_routers(split.test, [("learned", router, 0.0)], n_train=len(split.train))
    print(render_multi(report))

    async with ScriptedServer() as server:
        for name in ("small-model", "large-model"):
            server.add(name, lambda call, name=name: Reply(f"[{name}] {call.last_user_text}"))
        registry = Registry()
        for name, price in (("small-model", (0.15, 0.6)), ("large-model", (3.0, 15.0))):
            registry.register(
                ModelSpec(
                    name=name,
                    provider="local",
                    context_window=128_000,
                    max_output_tokens=8_000,
                    pricing={"input": price[0], "output": price[1]},
                )
            )
        live = Router(
            ["small-model", "large-model"],
            registry=registry,
            providers={
                "local": OpenAIProvider(name="local", base_url=server.openai_url, api_key="offline")
            },
            policy=LearnedPolicy.load(artifact),
            retry=RetryPolicy(attempts=1),
        )
        for prompt in (
            "Hi! Can you recommend a board game for four?",
            "Write a Rust function that retries HTTP calls with backoff, with tests",
        ):
            completion = await live.achat(prompt)
            print(f"\n{prompt!r}\n  → {completion.model}: {completion.decision.reasons[0]}")
        await live.aclose()


if __name__ == "__main__":
    asyncio.run(main())
