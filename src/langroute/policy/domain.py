"""Domain map: each task domain has its own ordered list of models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from langroute.policy.base import Estimate, PlanContext, RoutePlan, plan_from
from langroute.registry.spec import TaskDomain


class DomainMap(BaseModel):
    """`routes[domain]` first, in order; then `default`; unlisted eligible models are not used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: dict[TaskDomain, tuple[str, ...]]
    default: tuple[str, ...] = Field(min_length=1)
    name: str = "domain-map"

    def named_models(self) -> frozenset[str]:
        """Every model this map names (the router checks that it has them all)."""
        return frozenset(self.default).union(*self.routes.values())

    def rank(self, context: PlanContext) -> RoutePlan:
        by_name = {e.spec.name: e for e in context.estimates}
        domain = context.profile.domain
        ordered: list[tuple[Estimate, list[str]]] = []
        seen: set[str] = set()
        for name in self.routes.get(domain, ()):
            if name in by_name and name not in seen:
                seen.add(name)
                ordered.append((by_name[name], [f"domain {domain!r} → {name}"]))
        for name in self.default:
            if name in by_name and name not in seen:
                seen.add(name)
                ordered.append((by_name[name], [f"default route (domain {domain!r})"]))
        return plan_from(self.name, context, ordered)
