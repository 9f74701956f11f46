"""Neutral, OpenAI-like shapes for messages, tools, completions and stream chunks.

Every provider and adapter translates to and from these; nothing here knows a framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

if TYPE_CHECKING:
    from langroute.decision import Decision


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheControl(_Shape):
    """A prompt-cache breakpoint (Anthropic's `cache_control`): the provider caches the
    prompt up to and including the part that carries it, and bills the next call that
    starts the same way a tenth of the input price for it. `ttl` is 5 minutes unless "1h".

    Anthropic (and gateways to it, when their provider is told to pass it on) honour it;
    OpenAI and most others cache long prompts on their own, so it is left out for them."""

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class TextPart(_Shape):
    """A piece of text inside a multi-part message."""

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageURL(_Shape):
    """An image by URL or as a `data:` URL with base64 content."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Shape):
    """An image inside a user message."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = None


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ThinkingPart(_Shape):
    """A model's reasoning before its answer: Claude's `thinking` block (with the
    `signature` Anthropic checks when the block is sent back), or the `reasoning_content`
    of OpenAI-compatible reasoning models (DeepSeek's, vLLM's; no signature).

    Claude with extended thinking refuses the next step of a tool loop unless the assistant
    message that called the tools starts with its thinking blocks, sent back unchanged;
    `Completion.message()` keeps them. APIs without such blocks are sent the text only."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str | None = None


class RedactedThinkingPart(_Shape):
    """Reasoning the provider returned encrypted (Claude's `redacted_thinking`): opaque,
    sent back as it came."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


Reasoning = Annotated[ThinkingPart | RedactedThinkingPart, Field(discriminator="type")]
AssistantPart = Annotated[
    TextPart | ThinkingPart | RedactedThinkingPart, Field(discriminator="type")
]


class FunctionCall(_Shape):
    """The function a model asks to call, arguments as the JSON text the model wrote."""

    name: str
    arguments: str = "{}"


class ToolCall(_Shape):
    """One tool call made by an assistant message."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Shape):
    role: Literal["system"] = "system"
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Shape):
    role: Literal["user"] = "user"
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Shape):
    role: Literal["assistant"] = "assistant"
    content: str | list[AssistantPart] | None = None
    """Text, or parts: text, and the reasoning a model returned before it (kept for Claude,
    which needs it back in a tool loop with extended thinking)."""
    tool_calls: list[ToolCall] | None = None
    name: str | None = None


class ToolMessage(_Shape):
    role: Literal["tool"] = "tool"
    content: str | list[TextPart]
    tool_call_id: str


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]
MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


def text_of(
    content: str | list[TextPart] | list[ContentPart] | list[AssistantPart] | None,
) -> str:
    """The text of a message's content, parts joined by newlines; images and reasoning are
    skipped."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content if isinstance(part, TextPart))


class FunctionSpec(_Shape):
    """A function a model may call: name, description, JSON-schema parameters."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


TOOL_FORMS = (
    "A tool is {'type': 'function', 'function': {'name': ..., 'description': ..., "
    "'parameters': {JSON schema}}}, or the flat {'name', 'description', 'parameters'} "
    "(or Anthropic's 'input_schema')"
)


class ToolSpec(_Shape):
    """A tool offered to the model, in OpenAI's `{"type": "function", "function": {...}}`
    form; a flat `{"name", "description", "parameters"}` dict (OpenAI's Responses API) or
    Anthropic's `{"name", "description", "input_schema"}` is read as the same tool."""

    type: Literal["function"] = "function"
    function: FunctionSpec
    cache_control: CacheControl | None = None
    """A prompt-cache breakpoint after this tool (Anthropic caches tools before the rest)."""

    @model_validator(mode="before")
    @classmethod
    def _flat_forms(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and "function" not in value and "name" in value:
            outer = ("type", "input_schema", "cache_control")
            function = {k: v for k, v in value.items() if k not in outer}
            if "input_schema" in value:
                function.setdefault("parameters", value["input_schema"])
            shaped = {"type": "function", "function": function}
            if value.get("cache_control") is not None:
                shaped["cache_control"] = value["cache_control"]
            return shaped
        return value


ToolChoice = Literal["auto", "none", "required"] | str
"""`auto`, `none`, `required`, or the name of the one tool the model must call."""


class JsonSchemaFormat(_Shape):
    name: str = "response"
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResponseFormat(_Shape):
    """Structured output: free JSON (`json_object`) or a JSON schema (`json_schema`)."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


ThinkingType = Literal["enabled", "adaptive", "disabled"]
"""The kinds of Claude's `thinking` setting: a fixed budget, the model's own choice (Claude
Opus 4.6 and later), or none."""


class ThinkingConfig(BaseModel):
    """Claude's extended thinking (the Messages API's `thinking`): `enabled` with a
    `budget_tokens` of at least 1,024, `adaptive`, or `disabled`. Other fields the API may
    add pass through as given.

    Only Claude is sent it: a router may send the call to a model that cannot think, which
    answers without (and says so once in the log). OpenAI-compatible reasoning models take
    `reasoning_effort` instead (in `extra_body`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: ThinkingType
    budget_tokens: int | None = Field(default=None, ge=1024)

    @model_validator(mode="after")
    def _budget_when_enabled(self) -> ThinkingConfig:
        if self.type == "enabled" and self.budget_tokens is None:
            raise ValueError(
                "thinking of type 'enabled' needs budget_tokens (at least 1024), e.g. "
                "{'type': 'enabled', 'budget_tokens': 2048}"
            )
        return self

    @property
    def on(self) -> bool:
        """Whether the model is asked to think."""
        return self.type != "disabled"


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
"""How hard a reasoning model thinks, least first (each model takes some of these)."""


class ChatParams(_Shape):
    """Everything besides the messages that shapes one chat call."""

    tools: list[ToolSpec] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    stop: list[str] | None = None
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    prompt_cache_key: str | None = None
    """OpenAI's key for calls that share a long prompt prefix (one per user or task), so
    they reach a server that holds it cached; only OpenAI-compatible providers send it."""
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    """OpenAI's extended prompt caching (`"24h"`); only OpenAI-compatible providers send
    it. Claude caches at `cache_control` breakpoints instead."""
    thinking: ThinkingConfig | None = None
    """Claude's extended thinking; see `ThinkingConfig`."""
    reasoning_effort: ReasoningEffort | None = None
    """How hard the answering model reasons, whichever it is: sent as OpenAI's
    `reasoning_effort` or Claude's `output_config.effort` (as the nearest level the model
    takes), as a thinking budget to a Claude model that takes only that, and not at all to
    a model that does not reason (see `langroute.reasoning`)."""
    extra_body: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _effort_from_extra_body(cls, data: Any) -> Any:
        """`extra_body={"reasoning_effort": ...}` (how OpenAI's SDK users pass it) is the
        routed setting too, so it is not sent to models that refuse it."""
        if isinstance(data, dict):
            extra = data.get("extra_body")
            if isinstance(extra, dict) and "reasoning_effort" in extra:
                rest = {k: v for k, v in extra.items() if k != "reasoning_effort"}
                data = {**data, "extra_body": rest or None}
                if data.get("reasoning_effort") is None:
                    data["reasoning_effort"] = extra["reasoning_effort"]
        return data

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_string(cls, value: Any) -> Any:
        """`stop="END"` means one stop sequence, as the OpenAI API takes it."""
        return [value] if isinstance(value, str) else value

    def sampling(self) -> dict[str, Any]:
        """The sampling settings that are set (temperature, top_p, max_tokens), as keyword
        arguments every common chat API takes (not `seed`: Anthropic's refuses it)."""
        values = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }
        return {k: v for k, v in values.items() if v is not None}


NO_PARAMS = ChatParams()
"""The parameters of a call that sets none (frozen, so shared)."""


class Usage(_Shape):
    """Token counts of one call. Of the prompt, `cached_tokens` were read from the provider's
    prompt cache and `cache_write_tokens` written to it (`cache_write_1h_tokens` of them for
    an hour): providers bill each at its own price. Of the completion, `reasoning_tokens`
    were hidden reasoning, when the provider says (billed as output)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class TokenLogprob(_Shape):
    token: str
    logprob: float


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"] | str


class Completion(BaseModel):
    """One model's answer, with who answered, what it cost and why it was chosen."""

    model_config = ConfigDict(extra="forbid")

    id: str
    model: str
    """The registry name of the model that answered."""
    provider: str
    """The provider (deployment) that served it."""
    provider_model: str
    """The model id the provider reported."""
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: FinishReason | None = None
    usage: Usage = Field(default_factory=Usage)
    logprobs: list[TokenLogprob] | None = None
    cost_usd: float = 0.0
    decision: Decision | None = None
    """Why this model answered: plan, reasons, every attempt (set by the Router)."""
    raw: Any = Field(default=None, exclude=True, repr=False)
    """The target's own answer object (e.g. a LangChain `ChatResult`), for adapters."""
    thinking: list[Reasoning] = Field(default_factory=list)
    """The model's reasoning before its answer, in order, when its API returns any (Claude
    with `thinking` enabled, DeepSeek's reasoner). Billed as output tokens."""

    @classmethod
    def from_chunks(cls, chunks: Iterable[StreamChunk]) -> Completion:
        """A streamed answer as one completion: text joined, tool calls and reasoning
        blocks put together by index, and the last chunk's finish reason, usage, cost and
        decision. Append its `message()` to the conversation for the next turn."""
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        thoughts: dict[int, dict[str, str]] = {}
        last: StreamChunk | None = None
        finish: FinishReason | None = None
        for chunk in chunks:
            last = chunk
            finish = chunk.finish_reason or finish
            text.append(chunk.content)
            add_tool_deltas(calls, chunk.tool_calls)
            add_thinking_deltas(thoughts, chunk.thinking)
        if last is None:
            raise ValueError("no chunks: a stream ends with at least its closing chunk")
        decision = last.decision
        return cls(
            id=decision.request_id if decision is not None else "stream",
            model=last.model,
            provider=last.provider,
            provider_model=last.model,
            content="".join(text),
            tool_calls=[
                ToolCall(
                    id=c["id"] or f"call_{i}",
                    function=FunctionCall(name=c["name"], arguments=c["arguments"] or "{}"),
                )
                for i, c in sorted(calls.items())
            ],
            finish_reason=finish,
            usage=last.usage or Usage(),
            cost_usd=last.cost_usd or 0.0,
            decision=decision,
            thinking=[
                RedactedThinkingPart(data=b["redacted"])
                if "redacted" in b
                else ThinkingPart(thinking=b["thinking"], signature=b["signature"] or None)
                for _, b in sorted(thoughts.items())
            ],
        )

    @property
    def reasoning_text(self) -> str:
        """The readable reasoning, blocks joined by newlines ("" when there is none)."""
        return "\n".join(p.thinking for p in self.thinking if isinstance(p, ThinkingPart))

    def message(self) -> AssistantMessage:
        """This answer as an assistant message, ready to append to a conversation: its
        reasoning blocks come first, as Claude needs them back in a tool loop."""
        if not self.thinking:
            return AssistantMessage(content=self.content, tool_calls=self.tool_calls or None)
        parts: list[TextPart | ThinkingPart | RedactedThinkingPart] = list(self.thinking)
        if self.content:
            parts.append(TextPart(text=self.content))
        return AssistantMessage(content=parts, tool_calls=self.tool_calls or None)


class ToolCallDelta(_Shape):
    """A fragment of a streamed tool call; fragments with the same index form one call."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ThinkingDelta(_Shape):
    """A fragment of streamed reasoning; fragments with the same index form one block: its
    text, then (Claude) its signature. A redacted block comes whole, as `redacted`."""

    index: int
    thinking: str = ""
    signature: str | None = None
    redacted: str | None = None


class StreamChunk(BaseModel):
    """One piece of a streamed answer. The last chunk carries usage, cost and the decision.

    A provider's chunks report usage increments (added up by the router); the router's own
    last chunk carries the total.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    provider: str = ""
    content: str = ""
    tool_calls: list[ToolCallDelta] = Field(default_factory=list)
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    logprobs: list[TokenLogprob] | None = None
    cost_usd: float | None = None
    decision: Decision | None = None
    """Set on the last chunk only, with its `usage` and `cost_usd`."""
    raw: Any = Field(default=None, exclude=True, repr=False)
    """The target's own chunk object (e.g. a LangChain `ChatGenerationChunk`), for adapters."""
    thinking: list[ThinkingDelta] = Field(default_factory=list)
    """Reasoning fragments (see `ThinkingDelta`), streamed before the answer they lead to."""

    @property
    def has_payload(self) -> bool:
        """Whether this chunk carries anything a caller would see (text, reasoning or
        tool-call data)."""
        return bool(self.content or self.tool_calls or self.thinking)


def add_tool_deltas(calls: dict[int, dict[str, str]], deltas: Sequence[ToolCallDelta]) -> None:
    """Merge streamed tool-call fragments into `calls` (by index: id, name, arguments so far)."""
    for delta in deltas:
        call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
        call["id"] = delta.id or call["id"]
        call["name"] = delta.name or call["name"]
        call["arguments"] += delta.arguments


def add_thinking_deltas(
    thoughts: dict[int, dict[str, str]], deltas: Sequence[ThinkingDelta]
) -> None:
    """Merge streamed reasoning fragments into `thoughts` (by index: text and signature so
    far; a redacted block's data under `redacted`)."""
    for delta in deltas:
        block = thoughts.setdefault(delta.index, {"thinking": "", "signature": ""})
        block["thinking"] += delta.thinking
        block["signature"] = delta.signature or block["signature"]
        if delta.redacted is not None:
            block["redacted"] = delta.redacted
