"""The `Policy` protocol, the `RoutePlan` it returns, and the estimates policies rank by."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from langroute._fast import construct
from langroute.classify.base import TaskProfile
from langroute.features import RequestFeatures
from langroute.registry.spec import ModelSpec


class PlannedCandidate(BaseModel):
    """One model in a plan, with why it is there and what it is expected to cost and give."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    reasons: tuple[str, ...]
    expected_cost_usd: float
    expected_latency_ms: float
    expected_quality: float


class Rejection(BaseModel):
    """A model left out of the plan, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    reason: str


class RoutePlan(BaseModel):
    """Ordered candidates (first is the choice, the rest the fallback chain) and rejections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str
    candidates: tuple[PlannedCandidate, ...]
    rejected: tuple[Rejection, ...] = ()
    pareto_front: tuple[str, ...] = ()
    """Models not dominated on (cost, latency, quality), for multi-objective policies."""

    @property
    def chosen(self) -> PlannedCandidate:
        return self.candidates[0]

    @property
    def models(self) -> list[str]:
        return [c.model for c in self.candidates]


@dataclass(slots=True)
class Estimate:
    """What one model is expected to cost, take and give for this request."""

    spec: ModelSpec
    cost_usd: float
    latency_ms: float
    quality: float

    def planned(self, *reasons: str) -> PlannedCandidate:
        return _planned(self, reasons)


def _planned(est: Estimate, reasons: Sequence[str]) -> PlannedCandidate:
    return construct(
        PlannedCandidate,
        model=est.spec.name,
        reasons=tuple(reasons),
        expected_cost_usd=est.cost_usd,
        expected_latency_ms=est.latency_ms,
        expected_quality=est.quality,
    )


@dataclass(slots=True)
class PlanContext:
    """What a policy ranks: the request, its profile, and the models that passed the filters."""

    features: RequestFeatures
    profile: TaskProfile
    estimates: Sequence[Estimate]
    rejected: Sequence[Rejection] = ()


@runtime_checkable
class Policy(Protocol):
    """Orders the eligible models for one request. Pure and fast: no I/O."""

    @property
    def name(self) -> str: ...

    def rank(self, context: PlanContext) -> RoutePlan: ...


def plan_from(
    policy: str,
    context: PlanContext,
    ordered: Sequence[tuple[Estimate, Sequence[str]]],
    *,
    pareto_front: Sequence[str] = (),
) -> RoutePlan:
    return construct(
        RoutePlan,
        policy=policy,
        candidates=tuple(_planned(est, reasons) for est, reasons in ordered),
        rejected=tuple(context.rejected),
        pareto_front=tuple(pareto_front),
    )


def usd(value: float) -> str:
    return f"${value:.6f}" if value < 0.01 else f"${value:.4f}"


def named_models(policy: Policy) -> frozenset[str]:
    """The model names a policy is configured with (a domain map's, tiers'), if any: they
    must all be the router's models, or a typo would silently change the routing."""
    named = getattr(policy, "named_models", None)
    return frozenset(named()) if callable(named) else frozenset()
