"""`LLMClassifier`: a small, cheap model labels each request's domain and difficulty.

The model is asked for one JSON object, `{"domain": ..., "complexity": ...}`, validated
with pydantic. A malformed answer, a provider error or a timeout never fails the call:
the fallback classifier (rules by default) decides, the event is counted in `events`
and logged once per kind (without the prompt). Capabilities the request needs always
come from the request itself.

The router awaits `aclassify` on its async paths; `classify` (dry runs, sync code) runs
the same coroutine to completion. What labelling cost is the profile's `cost_usd`, part of
the routed call's cost (`Decision.actual_cost_usd`).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langroute._sync import run_sync
from langroute.classify.base import Classifier, TaskProfile
from langroute.classify.rules import RuleClassifier
from langroute.errors import ConfigError, LangrouteError
from langroute.features import RequestFeatures
from langroute.providers.base import Provider
from langroute.registry.spec import ModelSpec, TaskDomain
from langroute.side import SideCallTimedOut, SideModel
from langroute.types import SystemMessage, UserMessage

if TYPE_CHECKING:
    from langroute.router import Router

logger = logging.getLogger(__name__)

DOMAINS = get_args(TaskDomain)
INSTRUCTIONS = (
    "You label requests sent to an AI assistant. Reply with one JSON object and nothing "
    'else: {"domain": D, "complexity": C} where D is one of '
    + ", ".join(f'"{d}"' for d in DOMAINS)
    + " and C is a number from 0 (trivial) to 1 (hard, multi-step)."
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class Label(BaseModel):
    """The answer the classifier model must give."""

    model_config = ConfigDict(extra="ignore")

    domain: TaskDomain
    complexity: float = Field(ge=0, le=1)


class LLMClassifier:
    """A small model labels each request. `LLMClassifier(Router(["gpt-4.1-nano"]))` calls it
    through a router of its own (prices, retries, budgets); `LLMClassifier(provider,
    "model-id")` calls one provider, priced from `spec` or the built-in catalog."""

    def __init__(
        self,
        labeller: Router | Provider,
        model_id: str | None = None,
        *,
        spec: ModelSpec | None = None,
        fallback: Classifier | None = None,
        timeout_s: float = 3.0,
        max_prompt_chars: int = 2000,
    ) -> None:
        self.model = SideModel(labeller, model_id, spec=spec, owner="LLMClassifier")
        self.model_id = self.model.name
        self.fallback = fallback or RuleClassifier()
        self.timeout_s = timeout_s
        self.max_prompt_chars = max_prompt_chars
        self.events: Counter[str] = Counter()
        """`ok`, `malformed`, `error` and `timeout` answers so far."""

    def _fallen_back(
        self, base: TaskProfile, kind: str, detail: str, cost_usd: float = 0.0
    ) -> TaskProfile:
        if self.events[kind] == 0:
            logger.warning(
                "LLM classifier %s gave %s (%s); using the fallback classifier",
                self.model_id,
                kind,
                detail,
            )
        self.events[kind] += 1
        signal = f"llm classifier: {kind}, fallback used"
        return base.model_copy(update={"signals": (*base.signals, signal), "cost_usd": cost_usd})

    async def aclassify(self, features: RequestFeatures) -> TaskProfile:
        base = self.fallback.classify(features)
        if not features.last_user_text.strip():
            return base
        labelling: list[SystemMessage | UserMessage] = [
            SystemMessage(content=INSTRUCTIONS),
            UserMessage(content=features.last_user_text[: self.max_prompt_chars]),
        ]
        try:
            completion = await self.model.complete(
                labelling, features, max_tokens=40, timeout_s=self.timeout_s
            )
        except SideCallTimedOut as exc:
            return self._fallen_back(base, "timeout", str(exc), exc.cost_usd)
        except ConfigError:
            raise  # a misconfigured labeller must not pass for a failing one
        except LangrouteError as exc:
            return self._fallen_back(base, "error", type(exc).__name__)
        cost = completion.cost_usd or 0.0
        text = _FENCE.sub("", (completion.content or "").strip())
        try:
            label = Label.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            return self._fallen_back(base, "malformed", type(exc).__name__, cost)
        self.events["ok"] += 1
        said = f"llm {self.model_id}: {label.domain}, complexity {label.complexity:.2f}"
        return base.model_copy(
            update={
                "domain": label.domain,
                "complexity": label.complexity,
                "confidence": 0.8,
                "signals": (*base.signals, said),
                "cost_usd": cost,
            }
        )

    def classify(self, features: RequestFeatures) -> TaskProfile:
        return run_sync(self.aclassify(features))
