"""`ModelSpec`: what the router knows about one model — price, limits, abilities, priors."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from langroute.reasoning import (
    claude_version,
    default_efforts,
    default_sampling,
    default_thinking_types,
)
from langroute.types import ReasoningEffort, ThinkingType

if TYPE_CHECKING:
    from langroute.types import Usage

TaskDomain = Literal["code", "math", "reasoning", "creative", "extraction", "chat"]
DOMAINS: tuple[TaskDomain, ...] = ("code", "math", "reasoning", "creative", "extraction", "chat")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pricing(_Config):
    """USD per million tokens, with where and when the numbers were read."""

    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")
    cached_input: float | None = Field(default=None, ge=0, description="USD per 1M cached tokens")
    cache_write: float | None = Field(
        default=None,
        ge=0,
        description="USD per 1M prompt tokens written to the provider's prompt cache (Anthropic: "
        "1.25x input for its 5-minute cache); the input price when unset",
    )
    cache_write_1h: float | None = Field(
        default=None,
        ge=0,
        description="the same for a 1-hour cache (Anthropic: 2x input); cache_write when unset",
    )
    cache_min_tokens: int = Field(
        default=1024,
        ge=1,
        description="the shortest prompt prefix the provider caches, in its tokens (Claude "
        "Haiku 4.5: 4,096): a breakpoint before it writes nothing",
    )
    batch_input: float | None = Field(default=None, ge=0)
    batch_output: float | None = Field(default=None, ge=0)
    long_context_above: int | None = Field(
        default=None,
        gt=0,
        description="a prompt longer than this many tokens is billed whole at `long_context`'s "
        "prices (GPT-6 above 272K tokens, Claude Haiku 5.5 above 100K)",
    )
    long_context: Pricing | None = None
    """The prices of a call whose prompt is longer than `long_context_above`."""
    source: str | None = None
    as_of: dt.date | None = None

    @model_validator(mode="after")
    def _long_context_given_whole(self) -> Pricing:
        if (self.long_context_above is None) != (self.long_context is None):
            raise ValueError(
                "long_context_above and long_context go together: give both (the prompt "
                "length from which a call is billed at the long-context prices, and those "
                "prices) or neither"
            )
        if self.long_context is not None and self.long_context.long_context is not None:
            raise ValueError("long_context has a long_context of its own: give one tier only")
        return self

    def for_prompt(self, prompt_tokens: int) -> Pricing:
        """The prices a call with this many prompt tokens is billed at: `long_context`'s
        above `long_context_above`, these otherwise."""
        above = self.long_context_above
        if above is not None and prompt_tokens > above and self.long_context is not None:
            return self.long_context
        return self

    def cost(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        cached_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
    ) -> float:
        """USD for one call: prompt tokens read from the cache at the cached price and those
        written to it at the write prices, when the model has them (at the long-context
        prices for a prompt past `long_context_above`)."""
        if (tier := self.for_prompt(prompt_tokens)) is not self:
            return tier.cost(
                prompt_tokens,
                completion_tokens,
                cached_tokens,
                cache_write_tokens,
                cache_write_1h_tokens,
            )
        cached = min(cached_tokens, prompt_tokens)
        written = min(cache_write_tokens, prompt_tokens - cached)
        hour = min(cache_write_1h_tokens, written)
        cached_price = self.input if self.cached_input is None else self.cached_input
        write_price, hour_price = self.write_prices()
        return (
            (prompt_tokens - cached - written) * self.input
            + cached * cached_price
            + (written - hour) * write_price
            + hour * hour_price
            + completion_tokens * self.output
        ) / 1_000_000

    def most_for(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The most a call with these counts can cost: every prompt token at the highest
        prompt price the model lists (written to its longest-lived cache)."""
        prices = self.for_prompt(prompt_tokens)
        highest = max(prices.input, *prices.write_prices())
        return (prompt_tokens * highest + completion_tokens * prices.output) / 1_000_000

    def write_prices(self) -> tuple[float, float]:
        """The prices of cache writes, 5-minute and 1-hour, with their fallbacks filled in."""
        write = self.input if self.cache_write is None else self.cache_write
        return write, write if self.cache_write_1h is None else self.cache_write_1h

    def cost_of(self, usage: Usage) -> float:
        """USD for one call's reported usage."""
        return self.cost(
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cached_tokens,
            usage.cache_write_tokens,
            usage.cache_write_1h_tokens,
        )


class Capabilities(_Config):
    """What a model can take and give besides plain text."""

    tools: bool = True
    vision: bool = False
    json_mode: bool | None = None
    """JSON without a schema (OpenAI's `response_format` `json_object`). None: told by its
    id, False for Claude (the Messages API has no such mode), True for any other."""
    structured_output: bool = False
    """Schema-constrained output (OpenAI's `json_schema`, Claude's JSON outputs)."""
    streaming: bool = True
    thinking: bool = True
    """Takes Claude's `thinking` setting (only Anthropic's API is sent it). False for a
    Claude model that refuses it: such a call reaches it without, and it answers without
    thinking, as models of other APIs do."""
    thinking_types: tuple[ThinkingType, ...] | None = None
    """The kinds of `thinking` setting it takes (`enabled` with a budget, `adaptive`,
    `disabled`); another kind asked reaches it as the nearest it takes. None: told by its id
    (`langroute.reasoning.default_thinking_types`), () for a model that is not Claude."""
    sampling: bool | None = None
    """Whether it takes temperature, top_p and top_k; a model that does not is sent none.
    None: told by its id, False for Claude Opus 4.7 and later, which answer 400 to any
    but the defaults."""
    reasoning_efforts: tuple[ReasoningEffort, ...] | None = None
    """The reasoning efforts it takes (OpenAI's `reasoning_effort`, Claude's
    `output_config.effort`); a call's other levels reach it as the nearest of these, and
    () means none: the call reaches it without (a Claude model that thinks is given the
    thinking budget the effort stands for). None: told by its id, low to high for OpenAI's
    o-series, every level for its other reasoning models (gpt-5…), none for any other."""


class LatencyPrior(_Config):
    """Typical speed before any measurement: time to first token and generation rate."""

    ttft_p50_ms: float = Field(default=500, gt=0)
    ttft_p95_ms: float = Field(default=1500, gt=0)
    tokens_per_s: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _p95_not_below_p50(self) -> LatencyPrior:
        if self.ttft_p95_ms < self.ttft_p50_ms:
            raise ValueError(
                f"ttft_p95_ms ({self.ttft_p95_ms}) is below ttft_p50_ms ({self.ttft_p50_ms}); "
                "a 95th percentile cannot be faster than the median"
            )
        return self


class Deployment(_Config):
    """One place a model is served: a provider (by name) and the model id there."""

    provider: str = Field(min_length=1)
    model_id: str = Field(min_length=1)
    pricing: Pricing | None = None
    """This provider's own price, when it differs from the model's list price."""
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    weight: float = Field(default=1.0, gt=0)


class ModelSpec(_Config):
    """A model the router may choose. Names are the router's; `version` is what is pinned."""

    name: str = Field(min_length=1)
    provider: str = Field(min_length=1, description="The provider of the default deployment")
    version: str | None = Field(default=None, description="Pinned provider model id")
    family: str | None = None
    pricing: Pricing
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    capabilities: Capabilities = Capabilities()
    quality: dict[TaskDomain, float] = Field(default_factory=dict)
    """Prior probability of a good answer per task domain, in [0, 1]."""
    default_quality: float = Field(default=0.5, ge=0, le=1)
    latency: LatencyPrior = LatencyPrior()
    prompt_token_factor: float = Field(default=1.0, ge=0.5, le=4)
    """Prompt tokens the provider bills per o200k token the router counts: above 1 for
    tokenizers that cut text finer. Expected costs and the context-window filter use it;
    budget holds use it until the model's own calls have shown the real ratio."""
    output_token_factor: float = Field(default=1.0, ge=1, le=50)
    """Billed output tokens per visible answer token: above 1 for reasoning models, which
    bill hidden thinking tokens as output. Used only for estimates."""
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    deployments: tuple[Deployment, ...] = ()
    """Where it is served; empty means one deployment at `provider` with id `version`."""
    shutdown: dt.date | None = None
    """The day its provider stops serving it, as the provider's deprecations page says: from
    that day (UTC) on, routers leave it out of their plans (`langroute.registry.lifecycle`).
    Override it to None for an endpoint of your own that keeps serving the model."""
    replacement: str | None = None
    """The model its provider recommends instead, named in the warnings and plan reasons."""
    shutdown_source: str | None = None
    """Where `shutdown` was read."""

    @field_validator("quality")
    @classmethod
    def _quality_in_unit_interval(cls, value: dict[TaskDomain, float]) -> dict[TaskDomain, float]:
        for domain, q in value.items():
            if not 0 <= q <= 1:
                raise ValueError(f"quality[{domain!r}] = {q} is outside [0, 1]")
        return value

    @model_validator(mode="after")
    def _output_fits_window(self) -> ModelSpec:
        if self.max_output_tokens > self.context_window:
            raise ValueError(
                f"max_output_tokens ({self.max_output_tokens}) exceeds context_window "
                f"({self.context_window})"
            )
        return self

    _deployments: tuple[Deployment, ...] = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._deployments = self.deployments or (
            Deployment(provider=self.provider, model_id=self.version or self.name),
        )

    @property
    def all_deployments(self) -> tuple[Deployment, ...]:
        """The deployments to try, in order (a default one when none are listed)."""
        return self._deployments

    @property
    def thinking_types(self) -> tuple[ThinkingType, ...]:
        """The kinds of Claude's `thinking` it takes: its capabilities', else those its
        deployment's id tells (`langroute.reasoning.default_thinking_types`)."""
        given = self.capabilities.thinking_types
        if given is not None:
            return given
        return default_thinking_types(self._deployments[0].model_id)

    @property
    def takes_json_mode(self) -> bool:
        """Whether it gives JSON without a schema: its capabilities', else as every
        deployment's id tells (none of Claude's does)."""
        given = self.capabilities.json_mode
        if given is not None:
            return given
        return all(claude_version(dep.model_id) is None for dep in self._deployments)

    @property
    def takes_sampling(self) -> bool:
        """Whether it takes temperature, top_p and top_k: its capabilities', else as every
        deployment's id tells (`langroute.reasoning.default_sampling`)."""
        given = self.capabilities.sampling
        if given is not None:
            return given
        return all(default_sampling(dep.model_id) for dep in self._deployments)

    @property
    def reasoning_efforts(self) -> tuple[ReasoningEffort, ...]:
        """The reasoning efforts it takes: its capabilities', else those its deployments'
        ids tell (`langroute.reasoning.default_efforts`)."""
        given = self.capabilities.reasoning_efforts
        if given is not None:
            return given
        return max((default_efforts(dep.model_id) for dep in self._deployments), key=len)

    def quality_for(self, domain: str) -> float:
        return self.quality.get(domain, self.default_quality)  # type: ignore[call-overload, no-any-return]

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        """USD for a call with these billed token counts, at the list price."""
        return self.pricing.cost(prompt_tokens, completion_tokens, cached_tokens)

    def billed_prompt_tokens(self, counted: int) -> int:
        """The prompt tokens this model's provider is expected to bill for `counted` o200k
        tokens (`prompt_token_factor`)."""
        factor = self.prompt_token_factor
        return counted if factor == 1.0 else math.ceil(counted * factor)

    def expected_cost(self, prompt_tokens: int, answer_tokens: int) -> float:
        """USD expected for a call whose visible answer is `answer_tokens` long."""
        return self.pricing.cost(
            self.billed_prompt_tokens(prompt_tokens),
            round(answer_tokens * self.output_token_factor),
        )

    def expected_cost_and_latency(
        self, prompt_tokens: int, answer_tokens: int
    ) -> tuple[float, float]:
        """`expected_cost` and `latency_ms` in one call: the plan asks both of every model.
        Their formulas are inlined here: calling them cost the 5-model plan ~2 µs (~6 %)."""
        billed = answer_tokens * self.output_token_factor
        pricing, latency = self.pricing, self.latency
        prompt_tokens = self.billed_prompt_tokens(prompt_tokens)
        if pricing.long_context_above is not None:
            pricing = pricing.for_prompt(prompt_tokens)
        cost = (prompt_tokens * pricing.input + round(billed) * pricing.output) / 1_000_000
        return cost, latency.ttft_p50_ms + 1000 * billed / latency.tokens_per_s

    def latency_ms(self, answer_tokens: int) -> float:
        """Expected wall time of a call: median time to first token plus generation."""
        billed = answer_tokens * self.output_token_factor
        return self.latency.ttft_p50_ms + 1000 * billed / self.latency.tokens_per_s


class ProviderSpec(_Config):
    """How to reach a provider: its protocol, base URL and the env variable holding its key."""

    kind: Literal["openai", "anthropic"]
    base_url: str
    api_key_env: str | None = None
    """Environment variable with the key; None for keyless local servers."""
    base_url_env: str | None = None
    """Environment variable that, when set, replaces `base_url` (a proxy, a gateway, a local
    server): the catalog's providers read `<PREFIX>_BASE_URL`, the prefix of their key's
    variable (`OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`, as the official SDKs do)."""
    request_fields: dict[str, str] = Field(default_factory=dict)
    """For an OpenAI-compatible server that names a request field otherwise, or refuses it
    (`""`): Mistral's `{seed = "random_seed", stream_options = ""}`."""
    send_cache_control: bool = False
    """For an OpenAI-compatible gateway that passes prompt-cache breakpoints on to Claude
    (OpenRouter): send them. Anthropic providers always do; OpenAI's caches on its own."""

    @model_validator(mode="after")
    def _fields_only_for_openai(self) -> ProviderSpec:
        for field in ("request_fields", "send_cache_control"):
            if getattr(self, field) and self.kind != "openai":
                raise ValueError(f"{field} applies to kind = 'openai' providers only")
        return self
