"""`LogprobConfidence`: the answer's mean token probability, when the provider returns
logprobs (ask for them with `logprobs=True`). Without logprobs it abstains (score 1)."""

from __future__ import annotations

import math

from langroute.features import RoutingRequest
from langroute.scorers.base import Answer, Score


class LogprobConfidence:
    def __init__(self, min_tokens: int = 1) -> None:
        self.min_tokens = min_tokens

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        if len(answer.logprobs) < self.min_tokens:
            return Score(1.0, "no logprobs returned: no opinion")
        mean = sum(lp.logprob for lp in answer.logprobs) / len(answer.logprobs)
        value = math.exp(mean)
        return Score(value, f"mean token probability {value:.2f}")
