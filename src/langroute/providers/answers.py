"""Reading a framework's answer, which keeps its provider's words: why it ended (in
OpenAI's words, for the cascade's heuristics), whether a filter stopped it (a
`ContentFiltered`, as a native provider raises), and its token logprobs (for
`LogprobConfidence`). Duck-typed: dicts or SDK objects, no SDK imported."""

from __future__ import annotations

from typing import Any

from langroute.errors import ContentFiltered
from langroute.types import TokenLogprob, Usage

FILTERED = frozenset(
    {
        "content_filter",  # OpenAI, Azure OpenAI, Mistral
        "content_filtered",  # Bedrock
        "guardrail_intervened",  # Bedrock guardrails
        "refusal",  # Anthropic
        "safety",  # Gemini
        "prohibited_content",
        "blocklist",
        "spii",
        "recitation",
    }
)
"""Finish reasons that mean a provider's filter stopped the answer, lower-cased."""


_FINISH_REASONS = {
    "end_turn": "stop",  # Anthropic, Bedrock
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",  # Anthropic, Bedrock, Gemini (MAX_TOKENS)
    "model_length": "length",  # Mistral
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "complete": "stop",  # Cohere
}


def finish_reason(reason: object) -> str | None:
    """A provider's finish reason in OpenAI's words (`stop`, `length`,
    `tool_calls`, `content_filter`), whatever provider gave it; anything else as given.
    The cascade's heuristics read `length` ("truncated by the length limit")."""
    if not isinstance(reason, str):
        return None
    key = reason.lower()
    if key in FILTERED:
        return "content_filter"
    return _FINISH_REASONS.get(key, key if key in ("stop", "length", "tool_calls") else reason)


def filtered(reason: object, usage: Usage | None = None, **where: Any) -> ContentFiltered | None:
    """The `ContentFiltered` for an answer whose finish reason says a filter stopped it
    (a framework returns it as an answer, often empty: the router falls back from it, as
    from a native provider's); None otherwise."""
    if not isinstance(reason, str) or reason.lower() not in FILTERED:
        return None
    error = ContentFiltered(f"the provider's filter stopped the answer ({reason})", **where)
    error.usage = usage
    return error


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def token_logprobs(logprobs: Any) -> list[TokenLogprob] | None:
    """OpenAI-shaped logprobs (`{"content": [{"token", "logprob"}, ...]}`, as a dict or the
    SDK's object) as langroute's; None when there are none."""
    content = _field(logprobs, "content") if logprobs is not None else None
    if not content:
        return None
    out = []
    for item in content:
        token, value = _field(item, "token"), _field(item, "logprob")
        if isinstance(token, str) and isinstance(value, int | float):
            out.append(TokenLogprob(token=token, logprob=float(value)))
    return out or None
