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
    # Lower is better on all three. A dominator sorts before what it dominates, and whatever
    # is dominated is dominated by a front member, so each point is checked only against
    # the front found so far.
    points = [(e.cost_usd, e.latency_ms, -e.quality) for e in estimates]
    front: list[tuple[float, float, float]] = []
    kept: set[int] = set()
    for i in sorted(range(len(points)), key=points.__getitem__):
        c, lat, q = point = points[i]
        if not any(f[0] <= c and f[1] <= lat and f[2] <= q and f != point for f in front):
            front.append(point)
            kept.add(i)
    return [e for i, e in enumerate(estimates) if i in kept]


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

        def scaled(values: list[float]) -> list[float]:
            lo, hi = min(values, default=0.0), max(values, default=0.0)
            return [0.0 if hi == lo else (v - lo) / (hi - lo) for v in values]

        scored = []
        for e, c, lat in zip(est, scaled(costs), scaled(lats), strict=True):
            scored.append((self.quality * e.quality - self.cost * c - self.latency * lat, e))
        scored.sort(key=lambda se: (-se[0], se[1].spec.name))
        front = {e.spec.name for e in pareto_front(est)}
        weights = f" − {self.cost}·cost′ − {self.latency}·latency′"
        ordered = [
            (
                e,
                [
                    f"score {s:.3f} = {self.quality}·q {e.quality:.2f}{weights}",
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
