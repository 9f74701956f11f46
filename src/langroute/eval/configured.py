"""Replaying a configured `Router` (rules, any policy) over recorded outcomes.

The router decides for each prompt with no call made (`Router.plan`); the recorded score
and cost of the model it picked are read off the dataset. `aliases` maps the router's model
names to the dataset's. For a dataset of models the catalog does not know,
`registry_from_outcomes` describes them from the *training* data: each model's price from
its mean cost per call, its quality per task domain from its mean score on the training
prompts the classifier puts in that domain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from langroute.classify import Classifier, RuleClassifier
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset
from langroute.eval.replay import Matrices, RunResult, replay
from langroute.features import RoutingRequest
from langroute.policy import CostOptimized, QualityBar
from langroute.registry import ModelSpec, Registry
from langroute.router import Router

if TYPE_CHECKING:
    from langroute.eval.evaluate import Contender


class RecordedOnly:
    """The provider of `registry_from_outcomes` models: replay never calls a model."""

    name = "recorded"

    async def complete(self, model_id: str, request: Any) -> Any:
        raise ConfigError(f"{model_id!r} exists only as recorded outcomes: it cannot be called")

    def stream(self, model_id: str, request: Any) -> Any:
        raise ConfigError(f"{model_id!r} exists only as recorded outcomes: it cannot be called")

    async def aclose(self) -> None:
        return None


BAR_SWEEP = tuple(float(b) for b in np.round(np.linspace(0.30, 1.00, 29), 3))


def registry_from_outcomes(train: EvalDataset, classifier: Classifier | None = None) -> Registry:
    """ModelSpecs for the dataset's models, measured on `train` only."""
    classifier = classifier or RuleClassifier()
    m = Matrices(train)
    if not m.has_cost:
        raise ConfigError(f"{train.name!r} records no cost: pricing models needs costs")
    features = [RoutingRequest.build(p).features for p in train.prompts]
    domains = [classifier.classify(f).domain for f in features]
    tokens = np.array([f.prompt_tokens for f in features], dtype=float)
    rows: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(domains):
        rows[d].append(i)
    registry = Registry()
    for j, model in enumerate(m.models):
        known = m.known[:, j]
        overall = float(np.nanmean(m.normalised[:, j]))
        quality = {
            d: float(np.nanmean(m.normalised[idx, j])) if known[idx].any() else overall
            for d, idx in rows.items()
        }
        usd_per_token = float(np.nanmean(m.cost[:, j]) / max(tokens.mean(), 1.0))
        registry.register(
            ModelSpec(
                name=model,
                provider="recorded",
                pricing={"input": usd_per_token * 1e6, "output": 0.0},
                context_window=10_000_000,
                max_output_tokens=100_000,
                quality=quality,
                default_quality=overall,
            )
        )
    return registry


def replay_router(
    router: Router,
    test: EvalDataset,
    *,
    aliases: Mapping[str, str] | None = None,
    label: str = "router",
    matrices: Matrices | None = None,
) -> RunResult:
    """Where `router` sends each test prompt, scored from the records."""
    matrices = matrices or Matrices(test)
    to_dataset = dict(aliases or {})
    index = {model: j for j, model in enumerate(matrices.models)}
    choices = []
    for prompt in test.prompts:
        chosen = router.plan(router.request(prompt)).plan.chosen.model
        name = to_dataset.get(chosen, chosen)
        if name not in index:
            raise ConfigError(
                f"the router chose {chosen!r}, which the dataset does not record; map it with "
                f"aliases (router model → dataset model), dataset models: {matrices.models}"
            )
        choices.append(index[name])
    return replay(matrices, choices, label)


def rules_contender(
    train: EvalDataset, test: EvalDataset, bars: Sequence[float] = BAR_SWEEP
) -> Contender:
    """The default rule classifier and cost-optimized policy, priors measured on `train`,
    swept over a fixed quality bar; its own operating point is the default bar."""
    from langroute.eval.evaluate import Contender

    registry = registry_from_outcomes(train)
    matrices = Matrices(test)
    models = [s.name for s in registry]

    def run(bar: QualityBar, label: str) -> RunResult:
        router = Router(
            models,
            registry=registry,
            policy=CostOptimized(bar=bar),
            providers={"recorded": RecordedOnly()},
        )
        return replay_router(router, test, label=label, matrices=matrices)

    sweep = [run(QualityBar(fixed=b), f"bar={b}") for b in bars]
    default = run(QualityBar(), "rules (default bar)")
    return Contender(
        label="rules[cost-optimized, priors measured on train]",
        sweep=sweep,
        at_operating_point=default,
        operating_point="default quality bar (0.6 + 0.35 × complexity)",
    )
