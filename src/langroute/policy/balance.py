"""How a model's deployments are ordered for one call (the first allowed one is tried
first, the rest are its fallbacks): as listed, cheapest first (provider arbitrage), fastest
first (EWMA latency), least in flight, or weighted at random by `Deployment.weight`."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Literal

from langroute.registry.spec import Deployment, ModelSpec
from langroute.state.health import HealthStore

Balance = Literal["order", "cheapest", "latency", "least_in_flight", "weighted"]
Orderer = Callable[[ModelSpec, Sequence[Deployment], HealthStore | None], list[Deployment]]


def _key(spec: ModelSpec, dep: Deployment) -> str:
    return f"{spec.name}@{dep.provider}/{dep.model_id}"


def _price(spec: ModelSpec, dep: Deployment) -> float:
    return (dep.pricing or spec.pricing).cost(1000, 250)


def _latency(spec: ModelSpec, dep: Deployment, health: HealthStore | None) -> float:
    if health is None:
        return 0.0
    return health.snapshot(_key(spec, dep)).latency_ms or 0.0  # unknown: try it (learn it)


def _weighted(
    spec: ModelSpec, deps: Sequence[Deployment], health: HealthStore | None
) -> list[Deployment]:
    rest, out = list(deps), []
    while rest:
        pick = random.choices(range(len(rest)), weights=[d.weight for d in rest])[0]
        out.append(rest.pop(pick))
    return out


BALANCERS: dict[str, Orderer] = {
    "order": lambda spec, deps, health: list(deps),
    "cheapest": lambda spec, deps, health: sorted(deps, key=lambda d: _price(spec, d)),
    "latency": lambda spec, deps, health: sorted(deps, key=lambda d: _latency(spec, d, health)),
    "least_in_flight": lambda spec, deps, health: sorted(
        deps, key=lambda d: health.snapshot(_key(spec, d)).in_flight if health else 0
    ),
    "weighted": _weighted,
}
