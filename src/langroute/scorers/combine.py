"""Scorers built from others or from plain functions."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from langroute.features import RoutingRequest
from langroute.scorers.base import Answer, Score, Scorer


class Lowest:
    """The lowest of several scores (every scorer must be satisfied)."""

    def __init__(self, *scorers: Scorer) -> None:
        if not scorers:
            raise ValueError("Lowest needs at least one scorer")
        self.scorers = scorers

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        scores = [await s.score(request, answer) for s in self.scorers]
        return min(scores, key=lambda s: s.value)


class CallableScorer:
    """Any function `(request, answer) -> float | Score` (sync or async) as a scorer."""

    def __init__(self, fn: Callable[[RoutingRequest, Answer], Any], name: str = "custom") -> None:
        if not callable(fn):
            raise TypeError("CallableScorer needs a function (request, answer) -> float | Score")
        self.fn = fn
        self.name = name

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        value = self.fn(request, answer)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, Score):
            return value
        return Score(float(value), self.name)
