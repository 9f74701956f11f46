"""`Runner`: runs one model of a plan for one request — its deployments in order, with
retries, budget holds, breaker and rate-limit claims, hedging, and an attempt record for
every call. Strategies drive it through the `ModelRunner` protocol."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Literal

from langroute._fast import construct
from langroute._streams import close
from langroute._sync import loop_kept_free
from langroute.budget import Reservation
from langroute.decision import Attempt, Decision
from langroute.errors import (
    BadRequest,
    BudgetExceeded,
    CircuitOpen,
    ContentFiltered,
    ContextTooLong,
    DeadlineExceeded,
    LimitExhausted,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    Timeout,
)
from langroute.features import RoutingRequest
from langroute.policy.balance import BALANCERS
from langroute.providers._http import not_sent
from langroute.reasoning import fit_reasoning, fit_sampling, fit_thinking, fit_tool_choice
from langroute.registry import Deployment, ModelSpec
from langroute.retry import RetryPolicy
from langroute.state.calls import ask, tell
from langroute.tokens import count_tokens
from langroute.types import Completion, StreamChunk, Usage
from langroute.warm_caches import MIN_CACHED_TOKENS

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from langroute.router import Router


class _Cut(Exception):  # internal: never leaves the runner
    """The core's own timer stopped a call; `error` is what the strategy is told."""

    def __init__(self, error: Timeout) -> None:
        super().__init__(error.message)
        self.error = error


def call_deadline(
    request: RoutingRequest, retry: RetryPolicy, started: float | None = None
) -> float | None:
    """When a call started at `started` must be over (`deadline_s`, per call or from the
    retry policy), as a `time.perf_counter()` time; None: it has no deadline."""
    deadline_s = request.features.hints.deadline_s or retry.deadline_s
    return None if deadline_s is None else (started or time.perf_counter()) + deadline_s


def _used_by(error: ProviderError) -> Usage | None:
    """What a failed call used and may be billed for, when its error knows (an answer a
    provider's filter stopped)."""
    return error.usage if isinstance(error, ContentFiltered) else None


def deployment_key(spec: ModelSpec, dep: Deployment) -> str:
    """The key of one deployment in health, rate-limit and budget-hold state."""
    return f"{spec.name}@{dep.provider}/{dep.model_id}"


class Runner:
    """Runs one model for one request: its deployments in order, retries, attempt records."""

    def __init__(
        self,
        router: Router,
        request: RoutingRequest,
        decision: Decision,
        started: float | None = None,
    ) -> None:
        self._router = router
        self._request = request
        self._decision = decision
        self._reserved: dict[str, int] = {}
        self._holds: dict[str, Reservation] = {}
        self._limited = False
        hints, retry = request.features.hints, router.retry
        self._attempt_timeout = hints.attempt_timeout_s or retry.attempt_timeout_s
        self._deadline_s = hints.deadline_s or retry.deadline_s
        self._deadline = call_deadline(request, retry, started)

    @property
    def deadline(self) -> float | None:
        """The call's deadline as a `time.perf_counter()` time (None: it has none)."""
        return self._deadline

    def _time_limit(self, spec: ModelSpec, dep: Deployment) -> float | None:
        """Seconds the next call to `dep` may take (attempt timeout, or what is left of the
        deadline); None: unbounded. Raises `DeadlineExceeded` once the deadline has passed."""
        limit = self._attempt_timeout
        if self._deadline is not None:
            left = self._deadline - time.perf_counter()
            if left <= 0:
                raise DeadlineExceeded(
                    f"the call's deadline of {self._deadline_s:g} s passed (deadline_s)",
                    model=spec.name,
                    provider=dep.provider,
                )
            limit = left if limit is None else min(limit, left)
        return limit

    def _timeout_error(self, limit: float, what: str) -> Timeout:
        """The error for a call cut after `limit`: the deadline's when it was what bound the
        call (`_time_limit` gave what was left of it), else the attempt timeout's."""
        timeout = self._attempt_timeout
        if self._deadline is not None and (timeout is None or limit < timeout):
            return DeadlineExceeded(
                f"{what} when the call's deadline of {self._deadline_s:g} s passed (deadline_s)"
            )
        return Timeout(f"{what} within {limit:g} s (attempt_timeout_s)")

    async def _within(self, limit: float, call: Awaitable[Completion]) -> Completion:
        """`call`, stopped by the core's own timer after `limit` seconds (a `_Cut`)."""
        try:
            async with asyncio.timeout(limit) as timer:
                with loop_kept_free():
                    return await call
        except TimeoutError:
            if not timer.expired():
                raise
            raise _Cut(self._timeout_error(limit, "no answer")) from None

    async def _timed_stream(
        self, limit: float | None, stall: float | None, chunks: AsyncIterator[StreamChunk]
    ) -> AsyncIterator[StreamChunk]:
        """`chunks`, whose first text or tool call must come within `limit` seconds and which
        may never go `stall` seconds without a chunk (a `_Cut` otherwise). The timer is never
        armed across a yield, so it can only ever stop the model's stream, not the caller."""
        end = None if limit is None else time.perf_counter() + limit
        output = False
        try:
            while True:
                wait = stall
                if not output and end is not None:
                    left = max(0.0, end - time.perf_counter())
                    wait = left if wait is None else min(wait, left)
                if wait is None:  # text flows and no stall limit: nothing left to time
                    async for chunk in chunks:
                        yield chunk
                    return
                try:
                    async with asyncio.timeout(wait) as timer:
                        with loop_kept_free():
                            chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if not timer.expired():
                        raise
                    if limit is None or output or wait == stall:
                        error = Timeout(
                            f"the stream sent nothing for {stall:g} s (stall_timeout_s)"
                        )
                    else:
                        error = self._timeout_error(limit, "no text or tool call")
                    raise _Cut(error) from None
                yield chunk
                output = output or chunk.has_payload
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    def _note(
        self,
        spec: ModelSpec,
        dep: Deployment,
        outcome: Literal["ok", "error", "interrupted", "aborted"],
        *,
        started: float | None = None,
        error: ProviderError | None = None,
        note: str | None = None,
        usage: Usage | None = None,
        cost_usd: float = 0.0,
        provider: str | None = None,
    ) -> None:
        """Add one attempt on `dep` to the decision (unvalidated: every value is known good);
        `started` (perf_counter) gives its latency, 0 for calls never made."""
        self._decision.attempts.append(
            construct(
                Attempt,
                model=spec.name,
                provider=provider or dep.provider,
                provider_model=dep.model_id,
                outcome=outcome,
                latency_ms=0.0 if started is None else (time.perf_counter() - started) * 1000,
                error_type=type(error).__name__ if error is not None else None,
                error=error.message if error is not None else note,
                status=error.status if error is not None else None,
                usage=usage,
                cost_usd=cost_usd,
            )
        )

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
            keys = {deployment_key(spec, d): d for d in deployments}
            allowed = await ask(health, health.allowed, spec.name, list(keys))
            if not allowed:
                raise self._circuit_open(spec)
            deployments = tuple(keys[k] for k in allowed)
        if router.balance == "order" or len(deployments) < 2:
            return deployments
        return await ask(health, BALANCERS[router.balance], spec, deployments, health)

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
        self._note(spec, spec.all_deployments[0], "error", error=error, provider=providers)
        return error

    async def _claim(self, spec: ModelSpec, dep: Deployment) -> bool:
        """Take this deployment for one call: the worst-case cost on the budgets (raises
        `BudgetExceeded`), its breaker's leave, then its rate budget."""
        if self._deadline is not None:
            self._time_limit(spec, dep)  # past the call's deadline: nothing more is tried
        router, key = self._router, deployment_key(spec, dep)
        if router.budgets is not None:
            await self._hold(spec, dep)
        health = router.health
        if health is not None and not await ask(health, health.started, key):
            self._release(key)
            return False
        limits = router.limits
        if limits is None:
            return True
        rpm, tpm = dep.rpm or spec.rpm, dep.tpm or spec.tpm
        if rpm or tpm:
            estimate = self._token_estimate(spec)
            if not await ask(limits, limits.try_acquire, key, rpm=rpm, tpm=tpm, tokens=estimate):
                self._limited = True
                self._release(key)
                if health is not None:
                    tell(health, health.abandoned, key)
                return False
            self._reserved[key] = estimate
        return True

    async def _hold(self, spec: ModelSpec, dep: Deployment) -> None:
        budgets = self._router.budgets
        if budgets is None:
            return
        pricing = dep.pricing or spec.pricing
        try:
            hold = await ask(budgets, budgets.reserve, self._request.features, spec, pricing)
        except BudgetExceeded as exc:
            self._note(spec, dep, "error", error=exc)
            raise
        self._holds[deployment_key(spec, dep)] = hold

    def _release(self, key: str, cost_usd: float = 0.0) -> None:
        """Settle this call's budget hold to its real cost (0: release it), exactly once."""
        hold = self._holds.pop(key, None)
        budgets = self._router.budgets
        if hold is not None and budgets is not None:
            tell(budgets, budgets.settle, hold, cost_usd)

    def _token_estimate(self, spec: ModelSpec) -> int:
        """Tokens a call will take from the deployment's tpm bucket: the prompt in the
        model's own tokens (`prompt_token_factor`), plus the answer's cap."""
        features = self._request.features
        answer = features.max_output_tokens or features.hints.expected_output_tokens or 500
        return spec.billed_prompt_tokens(features.prompt_tokens) + min(
            answer, spec.max_output_tokens
        )

    def _settle(self, spec: ModelSpec, dep: Deployment, usage: Usage | None) -> None:
        key = deployment_key(spec, dep)
        reserved = self._reserved.pop(key, None)
        if reserved is None or self._router.limits is None:
            return
        used = usage.prompt_tokens + usage.completion_tokens if usage is not None else 0
        limits = self._router.limits
        tell(limits, limits.settle, key, tpm=dep.tpm or spec.tpm, delta_tokens=used - reserved)

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
        cost = (dep.pricing or spec.pricing).cost_of(usage) if usage is not None else 0.0
        outcome: Literal["ok", "error", "interrupted"] = (
            "ok" if error is None else ("interrupted" if interrupted else "error")
        )
        self._note(spec, dep, outcome, started=started, error=error, usage=usage, cost_usd=cost)
        if error is None:
            self._decision.answered_by = spec.name
        self._settle(spec, dep, usage)
        if self._holds:
            self._release(deployment_key(spec, dep), cost)
        budgets = self._router.budgets
        if budgets is not None and error is None and usage is not None:
            budgets.observe_prompt(
                spec.name, self._request.features.prompt_tokens, usage.prompt_tokens
            )
        warm = self._router.warm_caches
        if (
            warm is not None
            and usage is not None
            and error is None
            and self._request.features.prompt_tokens >= MIN_CACHED_TOKENS
        ):
            tell(warm.store, warm.observe, self._request, spec, usage)
        health = self._router.health
        if health is not None:
            key = deployment_key(spec, dep)
            if error is None:
                tell(health, health.succeeded, key, (time.perf_counter() - started) * 1000)
            else:
                retry_after = error.retry_after if isinstance(error, RateLimited) else None
                tell(health, health.failed, spec.name, key, retry_after_s=retry_after)
        return cost

    def _estimated_usage(self, spec: ModelSpec, text: str) -> Usage:
        """What a call that reported no usage probably used: the prompt in the model's own
        tokens and `text`, what it generated so far."""
        prompt = spec.billed_prompt_tokens(self._request.features.prompt_tokens)
        return Usage(prompt_tokens=prompt, completion_tokens=count_tokens(text))

    def _record_aborted(
        self,
        spec: ModelSpec,
        dep: Deployment,
        started: float,
        text: str,
        usage: Usage | None,
        timeout: Timeout | None = None,
        interrupted: bool = False,
    ) -> None:
        """A call the router stopped itself: by a look-ahead abort, a cancellation or an
        ensemble's deadline (`aborted`), or by its own `timeout` (an error). Its prompt and
        any text so far are billed, estimated: the provider may well bill them."""
        if usage is None:
            usage = self._estimated_usage(spec, text)
        cost = (dep.pricing or spec.pricing).cost(usage.prompt_tokens, usage.completion_tokens)
        self._settle(spec, dep, usage)
        if self._holds:
            self._release(deployment_key(spec, dep), cost)
        health = self._router.health
        if timeout is not None:
            if health is not None:
                tell(health, health.failed, spec.name, deployment_key(spec, dep))
            outcome: Literal["error", "interrupted"] = "interrupted" if interrupted else "error"
            self._note(
                spec, dep, outcome, started=started, error=timeout, usage=usage, cost_usd=cost
            )
            return
        if health is not None:
            tell(health, health.abandoned, deployment_key(spec, dep))
        note = "stopped early (look-ahead window or deadline); usage estimated"
        self._note(spec, dep, "aborted", started=started, note=note, usage=usage, cost_usd=cost)

    async def _after_failure(self, error: ProviderError, spec: ModelSpec, attempt: int) -> bool:
        """Wait and return True to retry the same deployment; False to move on."""
        error.model = spec.name
        if isinstance(error, BadRequest | ContextTooLong):
            raise error  # another deployment of the same model will not help
        delay = self._router.retry.delay(error, attempt)
        if delay is None:
            return False
        if self._deadline is not None and time.perf_counter() + delay >= self._deadline:
            return False  # the wait alone would pass the deadline: try the next one now
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
            limit = self._time_limit(spec, dep)
            req = self._request_for(spec)
            if limit is None:
                result = await provider.complete(dep.model_id, req)
            else:
                result = await self._within(limit, provider.complete(dep.model_id, req))
        except asyncio.CancelledError:
            # An ensemble's deadline or a hedge's winner stopped it: the prompt is billed.
            self._record_aborted(spec, dep, started, "", None)
            raise
        except _Cut as cut:
            cut.error.model, cut.error.provider = spec.name, dep.provider
            self._record_aborted(spec, dep, started, "", None, cut.error)
            raise cut.error from None
        except ProviderError as exc:
            self._record(spec, dep, started, error=exc, usage=_used_by(exc))
            raise
        except BaseException:
            self._release(deployment_key(spec, dep))  # any other exit: nothing stays held
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
                except (BudgetExceeded, DeadlineExceeded) as exc:
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

    def _request_for(self, spec: ModelSpec) -> RoutingRequest:
        """The request as `spec` takes it: without Claude's `thinking` setting for a model
        whose capabilities say it refuses it (it answers without thinking, as any model
        that cannot think does), and with the reasoning effort asked for as the model
        takes it (`fit_reasoning`), Claude's `thinking` in a kind it takes (`fit_thinking`),
        no tool forced on a Claude model that will think (`fit_tool_choice`), and no sampling
        settings when it refuses them (`fit_sampling`)."""
        req = self._request
        params = req.params
        thinking = params.thinking
        if thinking is not None and thinking.on and not spec.capabilities.thinking:
            not_sent(spec.name, "Claude's thinking setting", "this model cannot think")
            params = params.model_copy(update={"thinking": None})
        if params.reasoning_effort is not None or params.thinking is not None:
            levels = spec.reasoning_efforts
            if spec.capabilities.thinking:
                params, changed = fit_thinking(params, spec.thinking_types, levels)
                if changed is not None:
                    not_sent(spec.name, *changed)
            thinks = spec.name in self._router._thinkers
            params, changed = fit_reasoning(params, levels, thinks=thinks)
            if changed is not None:
                not_sent(spec.name, *changed)
        if params.tool_choice not in (None, "auto", "none") and spec.capabilities.thinking:
            params, changed = fit_tool_choice(params, spec.thinking_types)
            if changed is not None:
                not_sent(spec.name, *changed)
        if params.temperature is not None or params.top_p is not None or params.extra_body:
            params, changed = fit_sampling(params, spec.takes_sampling)
            if changed is not None:
                not_sent(spec.name, *changed)
        if params is req.params:
            return req
        return req.model_copy(update={"params": params})

    async def stream(self, model: str) -> AsyncIterator[StreamChunk]:
        self._limited = False
        spec = self.spec(model)
        req = self._request_for(spec)
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
                arguments: list[str] = []  # tool calls' and reasoning, to estimate usage
                started_output = False
                usage: Usage | None = None
                finish: str | None = None
                chunks: AsyncIterator[StreamChunk] | None = None
                try:
                    chunks = provider.stream(dep.model_id, req)
                    limit = self._time_limit(spec, dep)
                    stall = self._router.retry.stall_timeout_s
                    if limit is not None or stall is not None:
                        chunks = self._timed_stream(limit, stall, chunks)
                    async for chunk in chunks:
                        if chunk.usage is not None:
                            usage = chunk.usage if usage is None else usage + chunk.usage
                        if chunk.finish_reason is not None:
                            finish = chunk.finish_reason
                        if chunk.has_payload:
                            started_output = True
                            delivered.append(chunk.content)
                            if chunk.tool_calls:
                                arguments.extend(d.arguments or "" for d in chunk.tool_calls)
                            if chunk.thinking:
                                arguments.extend(d.thinking for d in chunk.thinking)
                        elif chunk.raw is None:
                            continue  # nothing for the caller (an adapter gets its raw objects)
                        yield construct(
                            StreamChunk,
                            model=spec.name,
                            provider=dep.provider,
                            content=chunk.content,
                            tool_calls=chunk.tool_calls,
                            thinking=chunk.thinking,
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
                except _Cut as cut:
                    cut.error.model, cut.error.provider = spec.name, dep.provider
                    text = "".join(delivered)
                    self._record_aborted(spec, dep, started, text, usage, cut.error, started_output)
                    if started_output:  # it stalled after text was shown: no fallback
                        raise StreamInterrupted(cut.error, text, spec.name) from None
                    last = cut.error
                    if await self._after_failure(cut.error, spec, attempt):
                        continue
                    break
                except ProviderError as exc:
                    used = _used_by(exc)
                    if used is None and isinstance(exc, ContentFiltered):  # it answered: billed
                        used = self._estimated_usage(spec, "".join(delivered + arguments))
                    self._record(
                        spec, dep, started, error=exc, usage=used, interrupted=started_output
                    )
                    if started_output:
                        exc.model = spec.name
                        raise StreamInterrupted(exc, "".join(delivered), spec.name) from exc
                    last = exc
                    if await self._after_failure(exc, spec, attempt):
                        continue
                    break
                except BaseException:
                    self._release(deployment_key(spec, dep))  # any other exit: nothing stays held
                    raise
                finally:
                    if chunks is not None:
                        await close(chunks)  # its connection is let go now, not by the collector
                if usage is None:  # not reported (e.g. no stream_options.include_usage)
                    usage = self._estimated_usage(spec, "".join(delivered + arguments))
                cost = self._record(spec, dep, started, usage=usage)
                yield construct(
                    StreamChunk,
                    model=spec.name,
                    provider=dep.provider,
                    content="",
                    tool_calls=[],
                    thinking=[],
                    finish_reason=finish,
                    usage=usage,
                    logprobs=None,
                    cost_usd=cost,
                    decision=self._decision,
                    raw=None,
                )
                return
        if last is None:
            raise self._circuit_open(spec)
        raise last
