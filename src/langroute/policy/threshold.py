"""The quality bar a request must clear, from the caller, the policy, or its complexity."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from langroute.policy.base import PlanContext


class QualityBar(BaseModel):
    """`fixed` if set; otherwise `base + slope * complexity`, capped at `ceiling`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fixed: float | None = Field(default=None, ge=0, le=1)
    base: float = Field(default=0.6, ge=0, le=1)
    slope: float = Field(default=0.35, ge=0, le=1)
    ceiling: float = Field(default=0.95, ge=0, le=1)

    def for_context(self, context: PlanContext) -> float:
        if context.features.hints.min_quality is not None:
            return context.features.hints.min_quality
        if self.fixed is not None:
            return self.fixed
        return min(self.ceiling, self.base + self.slope * context.profile.complexity)
