"""Complexity tiers: easy requests to small models, hard ones to strong models."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from


class Tier(BaseModel):
    """Requests with complexity ≤ `max_complexity` go to `models`, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_complexity: float = Field(ge=0, le=1)
    models: tuple[str, ...] = Field(min_length=1)


class ComplexityTiers(BaseModel):
    """The first tier whose `max_complexity` covers the request is tried first; later tiers
    (stronger models) follow as fallbacks, then earlier ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tiers: tuple[Tier, ...] = Field(min_length=1)
    name: str = "complexity-tiers"

    @model_validator(mode="after")
    def _ascending(self) -> ComplexityTiers:
        bounds = [t.max_complexity for t in self.tiers]
        if bounds != sorted(bounds):
            raise ValueError(f"tiers must be in ascending max_complexity order, got {bounds}")
        if bounds[-1] < 1:
            raise ValueError("the last tier needs max_complexity = 1 so every request has a tier")
        return self

    def named_models(self) -> frozenset[str]:
        """Every model the tiers name (the router checks that it has them all)."""
        return frozenset(name for tier in self.tiers for name in tier.models)

    def rank(self, context: PlanContext) -> RoutePlan:
        by_name = {e.spec.name: e for e in context.estimates}
        c = context.profile.complexity
        start = next(i for i, t in enumerate(self.tiers) if c <= t.max_complexity)
        order: Sequence[int] = [*range(start, len(self.tiers)), *range(start - 1, -1, -1)]
        ordered: list[tuple[Estimate, list[str]]] = []
        seen: set[str] = set()
        for i in order:
            tier = self.tiers[i]
            for name in tier.models:
                if name in by_name and name not in seen:
                    seen.add(name)
                    why = (
                        f"complexity {c:.2f} ≤ {tier.max_complexity} → tier {i}"
                        if i == start
                        else f"fallback from tier {i} (≤ {tier.max_complexity})"
                    )
                    ordered.append((by_name[name], [why]))
        return plan_from(self.name, context, ordered)
