"""`RoutingLLM`: a LlamaIndex LLM that routes every call to one of its candidate LLMs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import BaseTool, ToolSelection
from llama_index.core.types import PydanticProgramMode
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError

from langroute import Decision, ModelSpec, Registry, Router
from langroute._streams import closing
from langroute._sync import iterate_sync, run_sync
from langroute.errors import ConfigError, invalid_input, refuse_unknown_arguments
from langroute.features import CallerHints, RoutingRequest
from langroute.policy.balance import Balance
from langroute.providers import provider_from_spec
from langroute.retry import RetryPolicy
from langroute.router import adapter_options, named_candidates, repr_args_without_candidates
from langroute.types import (
    NO_PARAMS,
    ChatParams,
    ReasoningEffort,
    add_thinking_deltas,
    add_tool_deltas,
)
from llama_index.llms.langroute._chat_only import CompletionsFromChat, tool_call_messages
from llama_index.llms.langroute._convert import to_neutral_messages, to_tool_specs
from llama_index.llms.langroute._native import (
    NativeLLM,
    assistant_message,
    chat_response,
)
from llama_index.llms.langroute._target import LlamaIndexCall, LlamaIndexTarget, NativeTarget

PROVIDER_PREFIX = "llamaindex:"
TOOLS_KEY = "_langroute_tools"
FORCE_TOOL_KEY = "_langroute_tool_required"
"""Set by the streaming structured calls: the output tool must be called."""


def candidate_name(llm: LLM | str) -> str:
    """The model an LLM calls (`model`, `model_name`, or its metadata's model name); a
    string is a native candidate's own name."""
    if isinstance(llm, str):
        return llm
    for attr in ("model", "model_name"):
        value = getattr(llm, attr, None)
        if isinstance(value, str) and value:
            return value
    name = llm.metadata.model_name
    if name and name != "unknown":
        return name
    raise ConfigError(
        f"cannot tell which model {type(llm).__name__} calls; pass the candidates as a dict: "
        "models={'my-name': llm}"
    )


def _metadata_fields(llm: LLM) -> dict[str, Any]:
    """Registry fields an LLM's own metadata can tell (some LLMs raise for unknown names)."""
    try:
        meta = llm.metadata
    except Exception:
        return {"context_window": 128_000, "max_output_tokens": 4096}
    window = meta.context_window if meta.context_window > 0 else 128_000
    output = meta.num_output if meta.num_output > 0 else 4096
    return {
        "context_window": window,
        "max_output_tokens": min(output, window),
        "capabilities": {"tools": meta.is_function_calling_model},
    }


class RoutingLLM(CompletionsFromChat, FunctionCallingLLM):
    """Routes every LLM call — chat, completion, streaming, each agent step — to the candidate
    langroute's core chooses, with the core's fallback chain.

    ```python
    from llama_index.core import Settings
    from llama_index.llms.openai import OpenAI
    from llama_index.llms.anthropic import Anthropic
    from llama_index.llms.langroute import RoutingLLM

    Settings.llm = RoutingLLM(models=[OpenAI(model="gpt-4.1-mini", max_retries=0),
                                      Anthropic(model="claude-sonnet-4-5", max_retries=0)])
    ```

    Each response says who answered and why in `additional_kwargs["langroute"]`. Candidates
    map to catalog entries by model name; describe others in `specs`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    models: list[LLM | str] | dict[str, LLM | str] = Field(
        description="the candidate LLMs; a model name is a native candidate, called by "
        "langroute's own provider for it"
    )
    specs: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="registry fields per candidate name"
    )
    providers: dict[str, Any] = Field(
        default_factory=dict,
        exclude=True,
        description="native candidates' langroute providers by provider name (default: the "
        "registry's, key from the environment)",
    )
    registry: Any = Field(default=None, exclude=True)
    classifier: Any = Field(default=None, exclude=True)
    policy: Any = Field(default=None, exclude=True)
    strategy: Any = Field(default=None, exclude=True)
    retry: RetryPolicy | None = Field(default=None, exclude=True)
    budgets: Any = Field(default=None, exclude=True, description="langroute.Budgets: USD caps")
    response_cache: Any = Field(
        default=None, exclude=True, description="langroute.ResponseCache, per tenant"
    )
    audit: Any = Field(default=None, exclude=True, description="langroute.AuditLog")
    tenant: str | None = Field(
        default=None, description="default tenant (per call: chat(..., tenant=...))"
    )
    user: str | None = Field(default=None, description="default end user (per call: user=...)")
    hints: CallerHints | None = None
    temperature: float | None = Field(
        default=None, description="sent to whichever candidate answers (unless the call sets it)"
    )
    max_tokens: int | None = Field(
        default=None,
        gt=0,
        description="sent to whichever candidate answers; also bounds routing by context window",
    )
    reasoning_effort: ReasoningEffort | None = Field(
        default=None,
        description=(
            "how hard the answering model reasons (per call: reasoning_effort=...), sent to "
            "each candidate as it takes it: the nearest level it takes, a thinking budget to "
            "a Claude model that takes only that, nothing to a model that does not reason"
        ),
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="other parameters sent with every call to whichever candidate answers",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="seconds one model call may take before the router retries or falls back "
        "(a stream: until its first text or tool call), enforced for every candidate; per call: "
        "timeout=...; a whole-call limit: retry=RetryPolicy(deadline_s=...)",
    )

    health: Any = Field(
        default=None,
        exclude=True,
        description="langroute.InMemoryHealth (or SQLite/Redis): circuit breakers and "
        "cooldowns after a 429's Retry-After, so a failing candidate is skipped",
    )
    limits: Any = Field(
        default=None,
        exclude=True,
        description="langroute.InMemoryRateLimits (or SQLite/Redis): enforces the rpm/tpm "
        "that specs (or the catalog) give a candidate",
    )
    balance: Balance = Field(
        default="order", description="how a native candidate's deployments are ordered"
    )
    hedge_after_ms: float | None = Field(
        default=None,
        gt=0,
        description="call a native candidate's next deployment too after this long",
    )
    shadow: Any = Field(default=None, exclude=True, description="langroute.shadow.ShadowEvaluator")
    feedback: Any = Field(default=None, exclude=True, description="a langroute feedback store")
    cache_aware: Any = Field(
        default=True,
        exclude=True,
        description="price the prompt prefix a candidate's provider holds cached at the "
        "cached price when choosing: True (this process), a warm store workers share "
        "(langroute.state.SQLiteWarmStore, RedisWarmStore), or False (list prices only)",
    )

    _router: Router = PrivateAttr()
    _candidates: dict[str, LLM] = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        # Checked before pydantic sees the arguments: its error would echo them all (a key).
        refuse_unknown_arguments("RoutingLLM", data, type(self).model_fields, "additional_kwargs")
        super().__init__(**data)
        given = named_candidates(self.models, candidate_name, owner="RoutingLLM")
        registry = self.registry.copy() if self.registry is not None else Registry.builtin()
        native = [name for name, llm in given.items() if isinstance(llm, str)]
        for name in native:  # a spec of its own, or the catalog's (an unknown name is named)
            if name in self.specs:
                registry.override(name, self.specs[name], where=f"specs[{name!r}]")
            else:
                registry.get(name)
        targets = self._native_targets(native, registry)
        named = {
            name: self._native_llm(registry.get(name), targets) if name in native else llm
            for name, llm in given.items()
        }
        self._candidates = named
        wrapped = {
            name: LlamaIndexTarget(PROVIDER_PREFIX + name, llm)
            for name, llm in named.items()
            if name not in native
        }
        self._router = Router.over_targets(
            {name: wrapped.get(name) for name in named},
            specs=self.specs,
            registry=registry,
            defaults=lambda name: _metadata_fields(named[name]),
            providers=targets,
            retry=self.retry,
            **adapter_options(self),
        )
        for name, target in wrapped.items():
            target.sampling = self._router.registry.get(name).takes_sampling

    def _native_targets(self, native: list[str], registry: Registry) -> dict[str, NativeTarget]:
        """The providers of the native candidates' deployments (`providers`, else the
        registry's), each wrapped so its calls go through LlamaIndex's instrumentation."""
        names = dict.fromkeys(
            deployment.provider
            for name in native
            for deployment in registry.get(name).all_deployments
        )
        return {
            name: NativeTarget(
                name,
                self.providers.get(name) or provider_from_spec(name, registry.provider(name)),
            )
            for name in names
        }

    @staticmethod
    def _native_llm(spec: ModelSpec, targets: dict[str, NativeTarget]) -> NativeLLM:
        """A native candidate as an LLM (at its first deployment): what `candidates` lists,
        and what parses its answers' tool calls."""
        first = spec.all_deployments[0]
        return NativeLLM(
            targets[first.provider].provider,
            model=first.model_id,
            context_window=spec.context_window,
            num_output=spec.max_output_tokens,
            function_calling=spec.capabilities.tools,
        )

    def __repr_args__(self) -> Any:
        """Candidates by name and class only: their own reprs may show API keys."""
        candidates = self.__pydantic_private__ and self.__pydantic_private__.get("_candidates")
        return repr_args_without_candidates(super().__repr_args__(), candidates)

    @classmethod
    def class_name(cls) -> str:
        return "RoutingLLM"

    @property
    def router(self) -> Router:
        return self._router

    @property
    def candidates(self) -> dict[str, LLM]:
        return dict(self._candidates)

    @property
    def metadata(self) -> LLMMetadata:
        """What every candidate can do: the smallest window and output, function calling only
        when all candidates have it."""
        specs = [self._router.registry.get(n) for n in self._candidates]
        return LLMMetadata(
            context_window=min(s.context_window for s in specs),
            num_output=min(s.max_output_tokens for s in specs),
            is_chat_model=True,
            is_function_calling_model=all(s.capabilities.tools for s in specs),
            model_name="langroute:" + "|".join(self._candidates),
        )

    # --- the call ----------------------------------------------------------------

    def _request(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any], *, sync: bool
    ) -> RoutingRequest:
        kwargs = dict(kwargs)
        tools_call: dict[str, Any] | None = kwargs.pop(TOOLS_KEY, None)
        hints = CallerHints.parse(kwargs.pop("hints", None) or self.hints)
        tenant = kwargs.pop("tenant", None) or self.tenant
        user = kwargs.pop("user", None) or self.user
        if (forced := kwargs.pop("model", None)) is not None:
            # a candidate's name, as `RoutingChatModel` takes it: passed on, it would
            # replace whichever candidate the router chose's own model id
            hints = hints.model_copy(update={"model": str(forced)})
        hints = hints.with_timeout(kwargs.get("timeout", self.timeout))
        for name in ("temperature", "max_tokens", "reasoning_effort"):
            if (value := getattr(self, name)) is not None:
                kwargs.setdefault(name, value)
        for name, value in self.additional_kwargs.items():
            kwargs.setdefault(name, value)
        tools: Sequence[BaseTool] | None = tools_call["tools"] if tools_call else None
        options: dict[str, Any] = tools_call["options"] if tools_call else {}
        fields: dict[str, Any] = {}
        if tools or options.get("tool_required"):
            fields["tools"] = to_tool_specs(tools) if tools else None
            fields["tool_choice"] = "required" if options.get("tool_required") else None
        max_tokens = kwargs.get("max_tokens")
        if isinstance(max_tokens, int) and max_tokens > 0:
            fields["max_tokens"] = max_tokens  # routing keeps room for the answer
        if kwargs.get("thinking") is not None:  # the plan counts the thinking tokens
            fields["thinking"] = kwargs["thinking"]
        if kwargs.get("reasoning_effort") is not None:  # fitted to each candidate
            fields["reasoning_effort"] = kwargs["reasoning_effort"]
        fmt = kwargs.get("response_format")
        if isinstance(fmt, dict) and "type" in fmt:  # routed to candidates that can give it
            fields["response_format"] = fmt
        try:
            params = ChatParams(**fields) if fields else NO_PARAMS
        except ValidationError as exc:
            raise invalid_input("call parameters", exc) from None
        callbacks = self.callback_manager if self.callback_manager.handlers else None
        native = LlamaIndexCall(
            messages=list(messages),
            tools=tools,
            tool_options=options,
            kwargs=kwargs,
            sync=sync,
            callbacks=callbacks,
            rate_limiter=getattr(self, "rate_limiter", None),  # older llama-index-core has none
        )
        return RoutingRequest.build(
            to_neutral_messages(messages),
            params,
            hints=hints,
            tenant=tenant,
            user=user,
            native=native,
        )

    @staticmethod
    def _tag(response: ChatResponse, decision: Decision) -> ChatResponse:
        response.additional_kwargs = {
            **response.additional_kwargs,
            "langroute": decision.summary(),
        }
        return response

    async def _run(self, request: RoutingRequest) -> ChatResponse:
        completion = await self._router.execute(request)
        assert completion.decision is not None
        if completion.raw is None:  # from the response cache: no model call
            return self._tag(chat_response(completion), completion.decision)
        return self._tag(completion.raw, completion.decision)

    async def _run_stream(self, request: RoutingRequest) -> AsyncGenerator[ChatResponse, None]:
        last: ChatResponse | None = None
        text = ""
        calls: dict[int, dict[str, str]] = {}
        thoughts: dict[int, dict[str, str]] = {}
        async with closing(self._router.execute_stream(request)) as chunks:
            async for chunk in chunks:
                if chunk.raw is None and chunk.has_payload:
                    # a core-made chunk (an ensemble's kept answer, a cached one): no native object
                    text += chunk.content
                    add_tool_deltas(calls, chunk.tool_calls)
                    add_thinking_deltas(thoughts, chunk.thinking)
                    last = ChatResponse(
                        message=assistant_message(
                            text, list(calls.values()), list(thoughts.values())
                        ),
                        delta=chunk.content,
                        additional_kwargs={"langroute": {"answered_by": chunk.model}},
                    )
                    yield last
                elif chunk.raw is not None:
                    last = chunk.raw
                    # who is answering, so each chunk's tool calls parse with that candidate
                    last.additional_kwargs = {
                        **last.additional_kwargs,
                        "langroute": {"answered_by": chunk.model},
                    }
                    yield last
                elif chunk.decision is not None:
                    final = (
                        last.model_copy(update={"delta": ""})
                        if last is not None
                        else ChatResponse(
                            message=ChatMessage(role="assistant", content=""), delta=""
                        )
                    )
                    yield self._tag(final, chunk.decision)

    # Not decorated with llm_chat_callback: the chosen candidate's own methods emit the
    # instrumentation events, exactly once per model call (run-llama/llama_index#8996); this
    # LLM's legacy callback handlers get one LLM event per model call from the target.

    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return run_sync(self._run(self._request(messages, kwargs, sync=True)))

    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._run(self._request(messages, kwargs, sync=False))

    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        request = self._request(messages, kwargs, sync=True)

        def gen() -> Generator[ChatResponse, None, None]:
            yield from iterate_sync(self._run_stream(request))

        return gen()

    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._run_stream(self._request(messages, kwargs, sync=False))

    # --- tools -------------------------------------------------------------------

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
        """Keep the tools as given: the chosen candidate formats them its own way at call
        time, and routing is restricted to candidates that can call tools."""
        if kwargs.pop(FORCE_TOOL_KEY, False):
            tool_required = True
            if kwargs.get("tool_choice") is None:  # None would override each LLM's own choice
                kwargs.pop("tool_choice", None)
        messages = tool_call_messages(user_msg, chat_history)
        options = {
            "allow_parallel_tool_calls": allow_parallel_tool_calls,
            "tool_required": tool_required,
            "verbose": verbose,
        }
        return {
            "messages": messages,
            TOOLS_KEY: {"tools": list(tools), "options": options},
            **kwargs,
        }

    # --- structured output -------------------------------------------------------

    def _structured_stream_call(
        self,
        output_cls: Any,
        prompt: Any,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """`stream_structured_predict` calls the output tool, as `structured_predict` does:
        LlamaIndex's streaming program leaves the tool choice to the model (`auto`), so a
        candidate could answer in prose and the stream would never yield the object."""
        kwargs = self._forcing_the_tool(llm_kwargs)
        return super()._structured_stream_call(output_cls, prompt, kwargs, **prompt_args)

    async def _structured_astream_call(
        self,
        output_cls: Any,
        prompt: Any,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Any:
        """`astream_structured_predict` calls the output tool (see `_structured_stream_call`)."""
        kwargs = self._forcing_the_tool(llm_kwargs)
        return await super()._structured_astream_call(output_cls, prompt, kwargs, **prompt_args)

    def _forcing_the_tool(self, llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return dict(llm_kwargs or {})  # a text-completion program: no tool to force
        return {**(llm_kwargs or {}), FORCE_TOOL_KEY: True}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Delegated to the candidate that produced `response` (its own tool-call format)."""
        info = response.additional_kwargs.get("langroute") or {}
        name = info.get("answered_by") or info.get("chosen")
        llm = self._candidates.get(name) if name else None
        if not isinstance(llm, FunctionCallingLLM):
            if error_on_no_tool_call:
                raise ValueError(
                    "this response was not produced by a function-calling candidate of this "
                    f"RoutingLLM (answered_by={name!r})"
                )
            return []
        return llm.get_tool_calls_from_response(
            response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
        )
