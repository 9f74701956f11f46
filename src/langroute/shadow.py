"""Shadow evaluation and regression detection.

A sampled share of answered calls is sent again, off the response path, to a reference
(usually the premium model, through its own `Router`); a `Judge` compares the routed answer
with the reference's, and the score goes to a `QualityMonitor` under the call's route (its
domain and the model that answered, by default). The caller never waits for any of it.

The monitor runs one-sided Bernoulli CUSUM tests per route (Page, 1954): an answer is a
"win" when its score is at least `win_at`; the baseline win rate is measured on the route's
first `warmup` shadow results (or given), and the statistic accumulates the log-likelihood
ratio of "the rate dropped by `drop`" against "the rate is the baseline". It raises a
`RouteAlert` when the statistic crosses `threshold` = ln(1/α): under an unchanged route a
false alarm takes on the order of 1/α observations on average.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from langroute._sync import run_detached, wait_for_detached
from langroute.errors import ConfigError, LangrouteError
from langroute.features import RoutingRequest
from langroute.types import Completion

if TYPE_CHECKING:
    from langroute.decision import Decision
    from langroute.router import Router

logger = logging.getLogger(__name__)


class Judge(Protocol):
    """Scores an answer against the reference's, in [0, 1] (1: at least as good)."""

    async def compare(
        self, request: RoutingRequest, answer: Completion, reference: Completion
    ) -> float: ...


_WORDS = re.compile(r"\w+")


class AgreementJudge:
    """Offline judge: token-overlap F1 between the answer and the reference (1.0 for the same
    words). Good for short factual answers; use `LLMComparisonJudge` for open-ended ones."""

    async def compare(
        self, request: RoutingRequest, answer: Completion, reference: Completion
    ) -> float:
        a = _WORDS.findall((answer.content or "").lower())
        b = _WORDS.findall((reference.content or "").lower())
        if not a or not b:
            return float(a == b)
        common = sum(min(a.count(w), b.count(w)) for w in set(a))
        if common == 0:
            return 0.0
        precision, recall = common / len(a), common / len(b)
        return 2 * precision * recall / (precision + recall)


_COMPARE = (
    "You compare two answers to the same question. Reply with one JSON object and nothing "
    'else: {"score": S}, S from 0 (candidate much worse than the reference) to 1 (candidate '
    "as good as or better than the reference)."
)


class LLMComparisonJudge:
    """A judge model (any `Router`, e.g. one cheap model) grades the candidate answer against
    the reference answer; a failed or malformed grading abstains (returns None-like 0.5)."""

    def __init__(self, judge: Router, *, neutral: float = 0.5) -> None:
        self.judge = judge
        self.neutral = neutral
        self.abstained = 0

    async def compare(
        self, request: RoutingRequest, answer: Completion, reference: Completion
    ) -> float:
        import json

        prompt = (
            f"Question:\n{request.features.last_user_text[:4000]}\n\n"
            f"Reference answer:\n{(reference.content or '')[:4000]}\n\n"
            f"Candidate answer:\n{(answer.content or '')[:4000]}"
        )
        try:
            done = await self.judge.achat(
                [{"role": "system", "content": _COMPARE}, {"role": "user", "content": prompt}],
                temperature=0,
                max_tokens=20,
            )
            text = (done.content or "").strip().strip("`").removeprefix("json").strip()
            score = float(json.loads(text)["score"])
            if not 0 <= score <= 1:
                raise ValueError("score out of range")
            return score
        except (LangrouteError, ValueError, KeyError, TypeError):
            self.abstained += 1
            return self.neutral


class CallableJudge:
    """A judge from any function (request, answer, reference) -> score in [0, 1]."""

    def __init__(self, fn: Callable[[RoutingRequest, Completion, Completion], float]) -> None:
        self._fn = fn

    async def compare(
        self, request: RoutingRequest, answer: Completion, reference: Completion
    ) -> float:
        return float(self._fn(request, answer, reference))


class RouteAlert(BaseModel):
    """A route whose shadow quality dropped significantly."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str
    baseline: float
    """Win rate the route was measured at (warm-up or given)."""
    recent: float
    """Win rate over the observations since the statistic last started to climb."""
    observations: int
    statistic: float
    threshold: float
    at: float


@dataclass
class _Route:
    wins: list[int] = field(default_factory=list)
    baseline: float | None = None
    statistic: float = 0.0
    climb: list[int] = field(default_factory=list)
    alerted: bool = False


class QualityMonitor:
    """Per-route quality from shadow comparisons (and user feedback), with a CUSUM alert."""

    def __init__(
        self,
        *,
        drop: float = 0.15,
        alpha: float = 0.001,
        warmup: int = 50,
        baseline: float | None = None,
        win_at: float = 0.5,
        baseline_z: float = 1.645,
        on_alert: Callable[[RouteAlert], None] | None = None,
    ) -> None:
        if not 0 < drop < 1:
            raise ConfigError(f"drop is a fall in win rate in (0, 1), got {drop}")
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha is a false-alarm rate in (0, 1), got {alpha}")
        if warmup < 5 and baseline is None:
            raise ConfigError(f"warmup must be at least 5 observations, got {warmup}")
        self.drop = drop
        self.threshold = math.log(1 / alpha)
        self.warmup = warmup
        self.fixed_baseline = baseline
        self.baseline_z = baseline_z
        self.win_at = win_at
        self.on_alert = on_alert
        self.alerts: list[RouteAlert] = []
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()

    def observe(self, route: str, score: float) -> RouteAlert | None:
        """Add one score for `route`; the alert when this observation raised one."""
        win = int(score >= self.win_at)
        with self._lock:
            r = self._routes.setdefault(route, _Route(baseline=self.fixed_baseline))
            r.wins.append(win)
            if r.baseline is None:
                if len(r.wins) >= self.warmup:
                    r.baseline = _lower_bound(sum(r.wins), len(r.wins), self.baseline_z)
                return None
            p0 = r.baseline
            p1 = max(0.005, p0 - self.drop)
            step = math.log(p1 / p0) if win else math.log((1 - p1) / (1 - p0))
            r.statistic = max(0.0, r.statistic + step)
            r.climb = [] if r.statistic == 0 else [*r.climb, win]
            if r.statistic < self.threshold or r.alerted:
                return None
            r.alerted = True
            alert = RouteAlert(
                route=route,
                baseline=p0,
                recent=sum(r.climb) / len(r.climb),
                observations=len(r.wins),
                statistic=r.statistic,
                threshold=self.threshold,
                at=time.time(),
            )
            self.alerts.append(alert)
        logger.warning(
            "route %s degraded: win rate %.2f since the drop began, baseline %.2f "
            "(CUSUM %.1f > %.1f)",
            route,
            alert.recent,
            alert.baseline,
            alert.statistic,
            alert.threshold,
        )
        if self.on_alert is not None:
            self.on_alert(alert)
        return alert

    def reset(self, route: str) -> None:
        """Start the route over (after a fix): new warm-up, no alert."""
        with self._lock:
            self._routes.pop(route, None)

    def quality(self) -> dict[str, dict[str, float]]:
        """Per route: observations, overall win rate, baseline, current statistic."""
        with self._lock:
            return {
                name: {
                    "observations": len(r.wins),
                    "win_rate": sum(r.wins) / len(r.wins) if r.wins else 0.0,
                    "baseline": r.baseline if r.baseline is not None else float("nan"),
                    "statistic": r.statistic,
                }
                for name, r in self._routes.items()
            }


def _lower_bound(wins: int, n: int, z: float) -> float:
    """Wilson score lower bound of a win rate: a measured baseline is taken on the low side,
    so sampling luck in the warm-up does not turn into false alarms later."""
    p = wins / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # bounded away from 0/1 so the likelihood ratio stays finite
    return min(0.99, max(0.01, (centre - margin) / (1 + z * z / n)))


def default_route(decision: Decision) -> str:
    """A route is the task domain and the model that answered: `code→gpt-4.1-mini`."""
    return f"{decision.profile.domain}→{decision.answered_by}"


class ShadowEvaluator:
    """Sends `sample_rate` of answered calls to `reference` off the response path, judges
    them, and tracks per-route quality in `monitor`."""

    def __init__(
        self,
        reference: Router,
        judge: Judge | None = None,
        *,
        sample_rate: float = 0.05,
        monitor: QualityMonitor | None = None,
        route: Callable[[Decision], str] = default_route,
        max_in_flight: int = 16,
    ) -> None:
        if not 0 < sample_rate <= 1:
            raise ConfigError(f"sample_rate is a share of calls in (0, 1], got {sample_rate}")
        self.reference = reference
        self.judge: Judge = judge or AgreementJudge()
        self.sample_rate = sample_rate
        self.monitor = monitor or QualityMonitor()
        self.route = route
        self.max_in_flight = max_in_flight
        self.compared = 0
        self.skipped = 0
        """Samples dropped because `max_in_flight` shadow calls were already running."""
        self.failed = 0
        self._tasks: set[asyncio.Task[None] | concurrent.futures.Future[None]] = set()

    def sampled(self, request_id: str) -> bool:
        """Deterministic per request id, so a retried request is sampled the same way."""
        import zlib

        return (zlib.crc32(request_id.encode()) % 10_000) < self.sample_rate * 10_000

    def submit(self, request: RoutingRequest, answer: Completion, decision: Decision) -> None:
        """Maybe start a shadow comparison for this answered call (never waits)."""
        if answer.decision is not None and answer.decision.cache is not None:
            return
        if not self.sampled(request.request_id):
            return
        if len(self._tasks) >= self.max_in_flight:
            self.skipped += 1
            return
        task = run_detached(self._compare(request, answer, self.route(decision)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compare(self, request: RoutingRequest, answer: Completion, route: str) -> None:
        shadow = RoutingRequest.build(
            list(request.messages),
            request.params,
            tenant=request.features.tenant,
            user=request.features.user,
            request_id=f"{request.request_id}-shadow",
        )
        try:
            reference = await self.reference.execute(shadow)
            score = await self.judge.compare(request, answer, reference)
        except Exception as exc:  # a shadow failure must never surface to callers
            self.failed += 1
            logger.debug("shadow comparison failed: %s", type(exc).__name__)
            return
        self.compared += 1
        self.monitor.observe(route, score)

    async def drain(self) -> None:
        """Wait for the shadow comparisons in flight (those of other async loops run, and
        are waited for, on their own loops)."""
        while await wait_for_detached(list(self._tasks)):
            pass
