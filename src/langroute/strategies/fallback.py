"""Fallback chain: try the plan's models in order until one answers.

Moves on for the errors in `fallback_on` (rate limit, timeout, 5xx, connection, malformed
answers, context too long, content filter by default); auth and bad-request errors stop the
chain unless added. On `ContextTooLong` it skips models whose window is no larger. While
streaming it falls back only before the first token; after it, `StreamInterrupted`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from langroute._streams import closing
from langroute.errors import (
    AllModelsFailed,
    BudgetExceeded,
    CircuitOpen,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    DeadlineExceeded,
    LimitExhausted,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)
from langroute.policy.base import RoutePlan
from langroute.strategies.base import ModelRunner, at_least, error_types
from langroute.types import Completion, StreamChunk

DEFAULT_FALLBACK_ON: tuple[type[ProviderError], ...] = (
    BudgetExceeded,
    CircuitOpen,
    LimitExhausted,
    RateLimited,
    Timeout,
    ServerError,
    ConnectionFailed,
    MalformedResponse,
    ContextTooLong,
    ContentFiltered,
)


@dataclass(frozen=True)
class FallbackChain:
    fallback_on: tuple[type[ProviderError], ...] = DEFAULT_FALLBACK_ON
    max_models: int | None = None
    """Try at most this many models of the plan (None: all of them)."""
    name: str = "fallback"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fallback_on", error_types("FallbackChain", self.fallback_on))
        at_least("FallbackChain", "max_models", self.max_models, 1)

    def _chain(self, plan: RoutePlan) -> list[str]:
        models = plan.models
        return models if self.max_models is None else models[: self.max_models]

    def _next(
        self,
        error: ProviderError,
        failed: str,
        rest: list[str],
        runner: ModelRunner,
        errors: list[ProviderError],
    ) -> list[str]:
        """The models still worth trying after `failed` raised `error`; raises if none."""
        errors.append(error)
        if isinstance(error, DeadlineExceeded):
            raise AllModelsFailed("the call's deadline passed", errors) from None
        if not isinstance(error, self.fallback_on):
            raise AllModelsFailed(
                f"{type(error).__name__} is not a fallback trigger (fallback_on)", errors
            ) from None
        if isinstance(error, ContextTooLong):

            def window(model: str) -> float:  # in counted (o200k) tokens
                spec = runner.spec(model)
                return spec.context_window / spec.prompt_token_factor

            rest = [m for m in rest if window(m) > window(failed)]
        if not rest:
            raise AllModelsFailed("all models failed", errors) from None
        return rest

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion:
        chain, errors = self._chain(plan), list[ProviderError]()
        while True:
            model, rest = chain[0], chain[1:]
            try:
                return await runner.complete(model)
            except ProviderError as exc:
                chain = self._next(exc, model, rest, runner, errors)

    async def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]:
        chain, errors = self._chain(plan), list[ProviderError]()
        while True:
            model, rest = chain[0], chain[1:]
            try:
                async with closing(runner.stream(model)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            except ProviderError as exc:
                chain = self._next(exc, model, rest, runner, errors)
