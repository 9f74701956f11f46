"""Budget-aware re-ranking: as spend nears a cap, cheaper models go first.

Applied by the router after the policy, because it needs the budgets' current spend (I/O);
the policy itself stays pure. A budget of one model past its `downgrade_at` moves that model
to the end; any other budget past it orders the plan cheapest first.
"""

from __future__ import annotations

from collections.abc import Sequence

from langroute._fast import construct
from langroute.budget import BudgetState
from langroute.policy.base import PlannedCandidate, RoutePlan


def budget_aware(plan: RoutePlan, states: Sequence[BudgetState]) -> RoutePlan:
    """`plan` re-ranked for the budgets in `states` (unchanged when none is near its cap)."""
    near = [s for s in states if s.used >= s.downgrade_at]
    if not near:
        return plan
    model_keys = [s.key for s in near if s.key.startswith("model=")]
    spent_models = {key.split("|")[0].removeprefix("model=") for key in model_keys}
    shared = [s for s in near if not s.key.startswith("model=")]
    candidates = list(plan.candidates)
    if shared:
        candidates.sort(key=lambda c: c.expected_cost_usd)
    candidates.sort(key=lambda c: c.model in spent_models)
    note = "; ".join(f"budget {s.budget} at {s.used:.0%} of ${s.limit_usd:g}" for s in near)
    first = candidates[0]
    reason = f"{note}: cheaper models first" if shared else f"{note}: that model last"
    candidates[0] = construct(
        PlannedCandidate, **{**first.__dict__, "reasons": (reason, *first.reasons)}
    )
    return construct(
        RoutePlan,
        policy=f"{plan.policy}+budget",
        candidates=tuple(candidates),
        rejected=plan.rejected,
        pareto_front=plan.pareto_front,
    )
