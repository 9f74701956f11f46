"""Single: call the plan's first choice only (its own retries and deployments still apply)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from langroute._streams import closing
from langroute.errors import AllModelsFailed, ProviderError
from langroute.policy.base import RoutePlan
from langroute.strategies.base import ModelRunner
from langroute.types import Completion, StreamChunk


@dataclass(frozen=True)
class Single:
    name: str = "single"

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion:
        try:
            return await runner.complete(plan.chosen.model)
        except ProviderError as exc:
            raise AllModelsFailed("the chosen model failed", [exc]) from None

    async def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]:
        try:
            async with closing(runner.stream(plan.chosen.model)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except ProviderError as exc:
            raise AllModelsFailed("the chosen model failed", [exc]) from None
