"""Prompt compression before the routing decision: fewer input tokens, same meaning.

Lossless steps (on by default): trailing spaces and runs of spaces inside lines are
collapsed and 3+ blank lines become one (indentation and fenced code blocks are kept as
they are), and a message repeating the previous one verbatim is dropped. Lossy steps (off
unless configured): long tool results keep their head and tail around an omission marker
(`max_tool_result_tokens`), and when the prompt is over `max_prompt_tokens` the oldest turns
go first — system messages and the last user message always stay, and a tool call is never
separated from its results.

The router compresses before it classifies and prices the request, so the decision and the
call see the same, shorter prompt; `decision.compression` reports tokens before and after.
It applies to native providers: a framework candidate (LangChain/LlamaIndex) is called with
the framework's own messages, so adapters do not compress.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langroute.errors import ConfigError
from langroute.tokens import count_tokens
from langroute.types import (
    AssistantMessage,
    Message,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
    text_of,
)

_FENCE = re.compile(r"(```.*?```)", re.DOTALL)
_INNER_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Collapse whitespace outside fenced code blocks, keeping indentation."""
    parts = _FENCE.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside fences
        lines = [_INNER_SPACES.sub(" ", line.rstrip()) for line in parts[i].split("\n")]
        parts[i] = _BLANK_LINES.sub("\n\n", "\n".join(lines))
    return "".join(parts)


class PromptCompressor:
    """Shortens a conversation before it is routed and sent (see the module docstring)."""

    def __init__(
        self,
        *,
        whitespace: bool = True,
        drop_repeats: bool = True,
        max_tool_result_tokens: int | None = None,
        max_prompt_tokens: int | None = None,
    ) -> None:
        for name, value in (
            ("max_tool_result_tokens", max_tool_result_tokens),
            ("max_prompt_tokens", max_prompt_tokens),
        ):
            if value is not None and value < 16:
                raise ConfigError(f"{name} must be at least 16 tokens, got {value}")
        self.whitespace = whitespace
        self.drop_repeats = drop_repeats
        self.max_tool_result_tokens = max_tool_result_tokens
        self.max_prompt_tokens = max_prompt_tokens

    def compress(self, messages: Sequence[Message]) -> list[Message]:
        out: list[Message] = []
        for message in messages:
            message = self._tidy(message)
            if self.drop_repeats and out and _same(out[-1], message):
                continue
            out.append(message)
        if self.max_prompt_tokens is not None:
            out = self._fit(out, self.max_prompt_tokens)
        return out

    def _tidy(self, message: Message) -> Message:
        content: Any = message.content
        if isinstance(message, ToolMessage) and self.max_tool_result_tokens is not None:
            content = _clip(text_of(content), self.max_tool_result_tokens)
        if self.whitespace and content is not None:
            if isinstance(content, str):
                content = tidy(content)
            else:
                content = [
                    p.model_copy(update={"text": tidy(p.text)}) if isinstance(p, TextPart) else p
                    for p in content
                ]
        if content is message.content:
            return message
        return message.model_copy(update={"content": content})

    @staticmethod
    def _fit(messages: list[Message], budget: int) -> list[Message]:
        """Drop the oldest turns (a user message and everything up to the next one) until
        the prompt fits; system messages and the last turn always stay."""
        turns: list[list[Message]] = []
        for message in messages:
            if isinstance(message, UserMessage) or not turns:
                turns.append([message])
            else:
                turns[-1].append(message)

        def size(groups: list[list[Message]]) -> int:
            return sum(count_tokens(text_of(m.content)) + 4 for g in groups for m in g)

        systems: list[list[Message]] = [
            [m for t in turns for m in t if isinstance(m, SystemMessage)]
        ]
        body: list[list[Message]] = [
            [m for m in t if not isinstance(m, SystemMessage)] for t in turns
        ]
        body = [t for t in body if t]
        while len(body) > 1 and size(systems + body) > budget:
            body.pop(0)
        return [m for group in systems + body for m in group]


def _same(a: Message, b: Message) -> bool:
    if isinstance(a, AssistantMessage | ToolMessage) or isinstance(
        b, AssistantMessage | ToolMessage
    ):
        return False  # tool calls and their results are never deduplicated
    return a.role == b.role and a.content == b.content


def _clip(text: str, limit: int) -> str:
    tokens = count_tokens(text)
    if tokens <= limit:
        return text
    keep = int(len(text) * (limit / tokens) / 2)
    omitted = tokens - limit
    return f"{text[:keep]}\n[… about {omitted} tokens omitted …]\n{text[-keep:]}"
