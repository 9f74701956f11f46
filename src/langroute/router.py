"""`Router`: classifier + policy + strategy + providers, planned once and run per call."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError

from langroute._fast import construct
from langroute._sync import iterate_sync, run_sync
from langroute.audit import AuditLog, audit_from_env, build_record
from langroute.budget import Budgets, Reservation, key_fingerprint
from langroute.cache import ResponseCache
from langroute.classify import Classifier, RuleClassifier, TaskProfile
from langroute.compress import PromptCompressor
from langroute.decision import Attempt, Decision
from langroute.errors import (
    AllModelsFailed,
    BadRequest,
    BudgetExceeded,
    CircuitOpen,
    ConfigError,
    ContextTooLong,
    LangrouteError,
    LimitExhausted,
    NoCandidateError,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    UnknownModelError,
)
from langroute.features import CallerHints, RequestFeatures, RoutingRequest
from langroute.feedback import FeedbackLog, FeedbackRecord
from langroute.policy import CostOptimized, PlanContext, Policy, eligible
from langroute.policy.balance import BALANCERS, Balance
from langroute.policy.budget import budget_aware
from langroute.providers import Provider, provider_from_spec
from langroute.registry import Deployment, ModelSpec, Registry
from langroute.retry import RetryPolicy
from langroute.shadow import ShadowEvaluator
from langroute.state.health import HealthStore
from langroute.state.ratelimit import RateLimitStore
from langroute.strategies import FallbackChain, Strategy
from langroute.tokens import count_tokens
from langroute.types import ChatParams, Completion, Message, StreamChunk, ToolSpec, Usage
from langroute.versions import Versions

if TYPE_CHECKING:
    from langroute.config import RouterConfig

MessagesInput = Sequence[Message | Mapping[str, Any]] | str
T = TypeVar("T")
logger = logging.getLogger(__name__)


class Router:
    """Decides which model answers each call, and runs that decision.

    `route(...)` is a pure dry run returning the `Decision`; `achat`/`chat` return a
    `Completion` and `astream`/`stream` yield `StreamChunk`s, all through the same plan and
    the same strategy. Defaults: the built-in catalog, the rule-based classifier, the
    cost-optimized policy and a fallback chain.
    """

    def __init__(
        self,
        models: Sequence[str | ModelSpec] | None = None,
        *,
        registry: Registry | None = None,
        providers: Mapping[str, Provider] | None = None,
        classifier: Classifier | None = None,
        policy: Policy | None = None,
        strategy: Strategy | None = None,
        retry: RetryPolicy | None = None,
        health: HealthStore | None = None,
        limits: RateLimitStore | None = None,
        balance: Balance = "order",
        hedge_after_ms: float | None = None,
        budgets: Budgets | None = None,
        cache: ResponseCache | None = None,
        audit: AuditLog | None = None,
        versions: Versions | None = None,
        shadow: ShadowEvaluator | None = None,
        feedback: FeedbackLog | None = None,
        compressor: PromptCompressor | None = None,
    ) -> None:
        self.registry = registry.copy() if registry is not None else Registry.builtin()
        names: list[str] = []
        for model in models if models is not None else self.registry.names:
            if isinstance(model, ModelSpec):
                self.registry.register(model)
                names.append(model.name)
            else:
                names.append(model)
        if not names:
            raise ConfigError("models is empty: give the router at least one model name")
        self._specs = self.registry.select(names)
        self.classifier: Classifier = classifier or RuleClassifier()
        self.policy: Policy = policy or CostOptimized()
        self.strategy: Strategy = strategy or FallbackChain()
        self.retry = retry or RetryPolicy()
        self.health = health
        """Deployment health and circuit breakers (None: every deployment is always tried)."""
        self.limits = limits
        """rpm/tpm buckets for deployments that declare limits (None: limits not enforced)."""
        self.budgets = budgets
        """USD caps enforced by reserve-then-settle (None: no budget)."""
        self.cache = cache
        """Exact/semantic response cache, per tenant (None: every call goes to a model)."""
        self.compressor = compressor
        """Shortens prompts before routing (native providers only; None: sent as given)."""
        self.shadow = shadow
        """Sampled calls re-run on a reference model off the response path, judged, and
        tracked per route with a regression alert (None: no shadow evaluation)."""
        self.feedback_log = feedback or FeedbackLog()
        """Where `feedback(request_id, score)` ratings go (in memory unless given a store)."""
        self.versions = versions
        """Pinned versions and staged rollouts per model (None: each deployment's model id)."""
        self.audit = audit if audit is not None else audit_from_env()
        """One record per routed call to the audit sinks (None: no audit trail, unless
        `$LANGROUTE_AUDIT_DIR` names a directory for JSONL records)."""
        if balance not in BALANCERS:
            raise ConfigError(f"balance {balance!r} is unknown; choose one of {sorted(BALANCERS)}")
        self.balance: Balance = balance
        if hedge_after_ms is not None and hedge_after_ms <= 0:
            raise ConfigError(f"hedge_after_ms must be positive, got {hedge_after_ms}")
        self.hedge_after_ms = hedge_after_ms
        """Non-streaming: call a model's next deployment too when the first has not answered
        after this many ms; the first answer wins (None: no hedging)."""
        """How a model's deployments are ordered: order, cheapest, latency, least_in_flight,
        weighted (latency and least_in_flight need `health`)."""
        self._scope = ",".join(sorted(s.name for s in self._specs))
        self._premium = max(self._specs, key=lambda s: s.expected_cost(1000, 500))
        self._providers: dict[str, Provider] = dict(providers or {})
        for spec in self._specs:
            for dep in spec.all_deployments:
                if (
                    dep.provider not in self._providers
                    and dep.provider not in self.registry.providers
                ):
                    raise ConfigError(
                        f"model {spec.name!r} is served by provider {dep.provider!r}, which is "
                        f"neither passed in providers= nor in the registry's providers "
                        f"({', '.join(sorted(self.registry.providers))})"
                    )

    @classmethod
    def from_config(cls, config: RouterConfig | str | Path | Mapping[str, Any]) -> Router:
        """A router from a `RouterConfig`, a TOML/YAML file path, or the same as a dict."""
        from langroute.config import RouterConfig

        if isinstance(config, str | Path):
            config = RouterConfig.from_file(config)
        elif not isinstance(config, RouterConfig):
            config = RouterConfig.from_data(config)
        return config.build()

    @classmethod
    def over_targets(
        cls,
        targets: Mapping[str, Provider],
        *,
        specs: Mapping[str, Mapping[str, Any]] | None = None,
        registry: Registry | None = None,
        defaults: Callable[[str], Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Router:
        """A router whose candidates are given as call targets — e.g. framework models
        wrapped by an adapter — each named by the model it calls.

        A name in the catalog (by name or pinned version) takes that entry, with `specs[name]`
        overriding fields; any other name needs `specs[name]` with at least `pricing`;
        `defaults(name)` fills fields neither gives (e.g. from the framework's metadata).
        """
        registry = registry.copy() if registry is not None else Registry.builtin()
        providers: dict[str, Provider] = {}
        for name, target in targets.items():
            fields: dict[str, Any] = dict((specs or {}).get(name, {}))
            if name not in registry:
                match = next((s for s in registry if s.version == name), None)
                if match is None and "pricing" not in fields:
                    raise ConfigError(
                        f"candidate {name!r} is not in the model catalog; describe it in "
                        f"specs={{{name!r}: {{'pricing': {{'input': ..., 'output': ...}}, "
                        "'context_window': ..., 'max_output_tokens': ...}}}}"
                    )
                if match is not None:
                    inherited = match.model_dump(
                        exclude={"name", "deployments"}, exclude_unset=True
                    )
                    fields = {**inherited, **fields}
                for key, value in (defaults(name) if defaults else {}).items():
                    fields.setdefault(key, value)
                fields.setdefault("context_window", 128_000)
                fields.setdefault("max_output_tokens", min(4096, fields["context_window"]))
            fields.update(
                provider=target.name, deployments=[{"provider": target.name, "model_id": name}]
            )
            registry.override(name, fields, where=f"specs[{name!r}]")
            providers[target.name] = target
        return cls(list(targets), registry=registry, providers=providers, **kwargs)

    @property
    def models(self) -> list[str]:
        return [s.name for s in self._specs]

    def provider(self, name: str) -> Provider:
        """The provider client called `name`, built from the registry on first use."""
        provider = self._providers.get(name)
        if provider is None:
            provider = provider_from_spec(name, self.registry.provider(name))
            self._providers[name] = provider
        return provider

    # --- planning ----------------------------------------------------------------

    def request(
        self,
        messages: MessagesInput,
        *,
        tools: Sequence[ToolSpec | Mapping[str, Any]] | None = None,
        hints: CallerHints | Mapping[str, Any] | None = None,
        tenant: str | None = None,
        user: str | None = None,
        api_key: str | None = None,
        tags: Sequence[str] = (),
        request_id: str | None = None,
        native: Any = None,
        **params: Any,
    ) -> RoutingRequest:
        """Validate a call's inputs into a `RoutingRequest` (features computed once)."""
        try:
            chat_params = ChatParams(tools=list(tools) if tools else None, **params)
        except ValidationError as exc:
            known = ", ".join(sorted(ChatParams.model_fields))
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: "
                + ("unknown parameter" if e["type"] == "extra_forbidden" else e["msg"])
                for e in exc.errors()
            )
            raise ConfigError(f"invalid call parameters: {problems}. Known: {known}") from None
        return RoutingRequest.build(
            messages,
            chat_params,
            hints=hints,
            tenant=tenant,
            user=user,
            api_key_id=key_fingerprint(api_key) if api_key else None,
            tags=tags,
            request_id=request_id,
            native=native,
        )

    def plan(self, request: RoutingRequest) -> Decision:
        """Classify and rank for `request`, without calling any model (an LLM classifier,
        if configured, is the one exception)."""
        self._check_forced(request.features)
        return self._decide(request, self.classifier.classify(request.features))

    async def aplan(self, request: RoutingRequest) -> Decision:
        """`plan` on the event loop: awaits a classifier that does I/O (`aclassify`)."""
        self._check_forced(request.features)
        aclassify = getattr(self.classifier, "aclassify", None)
        if aclassify is None:
            return self._decide(request, self.classifier.classify(request.features))
        return self._decide(request, await aclassify(request.features))

    def _check_forced(self, features: RequestFeatures) -> None:
        forced = features.hints.model
        if forced is not None and forced not in self.models:
            if forced not in self.registry:
                raise UnknownModelError(forced, self.registry.names)
            raise ConfigError(
                f"hints.model {forced!r} is not one of this router's models: {self.models}"
            )

    def _decide(self, request: RoutingRequest, profile: TaskProfile) -> Decision:
        features = request.features
        estimates, rejected = eligible(self._specs, features, profile)
        if not estimates:
            raise NoCandidateError("no model can serve this request", rejected)
        plan = self.policy.rank(PlanContext(features, profile, estimates, rejected))
        if not plan.candidates:
            raise NoCandidateError(f"policy {plan.policy!r} left no candidate", rejected)
        return construct(
            Decision,
            request_id=request.request_id,
            created_at=time.time(),
            features=features,
            profile=profile,
            plan=plan,
            strategy=self.strategy.name,
            attempts=[],
            escalations=[],
            budgets=[],
            cache=None,
            compression=None,
            arm=None,
            answered_by=None,
            estimated_cost_usd=plan.candidates[0].expected_cost_usd,
        )

    def route(self, messages: MessagesInput, **kwargs: Any) -> Decision:
        """Dry run: the decision the router would take for this call. No I/O."""
        return self.plan(self.request(messages, **kwargs))

    # --- execution ---------------------------------------------------------------

    async def achat(self, messages: MessagesInput, **kwargs: Any) -> Completion:
        """Route and run one chat call; the `Completion` carries its `Decision`."""
        return await self.execute(self.request(messages, **kwargs))

    async def astream(self, messages: MessagesInput, **kwargs: Any) -> AsyncIterator[StreamChunk]:
        """Route and stream one chat call; the last chunk carries usage, cost and decision."""
        async for chunk in self.execute_stream(self.request(messages, **kwargs)):
            yield chunk

    def _compressed(self, request: RoutingRequest) -> tuple[RoutingRequest, dict[str, int] | None]:
        """The request with its prompt compressed, and the tokens before and after."""
        if self.compressor is None or request.native is not None:
            return request, None
        messages = self.compressor.compress(request.messages)
        if list(messages) == list(request.messages):
            return request, None
        f = request.features
        shorter = RoutingRequest.build(
            messages,
            request.params,
            hints=f.hints,
            tenant=f.tenant,
            user=f.user,
            api_key_id=f.api_key_id,
            tags=f.tags,
            request_id=request.request_id,
        )
        before, after = f.prompt_tokens, shorter.features.prompt_tokens
        return shorter, {"before": before, "after": after, "saved": before - after}

    async def _plan_for_run(self, request: RoutingRequest) -> Decision:
        """The plan, re-ranked for budgets near their cap (their state is in the decision)."""
        decision = await self.aplan(request)
        budgets = self.budgets
        if budgets is not None and budgets.budgets:
            states = await _ask(budgets, budgets.states, request.features, decision.plan.models)
            decision.budgets = states
            decision.plan = budget_aware(decision.plan, states)
        return decision

    async def execute(self, request: RoutingRequest, *, arm: str | None = None) -> Completion:
        """Plan and run a prebuilt request (adapters build their own `RoutingRequest`);
        `arm` names the A/B arm serving it, for the decision and the audit record."""
        started = time.perf_counter()
        request, compression = self._compressed(request)
        planning = self.aplan(request) if self.budgets is None else self._plan_for_run(request)
        decision = await planning
        if arm is not None or compression is not None:
            decision.arm, decision.compression = arm, compression
        hit = await self._from_cache(request, decision) if self.cache is not None else None
        if hit is not None:
            self._record(decision, started, "ok", usage=hit.usage)
            self._after(request, decision, hit)
            return hit
        try:
            result = await self.strategy.run(decision.plan, _Runner(self, request, decision))
        except LangrouteError as exc:
            error = _with_decision(exc, decision)
            self._record(decision, started, "error", error=error)
            if error is exc:
                raise
            raise error from exc
        except BaseException:
            self._record(decision, started, "abandoned")
            raise
        if self.cache is not None:
            self._to_cache(request, result)
        if self.audit is not None:
            self._record(decision, started, "ok", usage=result.usage)
        self._after(request, decision, result)
        return result

    async def execute_stream(
        self, request: RoutingRequest, *, arm: str | None = None
    ) -> AsyncIterator[StreamChunk]:
        """Plan and stream a prebuilt request."""
        started = time.perf_counter()
        request, compression = self._compressed(request)
        planning = self.aplan(request) if self.budgets is None else self._plan_for_run(request)
        decision = await planning
        if arm is not None or compression is not None:
            decision.arm, decision.compression = arm, compression
        hit = await self._from_cache(request, decision) if self.cache is not None else None
        if hit is not None:
            self._record(decision, started, "ok", usage=hit.usage)
            self._after(request, decision, hit)
            for chunk in _replayed(hit):
                yield chunk
            return
        recorded = False
        text: list[str] = []
        tools = False
        try:
            async for chunk in self.strategy.stream(
                decision.plan, _Runner(self, request, decision)
            ):
                if chunk.decision is not None:  # the last chunk: the answer is complete
                    answer = None
                    if self.cache is not None or self.shadow is not None:
                        answer = _assembled(chunk, "".join(text))
                        if not tools:
                            self._to_cache(request, answer)
                    self._record(decision, started, "ok", usage=chunk.usage)
                    self._after(request, decision, answer)
                    recorded = True
                else:
                    text.append(chunk.content)
                    tools = tools or bool(chunk.tool_calls)
                yield chunk
        except LangrouteError as exc:
            error = _with_decision(exc, decision)
            self._record(decision, started, "error", error=error)
            recorded = True
            if error is exc:
                raise
            raise error from exc
        finally:
            if not recorded:
                self._record(decision, started, "abandoned")

    def _after(
        self, request: RoutingRequest, decision: Decision, answer: Completion | None
    ) -> None:
        """After an answer: remember its route for feedback, maybe start a shadow run."""
        shadow = self.shadow
        if shadow is None or answer is None:
            self.feedback_log.remember(decision)
            return
        self.feedback_log.remember(decision, shadow.route(decision))
        shadow.submit(request, answer, decision)

    def feedback(
        self, request_id: str, score: float, *, comment: str | None = None
    ) -> FeedbackRecord:
        """Store a user's rating (0 bad … 1 good) of the answer to `request_id`, with the
        model and route that produced it when this router still remembers the call."""
        return self.feedback_log.add(request_id, score, comment=comment)

    async def _from_cache(self, request: RoutingRequest, decision: Decision) -> Completion | None:
        cache = self.cache
        if cache is None:
            return None
        found = await _ask(cache, cache.lookup, request, self._scope)
        if found is None:
            return None
        completion, kind = found
        usage = completion.usage
        completion.usage = Usage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.prompt_tokens,
        )
        completion.cost_usd = 0.0
        decision.cache = kind
        decision.answered_by = completion.model
        completion.decision = decision
        return completion

    def _to_cache(self, request: RoutingRequest, completion: Completion) -> None:
        cache = self.cache
        if cache is not None and cache.cacheable(request):
            _tell(cache, cache.save, request, self._scope, completion)

    def _record(
        self,
        decision: Decision,
        started: float,
        outcome: Literal["ok", "error", "abandoned"],
        *,
        error: BaseException | None = None,
        usage: Usage | None = None,
    ) -> None:
        """Queue the call's audit record (built and written on the audit thread)."""
        audit = self.audit
        if audit is None:
            return
        latency_ms = (time.perf_counter() - started) * 1000
        audit.submit(
            functools.partial(
                build_record,
                decision,
                registry=self.registry,
                premium=self._premium,
                include_prompt=audit.include_prompts,
                latency_ms=latency_ms,
                outcome=outcome,
                error=error,
                cache=decision.cache,
                usage=usage,
            )
        )

    def chat(self, messages: MessagesInput, **kwargs: Any) -> Completion:
        """Sync `achat` (runs on langroute's background event loop)."""
        return run_sync(self.achat(messages, **kwargs))

    def stream(self, messages: MessagesInput, **kwargs: Any) -> Iterator[StreamChunk]:
        """Sync `astream`."""
        return iterate_sync(self.astream(messages, **kwargs))

    async def drain(self) -> None:
        """Wait for the updates that run off the response path: budget settlements, cache
        writes and audit records (e.g. before a process exits)."""
        loop = asyncio.get_running_loop()
        mine = [f for f in list(_PENDING) if f.get_loop() is loop]
        await asyncio.gather(*mine, return_exceptions=True)
        if self.shadow is not None:
            await self.shadow.drain()
        if self.audit is not None:
            await asyncio.to_thread(self.audit.flush)

    async def aclose(self) -> None:
        """Finish pending updates (`drain`), then close the providers' HTTP clients."""
        await self.drain()
        await asyncio.gather(*(p.aclose() for p in self._providers.values()))


def _with_decision(exc: LangrouteError, decision: Decision) -> LangrouteError:
    """The error to raise, carrying every attempt: a `BudgetExceeded` when budgets refused
    every model, else the error itself."""
    error: LangrouteError = exc
    if isinstance(exc, AllModelsFailed):
        refused = [e for e in exc.exceptions if isinstance(e, BudgetExceeded)]
        if refused and len(refused) == len(exc.exceptions):
            error = refused[0]
    error.decision = decision  # type: ignore[attr-defined]
    return error


def _replayed(hit: Completion) -> Iterator[StreamChunk]:
    """A cached answer as a stream: its text (and tool calls), then the closing chunk."""
    common = {"model": hit.model, "provider": hit.provider, "logprobs": None, "raw": None}
    yield construct(
        StreamChunk,
        content=hit.content or "",
        tool_calls=hit.tool_calls,
        finish_reason=None,
        usage=None,
        cost_usd=None,
        decision=None,
        **common,
    )
    yield construct(
        StreamChunk,
        content="",
        tool_calls=[],
        finish_reason=hit.finish_reason,
        usage=hit.usage,
        cost_usd=0.0,
        decision=hit.decision,
        **common,
    )


def _assembled(last: StreamChunk, text: str) -> Completion:
    """A streamed answer as one completion, to cache it."""
    return Completion(
        id=last.decision.request_id if last.decision is not None else "stream",
        model=last.model,
        provider=last.provider,
        provider_model=last.model,
        content=text,
        finish_reason=last.finish_reason,
        usage=last.usage or Usage(),
        cost_usd=last.cost_usd or 0.0,
    )


def _key(spec: ModelSpec, dep: Deployment) -> str:
    return f"{spec.name}@{dep.provider}/{dep.model_id}"


def _blocking(store: object) -> bool:
    """Whether a state store does I/O (SQLite, Redis) rather than keep state in memory."""
    return bool(getattr(store, "blocking", False))


async def _ask(store: object, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A state query: direct for in-memory stores, in a worker thread for stores that do
    I/O, so the event loop never waits on SQLite or Redis."""
    if _blocking(store):
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def _tell(store: object, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """A state update nobody waits for: direct in memory, in a worker thread otherwise."""
    if not _blocking(store):
        fn(*args, **kwargs)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a stream finalised outside its loop
        fn(*args, **kwargs)
        return
    future = loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
    _PENDING.add(future)
    future.add_done_callback(_report_state_error)


_PENDING: set[asyncio.Future[Any]] = set()
"""State updates still running in the executor (budget settlements, cache writes)."""


def _report_state_error(future: asyncio.Future[Any]) -> None:
    _PENDING.discard(future)
    if not future.cancelled() and future.exception() is not None:
        logger.warning("a state update failed: %s", future.exception())


class _Runner:
    """Runs one model for one request: its deployments in order, retries, attempt records."""

    def __init__(self, router: Router, request: RoutingRequest, decision: Decision) -> None:
        self._router = router
        self._request = request
        self._decision = decision
        self._reserved: dict[str, int] = {}
        self._holds: dict[str, Reservation] = {}
        self._limited = False

    @property
    def request(self) -> RoutingRequest:
        return self._request

    @property
    def decision(self) -> Decision:
        return self._decision

    def spec(self, model: str) -> ModelSpec:
        return self._router.registry.get(model)

    async def _deployments(self, spec: ModelSpec) -> Sequence[Deployment]:
        """The deployments to try now: all of them, or those whose breaker lets them through."""
        router = self._router
        health = router.health
        deployments = spec.all_deployments
        versions = router.versions
        if versions is not None and spec.name in versions:
            req = self._request
            deployments = tuple(
                d.model_copy(
                    update={
                        "model_id": versions.resolve(
                            spec.name, d.provider, d.model_id, req.features, req.request_id
                        )
                    }
                )
                for d in deployments
            )
        if health is not None:
            keys = {_key(spec, d): d for d in deployments}
            allowed = await _ask(health, health.allowed, spec.name, list(keys))
            if not allowed:
                raise self._circuit_open(spec)
            deployments = tuple(keys[k] for k in allowed)
        if router.balance == "order" or len(deployments) < 2:
            return deployments
        return await _ask(health, BALANCERS[router.balance], spec, deployments, health)

    def _circuit_open(self, spec: ModelSpec) -> CircuitOpen | LimitExhausted:
        """The error (and its attempt record) when no deployment of `spec` may be called."""
        providers = ",".join(d.provider for d in spec.all_deployments)
        error: CircuitOpen | LimitExhausted
        if self._limited:
            self._limited = False
            error = LimitExhausted(
                "no deployment has rpm/tpm budget left right now",
                model=spec.name,
                provider=providers,
            )
        else:
            error = CircuitOpen(
                "every deployment is ejected by its circuit breaker or cooling down",
                model=spec.name,
                provider=providers,
            )
        self._decision.attempts.append(
            construct(
                Attempt,
                model=spec.name,
                provider=error.provider,
                provider_model=spec.all_deployments[0].model_id,
                outcome="error",
                latency_ms=0.0,
                error_type=type(error).__name__,
                error=error.message,
                status=None,
                usage=None,
                cost_usd=0.0,
            )
        )
        return error

    async def _claim(self, spec: ModelSpec, dep: Deployment) -> bool:
        """Take this deployment for one call: the worst-case cost on the budgets (raises
        `BudgetExceeded`), its breaker's leave, then its rate budget."""
        router, key = self._router, _key(spec, dep)
        if router.budgets is not None:
            await self._hold(spec, dep)
        health = router.health
        if health is not None and not await _ask(health, health.started, key):
            self._release(key)
            return False
        limits = router.limits
        if limits is None:
            return True
        rpm, tpm = dep.rpm or spec.rpm, dep.tpm or spec.tpm
        if rpm or tpm:
            estimate = self._token_estimate(spec)
            if not await _ask(limits, limits.try_acquire, key, rpm=rpm, tpm=tpm, tokens=estimate):
                self._limited = True
                self._release(key)
                if health is not None:
                    _tell(health, health.abandoned, key)
                return False
            self._reserved[key] = estimate
        return True

    async def _hold(self, spec: ModelSpec, dep: Deployment) -> None:
        budgets = self._router.budgets
        if budgets is None:
            return
        pricing = dep.pricing or spec.pricing
        try:
            hold = await _ask(budgets, budgets.reserve, self._request.features, spec, pricing)
        except BudgetExceeded as exc:
            self._decision.attempts.append(
                construct(
                    Attempt,
                    model=spec.name,
                    provider=dep.provider,
                    provider_model=dep.model_id,
                    outcome="error",
                    latency_ms=0.0,
                    error_type="BudgetExceeded",
                    error=exc.message,
                    status=None,
                    usage=None,
                    cost_usd=0.0,
                )
            )
            raise
        self._holds[_key(spec, dep)] = hold

    def _release(self, key: str, cost_usd: float = 0.0) -> None:
        """Settle this call's budget hold to its real cost (0: release it), exactly once."""
        hold = self._holds.pop(key, None)
        budgets = self._router.budgets
        if hold is not None and budgets is not None:
            _tell(budgets, budgets.settle, hold, cost_usd)

    def _token_estimate(self, spec: ModelSpec) -> int:
        features = self._request.features
        answer = features.max_output_tokens or features.hints.expected_output_tokens or 500
        return features.prompt_tokens + min(answer, spec.max_output_tokens)

    def _settle(self, spec: ModelSpec, dep: Deployment, usage: Usage | None) -> None:
        key = _key(spec, dep)
        reserved = self._reserved.pop(key, None)
        if reserved is None or self._router.limits is None:
            return
        used = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
        limits = self._router.limits
        _tell(limits, limits.settle, key, tpm=dep.tpm or spec.tpm, delta_tokens=used - reserved)

    def _record(
        self,
        spec: ModelSpec,
        dep: Deployment,
        started: float,
        *,
        error: ProviderError | None = None,
        usage: Usage | None = None,
        interrupted: bool = False,
    ) -> float:
        cost = (
            (dep.pricing or spec.pricing).cost(
                usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens
            )
            if usage is not None
            else 0.0
        )
        self._decision.attempts.append(
            construct(
                Attempt,
                model=spec.name,
                provider=dep.provider,
                provider_model=dep.model_id,
                outcome="ok" if error is None else ("interrupted" if interrupted else "error"),
                latency_ms=(time.perf_counter() - started) * 1000,
                error_type=type(error).__name__ if error is not None else None,
                error=error.message if error is not None else None,
                status=error.status if error is not None else None,
                usage=usage,
                cost_usd=cost,
            )
        )
        if error is None:
            self._decision.answered_by = spec.name
        self._settle(spec, dep, usage)
        if self._holds:
            self._release(_key(spec, dep), cost)
        health = self._router.health
        if health is not None:
            key = _key(spec, dep)
            if error is None:
                _tell(health, health.succeeded, key, (time.perf_counter() - started) * 1000)
            else:
                retry_after = error.retry_after if isinstance(error, RateLimited) else None
                _tell(health, health.failed, spec.name, key, retry_after_s=retry_after)
        return cost

    def _record_aborted(
        self, spec: ModelSpec, dep: Deployment, started: float, text: str, usage: Usage | None
    ) -> None:
        if usage is None:
            usage = Usage(
                prompt_tokens=self._request.features.prompt_tokens,
                completion_tokens=count_tokens(text),
            )
        cost = (dep.pricing or spec.pricing).cost(usage.prompt_tokens, usage.completion_tokens)
        self._settle(spec, dep, usage)
        if self._holds:
            self._release(_key(spec, dep), cost)
        health = self._router.health
        if health is not None:
            _tell(health, health.abandoned, _key(spec, dep))
        self._decision.attempts.append(
            construct(
                Attempt,
                model=spec.name,
                provider=dep.provider,
                provider_model=dep.model_id,
                outcome="aborted",
                latency_ms=(time.perf_counter() - started) * 1000,
                error_type=None,
                error="stopped early (look-ahead window or deadline); usage estimated",
                status=None,
                usage=usage,
                cost_usd=cost,
            )
        )

    async def _after_failure(self, error: ProviderError, spec: ModelSpec, attempt: int) -> bool:
        """Wait and return True to retry the same deployment; False to move on."""
        error.model = spec.name
        if isinstance(error, BadRequest | ContextTooLong):
            raise error  # another deployment of the same model will not help
        delay = self._router.retry.delay(error, attempt)
        if delay is None:
            return False
        await asyncio.sleep(delay)
        return True

    async def complete(self, model: str) -> Completion:
        self._limited = False
        spec = self.spec(model)
        deployments = list(await self._deployments(spec))
        hedge = self._router.hedge_after_ms
        if hedge is not None and len(deployments) >= 2:
            return await self._hedged(spec, deployments, hedge / 1000)
        last: ProviderError | None = None
        for dep in deployments:
            attempt = 0
            while True:
                attempt += 1
                if not await self._claim(spec, dep):
                    break  # its half-open probe is out on another call
                try:
                    return await self._attempt(spec, dep)
                except ProviderError as exc:
                    last = exc
                    if await self._after_failure(exc, spec, attempt):
                        continue
                    break
        if last is None:
            raise self._circuit_open(spec)
        raise last

    async def _attempt(self, spec: ModelSpec, dep: Deployment) -> Completion:
        """One call to one deployment, recorded (already claimed)."""
        provider = self._router.provider(dep.provider)
        started = time.perf_counter()
        try:
            result = await provider.complete(dep.model_id, self._request)
        except asyncio.CancelledError:
            # An ensemble's deadline or a hedge's winner stopped it: the prompt is billed.
            self._record_aborted(spec, dep, started, "", None)
            raise
        except ProviderError as exc:
            self._record(spec, dep, started, error=exc)
            raise
        except BaseException:
            self._release(_key(spec, dep))  # any other exit: nothing stays held
            raise
        cost = self._record(spec, dep, started, usage=result.usage)
        result.model = spec.name
        result.cost_usd = cost
        result.decision = self._decision
        return result

    async def _hedged(
        self, spec: ModelSpec, deployments: list[Deployment], after_s: float
    ) -> Completion:
        """The first deployment, and the next one too if it has not answered after `after_s`:
        the first answer wins, the other call is cancelled (and billed, as `aborted`)."""
        before = len(self._decision.attempts)
        pending: set[asyncio.Future[Completion]] = set()
        last: ProviderError | None = None
        queue = list(deployments)
        while queue or pending:
            while queue and len(pending) < 2:
                dep = queue.pop(0)
                try:
                    claimed = await self._claim(spec, dep)
                except BudgetExceeded as exc:
                    last = exc
                    continue
                if claimed:
                    pending.add(asyncio.ensure_future(self._attempt(spec, dep)))
                    break
            if not pending:
                continue
            wait = after_s if queue and len(pending) < 2 else None
            done, pending = await asyncio.wait(
                pending, timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                error = task.exception()
                if error is None:
                    for other in pending:
                        other.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    winner = task.result()
                    winner.cost_usd = sum(a.cost_usd for a in self._decision.attempts[before:])
                    self._decision.answered_by = spec.name
                    return winner
                if not isinstance(error, ProviderError):
                    raise error
                last = error
        if last is None:
            raise self._circuit_open(spec)
        raise last

    async def stream(self, model: str) -> AsyncIterator[StreamChunk]:
        self._limited = False
        spec = self.spec(model)
        req = self._request
        last: ProviderError | None = None
        for dep in await self._deployments(spec):
            provider = self._router.provider(dep.provider)
            attempt = 0
            while True:
                attempt += 1
                if not await self._claim(spec, dep):
                    break  # its half-open probe is out on another call
                started = time.perf_counter()
                delivered: list[str] = []
                started_output = False
                usage: Usage | None = None
                finish: str | None = None
                try:
                    async for chunk in provider.stream(dep.model_id, req):
                        if chunk.usage is not None:
                            usage = chunk.usage if usage is None else usage + chunk.usage
                        if chunk.finish_reason is not None:
                            finish = chunk.finish_reason
                        if chunk.has_payload:
                            started_output = True
                            delivered.append(chunk.content)
                        elif chunk.raw is None:
                            continue  # nothing for the caller (an adapter gets its raw objects)
                        yield construct(
                            StreamChunk,
                            model=spec.name,
                            provider=dep.provider,
                            content=chunk.content,
                            tool_calls=chunk.tool_calls,
                            finish_reason=None,
                            usage=None,
                            logprobs=chunk.logprobs,
                            cost_usd=None,
                            decision=None,
                            raw=chunk.raw,
                        )
                except (GeneratorExit, asyncio.CancelledError):
                    # The consumer stopped early (a cascade's look-ahead abort, a cancelled
                    # task): the tokens generated so far are still billed; estimate them.
                    self._record_aborted(spec, dep, started, "".join(delivered), usage)
                    raise
                except ProviderError as exc:
                    self._record(spec, dep, started, error=exc, interrupted=started_output)
                    if started_output:
                        exc.model = spec.name
                        raise StreamInterrupted(exc, "".join(delivered), spec.name) from exc
                    last = exc
                    if await self._after_failure(exc, spec, attempt):
                        continue
                    break
                except BaseException:
                    self._release(_key(spec, dep))  # any other exit: nothing stays held
                    raise
                cost = self._record(spec, dep, started, usage=usage or Usage())
                yield construct(
                    StreamChunk,
                    model=spec.name,
                    provider=dep.provider,
                    content="",
                    tool_calls=[],
                    finish_reason=finish,
                    usage=usage or Usage(),
                    logprobs=None,
                    cost_usd=cost,
                    decision=self._decision,
                    raw=None,
                )
                return
        if last is None:
            raise self._circuit_open(spec)
        raise last
