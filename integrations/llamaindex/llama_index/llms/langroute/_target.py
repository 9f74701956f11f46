"""A LlamaIndex LLM as a langroute `Provider`: the core plans, retries and falls back; this
calls the chosen LLM's own (instrumented) methods with the framework's own call.

Instrumentation events (the dispatcher's) come from the candidate's own methods, once per
model call. Legacy callback handlers (`TokenCountingHandler`, `LlamaDebugHandler`, …) are
per LLM object: those on the `RoutingLLM` (or `Settings.callback_manager`) get one LLM
event per model call from here, unless the candidate already calls them itself."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from llama_index.core.base.llms.types import CachePoint, ChatMessage, ChatResponse
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.llms import LLM
from llama_index.core.tools import BaseTool

from langroute._streams import closing
from langroute._sync import aiter_in_threads, call_blocking
from langroute.features import RoutingRequest
from langroute.providers.answers import filtered, finish_reason, token_logprobs
from langroute.providers.base import Provider
from langroute.providers.claude_json import output_format
from langroute.providers.sdk_errors import (
    RefusedArguments,
    fit_for_claude_thinking,
    normalise_exception,
    not_sent,
)
from langroute.types import NO_PARAMS, ChatParams, Completion, StreamChunk, ToolCallDelta, Usage
from llama_index.llms.langroute._convert import (
    finish_reason_from_raw,
    from_neutral_messages,
    logprobs_from_raw,
    tool_calls_of,
    usage_from_raw,
)
from llama_index.llms.langroute._native import NativeLLM


@dataclass
class LlamaIndexCall:
    """What LlamaIndex asked for: messages, and the tools to format per chosen model."""

    messages: list[ChatMessage]
    tools: Sequence[BaseTool] | None = None
    tool_options: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    sync: bool = False
    """Called through the sync API: use the candidate's sync methods in a worker thread."""
    callbacks: CallbackManager | None = None
    """The `RoutingLLM`'s legacy callback manager, when it has handlers."""
    rate_limiter: Any = None
    """The `RoutingLLM`'s own `rate_limiter`: waited on before each model call (LlamaIndex
    waits on a candidate's own in its decorated methods)."""

    def chat_kwargs_for(
        self, llm: LLM, params: ChatParams = NO_PARAMS, *, sampling: bool = True
    ) -> dict[str, Any]:
        """`chat(**kwargs)` arguments for `llm`: its own formatting of the tools, the
        messages without prompt-cache points when it cannot take them, a `response_format`
        as Claude's JSON outputs for Anthropic's LLM, the reasoning effort and Claude's
        thinking as the router fitted them to the model (`params`), and no temperature,
        top_p or top_k for a model that refuses them (`sampling` False)."""
        messages = self.messages if takes_cache_points(llm) else unmarked(self.messages)
        kwargs = self.kwargs
        if not sampling and (asked := [k for k in SAMPLING if k in kwargs]):
            for name in asked:
                if name != "temperature":  # the router said so of the call's temperature
                    not_sent(type(llm).__name__, name, "the model refuses it")
            kwargs = {k: v for k, v in kwargs.items() if k not in SAMPLING}
        if "response_format" in kwargs and type(llm).__module__.startswith(ANTHROPIC_MODULE):
            kwargs = _as_json_outputs(kwargs, params)
        kwargs = _with_reasoning(kwargs, llm, params, sampling=sampling)
        if "thinking" in kwargs and not takes_thinking(llm):
            not_sent(type(llm).__name__, "Claude's thinking setting", "its API refuses it")
            kwargs = {k: v for k, v in kwargs.items() if k != "thinking"}
        if not self.tools:
            return {"messages": messages, **kwargs}
        options = self.tool_options
        if params.tool_choice == "auto" and options.get("tool_required"):
            options = {**options, "tool_required": False}  # fitted: a Claude that will think
        prepare = llm._prepare_chat_with_tools_compat  # type: ignore[attr-defined]
        return dict(prepare(self.tools, chat_history=list(messages), **options, **kwargs))


CACHE_POINT_MODULES = (
    "llama_index.llms.anthropic",
    "llama_index.llms.bedrock_converse",
    "llama_index.llms.langroute",
)
"""Where the LlamaIndex LLMs that take `CachePoint` blocks live: Anthropic's, Bedrock's
Converse, and langroute's own (native candidates, a nested `RoutingLLM`)."""


def takes_cache_points(llm: LLM) -> bool:
    return type(llm).__module__.startswith(CACHE_POINT_MODULES)


ANTHROPIC_MODULE = "llama_index.llms.anthropic"

THINKING_MODULES = (ANTHROPIC_MODULE, "llama_index.llms.langroute")
"""Where the LlamaIndex LLMs that take Claude's `thinking` argument per call live:
Anthropic's, and langroute's own (a native candidate sends it to Claude only)."""


def takes_thinking(llm: LLM) -> bool:
    return type(llm).__module__.startswith(THINKING_MODULES)


def _with_reasoning(
    kwargs: dict[str, Any], llm: LLM, params: ChatParams, *, sampling: bool = True
) -> dict[str, Any]:
    """The call's keywords with the effort and thinking the router fitted to the model: the
    level it takes (Anthropic's LLM: its `output_config.effort`), or none; Claude's
    thinking in the kind it takes (a budget, or adaptive), or the budget an effort stands
    for on a Claude model that takes only that; and, while Claude thinks, the `max_tokens`
    and temperature it requires (`fit_for_claude_thinking`; none for a model that takes
    no temperature, whose own LlamaIndex leaves out)."""
    claude = type(llm).__module__.startswith(ANTHROPIC_MODULE)
    effort = params.reasoning_effort
    thinking = params.thinking.model_dump(exclude_none=True) if params.thinking else None
    if "reasoning_effort" in kwargs or effort is not None or kwargs.get("thinking") != thinking:
        kwargs = {k: v for k, v in kwargs.items() if k not in ("reasoning_effort", "thinking")}
        if effort is not None and claude:
            kwargs["output_config"] = {**kwargs.get("output_config", {}), "effort": effort}
        elif effort is not None:
            kwargs["reasoning_effort"] = effort
        if thinking is not None and takes_thinking(llm):
            kwargs["thinking"] = thinking
    if not claude:
        return kwargs
    return fit_for_claude_thinking(
        type(llm).__name__,
        kwargs,
        own_max_tokens=getattr(llm, "max_tokens", None),
        own_temperature=getattr(llm, "temperature", None) if sampling else None,
    )


def _as_json_outputs(kwargs: dict[str, Any], params: ChatParams) -> dict[str, Any]:
    """OpenAI's `response_format` as Anthropic's LLM takes it (its client refuses the
    keyword): a JSON schema as Claude's JSON outputs, fitted to the schema subset Claude
    enforces; JSON mode, which the Messages API lacks, is left out and said."""
    kwargs = {k: v for k, v in kwargs.items() if k != "response_format"}
    if params.response_format is None:  # not OpenAI's shape: unread, so not sent
        not_sent("Anthropic", "response_format", "it is not OpenAI's {'type': ...} shape")
    elif (fmt := output_format(params.response_format, "Anthropic")) is not None:
        given = kwargs.get("output_config")
        kwargs["output_config"] = {**(given if isinstance(given, dict) else {}), "format": fmt}
    return kwargs


SAMPLING = ("temperature", "top_p", "top_k")


def unmarked(messages: list[ChatMessage]) -> list[ChatMessage]:
    """The messages without prompt-cache points (`CachePoint` blocks, `cache_control` in
    `additional_kwargs`), for an LLM that would refuse them (LlamaIndex's OpenAI raises on
    an unknown block); the same list when none has one."""
    out = []
    for message in messages:
        blocks = [b for b in message.blocks if not isinstance(b, CachePoint)]
        marked = "cache_control" in message.additional_kwargs
        if len(blocks) == len(message.blocks) and not marked:
            out.append(message)
            continue
        extra = {k: v for k, v in message.additional_kwargs.items() if k != "cache_control"}
        out.append(message.model_copy(update={"blocks": blocks, "additional_kwargs": extra}))
    return out if any(a is not b for a, b in zip(out, messages, strict=True)) else messages


def call_of(request: RoutingRequest) -> LlamaIndexCall:
    """The LlamaIndex call behind a request; for one the core built itself (an LLM judge's
    or classifier's, `router.chat(...)`), one made from its neutral messages and params."""
    if isinstance(request.native, LlamaIndexCall):
        return request.native
    params = request.params
    # sync: the LLM's sync client, in a worker thread, is safe whichever event loop runs
    # this; its async client belongs to the loop that first used it
    return LlamaIndexCall(
        from_neutral_messages(request.messages), kwargs=params.sampling(), sync=True
    )


def limiter_for(call: LlamaIndexCall, llm: LLM) -> Any:
    """The `RoutingLLM`'s rate limiter, to wait on before a call to `llm`; None when it has
    none, or `llm` has the same one and waits on it itself."""
    limiter = call.rate_limiter
    return None if limiter is getattr(llm, "rate_limiter", None) else limiter


def handlers_to_call(call: LlamaIndexCall, llm: LLM) -> CallbackManager | None:
    """The `RoutingLLM`'s legacy callback handlers that `llm` does not call itself (None:
    no handler left): a candidate built after `Settings.callback_manager` was set already
    has its handlers, and must not count a call twice."""
    ours = call.callbacks
    if ours is None:
        return None
    theirs = getattr(llm, "callback_manager", None)
    own = theirs.handlers if isinstance(theirs, CallbackManager) else []
    missing = [h for h in ours.handlers if not any(h is o for o in own)]
    if len(missing) == len(ours.handlers):
        return ours
    if not missing:
        return None
    subset = copy.copy(ours)  # not CallbackManager(...): it would add the global handler
    subset.handlers = missing
    return subset


class LegacyLLMEvent:
    """One `CBEventType.LLM` event for one candidate call, as LlamaIndex's own
    `llm_chat_callback` emits it: the messages and arguments at the start, the response
    (a stream's last one) or the exception at the end."""

    def __init__(self, manager: CallbackManager, llm: LLM, kwargs: dict[str, Any]) -> None:
        self.manager = manager
        self.messages = kwargs.get("messages", [])
        to_payload = getattr(llm, "to_payload", None)  # older llama-index-core has none
        serialized = to_payload() if to_payload else {"class_name": llm.class_name()}
        self.event_id = manager.on_event_start(
            CBEventType.LLM,
            payload={
                EventPayload.MESSAGES: self.messages,
                EventPayload.ADDITIONAL_KWARGS: {
                    k: v for k, v in kwargs.items() if k != "messages"
                },
                EventPayload.SERIALIZED: serialized,
            },
        )

    def ended(self, response: ChatResponse | None) -> None:
        payload = {EventPayload.MESSAGES: self.messages, EventPayload.RESPONSE: response}
        self.manager.on_event_end(CBEventType.LLM, payload=payload, event_id=self.event_id)

    def failed(self, error: BaseException) -> None:
        payload = {EventPayload.EXCEPTION: error}
        self.manager.on_event_end(CBEventType.LLM, payload=payload, event_id=self.event_id)


def _has_tool_calls(response: ChatResponse) -> bool:
    message = response.message
    return bool(message.additional_kwargs.get("tool_calls")) or any(
        type(block).__name__ == "ToolCallBlock" for block in message.blocks
    )


def _streams_usage_when_asked(llm: LLM) -> bool:
    """Whether `llm` is LlamaIndex's own `OpenAI`, which streams without usage unless
    asked (`stream_options`), as OpenAI's API does: without it a streamed call's cost was
    estimated, its prompt-cache reads billed at the full price. Its subclasses for other
    servers (`OpenAILike`, Azure) are left as they are, as some refuse the option."""
    kind = type(llm)
    return kind.__name__ == "OpenAI" and kind.__module__.startswith("llama_index.llms.openai.")


class LlamaIndexTarget:
    """Runs one LlamaIndex LLM for the core's runner, mapping its SDK's errors."""

    def __init__(self, name: str, llm: LLM) -> None:
        self.name = name
        self.llm = llm
        self.sampling = True
        """Whether the model takes temperature, top_p and top_k (its spec's
        `takes_sampling`, set when the router is built)."""
        self._refused = RefusedArguments(name)

    @property
    def takes_thinking(self) -> bool:
        """Whether the LLM is passed Claude's `thinking` (the router's plans then count the
        thinking tokens it bills)."""
        return takes_thinking(self.llm)

    def _kwargs_for(self, call: LlamaIndexCall, llm: LLM, params: ChatParams) -> dict[str, Any]:
        """The call's `chat` keywords for `llm`, without any it refused before."""
        return self._refused.left_out(call.chat_kwargs_for(llm, params, sampling=self.sampling))

    @staticmethod
    async def _open(
        llm: LLM, blocking: bool, kwargs: dict[str, Any]
    ) -> AsyncIterator[ChatResponse]:
        if blocking:
            return aiter_in_threads(await call_blocking(lambda: llm.stream_chat(**kwargs)))
        return await llm.astream_chat(**kwargs)

    @staticmethod
    async def _chat(llm: LLM, blocking: bool, kwargs: dict[str, Any]) -> ChatResponse:
        if blocking:
            return await call_blocking(lambda: llm.chat(**kwargs))
        return await llm.achat(**kwargs)

    def _llm_for(self, model_id: str) -> tuple[LLM, bool]:
        """The LLM to call for `model_id`, and whether a sync call may block on its sync
        client."""
        return self.llm, True

    async def complete(self, model_id: str, request: RoutingRequest) -> Completion:
        call = call_of(request)
        llm, blocking = self._llm_for(model_id)
        kwargs = self._kwargs_for(call, llm, request.params)
        manager = handlers_to_call(call, llm)
        event = None
        try:
            with nullcontext() if manager is None else manager.as_trace("chat"):
                if (limiter := limiter_for(call, llm)) is not None:
                    await limiter.async_acquire()
                if manager is not None:
                    event = LegacyLLMEvent(manager, llm, kwargs)
                chat = partial(self._chat, llm, call.sync and blocking)
                response = await self._refused.call(kwargs, chat)
                if event is not None:
                    event.ended(response)
        except BaseException as exc:
            if event is not None:
                event.failed(exc)
            if not isinstance(exc, Exception):
                raise
            raise normalise_exception(exc, model=model_id, provider=self.name) from exc
        usage = usage_from_raw(response.raw) or Usage()
        said = finish_reason_from_raw(response.raw)
        if (refused := filtered(said, usage, model=model_id, provider=self.name)) is not None:
            raise refused
        return Completion(
            id=request.request_id,
            model=model_id,
            provider=self.name,
            provider_model=model_id,
            content=response.message.content,
            tool_calls=tool_calls_of(response.message),
            finish_reason=finish_reason(said),
            usage=usage,
            logprobs=token_logprobs(logprobs_from_raw(response.raw)),
            raw=response,
        )

    async def stream(self, model_id: str, request: RoutingRequest) -> AsyncIterator[StreamChunk]:
        call = call_of(request)
        llm, blocking = self._llm_for(model_id)
        kwargs = self._kwargs_for(call, llm, request.params)
        if _streams_usage_when_asked(llm) and "stream_options" not in kwargs:
            kwargs["stream_options"] = {"include_usage": True}
        where = {"model": model_id, "provider": self.name}
        manager = handlers_to_call(call, llm)
        event = None
        try:
            if (limiter := limiter_for(call, llm)) is not None:
                await limiter.async_acquire()
            if manager is not None:
                with manager.as_trace("chat"):
                    event = LegacyLLMEvent(manager, llm, kwargs)
            opened = partial(self._open, llm, call.sync and blocking)
            responses = self._refused.stream(kwargs, opened)
            usage: Usage | None = None
            last = None
            refused: str | None = None  # a filter's finish reason: raised once usage is in
            async with closing(responses):
                async for response in responses:
                    last = response
                    usage = usage_from_raw(response.raw) or usage
                    said = finish_reason_from_raw(response.raw)
                    if refused is not None or filtered(said) is not None:
                        refused = refused or said
                        continue
                    tool_progress = [ToolCallDelta(index=0)] if _has_tool_calls(response) else []
                    yield StreamChunk(
                        model=model_id,
                        provider=self.name,
                        content=response.delta or "",
                        tool_calls=tool_progress,
                        finish_reason=finish_reason(said),
                        logprobs=token_logprobs(logprobs_from_raw(response.raw)),
                        raw=response,
                    )
            if (error := filtered(refused, usage, **where)) is not None:
                raise error
            if event is not None:
                event.ended(last)
            if usage is not None:
                yield StreamChunk(model=model_id, provider=self.name, usage=usage)
        except BaseException as exc:
            if event is not None:
                event.failed(exc)
            if not isinstance(exc, Exception):
                raise
            raise normalise_exception(exc, **where) from exc

    async def aclose(self) -> None:
        return None


class NativeTarget(LlamaIndexTarget):
    """A langroute provider serving native candidates, in the core's place: each call goes
    through a `NativeLLM` for the deployment's model id, so it formats tools, parses tool
    calls and emits LlamaIndex's instrumentation events like any candidate, while the core
    keeps choosing among the model's deployments (failover, balancing, health)."""

    def __init__(self, name: str, provider: Provider) -> None:
        self.name = name
        self.provider = provider
        self.sampling = True  # the router fits a native call's params to the model itself
        self._llms: dict[str, NativeLLM] = {}
        self._refused = RefusedArguments(name)

    @property
    def takes_thinking(self) -> bool:
        return bool(getattr(self.provider, "takes_thinking", False))

    def _llm_for(self, model_id: str) -> tuple[LLM, bool]:
        llm = self._llms.get(model_id)
        if llm is None:
            llm = self._llms[model_id] = NativeLLM(self.provider, model=model_id)
        return llm, False  # an async client: it runs on the router's loop, no worker thread

    async def aclose(self) -> None:
        await self.provider.aclose()
