"""Anthropic Messages API over httpx: text, images, tools, streaming events, usage."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from langroute.errors import ContentFiltered, MalformedResponse, ProviderError
from langroute.providers._http import (
    DEFAULT_TIMEOUT,
    OPTIONAL_ARGUMENTS,
    HTTPChatProvider,
    batch_results,
    normalised_errors,
    not_sent,
)
from langroute.providers.answers import finish_reason
from langroute.providers.claude_json import fitted_schema, output_format, takes_json_outputs
from langroute.reasoning import THINKING_BUDGETS
from langroute.types import (
    AssistantMessage,
    CacheControl,
    ChatParams,
    Completion,
    FunctionCall,
    ImagePart,
    Message,
    Reasoning,
    ReasoningEffort,
    RedactedThinkingPart,
    StreamChunk,
    SystemMessage,
    TextPart,
    ThinkingConfig,
    ThinkingDelta,
    ThinkingPart,
    ToolCall,
    ToolCallDelta,
    ToolMessage,
    ToolSpec,
    Usage,
    text_of,
)

if TYPE_CHECKING:
    from langroute.features import RoutingRequest

API_VERSION = "2023-06-01"


def _image_block(part: ImagePart) -> dict[str, Any]:
    url = part.image_url.url
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return {"type": "image", "source": {"type": "url", "url": url}}


def _cache_control(control: CacheControl) -> dict[str, str]:
    return control.model_dump(exclude_none=True)


def _blocks(content: str | list[Any] | None) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[dict[str, Any]] = []
    for part in content:
        block: dict[str, Any] | None = None
        if isinstance(part, TextPart):
            if part.text:  # Anthropic refuses empty text blocks
                block = {"type": "text", "text": part.text}
        elif isinstance(part, ImagePart):
            block = _image_block(part)
        elif isinstance(part, ThinkingPart | RedactedThinkingPart):
            if isinstance(part, RedactedThinkingPart) or part.signature is not None:
                out.append(_thinking_block(part))
            continue  # unsigned reasoning (another API's) is not Claude's to read
        if block is not None:
            out.append(block)
        if part.cache_control is not None:
            if out:  # an empty part's breakpoint marks the same prefix on the part before it
                out[-1]["cache_control"] = _cache_control(part.cache_control)
            else:
                not_sent("anthropic", "a cache breakpoint on empty text", "nothing precedes it")
    return out


def _thinking_block(part: ThinkingPart | RedactedThinkingPart) -> dict[str, Any]:
    """Claude's own reasoning block, sent back unchanged (its signature is checked)."""
    if isinstance(part, RedactedThinkingPart):
        return {"type": "redacted_thinking", "data": part.data}
    return {"type": "thinking", "thinking": part.thinking, "signature": part.signature}


def _system(contents: list[str | list[TextPart]]) -> str | list[dict[str, Any]] | None:
    """The `system` field: the system messages' text joined, or text blocks when one of them
    marks a cache breakpoint (only blocks carry `cache_control`)."""
    if not contents:
        return None
    marked = any(
        isinstance(content, list) and any(p.cache_control is not None for p in content)
        for content in contents
    )
    if not marked:
        return "\n\n".join(text_of(content) for content in contents)
    return [block for content in contents for block in _blocks(content)]


def _tool_result(message: ToolMessage) -> dict[str, Any]:
    """A tool result block; a breakpoint on its content goes on the block itself, the only
    place the Messages API takes it."""
    block: dict[str, Any] = {
        "type": "tool_result",
        "tool_use_id": message.tool_call_id,
        "content": text_of(message.content),
    }
    if isinstance(message.content, list):
        marks = [p.cache_control for p in message.content if p.cache_control is not None]
        if marks:
            block["cache_control"] = _cache_control(marks[-1])
    return block


_THINKING_BLOCKS = ("thinking", "redacted_thinking")


def convert_messages(
    messages: Sequence[Message],
) -> tuple[str | list[dict[str, Any]] | None, list[dict[str, Any]]]:
    """OpenAI-shaped messages → (system, Anthropic messages), merging same-role neighbours
    and leaving out messages with nothing in them, which the Messages API refuses."""
    system_contents: list[str | list[TextPart]] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            system_contents.append(message.content)
            continue
        if isinstance(message, ToolMessage):
            role = "user"
            blocks: list[dict[str, Any]] = [_tool_result(message)]
        elif isinstance(message, AssistantMessage):
            role = "assistant"
            blocks = _blocks(message.content)
            # Claude needs a tool-calling turn's reasoning back first, as it returned it
            blocks.sort(key=lambda b: b["type"] not in _THINKING_BLOCKS)
            for call in message.tool_calls or []:
                try:
                    args = json.loads(call.function.arguments or "{}")
                except ValueError:
                    args = {"_raw": call.function.arguments}
                blocks.append(
                    {"type": "tool_use", "id": call.id, "name": call.function.name, "input": args}
                )
        else:
            role = "user"
            blocks = _blocks(message.content)
        if not blocks:  # Anthropic refuses an empty message (an empty answer in the history)
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return _system(system_contents), out


def _tool_choice(choice: str) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    return {"type": "tool", "name": choice}


def _tool(tool: ToolSpec, strict_tools: bool) -> dict[str, Any]:
    """A tool as the Messages API takes it; `strict` ones (arguments held to the schema)
    only where the model takes them, within Claude's schema subset."""
    strict = tool.function.strict is True
    if strict and not strict_tools:
        not_sent("anthropic", "strict tool use", "this model does not take it (Claude 4.5 on)")
        strict = False
    shaped: dict[str, Any] = {
        "name": tool.function.name,
        "description": tool.function.description or "",
        "input_schema": fitted_schema(tool.function.parameters)
        if strict
        else tool.function.parameters,
    }
    if strict:
        shaped["strict"] = True
    if tool.cache_control is not None:
        shaped["cache_control"] = _cache_control(tool.cache_control)
    return shaped


def request_body(
    model_id: str,
    messages: Sequence[Message],
    params: ChatParams,
    *,
    stream: bool,
    default_max_tokens: int,
) -> dict[str, Any]:
    system, converted = convert_messages(messages)
    body: dict[str, Any] = {
        "model": model_id,
        "messages": converted,
        "max_tokens": params.max_tokens or default_max_tokens,
    }
    if system:
        body["system"] = system
    if params.tools:
        strict_tools = takes_json_outputs(model_id)
        body["tools"] = [_tool(t, strict_tools) for t in params.tools]
        choice = _tool_choice(params.tool_choice or "auto")
        if params.parallel_tool_calls is False and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        if params.tool_choice is not None or "disable_parallel_tool_use" in choice:
            body["tool_choice"] = choice
    thinking = params.thinking is not None and params.thinking.on
    if params.thinking is not None:
        body["thinking"] = params.thinking.model_dump(exclude_none=True)
        if thinking and params.max_tokens is None:
            body["max_tokens"] += _thinking_room(params.thinking, params.reasoning_effort)
    if thinking:
        _fit_for_thinking(body, params)
    elif params.temperature is not None:
        if params.temperature > 1.0:
            not_sent("anthropic", "temperature above 1.0", "it was sent as 1.0, its maximum")
        body["temperature"] = min(params.temperature, 1.0)
    if params.seed is not None:
        not_sent("anthropic", "seed", "the Messages API has none")
    if params.logprobs:
        not_sent("anthropic", "logprobs", "the Messages API returns none")
    if params.prompt_cache_key is not None or params.prompt_cache_retention is not None:
        not_sent("anthropic", "OpenAI's prompt cache settings", "Claude caches at breakpoints")
    if params.top_p is not None and not thinking:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop_sequences"] = params.stop
    if stream:
        body["stream"] = True
    if params.extra_body:
        extra = params.extra_body
        if foreign := OPTIONAL_ARGUMENTS.intersection(extra):
            for name in sorted(foreign):
                not_sent("anthropic", name, "the Messages API refuses it (it is OpenAI's)")
            extra = {k: v for k, v in extra.items() if k not in foreign}
        body.update(extra)
    config = _output_config(params)
    if config:
        given = body.get("output_config")
        body["output_config"] = {**(given if isinstance(given, dict) else {}), **config}
    return body


def _output_config(params: ChatParams) -> dict[str, Any]:
    """The Messages API's `output_config`: the reasoning effort, and a JSON schema asked
    (`response_format`) as Claude's JSON outputs, within the schema subset Claude takes."""
    config: dict[str, Any] = {}
    if params.reasoning_effort is not None:
        config["effort"] = params.reasoning_effort
    if (fmt := output_format(params.response_format, "anthropic")) is not None:
        config["format"] = fmt
    return config


def _thinking_room(thinking: ThinkingConfig, effort: ReasoningEffort | None) -> int:
    """The tokens Claude may think with, which `max_tokens` counts: the budget, or for
    adaptive thinking the budget its effort stands for (high by default)."""
    return thinking.budget_tokens or THINKING_BUDGETS.get(effort or "high", 0)


def _fit_for_thinking(body: dict[str, Any], params: ChatParams) -> None:
    """Leave out what Claude refuses beside extended thinking, rather than fail a call a
    router may have meant for any model: a temperature other than 1, a top_p under 0.95,
    and a forced tool choice (sent as "auto": the model may then answer in text)."""
    if params.temperature is not None and params.temperature != 1:
        not_sent("anthropic", "temperature with thinking", "Claude takes only 1 when thinking")
    if params.top_p is not None:
        if params.top_p >= 0.95:
            body["top_p"] = params.top_p
        else:
            not_sent("anthropic", "top_p under 0.95 with thinking", "Claude refuses it")
    choice = body.get("tool_choice")
    if choice is not None and choice["type"] in ("any", "tool"):
        not_sent("anthropic", "a forced tool choice with thinking", "it was sent as auto")
        body["tool_choice"] = {k: v for k, v in choice.items() if k != "name"} | {"type": "auto"}


def _usage(data: dict[str, Any] | None) -> Usage:
    if not data:
        return Usage()
    cached = int(data.get("cache_read_input_tokens") or 0)
    created = int(data.get("cache_creation_input_tokens") or 0)
    by_ttl = data.get("cache_creation") or {}
    return Usage(
        prompt_tokens=int(data.get("input_tokens") or 0) + cached + created,
        completion_tokens=int(data.get("output_tokens") or 0),
        cached_tokens=cached,
        cache_write_tokens=created,
        cache_write_1h_tokens=int(by_ttl.get("ephemeral_1h_input_tokens") or 0),
    )


ANTHROPIC_URL = "https://api.anthropic.com"


class AnthropicProvider(HTTPChatProvider):
    """A client for Anthropic's `/v1/messages`. `default_max_tokens` fills the required
    `max_tokens` when the caller gives none. The URL is `base_url`, else the variable
    `base_url_env` (`ANTHROPIC_BASE_URL`, as Anthropic's SDK reads it), else Anthropic's."""

    chat_path = "/v1/messages"
    takes_thinking = True
    """It sends Claude's `thinking` setting (the router counts thinking in its plans)."""

    def __init__(
        self,
        *,
        name: str = "anthropic",
        base_url: str | None = None,
        base_url_env: str | None = "ANTHROPIC_BASE_URL",
        api_key: SecretStr | str | None = None,
        api_key_env: str | None = "ANTHROPIC_API_KEY",
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        default_max_tokens: int = 4096,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.default_max_tokens = default_max_tokens
        super().__init__(
            name=name,
            base_url=base_url,
            base_url_env=base_url_env,
            default_url=ANTHROPIC_URL,
            api_key=api_key,
            api_key_env=api_key_env,
            timeout=timeout,
            headers={"anthropic-version": API_VERSION, **(headers or {})},
            transport=transport,
        )

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def _body(
        self, model_id: str, messages: Sequence[Message], params: ChatParams, stream: bool
    ) -> dict[str, Any]:
        return request_body(
            model_id, messages, params, stream=stream, default_max_tokens=self.default_max_tokens
        )

    def _completion(self, model_id: str, data: dict[str, Any], where: dict[str, Any]) -> Completion:
        """A Messages API response body as a `Completion`."""
        text: list[str] = []
        calls: list[ToolCall] = []
        thinking: list[Reasoning] = []
        for block in data["content"]:
            if block["type"] == "text":
                text.append(block["text"])
            elif block["type"] == "thinking":
                thinking.append(
                    ThinkingPart(thinking=block["thinking"], signature=block.get("signature"))
                )
            elif block["type"] == "redacted_thinking":
                thinking.append(RedactedThinkingPart(data=block["data"]))
            elif block["type"] == "tool_use":
                arguments = json.dumps(block.get("input") or {})
                calls.append(
                    ToolCall(
                        id=block["id"],
                        function=FunctionCall(name=block["name"], arguments=arguments),
                    )
                )
        finish = finish_reason(data.get("stop_reason"))
        if finish == "content_filter":
            refused = ContentFiltered("the model refused (stop_reason=refusal)", **where)
            refused.usage = _usage(data.get("usage"))  # the refusal is billed
            raise refused
        return Completion(
            id=str(data.get("id") or uuid.uuid4().hex),
            model=model_id,
            provider=self.name,
            provider_model=str(data.get("model") or model_id),
            content="".join(text) if text or not calls else None,
            tool_calls=calls,
            finish_reason=finish,
            usage=_usage(data.get("usage")),
            thinking=thinking,
        )

    # --- Message Batches: half price, answers within 24 h ------------------------------

    async def submit_batch(
        self, model_id: str, requests: Sequence[tuple[str, RoutingRequest]]
    ) -> str:
        """Send `(custom_id, request)` pairs as one message batch for `model_id`."""
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        body = {
            "requests": [
                {"custom_id": cid, "params": self._body(model_id, r.messages, r.params, False)}
                for cid, r in requests
            ]
        }
        with normalised_errors(where):
            batch = await self._pool.post_json("/v1/messages/batches", body, where)
        return str(batch["id"])

    async def poll_batch(
        self, model_id: str, batch_id: str
    ) -> dict[str, Completion | ProviderError] | None:
        """The batch's answers by custom id once it has ended (None while it runs)."""
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        with normalised_errors(where):
            batch = (await self._pool.send("GET", f"/v1/messages/batches/{batch_id}", where)).json()
            if batch.get("processing_status") != "ended":
                return None
            url = batch.get("results_url") or f"/v1/messages/batches/{batch_id}/results"
            text = (await self._pool.send("GET", url, where)).text

        def answer(row: dict[str, Any]) -> Completion:
            result = row.get("result") or {}
            if result.get("type") != "succeeded":
                error = result.get("error") or {"message": result.get("type", "errored")}
                raise self._pool.error_body(500, {"error": error}, where)
            return self._completion(model_id, result["message"], where)

        return batch_results(text, where, answer)

    async def chat_stream(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> AsyncIterator[StreamChunk]:
        """One streamed chat call to `model_id`."""
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        body = self._body(model_id, messages, params, True)
        with normalised_errors(where):
            events = _StreamState(model_id, self.name, where)
            async with aclosing(self._pool.sse_data(self.chat_path, body, where)) as payloads:
                async for payload in payloads:
                    if events.stopped:
                        continue
                    event = json.loads(payload)
                    if event.get("type") == "error":
                        overloaded = (event.get("error") or {}).get("type") == "overloaded_error"
                        raise self._pool.error_event(529 if overloaded else 500, payload, where)
                    chunk = events.handle(event)
                    if chunk is not None:
                        yield chunk
            if not events.stopped:
                raise MalformedResponse("stream ended without message_stop", **where)


class _StreamState:
    """Turns Anthropic stream events into `StreamChunk`s, one event at a time."""

    def __init__(self, model_id: str, provider: str, where: dict[str, Any]) -> None:
        self.model_id = model_id
        self.provider = provider
        self.where = where
        self.prompt_usage = Usage()
        self.tool_index: dict[int, int] = {}
        self.thinking_index: dict[int, int] = {}
        self.stopped = False

    def _chunk(self, **fields: Any) -> StreamChunk:
        return StreamChunk(model=self.model_id, provider=self.provider, **fields)

    def handle(self, event: dict[str, Any]) -> StreamChunk | None:
        kind = event.get("type")
        if kind == "message_start":
            self.prompt_usage = _usage(event["message"].get("usage"))
        elif kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                index = self.tool_index.setdefault(event["index"], len(self.tool_index))
                delta = ToolCallDelta(index=index, id=block["id"], name=block["name"])
                return self._chunk(tool_calls=[delta])
            if block["type"] == "text" and block.get("text"):
                return self._chunk(content=block["text"])
            if block["type"] in _THINKING_BLOCKS:
                index = self.thinking_index.setdefault(event["index"], len(self.thinking_index))
                if block["type"] == "redacted_thinking":
                    return self._chunk(
                        thinking=[ThinkingDelta(index=index, redacted=block["data"])]
                    )
                if block.get("thinking"):
                    return self._chunk(
                        thinking=[ThinkingDelta(index=index, thinking=block["thinking"])]
                    )
        elif kind == "content_block_delta":
            delta = event["delta"]
            if delta["type"] == "text_delta":
                return self._chunk(content=delta["text"])
            if delta["type"] == "thinking_delta":
                index = self.thinking_index[event["index"]]
                return self._chunk(
                    thinking=[ThinkingDelta(index=index, thinking=delta["thinking"])]
                )
            if delta["type"] == "signature_delta":
                index = self.thinking_index[event["index"]]
                return self._chunk(
                    thinking=[ThinkingDelta(index=index, signature=delta["signature"])]
                )
            if delta["type"] == "input_json_delta":
                index = self.tool_index[event["index"]]
                return self._chunk(
                    tool_calls=[ToolCallDelta(index=index, arguments=delta["partial_json"])]
                )
        elif kind == "message_delta":
            reason = (event.get("delta") or {}).get("stop_reason")
            finish = finish_reason(reason)
            if finish == "content_filter":
                raise ContentFiltered("the model refused (stop_reason=refusal)", **self.where)
            out = _usage(event.get("usage"))
            usage = self.prompt_usage.model_copy(
                update={"completion_tokens": out.completion_tokens}
            )
            return self._chunk(finish_reason=finish, usage=usage)
        elif kind == "message_stop":
            self.stopped = True
        return None
