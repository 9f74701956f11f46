"""`LLMClassifier`: a small, cheap model labels each request's domain and difficulty.

The model is asked for one JSON object, `{"domain": ..., "complexity": ...}`, validated
with pydantic. A malformed answer, a provider error or a timeout never fails the call:
the fallback classifier (rules by default) decides, the event is counted in `events`
and logged once per kind (without the prompt). Capabilities the request needs always
come from the request itself.

The router awaits `aclassify` on its async paths; `classify` (dry runs, sync code) runs
the same coroutine to completion.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langroute._sync import run_sync
from langroute.classify.base import Classifier, TaskProfile
from langroute.classify.rules import RuleClassifier
from langroute.errors import ProviderError
from langroute.features import RequestFeatures, RoutingRequest
from langroute.providers.base import Provider
from langroute.registry.spec import TaskDomain
from langroute.types import ChatParams, SystemMessage, UserMessage

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
    def __init__(
        self,
        provider: Provider,
        model_id: str,
        *,
        fallback: Classifier | None = None,
        timeout_s: float = 3.0,
        max_prompt_chars: int = 2000,
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.fallback = fallback or RuleClassifier()
        self.timeout_s = timeout_s
        self.max_prompt_chars = max_prompt_chars
        self.events: Counter[str] = Counter()
        """`ok`, `malformed`, `error` and `timeout` answers so far."""

    def _request(self, text: str) -> RoutingRequest:
        return RoutingRequest.build(
            [
                SystemMessage(content=INSTRUCTIONS),
                UserMessage(content=text[: self.max_prompt_chars]),
            ],
            ChatParams(temperature=0, max_tokens=40, response_format={"type": "json_object"}),
        )

    def _fallen_back(self, base: TaskProfile, kind: str, detail: str) -> TaskProfile:
        if self.events[kind] == 0:
            logger.warning(
                "LLM classifier %s gave %s (%s); using the fallback classifier",
                self.model_id,
                kind,
                detail,
            )
        self.events[kind] += 1
        signal = f"llm classifier: {kind}, fallback used"
        return base.model_copy(update={"signals": (*base.signals, signal)})

    async def aclassify(self, features: RequestFeatures) -> TaskProfile:
        base = self.fallback.classify(features)
        if not features.last_user_text.strip():
            return base
        try:
            completion = await asyncio.wait_for(
                self.provider.complete(self.model_id, self._request(features.last_user_text)),
                self.timeout_s,
            )
        except TimeoutError:
            return self._fallen_back(base, "timeout", f"no answer in {self.timeout_s}s")
        except ProviderError as exc:
            return self._fallen_back(base, "error", type(exc).__name__)
        text = _FENCE.sub("", (completion.content or "").strip())
        try:
            label = Label.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            return self._fallen_back(base, "malformed", type(exc).__name__)
        self.events["ok"] += 1
        said = f"llm {self.model_id}: {label.domain}, complexity {label.complexity:.2f}"
        return base.model_copy(
            update={
                "domain": label.domain,
                "complexity": label.complexity,
                "confidence": 0.8,
                "signals": (*base.signals, said),
            }
        )

    def classify(self, features: RequestFeatures) -> TaskProfile:
        return run_sync(self.aclassify(features))
