"""Benchmark: what routing that knows the providers' prompt caches saves (`cache_aware`).

Many conversations of a support app share one long system prompt; each runs several
turns, drawn from the demo's prompts, and the conversations take turns as a live app's
would. Every call is routed on its own by the default rules and `CostOptimized`, once with
the router pricing each model's cached prefix at its cached price (`cache_aware=True`, the
default) and once at list prices only, on a scripted server that caches as the providers
do (OpenAI, Gemini and DeepSeek on their own, Claude at the breakpoints the app marks).
Reported: the billed cost of the whole run, the mean quality prior of the chosen models,
switches between models inside a conversation, and the decision time the cache lookup adds
for a long conversation and a short prompt (p50, ratio against list-price routing in the
same run; and with the look-up in a SQLite store workers share).

    python3 -m uv run python benchmarks/bench_prompt_caching.py [--conversations 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections import Counter
from typing import Any

from langroute import AnthropicProvider, OpenAIProvider, Registry, Router
from langroute.cli import _demo_prompts
from langroute.state import SQLiteWarmStore
from langroute.testing import Reply, ScriptedServer
from langroute.types import (
    AssistantMessage,
    CacheControl,
    Message,
    SystemMessage,
    TextPart,
    UserMessage,
)

FIVE = ["gpt-6-luna", "gpt-6.1-terra", "claude-haiku-4-5", "claude-sonnet-4-5", "llama-3.3-70b"]
MARK = CacheControl()
SYSTEM = " ".join(
    f"Rule {i}: when a customer asks about order {i}, check the ledger, quote the policy "
    f"section {i % 17}, and answer in plain words without promising refunds."
    for i in range(150)
)
"""The app's instructions: ~4,000 tokens, the same for every conversation."""
ANSWER = "Here is what I found. " + "The order shipped and the ledger agrees. " * 20


def providers(server: ScriptedServer) -> dict[str, Any]:
    registry = Registry.builtin()
    out: dict[str, Any] = {}
    for name in registry.providers:
        kind = registry.provider(name).kind
        url = server.anthropic_url if kind == "anthropic" else server.openai_url
        cls = AnthropicProvider if kind == "anthropic" else OpenAIProvider
        out[name] = cls(name=name, base_url=url, api_key="bench")
    return out


def serve_every_model(server: ScriptedServer, latency_ms: float) -> None:
    registry = Registry.builtin()
    for name in registry.names:
        for deployment in registry.get(name).all_deployments:
            server.add(deployment.model_id, Reply(ANSWER, ttft_s=latency_ms / 1000))


def conversations(count: int, seed: int = 7) -> list[list[str]]:
    prompts = _demo_prompts()
    rng = random.Random(seed)
    return [[rng.choice(prompts) for _ in range(rng.randint(2, 12))] for _ in range(count)]


def run(models: list[str] | None, aware: bool, talks: list[list[str]], latency_ms: float) -> Any:
    """Run every conversation, turns interleaved; the figures of the run."""
    with ScriptedServer() as server:
        server.prompt_cache.automatic = True
        serve_every_model(server, latency_ms)
        router = Router(models, providers=providers(server), cache_aware=aware)
        system = SystemMessage(content=[TextPart(text=SYSTEM, cache_control=MARK)])
        history: list[list[Message]] = [[system] for _ in talks]
        last: list[str | None] = [None for _ in talks]
        cost = quality = 0.0
        calls = switches = cached = prompt = 0
        used: Counter[str] = Counter()
        for turn in range(max(len(t) for t in talks)):
            for i, talk in enumerate(talks):
                if turn >= len(talk):
                    continue
                asked = UserMessage(content=[TextPart(text=talk[turn], cache_control=MARK)])
                answer = router.chat([*history[i], asked])
                decision = answer.decision
                assert decision is not None
                assert decision.answered_by is not None
                cost += answer.cost_usd
                quality += decision.plan.chosen.expected_quality
                cached += answer.usage.cached_tokens
                prompt += answer.usage.prompt_tokens
                calls += 1
                used[decision.answered_by] += 1
                switches += last[i] is not None and last[i] != decision.answered_by
                last[i] = decision.answered_by
                history[i] += [UserMessage(content=talk[turn]), AssistantMessage(content=ANSWER)]
    return {
        "calls": calls,
        "cost_usd": cost,
        "mean_quality_prior": quality / calls,
        "switches": switches,
        "cached_share": cached / prompt,
        "models": dict(used.most_common()),
    }


def plan_time(aware: Any, turns: int, rounds: int) -> tuple[float, int]:
    """p50 µs of `Router.plan` for a conversation of `turns` turns under the long system
    prompt, with its prefix cached by one model (0 turns: a short prompt alone), and the
    prompt's tokens."""
    router = Router(FIVE, cache_aware=aware)  # True, False or a shared store
    messages: list[Message] = [SystemMessage(content=SYSTEM)] if turns else []
    for prompt in _demo_prompts()[:turns]:
        messages += [UserMessage(content=prompt), AssistantMessage(content=ANSWER)]
    messages.append(UserMessage(content="And what about my other order?"))
    request = router.request(messages)
    if router.warm_caches is not None:
        from langroute.types import Usage

        spec = router.registry.get("gpt-6-luna")
        tokens = request.features.prompt_tokens
        router.warm_caches.observe(request, spec, Usage(prompt_tokens=tokens))
    times = []
    for _ in range(rounds):
        t = time.perf_counter_ns()
        router.plan(request)
        times.append(time.perf_counter_ns() - t)
    return sorted(times)[len(times) // 2] / 1000, request.features.prompt_tokens


def main() -> None:
    # Shutdowns judged on the catalog's date, so the whole catalog means the same models
    # (and the README's figures the same runs) whatever day the benchmark runs.
    os.environ.setdefault("LANGROUTE_TODAY", str(Registry.builtin().as_of))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--latencies", type=float, nargs="+", default=[0.0], help="scripted server latency (ms)"
    )
    args = parser.parse_args()
    talks = conversations(args.conversations)
    report: dict[str, Any] = {}
    print(
        f"{args.conversations} conversations, {sum(map(len, talks))} calls, one ~4k-token "
        "system prompt; billed cost on a server that caches as the providers do"
    )
    for label, models in (("five models", FIVE), ("the whole catalog", None)):
        aware = run(models, True, talks, args.latencies[0])
        listed = run(models, False, talks, args.latencies[0])
        saved = 1 - aware["cost_usd"] / listed["cost_usd"]
        report[label] = {"cache_aware": aware, "list_prices": listed, "saved": saved}
        print(f"\n{label}:")
        for name, fig in (("cache-aware", aware), ("list prices", listed)):
            top = ", ".join(f"{m} {n}" for m, n in list(fig["models"].items())[:4])
            print(
                f"  {name:<11}: ${fig['cost_usd']:.4f}, quality prior "
                f"{fig['mean_quality_prior']:.3f}, {fig['cached_share']:.0%} of prompt tokens "
                f"read cached, {fig['switches']} switches ({top})"
            )
        print(f"  saved: {saved:.1%}")
    timing = {}
    for turns in (0, 12):
        (on, tokens), (off, _) = (
            plan_time(True, turns, args.rounds),
            plan_time(False, turns, args.rounds),
        )
        timing[f"{turns}_turns"] = {"aware_us": on, "list_us": off, "ratio": on / off}
        what = f"a {turns}-turn conversation ({tokens} tokens)" if turns else "a short prompt"
        print(
            f"\nRouter.plan p50 for {what}: {on:.1f} us cache-aware, {off:.1f} us at list "
            f"prices (ratio {on / off:.2f})",
            end="",
        )
    with tempfile.TemporaryDirectory() as folder:
        shared = SQLiteWarmStore(os.path.join(folder, "warm.db"))
        on, tokens = plan_time(shared, 12, max(20, args.rounds // 10))
    timing["12_turns"]["sqlite_us"] = on
    print(f"; with a SQLite store workers share: {on:.1f} us", end="")
    print()
    report["plan_time"] = timing
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
