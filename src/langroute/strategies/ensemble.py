"""Ensemble: several models answer the same request in parallel; a selector keeps one.

The plan's first `size` models are called at once. With a `deadline_s`, members still
running then are cancelled (their prompt is billed, estimated, as an `aborted` attempt)
and the selection is made among the answers in hand; failed members are left out. The
returned `cost_usd` counts every member. `Decision.escalations` holds each member's
score and which one was kept. Streaming yields the kept answer once it is chosen.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from langroute._fast import construct
from langroute._sync import loop_kept_free
from langroute.decision import Escalation
from langroute.errors import AllModelsFailed, ProviderError, Timeout
from langroute.features import RoutingRequest
from langroute.policy.base import RoutePlan
from langroute.scorers import Answer, Heuristics, Score, Scorer
from langroute.side import side_calls_until
from langroute.strategies.base import ModelRunner, at_least, completion_chunks
from langroute.types import Completion, StreamChunk


class Selector(Protocol):
    """Picks one of several answers; returns its index and a score per answer."""

    async def select(
        self, request: RoutingRequest, answers: list[Completion]
    ) -> tuple[int, list[Score]]: ...


@dataclass(frozen=True)
class BestScore:
    """The answer the scorer rates highest (an `LLMJudge` makes it a judge); ties go to the
    earlier member of the plan."""

    scorer: Scorer = field(default_factory=Heuristics)

    async def select(
        self, request: RoutingRequest, answers: list[Completion]
    ) -> tuple[int, list[Score]]:
        scores = list(
            await asyncio.gather(*(self.scorer.score(request, Answer.of(a)) for a in answers))
        )
        best = max(range(len(answers)), key=lambda i: (scores[i].value, -i))
        return best, scores


def short_answer_key(text: str | None) -> str:
    """Answers compared for a vote: lower-cased, punctuation and spacing ignored."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in (text or "").lower()).split())


@dataclass(frozen=True)
class MajorityVote:
    """The answer most members agree on (for short answers: a number, an option, a label)."""

    key: Callable[[str | None], str] = short_answer_key

    async def select(
        self, request: RoutingRequest, answers: list[Completion]
    ) -> tuple[int, list[Score]]:
        keys = [self.key(a.content) for a in answers]
        votes = Counter(k for k in keys if k)
        winner = max(votes, key=lambda k: (votes[k], -keys.index(k))) if votes else keys[0]
        share = [votes[k] / len(answers) if k else 0.0 for k in keys]
        scores = [
            Score(v, f"{votes[k]} of {len(answers)} members agree")
            for k, v in zip(keys, share, strict=True)
        ]
        return keys.index(winner), scores


@dataclass(frozen=True)
class Ensemble:
    size: int = 3
    selector: Selector = field(default_factory=BestScore)
    deadline_s: float | None = None
    """Select among the answers in hand after this long (None: wait for every member)."""
    name: str = "ensemble"

    def __post_init__(self) -> None:
        at_least("Ensemble", "size", self.size, 1)
        at_least("Ensemble", "deadline_s", self.deadline_s, 0, above=True)

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion:
        models = plan.models[: self.size]
        with loop_kept_free():  # a framework model's blocking client must not run them in turn
            tasks = [asyncio.ensure_future(runner.complete(m)) for m in models]
        _, pending = await asyncio.wait(tasks, timeout=self.deadline_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        answers: list[Completion] = []
        errors: list[ProviderError] = []
        for model, task in zip(models, tasks, strict=True):
            if task.cancelled():  # cut at the deadline: the error list says so, for each
                errors.append(
                    Timeout(f"no answer within the ensemble's {self.deadline_s:g} s", model=model)
                )
                continue
            exc = task.exception()
            if isinstance(exc, ProviderError):
                errors.append(exc)
            elif exc is not None:
                raise exc
            else:
                answers.append(task.result())
        if not answers:
            reason = "no member answered before the deadline" if pending else "every member failed"
            raise AllModelsFailed(f"ensemble: {reason}", errors)
        with side_calls_until(runner.deadline):  # an LLM judge ends by the call's deadline
            best, scores = await self.selector.select(runner.request, answers)
        decision = runner.decision
        for i, (answer, score) in enumerate(zip(answers, scores, strict=True)):
            decision.escalations.append(
                construct(
                    Escalation,
                    model=answer.model,
                    score=score.value,
                    threshold=0.0,
                    reason=score.reason,
                    accepted=i == best,
                    scoring_cost_usd=score.cost_usd,
                )
            )
        chosen = answers[best]
        decision.answered_by = chosen.model
        return chosen

    async def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]:
        chosen = await self.run(plan, runner)
        for chunk in completion_chunks(chosen):
            yield chunk
