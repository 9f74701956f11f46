"""A LangChain chat model as a langroute `Provider`: the core plans, retries and falls back;
this calls the chosen model's own `_agenerate`/`_astream` with the framework's own call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.rate_limiters import BaseRateLimiter

from langchain_langroute._convert import from_neutral_messages, usage_from_metadata
from langroute._streams import closing
from langroute._sync import aiter_in_threads, call_blocking
from langroute.features import RoutingRequest
from langroute.providers.answers import filtered, finish_reason, token_logprobs
from langroute.providers.claude_json import say_open_objects
from langroute.providers.sdk_errors import (
    RefusedArguments,
    fit_for_claude_thinking,
    normalise_exception,
    not_sent,
)
from langroute.types import (
    NO_PARAMS,
    ChatParams,
    Completion,
    FunctionCall,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)


@dataclass
class LangChainCall:
    """What LangChain asked for: messages, stop, raw tools (formatted per chosen model)."""

    messages: list[BaseMessage]
    stop: list[str] | None = None
    tools: list[Any] | None = None
    tool_kwargs: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    sync: bool = False
    """Called through the sync API: use the candidate's sync methods (its sync client), in a
    worker thread, so each SDK client stays on the event loop (or thread) it belongs to."""
    waited_on: BaseRateLimiter | None = None
    """The `RoutingChatModel`'s own rate limiter, which LangChain already waited on for
    this call (a candidate sharing it does not take a second slot)."""

    def for_model(
        self, model: BaseChatModel, params: ChatParams = NO_PARAMS, *, sampling: bool = True
    ) -> LangChainCall:
        """This call as `model` can take it, as LangChain's own `ModelFallbackMiddleware`
        decides (by `_llm_type`): prompt-cache breakpoints (`cache_control` on content
        blocks, tools, or as a keyword) and extended `thinking` only for a model that speaks
        Anthropic's API, and
        OpenAI's `prompt_cache_key` / `prompt_cache_retention` only for one that speaks
        OpenAI's; the other APIs refuse them. The reasoning effort, Claude's thinking and the
        tool choice (not forced on a Claude model that will think) are as the router fitted
        them to this model (`params`), and a model that takes no
        sampling settings (`sampling` False: Claude Opus 4.7 and later) is sent none, not
        even its own temperature."""
        call = self._with_reasoning(params)
        if params.tool_choice == "auto" and _forces(self.tool_kwargs.get("tool_choice")):
            call = replace(call, tool_kwargs={**self.tool_kwargs, "tool_choice": "auto"})
        if not sampling:
            call = call._without_sampling(model)
        refused = (
            OPENAI_CACHE_SETTINGS if not _speaks(model, OPENAI_CACHE_KEY_LLM_TYPES) else ()
        ) + (("thinking",) if not _speaks(model, ANTHROPIC_LLM_TYPES) else ())
        kept = {k: v for k, v in call.kwargs.items() if k not in refused}
        if len(kept) != len(call.kwargs):
            if "thinking" in call.kwargs and "thinking" not in kept:
                not_sent(type(model).__name__, "Claude's thinking setting", "its API refuses it")
            call = replace(call, kwargs=kept)
        if not _speaks(model, ANTHROPIC_LLM_TYPES):
            return call._without_breakpoints()
        if str(getattr(model, "_llm_type", "")).startswith("anthropic"):
            _say_what_claude_cannot_hold(model, call.kwargs.get("response_format"))
        fitted = fit_for_claude_thinking(
            type(model).__name__,
            call.kwargs,
            own_max_tokens=getattr(model, "max_tokens", None),
            own_temperature=getattr(model, "temperature", None) if sampling else None,
        )
        return call if fitted is call.kwargs else replace(call, kwargs=fitted)

    def _with_reasoning(self, params: ChatParams) -> LangChainCall:
        """The call with the reasoning effort and Claude's thinking the router fitted to the
        model: the level it takes, or none, and thinking in the kind it takes (a budget, or
        adaptive), or the thinking an effort buys, or none."""
        asked = [k for k in ("reasoning_effort", "effort") if k in self.kwargs]
        thinking = params.thinking.model_dump(exclude_none=True) if params.thinking else None
        same_thinking = self.kwargs.get("thinking") == thinking
        if not asked and params.reasoning_effort is None and same_thinking:
            return self
        kwargs = {k: v for k, v in self.kwargs.items() if k not in (*asked, "thinking")}
        if params.reasoning_effort is not None:
            kwargs["reasoning_effort"] = params.reasoning_effort
        if thinking is not None:
            kwargs["thinking"] = thinking
        return replace(self, kwargs=kwargs)

    def _without_sampling(self, model: BaseChatModel) -> LangChainCall:
        """The call without temperature, top_p and top_k, for a model that refuses them; a
        `ChatAnthropic`'s own unset too (it leaves out what is None; other clients, such as
        `ChatOpenAI`, already leave theirs out for their reasoning models)."""
        kwargs = {k: v for k, v in self.kwargs.items() if k not in SAMPLING}
        for name in ("top_p", "top_k"):  # the router said so of the call's temperature
            if name in self.kwargs:
                not_sent(type(model).__name__, name, "the model refuses it")
        for name in SAMPLING if _speaks(model, ANTHROPIC_LLM_TYPES) else ():
            if getattr(model, name, None) is not None:
                not_sent(type(model).__name__, f"its own {name}", "the model refuses it")
                kwargs[name] = None
        return self if kwargs == self.kwargs else replace(self, kwargs=kwargs)

    def _without_breakpoints(self) -> LangChainCall:
        messages = [_unmarked_message(m) for m in self.messages]
        tools = [_unmarked_tool(t) for t in self.tools or ()]
        before = [*self.messages, *(self.tools or ())]
        unchanged = all(a is b for a, b in zip([*messages, *tools], before, strict=True))
        if unchanged and "cache_control" not in self.kwargs:
            return self
        kwargs = {k: v for k, v in self.kwargs.items() if k != "cache_control"}
        return replace(self, messages=messages, tools=tools or self.tools, kwargs=kwargs)

    def kwargs_for(self, model: BaseChatModel) -> dict[str, Any]:
        """The call kwargs for `model`: its own formatting of the tools, then the rest."""
        if not self.tools:
            return dict(self.kwargs)
        bound = model.bind_tools(self.tools, **self.tool_kwargs)
        return {**self.kwargs, **getattr(bound, "kwargs", {})}


ANTHROPIC_LLM_TYPES = frozenset(
    {"anthropic-chat", "anthropic-bedrock-chat", "anthropic-chat-vertexai", "langroute"}
)
"""The `_llm_type`s of LangChain chat models that take Anthropic's `cache_control` (as in
LangChain's `ModelFallbackMiddleware`), and a nested `RoutingChatModel`, which routes them."""


OPENAI_CACHE_KEY_LLM_TYPES = frozenset(
    {"openai-chat", "azure-openai-chat", "fireworks-chat", "langroute"}
)
"""The `_llm_type`s of LangChain chat models that take OpenAI's prompt cache settings (as in
`ModelFallbackMiddleware`), and a nested `RoutingChatModel`, which routes them."""
OPENAI_CACHE_SETTINGS = ("prompt_cache_key", "prompt_cache_retention")
SAMPLING = ("temperature", "top_p", "top_k")


def _say_what_claude_cannot_hold(model: BaseChatModel, response_format: Any) -> None:
    """A JSON schema's open objects, which a Claude candidate's SDK closes without a word
    (Claude's JSON outputs hold only named properties), said once."""
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        say_open_objects(schema, type(model).__name__)


def _forces(choice: Any) -> bool:
    """Whether a LangChain `tool_choice` forces a tool call (`any`, True, a tool's name)."""
    return choice not in (None, False, "auto", "none")


def _speaks(model: BaseChatModel, llm_types: frozenset[str]) -> bool:
    llm_type = getattr(model, "_llm_type", None)
    return isinstance(llm_type, str) and llm_type in llm_types


def _unmarked(payload: Any) -> Any:
    if isinstance(payload, dict) and "cache_control" in payload:
        return {k: v for k, v in payload.items() if k != "cache_control"}
    return payload


def _unmarked_message(message: BaseMessage) -> BaseMessage:
    """The message without breakpoints on its content blocks (itself when it has none)."""
    content = message.content
    if isinstance(content, str):
        return message
    blocks = [_unmarked(block) for block in content]
    if all(a is b for a, b in zip(blocks, content, strict=True)):
        return message
    return message.model_copy(update={"content": blocks})


def _unmarked_tool(tool: Any) -> Any:
    """A tool without its breakpoint: a dict's own, or a `BaseTool`'s `extras`."""
    if isinstance(tool, dict):
        return _unmarked(tool)
    extras = getattr(tool, "extras", None)
    if isinstance(extras, dict) and "cache_control" in extras:
        return tool.model_copy(update={"extras": _unmarked(extras) or None})
    return tool


def call_of(request: RoutingRequest) -> LangChainCall:
    """The LangChain call behind a request; for one the core built itself (an LLM judge's
    or classifier's, `router.chat(...)`), one made from its neutral messages and params."""
    if isinstance(request.native, LangChainCall):
        return request.native
    params = request.params
    # sync: the model's sync client, in a worker thread, is safe whichever event loop runs
    # this; its async client belongs to the loop that first used it
    messages = from_neutral_messages(request.messages)
    return LangChainCall(messages, stop=params.stop, kwargs=params.sampling(), sync=True)


class LangChainTarget:
    """Runs one LangChain chat model for the core's runner, mapping its SDK's errors."""

    def __init__(self, name: str, model: BaseChatModel) -> None:
        self.name = name
        self.model = model
        self.sampling = True
        """Whether the model takes temperature, top_p and top_k (its spec's
        `takes_sampling`, set when the router is built)."""
        self._refused = RefusedArguments(name)

    @property
    def takes_thinking(self) -> bool:
        """Whether the candidate is passed Claude's `thinking` (the router's plans then count
        the thinking tokens it bills)."""
        return _speaks(self.model, ANTHROPIC_LLM_TYPES)

    def _limiter(self, call: LangChainCall) -> BaseRateLimiter | None:
        """The candidate's own `rate_limiter`, to wait on as its `invoke` would (the router
        calls its `_agenerate`/`_astream`, below the base class that waits on it); None when
        it has none or LangChain already waited on it for the `RoutingChatModel`."""
        limiter = self.model.rate_limiter
        return None if limiter is call.waited_on else limiter

    async def complete(self, model_id: str, request: RoutingRequest) -> Completion:
        call = call_of(request).for_model(self.model, request.params, sampling=self.sampling)
        where = {"model": model_id, "provider": self.name}
        kwargs = self._refused.left_out(call.kwargs_for(self.model))
        try:
            if (limiter := self._limiter(call)) is not None:
                await limiter.aacquire(blocking=True)
            generate = self.model._agenerate
            if call.sync:
                generate = partial(call_blocking, self.model._generate)
            result = await self._refused.call(
                kwargs, lambda kw: generate(call.messages, stop=call.stop, **kw)
            )
        except Exception as exc:
            raise normalise_exception(exc, **where) from exc
        generation = result.generations[0]
        message = generation.message
        info = {
            **(result.llm_output or {}),
            **(generation.generation_info or {}),
            **message.response_metadata,
        }
        said = info.get("finish_reason") or info.get("stop_reason")
        usage = usage_from_metadata(getattr(message, "usage_metadata", None)) or Usage()
        if (refused := filtered(said, usage, **where)) is not None:
            raise refused
        return Completion(
            id=str(message.id or request.request_id),
            model=model_id,
            provider=self.name,
            provider_model=str(info.get("model_name") or info.get("model") or model_id),
            content=message.text,
            tool_calls=[
                ToolCall(
                    id=str(c.get("id") or f"call_{i}"),
                    function=FunctionCall(name=c["name"], arguments=json.dumps(c["args"])),
                )
                for i, c in enumerate(getattr(message, "tool_calls", None) or [])
            ],
            finish_reason=finish_reason(said),
            usage=usage,
            logprobs=token_logprobs(info.get("logprobs")),
            raw=result,
        )

    def _streams(self, call: LangChainCall, kwargs: dict[str, Any]) -> bool:
        """Whether the candidate streams this call, as its own `stream` would decide: it
        implements streaming (sync calls need `_stream`; `_astream` falls back to it) and
        does not turn it off (`disable_streaming`, `streaming=False`)."""
        model, base = type(self.model), BaseChatModel
        sync_done, async_done = (
            model._stream is not base._stream,
            model._astream is not base._astream,
        )
        if not (sync_done if call.sync else sync_done or async_done):
            return False
        disabled = getattr(self.model, "_streaming_disabled", None)  # newer langchain-core
        if disabled is not None:
            return not disabled(**kwargs)
        off = self.model.disable_streaming
        return not (off is True or (off == "tool_calling" and kwargs.get("tools")))

    async def _answer_as_stream(
        self, model_id: str, request: RoutingRequest
    ) -> AsyncIterator[StreamChunk]:
        """A candidate that does not stream: its whole answer, as one chunk."""
        completion = await self.complete(model_id, request)
        assert isinstance(completion.raw, ChatResult)
        generation = completion.raw.generations[0]
        message = generation.message
        chunk = AIMessageChunk(
            content=message.content,
            additional_kwargs=message.additional_kwargs,
            response_metadata=message.response_metadata,
            id=message.id,
            tool_call_chunks=[
                {"name": c.function.name, "args": c.function.arguments, "id": c.id, "index": i}
                for i, c in enumerate(completion.tool_calls)
            ],
        )
        yield StreamChunk(
            model=model_id,
            provider=self.name,
            content=completion.content or "",
            tool_calls=[
                ToolCallDelta(
                    index=i, id=c.id, name=c.function.name, arguments=c.function.arguments
                )
                for i, c in enumerate(completion.tool_calls)
            ],
            finish_reason=completion.finish_reason,
            usage=completion.usage,  # reported once, in the router's last chunk
            raw=ChatGenerationChunk(message=chunk, generation_info=generation.generation_info),
        )

    async def stream(self, model_id: str, request: RoutingRequest) -> AsyncIterator[StreamChunk]:
        call = call_of(request).for_model(self.model, request.params, sampling=self.sampling)
        where = {"model": model_id, "provider": self.name}
        kwargs = self._refused.left_out(call.kwargs_for(self.model))
        if not self._streams(call, kwargs):
            async with closing(self._answer_as_stream(model_id, request)) as wholes:
                async for whole in wholes:
                    yield whole
            return
        try:
            if (limiter := self._limiter(call)) is not None:
                await limiter.aacquire(blocking=True)
            chunks = self._refused.stream(kwargs, partial(self._open, call))
            refused: str | None = None  # a filter's finish reason: raised once usage is in
            used: Usage | None = None
            async with closing(chunks):
                async for chunk in chunks:
                    message = chunk.message
                    usage = usage_from_metadata(getattr(message, "usage_metadata", None))
                    if usage is not None:  # reported once, in the router's last chunk
                        message.usage_metadata = None  # type: ignore[union-attr]
                        used = usage if used is None else used + usage
                    info = {**(chunk.generation_info or {}), **message.response_metadata}
                    said = info.get("finish_reason") or info.get("stop_reason")
                    if refused is not None or filtered(said) is not None:
                        refused = refused or said
                        continue
                    deltas = [
                        ToolCallDelta(
                            index=int(c.get("index") or 0),
                            id=c.get("id"),
                            name=c.get("name"),
                            arguments=c.get("args") or "",
                        )
                        for c in getattr(message, "tool_call_chunks", ())
                    ]
                    yield StreamChunk(
                        model=model_id,
                        provider=self.name,
                        content=message.text,
                        tool_calls=deltas,
                        finish_reason=finish_reason(said),
                        usage=usage,
                        logprobs=token_logprobs(info.get("logprobs")),
                        raw=chunk,
                    )
            if (error := filtered(refused, used, **where)) is not None:
                raise error
        except Exception as exc:
            raise normalise_exception(exc, **where) from exc

    async def _open(self, call: LangChainCall, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        if call.sync:
            return aiter_in_threads(self.model._stream(call.messages, stop=call.stop, **kwargs))
        return self.model._astream(call.messages, stop=call.stop, **kwargs)

    async def aclose(self) -> None:
        return None
