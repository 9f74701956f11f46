"""How far vote cascades can go on recorded answers, even told each prompt's benchmark.

A vote cascade asks 2–4 cheaper models at once and keeps the answer most of them give
(compared by `answer_key`, e.g. the option picked) when at least `need` agree; otherwise
the strongest model answers too, and every call is paid for. Told which benchmark each
prompt is from — which no router is — one strategy per benchmark is chosen among these
cascades and the single models: the best quality within half of always-strongest's cost,
chosen on the training prompts and then scored on the test prompts; and, in hindsight, the
same choice made on the test prompts themselves. No mixing of two strategies on one
benchmark; prompts with a missing score are left out. This bounds what a cheap-first
cascade can reach on the data, for the report.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from langroute.eval.cascade import answer_key
from langroute.eval.dataset import EvalDataset
from langroute.eval.replay import Matrices

Option = tuple[str, ...]
"""A strategy's name: ("single", model) or ("vote", need, member, member, ...)."""


class VoteCascadeBound(BaseModel):
    """The best per-benchmark choice of vote cascades and single models (see module)."""

    model_config = ConfigDict(extra="forbid")

    strongest: str
    chosen_on_train: dict[str, str]
    """Benchmark → the strategy chosen on the training prompts."""
    test_quality_share: float
    """Its quality on the test prompts, over always-strongest's."""
    test_cost_share: float
    """Its cost on the test prompts, over always-strongest's."""
    hindsight_quality_share_at_half_cost: float
    """The best choice made on the test prompts themselves, within half the cost."""
    hindsight_cost_share_at_parity: float | None
    """The least cost share of a choice made on the test prompts that reaches
    always-strongest's quality (None: none does)."""


def _complete(data: EvalDataset) -> EvalDataset:
    """`data` without the prompts some model has no score for."""
    keep = [
        i for i, it in enumerate(data) if all(o.score is not None for o in it.outcomes.values())
    ]
    return data.subset(keep)


def _group(item_group: str | None) -> str:
    return (item_group or "").split("-")[0]


def _outcomes(
    data: EvalDataset, strongest: str, members: Sequence[str], max_size: int
) -> dict[Option, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per strategy, every prompt's (score, cost)."""
    m = Matrices(data)
    score, cost = np.nan_to_num(m.score), np.nan_to_num(m.cost)
    strong = m.models.index(strongest)
    keys = [[answer_key(it.outcomes[name].response) for name in m.models] for it in data]
    out: dict[Option, tuple[NDArray[np.float64], NDArray[np.float64]]] = {
        ("single", name): (score[:, j], cost[:, j]) for j, name in enumerate(m.models)
    }
    for size in range(2, max_size + 1):
        for group in itertools.combinations(members, size):
            idx = [m.models.index(name) for name in group]
            kept = np.full(len(data), -1)
            agreeing = np.zeros(len(data), dtype=np.int64)
            for i, row in enumerate(keys):
                votes = Counter(row[j] for j in idx if row[j])
                if votes:
                    key, n = votes.most_common(1)[0]
                    agreeing[i] = n
                    kept[i] = next(j for j in idx if row[j] == key)
            paid = cost[:, idx].sum(axis=1)
            for need in range(2, size + 1):
                accept = agreeing >= need
                answer = np.where(accept, score[np.arange(len(data)), kept], score[:, strong])
                out[("vote", str(need), *group)] = (
                    answer,
                    paid + np.where(accept, 0.0, cost[:, strong]),
                )
    return out


def _per_group(
    outcomes: dict[Option, tuple[NDArray[np.float64], NDArray[np.float64]]],
    groups: NDArray[np.str_],
) -> dict[str, dict[Option, tuple[float, float]]]:
    """Per benchmark, each strategy's (total score, total cost), Pareto-pruned."""
    out: dict[str, dict[Option, tuple[float, float]]] = {}
    for g in sorted(set(groups.tolist())):
        sel = groups == g
        totals = {o: (float(s[sel].sum()), float(c[sel].sum())) for o, (s, c) in outcomes.items()}
        front: dict[Option, tuple[float, float]] = {}
        best = -1.0
        for o, (s, c) in sorted(totals.items(), key=lambda kv: (kv[1][1], -kv[1][0])):
            if s > best:
                front[o], best = (s, c), s
        out[g] = front
    return out


def _choices(
    fronts: dict[str, dict[Option, tuple[float, float]]],
) -> list[tuple[float, float, tuple[Option, ...]]]:
    """Every combination of one Pareto strategy per benchmark: (score, cost, options)."""
    groups = sorted(fronts)
    return [
        (
            sum(fronts[g][o][0] for g, o in zip(groups, combo, strict=True)),
            sum(fronts[g][o][1] for g, o in zip(groups, combo, strict=True)),
            combo,
        )
        for combo in itertools.product(*(list(fronts[g]) for g in groups))
    ]


def _label(option: Option) -> str:
    short = [name.split("/")[-1] for name in option[2:]] if option[0] == "vote" else []
    if option[0] == "single":
        return f"always {option[1]}"
    return f"vote of {' + '.join(short)} (≥{option[1]} agree, else strongest)"


def vote_cascade_bound(
    train: EvalDataset,
    test: EvalDataset,
    strongest: str,
    *,
    max_members: int = 8,
    max_size: int = 4,
) -> VoteCascadeBound:
    """The bound of the module docstring; members are the `max_members` cheapest models.
    Prompts with a missing score (any model's) are left out, so none counts as 0."""
    train, test = _complete(train), _complete(test)
    m_train = Matrices(train)
    by_cost = np.argsort(np.nanmean(m_train.cost, axis=0))
    members = [m_train.models[j] for j in by_cost if m_train.models[j] != strongest]
    members = members[:max_members]
    g_train = np.array([_group(it.group) for it in train])
    g_test = np.array([_group(it.group) for it in test])
    outcomes_test = _outcomes(test, strongest, members, max_size)
    fronts_train = _per_group(_outcomes(train, strongest, members, max_size), g_train)
    fronts_test = _per_group(outcomes_test, g_test)
    groups = sorted(fronts_train)

    def strong_totals(data: EvalDataset) -> tuple[float, float]:
        m = Matrices(data)
        j = m.models.index(strongest)
        return float(np.nansum(m.score[:, j])), float(np.nansum(m.cost[:, j]))

    _, c_train = strong_totals(train)
    q_test, c_test = strong_totals(test)
    within = [x for x in _choices(fronts_train) if x[1] <= 0.5 * c_train]
    _, _, chosen = max(within, key=lambda x: x[0])
    # the options chosen on train may be off the test front: score them directly
    picked = list(zip(groups, chosen, strict=True))
    score = sum(float(outcomes_test[o][0][g_test == g].sum()) for g, o in picked)
    cost = sum(float(outcomes_test[o][1][g_test == g].sum()) for g, o in picked)
    hindsight = _choices(fronts_test)
    at_half = max(s for s, c, _ in hindsight if c <= 0.5 * c_test)
    parity = [c for s, c, _ in hindsight if s >= q_test]
    return VoteCascadeBound(
        strongest=strongest,
        chosen_on_train={g: _label(o) for g, o in picked},
        test_quality_share=score / q_test,
        test_cost_share=cost / c_test,
        hindsight_quality_share_at_half_cost=at_half / q_test,
        hindsight_cost_share_at_parity=min(parity) / c_test if parity else None,
    )
