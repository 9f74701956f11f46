"""Cost-optimized: the cheapest model whose expected quality meets the bar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from, usd
from langroute.policy.threshold import QualityBar


@dataclass(frozen=True)
class CostOptimized:
    """Models meeting the quality bar, cheapest first; then the rest, best first, as a
    last-resort fallback (drop them with `fallback_below_bar=False`)."""

    bar: QualityBar = field(default_factory=QualityBar)
    fallback_below_bar: bool = True
    name: str = "cost-optimized"

    def rank(self, context: PlanContext) -> RoutePlan:
        bar = self.bar.for_context(context)
        meets: list[Estimate] = []
        below: list[Estimate] = []
        for e in context.estimates:
            (meets if e.quality >= bar else below).append(e)
        meets.sort(key=lambda e: (e.cost_usd, -e.quality, e.spec.name))
        below.sort(key=lambda e: (-e.quality, e.cost_usd, e.spec.name))
        ordered: list[tuple[Estimate, Sequence[str]]] = []
        meets_bar = f" ≥ bar {bar:.2f} for {context.profile.domain}"
        for rank, est in enumerate(meets):
            cost = f"expected cost {usd(est.cost_usd)}"
            ordered.append(
                (
                    est,
                    (
                        f"quality {est.quality:.2f}{meets_bar}",
                        f"cheapest that meets the bar, {cost}"
                        if rank == 0
                        else f"fallback #{rank}: next cheapest, {cost}",
                    ),
                )
            )
        if not meets and below:
            best = below.pop(0)
            ordered.append(
                (
                    best,
                    (
                        f"no model meets bar {bar:.2f}; best quality "
                        f"{best.quality:.2f}, expected cost {usd(best.cost_usd)}",
                    ),
                )
            )
        if self.fallback_below_bar:
            below_bar = f" < bar {bar:.2f}: last-resort fallback"
            for est in below:
                ordered.append((est, (f"quality {est.quality:.2f}{below_bar}",)))
        return plan_from(self.name, context, ordered)
