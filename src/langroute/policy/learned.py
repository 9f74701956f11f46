"""`LearnedPolicy`: rank candidates by a trained router's predicted quality per prompt.

The artifact (from `langroute train`) predicts each of its models' quality from the last
user message; the registry prices each candidate for this request. Its operating point
picks the first choice (cheapest clearing τ, or the best quality − λ·relative cost); the
other models follow by predicted quality as the fallback chain. Candidates the artifact
was not trained on come last. Needs the `learn` extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from langroute.errors import ConfigError
from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from, usd

if TYPE_CHECKING:
    from langroute.learned.router import LearnedRouter, OperatingPoint


class LearnedPolicy:
    """`aliases` maps the artifact's model names to this router's (e.g. the dataset's
    "gpt-4-1106-preview" to the catalog's "gpt-4.1")."""

    name = "learned"

    def __init__(
        self,
        router: LearnedRouter,
        *,
        aliases: Mapping[str, str] | None = None,
        operating_point: OperatingPoint | None = None,
    ) -> None:
        self.router = router
        self.point = operating_point or router.operating_point
        aliases = dict(aliases or {})
        unknown = sorted(set(aliases) - set(router.models))
        if unknown:
            raise ConfigError(
                f"aliases name models the learned router does not know: {unknown}; "
                f"it was trained on {router.models}"
            )
        self._index = {aliases.get(m, m): i for i, m in enumerate(router.models)}

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        aliases: Mapping[str, str] | None = None,
        operating_point: OperatingPoint | None = None,
    ) -> LearnedPolicy:
        try:
            from langroute.learned.router import LearnedRouter
        except ImportError as exc:
            raise ConfigError(
                f"the learned policy needs the learn extra ({exc.name} is missing): "
                "pip install 'langroute[learn]'"
            ) from exc
        return cls(LearnedRouter.load(path), aliases=aliases, operating_point=operating_point)

    def rank(self, context: PlanContext) -> RoutePlan:
        predicted = self.router.predict([context.features.last_user_text]).quality[0]
        known: list[tuple[Estimate, float]] = []
        unknown: list[Estimate] = []
        for est in context.estimates:
            i = self._index.get(est.spec.name)
            if i is None:
                unknown.append(est)
            else:
                known.append((est, float(predicted[i])))
        by_quality = sorted(known, key=lambda eq: (-eq[1], eq[0].cost_usd, eq[0].spec.name))
        first = self._first(known)
        ordered: list[tuple[Estimate, list[str]]] = []
        point = f"{self.point.rule}={self.point.value:.3g}"
        for est, q in ([first] if first else []) + [eq for eq in by_quality if eq is not first]:
            why = f"predicted quality {q:.2f} ({self.router.info.estimator} over "
            why += f"{self.router.info.embedder}), expected cost {usd(est.cost_usd)}"
            role = (
                f"chosen at operating point {point}"
                if not ordered
                else f"fallback #{len(ordered)}: next best predicted quality"
            )
            ordered.append((est.__class__(est.spec, est.cost_usd, est.latency_ms, q), [why, role]))
        for est in sorted(unknown, key=lambda e: (e.cost_usd, e.spec.name)):
            ordered.append((est, ["not in the learned router's training data: last resort"]))
        return plan_from(self.name, context, ordered)

    def _first(self, known: list[tuple[Estimate, float]]) -> tuple[Estimate, float] | None:
        if not known:
            return None
        if self.point.rule == "threshold":
            clears = [eq for eq in known if eq[1] >= self.point.value]
            if clears:
                return min(clears, key=lambda eq: (eq[0].cost_usd, -eq[1]))
            return max(known, key=lambda eq: (eq[1], -eq[0].cost_usd))
        scale = max(eq[0].cost_usd for eq in known) or 1.0
        return max(
            known,
            key=lambda eq: (eq[1] - self.point.value * eq[0].cost_usd / scale, -eq[0].cost_usd),
        )
