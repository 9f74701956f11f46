"""Decision latency of the embedding and learned routers beside the rule-based one.

Each is a `Router.plan` over the same prompts in the same run (p50/p99 per prompt, after
a warm-up, so the first load of a model is excluded and reported separately):

- rules: the default rule classifier + cost-optimized policy;
- learned: `LearnedPolicy` over an artifact trained on the RouterBench slice's train files
  (static MiniLM table + logistic estimator; a synthetic set when the data is absent);
- embedding classifier: the built-in example-utterance routes with the static table
  (default; alone, and with half the labelled public prompts added as examples) and with
  the MiniLM ONNX embedder (a few points more accurate, tens of times slower).

Prompts: the demo prompts (short), and the RouterBench test prompts (long) when
../shared/data is there.

    uv run python benchmarks/bench_routers.py [--prompts 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from langroute import LearnedPolicy, Router
from langroute.classify import EmbeddingClassifier
from langroute.cli import _demo_prompts
from langroute.embed import MiniLMEmbedder, StaticEmbedder
from langroute.eval import EvalDataset, EvalItem, Outcome
from langroute.eval.public import find_public_data, labelled_prompts, routerbench_split
from langroute.eval.train import train_router

MODELS = ["gpt-6-luna", "gpt-6.1-terra", "claude-haiku-4-5", "claude-sonnet-4-5", "llama-3.3-70b"]
ALIASES = {
    "gpt-4-1106-preview": "gpt-6.1-terra",
    "gpt-3.5-turbo-1106": "gpt-6-luna",
    "claude-instant-v1": "claude-haiku-4-5",
    "claude-v2": "claude-sonnet-4-5",
    "meta/llama-2-70b-chat": "llama-3.3-70b",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(router: Router, prompts: list[str], rounds: int) -> dict[str, float]:
    requests = [router.request(p) for p in prompts]
    t0 = time.perf_counter()
    router.plan(requests[0])
    first = time.perf_counter() - t0
    for r in requests[: min(50, len(requests))]:
        router.plan(r)
    samples: list[float] = []
    for _ in range(rounds):
        for r in requests:
            t = time.perf_counter()
            router.plan(r)
            samples.append(time.perf_counter() - t)
    return {
        "first_call_ms": first * 1000,
        "p50_ms": pct(samples, 0.5) * 1000,
        "p99_ms": pct(samples, 0.99) * 1000,
        "calls": len(samples),
    }


def synthetic() -> EvalDataset:
    """Demo prompts where only the big model is right on the longer half."""
    items = []
    for i, prompt in enumerate(_demo_prompts() * 10):
        hard = len(prompt) > 120
        items.append(
            EvalItem(
                id=str(i),
                prompt=f"{prompt} ({i})",
                outcomes={
                    "big": Outcome(score=1.0, cost_usd=0.01),
                    "small": Outcome(score=0.0 if hard else 1.0, cost_usd=0.001),
                },
            )
        )
    return EvalDataset("synthetic", items)


def learned_policy(root: Path | None) -> tuple[LearnedPolicy, str]:
    if root is None:
        router = train_router(synthetic(), embedder=StaticEmbedder())
        aliases = {"big": "gpt-6.1-terra", "small": "gpt-6-luna"}
        return LearnedPolicy(router, aliases=aliases), "synthetic"
    split = routerbench_split(root)
    router = train_router(split.train, embedder=StaticEmbedder())
    aliases = {k: v for k, v in ALIASES.items() if k in router.models}
    return LearnedPolicy(router, aliases=aliases), "routerbench train"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    root = find_public_data(args.data_dir)
    prompt_sets = {"demo prompts (short chat asks)": _demo_prompts()}
    if root is not None:
        prompt_sets["RouterBench test prompts (long benchmark items)"] = routerbench_split(
            root
        ).test.prompts[: args.prompts]
    t0 = time.perf_counter()
    policy, trained_on = learned_policy(root)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    minilm = EmbeddingClassifier(embedder=MiniLMEmbedder())
    minilm_load_s = time.perf_counter() - t0
    static = EmbeddingClassifier(embedder=StaticEmbedder())
    routers: dict[str, Router] = {
        "rules (default)": Router(MODELS),
        f"learned (static+logistic, trained on {trained_on})": Router(MODELS, policy=policy),
        "embedding classifier, static table (default)": Router(MODELS, classifier=static),
        "embedding classifier, MiniLM ONNX": Router(MODELS, classifier=minilm),
    }
    if root is not None:
        examples = labelled_prompts(root)[::2]
        routers["embedding classifier, static table + labelled examples"] = Router(
            MODELS, classifier=static.with_examples(examples)
        )
    report: dict[str, Any] = {"train_s": train_s, "minilm_load_s": minilm_load_s, "routers": {}}
    for source, prompts in prompt_sets.items():
        print(
            f"Decision latency per prompt: Router.plan over {len(prompts)} {source}, "
            f"{args.rounds} rounds"
        )
        base = None
        for name, router in routers.items():
            figures = measure(router, prompts, args.rounds)
            base = base or figures["p50_ms"]
            figures["p50_vs_rules"] = figures["p50_ms"] / base
            report["routers"].setdefault(name, {})[source] = figures
            print(
                f"  {name:56} p50 {figures['p50_ms']:7.3f} ms  p99 {figures['p99_ms']:7.3f} ms"
                f"  ({figures['p50_vs_rules']:5.1f}x rules; first call "
                f"{figures['first_call_ms']:.1f} ms)"
            )
    print(
        f"  (learned router trained in {train_s:.1f} s; MiniLM classifier loaded in "
        f"{minilm_load_s:.1f} s; target: p50 <= 2 ms)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
