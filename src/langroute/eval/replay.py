"""Replay: what a routing choice per prompt would have scored and cost, from the records.

No API call: the chosen model's recorded score and cost are read off the dataset. Missing
scores are left out of the mean (and counted), never scored as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from langroute.eval.dataset import EvalDataset
from langroute.eval.metrics import Point

T = TypeVar("T", int, float)


class Matrices:
    """A dataset as arrays: scores in the dataset's scale and USD costs, NaN where missing."""

    def __init__(self, dataset: EvalDataset) -> None:
        n, m = len(dataset), len(dataset.models)
        self.models = list(dataset.models)
        self.score = np.full((n, m), np.nan)
        self.cost = np.full((n, m), np.nan)
        for i, item in enumerate(dataset.items):
            for j, model in enumerate(self.models):
                o = item.outcomes.get(model)
                if o is not None:
                    if o.score is not None:
                        self.score[i, j] = o.score
                    if o.cost_usd is not None:
                        self.cost[i, j] = o.cost_usd
        low, high = dataset.score_range
        self.normalised = (self.score - low) / (high - low)
        self.known = ~np.isnan(self.score)
        self.has_cost = bool((~np.isnan(self.cost)).any())

    def mean_quality(self) -> NDArray[Any]:
        out: NDArray[Any] = np.nanmean(self.score, axis=0)
        return out

    def mean_cost(self) -> NDArray[Any]:
        if not self.has_cost:
            return np.full(len(self.models), np.nan)
        out: NDArray[Any] = np.nanmean(self.cost, axis=0)
        return out

    def oracle_choices(self) -> NDArray[Any]:
        """Per prompt, the best-scoring model, the cheapest among ties (by its cost on that
        prompt, else by mean cost, else the first listed)."""
        filled = np.where(self.known, self.score, -np.inf)
        best = filled.max(axis=1, keepdims=True)
        ties = filled == best
        tiebreak = self.cost if self.has_cost else np.zeros_like(self.cost)
        tiebreak = np.where(np.isnan(tiebreak), np.nanmean(tiebreak, axis=0), tiebreak)
        tiebreak = np.nan_to_num(tiebreak, nan=0.0)
        out: NDArray[Any] = np.where(ties, tiebreak, np.inf).argmin(axis=1)
        return out


class RunResult(BaseModel):
    """One routing of a whole dataset: quality, cost and where the calls went."""

    model_config = ConfigDict(extra="forbid")

    label: str
    quality: float
    """Mean recorded score of the chosen models, in the dataset's scale."""
    cost_usd: float | None
    """Total USD of the chosen calls (None when the dataset records no cost)."""
    shares: dict[str, float]
    oracle_accuracy: float
    """Share of prompts where the chosen model scored as well as the best model did."""
    missing: int = 0
    """Prompts whose chosen model has no recorded score (left out of `quality`)."""

    def point(self) -> Point:
        return Point(
            self.cost_usd if self.cost_usd is not None else float("nan"), self.quality, self.label
        )


def replay(matrices: Matrices, choices: Sequence[int] | NDArray[Any], label: str) -> RunResult:
    idx = np.asarray(choices, dtype=np.int64)
    rows = np.arange(len(idx))
    score = matrices.score[rows, idx]
    known = ~np.isnan(score)
    quality = float(score[known].mean()) if known.any() else float("nan")
    cost = None
    if matrices.has_cost:
        c = matrices.cost[rows, idx]
        c = np.where(np.isnan(c), np.nanmean(matrices.cost, axis=0)[idx], c)
        cost = float(np.nansum(c))
    best = np.where(matrices.known, matrices.score, -np.inf).max(axis=1)
    hit = known & (score >= best)
    counts = np.bincount(idx, minlength=len(matrices.models))
    return RunResult(
        label=label,
        quality=quality,
        cost_usd=cost,
        shares={m: float(counts[j] / len(idx)) for j, m in enumerate(matrices.models)},
        oracle_accuracy=float(hit.mean()),
        missing=int((~known).sum()),
    )


def single_models(matrices: Matrices) -> list[RunResult]:
    n = matrices.score.shape[0]
    return [
        replay(matrices, np.full(n, j), f"always {model}")
        for j, model in enumerate(matrices.models)
    ]


def random_at_matched_cost(matrices: Matrices, run: RunResult) -> RunResult:
    """The expected result of sending the same share of calls to each model as `run` does,
    but to prompts picked at random: what the router's choice of *which* prompts is worth."""
    q = matrices.mean_quality()
    c = matrices.mean_cost()
    n = matrices.score.shape[0]
    shares = np.array([run.shares[m] for m in matrices.models])
    return RunResult(
        label=f"random, matched to {run.label}",
        quality=float(np.nansum(shares * q)),
        cost_usd=float(np.nansum(shares * c) * n) if matrices.has_cost else None,
        shares=dict(run.shares),
        oracle_accuracy=float("nan"),
    )


def cheapest_reaching(
    runs: Sequence[tuple[T, RunResult]], goal: float
) -> tuple[T, RunResult] | None:
    """Of (setting, run) pairs, the cheapest run whose quality reaches `goal` (ties: the
    higher setting), or None when none does."""
    ok = [(r.cost_usd or 0.0, setting, r) for setting, r in runs if r.quality >= goal]
    if not ok:
        return None
    _, setting, run = min(ok, key=lambda x: (x[0], -x[1]))
    return setting, run
