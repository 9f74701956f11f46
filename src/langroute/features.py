"""What the router may look at, computed once per request."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langroute._fast import construct
from langroute.errors import ConfigError, invalid_input
from langroute.tokens import IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, count_tokens, counts_are_exact
from langroute.types import (
    MESSAGE,
    NO_PARAMS,
    AssistantMessage,
    ChatParams,
    ImagePart,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
    text_of,
)


class CallerHints(BaseModel):
    """Per-call limits and wishes from the caller; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_cost_usd: float | None = Field(default=None, ge=0)
    """Reject candidates whose expected cost for this call is higher."""
    max_latency_ms: float | None = Field(default=None, gt=0)
    """Reject candidates whose expected latency for this call is higher."""
    min_quality: float | None = Field(default=None, ge=0, le=1)
    """Reject candidates whose quality prior for this task is lower."""
    model: str | None = None
    """Force this model (still checked for capabilities and context window)."""
    expected_output_tokens: int | None = Field(default=None, gt=0)
    """How long the answer is expected to be, for cost and latency estimates."""
    attempt_timeout_s: float | None = Field(default=None, gt=0)
    """Give up on one model call after this many seconds and move on (overrides the retry
    policy's)."""
    deadline_s: float | None = Field(default=None, gt=0)
    """End the whole call within this many seconds (overrides the retry policy's)."""

    @classmethod
    def parse(cls, hints: CallerHints | Mapping[str, Any] | None) -> CallerHints:
        """`hints` as `CallerHints`; a `ConfigError` names any unknown or invalid hint."""
        if isinstance(hints, CallerHints):
            return hints
        if not hints:
            return NO_HINTS
        try:
            return cls.model_validate(hints)
        except ValidationError as exc:
            raise invalid_input("hints", exc, cls.model_fields, unknown="unknown hint") from None

    def with_timeout(self, timeout: object) -> CallerHints:
        """These hints with a framework's `timeout` (seconds) as the attempt timeout, unless
        they set one; anything but a positive number leaves them as they are."""
        if (
            self.attempt_timeout_s is not None
            or not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or timeout <= 0
        ):
            return self
        return self.model_copy(update={"attempt_timeout_s": float(timeout)})


NO_HINTS = CallerHints()
"""The hints of a call that gives none (frozen, so shared)."""


class RequestFeatures(BaseModel):
    """Everything the classifier and policy see about a request, computed once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    last_user_text: str
    prompt_tokens: int
    tokens_exact: bool
    """False when tiktoken could not load its encoding and the count is an estimate."""
    tool_names: tuple[str, ...] = ()
    tool_choice: str | None = None
    has_images: bool = False
    structured_output: bool = False
    """JSON output asked (`json_object` or `json_schema`)."""
    json_schema: bool = False
    """Schema-constrained output asked (`json_schema`): needs `structured_output` ability."""
    conversation_depth: int = 1
    """User turns so far, the current one included."""
    has_tool_results: bool = False
    last_role: str = "user"
    """Role of the last message: `tool` means an agent step right after tool results."""
    max_output_tokens: int | None = None
    tenant: str | None = None
    user: str | None = None
    api_key_id: str | None = None
    """A fingerprint of the caller's API key (for per-key budgets), never the key."""
    tags: tuple[str, ...] = ()
    hints: CallerHints = CallerHints()
    message_tokens: tuple[int, ...] = Field(default=(), exclude=True, repr=False)
    """Each message's share of `prompt_tokens`, in order (the tools' share is the rest):
    where the prompt's prefixes end, for pricing the part a provider holds cached."""

    @property
    def needs_tools(self) -> bool:
        return bool(self.tool_names) and self.tool_choice != "none"


def _message_tokens(message: Message) -> tuple[int, bool]:
    tokens = MESSAGE_OVERHEAD_TOKENS
    images = False
    content = message.content
    if isinstance(content, list):
        for part in content:
            if isinstance(part, ImagePart):
                tokens += IMAGE_TOKENS
                images = True
    tokens += count_tokens(text_of(content))
    if isinstance(message, AssistantMessage) and message.tool_calls:
        for call in message.tool_calls:
            tokens += count_tokens(call.function.name) + count_tokens(call.function.arguments)
    return tokens, images


_CHOICE_WORDS = (None, "auto", "none", "required")


def extract_features(
    messages: Sequence[Message],
    params: ChatParams,
    *,
    hints: CallerHints | None = None,
    tenant: str | None = None,
    user: str | None = None,
    api_key_id: str | None = None,
    tags: Sequence[str] = (),
) -> RequestFeatures:
    """Compute a request's features: token counts, tools, images, depth, tags and hints
    (one string is one tag)."""
    if not isinstance(tenant, str | None) or not isinstance(user, str | None):
        name, value = ("tenant", tenant) if not isinstance(tenant, str | None) else ("user", user)
        raise ConfigError(f"{name} must be a string, got {type(value).__name__}")
    prompt_tokens = 0
    has_images = False
    last_user = ""
    depth = 0
    has_tool_results = False
    message_tokens: list[int] = []
    for message in messages:
        tokens, images = _message_tokens(message)
        message_tokens.append(tokens)
        prompt_tokens += tokens
        has_images = has_images or images
        if isinstance(message, UserMessage):
            depth += 1
            last_user = text_of(message.content)
        elif isinstance(message, ToolMessage):
            has_tool_results = True
    tool_names: tuple[str, ...] = ()
    if params.tools:
        tool_names = tuple(t.function.name for t in params.tools)
        for tool in params.tools:
            prompt_tokens += count_tokens(tool.function.name) + count_tokens(
                tool.function.description or ""
            )
            prompt_tokens += len(str(tool.function.parameters)) // 4
    choice = params.tool_choice
    if (choice not in _CHOICE_WORDS and choice not in tool_names) or (
        choice == "required" and not tool_names
    ):
        raise ConfigError(
            f"tool_choice {choice!r} "
            + ("needs tools" if choice == "required" else "names no tool of this call")
            + f"; the call's tools: {', '.join(tool_names) or 'none'} (tool_choice is 'auto', "
            "'none', 'required' or one of their names)"
        )
    fmt = params.response_format
    return construct(
        RequestFeatures,
        last_user_text=last_user,
        prompt_tokens=prompt_tokens,
        tokens_exact=counts_are_exact(),
        tool_names=tool_names,
        tool_choice=params.tool_choice,
        has_images=has_images,
        structured_output=fmt is not None and fmt.type != "text",
        json_schema=fmt is not None and fmt.type == "json_schema",
        conversation_depth=max(depth, 1),
        has_tool_results=has_tool_results,
        last_role=messages[-1].role if messages else "user",
        max_output_tokens=params.max_tokens,
        tenant=tenant,
        user=user,
        api_key_id=api_key_id,
        tags=(tags,) if isinstance(tags, str) else tuple(tags),
        hints=hints or NO_HINTS,
        message_tokens=tuple(message_tokens),
    )


_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A process-unique request id: a random per-process prefix and a counter (no syscall)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


_MESSAGE_TYPES = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)
_ONE_MESSAGE = (Mapping, *_MESSAGE_TYPES)
_NOT_A_LIST = (*_ONE_MESSAGE, bytes, bytearray)


def _message(index: int, message: Any) -> Message:
    """One message given as a dict, validated; a `ConfigError` says which one is wrong."""
    try:
        return MESSAGE.validate_python(message)
    except ValidationError as exc:
        raise invalid_input(
            f"messages[{index}]",
            exc,
            advice="A message is a dict with 'role' (system, user, assistant or tool) and "
            "'content', or a langroute message object",
        ) from None


class RoutingRequest(BaseModel):
    """A chat request in neutral form, with its features computed once at build time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    messages: tuple[Message, ...]
    params: ChatParams
    features: RequestFeatures
    native: Any = Field(default=None, exclude=True, repr=False)
    """The framework's own call (e.g. LangChain messages and kwargs), opaque to the core and
    handed to adapter providers so nothing is lost in translation."""

    @classmethod
    def build(
        cls,
        messages: Sequence[Message | Mapping[str, Any]] | str,
        params: ChatParams | None = None,
        *,
        hints: CallerHints | Mapping[str, Any] | None = None,
        tenant: str | None = None,
        user: str | None = None,
        api_key_id: str | None = None,
        tags: Sequence[str] = (),
        request_id: str | None = None,
        native: Any = None,
    ) -> RoutingRequest:
        """Validate the messages (dicts or message objects, or one user string) and
        compute the features."""
        if isinstance(messages, str):
            parsed: list[Message] = [UserMessage(content=messages)]
        else:
            if not isinstance(messages, list | tuple) and (
                isinstance(messages, _NOT_A_LIST) or not isinstance(messages, Iterable)
            ):
                one = isinstance(messages, _ONE_MESSAGE)
                raise ConfigError(
                    f"messages must be a string or a list of messages, got "
                    f"{type(messages).__name__}"
                    + (": wrap the one message in a list, [message]" if one else "")
                )
            parsed = [
                m if isinstance(m, _MESSAGE_TYPES) else _message(i, m)
                for i, m in enumerate(messages)
            ]
        if not parsed:
            raise ConfigError("messages is empty: pass at least one message, e.g. 'Hello'")
        params = params or NO_PARAMS
        if hints is not None and not isinstance(hints, CallerHints):
            hints = CallerHints.parse(hints)
        features = extract_features(
            parsed, params, hints=hints, tenant=tenant, user=user, api_key_id=api_key_id, tags=tags
        )
        return construct(
            cls,
            request_id=request_id or new_request_id(),
            messages=tuple(parsed),
            params=params,
            features=features,
            native=native,
        )
