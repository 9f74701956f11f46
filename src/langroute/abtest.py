"""A/B testing two (or more) router versions on live traffic, with per-arm metrics.

`ABTest(arms={"current": r1, "candidate": r2}, split={"current": 90, "candidate": 10})`
is called like a router (`achat`, `astream`, `chat`, `stream`); each user (else tenant,
else request) is assigned to one arm by a hash, so a user always sees the same version.
Each decision carries its `arm`; `report()` gives per-arm calls, errors, cost, latency,
cache hits and user feedback, and a Welch t-test of the feedback means between two arms.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from langroute._streams import closing
from langroute._sync import iterate_sync, run_sync
from langroute.errors import ConfigError, LangrouteError
from langroute.features import RoutingRequest
from langroute.feedback import FeedbackRecord
from langroute.router import MessagesInput, Router
from langroute.types import Completion, StreamChunk


class ArmMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calls: int
    errors: int
    cost_usd: float
    mean_cost_usd: float
    p50_latency_ms: float
    cache_hits: int
    feedback_n: int
    feedback_mean: float | None


class ABReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arms: dict[str, ArmMetrics]
    feedback_p_value: float | None
    """Two-sided Welch t-test of the feedback means of the first two arms (None: too few)."""


@dataclass
class _Arm:
    calls: int = 0
    errors: int = 0
    cost: float = 0.0
    cache_hits: int = 0
    latencies: list[float] = field(default_factory=list)
    ratings: list[float] = field(default_factory=list)


class ABTest:
    """Splits traffic between routers, sticky per user, and measures each arm."""

    def __init__(
        self,
        arms: Mapping[str, Router],
        split: Mapping[str, float] | None = None,
        *,
        salt: str = "",
    ) -> None:
        if len(arms) < 2:
            raise ConfigError("an A/B test needs at least two arms")
        split = dict(split) if split is not None else dict.fromkeys(arms, 100 / len(arms))
        if set(split) != set(arms):
            raise ConfigError(f"split names {sorted(split)} but the arms are {sorted(arms)}")
        if any(v < 0 for v in split.values()) or not math.isclose(sum(split.values()), 100):
            raise ConfigError(f"split shares must be non-negative and sum to 100, got {split}")
        self.arms = dict(arms)
        self.split = split
        self.salt = salt
        self._stats = {name: _Arm() for name in arms}
        self._served: dict[str, str] = {}
        self._lock = threading.Lock()

    def arm_for(self, who: str) -> str:
        digest = hashlib.sha256(f"{self.salt}\x00{who}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * 100
        edge = 0.0
        for name, share in self.split.items():
            edge += share
            if point < edge:
                return name
        return next(reversed(self.split))

    def _pick(self, messages: MessagesInput, kwargs: dict[str, Any]) -> tuple[str, RoutingRequest]:
        first = next(iter(self.arms.values()))
        request = first.request(messages, **kwargs)
        features = request.features
        return self.arm_for(features.user or features.tenant or request.request_id), request

    def _count(self, arm: str, completion: Completion | None, error: bool) -> None:
        with self._lock:
            s = self._stats[arm]
            s.calls += 1
            s.errors += error
            if completion is not None and completion.decision is not None:
                d = completion.decision
                self._served[d.request_id] = arm
                s.cost += completion.cost_usd
                s.cache_hits += d.cache is not None
                s.latencies.append(sum(a.latency_ms for a in d.attempts))

    async def achat(self, messages: MessagesInput, **kwargs: Any) -> Completion:
        arm, request = self._pick(messages, kwargs)
        try:
            completion = await self.arms[arm].execute(request, arm=arm)
        except LangrouteError:
            self._count(arm, None, True)
            raise
        self._count(arm, completion, False)
        return completion

    async def astream(self, messages: MessagesInput, **kwargs: Any) -> AsyncIterator[StreamChunk]:
        arm, request = self._pick(messages, kwargs)
        try:
            async with closing(self.arms[arm].execute_stream(request, arm=arm)) as chunks:
                async for chunk in chunks:
                    if chunk.decision is not None:
                        done = Completion(
                            id=request.request_id,
                            model=chunk.model,
                            provider=chunk.provider,
                            provider_model=chunk.model,
                            cost_usd=chunk.cost_usd or 0.0,
                            decision=chunk.decision,
                        )
                        self._count(arm, done, False)
                    yield chunk
        except LangrouteError:
            self._count(arm, None, True)
            raise

    def chat(self, messages: MessagesInput, **kwargs: Any) -> Completion:
        return run_sync(self.achat(messages, **kwargs))

    def stream(self, messages: MessagesInput, **kwargs: Any) -> Iterator[StreamChunk]:
        return iterate_sync(self.astream(messages, **kwargs))

    def feedback(
        self, request_id: str, score: float, *, comment: str | None = None
    ) -> FeedbackRecord:
        """Rate an answer: stored by the arm's router and counted in that arm's metrics."""
        with self._lock:
            arm = self._served.get(request_id)
        if arm is None:
            raise ConfigError(f"request {request_id!r} was not served by this A/B test")
        record = self.arms[arm].feedback(request_id, score, comment=comment)
        with self._lock:
            self._stats[arm].ratings.append(score)
        return record

    def report(self) -> ABReport:
        with self._lock:
            arms = {
                name: ArmMetrics(
                    calls=s.calls,
                    errors=s.errors,
                    cost_usd=s.cost,
                    mean_cost_usd=s.cost / max(1, s.calls - s.errors),
                    p50_latency_ms=sorted(s.latencies)[len(s.latencies) // 2]
                    if s.latencies
                    else 0.0,
                    cache_hits=s.cache_hits,
                    feedback_n=len(s.ratings),
                    feedback_mean=sum(s.ratings) / len(s.ratings) if s.ratings else None,
                )
                for name, s in self._stats.items()
            }
            names = list(self._stats)
            p = welch_p_value(self._stats[names[0]].ratings, self._stats[names[1]].ratings)
        return ABReport(arms=arms, feedback_p_value=p)


def welch_p_value(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test (scipy's when installed, else the normal
    approximation, fine past ~30 ratings per arm); None with fewer than 2 ratings."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    se = math.sqrt(va / len(a) + vb / len(b))
    if se == 0:
        return 1.0 if ma == mb else 0.0
    try:
        from scipy.stats import t as student
    except ImportError:
        return math.erfc(abs(ma - mb) / se / math.sqrt(2))
    df = se**4 / ((va / len(a)) ** 2 / (len(a) - 1) + (vb / len(b)) ** 2 / (len(b) - 1))
    return float(2 * student.sf(abs(ma - mb) / se, df))
