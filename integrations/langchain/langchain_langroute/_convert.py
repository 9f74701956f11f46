"""LangChain shapes → langroute's neutral shapes (for routing features) and back (usage)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.utils.function_calling import convert_to_openai_tool

from langroute.errors import ConfigError
from langroute.types import (
    AssistantMessage,
    AssistantPart,
    FunctionCall,
    ImagePart,
    ImageURL,
    Message,
    Reasoning,
    RedactedThinkingPart,
    TextPart,
    ThinkingPart,
    ToolCall,
    ToolSpec,
    Usage,
    text_of,
)
from langroute.types import SystemMessage as NeutralSystem
from langroute.types import ToolMessage as NeutralTool
from langroute.types import UserMessage as NeutralUser

_IMAGE_TYPES = {"image_url", "image", "input_image"}


def _text(message: BaseMessage) -> str:
    return message.text if isinstance(message.text, str) else str(message.content)


def _text_only(message: BaseMessage, whole: bool, what: str) -> str | list[TextPart]:
    """A system message's or tool result's text. With `whole` (a native candidate sends
    it, and its neutral form holds text only there) any other block is an error rather than
    left out, and text blocks that mark a prompt-cache breakpoint stay blocks."""
    if whole and not isinstance(message.content, str):
        for block in message.content:
            kind = block.get("type", "text") if isinstance(block, dict) else "text"
            if kind != "text":
                raise ConfigError(
                    f"a native candidate cannot send a {kind!r} block in {what}; put only "
                    "text there, or route this call to LangChain chat models only"
                )
        if _marked(message.content):
            return _text_parts(message.content)
    return _text(message)


def _marked(content: str | list[Any]) -> bool:
    """Whether a content list marks a prompt-cache breakpoint (`cache_control`)."""
    return not isinstance(content, str) and any(
        isinstance(block, dict) and block.get("cache_control") for block in content
    )


def _text_parts(content: list[Any]) -> list[TextPart]:
    """The text blocks of a content list, with their cache breakpoints."""
    return [
        TextPart(text=block)
        if isinstance(block, str)
        else TextPart(text=str(block.get("text", "")), cache_control=block.get("cache_control"))
        for block in content
        if isinstance(block, str) or block.get("type", "text") == "text"
    ]


def _reasoning_part(block: Any) -> ThinkingPart | RedactedThinkingPart | None:
    """Claude's reasoning in an AI message's content, as ChatAnthropic and the router
    return it (a signed `thinking` block, a `redacted_thinking` one) or as LangChain's
    standard `reasoning` block carries it (the signature in `extras`)."""
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return RedactedThinkingPart(data=block["data"])
    if kind == "thinking":
        signature = block.get("signature")
        text = block.get("thinking", "")
    elif kind == "reasoning":
        signature = block.get("signature") or (block.get("extras") or {}).get("signature")
        text = block.get("reasoning", "")
    else:
        return None
    if not isinstance(signature, str) or not signature:
        return None  # unsigned reasoning: no API takes it back
    return ThinkingPart(thinking=str(text or ""), signature=signature)


def _assistant_content(message: AIMessage, whole: bool) -> str | list[AssistantPart] | None:
    """An AI message's text; for a native candidate, with Claude's signed reasoning blocks
    first (Claude needs them back in a tool loop) and text blocks that mark a breakpoint."""
    text = _text(message) or None
    if not whole or isinstance(message.content, str):
        return text
    reasoning = [p for p in map(_reasoning_part, message.content) if p is not None]
    if not reasoning and not _marked(message.content):
        return text
    parts: list[AssistantPart] = list(reasoning)
    if _marked(message.content):
        parts += _text_parts(list(message.content))
    elif text:
        parts.append(TextPart(text=text))
    return parts


def reasoning_blocks(thinking: Sequence[Reasoning]) -> list[dict[str, Any]]:
    """Signed reasoning as ChatAnthropic puts it in an AI message's content (so it goes back
    unchanged to Claude, and LangChain's `content_blocks` reads it as `reasoning`)."""
    return [
        {"type": "redacted_thinking", "data": p.data}
        if isinstance(p, RedactedThinkingPart)
        else {"type": "thinking", "thinking": p.thinking, "signature": p.signature}
        for p in thinking
        if isinstance(p, RedactedThinkingPart) or p.signature
    ]


def _image_url(block: dict[str, Any]) -> str | None:
    """The URL (or `data:` URL) of an image block in any of LangChain's shapes: OpenAI's
    `image_url`, the standard `image` (v0 `source_type`, v1 `url`/`base64`), Anthropic's
    `source`, the Responses API's `input_image`."""
    image = block.get("image_url")
    if isinstance(image, dict):
        image = image.get("url")
    if isinstance(image, str):
        return image
    source = block.get("source")
    if isinstance(source, dict):  # Anthropic's
        if source.get("type") == "url":
            return str(source.get("url"))
        if source.get("type") == "base64":
            return f"data:{source.get('media_type', 'image/png')};base64,{source.get('data')}"
    if isinstance(block.get("url"), str):
        return str(block["url"])
    data = block.get("base64") or (
        block.get("data") if block.get("source_type") == "base64" else None
    )
    if isinstance(data, str):
        return f"data:{block.get('mime_type') or 'image/png'};base64,{data}"
    return None


def _user_content(message: BaseMessage, whole: bool) -> str | list[Any]:
    if isinstance(message.content, str):
        return message.content
    parts: list[Any] = []
    for block in message.content:
        if isinstance(block, str):
            parts.append(TextPart(text=block))
            continue
        kind = block.get("type") if isinstance(block, dict) else None
        cache_control = block.get("cache_control") if isinstance(block, dict) else None
        if kind == "text":
            parts.append(TextPart(text=str(block.get("text", "")), cache_control=cache_control))
            continue
        url = None
        if kind in _IMAGE_TYPES:
            # routing only needs to know an image is there; a native candidate sends it
            url = _image_url(block) if whole else "image"
        if url is not None:
            parts.append(ImagePart(image_url=ImageURL(url=url), cache_control=cache_control))
        elif whole:
            raise ConfigError(
                f"a native candidate cannot send a {kind!r} content block; send text and "
                "images, or route this call to LangChain chat models only"
            )
    return parts


def to_neutral_messages(messages: Sequence[BaseMessage], *, whole: bool = False) -> list[Message]:
    """A LangChain conversation in neutral form: roles, text, images, tool calls with their
    ids and JSON arguments, tool results. Routing needs no more; a native candidate sends
    it, so with `whole` a content block it could not send (audio, files) is an error rather
    than left out."""
    out: list[Message] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append(NeutralSystem(content=_text_only(message, whole, "a system message")))
        elif isinstance(message, AIMessage):
            calls = [
                ToolCall(
                    id=str(call.get("id") or f"call_{i}"),
                    function=FunctionCall(
                        name=call["name"], arguments=json.dumps(call.get("args", {}))
                    ),
                )
                for i, call in enumerate(message.tool_calls)
            ]
            out.append(
                AssistantMessage(
                    content=_assistant_content(message, whole), tool_calls=calls or None
                )
            )
        elif isinstance(message, ToolMessage):
            content = _text_only(message, whole, "a tool result")
            out.append(NeutralTool(content=content, tool_call_id=message.tool_call_id))
        elif isinstance(message, HumanMessage) or message.type in ("human", "user"):
            out.append(NeutralUser(content=_user_content(message, whole)))
        else:  # chat/function/other roles count as user text
            out.append(NeutralUser(content=_text(message)))
    return out


def from_neutral_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    """LangChain messages for a neutral conversation (a request built by the core itself,
    e.g. an LLM judge's, has no LangChain call behind it)."""
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, NeutralSystem):
            out.append(SystemMessage(content=text_of(m.content)))
        elif isinstance(m, NeutralUser):
            content = m.content
            if isinstance(content, str):
                out.append(HumanMessage(content=content))
            else:
                out.append(HumanMessage(content=[p.model_dump(exclude_none=True) for p in content]))
        elif isinstance(m, AssistantMessage):
            calls = [
                {
                    "name": c.function.name,
                    "args": json.loads(c.function.arguments or "{}"),
                    "id": c.id,
                }
                for c in m.tool_calls or []
            ]
            out.append(AIMessage(content=text_of(m.content), tool_calls=calls))
        else:
            out.append(ToolMessage(content=text_of(m.content), tool_call_id=m.tool_call_id))
    return out


def to_tool_specs(tools: Sequence[Any], strict: bool | None = None) -> list[ToolSpec]:
    """OpenAI-format specs of LangChain tools (BaseTool, functions, pydantic, dicts);
    `strict` as `bind_tools(strict=...)` gives it. A prompt-cache breakpoint set as
    ChatAnthropic takes it (`cache_control` in an Anthropic-format dict, or in a tool's
    `extras`) is kept."""
    specs = []
    for tool in tools:
        extras = tool if isinstance(tool, Mapping) else getattr(tool, "extras", None)
        cache_control = extras.get("cache_control") if isinstance(extras, Mapping) else None
        spec = convert_to_openai_tool(tool, strict=strict)
        if spec.get("type") != "function":  # provider built-in tools: name only
            spec = {"type": "function", "function": {"name": str(spec.get("name", "tool"))}}
        function = spec["function"]
        specs.append(
            ToolSpec.model_validate(
                {
                    "type": "function",
                    "function": {
                        "name": function["name"],
                        "description": function.get("description"),
                        "parameters": function.get("parameters")
                        or {"type": "object", "properties": {}},
                        "strict": function.get("strict"),
                    },
                    "cache_control": cache_control,
                }
            )
        )
    return specs


def usage_from_metadata(usage: UsageMetadata | None) -> Usage | None:
    if not usage:
        return None
    details: Mapping[str, Any] = usage.get("input_token_details") or {}

    def count(key: str) -> int:
        return int(details.get(key) or 0)

    # ChatAnthropic splits cache writes by lifetime, and then zeroes `cache_creation`
    written = count("cache_creation") + count("ephemeral_5m_input_tokens")
    hour = count("ephemeral_1h_input_tokens")
    return Usage(
        prompt_tokens=int(usage.get("input_tokens") or 0),
        completion_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=count("cache_read"),
        cache_write_tokens=written + hour,
        cache_write_1h_tokens=hour,
        reasoning_tokens=int((usage.get("output_token_details") or {}).get("reasoning") or 0),
    )


def usage_metadata(usage: Usage) -> UsageMetadata:
    """LangChain's usage metadata for `usage`: tokens in and out, cache reads and writes,
    and, of the output, the hidden reasoning (`output_token_details["reasoning"]`)."""
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        input_token_details=token_details(usage),  # type: ignore[typeddict-item]
    )
    if usage.reasoning_tokens:
        metadata["output_token_details"] = {"reasoning": usage.reasoning_tokens}
    return metadata


def token_details(usage: Usage) -> dict[str, int]:
    """`input_token_details` of LangChain's usage metadata for `usage`."""
    details = {"cache_read": usage.cached_tokens}
    if usage.cache_write_tokens:
        details["cache_creation"] = usage.cache_write_tokens
    return details
