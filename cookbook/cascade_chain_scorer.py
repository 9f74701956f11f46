"""A cascade that trusts agreement: a `ChainScorer` trained on recorded answers keeps the
middle model's answer when it agrees with the small model's, and asks the large model when
they disagree. Offline: the recorded answers are made up here, the models are scripted.

    python3 -m uv run python cookbook/cascade_chain_scorer.py

With your own logs, `langroute train-scorer answers.jsonl --chain small,mid,large --out
chain.npz` trains the same scorer and prints the threshold to use.
"""

from __future__ import annotations

import asyncio
import random

from langroute import Cascade, ModelSpec, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.embed import HashingEmbedder
from langroute.eval import EvalDataset, EvalItem, Outcome
from langroute.scorers import ChainScorer
from langroute.testing import Reply, ScriptedServer

CHAIN = ["small", "mid", "large"]
PRICES = {"small": (0.1, 0.4), "mid": (1.0, 4.0), "large": (10.0, 30.0)}


def recorded_answers(n: int = 400, seed: int = 7) -> EvalDataset:
    """Multiple-choice questions: the large model is always right, the middle one 80 % and
    the small one 60 % of the time, and a wrong answer is just another option — so nothing
    in one answer tells it is wrong, but two models picking the same option tells a lot."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        right = rng.choice("ABCD")
        outcomes = {}
        for model, p, cost in (("small", 0.6, 0.0002), ("mid", 0.8, 0.002), ("large", 1, 0.02)):
            ok = rng.random() < p
            answer = right if ok else rng.choice([o for o in "ABCD" if o != right])
            outcomes[model] = Outcome(score=float(ok), cost_usd=cost, response=answer)
        items.append(EvalItem(id=str(i), prompt=f"Question {i}: A, B, C or D?", outcomes=outcomes))
    return EvalDataset("recorded", items)


async def main() -> None:
    scorer = ChainScorer.fit(recorded_answers(), CHAIN, embedder=HashingEmbedder(), folds=3)
    async with ScriptedServer() as server:
        registry = Registry()
        for name, (inp, out) in PRICES.items():
            registry.register(
                ModelSpec(
                    name=name,
                    provider="local",
                    pricing={"input": inp, "output": out},
                    context_window=32_000,
                    max_output_tokens=1_024,
                    quality={"chat": 0.8},
                )
            )
        router = Router(
            CHAIN,
            registry=registry,
            providers={"local": OpenAIProvider(name="local", base_url=server.openai_url)},
            retry=RetryPolicy(attempts=1),
            strategy=Cascade(scorer=scorer, threshold=0.8),
        )
        for small, mid in (("C", "C"), ("A", "B")):
            server.add("small", Reply(small))
            server.add("mid", Reply(mid))
            server.add("large", Reply("C"))
            answer = await router.achat("Question 9001: A, B, C or D?")
            steps = "; ".join(
                f"{e.model} {'unscored' if e.score is None else format(e.score, '.2f')} "
                f"{'kept' if e.accepted else 'escalated'} ({e.reason})"
                for e in answer.decision.escalations
            )
            print(f"small says {small}, mid says {mid} → {answer.model}: {steps}")
        await router.aclose()


if __name__ == "__main__":
    asyncio.run(main())
