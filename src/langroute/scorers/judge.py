"""`LLMJudge`: a cheap model grades the answer against the question (JSON `{"score": s}`).

A judge that fails or answers badly abstains with a neutral score (counted in `events`),
so a broken judge never blocks an answer by itself.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter

from pydantic import BaseModel, Field, ValidationError

from langroute.errors import ProviderError
from langroute.features import RoutingRequest
from langroute.providers.base import Provider
from langroute.scorers.base import Answer, Score
from langroute.types import ChatParams, SystemMessage, UserMessage

INSTRUCTIONS = (
    "You grade answers. Given a question and an answer, reply with one JSON object and "
    'nothing else: {"score": S}, where S is from 0 (wrong or useless) to 1 (correct and '
    "complete)."
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


class _Grade(BaseModel):
    score: float = Field(ge=0, le=1)


class LLMJudge:
    def __init__(
        self, provider: Provider, model_id: str, *, timeout_s: float = 5.0, neutral: float = 0.5
    ) -> None:
        self.provider = provider
        self.model_id = model_id
        self.timeout_s = timeout_s
        self.neutral = neutral
        self.events: Counter[str] = Counter()

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        question = request.features.last_user_text[:4000]
        grading = RoutingRequest.build(
            [
                SystemMessage(content=INSTRUCTIONS),
                UserMessage(content=f"Question:\n{question}\n\nAnswer:\n{answer.content[:4000]}"),
            ],
            ChatParams(temperature=0, max_tokens=20, response_format={"type": "json_object"}),
        )
        try:
            done = await asyncio.wait_for(
                self.provider.complete(self.model_id, grading), self.timeout_s
            )
            grade = _Grade.model_validate(json.loads(_FENCE.sub("", done.content or "")))
        except (TimeoutError, ProviderError, ValueError, ValidationError) as exc:
            self.events[type(exc).__name__] += 1
            return Score(self.neutral, f"judge {self.model_id} abstained ({type(exc).__name__})")
        self.events["ok"] += 1
        return Score(grade.score, f"judge {self.model_id}: {grade.score:.2f}")
