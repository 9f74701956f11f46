"""A native candidate's calls in `RoutingLLM`: a model called by langroute's own provider
(OpenAI-compatible or Anthropic, over httpx), as a LlamaIndex LLM. Being an LLM like the
other candidates, it formats its tools, parses its tool calls and emits LlamaIndex's
instrumentation events itself, once per call."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    CachePoint,
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.tools import BaseTool, ToolSelection
from pydantic import Field, PrivateAttr, ValidationError

from langroute._streams import closing
from langroute._sync import iterate_sync, run_sync
from langroute.errors import ConfigError, invalid_input
from langroute.features import RoutingRequest
from langroute.providers.base import Provider
from langroute.types import (
    AssistantMessage,
    CacheControl,
    ChatParams,
    Completion,
    ImagePart,
    ImageURL,
    Message,
    SystemMessage,
    TextPart,
    ThinkingPart,
    ToolMessage,
    Usage,
    UserMessage,
    add_thinking_deltas,
    add_tool_deltas,
)
from llama_index.llms.langroute._chat_only import CompletionsFromChat, tool_call_messages
from llama_index.llms.langroute._convert import to_tool_specs, tool_calls_of

_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "response_format",
    "prompt_cache_key",
    "prompt_cache_retention",
    "thinking",
    "reasoning_effort",
)
_NOT_FOR_THE_BODY = ("verbose", "timeout")


class NativeLLM(CompletionsFromChat, FunctionCallingLLM):
    """A model called by langroute's own `provider` under the id `model`."""

    model: str = Field(description="the model id sent to the provider")
    context_window: int = 128_000
    num_output: int = 4096
    function_calling: bool = True

    _provider: Provider = PrivateAttr()

    def __init__(self, provider: Provider, **data: Any) -> None:
        super().__init__(**data)
        self._provider = provider

    @classmethod
    def class_name(cls) -> str:
        return "LangrouteNativeLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=True,
            is_function_calling_model=self.function_calling,
            model_name=self.model,
        )

    async def aclose(self) -> None:
        """Close the provider's HTTP clients."""
        await self._provider.aclose()

    # --- chat ----------------------------------------------------------------------------

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        completion = await self._provider.complete(self.model, _request(messages, kwargs))
        return chat_response(completion)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        chunks = self._provider.stream(self.model, _request(messages, kwargs))

        async def responses() -> AsyncGenerator[ChatResponse, None]:
            text = ""
            calls: dict[int, dict[str, str]] = {}
            thoughts: dict[int, dict[str, str]] = {}
            usage = Usage()
            for_usage = False
            async with closing(chunks):
                async for chunk in chunks:
                    text += chunk.content
                    add_tool_deltas(calls, chunk.tool_calls)
                    add_thinking_deltas(thoughts, chunk.thinking)
                    if chunk.usage is not None:
                        usage = usage + chunk.usage
                        for_usage = True
                    if chunk.has_payload or for_usage:
                        for_usage = False
                        yield ChatResponse(
                            message=assistant_message(
                                text, list(calls.values()), list(thoughts.values())
                            ),
                            delta=chunk.content,
                            raw=_raw(usage, chunk.model, chunk.finish_reason),
                        )

        return responses()

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return run_sync(self.achat(messages, **kwargs))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        async def responses() -> AsyncGenerator[ChatResponse, None]:
            async with closing(await self.astream_chat(messages, **kwargs)) as responses:
                async for response in responses:
                    yield response

        return iterate_sync(responses())  # type: ignore[return-value]

    # --- tools ---------------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = tool_call_messages(user_msg, chat_history)
        choice = kwargs.pop("tool_choice", None)
        if isinstance(choice, dict):  # {"type": "function", "function": {"name": ...}}
            choice = (choice.get("function") or {}).get("name") or choice.get("name")
        if choice is None and tool_required and tools:
            choice = "required"
        return {
            "messages": messages,
            "tools": to_tool_specs(tools) if tools else None,
            "tool_choice": choice,
            **kwargs,
        }

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
        if not blocks and error_on_no_tool_call:
            raise ValueError(f"expected at least one tool call in {self.model}'s answer")
        return [
            ToolSelection(
                tool_id=block.tool_call_id or "",
                tool_name=block.tool_name,
                tool_kwargs=block.tool_kwargs
                if isinstance(block.tool_kwargs, dict)
                else parse_partial_json(block.tool_kwargs or "{}"),
            )
            for block in blocks
        ]


def _request(messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> RoutingRequest:
    return RoutingRequest.build(to_native_messages(messages), _params(kwargs))


def _params(kwargs: dict[str, Any]) -> ChatParams:
    """The call's settings in neutral form; keyword arguments without a neutral field go in
    the request body (`extra_body`) rather than being dropped."""
    extra = {k: v for k, v in kwargs.items() if k not in _PARAMS + _NOT_FOR_THE_BODY}
    for key in ("tools", "tool_choice"):
        extra.pop(key, None)
    try:
        return ChatParams(
            tools=kwargs.get("tools"),
            tool_choice=kwargs.get("tool_choice"),
            **{k: kwargs[k] for k in _PARAMS if kwargs.get(k) is not None},
            extra_body=extra or None,
        )
    except ValidationError as exc:
        raise invalid_input("call parameters", exc) from None


def assistant_message(
    text: str, calls: Sequence[dict[str, str]], thoughts: Sequence[dict[str, str]] = ()
) -> ChatMessage:
    """An answer as LlamaIndex gives it: its reasoning as `ThinkingBlock`s (the signature
    in `additional_information`, as LlamaIndex's Anthropic LLM keeps it, for Claude to get
    back), its text, then a `ToolCallBlock` per tool call; the calls also in OpenAI's shape
    under `additional_kwargs["tool_calls"]`, where LlamaIndex's streaming structured output
    looks for them."""
    blocks: list[Any] = [
        ThinkingBlock(
            content=t["thinking"],
            additional_information={"signature": t["signature"]} if t.get("signature") else {},
        )
        for t in thoughts
        if "redacted" not in t  # LlamaIndex has no block for redacted reasoning
    ]
    blocks.append(TextBlock(text=text))
    for call in calls:
        try:
            arguments: Any = json.loads(call["arguments"] or "{}")
        except ValueError:
            arguments = call["arguments"]  # still streaming, or not JSON: kept as written
        blocks.append(
            ToolCallBlock(tool_call_id=call["id"], tool_name=call["name"], tool_kwargs=arguments)
        )
    openai_calls = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": call["arguments"]},
        }
        for call in calls
    ]
    extra = {"tool_calls": openai_calls} if openai_calls else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _raw(usage: Usage, model: str, finish_reason: str | None) -> dict[str, Any]:
    """A native answer's `raw`: OpenAI's usage shape, with the prompt-cache reads and
    writes (and, langroute's own field, the writes for an hour) in its details."""
    details = {
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
    }
    return {
        "model": model,
        "finish_reason": finish_reason,
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
            "prompt_tokens_details": {k: v for k, v in details.items() if v},
        }
        | (
            {"completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}
            if usage.reasoning_tokens
            else {}
        ),
    }


def chat_response(completion: Completion) -> ChatResponse:
    """A `ChatResponse` for an answer in neutral form (a native candidate's, or one the
    response cache gave): text, tool calls as blocks, usage in `raw`."""
    calls = [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in completion.tool_calls
    ]
    raw = _raw(completion.usage, completion.provider_model, completion.finish_reason)
    thoughts = [
        {"thinking": p.thinking, "signature": p.signature or ""}
        for p in completion.thinking
        if isinstance(p, ThinkingPart)  # LlamaIndex has no block for redacted reasoning
    ]
    return ChatResponse(
        message=assistant_message(completion.content or "", calls, thoughts),
        raw=raw,
        additional_kwargs=dict(raw["usage"]),
    )


def _image_url(block: ImageBlock) -> str:
    if block.url is not None:
        return str(block.url)
    data = block.resolve_image(as_base64=True).read().decode()
    return f"data:{block.image_mimetype or 'image/png'};base64,{data}"


def to_native_messages(messages: Sequence[ChatMessage]) -> list[Message]:
    """A LlamaIndex conversation, whole, for a native provider: text, images, tool calls
    (whichever candidate made them), tool results and prompt-cache breakpoints (a
    `CachePoint` marks the block before it; `additional_kwargs["cache_control"]` the
    message's last block, as LlamaIndex's Anthropic LLM reads them). A block no native
    provider can send (audio, documents) is an error, not dropped."""
    out: list[Message] = []
    for message in messages:
        role = message.role
        parts = _parts(message)
        text = "".join(p.text for p in parts if isinstance(p, TextPart))
        images = any(isinstance(p, ImagePart) for p in parts)
        if images and role != MessageRole.USER:
            raise ConfigError(
                f"a native candidate cannot send an image in a {role.value} message (only "
                "user messages carry images); route this call to a LlamaIndex LLM that "
                "takes it"
            )
        marked = any(p.cache_control is not None for p in parts)
        content: Any = parts if marked or images else text
        if role in (MessageRole.SYSTEM, MessageRole.DEVELOPER):
            out.append(SystemMessage(content=content))
        elif role in (MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT):
            calls = tool_calls_of(message)
            if thoughts := _signed_thinking(message):
                content = [*thoughts, *(parts if marked else [TextPart(text=text)] if text else [])]
            out.append(AssistantMessage(content=content or None, tool_calls=calls or None))
        elif role in (MessageRole.TOOL, MessageRole.FUNCTION):
            call_id = message.additional_kwargs.get("tool_call_id")
            if not call_id:
                raise ConfigError(
                    "a tool message needs additional_kwargs['tool_call_id'] for a native "
                    "candidate: the id of the tool call it answers"
                )
            out.append(ToolMessage(content=content, tool_call_id=str(call_id)))
        else:
            out.append(UserMessage(content=content))
    return out


def _signed_thinking(message: ChatMessage) -> list[ThinkingPart]:
    """Claude's reasoning in an assistant message, as LlamaIndex's Anthropic LLM and native
    candidates keep it (`ThinkingBlock`s with a signature), to send back first; reasoning
    without a signature (another API's) is not sent."""
    return [
        ThinkingPart(thinking=block.content or "", signature=signature)
        for block in message.blocks
        if isinstance(block, ThinkingBlock)
        and isinstance(signature := block.additional_information.get("signature"), str)
        and signature
    ]


def _parts(message: ChatMessage) -> list[TextPart | ImagePart]:
    """A message's text and images, with the breakpoints its cache points mark."""
    parts: list[TextPart | ImagePart] = []
    for block in message.blocks:
        if isinstance(block, TextBlock):
            parts.append(TextPart(text=block.text))
        elif isinstance(block, ImageBlock):
            parts.append(ImagePart(image_url=ImageURL(url=_image_url(block))))
        elif isinstance(block, CachePoint):
            _mark_last(parts, block.cache_control.model_dump(), message)
        elif not isinstance(block, ToolCallBlock | ThinkingBlock):
            raise ConfigError(
                f"a native candidate cannot send a {type(block).__name__} (in a "
                f"{message.role.value} message); send text and images, or route this call to "
                "a LlamaIndex LLM that takes it"
            )
    if (control := message.additional_kwargs.get("cache_control")) is not None:
        _mark_last(parts, control, message)
    return parts


def _mark_last(parts: list[TextPart | ImagePart], control: Any, message: ChatMessage) -> None:
    if not parts:
        raise ConfigError(
            f"a cache point must follow a text or image block (in a {message.role.value} "
            "message): it marks the prompt up to the block before it"
        )
    try:
        mark = CacheControl.model_validate(control)
    except ValidationError as exc:
        advice = "use {'type': 'ephemeral'}, with 'ttl': '1h' for an hour's cache"
        where = f"cache point in a {message.role.value} message"
        raise invalid_input(where, exc, advice=advice) from None
    parts[-1] = parts[-1].model_copy(update={"cache_control": mark})
