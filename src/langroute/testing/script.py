"""What a scripted model does on each call: answer, fail, hang, garble, or drop a stream."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from langroute.providers.claude_json import takes_json_outputs
from langroute.reasoning import default_sampling, default_thinking_types, is_reasoning_model
from langroute.testing.effort import default_levels
from langroute.types import ThinkingType


@dataclass(frozen=True)
class ToolCallScript:
    """A tool call the scripted model makes."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """Answer with `text` (or `text(last_user_text)`) and/or tool calls.

    `ttft_s` is the delay before the first token; `tokens_per_s` paces the rest (None: no
    pacing). Token counts default to ceil(characters / 4) of the prompt and the answer.
    """

    text: str | Callable[[str], str] = "ok"
    tool_calls: tuple[ToolCallScript, ...] = ()
    ttft_s: float = 0.0
    tokens_per_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    """Of the prompt, written to the prompt cache (Anthropic's `cache_creation_input_tokens`;
    OpenAI-shaped gateways' `prompt_tokens_details.cache_write_tokens`)."""
    cache_write_1h_tokens: int = 0
    """Of those, written for an hour (Anthropic's `cache_creation.ephemeral_1h_input_tokens`)."""
    finish_reason: str | None = None
    """Defaults to `stop`, or `tool_calls` when there are tool calls."""
    logprob: float = -0.05
    """Each token's logprob, when the request asks for logprobs (-0.05: confident)."""
    reasoning: str | None = None
    """The model's reasoning before its answer: Claude sends it as a signed `thinking` block
    when the call enables `thinking` (None: a line about the question), an OpenAI-shaped
    model as `reasoning_content` (None: no reasoning), as DeepSeek's reasoner does."""


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error. `code` goes in the error body (e.g. `context_length_exceeded`,
    `content_filter`); `retry_after` sets the Retry-After header (seconds)."""

    status: int = 500
    message: str = "scripted failure"
    code: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Hang:
    """Wait `seconds` before answering `then` — longer than the client's timeout, a timeout."""

    seconds: float = 30.0
    then: Reply = field(default_factory=Reply)


@dataclass(frozen=True)
class Malformed:
    """Answer HTTP 200 with a body that is not valid JSON (or a stream with a broken event)."""

    body: str = '{"choices": [ this is not json'


@dataclass(frozen=True)
class DropStream:
    """Send `after_chunks` content chunks of `reply`, then cut the connection. For a
    non-streaming call the connection is cut in the middle of the response body."""

    after_chunks: int = 2
    reply: Reply = field(default_factory=lambda: Reply(text="one two three four five six"))


Behaviour = Reply | Fail | Hang | Malformed | DropStream
Responder = Callable[["CallInfo"], Behaviour]


@dataclass(frozen=True)
class CallInfo:
    """What the scripted model sees of a call (given to a responder function)."""

    model: str
    api: str
    stream: bool
    last_user_text: str
    body: dict[str, Any]


class ScriptedModel:
    """A model served by the scripted server: a queue of one-off behaviours, then a default
    (a fixed behaviour or a function of the call)."""

    def __init__(
        self,
        name: str,
        default: Behaviour | Responder | None = None,
        script: Iterable[Behaviour] = (),
        *,
        context_window: int | None = None,
        reasoning_efforts: tuple[str, ...] | None = None,
        thinking_types: tuple[ThinkingType, ...] | None = None,
        sampling: bool | None = None,
        json_outputs: bool | None = None,
    ) -> None:
        self.name = name
        self.default: Behaviour | Responder = default if default is not None else Reply()
        self.context_window = context_window
        self.reasoning_efforts = (
            reasoning_efforts if reasoning_efforts is not None else default_levels(name)
        )
        """The reasoning efforts it takes (OpenAI's `reasoning_effort`, Claude's
        `output_config.effort`); others are refused with a 400."""
        self.thinking_types = (
            thinking_types if thinking_types is not None else default_thinking_types(name)
        )
        """The kinds of Claude's `thinking` it takes (none: any); others are refused."""
        self.reasoning = is_reasoning_model(name)
        """An OpenAI reasoning model (by its name): over OpenAI's API it refuses `max_tokens`
        and sampling settings other than the defaults, as OpenAI does."""
        self.sampling = sampling if sampling is not None else default_sampling(name)
        """Whether it takes temperature, top_p and top_k (Claude Opus 4.7 and later do not:
        any is refused with a 400)."""
        self.json_outputs = json_outputs if json_outputs is not None else takes_json_outputs(name)
        """Whether it takes Claude's JSON outputs (`output_config.format`) and strict tools
        (Claude 4.5 and later do): else they are refused with a 400."""
        self._queue: deque[Behaviour] = deque(script)
        self._lock = threading.Lock()

    def then(self, *behaviours: Behaviour) -> ScriptedModel:
        """Queue behaviours for the next calls, in order; returns self for chaining."""
        with self._lock:
            self._queue.extend(behaviours)
        return self

    def reset(self, default: Behaviour | Responder | None = None) -> ScriptedModel:
        """Drop the queued behaviours and set the default (a plain `Reply()` if None): a
        model shared by several tests starts each one as scripted, whatever the last left."""
        with self._lock:
            self._queue.clear()
            self.default = default if default is not None else Reply()
        return self

    def next(self, call: CallInfo) -> Behaviour:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if callable(self.default) and not isinstance(
            self.default, Reply | Fail | Hang | Malformed | DropStream
        ):
            return self.default(call)
        return self.default
