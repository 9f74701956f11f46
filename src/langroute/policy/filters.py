"""The filters every plan passes first: capabilities, context window, caller hints.

A model that lacks a capability the request needs, or whose window cannot hold the prompt
plus the asked output, is never planned — whatever the policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langroute._fast import construct
from langroute.classify.base import TaskProfile
from langroute.features import RequestFeatures
from langroute.policy.base import Estimate, Rejection
from langroute.registry.spec import ModelSpec

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


def missing_capability(spec: ModelSpec, profile: TaskProfile) -> str | None:
    caps = spec.capabilities
    for need in sorted(profile.needs):
        if need == "json_mode":
            ok = caps.json_mode or caps.structured_output
        else:
            ok = bool(getattr(caps, need))
        if not ok:
            return need
    return None


def estimate(
    spec: ModelSpec, features: RequestFeatures, profile: TaskProfile, output_tokens: int
) -> Estimate:
    return Estimate(
        spec=spec,
        cost_usd=spec.expected_cost(features.prompt_tokens, output_tokens),
        latency_ms=spec.latency_ms(output_tokens),
        quality=spec.quality_for(profile.domain),
    )


def eligible(
    specs: Sequence[ModelSpec], features: RequestFeatures, profile: TaskProfile
) -> tuple[list[Estimate], list[Rejection]]:
    """Split `specs` into estimates of the eligible models and rejections with reasons."""
    hints = features.hints
    output_tokens = expected_output_tokens(features, profile)
    asked_output = features.max_output_tokens or 0
    kept: list[Estimate] = []
    rejected: list[Rejection] = []
    for spec in specs:
        reason: str | None = None
        missing = missing_capability(spec, profile)
        if missing is not None:
            reason = f"lacks capability {missing!r}"
        elif features.prompt_tokens + asked_output > spec.context_window:
            reason = (
                f"context window {spec.context_window} < prompt {features.prompt_tokens}"
                f" + max output {asked_output} tokens"
            )
        elif asked_output > spec.max_output_tokens:
            reason = f"max output {spec.max_output_tokens} < asked max_tokens {asked_output}"
        elif hints.model is not None and spec.name != hints.model:
            reason = f"caller forced model {hints.model!r}"
        if reason is None:
            est = estimate(spec, features, profile, output_tokens)
            if hints.max_cost_usd is not None and est.cost_usd > hints.max_cost_usd:
                reason = f"expected cost ${est.cost_usd:.6f} > max_cost ${hints.max_cost_usd}"
            elif hints.max_latency_ms is not None and est.latency_ms > hints.max_latency_ms:
                reason = f"expected latency {est.latency_ms:.0f} ms > max {hints.max_latency_ms} ms"
            elif hints.min_quality is not None and est.quality < hints.min_quality:
                reason = f"quality prior {est.quality:.2f} < min_quality {hints.min_quality}"
            else:
                kept.append(est)
                continue
        rejected.append(construct(Rejection, model=spec.name, reason=reason))
    return kept, rejected
