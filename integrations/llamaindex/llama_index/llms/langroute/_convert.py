"""LlamaIndex shapes → langroute's neutral shapes (for routing features) and usage back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, ToolCallBlock
from llama_index.core.tools import BaseTool

from langroute.types import (
    AssistantMessage,
    FunctionCall,
    ImagePart,
    ImageURL,
    Message,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    ToolSpec,
    Usage,
    UserMessage,
    text_of,
)


def _text(message: ChatMessage) -> str:
    return message.content or ""


def to_neutral_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """The neutral view of a LlamaIndex conversation: roles, text, images, tool calls."""
    out: list[Message] = []
    for message in messages:
        role = message.role
        if role in (MessageRole.SYSTEM, MessageRole.DEVELOPER):
            out.append(SystemMessage(content=_text(message)))
        elif role in (MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT):
            raw_calls = message.additional_kwargs.get("tool_calls") or []
            calls = []
            for i, call in enumerate(raw_calls):
                function = (
                    call.get("function")
                    if isinstance(call, dict)
                    else getattr(call, "function", None)
                )
                name = (
                    function.get("name")
                    if isinstance(function, dict)
                    else getattr(function, "name", "tool")
                )
                calls.append(ToolCall(id=f"call_{i}", function=FunctionCall(name=str(name))))
            out.append(AssistantMessage(content=_text(message) or None, tool_calls=calls or None))
        elif role in (MessageRole.TOOL, MessageRole.FUNCTION):
            call_id = str(message.additional_kwargs.get("tool_call_id") or "tool")
            out.append(ToolMessage(content=_text(message), tool_call_id=call_id))
        else:
            parts: list[Any] = [TextPart(text=_text(message))]
            if any(isinstance(block, ImageBlock) for block in message.blocks):
                parts.append(ImagePart(image_url=ImageURL(url="image")))
            out.append(UserMessage(content=parts if len(parts) > 1 else _text(message)))
    return out


def from_neutral_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    """LlamaIndex messages for a neutral conversation (a request built by the core itself,
    e.g. an LLM judge's, has no LlamaIndex call behind it). Text only: images are dropped."""
    out: list[ChatMessage] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append(ChatMessage(role=MessageRole.SYSTEM, content=text_of(m.content)))
        elif isinstance(m, UserMessage):
            out.append(ChatMessage(role=MessageRole.USER, content=text_of(m.content)))
        elif isinstance(m, AssistantMessage):
            extra = {}
            if m.tool_calls:
                extra["tool_calls"] = [c.model_dump() for c in m.tool_calls]
            out.append(
                ChatMessage(
                    role=MessageRole.ASSISTANT,
                    content=text_of(m.content),
                    additional_kwargs=extra,
                )
            )
        else:
            out.append(
                ChatMessage(
                    role=MessageRole.TOOL,
                    content=text_of(m.content),
                    additional_kwargs={"tool_call_id": m.tool_call_id},
                )
            )
    return out


def to_tool_specs(tools: Sequence[BaseTool]) -> list[ToolSpec]:
    return [ToolSpec.model_validate(tool.metadata.to_openai_tool()) for tool in tools]


def usage_from_raw(raw: Any) -> Usage | None:
    """Token usage from a LlamaIndex response's `raw` (OpenAI or Anthropic shaped)."""
    usage = raw.get("usage") if isinstance(raw, dict) else getattr(raw, "usage", None)
    if usage is None:
        return None

    def get(name: str) -> int:
        value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
        return int(value or 0)

    if get("prompt_tokens") or get("completion_tokens"):  # OpenAI's shape
        details = _field(usage, "prompt_tokens_details")
        cached = _field(details, "cached_tokens") if details is not None else None
        written = _field(details, "cache_write_tokens") if details is not None else None
        hour = _field(details, "cache_write_1h_tokens") if details is not None else None
        return Usage(
            prompt_tokens=get("prompt_tokens"),
            completion_tokens=get("completion_tokens"),
            cached_tokens=int(cached or 0) or get("prompt_cache_hit_tokens"),  # DeepSeek's
            cache_write_tokens=int(written or 0),
            cache_write_1h_tokens=int(hour or 0),  # a native candidate's (its `raw`)
            reasoning_tokens=int(_field(completion, "reasoning_tokens") or 0)
            if (completion := _field(usage, "completion_tokens_details")) is not None
            else 0,
        )
    cached, written = get("cache_read_input_tokens"), get("cache_creation_input_tokens")
    by_ttl = _field(usage, "cache_creation")
    hour = _field(by_ttl, "ephemeral_1h_input_tokens") if by_ttl is not None else None
    return Usage(  # Anthropic's: input_tokens leaves out what was read from or written to cache
        prompt_tokens=get("input_tokens") + cached + written,
        completion_tokens=get("output_tokens"),
        cached_tokens=cached,
        cache_write_tokens=written,
        cache_write_1h_tokens=int(hour or 0),
    )


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def finish_reason_from_raw(raw: Any) -> str | None:
    """Why a LlamaIndex response (or stream event) ended, from its `raw`: OpenAI's
    `choices[0].finish_reason`, Anthropic's `stop_reason` (on a stream's `delta`)."""
    choices = _field(raw, "choices")
    if isinstance(choices, list) and choices:
        reason = _field(choices[0], "finish_reason")
    else:
        reason = _field(raw, "stop_reason") or _field(_field(raw, "delta"), "stop_reason")
    return reason if isinstance(reason, str) else None


def logprobs_from_raw(raw: Any) -> Any:
    """The OpenAI-shaped logprobs in a LlamaIndex response's `raw` (`choices[0].logprobs`):
    its `logprobs` field keeps only each token's alternatives, not the token's own."""
    choices = _field(raw, "choices")
    return _field(choices[0], "logprobs") if isinstance(choices, list) and choices else None


def tool_calls_of(message: ChatMessage) -> list[ToolCall]:
    """An assistant message's tool calls, as blocks or in `additional_kwargs` as OpenAI's
    (dicts or SDK objects) or Anthropic's (`input`) LlamaIndex LLMs left them."""
    calls = [
        ToolCall(
            id=block.tool_call_id or f"call_{i}",
            function=FunctionCall(
                name=block.tool_name,
                arguments=block.tool_kwargs
                if isinstance(block.tool_kwargs, str)
                else json.dumps(block.tool_kwargs),
            ),
        )
        for i, block in enumerate(message.blocks)
        if isinstance(block, ToolCallBlock)
    ]
    if calls:
        return calls
    for i, raw in enumerate(message.additional_kwargs.get("tool_calls") or []):
        get = raw.get if isinstance(raw, dict) else lambda k, r=raw: getattr(r, k, None)
        function = get("function")
        fget = (
            function.get
            if isinstance(function, dict)
            else lambda k, f=function: getattr(f, k, None)
        )
        name = fget("name") if function is not None else get("name")
        arguments = fget("arguments") if function is not None else get("input")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments or {})
        calls.append(
            ToolCall(
                id=str(get("id") or f"call_{i}"),
                function=FunctionCall(name=str(name), arguments=arguments),
            )
        )
    return calls
