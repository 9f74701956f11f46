"""Latency-optimized: the fastest model whose expected quality meets the bar."""

from __future__ import annotations

from dataclasses import dataclass, field

from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from
from langroute.policy.threshold import QualityBar


@dataclass(frozen=True)
class LatencyOptimized:
    """Models meeting the quality bar, fastest expected wall time first; then the rest."""

    bar: QualityBar = field(default_factory=QualityBar)
    fallback_below_bar: bool = True
    name: str = "latency-optimized"

    def rank(self, context: PlanContext) -> RoutePlan:
        bar = self.bar.for_context(context)
        meets = sorted(
            (e for e in context.estimates if e.quality >= bar),
            key=lambda e: (e.latency_ms, e.cost_usd, e.spec.name),
        )
        below = sorted(
            (e for e in context.estimates if e.quality < bar),
            key=lambda e: (-e.quality, e.latency_ms, e.spec.name),
        )
        ordered: list[tuple[Estimate, list[str]]] = [
            (
                e,
                [
                    f"quality {e.quality:.2f} ≥ bar {bar:.2f}",
                    f"expected latency {e.latency_ms:.0f} ms"
                    + (" (fastest)" if i == 0 else f" (fallback #{i})"),
                ],
            )
            for i, e in enumerate(meets)
        ]
        if not meets and below:
            best = below.pop(0)
            ordered.append(
                (best, [f"no model meets bar {bar:.2f}; best quality {best.quality:.2f}"])
            )
        if self.fallback_below_bar:
            ordered += [
                (e, [f"quality {e.quality:.2f} < bar {bar:.2f}: last-resort fallback"])
                for e in below
            ]
        return plan_from(self.name, context, ordered)
