"""Evaluations that produce the reports: many models on a cost–quality plane (RouterBench),
two models by share of strong calls (RouteLLM). Every prompt scored is held out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from langroute.embed import Embedder, HashingEmbedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset
from langroute.eval.metrics import (
    Point,
    SharePoint,
    aiq,
    apgr,
    cost_to_reach,
    cpt,
    hull_quality_at,
    nondecreasing_hull,
    oracle_share_curve,
    strong_share_curve,
)
from langroute.eval.replay import Matrices, RunResult, random_at_matched_cost, replay, single_models
from langroute.eval.splits import LeakageError, Split, kfold_indices
from langroute.eval.train import Progress, embed_all, threshold_grid, tradeoff_grid, train_router
from langroute.learned.router import (
    LearnedRouter,
    OperatingPoint,
    Prediction,
    Rule,
    estimator_for,
)

EMBEDDERS: dict[str, type[StaticEmbedder] | type[HashingEmbedder]] = {
    "static": StaticEmbedder,
    "hashing": HashingEmbedder,
}


class Recipe(BaseModel):
    """How to build a learned router: embedder, estimator and selection rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    embedder: Literal["static", "hashing"] = "static"
    estimator: Literal["knn", "logistic", "mf", "mlp"] = "logistic"
    rule: Literal["threshold", "tradeoff"] = "tradeoff"

    @property
    def label(self) -> str:
        return f"learned[{self.embedder}+{self.estimator}, {self.rule}]"

    def make_embedder(self) -> Embedder:
        return EMBEDDERS[self.embedder]()


DEFAULT_RECIPES = (
    Recipe(),
    Recipe(estimator="knn"),
    Recipe(estimator="mf"),
    Recipe(estimator="mlp"),
    Recipe(rule="threshold"),
    Recipe(embedder="hashing"),
)


def _pt(run: RunResult) -> dict[str, float]:
    return {"cost_usd": run.cost_usd or 0.0, "quality": run.quality}


class RouterCurve(BaseModel):
    """One router swept over its parameter (a learned router's τ or λ, the rules' quality
    bar), on held-out prompts."""

    label: str
    aiq: float
    random_aiq: float
    """AIQ of random routing with the same per-model shares at every sweep point."""
    hull: list[dict[str, float]]
    above_zero_router: float
    """Share of the cost range where this router's hull is at or above the zero router's."""
    cost_share_at_95: float | None
    """Least cost reaching 95 % of the strongest model's quality, over that model's cost."""
    cost_share_at_parity: float | None
    """Least cost reaching 100 % of the strongest model's quality, over that model's cost."""
    quality_share_at_half_cost: float
    """Best quality on the hull at half the strongest model's cost, over that model's
    quality (the cascade target asks for 100 % there)."""
    calibrated: RunResult
    """At the router's own operating point, chosen on training data only."""
    calibrated_random: RunResult
    operating_point: str
    train_seconds: float
    train_quality_share_at_half_cost: float | None = None
    """The same share, out of fold on the training prompts (cascades: what a chain is
    chosen by without seeing the test prompts)."""


class MultiModelReport(BaseModel):
    """RouterBench-style report: routers, single models, oracle, zero router, random."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    n_train: int
    n_test: int
    dropped_from_test: int
    strongest: str
    cost_range: tuple[float, float]
    singles: list[RunResult]
    oracle: RunResult
    zero_router_aiq: float
    zero_router_quality_share_at_half_cost: float
    """The single models' hull at half the strongest model's cost, over its quality."""
    oracle_aiq: float
    routers: list[RouterCurve]


def _overlap_guard(router: LearnedRouter, test: EvalDataset) -> None:
    leaked = router.training_keys & test.keys()
    if leaked:
        raise LeakageError(
            f"{len(leaked)} prompts of {test.name!r} were in this router's training data "
            f"({router.info.data_name!r}); evaluate it on prompts it has not seen"
        )


def sweep(
    router: LearnedRouter,
    test: EvalDataset,
    matrices: Matrices,
    rule: Rule,
    prediction: Prediction | None = None,
) -> list[RunResult]:
    """Replay the router over `test` at every value of its rule's parameter (`prediction`:
    the router's predictions for `test`, when already made)."""
    _overlap_guard(router, test)
    prediction = prediction or router.predict(test.prompts)
    grid = threshold_grid(prediction.quality) if rule == "threshold" else tradeoff_grid()
    runs = []
    for value in grid:
        point = OperatingPoint(rule=rule, value=value)
        runs.append(replay(matrices, router.choose(prediction, point), f"{rule}={value:.4g}"))
    return runs


def _above(router_hull: list[Point], zero_hull: list[Point], low: float, high: float) -> float:
    xs = np.linspace(low, high, 401)
    ok = 0
    for x in xs:
        r = hull_quality_at(router_hull, float(x))
        z = hull_quality_at(zero_hull, float(x))
        ok += int(z is None or (r is not None and r >= z - 1e-12))
    return ok / len(xs)


def train_recipes(
    train: EvalDataset,
    recipes: Sequence[Recipe] = DEFAULT_RECIPES,
    *,
    progress: Progress | None = None,
) -> list[tuple[str, LearnedRouter, float]]:
    """Train each recipe on `train`: (label, router, seconds); embeddings shared by recipe."""
    cache: dict[str, Any] = {}
    out = []
    for recipe in recipes:
        t0 = time.perf_counter()
        embedder = recipe.make_embedder()
        if embedder.id not in cache:
            cache[embedder.id] = embed_all(embedder, train.prompts, progress)
        router = train_router(
            train,
            embedder=embedder,
            estimator=recipe.estimator,
            rule=recipe.rule,
            x=cache[embedder.id],
        )
        out.append((recipe.label, router, time.perf_counter() - t0))
        if progress:
            progress("training routers", len(out), len(recipes))
    return out


class Contender(BaseModel):
    """A router's replay on held-out prompts: its sweep and its own operating point."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    label: str
    sweep: list[RunResult]
    at_operating_point: RunResult
    operating_point: str
    train_seconds: float = 0.0
    train_quality_share_at_half_cost: float | None = None


def learned_contender(
    label: str, router: LearnedRouter, test: EvalDataset, matrices: Matrices, seconds: float
) -> Contender:
    _overlap_guard(router, test)
    prediction = router.predict(test.prompts)
    runs = sweep(router, test, matrices, router.operating_point.rule, prediction)
    calibrated = replay(matrices, router.choose(prediction), label)
    point = router.operating_point
    return Contender(
        label=label,
        sweep=runs,
        at_operating_point=calibrated,
        operating_point=f"{point.rule}={point.value:.4g}",
        train_seconds=seconds,
    )


def report_routers(
    test: EvalDataset,
    routers: Sequence[tuple[str, LearnedRouter, float]],
    *,
    n_train: int,
    progress: Progress | None = None,
    others: Sequence[Contender] = (),
) -> MultiModelReport:
    """Sweep each trained router (and `others`) over `test` (held out), beside the baselines."""
    matrices = Matrices(test)
    if not matrices.has_cost:
        raise ConfigError(
            f"{test.name!r} records no cost: give each outcome cost_usd (or tokens and a "
            "registry), or use evaluate_pair for share-of-strong-calls metrics"
        )
    singles = single_models(matrices)
    strongest = max(singles, key=lambda r: r.quality)
    low = min(r.cost_usd or 0.0 for r in singles)
    high = max(r.cost_usd or 0.0 for r in singles)
    zero_points = [r.point() for r in singles]
    zero_hull = nondecreasing_hull(zero_points)
    # Any router can be mixed with "always the cheapest model", so every hull starts there.
    cheapest = min(zero_points, key=lambda p: (p.cost, -p.quality))
    oracle = replay(matrices, matrices.oracle_choices(), "oracle")
    strongest_cost = strongest.cost_usd or 1.0
    contenders = list(others)
    for label, router, seconds in routers:
        contenders.append(learned_contender(label, router, test, matrices, seconds))
        if progress:
            progress("scoring routers", len(contenders), len(routers) + len(others))
    curves: list[RouterCurve] = []
    for c in contenders:
        points = [r.point() for r in c.sweep]
        hull = nondecreasing_hull([*points, cheapest])
        randoms = [random_at_matched_cost(matrices, r).point() for r in c.sweep]
        c95 = cost_to_reach(hull, 0.95 * strongest.quality)
        c100 = cost_to_reach(hull, strongest.quality)
        at_half = hull_quality_at(hull, 0.5 * strongest_cost)
        curves.append(
            RouterCurve(
                label=c.label,
                aiq=aiq([*points, cheapest], low, high),
                random_aiq=aiq([*randoms, cheapest], low, high),
                hull=[{"cost_usd": p.cost, "quality": p.quality} for p in hull],
                above_zero_router=_above(hull, zero_hull, low, high),
                cost_share_at_95=None if c95 is None else c95 / strongest_cost,
                cost_share_at_parity=None if c100 is None else c100 / strongest_cost,
                quality_share_at_half_cost=(at_half or 0.0) / strongest.quality,
                calibrated=c.at_operating_point,
                calibrated_random=random_at_matched_cost(matrices, c.at_operating_point),
                operating_point=c.operating_point,
                train_seconds=c.train_seconds,
                train_quality_share_at_half_cost=c.train_quality_share_at_half_cost,
            )
        )
    return MultiModelReport(
        dataset=test.name,
        n_train=n_train,
        n_test=len(test),
        dropped_from_test=test.dropped,
        strongest=strongest.label.removeprefix("always "),
        cost_range=(low, high),
        singles=singles,
        oracle=oracle,
        zero_router_aiq=aiq(zero_points, low, high),
        zero_router_quality_share_at_half_cost=(
            hull_quality_at(zero_hull, 0.5 * strongest_cost) or 0.0
        )
        / strongest.quality,
        oracle_aiq=aiq([oracle.point(), cheapest], low, high),
        routers=curves,
    )


def evaluate_multi(
    split: Split,
    recipes: Sequence[Recipe] = DEFAULT_RECIPES,
    *,
    progress: Progress | None = None,
) -> MultiModelReport:
    """Train each recipe on `split.train`, sweep it on `split.test`, beside the baselines."""
    from langroute.eval.cascade import cascade_contenders
    from langroute.eval.configured import rules_contender

    routers = train_recipes(split.train, recipes, progress=progress)
    others = [rules_contender(split.train, split.test)]
    if _has_responses(split.train):
        others += cascade_contenders(split.train, split.test)
    return report_routers(
        split.test, routers, n_train=len(split.train), progress=progress, others=others
    )


def _has_responses(data: EvalDataset) -> bool:
    return all(o.response is not None for o in data.items[0].outcomes.values())


class PairCurve(BaseModel):
    label: str
    apgr: float
    cpt50: float | None
    cpt80: float | None
    curve: list[tuple[float, float]]
    """(share of strong calls, mean quality) at each threshold."""


class PairReport(BaseModel):
    """RouteLLM-style report for one strong and one weak model."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    protocol: str
    n_test: int
    dropped: int
    strong: str
    weak: str
    strong_quality: float
    weak_quality: float
    routers: list[PairCurve]
    random: PairCurve
    oracle: PairCurve


def _pair_curve(label: str, curve: list[SharePoint], weak: float, strong: float) -> PairCurve:
    return PairCurve(
        label=label,
        apgr=apgr(curve, weak, strong),
        cpt50=cpt(curve, weak, strong, 0.5),
        cpt80=cpt(curve, weak, strong, 0.8),
        curve=[(p.strong_share, p.quality) for p in curve],
    )


def strong_win_scores(
    estimator: str, x_train: Any, train: Matrices, x_test: Any, strong: int, weak: int
) -> Any:
    """The router's score for sending a prompt to the strong model: predicted quality gain."""
    y = np.nan_to_num(train.normalised, nan=0.0)
    est = estimator_for(estimator).fit(x_train, y, train.known)
    q = est.predict(x_test)
    return q[:, strong] - q[:, weak]


def evaluate_pair(
    test: EvalDataset,
    scores: Sequence[tuple[str, Sequence[float]]],
    *,
    strong: str,
    weak: str,
    protocol: str,
) -> PairReport:
    """PGR, APGR and CPT of each router's `strong-call scores` over `test`, with random and
    oracle routing beside them."""
    m = Matrices(test)
    s, w = m.models.index(strong), m.models.index(weak)
    keep = m.known[:, s] & m.known[:, w]
    strong_scores = m.score[keep, s].tolist()
    weak_scores = m.score[keep, w].tolist()
    sq, wq = float(np.mean(strong_scores)), float(np.mean(weak_scores))
    routers = [
        _pair_curve(
            label,
            strong_share_curve(strong_scores, weak_scores, np.asarray(sc)[keep].tolist()),
            wq,
            sq,
        )
        for label, sc in scores
    ]
    random_curve = [SharePoint(0.0, wq), SharePoint(1.0, sq)]
    return PairReport(
        dataset=test.name,
        protocol=protocol,
        n_test=int(keep.sum()),
        dropped=test.dropped,
        strong=strong,
        weak=weak,
        strong_quality=sq,
        weak_quality=wq,
        routers=routers,
        random=_pair_curve("random", random_curve, wq, sq),
        oracle=_pair_curve("oracle", oracle_share_curve(strong_scores, weak_scores), wq, sq),
    )


def cross_validated_scores(
    dataset: EvalDataset,
    embedder: Embedder,
    estimator: str,
    *,
    strong: str,
    weak: str,
    k: int = 5,
    x: Any = None,
    progress: Progress | None = None,
) -> Any:
    """Each prompt's strong-call score from a router trained on the other k−1 folds."""
    if x is None:
        x = embed_all(embedder, dataset.prompts, progress)
    out = np.zeros(len(dataset))
    for f, (tr, te) in enumerate(kfold_indices(dataset, k)):
        m = Matrices(dataset.subset(tr))
        s, w = m.models.index(strong), m.models.index(weak)
        out[te] = strong_win_scores(estimator, x[tr], m, x[te], s, w)
        if progress:
            progress(f"{dataset.name} folds", f + 1, k)
    return out
