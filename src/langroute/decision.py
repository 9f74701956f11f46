"""`Decision`: the record of one routed call — what was seen, planned, tried and paid."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from langroute.budget import BudgetState
from langroute.classify.base import TaskProfile
from langroute.features import RequestFeatures
from langroute.policy.base import RoutePlan, usd
from langroute.types import Completion, StreamChunk, Usage


class Attempt(BaseModel):
    """One call to one deployment: its outcome, timing, tokens and cost."""

    model_config = ConfigDict(extra="forbid")

    model: str
    provider: str
    provider_model: str
    outcome: Literal["ok", "error", "interrupted", "aborted"]
    """`aborted`: a cascade stopped this stream in its look-ahead window (cost estimated)."""
    latency_ms: float
    error_type: str | None = None
    error: str | None = None
    status: int | None = None
    usage: Usage | None = None
    cost_usd: float = 0.0


class Escalation(BaseModel):
    """A cascade's verdict on one model's answer: its score, and whether it was kept."""

    model_config = ConfigDict(extra="forbid")

    model: str
    score: float | None
    """None: not scored (a cascade keeps its last model's answer without scoring it)."""
    threshold: float
    reason: str
    accepted: bool
    scoring_cost_usd: float = 0.0
    """What scoring this answer cost (an LLM judge's call), part of the call's cost."""


class Decision(BaseModel):
    """Why a call went where it went. Same inputs, same plan: decisions are data."""

    model_config = ConfigDict(extra="forbid")

    request_id: str
    created_at: float = Field(default_factory=time.time)
    features: RequestFeatures
    profile: TaskProfile
    plan: RoutePlan
    strategy: str
    attempts: list[Attempt] = Field(default_factory=list)
    answered_by: str | None = None
    """The model that produced the answer (None for a dry run or when all failed)."""
    estimated_cost_usd: float = 0.0
    """The planned first choice's expected cost."""
    escalations: list[Escalation] = Field(default_factory=list)
    """A cascade's scores of each answer, in order (empty for other strategies)."""
    budgets: list[BudgetState] = Field(default_factory=list)
    """The budgets this call fell under, as they stood when it was planned."""
    cache: str | None = None
    """`exact` or `semantic` when the answer came from the response cache (no model call)."""
    compression: dict[str, int] | None = None
    """Prompt compression: tokens `before` and `after` (None: not compressed)."""
    arm: str | None = None
    """The A/B arm (router version) that served the call, when one did."""

    @property
    def chosen(self) -> str:
        """The model the plan puts first."""
        return self.plan.candidates[0].model

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.plan.candidates[0].reasons

    @property
    def kept_below_threshold(self) -> bool:
        """A cascade kept an answer it had scored below its threshold, because every model
        after it failed (`Cascade.keep_best`): the router does not cache it."""
        kept = self.escalations[-1] if self.escalations else None
        return kept is not None and kept.score is not None and kept.score < kept.threshold

    @property
    def actual_cost_usd(self) -> float:
        """Every attempt paid for, plus what classifying the request and scoring the answers
        cost (an LLM classifier, LLM judges)."""
        return (
            self.profile.cost_usd
            + sum(a.cost_usd for a in self.attempts)
            + sum(e.scoring_cost_usd for e in self.escalations)
        )

    def summary(self) -> dict[str, Any]:
        """The decision as compact plain data, for framework metadata
        (`response_metadata["langroute"]`, `additional_kwargs["langroute"]`)."""
        return {
            "request_id": self.request_id,
            "chosen": self.chosen,
            "answered_by": self.answered_by,
            "reasons": list(self.reasons),
            "profile": {
                "domain": self.profile.domain,
                "complexity": round(self.profile.complexity, 3),
            },
            "candidates": self.plan.models,
            "attempts": [
                {
                    "model": a.model,
                    "provider": a.provider,
                    "outcome": a.outcome,
                    "error_type": a.error_type,
                    "latency_ms": round(a.latency_ms, 1),
                    "cost_usd": a.cost_usd,
                }
                for a in self.attempts
            ],
            "escalations": [
                {
                    "model": e.model,
                    "score": None if e.score is None else round(e.score, 3),
                    "accepted": e.accepted,
                    "reason": e.reason,
                    **({"scoring_cost_usd": e.scoring_cost_usd} if e.scoring_cost_usd else {}),
                }
                for e in self.escalations
            ],
            "estimated_cost_usd": self.estimated_cost_usd,
            "actual_cost_usd": self.actual_cost_usd,
            "cache": self.cache,
            **({"compression": self.compression} if self.compression else {}),
            **({"arm": self.arm} if self.arm else {}),
            **({"kept_below_threshold": True} if self.kept_below_threshold else {}),
        }

    def explain(self) -> str:
        """A short human-readable account of the decision."""
        p = self.profile
        lines = [
            f"profile: {p.domain}, complexity {p.complexity:.2f}, confidence {p.confidence:.2f}"
            + (f", needs {sorted(p.needs)}" if p.needs else "")
            + (f" [{'; '.join(p.signals)}]" if p.signals else ""),
            f"policy {self.plan.policy} → {self.chosen}: " + "; ".join(self.reasons),
        ]
        fallbacks = self.plan.models[1:4]
        if fallbacks:
            more = len(self.plan.models) - 4
            lines.append("fallbacks: " + ", ".join(fallbacks) + (f" (+{more})" if more > 0 else ""))
        for rej in self.plan.rejected[:5]:
            lines.append(f"rejected {rej.model}: {rej.reason}")
        for a in self.attempts:
            what = "ok" if a.outcome == "ok" else f"{a.error_type}: {a.error}"
            lines.append(f"attempt {a.model}@{a.provider} ({a.latency_ms:.0f} ms): {what}")
        for e in self.escalations:
            verdict = "accepted" if e.accepted else "escalated"
            scored = "not scored" if e.score is None else f"score {e.score:.2f}"
            lines.append(f"cascade {e.model}: {scored} ({e.reason}) → {verdict}")
        if self.cache:
            lines.append(
                f"answered from the {self.cache} cache by {self.answered_by}, "
                f"cost {usd(self.actual_cost_usd)}"
            )
        if self.attempts:
            lines.append(f"answered by {self.answered_by}, cost {usd(self.actual_cost_usd)}")
        return "\n".join(lines)


Completion.model_rebuild(_types_namespace={"Decision": Decision})
StreamChunk.model_rebuild(_types_namespace={"Decision": Decision})
