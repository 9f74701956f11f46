"""Training a `LearnedRouter` from recorded outcomes, with its operating point calibrated
on out-of-fold predictions of the training data (never on the test set)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from langroute.embed import Embedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, prompt_key
from langroute.eval.replay import Matrices, replay
from langroute.eval.splits import kfold_indices
from langroute.learned.router import (
    CostModel,
    LearnedRouter,
    OperatingPoint,
    Prediction,
    Rule,
    choose,
    estimator_for,
    new_info,
    prompt_tokens,
)

Progress = Callable[[str, int, int], None]
"""Called as progress(task, done, total)."""


def embed_all(
    embedder: Embedder, prompts: list[str], progress: Progress | None = None, batch: int = 256
) -> NDArray[Any]:
    parts = []
    for start in range(0, len(prompts), batch):
        parts.append(embedder.embed(prompts[start : start + batch]))
        if progress:
            progress("embedding", min(len(prompts), start + batch), len(prompts))
    return np.concatenate(parts)


def threshold_grid(quality: NDArray[Any]) -> list[float]:
    qs = np.quantile(quality, np.linspace(0, 1, 201))
    return sorted({0.0, *(float(q) for q in qs), 1.0 + 1e-9})


def tradeoff_grid() -> list[float]:
    return [0.0, *(float(v) for v in np.logspace(-3, 2, 80))]


def calibrate(
    prediction: Prediction,
    matrices: Matrices,
    cost_scale: float,
    *,
    target_quality: float | None = None,
    target_share: float | None = None,
    rule: Rule = "tradeoff",
) -> OperatingPoint:
    """The operating point meeting a target on these (held-out) predictions.

    `target_quality` is relative to the best single model's mean quality (0.95 = 95 %):
    the cheapest point reaching it (the best-quality point if none does).
    `target_share` is the share of calls the most expensive model may get: the point with
    the highest quality within it.
    """
    if (target_quality is None) == (target_share is None):
        raise ConfigError("calibrate with exactly one of target_quality or target_share")
    grid = threshold_grid(prediction.quality) if rule == "threshold" else tradeoff_grid()
    means = matrices.mean_quality()
    costs = matrices.mean_cost()
    dearest = (
        matrices.models[int(np.nanargmax(costs))]
        if matrices.has_cost
        else matrices.models[int(np.nanargmax(means))]
    )
    best: tuple[float, float, OperatingPoint] | None = None
    for value in grid:
        point = OperatingPoint(rule=rule, value=value)
        run = replay(matrices, choose(prediction, point, cost_scale), "")
        cost = run.cost_usd if run.cost_usd is not None else run.shares[dearest]
        if target_quality is not None:
            if run.quality >= target_quality * float(np.nanmax(means)):
                key = (cost, -run.quality)
            else:
                key = (np.inf, -run.quality)
        else:
            assert target_share is not None
            key = (
                (-run.quality, cost)
                if run.shares[dearest] <= target_share + 1e-12
                else (np.inf, cost)
            )
        if best is None or key < (best[0], best[1]):
            best = (key[0], key[1], point)
    assert best is not None
    return best[2]


def train_router(
    train: EvalDataset,
    *,
    embedder: Embedder | None = None,
    estimator: str = "logistic",
    costs: Mapping[str, float] | None = None,
    folds: int = 5,
    target_quality: float | None = 0.95,
    target_share: float | None = None,
    rule: Rule = "tradeoff",
    progress: Progress | None = None,
    x: NDArray[Any] | None = None,
) -> LearnedRouter:
    """Fit a router on `train`; calibrate its operating point on `folds` out-of-fold runs.

    `costs` (USD per call, per model) is needed only when the dataset records no cost.
    `x` passes precomputed embeddings of `train.prompts` (same embedder) to save time.
    """
    embedder = embedder or StaticEmbedder()
    matrices = Matrices(train)
    prompts = train.prompts
    if x is None:
        x = embed_all(embedder, prompts, progress)
    tokens = prompt_tokens(prompts)
    if matrices.has_cost:
        cost_model = CostModel.fit(tokens, matrices.cost)
    elif costs is not None:
        missing = [m for m in matrices.models if m not in costs]
        if missing:
            raise ConfigError(f"costs has no price for {missing}; give USD per call for each model")
        cost_model = CostModel.flat([costs[m] for m in matrices.models])
    else:
        raise ConfigError(
            f"dataset {train.name!r} records no cost: pass costs={{model: usd_per_call}} "
            "(on the command line: --cost MODEL=USD, once per model)"
        )
    y = np.nan_to_num(matrices.normalised, nan=0.0)
    oof = np.zeros_like(y)
    for f, (tr, te) in enumerate(kfold_indices(train, folds)):
        est = estimator_for(estimator).fit(x[tr], y[tr], matrices.known[tr])
        oof[te] = est.predict(x[te])
        if progress:
            progress("calibrating", f + 1, folds)
    cost_scale = float(np.nanmax(cost_model.a + cost_model.b * 100.0)) or 1.0
    oof_prediction = Prediction(np.clip(oof, 0, 1), cost_model.predict(tokens))
    point = calibrate(
        oof_prediction,
        matrices,
        cost_scale,
        target_quality=target_quality if target_share is None else None,
        target_share=target_share,
        rule=rule,
    )
    at_point = replay(matrices, choose(oof_prediction, point, cost_scale), "out-of-fold")
    final = estimator_for(estimator).fit(x, y, matrices.known)
    info = new_info(
        embedder=embedder.id,
        estimator=estimator,
        models=matrices.models,
        data_name=train.name,
        data_fingerprint=train.fingerprint(),
        n_train=len(train),
        operating_point=point,
        metrics={
            "out_of_fold": at_point.model_dump(),
            "folds": folds,
            "target_quality": target_quality,
            "target_share": target_share,
        },
    )
    return LearnedRouter(
        matrices.models, embedder, final, cost_model, info, [prompt_key(p) for p in prompts]
    )
