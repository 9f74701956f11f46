"""`RoutingChatModel`: a LangChain chat model that routes every call to one of its candidates."""

from __future__ import annotations

import json
import math
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from langchain_langroute._convert import (
    reasoning_blocks,
    to_neutral_messages,
    to_tool_specs,
    usage_metadata,
)
from langchain_langroute._target import LangChainCall, LangChainTarget
from langroute import AnthropicProvider, Decision, Registry, Router
from langroute._streams import closing
from langroute._sync import iterate_sync, run_sync
from langroute.errors import ConfigError, invalid_input, refuse_unknown_arguments
from langroute.features import CallerHints, RoutingRequest
from langroute.policy.balance import Balance
from langroute.reasoning import EFFORTS
from langroute.retry import RetryPolicy
from langroute.router import adapter_options, named_candidates, repr_args_without_candidates
from langroute.tokens import DEFAULT_ENCODING, count_tokens, counts_are_exact
from langroute.types import (
    NO_PARAMS,
    ChatParams,
    Completion,
    ReasoningEffort,
    ResponseFormat,
    StreamChunk,
    ThinkingPart,
    Usage,
)

PROVIDER_PREFIX = "langchain:"

_routers: dict[tuple[Any, ...], tuple[weakref.ref[Router], tuple[Any, ...]]] = {}
_routers_lock = threading.RLock()  # a router may die (and be forgotten) while one is built


def shared_router(
    parts: tuple[Any, ...], values: tuple[Any, ...], build: Callable[[], Router]
) -> Router:
    """One router per set of candidate objects and settings: a model LangChain rebuilds
    from another's fields (`configurable_fields`, a per-call `tenant`) keeps its health,
    rate limits and observed token ratios. Keyed on the objects' identities (kept alive
    with the entry, so no id is reused meanwhile) and the plain values; an entry goes when
    its router does."""
    key = (tuple(map(id, parts)), values)
    with _routers_lock:
        entry = _routers.get(key)
        router = entry[0]() if entry is not None else None
        if router is None:
            router = build()

            def forget(ref: weakref.ref[Router]) -> None:
                with _routers_lock:
                    if (current := _routers.get(key)) is not None and current[0] is ref:
                        del _routers[key]

            _routers[key] = (weakref.ref(router, forget), parts)
        return router


def candidate_name(model: BaseChatModel | str) -> str:
    """The model name a LangChain chat model calls (`model_name`, `model`, `model_id`, …);
    a string is a native candidate's own name."""
    if isinstance(model, str):
        return model
    for attr in ("model_name", "model", "model_id", "deployment_name"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    raise ConfigError(
        f"cannot tell which model {type(model).__name__} calls; pass the candidates as a "
        "dict: models={'my-name': model}"
    )


def _profile_fields(model: BaseChatModel | str) -> dict[str, Any]:
    """Registry fields a LangChain model's `profile` tells (for a model the catalog does not
    know): its windows and what it can take and give."""
    profile = getattr(model, "profile", None) if not isinstance(model, str) else None
    if not profile:
        return {}
    fields: dict[str, Any] = {}
    if isinstance(profile.get("max_input_tokens"), int):
        fields["context_window"] = profile["max_input_tokens"]
    if isinstance(profile.get("max_output_tokens"), int):
        fields["max_output_tokens"] = profile["max_output_tokens"]
    capabilities = {
        ours: profile[theirs]
        for theirs, ours in (
            ("tool_calling", "tools"),
            ("image_inputs", "vision"),
            ("structured_output", "structured_output"),
            ("temperature", "sampling"),
        )
        if isinstance(profile.get(theirs), bool)
    }
    levels = profile.get("reasoning_effort_levels")
    if isinstance(levels, list | tuple):
        capabilities["reasoning_efforts"] = [e for e in levels if e in EFFORTS]
    if capabilities:
        fields["capabilities"] = capabilities
    return fields


def _tool_choice(choice: Any) -> str | None:
    if choice is None or choice is False:
        return None
    if choice is True or choice == "any":
        return "required"
    if isinstance(choice, dict):
        function = choice.get("function") or {}
        return str(function.get("name") or choice.get("name") or "required")
    return str(choice)


def _neutral_format(response_format: Any) -> ResponseFormat | None:
    if not isinstance(response_format, dict) or "type" not in response_format:
        return None
    return ResponseFormat.model_validate(response_format)


class RoutingChatModel(BaseChatModel):
    """Routes every call — each `invoke`, each streamed answer, each agent step — to the
    candidate langroute's core chooses, and runs it with the core's fallback chain.

    ```python
    from langchain_openai import ChatOpenAI
    from langchain_anthropic import ChatAnthropic
    from langchain_langroute import RoutingChatModel

    llm = RoutingChatModel(models=[ChatOpenAI(model="gpt-4.1-nano", max_retries=0),
                                   ChatAnthropic(model="claude-sonnet-4-5", max_retries=0)])
    llm.invoke("hi").response_metadata["langroute"]["reasons"]
    ```

    Candidates are your own chat models; each maps to a registry `ModelSpec` by its model
    name (the built-in catalog knows common ones; describe others in `specs`). Give
    candidates `max_retries=0`: the router retries and falls back itself. A candidate given
    as a model name is native: langroute's own provider calls it.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    models: list[BaseChatModel | str] | dict[str, BaseChatModel | str]
    """The candidates: a list (chat models named by their model names) or a dict name →
    model. A string is a native candidate: that registry model, called by langroute's own
    provider for it (OpenAI-compatible or Anthropic, over httpx), no LangChain client needed.
    """
    specs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Registry fields per candidate name, overriding or completing the catalog's entry."""
    providers: dict[str, Any] = Field(default_factory=dict, exclude=True)
    """Native candidates' `langroute` providers by provider name, e.g. `{"openai":
    OpenAIProvider(base_url=...)}` (default: the registry's, its key read from the
    environment)."""
    registry: Registry | None = Field(default=None, exclude=True)
    classifier: Any = Field(default=None, exclude=True)
    policy: Any = Field(default=None, exclude=True)
    strategy: Any = Field(default=None, exclude=True)
    retry: Any = Field(default=None, exclude=True)
    budgets: Any = Field(default=None, exclude=True)
    """`langroute.Budgets`: USD caps, reserved before each call and settled after it."""
    response_cache: Any = Field(default=None, exclude=True)
    """`langroute.ResponseCache`: exact/semantic answers per tenant (LangChain's own `cache`
    field is a different, untenanted cache)."""
    audit: Any = Field(default=None, exclude=True)
    """`langroute.AuditLog`: one record per routed call."""
    health: Any = Field(default=None, exclude=True)
    """`langroute.InMemoryHealth` (or `SQLiteHealth`, `RedisHealth`): circuit breakers, and
    cooldowns after a 429's Retry-After, so a failing candidate is skipped instead of being
    tried first on every call (None: every candidate is always tried)."""
    limits: Any = Field(default=None, exclude=True)
    """`langroute.InMemoryRateLimits` (or SQLite, Redis): enforces the `rpm`/`tpm` that
    `specs` (or the catalog) give a candidate; one out of budget is skipped."""
    balance: Balance = "order"
    """How a native candidate's deployments (one model at several providers) are ordered."""
    hedge_after_ms: float | None = Field(default=None, gt=0)
    """Call a native candidate's next deployment too when the first has not answered after
    this long; the first answer wins (both are billed)."""
    shadow: Any = Field(default=None, exclude=True)
    """`langroute.shadow.ShadowEvaluator`: re-runs a sample of answered calls on a reference
    router, off the response path, and watches quality per route."""
    feedback: Any = Field(default=None, exclude=True)
    """`langroute.feedback` store for `llm.router.feedback(request_id, score)` ratings."""
    cache_aware: Any = Field(default=True, exclude=True)
    """Price the prompt prefix a candidate's provider holds cached (as its earlier answers
    showed) at the cached price when choosing, so a conversation is not moved off the
    model that holds it when staying costs less: True (kept in this process), a
    `langroute.state` warm store that workers share (`SQLiteWarmStore`, `RedisWarmStore`),
    or False (list prices only)."""
    tenant: str | None = None
    """Default tenant of every call (per call: `invoke(..., tenant=...)`): budgets and the
    response cache are kept per tenant."""
    user: str | None = None
    """Default end user of every call (per call: `invoke(..., user=...)`)."""
    hints: CallerHints | None = None
    """Default caller hints for every call (per call: `invoke(..., hints={...})`)."""
    temperature: float | None = None
    """Sent to whichever candidate answers (unless the call sets its own)."""
    max_tokens: int | None = None
    """Sent to whichever candidate answers; also bounds routing by context window."""
    reasoning_effort: ReasoningEffort | None = None
    """How hard the answering model reasons (per call: `invoke(..., reasoning_effort=...)`):
    sent to each candidate as it takes it, as OpenAI's `reasoning_effort` or Claude's
    effort at the nearest level it takes, as a thinking budget to a Claude model that
    takes only that, and not at all to a model that does not reason."""
    stop: list[str] | None = None
    timeout: float | None = None
    """Seconds one model call may take before the router retries or falls back (a stream:
    until its first text or tool call) — enforced by the router for every candidate, and
    also sent to candidates that accept a per-call `timeout`. A whole-call limit:
    `retry=RetryPolicy(deadline_s=...)` or `hints={"deadline_s": ...}`."""
    max_retries: int | None = None
    """Retries of the same candidate before falling back (the core's `RetryPolicy`)."""
    streaming: bool = False
    """Stream from the candidates even when `invoke` is used (LangChain's `streaming`)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other parameters sent with every call to whichever candidate answers, e.g.
    `{"seed": 7}` (a call's own arguments win)."""

    def __init__(self, **data: Any) -> None:
        # Checked before pydantic sees the arguments: its error would echo them all (a key).
        refuse_unknown_arguments("RoutingChatModel", data, type(self).model_fields, "model_kwargs")
        super().__init__(**data)

    _router: Router = PrivateAttr()
    _candidates: dict[str, BaseChatModel | str] = PrivateAttr()
    _native: bool = PrivateAttr(default=False)
    """Whether any candidate is native: calls then carry every parameter in neutral form."""
    _model_providers: dict[str, str | None] = PrivateAttr()
    """Each candidate's LangSmith provider name (`ls_provider`), read once."""

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        named = named_candidates(self.models, candidate_name, owner="RoutingChatModel")
        self._candidates = named
        self._native = any(isinstance(model, str) for model in named.values())
        retry = self.retry
        if retry is None and self.max_retries is not None:
            retry = RetryPolicy(attempts=self.max_retries + 1)
        options = adapter_options(self)

        def build() -> Router:
            targets = {
                name: LangChainTarget(PROVIDER_PREFIX + name, model)
                for name, model in named.items()
                if not isinstance(model, str)
            }
            router = Router.over_targets(
                {name: targets.get(name) for name in named},
                specs=self.specs,
                defaults=lambda name: _profile_fields(named[name]),
                providers=self.providers,
                registry=self.registry,
                retry=retry,
                **options,
            )
            for name, target in targets.items():
                target.sampling = router.registry.get(name).takes_sampling
            return router

        parts = (
            *named.values(),
            *self.providers.values(),
            self.registry,
            self.retry,
            *options.values(),
        )
        values = (
            tuple(named),
            tuple(self.providers),
            json.dumps(self.specs, sort_keys=True, default=repr),
            self.max_retries,
        )
        self._router = shared_router(parts, values, build)
        specs = [self._router.registry.get(n) for n in named]
        self._model_providers = {
            name: spec.provider
            if isinstance(model, str)
            else model._get_ls_params().get("ls_provider")
            for (name, model), spec in zip(named.items(), specs, strict=True)
        }
        self.profile = {
            "max_input_tokens": min(s.context_window for s in specs),
            "max_output_tokens": min(s.max_output_tokens for s in specs),
            "tool_calling": all(s.capabilities.tools for s in specs),
            "image_inputs": all(s.capabilities.vision for s in specs),
            "structured_output": all(s.capabilities.structured_output for s in specs),
        }

    def __repr_args__(self) -> Any:
        """Candidates by name and class only: their own reprs may show API keys."""
        candidates = self.__pydantic_private__ and self.__pydantic_private__.get("_candidates")
        return repr_args_without_candidates(super().__repr_args__(), candidates)

    @property
    def router(self) -> Router:
        """The core router (registry, classifier, policy, strategy) behind this model."""
        return self._router

    @property
    def candidates(self) -> dict[str, BaseChatModel | str]:
        return dict(self._candidates)

    @property
    def _llm_type(self) -> str:
        return "langroute"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "models": list(self._candidates),
            "policy": self._router.policy.name,
            "strategy": self._router.strategy.name,
        }

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """What LangChain records of each call: the base class's result, without its path
        through the deprecated `dict()` under a warnings filter on every call."""
        return {**self._identifying_params, "_type": self._llm_type, "stop": stop, **kwargs}

    def _get_llm_string(self, stop: list[str] | None = None, **kwargs: Any) -> str:
        """LangChain's cache key (`set_llm_cache`, `cache=`): everything that can change the
        answer — each candidate's own key (its model and settings), this model's defaults,
        and its tenant and user, so no answer is shared across tenants."""
        candidates = {
            name: model if isinstance(model, str) else model._get_llm_string()
            for name, model in self._candidates.items()
        }
        defaults = {
            f"default_{name}": getattr(self, name)
            for name in ("temperature", "max_tokens", "stop", "model_kwargs", "tenant", "user")
        }
        hints = self.hints.model_dump(exclude_none=True) if self.hints is not None else None
        params = {
            **self._get_invocation_params(stop=stop, **kwargs),
            **defaults,
            "default_hints": hints,
            "candidates": candidates,
        }
        return str(sorted(params.items()))

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model")
        params = LangSmithParams(
            ls_provider="langroute",
            ls_model_type="chat",
            ls_model_name=model if isinstance(model, str) else "|".join(self._candidates),
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, int | float):
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if isinstance(max_tokens, int):
            params["ls_max_tokens"] = max_tokens
        if stop := stop or self.stop:
            params["ls_stop"] = stop
        return params

    # --- token counting ----------------------------------------------------------

    def _finest_token_factor(self) -> float:
        registry = self._router.registry
        return max(registry.get(name).prompt_token_factor for name in self._candidates)

    def get_num_tokens(self, text: str) -> int:
        """Tokens in `text` as the router counts them (tiktoken's o200k, or its offline
        estimate), scaled to the candidate whose tokenizer cuts text finest
        (`prompt_token_factor`): a count that fits a limit fits every candidate."""
        return math.ceil(count_tokens(text) * self._finest_token_factor())

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """The prompt tokens the router counts for these messages and tools (framing, images
        and tool schemas included), scaled like `get_num_tokens`; `trim_messages` and
        LangChain's memory use it."""
        if not messages and not tools:
            return 0  # trimming strategies ask about empty prefixes
        params = ChatParams(tools=to_tool_specs(list(tools))) if tools else NO_PARAMS
        features = RoutingRequest.build(to_neutral_messages(messages), params).features
        return math.ceil(features.prompt_tokens * self._finest_token_factor())

    def get_token_ids(self, text: str) -> list[int]:
        """`text`'s o200k token ids (tiktoken). Ids need the encoding's files: offline,
        set `TIKTOKEN_CACHE_DIR` to a folder holding them (`get_num_tokens` estimates
        instead)."""
        if not counts_are_exact():
            raise ConfigError(
                "token ids need tiktoken's o200k_base encoding, which could not be loaded; "
                "set TIKTOKEN_CACHE_DIR to a folder with the encoding files, or use "
                "get_num_tokens / get_num_tokens_from_messages, which estimate offline"
            )
        import tiktoken

        return tiktoken.get_encoding(DEFAULT_ENCODING).encode_ordinary(text)

    # --- tools -------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Keep the tools as given: the chosen candidate formats them its own way at call
        time, and routing is restricted to candidates that can call tools."""
        return self.bind(tools=list(tools), tool_choice=tool_choice, **kwargs)

    # --- the call ----------------------------------------------------------------

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        sync: bool = False,
    ) -> RoutingRequest:
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("ls_")}
        kwargs.pop("stream", None)
        hints = CallerHints.parse(kwargs.pop("hints", None) or self.hints)
        tenant = kwargs.pop("tenant", None) or self.tenant
        user = kwargs.pop("user", None) or self.user
        if (forced := kwargs.pop("model", None)) is not None:
            hints = hints.model_copy(update={"model": str(forced)})
        for name in ("temperature", "max_tokens", "timeout", "reasoning_effort"):
            if getattr(self, name) is not None:
                kwargs.setdefault(name, getattr(self, name))
        for name, value in self.model_kwargs.items():
            kwargs.setdefault(name, value)
        hints = hints.with_timeout(kwargs.get("timeout"))
        stop = stop or self.stop
        response_format = kwargs.pop("response_format", None)
        tools = kwargs.pop("tools", None) or None
        tool_kwargs = {
            k: kwargs.pop(k)
            for k in ("tool_choice", "strict", "parallel_tool_calls")
            if k in kwargs
        }
        if tool_kwargs.get("tool_choice") is None:
            tool_kwargs.pop("tool_choice", None)
        max_tokens = kwargs.get("max_tokens") or kwargs.get("max_completion_tokens")
        fields = {
            "tools": to_tool_specs(tools, tool_kwargs.get("strict") if self._native else None)
            if tools
            else None,
            "tool_choice": _tool_choice(tool_kwargs.get("tool_choice")),
            "max_tokens": max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
            "response_format": _neutral_format(response_format),
            "temperature": _number(kwargs.get("temperature")),
            "thinking": kwargs.get("thinking"),  # Claude's only: other APIs refuse it
            "reasoning_effort": kwargs.get("reasoning_effort", kwargs.get("effort")),
        }
        if self._native:
            fields |= _native_fields(kwargs, stop, tool_kwargs)
        elif isinstance(kwargs.get("cache_control"), dict):  # for pricing the cache write
            fields["extra_body"] = {"cache_control": kwargs["cache_control"]}
        set_ = {k: v for k, v in fields.items() if v is not None}
        try:
            params = ChatParams(**set_) if set_ else NO_PARAMS
        except ValidationError as exc:
            raise invalid_input("call parameters", exc) from None
        if response_format is not None:
            kwargs["response_format"] = response_format
        native = LangChainCall(
            messages=list(messages),
            stop=stop,
            tools=tools,
            tool_kwargs=tool_kwargs,
            kwargs=kwargs,
            sync=sync,
            waited_on=self.rate_limiter,
        )
        try:
            neutral = to_neutral_messages(messages, whole=self._native)
        except ValidationError as exc:
            raise invalid_input("messages", exc) from None
        return RoutingRequest.build(
            neutral,
            params,
            hints=hints,
            tenant=tenant,
            user=user,
            native=native,
        )

    def _speaks_anthropic(self, provider_name: str) -> bool:
        """Whether an answer came from langroute's own Anthropic provider (a native Claude
        candidate), whose reasoning LangChain reads as ChatAnthropic's."""
        try:
            return isinstance(self._router.provider(provider_name), AnthropicProvider)
        except ConfigError:  # not a provider of this router's (none to build)
            return False

    def _metadata(self, decision: Decision, provider_name: str) -> dict[str, Any]:
        answered = decision.answered_by or decision.chosen
        model_provider = self._model_providers[answered] or provider_name
        if self._speaks_anthropic(provider_name):
            model_provider = "anthropic"  # LangChain reads Claude's blocks by this name
        return {
            "model_provider": model_provider,
            "langroute": decision.summary(),
        }

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self._run(self._request(messages, stop, kwargs))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return run_sync(self._run(self._request(messages, stop, kwargs, sync=True)))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async with closing(self._run_stream(self._request(messages, stop, kwargs))) as chunks:
            async for chunk in chunks:
                yield chunk

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from iterate_sync(self._run_stream(self._request(messages, stop, kwargs, sync=True)))

    async def _run(self, request: RoutingRequest) -> ChatResult:
        completion = await self._router.execute(request)
        raw = completion.raw
        result: ChatResult = raw if isinstance(raw, ChatResult) else _from_completion(completion)
        message = result.generations[0].message
        assert completion.decision is not None
        message.response_metadata = {
            **message.response_metadata,
            **self._metadata(completion.decision, completion.provider),
        }
        message.response_metadata.setdefault("model_name", completion.provider_model)
        if completion.finish_reason:
            message.response_metadata.setdefault("finish_reason", completion.finish_reason)
        return result

    async def _run_stream(self, request: RoutingRequest) -> AsyncIterator[ChatGenerationChunk]:
        seen: set[str] = set()  # metadata keys already streamed: LangChain concatenates repeats
        native = _NativeChunks()
        chunk: StreamChunk
        async with closing(self._router.execute_stream(request)) as chunks:
            async for chunk in chunks:
                if chunk.raw is not None:
                    seen.update(chunk.raw.message.response_metadata)
                    seen.update(chunk.raw.generation_info or {})
                    yield chunk.raw
                elif chunk.decision is not None:
                    yield self._last_chunk(chunk, chunk.decision, seen)
                elif chunk.has_payload:
                    # a native candidate's chunk, or a core-made one (an ensemble's kept answer)
                    claude = bool(chunk.thinking) and self._speaks_anthropic(chunk.provider)
                    yield native.chunk(chunk, claude)

    def _last_chunk(
        self, chunk: StreamChunk, decision: Decision, seen: set[str]
    ) -> ChatGenerationChunk:
        usage = chunk.usage or Usage()
        answered = decision.answered_by or decision.chosen
        metadata: dict[str, Any] = {
            "model_name": answered,
            **self._metadata(decision, chunk.provider),
        }
        if chunk.finish_reason:
            metadata["finish_reason"] = chunk.finish_reason
        metadata = {k: v for k, v in metadata.items() if k not in seen or k == "langroute"}
        message = AIMessageChunk(
            content="",
            response_metadata=metadata,
            usage_metadata=usage_metadata(usage),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Structured output, routed among the candidates able to give it: `function_calling`
        (tool-capable candidates), `json_schema` (candidates with schema-constrained output)
        or `json_mode` (candidates with JSON mode). Schemas: pydantic, TypedDict, JSON schema.
        """
        if method == "function_calling":
            bound_kwargs = {"strict": strict} if strict is not None else {}
            chain = super().with_structured_output(
                schema, include_raw=include_raw, **bound_kwargs, **kwargs
            )
            if include_raw:
                return chain
            return chain | RunnableGenerator(_called_the_tool, _called_the_tool_async)
        if method not in ("json_schema", "json_mode"):
            raise ValueError(
                f"method={method!r} is not one of 'function_calling', 'json_schema', 'json_mode'"
            )
        if schema is None and method == "json_schema":
            raise ValueError("method='json_schema' needs a schema (pydantic, TypedDict or dict)")
        json_schema = convert_to_json_schema(schema) if schema is not None else None
        if method == "json_schema":
            assert json_schema is not None
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {
                    "name": json_schema.get("title", "response"),
                    "schema": json_schema,
                    **({"strict": strict} if strict is not None else {}),
                },
            }
        else:
            response_format = {"type": "json_object"}
        llm = self.bind(
            response_format=response_format,
            ls_structured_output_format={
                "kwargs": {"method": method, "strict": strict},
                "schema": json_schema,
            },
        )
        parser: Runnable[Any, Any] = (
            PydanticOutputParser(pydantic_object=schema)
            if isinstance(schema, type) and issubclass(schema, BaseModel)
            else JsonOutputParser()
        )
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks(
            [fallback], exception_key="parsing_error"
        )


class _NativeChunks:
    """Native chunks as LangChain streams them: Claude's reasoning as ChatAnthropic does
    (indexed `thinking` blocks, then the text as an indexed block after them, so the
    chunks add up to the blocks Claude needs back), other APIs' reasoning in
    `additional_kwargs["reasoning_content"]`, as ChatDeepSeek does."""

    def __init__(self) -> None:
        self.blocks = 0  # Claude's reasoning blocks so far

    def chunk(self, chunk: StreamChunk, claude: bool) -> ChatGenerationChunk:
        content: str | list[str | dict[str, Any]] = chunk.content
        extra: dict[str, Any] = {}
        if chunk.thinking and not claude:
            extra["reasoning_content"] = "".join(d.thinking for d in chunk.thinking)
        elif chunk.thinking or (self.blocks and chunk.content):
            parts: list[str | dict[str, Any]] = []
            for d in chunk.thinking:
                self.blocks = max(self.blocks, d.index + 1)
                block: dict[str, Any] = (
                    {"type": "redacted_thinking", "data": d.redacted}
                    if d.redacted is not None
                    else {"type": "thinking", "thinking": d.thinking}
                )
                if d.signature is not None:
                    block["signature"] = d.signature
                parts.append(block | {"index": d.index})
            if chunk.content:
                parts.append({"type": "text", "text": chunk.content, "index": self.blocks})
            content = parts
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=content,
                additional_kwargs=extra,
                tool_call_chunks=[
                    {"name": d.name, "args": d.arguments, "id": d.id, "index": d.index}
                    for d in chunk.tool_calls
                ],
            )
        )


def _from_completion(completion: Completion) -> ChatResult:
    """A LangChain result for an answer in neutral form: a native candidate's, or one the
    core's response cache gave (no model call)."""
    usage = completion.usage
    tool_calls, invalid = [], []
    for c in completion.tool_calls:
        try:
            args = json.loads(c.function.arguments or "{}")
        except ValueError as exc:
            invalid.append(
                {
                    "name": c.function.name,
                    "args": c.function.arguments,
                    "id": c.id,
                    "error": str(exc),
                }
            )
            continue
        tool_calls.append({"name": c.function.name, "args": args, "id": c.id})
    metadata: dict[str, Any] = {}
    if completion.logprobs is not None:
        metadata["logprobs"] = {"content": [t.model_dump() for t in completion.logprobs]}
    content: str | list[str | dict[str, Any]] = completion.content or ""
    if blocks := reasoning_blocks(completion.thinking):
        content = [*blocks, *([{"type": "text", "text": content}] if content else [])]
    unsigned = [
        p.thinking for p in completion.thinking if isinstance(p, ThinkingPart) and not p.signature
    ]
    message = AIMessage(
        content=content,
        additional_kwargs={"reasoning_content": "\n".join(unsigned)} if unsigned else {},
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        response_metadata=metadata,
        usage_metadata=usage_metadata(usage),
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


_NEUTRAL_KWARGS = (
    "top_p",
    "seed",
    "logprobs",
    "top_logprobs",
    "prompt_cache_key",
    "prompt_cache_retention",
)
_NOT_FOR_THE_BODY = ("temperature", "max_tokens", "max_completion_tokens", "timeout")
_ROUTED = ("thinking", "reasoning_effort", "effort")
"""Sent to each candidate as it takes them (the router fits them per model)."""


def _native_fields(
    kwargs: dict[str, Any], stop: list[str] | None, tool_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """What a native candidate needs of a call besides what routing reads: the stop
    sequences, the other sampling settings, and any other keyword argument, sent in the
    request body (`extra_body`) rather than dropped."""
    extra = {
        k: v for k, v in kwargs.items() if k not in _NEUTRAL_KWARGS + _NOT_FOR_THE_BODY + _ROUTED
    }
    return {
        "stop": stop or None,
        "parallel_tool_calls": tool_kwargs.get("parallel_tool_calls"),
        **{k: kwargs.get(k) for k in _NEUTRAL_KWARGS},
        "extra_body": extra or None,
    }


NO_TOOL_CALL = (
    "no structured output: the model answered without calling the output tool. A Claude "
    "model that thinks (asked to, or Opus 5.5 and Sonnet 5.5, which always do) cannot be "
    "forced to call it; pass include_raw=True to read its answer, or ask again"
)


def _called_the_tool(parsed: Iterator[Any]) -> Iterator[Any]:
    """Pass the parsed output on, and raise when there was none: LangChain's tool parser
    gives None when the answer has no tool call, which would lose the request silently."""
    seen = False
    for value in parsed:
        if value is not None:
            seen = True
            yield value
    if not seen:
        raise OutputParserException(NO_TOOL_CALL)


async def _called_the_tool_async(parsed: AsyncIterator[Any]) -> AsyncIterator[Any]:
    seen = False
    async for value in parsed:
        if value is not None:
            seen = True
            yield value
    if not seen:
        raise OutputParserException(NO_TOOL_CALL)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
