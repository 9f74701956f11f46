"""Cascade: try the cheapest model first; escalate while the answer scores too low.

Models run cheapest first (by the plan's expected cost; `order="plan"` keeps the policy's
order). Each answer is scored (`Heuristics` by default); at or above `threshold` it is
accepted, below it the next model is tried. The last model's answer is always accepted.
Provider errors move on as in `FallbackChain`. Every answer paid for counts: the returned
`cost_usd` is the sum of all attempts, and `Decision.escalations` says what each model
scored and why it was or was not accepted.

Streaming: an answer that may still be escalated is held back — nothing is released to the
caller until it is accepted — then released in one go; the last model streams live. So no
token is ever shown twice and nothing shown is taken back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from langroute._fast import construct
from langroute.decision import Decision, Escalation
from langroute.errors import AllModelsFailed, ProviderError
from langroute.features import RoutingRequest
from langroute.policy.base import RoutePlan
from langroute.scorers import Answer, Heuristics, Score, Scorer
from langroute.strategies.base import ModelRunner
from langroute.strategies.fallback import DEFAULT_FALLBACK_ON
from langroute.types import Completion, StreamChunk


@dataclass(frozen=True)
class Cascade:
    scorer: Scorer = field(default_factory=Heuristics)
    threshold: float = 0.5
    max_models: int | None = 3
    """Try at most this many models (None: the whole plan)."""
    order: Literal["cost", "plan"] = "cost"
    fallback_on: tuple[type[ProviderError], ...] = DEFAULT_FALLBACK_ON
    name: str = "cascade"

    def chain(self, plan: RoutePlan) -> list[str]:
        candidates = list(plan.candidates)
        if self.order == "cost":
            candidates.sort(key=lambda c: c.expected_cost_usd)
        models = [c.model for c in candidates]
        return models if self.max_models is None else models[: self.max_models]

    def _judge(self, decision: Decision | None, model: str, score: Score, last: bool) -> bool:
        accepted = last or score.value >= self.threshold
        if decision is not None:
            decision.escalations.append(
                construct(
                    Escalation,
                    model=model,
                    score=score.value,
                    threshold=self.threshold,
                    reason=score.reason,
                    accepted=accepted,
                )
            )
        return accepted

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion:
        chain = self.chain(plan)
        request: RoutingRequest = runner.request
        errors: list[ProviderError] = []
        for i, model in enumerate(chain):
            last = i == len(chain) - 1
            try:
                completion = await runner.complete(model)
            except ProviderError as exc:
                errors.append(exc)
                if not isinstance(exc, self.fallback_on) or last:
                    raise AllModelsFailed("every model of the cascade failed", errors) from None
                continue
            score = await self.scorer.score(request, Answer.of(completion))
            if self._judge(completion.decision, model, score, last):
                if completion.decision is not None:
                    completion.cost_usd = completion.decision.actual_cost_usd
                return completion
        raise AllModelsFailed("every model of the cascade failed", errors)

    async def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]:
        chain = self.chain(plan)
        request: RoutingRequest = runner.request
        errors: list[ProviderError] = []
        for i, model in enumerate(chain):
            last = i == len(chain) - 1
            held: list[StreamChunk] = []
            seen: list[StreamChunk] = []
            try:
                async for chunk in runner.stream(model):
                    if chunk.decision is None:
                        seen.append(chunk)
                    if last and chunk.decision is None:
                        yield chunk  # the last model streams live
                    else:
                        held.append(chunk)
            except ProviderError as exc:
                errors.append(exc)
                if not isinstance(exc, self.fallback_on) or last:
                    raise AllModelsFailed("every model of the cascade failed", errors) from None
                continue
            final = held[-1]
            decision = final.decision
            body = held[:-1]
            score = await self.scorer.score(
                request, Answer.of_chunks([*seen, final], complete=True)
            )
            if self._judge(decision, model, score, last):
                for chunk in body:
                    yield chunk
                if decision is not None:
                    final.cost_usd = decision.actual_cost_usd
                yield final
                return
        raise AllModelsFailed("every model of the cascade failed", errors)
