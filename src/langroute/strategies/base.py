"""The `Strategy` protocol: how a `RoutePlan` runs. Streaming and non-streaming share it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from langroute._fast import construct
from langroute.errors import ConfigError, ProviderError
from langroute.features import RoutingRequest
from langroute.policy.base import RoutePlan
from langroute.registry.spec import ModelSpec
from langroute.types import (
    Completion,
    RedactedThinkingPart,
    StreamChunk,
    ThinkingDelta,
    ToolCallDelta,
)

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

    @property
    def deadline(self) -> float | None:
        """The call's deadline as a `time.perf_counter()` time (None: none): helper calls
        made while judging answers end by it (`side.side_calls_until`)."""
        ...

    def spec(self, model: str) -> ModelSpec: ...

    async def complete(self, model: str) -> Completion: ...

    def stream(self, model: str) -> AsyncIterator[StreamChunk]: ...


def completion_chunks(completion: Completion) -> Iterator[StreamChunk]:
    """A finished answer as a stream: its reasoning, text and tool calls in one chunk, then
    the closing chunk with usage, cost and decision (an ensemble's kept answer, a cached
    answer)."""
    common = {
        "model": completion.model,
        "provider": completion.provider,
        "logprobs": None,
        "raw": None,
    }
    yield construct(
        StreamChunk,
        content=completion.content or "",
        tool_calls=[
            ToolCallDelta(
                index=i, id=call.id, name=call.function.name, arguments=call.function.arguments
            )
            for i, call in enumerate(completion.tool_calls)
        ],
        thinking=[
            ThinkingDelta(index=i, redacted=part.data)
            if isinstance(part, RedactedThinkingPart)
            else ThinkingDelta(index=i, thinking=part.thinking, signature=part.signature)
            for i, part in enumerate(completion.thinking)
        ],
        finish_reason=None,
        usage=None,
        cost_usd=None,
        decision=None,
        **common,
    )
    yield construct(
        StreamChunk,
        content="",
        tool_calls=[],
        thinking=[],
        finish_reason=completion.finish_reason,
        usage=completion.usage,
        cost_usd=completion.cost_usd,
        decision=completion.decision,
        **common,
    )


@runtime_checkable
class Strategy(Protocol):
    """Executes a plan through a `ModelRunner`."""

    @property
    def name(self) -> str: ...

    async def run(self, plan: RoutePlan, runner: ModelRunner) -> Completion: ...

    def stream(self, plan: RoutePlan, runner: ModelRunner) -> AsyncIterator[StreamChunk]: ...


def error_types(owner: str, value: Any) -> tuple[type[ProviderError], ...]:
    """`fallback_on` as a tuple of error classes (one class is accepted as is). A name or
    anything else is refused now: a wrong value would only fail when the fallback fires."""
    items = (value,) if isinstance(value, type) else value
    if isinstance(items, tuple | list) and all(
        isinstance(t, type) and issubclass(t, ProviderError) for t in items
    ):
        return tuple(items)
    raise ConfigError(
        f"{owner}.fallback_on must be error classes such as (RateLimited, Timeout) from "
        f"langroute.errors, got {value!r}"
    )


def at_least(
    owner: str, field: str, value: float | None, low: float, *, above: bool = False
) -> None:
    """Refuse `value` below `low` (or not above it): a clear error at construction."""
    if value is not None and (value <= low if above else value < low):
        relation = "above" if above else "at least"
        raise ConfigError(f"{owner}.{field} must be {relation} {low:g}, got {value!r}")
