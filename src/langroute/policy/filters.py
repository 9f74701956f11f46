"""The filters every plan passes first: capabilities, context window, caller hints.

A model that lacks a capability the request needs, or whose window cannot hold the prompt
plus the asked output, is never planned — whatever the policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langroute._fast import construct
from langroute.classify.base import TaskProfile
from langroute.features import RequestFeatures
from langroute.policy.base import Estimate, Rejection, usd
from langroute.registry.spec import ModelSpec
from langroute.types import ThinkingConfig

DEFAULT_OUTPUT_TOKENS: Mapping[str, int] = {
    "chat": 250,
    "extraction": 300,
    "creative": 700,
    "reasoning": 600,
    "math": 500,
    "code": 700,
}
"""Answer length assumed for estimates when the caller gives no hint, by domain."""


def expected_output_tokens(features: RequestFeatures, profile: TaskProfile) -> int:
    if features.hints.expected_output_tokens:
        return features.hints.expected_output_tokens
    guess = DEFAULT_OUTPUT_TOKENS.get(profile.domain, 400)
    if features.max_output_tokens is not None:
        return min(guess, features.max_output_tokens)
    return guess


def _first_missing(spec: ModelSpec, needs: Sequence[str]) -> str | None:
    """The first of `needs` (sorted) that `spec` lacks, if any."""
    caps = spec.capabilities
    for need in needs:
        ok = spec.takes_json_mode if need == "json_mode" else bool(getattr(caps, need))
        if not ok:
            return need
    return None


def eligible(
    specs: Sequence[ModelSpec], features: RequestFeatures, profile: TaskProfile
) -> tuple[list[Estimate], list[Rejection]]:
    """Split `specs` into estimates of the eligible models and rejections with reasons."""
    hints = features.hints
    output_tokens = expected_output_tokens(features, profile)
    prompt_tokens = features.prompt_tokens
    asked_output = features.max_output_tokens or 0
    needs = sorted(profile.needs)
    domain = profile.domain
    forced = hints.model
    max_cost, max_latency, min_quality = hints.max_cost_usd, hints.max_latency_ms, hints.min_quality
    kept: list[Estimate] = []
    rejected: list[Rejection] = []
    for spec in specs:
        reason: str | None = None
        missing = _first_missing(spec, needs) if needs else None
        billed = spec.billed_prompt_tokens(prompt_tokens)  # the prompt in its own tokens
        if missing is not None:
            reason = f"lacks capability {missing!r}"
        elif billed + asked_output > spec.context_window:
            in_its_tokens = f" ({billed} in its tokens)" if billed != prompt_tokens else ""
            reason = (
                f"context window {spec.context_window} < prompt {prompt_tokens}{in_its_tokens}"
                f" + max output {asked_output} tokens"
            )
        elif asked_output > spec.max_output_tokens:
            reason = f"max output {spec.max_output_tokens} < asked max_tokens {asked_output}"
        elif forced is not None and spec.name != forced:
            reason = f"caller forced model {forced!r}"
        if reason is None:
            cost, latency = spec.expected_cost_and_latency(prompt_tokens, output_tokens)
            quality = spec.quality_for(domain)
            if max_cost is not None and cost > max_cost:
                reason = f"expected cost ${cost:.6f} > max_cost ${max_cost}"
            elif max_latency is not None and latency > max_latency:
                reason = f"expected latency {latency:.0f} ms > max {max_latency} ms"
            elif min_quality is not None and quality < min_quality:
                reason = f"quality prior {quality:.2f} < min_quality {min_quality}"
            else:
                kept.append(Estimate(spec, cost, latency, quality))
                continue
        rejected.append(construct(Rejection, model=spec.name, reason=reason))
    return kept, rejected


ADAPTIVE_THINKING_TOKENS = 2048
"""Thinking tokens expected of Claude's `adaptive` thinking, which sets no budget."""


def with_thinking(
    estimates: list[Estimate],
    rejected: list[Rejection],
    thinkers: frozenset[str],
    features: RequestFeatures,
    thinking: ThinkingConfig,
) -> dict[str, tuple[float, str]]:
    """Add to the estimates of the models that will think (`thinkers`) the thinking tokens
    they bill as output, at its budget (the most they may spend: a plan that left them out
    would send thinking calls to Claude as if they cost what an answer alone costs), and
    move to `rejected` those this takes past a `max_cost_usd` hint. Returns, per adjusted
    model, its expected cost and why."""
    tokens = thinking.budget_tokens or ADAPTIVE_THINKING_TOKENS
    if features.max_output_tokens is not None:
        tokens = min(tokens, features.max_output_tokens)
    max_cost = features.hints.max_cost_usd
    notes: dict[str, tuple[float, str]] = {}
    for est in list(estimates):
        spec = est.spec
        if spec.name not in thinkers:
            continue
        est.cost_usd += tokens * spec.pricing.output / 1_000_000
        est.latency_ms += 1000 * tokens / spec.latency.tokens_per_s
        if max_cost is not None and est.cost_usd > max_cost:
            estimates.remove(est)
            reason = f"expected cost {usd(est.cost_usd)} with thinking > max_cost ${max_cost}"
            rejected.append(construct(Rejection, model=spec.name, reason=reason))
            continue
        notes[spec.name] = (
            est.cost_usd,
            f"thinking: up to {tokens} more output tokens, expected cost {usd(est.cost_usd)}",
        )
    return notes
