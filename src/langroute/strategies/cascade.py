"""Cascade: try the cheapest model first; escalate while the answer scores too low.

Models run cheapest first (by the plan's expected cost; `order="plan"` keeps the policy's
order); a scorer trained on one chain (`ChainScorer`) puts that chain's models first, in
its order. Each answer is scored (`Heuristics` by default); at or above `threshold` it is
accepted, below it the next model is tried. The last model's answer is always accepted, unscored.
Provider errors move on as in `FallbackChain`. Every answer paid for counts: the router
returns `decision.actual_cost_usd` as `cost_usd` (all attempts and what scoring cost: an
`LLMJudge`'s calls), and `Decision.escalations` says what each model scored and why it was
or was not accepted.

Streaming — what the caller sees:
- with no look-ahead window (default), a cheaper model's answer is held back until it is
  complete and scored: released in one go if kept, never shown if escalated;
- with `lookahead_tokens` and/or `lookahead_ms`, the scorer judges the first chunks as soon
  as the window fills: below the threshold the stream is aborted before anything was
  released (its tokens so far are billed, estimated, as an `aborted` attempt) and the next
  model answers; at or above it, the held chunks are released and the rest streams live —
  the answer is then committed: no later escalation, a later failure is a
  `StreamInterrupted`;
- the last model always streams live.
No token is ever shown twice and nothing shown is taken back.

When every model after an escalated answer fails (errors it falls back on, or the call's
deadline), the best answer already paid for is returned (`keep_best`, one scored above 0):
a cascade whose premium model is down or too slow degrades to its cheaper answer instead of
losing the request. Its escalation record says so, and the router does not cache it. A
streamed one is released whole at that point, as a held answer would have been.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from langroute._fast import construct
from langroute._streams import close
from langroute.decision import Escalation
from langroute.errors import (
    AllModelsFailed,
    ConfigError,
    DeadlineExceeded,
    ProviderError,
    StreamInterrupted,
)
from langroute.policy.base import RoutePlan
from langroute.scorers import Answer, Heuristics, Score, Scorer
from langroute.side import side_calls_until
from langroute.strategies.base import ModelRunner, at_least, error_types
from langroute.strategies.fallback import DEFAULT_FALLBACK_ON
from langroute.types import Completion, StreamChunk

T = TypeVar("T")


@dataclass(slots=True)
class _Escalated(Generic[T]):
    """An answer the cascade escalated from, kept in case every later model fails."""

    model: str
    score: float
    answer: T
    """The `Completion`, or a stream's chunks (held back, never shown)."""


def _better(best: _Escalated[T] | None, candidate: _Escalated[T]) -> _Escalated[T] | None:
    """The better of two escalated answers; one scored 0 ("certainly bad": empty, invalid
    JSON) is never kept, and a tie goes to the later, costlier model."""
    if candidate.score <= 0 or (best is not None and best.score > candidate.score):
        return best
    return candidate


@dataclass(frozen=True)
class Cascade:
    scorer: Scorer = field(default_factory=Heuristics)
    threshold: float = 0.5
    max_models: int | None = 3
    """Try at most this many models (None: the whole plan)."""
    order: Literal["cost", "plan"] = "cost"
    fallback_on: tuple[type[ProviderError], ...] = DEFAULT_FALLBACK_ON
    lookahead_tokens: int | None = None
    """Streaming: judge a cheaper model after this many content chunks (None: whole answer)."""
    lookahead_ms: float | None = None
    """Streaming: or after this many milliseconds since its first chunk."""
    keep_best: bool = True
    """When every model after an escalated answer fails (an error in `fallback_on`, or the
    call's deadline), return the best answer already paid for (scored above 0) instead of
    raising `AllModelsFailed`."""
    name: str = "cascade"

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise ConfigError(
                f"Cascade.threshold must be in [0, 1] (scores are), got {self.threshold!r}"
            )
        if self.order not in ("cost", "plan"):
            raise ConfigError(f"Cascade.order must be 'cost' or 'plan', got {self.order!r}")
        object.__setattr__(self, "fallback_on", error_types("Cascade", self.fallback_on))
        at_least("Cascade", "max_models", self.max_models, 1)
        at_least("Cascade", "lookahead_tokens", self.lookahead_tokens, 1)
        at_least("Cascade", "lookahead_ms", self.lookahead_ms, 0, above=True)

    def chain(self, plan: RoutePlan) -> list[str]:
        candidates = list(plan.candidates)
        if self.order == "cost":
            candidates.sort(key=lambda c: c.expected_cost_usd)
        models = [c.model for c in candidates]
        trained_order = getattr(self.scorer, "chain_order", None)
        if trained_order is not None:  # a scorer trained on one chain (`ChainScorer`)
            models = trained_order(models)
        return models if self.max_models is None else models[: self.max_models]

    def _judge(self, runner: ModelRunner, model: str, score: Score, note: str = "") -> bool:
        accepted = score.value >= self.threshold
        runner.decision.escalations.append(
            construct(
                Escalation,
                model=model,
                score=score.value,
                threshold=self.threshold,
                reason=score.reason + note,
                accepted=accepted,
                scoring_cost_usd=score.cost_usd,
            )
        )
        return accepted

    async def _score(self, runner: ModelRunner, answer: Answer) -> Score:
        with side_calls_until(runner.deadline):  # an LLM judge ends by the call's deadline
            return await self.scorer.score(runner.request, answer)

    async def _verdict(
        self, runner: ModelRunner, model: str, answer: Answer, last: bool
    ) -> float | None:
        """Score a whole answer and judge it: None when it is kept, else the score it was
        escalated with. The last model's answer is kept unscored (a score could not change
        anything, and an LLM judge would bill for it)."""
        if not last:
            score = await self._score(runner, answer)
            return None if self._judge(runner, model, score) else score.value
        runner.decision.escalations.append(
            construct(
                Escalation,
                model=model,
                score=None,
                threshold=self.threshold,
                reason="last of the chain: always kept, not scored",
                accepted=True,
                scoring_cost_usd=0.0,
            )
        )
        return None

    def _after_failure(
        self,
        runner: ModelRunner,
        exc: ProviderError,
        errors: list[ProviderError],
        last: bool,
        best: _Escalated[T] | None,
    ) -> _Escalated[T] | None:
        """After `exc` from a model: None to try the next one, or, when nothing more will be
        tried, the escalated answer to keep (`keep_best`); else `AllModelsFailed`."""
        errors.append(exc)
        deadline = isinstance(exc, DeadlineExceeded)
        falls_back = isinstance(exc, self.fallback_on)
        if falls_back and not deadline and not last:
            return None
        if best is not None and self.keep_best and (falls_back or deadline):
            why = (
                "the call's deadline passed before a later model answered"
                if deadline
                else f"every later model failed ({type(exc).__name__})"
            )
            runner.decision.escalations.append(
                construct(
                    Escalation,
                    model=best.model,
                    score=best.score,
                    threshold=self.threshold,
                    reason=f"kept though below the threshold: {why}",
                    accepted=True,
                    scoring_cost_usd=0.0,
                )
            )
            runner.decision.answered_by = best.model
            return best
        message = "the call's deadline passed" if deadline else "every model of the cascade failed"
        raise AllModelsFailed(message, errors) from None

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion:
        chain = self.chain(plan)
        errors: list[ProviderError] = []
        answers: list[Answer] = []  # escalated ones, for the scorer to compare
        best: _Escalated[Completion] | None = None
        for i, model in enumerate(chain):
            last = i == len(chain) - 1
            try:
                completion = await runner.complete(model)
            except ProviderError as exc:
                kept = self._after_failure(runner, exc, errors, last, best)
                if kept is None:
                    continue
                return kept.answer
            answer = Answer.of(completion, answers)
            score = await self._verdict(runner, model, answer, last)
            if score is None:
                return completion
            answers.append(answer)
            best = _better(best, _Escalated(model, score, completion))
        raise AllModelsFailed("every model of the cascade failed", errors)

    def _window_full(self, chunks: int, since: float) -> bool:
        by_tokens = self.lookahead_tokens is not None and chunks >= self.lookahead_tokens
        by_time = (
            self.lookahead_ms is not None
            and (time.perf_counter() - since) * 1000 >= self.lookahead_ms
        )
        return by_tokens or by_time

    async def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]:
        chain = self.chain(plan)
        errors: list[ProviderError] = []
        windowed = self.lookahead_tokens is not None or self.lookahead_ms is not None
        answers: list[Answer] = []  # escalated ones (aborted: their part), for the scorer
        best: _Escalated[list[StreamChunk]] | None = None  # whole escalated answers, unshown
        for i, model in enumerate(chain):
            last = i == len(chain) - 1
            held: list[StreamChunk] = []
            seen: list[StreamChunk] = []
            final: StreamChunk | None = None
            committed = last
            aborted = False
            kept: _Escalated[list[StreamChunk]] | None = None
            since = 0.0
            source = runner.stream(model)
            try:
                async for chunk in source:
                    if chunk.decision is not None:
                        final = chunk
                        continue
                    if chunk.has_payload:
                        since = since or time.perf_counter()
                        seen.append(chunk)
                    if committed:
                        yield chunk
                        continue
                    held.append(chunk)
                    if windowed and seen and self._window_full(len(seen), since):
                        partial = Answer.of_chunks(seen, complete=False, earlier=answers)
                        score = await self._score(runner, partial)
                        if self._judge(runner, model, score, " (look-ahead window)"):
                            committed = True
                            for chunk in held:
                                yield chunk
                            held = []
                        else:
                            aborted = True
                            answers.append(partial)
                            break
            except ProviderError as exc:
                kept = self._after_failure(runner, exc, errors, last, best)
                if kept is None:
                    continue
            except StreamInterrupted as exc:
                if committed:
                    raise  # its first tokens were released: the answer is committed
                # nothing was shown: escalate
                kept = self._after_failure(runner, exc.cause, errors, last, best)
                if kept is None:
                    continue
            finally:
                await close(source)  # stopped early or not
            if kept is not None:  # every later model failed: release the best one whole
                for chunk in kept.answer:
                    yield chunk
                return
            if aborted:
                continue
            assert final is not None
            if not committed or last:
                whole = Answer.of_chunks([*seen, final], complete=True, earlier=answers)
                escalated = await self._verdict(runner, model, whole, last)
                if escalated is not None:
                    answers.append(whole)
                    best = _better(best, _Escalated(model, escalated, [*held, final]))
                    continue
                for chunk in held:
                    yield chunk
            yield final
            return
        raise AllModelsFailed("every model of the cascade failed", errors)
