"""The figures behind the README's shadow-evaluation and semantic-cache claims.

1. The per-route CUSUM alert (`QualityMonitor`, defaults) on simulated routes: how often a
   stable route raises a false alarm within 500 observations after its warm-up, and how soon
   a route whose win rate drops is caught (300 runs each, fixed seed).
2. The cosine similarities of the README's semantic-cache examples, with the MiniLM and the
   static-table embedders.

    uv run python benchmarks/bench_alerts.py [--runs 300]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics

from langroute.shadow import QualityMonitor

DROP_AT = 50
"""Observations after the warm-up before a degraded route drops."""


def simulate(
    rng: random.Random, before: float, after: float | None, observations: int
) -> int | None:
    """Observations after the drop (or after the warm-up, for a stable route) until the
    alert, or None when it never fires."""
    monitor = QualityMonitor()
    warmup = monitor.warmup
    for i in range(warmup + observations):
        dropped = after is not None and i >= warmup + DROP_AT
        rate = after if dropped and after is not None else before
        if monitor.observe("route", float(rng.random() < rate)) is not None:
            return i - warmup - (DROP_AT if after is not None else 0)
    return None


def alerts(runs: int) -> None:
    logging.disable(logging.WARNING)
    rng = random.Random(1)
    print(f"CUSUM alert, {runs} simulated routes each, 500 observations after the warm-up")
    for label, before, after in (
        ("stable at 90 % wins", 0.9, None),
        ("stable at 70 % wins", 0.7, None),
        ("90 % -> 70 %", 0.9, 0.7),
        ("90 % -> 40 %", 0.9, 0.4),
    ):
        delays = [simulate(rng, before, after, 500) for _ in range(runs)]
        fired = [d for d in delays if d is not None]
        median = f", median delay {statistics.median(fired):.0f}" if fired and after else ""
        what = "caught" if after is not None else "false alarms"
        print(f"  {label:22} {what}: {len(fired) / runs:6.1%}{median}")
    logging.disable(logging.NOTSET)


def similarities() -> None:
    from langroute.embed.minilm import MiniLMEmbedder
    from langroute.embed.static import StaticEmbedder

    cached = "What is the capital of France?"
    asked = [
        "what is the capital city of France?",
        "What is the capital of France? Answer in one word.",
        "What is the capital of Germany?",
    ]
    print(f"cosine similarity to {cached!r}")
    for embedder in (MiniLMEmbedder(), StaticEmbedder()):
        vectors = embedder.embed([cached, *asked])
        scores = vectors[1:] @ vectors[0]
        row = ", ".join(f"{text!r}: {score:.2f}" for text, score in zip(asked, scores, strict=True))
        print(f"  {embedder.id}: {row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    alerts(args.runs)
    similarities()


if __name__ == "__main__":
    main()
