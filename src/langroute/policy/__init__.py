"""Policies: rank the eligible models for a request into a `RoutePlan`."""

from langroute.policy.base import (
    Estimate,
    PlanContext,
    PlannedCandidate,
    Policy,
    Rejection,
    RoutePlan,
)
from langroute.policy.cost import CostOptimized
from langroute.policy.domain import DomainMap
from langroute.policy.filters import eligible, expected_output_tokens
from langroute.policy.latency import LatencyOptimized
from langroute.policy.learned import LearnedPolicy
from langroute.policy.steps import AgentSteps
from langroute.policy.threshold import QualityBar
from langroute.policy.tiers import ComplexityTiers, Tier
from langroute.policy.weighted import WeightedObjective, dominates, pareto_front

__all__ = [
    "AgentSteps",
    "ComplexityTiers",
    "CostOptimized",
    "DomainMap",
    "Estimate",
    "LatencyOptimized",
    "LearnedPolicy",
    "PlanContext",
    "PlannedCandidate",
    "Policy",
    "QualityBar",
    "Rejection",
    "RoutePlan",
    "Tier",
    "WeightedObjective",
    "dominates",
    "eligible",
    "expected_output_tokens",
    "pareto_front",
]
