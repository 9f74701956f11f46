"""Agent-step policy: one policy for tool-selection steps, another for the steps that read
tool results and answer — so an agent's cheap steps and its final answer can go to
different models."""

from __future__ import annotations

from dataclasses import dataclass

from langroute.policy.base import PlanContext, Policy, RoutePlan, named_models


@dataclass(frozen=True)
class AgentSteps:
    """`tool_step` ranks calls with tools bound whose last message is not a tool result (the
    model is choosing tools); `after_tools` ranks calls whose last message is a tool result
    (the model reads results and usually answers); `plain` ranks everything else (defaults
    to `after_tools`)."""

    tool_step: Policy
    after_tools: Policy
    plain: Policy | None = None
    name: str = "agent-steps"

    def named_models(self) -> frozenset[str]:
        """The models its policies name, for the router's check."""
        return frozenset().union(
            *(named_models(p) for p in (self.tool_step, self.after_tools, self.plain) if p)
        )

    def step(self, context: PlanContext) -> tuple[str, Policy]:
        features = context.features
        if features.last_role == "tool":
            return "after tool results", self.after_tools
        if features.needs_tools:
            return "tool step", self.tool_step
        return "no tools", self.plain or self.after_tools

    def rank(self, context: PlanContext) -> RoutePlan:
        label, policy = self.step(context)
        plan = policy.rank(context)
        candidates = tuple(
            c.model_copy(update={"reasons": (f"{label}: {policy.name}", *c.reasons)})
            for c in plan.candidates
        )
        return plan.model_copy(
            update={"candidates": candidates, "policy": f"{self.name}/{plan.policy}"}
        )
