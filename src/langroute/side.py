"""Models called beside the routed one — an LLM judge, an LLM classifier — and their cost.

A `SideModel` is either a `Router` over the helper model, whose prices, retries, fallbacks
and budgets apply, or a `Provider` and a model id, priced from `spec` or, by that id, the
built-in catalog. The routed call's tenant, user, API key and tags pass through. Every
answer comes back with its `cost_usd`, which the routed call's decision then includes.

A router with `budgets` charges its helpers' calls to them (`charge_to`, when it is built):
a provider helper reserves its worst case on them before each call and settles the real
cost after, as the router does for its own calls; a router helper without budgets of its
own is given them. So no helper call spends past a cap.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from langroute.errors import ConfigError
from langroute.features import RequestFeatures, RoutingRequest
from langroute.providers.base import Provider
from langroute.registry import ModelSpec, Registry
from langroute.state.calls import ask, tell
from langroute.types import ChatParams, Completion, SystemMessage, UserMessage

if TYPE_CHECKING:
    from langroute.budget import Budgets
    from langroute.router import Router


_CALLING: ContextVar[frozenset[int]] = ContextVar("langroute_side_calls", default=frozenset())
_DEADLINE: ContextVar[float | None] = ContextVar("langroute_side_deadline", default=None)


@contextmanager
def side_calls_until(deadline: float | None) -> Iterator[None]:
    """Helper calls made inside (a judge's, a classifier's) end by `deadline`, a
    `time.perf_counter()` time, whatever their own timeout: the routed call's `deadline_s`
    bounds them too. None: no deadline. Wrap awaits only, never a yield."""
    if deadline is None:
        yield
        return
    outer = _DEADLINE.get()
    token = _DEADLINE.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


class SideCallTimedOut(TimeoutError):
    """A helper did not answer in time: its own `timeout_s`, or what was left of the routed
    call's deadline. `cost_usd` is what its cut-off call may still be billed (its prompt,
    for a provider helper; a router helper's own records hold it)."""

    def __init__(
        self, owner: str, timeout_s: float, cost_usd: float, *, by_deadline: bool = False
    ) -> None:
        if not by_deadline:
            why = f"gave no answer in {timeout_s:g}s"
        elif timeout_s > 0:
            why = f"gave no answer in the {timeout_s:.3g}s left before the call's deadline"
        else:
            why = "was not asked: the call's deadline had passed"
        super().__init__(f"{owner} {why}")
        self.cost_usd = cost_usd


class SideModel:
    """A helper model and how to call and price it (see the module docstring)."""

    def __init__(
        self,
        target: Router | Provider,
        model_id: str | None = None,
        *,
        spec: ModelSpec | None = None,
        owner: str = "the helper model",
    ) -> None:
        from langroute.router import Router  # the router imports the strategies and scorers

        self.owner = owner
        self.router: Router | None = None
        self.provider: Provider | None = None
        self.spec: ModelSpec | None = None
        self.budgets: Budgets | None = None
        """The budgets this helper's calls are charged to (see `charge_to`)."""
        if isinstance(target, Router):
            if model_id is not None or spec is not None:
                raise ConfigError(
                    f"{owner}(router) takes no model_id or spec: the router's own models "
                    "answer, at their own prices"
                )
            self.router, self.name = target, "/".join(target.models)
            specs = [target.registry.get(m) for m in target.models]
            self.json_mode = all(s.takes_json_mode for s in specs)
            return
        if not isinstance(target, Provider):
            raise ConfigError(
                f"{owner} takes a langroute Router or Provider, got {type(target).__name__}; "
                "for a LangChain or LlamaIndex model pass an adapter's router, e.g. "
                "RoutingChatModel(models=[your_model]).router"
            )
        if model_id is None:
            raise ConfigError(
                f'{owner}(provider) needs the model to call: {owner}(provider, "model-id"), '
                "or pass a Router over that model instead"
            )
        if spec is None:
            catalog = Registry.builtin()
            if model_id not in catalog:
                raise ConfigError(
                    f"{owner} cannot price {model_id!r} (not in the built-in catalog): pass "
                    "spec=ModelSpec(...) with its pricing, or a Router over it"
                )
            spec = catalog.get(model_id)
        self.provider, self.name, self.spec = target, model_id, spec
        self.json_mode = spec.takes_json_mode

    def charge_to(self, budgets: Budgets) -> None:
        """Charge this helper's calls to `budgets`, those of the router it works for. A
        router helper with budgets of its own keeps them."""
        if self.budgets is budgets:
            return
        if self.budgets is not None:
            raise ConfigError(
                f"{self.owner} ({self.name}) serves two routers with different budgets, so "
                f"its calls could not be charged to both: give each router its own {self.owner}"
            )
        if self.router is not None and self.router.budgets is not None:
            return
        self.budgets = budgets
        if self.router is not None:
            self.router.budgets = budgets

    async def complete(
        self,
        messages: Sequence[SystemMessage | UserMessage],
        on_behalf_of: RequestFeatures,
        *,
        max_tokens: int,
        timeout_s: float,
    ) -> Completion:
        """One answer at temperature 0 (in JSON mode when the model has it), with its
        `cost_usd`, or `SideCallTimedOut` after `timeout_s` or at the routed call's deadline
        (`side_calls_until`); `on_behalf_of` is the routed call's features (its tenant,
        user, API key and tags go to the helper's budgets)."""
        limit, deadline = timeout_s, _DEADLINE.get()
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise SideCallTimedOut(self.owner, 0, 0.0, by_deadline=True)
            limit = min(limit, left)
        calling = _CALLING.get()
        if id(self) in calling:
            raise ConfigError(
                f"{self.owner} calls itself: the router it calls ({self.name}) uses the same "
                f"{self.owner}; give it a router of its own, without it"
            )
        token = _CALLING.set(calling | {id(self)})
        billed_if_cut = [0.0]
        try:
            return await asyncio.wait_for(
                self._complete(messages, on_behalf_of, max_tokens, billed_if_cut), limit
            )
        except TimeoutError:
            cost = billed_if_cut[0]
            raise SideCallTimedOut(self.owner, limit, cost, by_deadline=limit < timeout_s) from None
        finally:
            _CALLING.reset(token)

    async def _complete(
        self,
        messages: Sequence[SystemMessage | UserMessage],
        on_behalf_of: RequestFeatures,
        max_tokens: int,
        billed_if_cut: list[float],
    ) -> Completion:
        # JSON mode where every model can do it; the instructions ask for JSON anyway
        json_object = {"type": "json_object"} if self.json_mode else None
        f = on_behalf_of  # its tenant, user, API key and tags: the same budgets apply
        params = ChatParams(temperature=0, max_tokens=max_tokens, response_format=json_object)
        request = RoutingRequest.build(
            messages, params, tenant=f.tenant, user=f.user, api_key_id=f.api_key_id, tags=f.tags
        )
        if self.router is not None:
            return await self.router.execute(request)
        assert self.provider is not None
        assert self.spec is not None
        pricing, budgets = self.spec.pricing, self.budgets
        hold = None
        if budgets is not None:
            hold = await ask(budgets, budgets.reserve, request.features, self.spec, pricing)
        spent = 0.0
        try:
            done = await self.provider.complete(self.name, request)
            done.cost_usd = spent = pricing.cost_of(done.usage)
            return done
        except asyncio.CancelledError:  # e.g. the timeout: the prompt may be billed
            prompt = self.spec.billed_prompt_tokens(request.features.prompt_tokens)
            spent = billed_if_cut[0] = pricing.cost(prompt, 0)
            raise
        finally:
            if budgets is not None and hold is not None:
                tell(budgets, budgets.settle, hold, spent)


def side_models(*parts: object) -> list[SideModel]:
    """The helper models inside a router's parts (its strategy, classifier): in their
    fields, their scorers' and selectors' fields, and so on down — through the parts
    themselves, langroute objects and containers, so a user's other objects are not
    searched."""
    found: list[SideModel] = []
    seen: set[int] = set()

    def walk(obj: object, depth: int) -> None:
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, SideModel):
            found.append(obj)
        elif isinstance(obj, list | tuple | set | frozenset):
            for item in obj:
                walk(item, depth + 1)
        elif isinstance(obj, dict):
            for item in obj.values():
                walk(item, depth + 1)
        elif depth == 0 or type(obj).__module__.startswith("langroute."):
            for item in getattr(obj, "__dict__", {}).values():
                walk(item, depth + 1)

    for part in parts:
        walk(part, 0)
    return found
