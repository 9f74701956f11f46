"""Weighted multi-objective over cost, latency and quality, with the Pareto front exposed."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from


def dominates(a: Estimate, b: Estimate) -> bool:
    """`a` is no worse than `b` on cost, latency and quality, and better on one."""
    no_worse = a.cost_usd <= b.cost_usd and a.latency_ms <= b.latency_ms and a.quality >= b.quality
    better = a.cost_usd < b.cost_usd or a.latency_ms < b.latency_ms or a.quality > b.quality
    return no_worse and better


def pareto_front(estimates: Sequence[Estimate]) -> list[Estimate]:
    """The estimates no other estimate dominates, in input order."""
    return [e for e in estimates if not any(dominates(o, e) for o in estimates if o is not e)]


class WeightedObjective(BaseModel):
    """score = w_q·quality − w_c·cost′ − w_l·latency′, with cost′ and latency′ scaled to [0, 1]
    on a log scale across the candidates; highest score first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quality: float = Field(default=1.0, ge=0)
    cost: float = Field(default=0.5, ge=0)
    latency: float = Field(default=0.2, ge=0)
    name: str = "weighted"

    @model_validator(mode="after")
    def _some_weight(self) -> WeightedObjective:
        if self.quality + self.cost + self.latency == 0:
            raise ValueError("at least one of the weights quality, cost, latency must be > 0")
        return self

    def rank(self, context: PlanContext) -> RoutePlan:
        est = list(context.estimates)
        costs = [math.log10(max(e.cost_usd, 1e-9)) for e in est]
        lats = [math.log10(max(e.latency_ms, 1e-3)) for e in est]

        def scale(values: list[float], v: float) -> float:
            lo, hi = min(values), max(values)
            return 0.0 if hi == lo else (v - lo) / (hi - lo)

        scored = []
        for e, c, lat in zip(est, costs, lats, strict=True):
            score = (
                self.quality * e.quality
                - self.cost * scale(costs, c)
                - self.latency * scale(lats, lat)
            )
            scored.append((score, e))
        scored.sort(key=lambda se: (-se[0], se[1].spec.name))
        front = {e.spec.name for e in pareto_front(est)}
        ordered = [
            (
                e,
                [
                    f"score {s:.3f} = {self.quality}·q {e.quality:.2f} − {self.cost}·cost′ − "
                    f"{self.latency}·latency′",
                    "on the Pareto front"
                    if e.spec.name in front
                    else "dominated on cost/latency/quality",
                ],
            )
            for s, e in scored
        ]
        return plan_from(
            self.name,
            context,
            ordered,
            pareto_front=[e.spec.name for e in est if e.spec.name in front],
        )
