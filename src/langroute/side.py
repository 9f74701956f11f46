"""Models called beside the routed one — an LLM judge, an LLM classifier — and their cost.

A `SideModel` is either a `Router` over the helper model, whose prices, retries, fallbacks
and budgets apply (the routed call's tenant, user and tags pass through, so a `Budgets`
shared with the routed router charges the helper's calls to the same caps), or a
`Provider` and a model id, priced from `spec` or, by that id, the built-in catalog. Every
answer comes back with its `cost_usd`, which the routed call's decision then includes.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from langroute.errors import ConfigError
from langroute.features import RequestFeatures, RoutingRequest
from langroute.providers.base import Provider
from langroute.registry import ModelSpec, Pricing, Registry
from langroute.types import ChatParams, Completion, SystemMessage, UserMessage

if TYPE_CHECKING:
    from langroute.router import Router


_CALLING: ContextVar[frozenset[int]] = ContextVar("langroute_side_calls", default=frozenset())


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
        self.pricing: Pricing | None = None
        if isinstance(target, Router):
            if model_id is not None or spec is not None:
                raise ConfigError(
                    f"{owner}(router) takes no model_id or spec: the router's own models "
                    "answer, at their own prices"
                )
            self.router, self.name = target, "/".join(target.models)
            specs = [target.registry.get(m) for m in target.models]
            self.json_mode = all(s.capabilities.json_mode for s in specs)
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
        self.provider, self.name, self.pricing = target, model_id, spec.pricing
        self.json_mode = spec.capabilities.json_mode

    async def complete(
        self,
        messages: Sequence[SystemMessage | UserMessage],
        on_behalf_of: RequestFeatures,
        *,
        max_tokens: int,
    ) -> Completion:
        """One answer at temperature 0 (in JSON mode when the model has it), with its
        `cost_usd`; `on_behalf_of` is the routed call's features (its tenant, user and tags
        go to a side router's budgets)."""
        calling = _CALLING.get()
        if id(self) in calling:
            raise ConfigError(
                f"{self.owner} calls itself: the router it calls ({self.name}) uses the same "
                f"{self.owner}; give it a router of its own, without it"
            )
        token = _CALLING.set(calling | {id(self)})
        try:
            return await self._complete(messages, on_behalf_of, max_tokens)
        finally:
            _CALLING.reset(token)

    async def _complete(
        self,
        messages: Sequence[SystemMessage | UserMessage],
        on_behalf_of: RequestFeatures,
        max_tokens: int,
    ) -> Completion:
        # JSON mode where every model can do it; the instructions ask for JSON anyway
        json_object = {"type": "json_object"} if self.json_mode else None
        if self.router is not None:
            f = on_behalf_of
            request = self.router.request(
                list(messages),
                tenant=f.tenant,
                user=f.user,
                tags=f.tags,
                temperature=0,
                max_tokens=max_tokens,
                response_format=json_object,
            )
            return await self.router.execute(request)
        assert self.provider is not None
        assert self.pricing is not None
        params = ChatParams(temperature=0, max_tokens=max_tokens, response_format=json_object)
        done = await self.provider.complete(self.name, RoutingRequest.build(messages, params))
        u = done.usage
        done.cost_usd = self.pricing.cost(u.prompt_tokens, u.completion_tokens, u.cached_tokens)
        return done
