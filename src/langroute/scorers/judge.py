"""`LLMJudge`: a cheap model grades the answer against the question (JSON `{"score": s}`).

A judge that fails or answers badly abstains with a neutral score (counted in `events`),
so a broken judge never blocks an answer by itself. What each grading call cost is on its
`Score`, so the graded call's decision and `cost_usd` include it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from langroute.errors import ConfigError, LangrouteError
from langroute.features import RoutingRequest
from langroute.providers.base import Provider
from langroute.registry import ModelSpec
from langroute.scorers.base import Answer, Score
from langroute.side import SideCallTimedOut, SideModel
from langroute.types import SystemMessage, UserMessage

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


def _shown(answer: Answer) -> str:
    """The answer as the judge reads it: its text, then the tools it calls and with what
    (a tool-calling step has no text, and must not be graded as an empty answer)."""
    calls = [f"calls tool {c.function.name}({c.function.arguments})" for c in answer.tool_calls]
    if answer.calls_tools and not calls:
        calls = ["calls tools (arguments still streaming)"]
    return "\n".join([answer.content, *calls]).strip()[:4000]


class LLMJudge:
    """A cheap model grades each answer from 0 to 1.

    `LLMJudge(Router(["gpt-4.1-nano"]))`: the judge router's prices, retries, fallbacks and
    budgets apply to the grading calls. Or `LLMJudge(provider, "model-id")`: one provider
    call, priced from `spec` or, by that name, the built-in catalog. Either way the gradings
    spend under the graded router's budgets, for the same tenant and user (`SideModel`)."""

    def __init__(
        self,
        judge: Router | Provider,
        model_id: str | None = None,
        *,
        spec: ModelSpec | None = None,
        timeout_s: float = 5.0,
        neutral: float = 0.5,
    ) -> None:
        self.model = SideModel(judge, model_id, spec=spec, owner="LLMJudge")
        self.timeout_s = timeout_s
        self.neutral = neutral
        self.events: Counter[str] = Counter()

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        question = request.features.last_user_text[:4000]
        grading: list[SystemMessage | UserMessage] = [
            SystemMessage(content=INSTRUCTIONS),
            UserMessage(content=f"Question:\n{question}\n\nAnswer:\n{_shown(answer)}"),
        ]
        try:
            done = await self.model.complete(
                grading, request.features, max_tokens=20, timeout_s=self.timeout_s
            )
        except ConfigError:
            raise  # a misconfigured judge must not pass for an abstaining one
        except SideCallTimedOut as exc:
            return self._abstain(exc, exc.cost_usd)
        except LangrouteError as exc:
            return self._abstain(exc, 0.0)
        cost = done.cost_usd or 0.0
        try:
            grade = _Grade.model_validate(json.loads(_FENCE.sub("", done.content or "")))
        except (ValueError, ValidationError) as exc:
            return self._abstain(exc, cost)
        self.events["ok"] += 1
        return Score(grade.score, f"judge {self.model.name}: {grade.score:.2f}", cost)

    def _abstain(self, exc: BaseException, cost: float) -> Score:
        self.events[type(exc).__name__] += 1
        reason = f"judge {self.model.name} abstained ({type(exc).__name__})"
        return Score(self.neutral, reason, cost)
