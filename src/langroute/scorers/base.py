"""The `Scorer` protocol: how good is this answer to this request, from 0 to 1, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from langroute.features import RoutingRequest
from langroute.types import Completion, StreamChunk, TokenLogprob, ToolCall


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    """0 = certainly bad, 1 = no reason to doubt it."""
    reason: str
    cost_usd: float = 0.0
    """What producing the score cost (an LLM judge's call); added to the call's cost."""


@dataclass(slots=True)
class Answer:
    """What a scorer looks at: a finished answer, or the part of a stream seen so far."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    logprobs: list[TokenLogprob] = field(default_factory=list)
    complete: bool = True
    """False while a stream is still running (a look-ahead window)."""
    model: str = ""
    calls_tools: bool = False
    """The answer calls tools (for a stream, only the fragments are known)."""
    earlier: list[Answer] = field(default_factory=list)
    """The answers to the same request that a cascade got before this one, cheapest first
    (a scorer may compare them: `ChainScorer` does)."""

    @classmethod
    def of(cls, completion: Completion, earlier: list[Answer] | None = None) -> Answer:
        return cls(
            content=completion.content or "",
            tool_calls=list(completion.tool_calls),
            finish_reason=completion.finish_reason,
            logprobs=list(completion.logprobs or ()),
            model=completion.model,
            calls_tools=bool(completion.tool_calls),
            earlier=list(earlier or ()),
        )

    @classmethod
    def of_chunks(
        cls, chunks: list[StreamChunk], complete: bool, earlier: list[Answer] | None = None
    ) -> Answer:
        finish = next((c.finish_reason for c in reversed(chunks) if c.finish_reason), None)
        return cls(
            content="".join(c.content for c in chunks),
            finish_reason=finish,
            logprobs=[lp for c in chunks for lp in (c.logprobs or ())],
            complete=complete,
            model=chunks[0].model if chunks else "",
            calls_tools=any(c.tool_calls for c in chunks),
            earlier=list(earlier or ()),
        )


@runtime_checkable
class Scorer(Protocol):
    """Scores an answer to a request. May do I/O (an LLM judge), so it is async."""

    async def score(self, request: RoutingRequest, answer: Answer) -> Score: ...
