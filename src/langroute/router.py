"""`Router`: classifier + policy + strategy + providers, planned once and run per call."""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import ValidationError

from langroute._fast import construct
from langroute._streams import closing
from langroute._sync import iterate_sync, run_sync
from langroute.audit import AuditLog, audit_from_env, build_record
from langroute.budget import Budgets, key_fingerprint
from langroute.cache import ResponseCache
from langroute.classify import Classifier, RuleClassifier, TaskProfile
from langroute.compress import PromptCompressor
from langroute.decision import Decision
from langroute.errors import (
    AllModelsFailed,
    BudgetExceeded,
    ConfigError,
    LangrouteError,
    NoCandidateError,
    UnknownModelError,
    invalid_input,
)
from langroute.features import CallerHints, RequestFeatures, RoutingRequest
from langroute.feedback import FeedbackLog, FeedbackRecord
from langroute.policy import CostOptimized, PlanContext, Policy, eligible
from langroute.policy.balance import BALANCERS, Balance
from langroute.policy.base import Rejection, named_models
from langroute.policy.budget import budget_aware
from langroute.policy.filters import with_thinking
from langroute.providers import Provider, provider_from_spec
from langroute.reasoning import THINKING_BUDGETS
from langroute.registry import ModelSpec, Registry, lifecycle
from langroute.registry.registry import unknown_keys
from langroute.retry import RetryPolicy
from langroute.runner import Runner, call_deadline
from langroute.shadow import ShadowEvaluator
from langroute.side import side_calls_until, side_models
from langroute.state.calls import PENDING, ask, tell
from langroute.state.health import HealthStore
from langroute.state.ratelimit import RateLimitStore
from langroute.state.warm import WarmStore
from langroute.strategies import FallbackChain, Strategy
from langroute.strategies.base import completion_chunks
from langroute.types import (
    TOOL_FORMS,
    ChatParams,
    Completion,
    Message,
    StreamChunk,
    ThinkingConfig,
    ToolSpec,
    Usage,
)
from langroute.versions import Versions
from langroute.warm_caches import MIN_CACHED_TOKENS, WarmCaches, Warmth, with_call_prices

if TYPE_CHECKING:
    from langroute.config import RouterConfig

MessagesInput = Sequence[Message | Mapping[str, Any]] | str


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
        cache_aware: bool | WarmStore = True,
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
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ConfigError(f"models lists {twice} more than once: give each model once")
        self._specs = self.registry.select(names)
        if models is not None:
            day = lifecycle.today()
            for spec in self._specs:
                if (warning := lifecycle.shutdown_warning(spec, day)) is not None:
                    logger.warning("langroute: %s", warning)
        self._judge_shutdowns()
        if not self._live:
            shut = "; ".join(f"{r.model}: {r.reason}" for r in self._shut)
            raise ConfigError(
                f"every model of this router has been shut down by its provider ({shut}): "
                "give it models that are still served"
            )
        _check_part("classifier", classifier, Classifier, "RuleClassifier(), EmbeddingClassifier()")
        _check_part(
            "policy", policy, Policy, "CostOptimized(), LatencyOptimized(), WeightedObjective()"
        )
        _check_part("strategy", strategy, Strategy, "FallbackChain(), Single(), Cascade()")
        self.classifier: Classifier = classifier or RuleClassifier()
        self.policy: Policy = policy or CostOptimized()
        self.strategy: Strategy = strategy or FallbackChain()
        if unknown := sorted(named_models(self.policy) - set(names)):
            raise ConfigError(
                f"policy {self.policy.name!r} names models this router does not have: "
                f"{unknown}; its models: {names}"
            )
        self.retry = retry or RetryPolicy()
        self.health = health
        """Deployment health and circuit breakers (None: every deployment is always tried)."""
        self.limits = limits
        """rpm/tpm buckets for deployments that declare limits (None: limits not enforced)."""
        self.budgets = budgets
        """USD caps enforced by reserve-then-settle (None: no budget)."""
        if budgets is not None:  # an LLM judge's or classifier's calls spend under them too
            for helper in side_models(self.strategy, self.classifier):
                helper.charge_to(budgets)
        self.cache = cache
        """Exact/semantic response cache, per tenant (None: every call goes to a model)."""
        self.compressor = compressor
        """Shortens prompts before routing (native providers only; None: sent as given)."""
        if not isinstance(cache_aware, bool) and not (
            callable(getattr(cache_aware, "held", None))
            and callable(getattr(cache_aware, "hold", None))
        ):
            raise ConfigError(
                "cache_aware must be True, False or a warm-cache store such as "
                f"SQLiteWarmStore(path) or RedisWarmStore(url); got {type(cache_aware).__name__}"
            )
        self.warm_caches = (
            None
            if cache_aware is False
            else WarmCaches(None if cache_aware is True else cache_aware)
        )
        """The prompt prefixes each model's provider holds cached, as the router's calls
        showed, in this process (`cache_aware=True`) or in a store processes share (a
        `WarmStore`): plans price them at the cached price (None: list prices only)."""
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
        self._thinkers = frozenset(
            spec.name
            for spec in self._specs
            if spec.capabilities.thinking
            and any(self._takes_thinking(dep.provider) for dep in spec.all_deployments)
        )
        """The models that think when a call enables Claude's `thinking`: plans count the
        thinking tokens they bill in their expected cost."""
        self._budget_thinkers = frozenset(
            spec.name
            for spec in self._specs
            if spec.name in self._thinkers and not spec.reasoning_efforts
        )
        """The thinkers that take no effort: a call's effort buys them a thinking budget."""

    def _judge_shutdowns(self) -> None:
        """Split the models into those still served today (`_live`, the ones plans consider)
        and the rejections of those shut down; judged again on the next UTC day when any
        model has a shutdown date still ahead."""
        day = lifecycle.today()
        self._live = [s for s in self._specs if not lifecycle.is_shut_down(s, day)]
        if self._live:  # what always calling the dearest model still served would cost
            self._premium = max(self._live, key=lambda s: s.expected_cost(1000, 500))
        self._shut = [
            construct(Rejection, model=s.name, reason=lifecycle.shutdown_reason(s))
            for s in self._specs
            if lifecycle.is_shut_down(s, day)
        ]
        ahead = any(s.shutdown is not None and s.shutdown > day for s in self._specs)
        self._judged_until: float | None = None
        if ahead and not lifecycle.day_is_fixed():
            midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
            self._judged_until = midnight.timestamp()

    def _takes_thinking(self, provider: str) -> bool:
        """Whether the provider called `provider` sends Claude's `thinking` setting: one
        given that says so (`takes_thinking`), or a registry provider of Anthropic's API."""
        given = self._providers.get(provider)
        if given is not None:
            return bool(getattr(given, "takes_thinking", False))
        spec = self.registry.providers.get(provider)
        return spec is not None and spec.kind == "anthropic"

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
        targets: Mapping[str, Provider | None],
        *,
        specs: Mapping[str, Mapping[str, Any]] | None = None,
        registry: Registry | None = None,
        defaults: Callable[[str], Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Router:
        """A router whose candidates are given as call targets — e.g. framework models
        wrapped by an adapter — each named by the model it calls; a target of None is a
        native candidate, called by langroute's own provider for it (as `Router([...])`).

        A name in the catalog (by name or pinned version) takes that entry, with `specs[name]`
        overriding fields; any other name needs `specs[name]` with at least `pricing` (and,
        for a native candidate, the whole spec); `defaults(name)` fills fields neither gives
        (e.g. from the framework's metadata). Entries for other names are left unused, so one
        table can describe the models of several routers.
        """
        registry = registry.copy() if registry is not None else Registry.builtin()
        providers: dict[str, Provider] = {}
        for name, target in targets.items():
            fields: dict[str, Any] = dict((specs or {}).get(name, {}))
            if target is None:
                if fields:
                    registry.override(name, fields, where=f"specs[{name!r}]")
                else:
                    registry.get(name)  # an unknown name lists the known ones
                continue
            if name not in registry:
                match = next((s for s in registry if s.version == name), None)
                if match is None and "pricing" not in fields:
                    given = ""
                    if fields:
                        wrong = unknown_keys(fields, ModelSpec)
                        given = f", and specs[{name!r}] has no 'pricing'" + (
                            f" (unknown keys: {', '.join(wrong)})" if wrong else ""
                        )
                    elif near := difflib.get_close_matches(name, list(specs or {}), 1, 0.8):
                        given = f" (specs has {near[0]!r}: did you mean that name?)"
                    raise ConfigError(
                        f"candidate {name!r} is not in the model catalog{given}; describe it "
                        f"in specs={{{name!r}: {{'pricing': {{'input': ..., 'output': ...}}, "
                        "'context_window': ..., 'max_output_tokens': ...}}"
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
        _warn_of_misspelt_specs(specs or {}, targets)
        return cls(
            list(targets),
            registry=registry,
            providers={**kwargs.pop("providers", {}), **providers},
            **kwargs,
        )

    @property
    def models(self) -> list[str]:
        return [s.name for s in self._specs]

    @property
    def models_in_service(self) -> list[str]:
        """Its models that their providers still serve today: those plans consider."""
        return [s.name for s in self._in_service()]

    def _in_service(self) -> list[ModelSpec]:
        """The models still served, judged again first when a UTC day has turned since."""
        if (until := self._judged_until) is not None and time.time() >= until:
            self._judge_shutdowns()
        return self._live

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
            tools_wrong = any(e["loc"][:1] == ("tools",) for e in exc.errors())
            raise invalid_input(
                "call parameters",
                exc,
                ChatParams.model_fields,
                unknown="unknown parameter",
                advice=TOOL_FORMS if tools_wrong else "",
            ) from None
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
        if configured, is the one exception; a shared warm-cache store is read)."""
        self._check_forced(request.features)
        warm = self._warm_for(request)
        warmth = warm.lookup(request, self._specs) if warm is not None else None
        return self._decide(request, self.classifier.classify(request.features), warmth)

    async def aplan(self, request: RoutingRequest) -> Decision:
        """`plan` on the event loop: awaits a classifier that does I/O (`aclassify`), and
        reads a shared warm-cache store from a worker thread."""
        self._check_forced(request.features)
        warm = self._warm_for(request)
        warmth = None
        if warm is not None:
            warmth = await ask(warm.store, warm.lookup, request, self._specs)
        aclassify = getattr(self.classifier, "aclassify", None)
        if aclassify is None:
            return self._decide(request, self.classifier.classify(request.features), warmth)
        return self._decide(request, await aclassify(request.features), warmth)

    def _warm_for(self, request: RoutingRequest) -> WarmCaches | None:
        """The warm caches to look this request up in, None when nothing can be found (the
        common short prompt costs one comparison)."""
        warm = self.warm_caches
        if warm is None or request.features.prompt_tokens < MIN_CACHED_TOKENS:
            return None
        return warm if warm.worth_looking(request, self._specs) else None

    def _check_forced(self, features: RequestFeatures) -> None:
        forced = features.hints.model
        if forced is not None and forced not in self.models:
            if forced not in self.registry:
                raise UnknownModelError(forced, self.models)  # the ones a hint may force
            raise ConfigError(
                f"hints.model {forced!r} is not one of this router's models: {self.models}"
            )

    def _decide(
        self, request: RoutingRequest, profile: TaskProfile, warmth: Warmth | None = None
    ) -> Decision:
        features = request.features
        estimates, rejected = eligible(self._in_service(), features, profile)
        if self._shut:
            rejected.extend(self._shut)
        priced = None
        thinking = request.params.thinking
        if thinking is not None and thinking.on and self._thinkers:
            priced = with_thinking(estimates, rejected, self._thinkers, features, thinking)
        elif (effort := request.params.reasoning_effort) in THINKING_BUDGETS and (
            budgeted := self._budget_thinkers
        ):
            thinking = ThinkingConfig(type="enabled", budget_tokens=THINKING_BUDGETS[effort])
            priced = with_thinking(estimates, rejected, budgeted, features, thinking)
        if not estimates:
            raise NoCandidateError("no model can serve this request", rejected)
        warm = self.warm_caches
        if warm is not None and features.prompt_tokens >= MIN_CACHED_TOKENS:
            cached = warm.reprice(request, estimates, warmth)
            if priced and cached:
                for name, (cost, why) in cached.items():
                    cached[name] = (cost, f"{priced[name][1]}; {why}" if name in priced else why)
            priced = {**(priced or {}), **cached}
        plan = self.policy.rank(PlanContext(features, profile, estimates, rejected))
        if not plan.candidates:
            raise NoCandidateError(f"policy {plan.policy!r} left no candidate", rejected)
        if priced:
            plan = with_call_prices(plan, priced)
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
        async with closing(self.execute_stream(self.request(messages, **kwargs))) as chunks:
            async for chunk in chunks:
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

    async def _prepare(
        self,
        request: RoutingRequest,
        arm: str | None = None,
        *,
        cached: bool = True,
        started: float | None = None,
    ) -> tuple[RoutingRequest, Decision, Completion | None]:
        """Everything before the strategy runs: compression, the plan (re-ranked for budgets
        near their cap, their state in the decision), the A/B arm, and a cache lookup. An
        LLM classifier's call ends by the call's deadline, counted from `started`."""
        request, compression = self._compressed(request)
        deadline = call_deadline(request, self.retry, started)
        if deadline is None:
            decision = await self.aplan(request)
        else:
            with side_calls_until(deadline):
                decision = await self.aplan(request)
        budgets = self.budgets
        if budgets is not None and budgets.budgets:
            states = await ask(budgets, budgets.states, request.features, decision.plan.models)
            decision.budgets = states
            decision.plan = budget_aware(decision.plan, states)
        if arm is not None or compression is not None:
            decision.arm, decision.compression = arm, compression
        hit = None
        if cached and self.cache is not None:
            hit = await self._from_cache(request, decision)
            if hit is not None:
                self._after(request, decision, hit)
        return request, decision, hit

    async def execute(self, request: RoutingRequest, *, arm: str | None = None) -> Completion:
        """Plan and run a prebuilt request (adapters build their own `RoutingRequest`);
        `arm` names the A/B arm serving it, for the decision and the audit record."""
        started = time.perf_counter()
        request, decision, hit = await self._prepare(request, arm, started=started)
        if hit is not None:
            self._record(decision, started, "ok", usage=hit.usage)
            return hit
        try:
            result = await self.strategy.run(
                decision.plan, Runner(self, request, decision, started)
            )
        except LangrouteError as exc:
            error = _with_decision(exc, decision)
            self._record(decision, started, "error", error=error)
            if error is exc:
                raise
            raise error from exc
        except BaseException:
            self._record(decision, started, "abandoned")
            raise
        result.cost_usd = decision.actual_cost_usd  # every attempt, classifying and scoring
        if self.cache is not None:
            self._to_cache(request, decision, result)
        if self.audit is not None:
            self._record(decision, started, "ok", usage=result.usage)
        self._after(request, decision, result)
        return result

    async def execute_stream(
        self, request: RoutingRequest, *, arm: str | None = None
    ) -> AsyncIterator[StreamChunk]:
        """Plan and stream a prebuilt request."""
        started = time.perf_counter()
        request, decision, hit = await self._prepare(request, arm, started=started)
        if hit is not None:
            self._record(decision, started, "ok", usage=hit.usage)
            for chunk in completion_chunks(hit):
                yield chunk
            return
        recorded = False
        seen: list[StreamChunk] = []
        tools = False
        try:
            runner = Runner(self, request, decision, started)
            async with closing(self.strategy.stream(decision.plan, runner)) as chunks:
                async for chunk in chunks:
                    if chunk.decision is not None:  # the last chunk: the answer is complete
                        chunk.cost_usd = decision.actual_cost_usd
                        answer = None
                        if self.cache is not None or self.shadow is not None:
                            answer = Completion.from_chunks([*seen, chunk])
                            answer.decision = None
                            if not tools:
                                self._to_cache(request, decision, answer)
                        self._record(decision, started, "ok", usage=chunk.usage)
                        self._after(request, decision, answer)
                        recorded = True
                    else:
                        seen.append(chunk)
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
        found = await ask(cache, cache.lookup, request, self._scope)
        if found is None:
            return None
        completion, kind = found
        usage = completion.usage
        completion.usage = Usage(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.prompt_tokens,
        )
        completion.cost_usd = decision.actual_cost_usd  # no model call: 0 unless classifying cost
        decision.cache = kind
        decision.answered_by = completion.model
        completion.decision = decision
        return completion

    def _to_cache(
        self, request: RoutingRequest, decision: Decision, completion: Completion
    ) -> None:
        """Cache an answer, unless it is one a cascade kept below its threshold because
        the models after it failed: once they are back, they should answer it."""
        cache = self.cache
        if cache is not None and cache.cacheable(request) and not decision.kept_below_threshold:
            tell(cache, cache.save, request, self._scope, completion)

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
        mine = [f for f in list(PENDING) if f.get_loop() is loop]
        await asyncio.gather(*mine, return_exceptions=True)
        if self.shadow is not None:
            await self.shadow.drain()
        if self.audit is not None:
            await asyncio.to_thread(self.audit.flush)

    async def aclose(self) -> None:
        """Finish pending updates (`drain`), then close the providers' HTTP clients."""
        await self.drain()
        await asyncio.gather(*(p.aclose() for p in self._providers.values()))


def _check_part(what: str, value: object, protocol: type, examples: str) -> None:
    """A clear error now, rather than an AttributeError on the first call, for a part that
    is not a classifier, policy or strategy object (a name such as "cascade", say)."""
    if value is None or isinstance(value, protocol):
        return
    got = f"the string {value!r}" if isinstance(value, str) else type(value).__name__
    names = f"; names are for config files ([{what}] type = ...)" if isinstance(value, str) else ""
    raise ConfigError(
        f"{what} must be a {protocol.__name__} object such as {examples}; got {got}{names}"
    )


T = TypeVar("T")


ADAPTER_OPTIONS = (
    "classifier",
    "policy",
    "strategy",
    "budgets",
    "audit",
    "health",
    "limits",
    "balance",
    "hedge_after_ms",
    "shadow",
    "feedback",
    "cache_aware",
)
"""The `Router` arguments the framework adapters take as fields of the same names."""


def adapter_options(adapter: Any) -> dict[str, Any]:
    """An adapter's `Router` arguments: its fields named in `ADAPTER_OPTIONS`, and its
    `response_cache` as the router's `cache` (the frameworks' own `cache` means theirs)."""
    options = {name: getattr(adapter, name) for name in ADAPTER_OPTIONS}
    options["cache"] = adapter.response_cache
    return options


def named_candidates(
    candidates: Sequence[T] | Mapping[str, T], name_of: Callable[[T], str], *, owner: str
) -> dict[str, T]:
    """An adapter's candidates by name: a mapping as given, a list named by `name_of` (the
    model each calls). Two list entries calling one model would silently become one, so
    that is an error that says how to keep both."""
    if isinstance(candidates, Mapping):
        named = dict(candidates)
    else:
        named = {}
        for candidate in candidates:
            name = name_of(candidate)
            if name in named:
                raise ConfigError(
                    f"two of {owner}'s models call {name!r}; pass them as a dict with a name "
                    f"each, e.g. models={{{name!r}: first, {name + '-2'!r}: second}}, and give "
                    f"the new name's fields in specs (pricing at least)"
                )
            named[name] = candidate
    if not named:
        raise ConfigError(f"models is empty: give {owner} at least one model")
    return named


def _warn_of_misspelt_specs(specs: Mapping[str, object], targets: Mapping[str, object]) -> None:
    """Entries for other names are allowed (one table for several routers), but one whose
    name is close to a candidate that has no entry is most likely that candidate misspelt:
    its prices and limits would silently not apply."""
    bare = [name for name in targets if name not in specs]
    for name in specs:
        if name in targets:
            continue
        near = difflib.get_close_matches(name, bare, n=1, cutoff=0.8)
        if near:
            logger.warning(
                "specs[%r] names no candidate of this router, and candidate %r has no entry: "
                "did you mean %r? (its catalog entry or defaults apply meanwhile)",
                name,
                near[0],
                near[0],
            )


def repr_args_without_candidates(
    args: Iterable[tuple[str | None, Any]], candidates: Mapping[str, object] | None
) -> list[tuple[str | None, Any]]:
    """An adapter's repr fields with its candidates shown by name and class only: a
    framework model's own repr may hold its API key (LlamaIndex's `OpenAI` prints
    `api_key=` in full), and an adapter's repr ends up in logs and tracebacks."""
    shown = (
        {
            name: "native" if isinstance(c, str) else type(c).__name__
            for name, c in candidates.items()
        }
        if candidates is not None
        else "..."
    )
    return [(key, shown if key == "models" else value) for key, value in args]


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
