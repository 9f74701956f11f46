"""The `Strategy` protocol: how a `RoutePlan` runs. Streaming and non-streaming share it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from langroute.features import RoutingRequest
from langroute.policy.base import RoutePlan
from langroute.registry.spec import ModelSpec
from langroute.types import Completion, StreamChunk

if TYPE_CHECKING:
    from langroute.decision import Decision


class ModelRunner(Protocol):
    """Runs one model of the plan (its deployments, with retries), recording every attempt.

    `stream` raises a `ProviderError` only before its first chunk with text or tool-call data;
    after that a failure is a `StreamInterrupted`.
    """

    @property
    def request(self) -> RoutingRequest:
        """The request being run (what scorers judge answers against)."""
        ...

    @property
    def decision(self) -> Decision:
        """The decision being filled in (attempts, escalations)."""
        ...

    def spec(self, model: str) -> ModelSpec: ...

    async def complete(self, model: str) -> Completion: ...

    def stream(self, model: str) -> AsyncIterator[StreamChunk]: ...


@runtime_checkable
class Strategy(Protocol):
    """Executes a plan through a `ModelRunner`."""

    @property
    def name(self) -> str: ...

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion: ...

    def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]: ...
