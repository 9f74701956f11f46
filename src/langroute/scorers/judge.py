"""`LLMJudge`: a cheap model grades the answer against the question (JSON `{"score": s}`).

A judge that fails or answers badly abstains with a neutral score (counted in `events`),
so a broken judge never blocks an answer by itself. What each grading call cost is on its
`Score`, so the graded call's decision and `cost_usd` include it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from langroute.errors import ConfigError, LangrouteError
from langroute.features import RoutingRequest
from langroute.providers.base import Provider
from langroute.registry import ModelSpec, Pricing, Registry
from langroute.scorers.base import Answer, Score
from langroute.types import ChatParams, Completion, SystemMessage, UserMessage

if TYPE_CHECKING:
    from langroute.router import Router

INSTRUCTIONS = (
    "You grade answers. Given a question and an answer, reply with one JSON object and "
    'nothing else: {"score": S}, where S is from 0 (wrong or useless) to 1 (correct and '
    "complete)."
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class _Grade(BaseModel):
    score: float = Field(ge=0, le=1)


class LLMJudge:
    """A cheap model grades each answer from 0 to 1.

    `LLMJudge(Router(["gpt-4.1-nano"]))`: the judge router's prices, retries, fallbacks and
    budgets apply to the grading calls (give it the graded router's `Budgets` to charge
    them to the same tenant and user). Or `LLMJudge(provider, "model-id")`: one provider
    call, priced from `spec` or, by that name, the built-in catalog.
    """

    def __init__(
        self,
        judge: Router | Provider,
        model_id: str | None = None,
        *,
        spec: ModelSpec | None = None,
        timeout_s: float = 5.0,
        neutral: float = 0.5,
    ) -> None:
        from langroute.router import Router  # the router imports the strategies and scorers

        self.router: Router | None = None
        self.provider: Provider | None = None
        self.pricing: Pricing | None = None
        if isinstance(judge, Router):
            if model_id is not None or spec is not None:
                raise ConfigError(
                    "LLMJudge(router) takes no model_id or spec: the router's own models "
                    "grade, at their own prices"
                )
            self.router, self.model_id = judge, "/".join(judge.models)
        else:
            if model_id is None:
                raise ConfigError(
                    "LLMJudge(provider) needs the grading model: LLMJudge(provider, "
                    '"model-id"), or pass a Router over the grading model instead'
                )
            catalog = Registry.builtin()
            if spec is None and model_id not in catalog:
                raise ConfigError(
                    f"LLMJudge cannot price {model_id!r} (not in the built-in catalog): pass "
                    "spec=ModelSpec(...) with its pricing, or a Router over it"
                )
            self.provider, self.model_id = judge, model_id
            self.pricing = (spec or catalog.get(model_id)).pricing
        self.timeout_s = timeout_s
        self.neutral = neutral
        self.events: Counter[str] = Counter()

    async def _grade(self, request: RoutingRequest, answer: Answer) -> Completion:
        question = request.features.last_user_text[:4000]
        messages: list[SystemMessage | UserMessage] = [
            SystemMessage(content=INSTRUCTIONS),
            UserMessage(content=f"Question:\n{question}\n\nAnswer:\n{answer.content[:4000]}"),
        ]
        json_object = {"type": "json_object"}
        if self.router is not None:
            f = request.features
            grading = self.router.request(
                messages,
                tenant=f.tenant,
                user=f.user,
                tags=f.tags,
                temperature=0,
                max_tokens=20,
                response_format=json_object,
            )
            return await self.router.execute(grading)
        assert self.provider is not None
        assert self.pricing is not None
        params = ChatParams(temperature=0, max_tokens=20, response_format=json_object)
        done = await self.provider.complete(self.model_id, RoutingRequest.build(messages, params))
        u = done.usage
        done.cost_usd = self.pricing.cost(u.prompt_tokens, u.completion_tokens, u.cached_tokens)
        return done

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        try:
            done = await asyncio.wait_for(self._grade(request, answer), self.timeout_s)
        except (TimeoutError, LangrouteError) as exc:
            return self._abstain(exc, 0.0)
        cost = done.cost_usd or 0.0
        try:
            grade = _Grade.model_validate(json.loads(_FENCE.sub("", done.content or "")))
        except (ValueError, ValidationError) as exc:
            return self._abstain(exc, cost)
        self.events["ok"] += 1
        return Score(grade.score, f"judge {self.model_id}: {grade.score:.2f}", cost)

    def _abstain(self, exc: BaseException, cost: float) -> Score:
        self.events[type(exc).__name__] += 1
        reason = f"judge {self.model_id} abstained ({type(exc).__name__})"
        return Score(self.neutral, reason, cost)
