"""OpenAI-compatible chat completions over httpx: OpenAI, vLLM, Ollama, llama.cpp, Groq, …"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from langroute.errors import ContentFiltered, MalformedResponse, ProviderError, ServerError
from langroute.providers._http import (
    DEFAULT_TIMEOUT,
    HTTPChatProvider,
    batch_results,
    normalised_errors,
    not_sent,
)
from langroute.reasoning import is_reasoning_model, tools_want_no_effort
from langroute.types import (
    ChatParams,
    Completion,
    FunctionCall,
    Message,
    StreamChunk,
    ThinkingDelta,
    ThinkingPart,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from langroute.features import RoutingRequest


def _tool_choice(choice: str | None) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


_NO_REASONING = ("logprobs", "top_logprobs")


def _without_breakpoints(shapes: list[dict[str, Any]], provider: str) -> None:
    """Take the prompt-cache breakpoints (`cache_control`) out of dumped messages or tools."""
    dropped = False
    for shape in shapes:
        dropped |= shape.pop("cache_control", None) is not None
        content = shape.get("content")
        if isinstance(content, list):
            for part in content:
                dropped |= part.pop("cache_control", None) is not None
    if dropped:
        not_sent(
            provider,
            "cache breakpoints (cache_control)",
            "OpenAI-compatible servers cache long prompts on their own, and strict ones refuse "
            "the field; give the provider send_cache_control=True for a gateway to Claude",
        )


def _without_reasoning(messages: list[dict[str, Any]]) -> None:
    """Take reasoning blocks out of dumped assistant messages: chat-completions APIs have
    no place for them (DeepSeek refuses its own `reasoning_content` sent back), and a
    model reads the answer the reasoning led to."""
    for message in messages:
        content = message.get("content")
        if message["role"] != "assistant" or not isinstance(content, list):
            continue
        kept = [part for part in content if part.get("type") == "text"]
        if len(kept) < len(content):
            message["content"] = kept or (None if message.get("tool_calls") else "")


def request_body(
    model_id: str,
    messages: Sequence[Message],
    params: ChatParams,
    *,
    stream: bool,
    cache_control: bool = False,
    provider: str = "openai",
) -> dict[str, Any]:
    """The JSON body of a `/chat/completions` call; with `cache_control`, the prompt-cache
    breakpoints are sent too (for gateways that pass them on to Claude)."""
    body: dict[str, Any] = {
        "model": model_id,
        "messages": [m.model_dump(exclude_none=True, by_alias=True) for m in messages],
    }
    if not cache_control:
        _without_breakpoints(body["messages"], provider)
    _without_reasoning(body["messages"])
    p = params
    if p.tools:
        body["tools"] = [t.model_dump(exclude_none=True) for t in p.tools]
        if not cache_control:
            _without_breakpoints(body["tools"], provider)
        if p.tool_choice is not None:
            body["tool_choice"] = _tool_choice(p.tool_choice)
        if p.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = p.parallel_tool_calls
    if p.response_format is not None:
        body["response_format"] = p.response_format.model_dump(exclude_none=True, by_alias=True)
    reasoning = is_reasoning_model(model_id)
    for key in ("temperature", "top_p", "max_tokens", "stop", "seed", "logprobs", "top_logprobs"):
        value = getattr(p, key)
        if value is None:
            continue
        if reasoning:
            if key == "max_tokens":
                body["max_completion_tokens"] = value  # reasoning models refuse max_tokens
                continue
            if (key in ("temperature", "top_p") and value != 1) or key in _NO_REASONING:
                not_sent("openai", f"{key} for reasoning models", "they refuse it")
                continue
        body[key] = value
    if p.prompt_cache_key is not None:
        body["prompt_cache_key"] = p.prompt_cache_key
    if p.prompt_cache_retention is not None:
        body["prompt_cache_retention"] = p.prompt_cache_retention
    if p.reasoning_effort is not None:
        body["reasoning_effort"] = p.reasoning_effort
    elif p.thinking is not None and p.thinking.on:
        not_sent(provider, "Claude's thinking setting", "give reasoning_effort for these APIs")
    if p.tools and reasoning and tools_want_no_effort(model_id):
        asked = body.get("reasoning_effort")
        if asked not in (None, "none"):
            not_sent(
                provider,
                f"reasoning_effort {asked!r} beside function tools",
                "GPT-5.6 and later take function tools on Chat Completions only with "
                "reasoning_effort 'none', which such calls are sent",
            )
        body["reasoning_effort"] = "none"  # left out, the model's default one is refused too
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if p.extra_body:
        body.update(p.extra_body)
        if not cache_control:  # Anthropic's top-level form, as ChatAnthropic takes it
            _without_breakpoints([body], provider)
    return body


def _usage(data: dict[str, Any] | None) -> Usage:
    if not data:
        return Usage()
    details = data.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(data.get("prompt_tokens") or 0),
        completion_tokens=int(data.get("completion_tokens") or 0),
        # DeepSeek reports its (default-on) cache hits in a field of its own
        cached_tokens=int(details.get("cached_tokens") or data.get("prompt_cache_hit_tokens") or 0),
        cache_write_tokens=int(details.get("cache_write_tokens") or 0),  # gateways to Claude
        reasoning_tokens=int(
            (data.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
        ),
    )


def _reasoning_of(message: dict[str, Any]) -> str | None:
    """The reasoning an OpenAI-compatible reasoning model returned beside its answer:
    `reasoning_content` (DeepSeek, vLLM, Qwen) or `reasoning` (OpenRouter, Ollama)."""
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    return reasoning if isinstance(reasoning, str) and reasoning else None


def _logprobs(choice: dict[str, Any]) -> list[TokenLogprob] | None:
    content = (choice.get("logprobs") or {}).get("content")
    if not content:
        return None
    return [TokenLogprob(token=t["token"], logprob=float(t["logprob"])) for t in content]


_BOUNDARY = "langroute-batch-7d1f0c3e"
OPENAI_URL = "https://api.openai.com/v1"


class OpenAIProvider(HTTPChatProvider):
    """A client for any OpenAI-compatible `/chat/completions` endpoint.

    The key is read from `api_key` or the environment variable `api_key_env`; it is kept as a
    `SecretStr` and never appears in logs or errors. The URL is `base_url`, else the variable
    `base_url_env` (`OPENAI_BASE_URL`, as the OpenAI SDK reads it), else OpenAI's. Pass
    `transport` to plug in any httpx transport (a mock, a proxy, a retry layer).
    """

    def __init__(
        self,
        *,
        name: str = "openai",
        base_url: str | None = None,
        base_url_env: str | None = "OPENAI_BASE_URL",
        api_key: SecretStr | str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        request_fields: Mapping[str, str] | None = None,
        send_cache_control: bool = False,
    ) -> None:
        self.send_cache_control = send_cache_control
        """Send prompt-cache breakpoints (`cache_control` on message parts and tools), for
        a gateway that passes them on to Claude (OpenRouter, LiteLLM's proxy); off, they are
        left out, as OpenAI caches on its own and strict servers refuse them."""
        self.request_fields = dict(request_fields or {})
        """Body fields this server names otherwise, or (`""`) refuses: Mistral's
        `{"seed": "random_seed", "stream_options": ""}`."""
        super().__init__(
            name=name,
            base_url=base_url,
            base_url_env=base_url_env,
            default_url=OPENAI_URL,
            api_key=api_key,
            api_key_env=api_key_env,
            timeout=timeout,
            headers=headers or {},
            transport=transport,
        )

    def _body(
        self, model_id: str, messages: Sequence[Message], params: ChatParams, stream: bool
    ) -> dict[str, Any]:
        body = request_body(
            model_id,
            messages,
            params,
            stream=stream,
            cache_control=self.send_cache_control,
            provider=self.name,
        )
        for field, name in self.request_fields.items():
            if field in body:
                value = body.pop(field)
                if name:
                    body[name] = value
                elif field != "stream_options":  # asked by the caller, not added by us
                    not_sent(self.name, field, "its request_fields say it refuses it")
        return body

    def _completion(self, model_id: str, data: dict[str, Any], where: dict[str, Any]) -> Completion:
        """A chat completion response body as a `Completion`."""
        choice = data["choices"][0]
        message = choice.get("message") or {}
        finish = choice.get("finish_reason")
        if finish == "content_filter":
            refused = ContentFiltered("the provider's content filter stopped the answer", **where)
            refused.usage = _usage(data["usage"]) if data.get("usage") else None
            raise refused
        tool_calls = [
            ToolCall(
                id=tc.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                function=FunctionCall(
                    name=tc["function"]["name"],
                    arguments=tc["function"].get("arguments") or "{}",
                ),
            )
            for tc in message.get("tool_calls") or []
        ]
        reasoning = _reasoning_of(message)
        return Completion(
            id=str(data.get("id") or uuid.uuid4().hex),
            model=model_id,
            provider=self.name,
            provider_model=str(data.get("model") or model_id),
            content=message.get("content"),
            tool_calls=tool_calls,
            finish_reason=finish,
            usage=_usage(data.get("usage")),
            logprobs=_logprobs(choice),
            thinking=[ThinkingPart(thinking=reasoning)] if reasoning else [],
        )

    # --- the Batch API (files + /batches): half price, answers within 24 h -----------

    async def submit_batch(
        self, model_id: str, requests: Sequence[tuple[str, RoutingRequest]]
    ) -> str:
        """Upload `(custom_id, request)` pairs as a batch for `model_id`; the batch id."""
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        lines = [
            json.dumps(
                {
                    "custom_id": custom_id,
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": self._body(model_id, r.messages, r.params, False),
                }
            )
            for custom_id, r in requests
        ]
        with normalised_errors(where):
            upload = await self._pool.send(
                "POST",
                "/files",
                where,
                files={"file": ("batch.jsonl", "\n".join(lines).encode(), "application/jsonl")},
                data={"purpose": "batch"},
                # the client sends JSON by default; httpx takes the boundary from here
                headers={"content-type": f"multipart/form-data; boundary={_BOUNDARY}"},
            )
            batch = await self._pool.post_json(
                "/batches",
                {
                    "input_file_id": upload.json()["id"],
                    "endpoint": "/v1/chat/completions",
                    "completion_window": "24h",
                },
                where,
            )
        return str(batch["id"])

    async def poll_batch(
        self, model_id: str, batch_id: str
    ) -> dict[str, Completion | ProviderError] | None:
        """The batch's answers by custom id once it has ended (None while it runs)."""
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        with normalised_errors(where):
            batch = (await self._pool.send("GET", f"/batches/{batch_id}", where)).json()
            status = batch.get("status")
            if status in ("failed", "expired", "cancelled"):
                raise ServerError(f"batch {batch_id} {status}", **where)
            if status != "completed":
                return None
            output = batch.get("output_file_id")
            text = (await self._pool.send("GET", f"/files/{output}/content", where)).text

        def answer(row: dict[str, Any]) -> Completion:
            response = row.get("response") or {}
            code = int(response.get("status_code") or 500)
            if code >= 400:
                raise self._pool.error_body(code, response.get("body"), where)
            return self._completion(model_id, response["body"], where)

        return batch_results(text, where, answer)

    async def chat_stream(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> AsyncIterator[StreamChunk]:
        """One streamed chat call to `model_id`."""
        body = self._body(model_id, messages, params, True)
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        with normalised_errors(where):
            done = False
            async with aclosing(self._pool.sse_data("/chat/completions", body, where)) as events:
                async for payload in events:
                    if done:
                        continue
                    if payload == "[DONE]":
                        done = True
                        continue
                    data = json.loads(payload)
                    if "error" in data:
                        raise self._pool.error_event(500, payload, where)
                    chunk = self._chunk(model_id, data)
                    if chunk is not None:
                        yield chunk
            if not done:
                raise MalformedResponse("stream ended without [DONE]", **where)

    def _chunk(self, model_id: str, data: dict[str, Any]) -> StreamChunk | None:
        usage = _usage(data["usage"]) if data.get("usage") else None
        choices = data.get("choices") or []
        if not choices:
            return StreamChunk(model=model_id, provider=self.name, usage=usage) if usage else None
        choice = choices[0]
        delta = choice.get("delta") or {}
        if choice.get("finish_reason") == "content_filter":
            raise ContentFiltered(
                "the provider's content filter stopped the answer",
                model=model_id,
                provider=self.name,
            )
        deltas = [
            ToolCallDelta(
                index=int(tc.get("index", 0)),
                id=tc.get("id"),
                name=(tc.get("function") or {}).get("name"),
                arguments=(tc.get("function") or {}).get("arguments") or "",
            )
            for tc in delta.get("tool_calls") or []
        ]
        reasoning = _reasoning_of(delta)
        return StreamChunk(
            model=model_id,
            provider=self.name,
            content=delta.get("content") or "",
            tool_calls=deltas,
            finish_reason=choice.get("finish_reason"),
            usage=usage,
            logprobs=_logprobs(choice),
            thinking=[ThinkingDelta(index=0, thinking=reasoning)] if reasoning else [],
        )
