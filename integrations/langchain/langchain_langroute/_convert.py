"""LangChain shapes → langroute's neutral shapes (for routing features) and back (usage)."""

from __future__ import annotations

import json
from collections.abc import Sequence
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

from langroute.types import (
    AssistantMessage,
    FunctionCall,
    ImagePart,
    ImageURL,
    Message,
    TextPart,
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


def _user_content(message: BaseMessage) -> str | list[Any]:
    if isinstance(message.content, str):
        return message.content
    parts: list[Any] = []
    for block in message.content:
        if isinstance(block, str):
            parts.append(TextPart(text=block))
        elif isinstance(block, dict):
            kind = block.get("type")
            if kind == "text":
                parts.append(TextPart(text=str(block.get("text", ""))))
            elif kind in _IMAGE_TYPES:
                # the router only needs to know an image is there
                parts.append(ImagePart(image_url=ImageURL(url="image")))
    return parts


def to_neutral_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    """The neutral view of a LangChain conversation: roles, text, images, tool calls."""
    out: list[Message] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            out.append(NeutralSystem(content=_text(message)))
        elif isinstance(message, AIMessage):
            calls = [
                ToolCall(
                    id=str(call.get("id") or f"call_{i}"),
                    function=FunctionCall(name=call["name"], arguments=str(call.get("args", {}))),
                )
                for i, call in enumerate(message.tool_calls)
            ]
            out.append(AssistantMessage(content=_text(message) or None, tool_calls=calls or None))
        elif isinstance(message, ToolMessage):
            out.append(NeutralTool(content=_text(message), tool_call_id=message.tool_call_id))
        elif isinstance(message, HumanMessage) or message.type in ("human", "user"):
            out.append(NeutralUser(content=_user_content(message)))
        else:  # chat/function/other roles count as user text for routing
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
    `strict` as `bind_tools(strict=...)` gives it."""
    specs = []
    for tool in tools:
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
                }
            )
        )
    return specs


def usage_from_metadata(usage: UsageMetadata | None) -> Usage | None:
    if not usage:
        return None
    details = usage.get("input_token_details") or {}
    return Usage(
        prompt_tokens=int(usage.get("input_tokens") or 0),
        completion_tokens=int(usage.get("output_tokens") or 0),
        cached_tokens=int(details.get("cache_read") or 0),
    )
