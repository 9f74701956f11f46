"""Batch routing: non-urgent requests go to the providers' batch APIs at batch prices, and
their answers are delivered when the batches end.

```python
queue = BatchQueue(router)
jobs = [await queue.add(prompt, user="nightly") for prompt in prompts]
await queue.run()                    # submit, then poll until every batch has ended
answers = [await job for job in jobs]
```

Each request is routed as usual (classifier, policy, budgets), then sent with the first
candidate in the plan that has a batch price and a provider with a batch API (OpenAI's
files + `/batches`, Anthropic's message batches); a request no candidate can batch is run
at once through the router, so nothing waits forever. Budgets hold the worst case at the
batch price from `add` until the answer arrives (the hold outlives the 24 h window); the
cost, the decision (strategy `batch`) and the audit record use the batch price.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from langroute._fast import construct
from langroute.decision import Attempt, Decision
from langroute.errors import AllModelsFailed, ConfigError, ProviderError
from langroute.features import RoutingRequest
from langroute.policy.base import PlannedCandidate
from langroute.registry.spec import Deployment, ModelSpec, Pricing
from langroute.state.calls import ask, tell
from langroute.types import Completion

if TYPE_CHECKING:
    from langroute.budget import Reservation
    from langroute.router import MessagesInput, Router

BATCH_HOLD_S = 26 * 3600.0
"""Budget holds of batched requests last past the providers' 24 h completion window."""


class BatchJob:
    """One queued request; `await job` gives its `Completion` once its batch has ended."""

    def __init__(self, request: RoutingRequest, decision: Decision) -> None:
        self.request = request
        self.decision = decision
        self.future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self.started = time.perf_counter()
        self.model: str | None = None
        self.deployment: Deployment | None = None
        self.pricing: Pricing | None = None
        self.hold: Reservation | None = None
        self.batch_id: str | None = None

    @property
    def done(self) -> bool:
        return self.future.done()

    def __await__(self) -> Generator[Any, None, Completion]:
        return self.future.__await__()


def batch_pricing(spec: ModelSpec, deployment: Deployment) -> Pricing | None:
    """The deployment's (else the model's) batch prices as a `Pricing`, or None."""
    pricing = deployment.pricing or spec.pricing
    if pricing.batch_input is None or pricing.batch_output is None:
        return None
    return pricing.model_copy(
        update={"input": pricing.batch_input, "output": pricing.batch_output, "cached_input": None}
    )


class BatchQueue:
    """Requests waiting for a batch, the batches sent, and the answers delivered."""

    def __init__(self, router: Router, *, poll_every_s: float = 60.0, max_batch: int = 50_000):
        if poll_every_s <= 0:
            raise ConfigError(f"poll_every_s must be positive, got {poll_every_s}")
        self.router = router
        self.poll_every_s = poll_every_s
        self.max_batch = max_batch
        self._queued: list[BatchJob] = []
        self._sent: dict[tuple[str, str, str], list[BatchJob]] = {}

    @property
    def queued(self) -> int:
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        return sum(len(jobs) for jobs in self._sent.values())

    async def add(self, messages: MessagesInput, **kwargs: Any) -> BatchJob:
        """Route one request for the batch API (or run it now when no candidate can batch);
        raises `BudgetExceeded` at once when a budget cannot hold its worst case."""
        router = self.router
        request, decision, _ = await router._prepare(
            router.request(messages, **kwargs), cached=False
        )
        decision.strategy = "batch"
        job = BatchJob(request, decision)
        for candidate in decision.plan.candidates:
            spec = router.registry.get(candidate.model)
            for dep in spec.all_deployments:
                pricing = batch_pricing(spec, dep)
                provider = router.provider(dep.provider)
                if pricing is None or not hasattr(provider, "submit_batch"):
                    continue
                budgets = router.budgets
                if budgets is not None:
                    job.hold = await ask(
                        budgets,
                        budgets.reserve,
                        request.features,
                        spec,
                        pricing,
                        hold_s=BATCH_HOLD_S,
                    )
                job.model, job.deployment, job.pricing = spec.name, dep, pricing
                reason = (
                    f"batch API of {dep.provider} at ${pricing.input:g}/${pricing.output:g} "
                    f"per M tokens (list ${spec.pricing.input:g}/${spec.pricing.output:g})"
                )
                decision.plan = decision.plan.model_copy(
                    update={"candidates": (_with_reason(candidate, reason),)}
                )
                self._queued.append(job)
                return job
        # nothing can batch it: answer now rather than never
        decision.strategy = router.strategy.name
        task = asyncio.ensure_future(router.execute(request))
        task.add_done_callback(lambda t: _copy_result(t, job.future))
        return job

    async def submit(self) -> list[str]:
        """Send the queued requests, one batch per model deployment; the batch ids."""
        groups: dict[tuple[str, str, str], list[BatchJob]] = {}
        for job in self._queued:
            assert job.model is not None
            assert job.deployment is not None
            key = (job.model, job.deployment.provider, job.deployment.model_id)
            groups.setdefault(key, []).append(job)
        self._queued = []
        ids = []
        for (_, provider_name, model_id), jobs in groups.items():
            provider: Any = self.router.provider(provider_name)
            for start in range(0, len(jobs), self.max_batch):
                chunk = jobs[start : start + self.max_batch]
                try:
                    batch_id = await provider.submit_batch(
                        model_id, [(j.request.request_id, j.request) for j in chunk]
                    )
                except ProviderError as exc:
                    for job in chunk:
                        self._deliver(job, exc)
                    continue
                for job in chunk:
                    job.batch_id = batch_id
                self._sent[(provider_name, model_id, batch_id)] = chunk
                ids.append(batch_id)
        return ids

    async def poll(self) -> int:
        """Check every batch in flight once; deliver the answers of those that ended. The
        number of requests delivered."""
        delivered = 0
        for key in list(self._sent):
            provider_name, model_id, batch_id = key
            provider: Any = self.router.provider(provider_name)
            try:
                results = await provider.poll_batch(model_id, batch_id)
            except ProviderError as exc:
                results = {j.request.request_id: exc for j in self._sent[key]}
            if results is None:
                continue
            for job in self._sent.pop(key):
                outcome = results.get(job.request.request_id)
                if outcome is None:
                    outcome = ProviderError(
                        f"batch {batch_id} has no answer for this request",
                        model=job.model,
                        provider=provider_name,
                    )
                self._deliver(job, outcome)
                delivered += 1
        return delivered

    async def run(self, *, timeout_s: float | None = None) -> None:
        """Submit what is queued, then poll every `poll_every_s` until all batches ended."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        await self.submit()
        while self._sent:
            await self.poll()
            if not self._sent:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{self.in_flight} batched requests still in flight")
            await asyncio.sleep(self.poll_every_s)

    def _deliver(self, job: BatchJob, outcome: Completion | ProviderError) -> None:
        assert job.model is not None
        assert job.deployment is not None
        assert job.pricing is not None
        router, decision, dep = self.router, job.decision, job.deployment
        latency_ms = (time.perf_counter() - job.started) * 1000
        usage = outcome.usage if isinstance(outcome, Completion) else None
        cost = job.pricing.cost(usage.prompt_tokens, usage.completion_tokens) if usage else 0.0
        error = outcome if isinstance(outcome, ProviderError) else None
        decision.attempts.append(
            construct(
                Attempt,
                model=job.model,
                provider=dep.provider,
                provider_model=outcome.provider_model
                if isinstance(outcome, Completion)
                else dep.model_id,
                outcome="ok" if error is None else "error",
                latency_ms=latency_ms,
                error_type=type(error).__name__ if error is not None else None,
                error=error.message if error is not None else None,
                status=error.status if error is not None else None,
                usage=usage,
                cost_usd=cost,
            )
        )
        budgets = router.budgets
        if job.hold is not None and budgets is not None:
            tell(budgets, budgets.settle, job.hold, cost)
        if error is not None:
            failed = AllModelsFailed("the batched request failed", [error])
            failed.decision = decision
            router._record(decision, job.started, "error", error=failed)
            job.future.set_exception(failed)
            return
        assert isinstance(outcome, Completion)
        decision.answered_by = job.model
        outcome.model = job.model
        outcome.cost_usd = cost
        outcome.decision = decision
        router._record(decision, job.started, "ok", usage=usage)
        job.future.set_result(outcome)


def _with_reason(candidate: PlannedCandidate, reason: str) -> PlannedCandidate:
    return candidate.model_copy(update={"reasons": (reason, *candidate.reasons)})


def _copy_result(task: asyncio.Future[Completion], future: asyncio.Future[Completion]) -> None:
    if future.done():
        return
    if task.cancelled():
        future.cancel()
    elif (exc := task.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(task.result())
