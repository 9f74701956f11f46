"""Replaying cascades over recorded answers (RouterBench records every model's response).

For each prompt the chain's models "answer" with their recorded responses, cheapest first;
a learned scorer (FrugalGPT-style) estimates the probability that the answer at hand is
right and the cascade stops at the first answer scoring at least τ (the last model's
answer is always kept). Every model called is paid for. The scorer is `ChainScorer`, what a
live `Cascade` runs with: step k's is one logistic regression over the prompt's embedding,
the answer's, whether the answer agrees with each earlier answer of the chain (first word,
e.g. the option picked), and a learned router's predicted quality of every model for the
prompt. It is trained on the training prompts only, with out-of-fold router predictions,
and τ is calibrated on out-of-fold scores of the training data, like the learned routers'
operating points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from langroute.embed import Embedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset
from langroute.eval.replay import Matrices, RunResult, cheapest_reaching, replay
from langroute.scorers.chain import ChainScorer, answer_key

__all__ = [
    "DEFAULT_CHAINS",
    "LEARNED_SCORER_SUFFIX",
    "TAUS",
    "CascadeReplay",
    "answer_key",
    "calibrate_threshold",
    "cascade_contenders",
    "live_scorer_contender",
    "replay_chain",
    "threshold_for",
]

if TYPE_CHECKING:
    from langroute.eval.evaluate import Contender

DEFAULT_CHAINS: tuple[tuple[str, ...], ...] = (
    ("mistralai/mixtral-8x7b-chat", "gpt-4-1106-preview"),
    ("mistralai/mixtral-8x7b-chat", "zero-one-ai/Yi-34B-Chat", "gpt-4-1106-preview"),
    ("zero-one-ai/Yi-34B-Chat", "mistralai/mixtral-8x7b-chat", "gpt-4-1106-preview"),
)
LEARNED_SCORER_SUFFIX = " LearnedScorer"
TAUS = tuple(float(t) for t in np.round(np.linspace(0.0, 1.0, 51), 3))


def replay_chain(
    m: Matrices, idx: Sequence[int], probs: Sequence[NDArray[Any]], tau: float, label: str
) -> RunResult:
    """A cascade over recorded answers: step k's answer is kept when its score `probs[k]`
    reaches τ (the last step's always is); every model called is paid for."""
    n = m.score.shape[0]
    choice = np.full(n, idx[-1])
    paid = np.zeros(n)
    open_ = np.ones(n, dtype=bool)
    for k, j in enumerate(idx):
        paid += np.where(open_, np.nan_to_num(m.cost[:, j]), 0.0)
        if k == len(idx) - 1:
            break
        stop = open_ & (probs[k] >= tau)
        choice[stop] = j
        open_ &= ~stop
    result = replay(m, choice, label)
    return result.model_copy(update={"cost_usd": float(paid.sum())})


class CascadeReplay:
    """A `ChainScorer` trained on the training data, its out-of-fold probabilities there
    (for calibration), and its probabilities for the test data's recorded answers: the
    same scores a live `Cascade(scorer=...)` computes."""

    def __init__(
        self,
        chain: Sequence[str],
        train: EvalDataset,
        test: EvalDataset,
        *,
        embedder: Embedder | None = None,
        folds: int = 5,
    ) -> None:
        self.chain = list(chain)
        self.train, self.test = train, test
        self.embedder = embedder or StaticEmbedder()
        self.scorer, self.p_train = ChainScorer.fit_out_of_fold(
            train, chain, embedder=self.embedder, folds=folds
        )
        self.p_test: list[NDArray[Any]] = self.scorer.replay(test)
        self.m_train, self.m_test = Matrices(train), Matrices(test)
        self.idx = [self.m_train.models.index(m) for m in chain]

    def run(self, tau: float, *, on: str = "test") -> RunResult:
        """Replay the cascade at threshold τ on the test (or out-of-fold training) prompts."""
        m, probs = (self.m_test, self.p_test) if on == "test" else (self.m_train, self.p_train)
        return replay_chain(m, self.idx, probs, tau, f"cascade τ={tau:.2f}")

    def train_share_at_half_cost(self) -> float:
        """Out of fold on the training prompts: the best quality within half of the
        strongest model's cost (its hull, mixed with the cheapest model as every router's
        can be), as a share of that model's — what a chain is chosen by, test unseen."""
        from langroute.eval.metrics import hull_quality_at, nondecreasing_hull

        m = self.m_train
        quality = m.mean_quality()
        strongest = int(np.nanargmax(quality))
        cheapest = int(np.nanargmin(m.mean_cost()))
        floor = replay(m, np.full(len(self.train), cheapest), "cheapest").point()
        hull = nondecreasing_hull([*(self.run(t, on="train").point() for t in TAUS), floor])
        at_half = hull_quality_at(hull, 0.5 * float(np.nansum(m.cost[:, strongest])))
        return (at_half or 0.0) / float(quality[strongest])

    def calibrate(self, target_quality: float = 0.95) -> float:
        """The τ reaching `target_quality` × the best single model's quality at least cost,
        on out-of-fold training scores."""
        best = float(np.nanmax(self.m_train.mean_quality()))
        found = cheapest_reaching(
            [(t, self.run(t, on="train")) for t in TAUS], target_quality * best
        )
        return found[0] if found else 1.0


def cascade_contenders(
    train: EvalDataset, test: EvalDataset, chains: Sequence[Sequence[str]] = DEFAULT_CHAINS
) -> list[Contender]:
    """Two report contenders per chain whose models the data has, each what a live `Cascade`
    scores with: the `ChainScorer` (prompt, answer, earlier answers, a router's predictions)
    and the simpler `LearnedScorer` (prompt and answer only; label suffix " LearnedScorer")."""
    from langroute.eval.evaluate import Contender
    from langroute.scorers.learned import LearnedScorer

    out = []
    live: LearnedScorer | None = None
    for chain in chains:
        if not all(m in train.models for m in chain):
            continue
        replayed = CascadeReplay(chain, train, test)
        tau = replayed.calibrate()
        short = " → ".join(m.split("/")[-1] for m in chain)
        out.append(
            Contender(
                label=f"cascade[{short}]",
                sweep=[replayed.run(t) for t in TAUS],
                at_operating_point=replayed.run(tau),
                operating_point=f"τ={tau:.2f} (calibrated out-of-fold on train)",
                train_quality_share_at_half_cost=replayed.train_share_at_half_cost(),
            )
        )
        live = live or LearnedScorer.fit(train, embedder=replayed.embedder)
        label = f"cascade[{short}]{LEARNED_SCORER_SUFFIX}"
        out.append(live_scorer_contender(live, chain, train, test, label))
    return out


def live_scorer_contender(
    scorer: Any, chain: Sequence[str], train: EvalDataset, test: EvalDataset, label: str
) -> Contender:
    """A cascade scored by a live `LearnedScorer`, τ swept; its operating point is calibrated
    on the training answers it was fitted on (in-sample, so optimistic there)."""
    from langroute.eval.evaluate import Contender

    def scored(data: EvalDataset) -> tuple[Matrices, list[int], list[NDArray[Any]]]:
        m = Matrices(data)
        probs = []
        for model in chain[:-1]:
            answers = [it.outcomes[model].response or "" for it in data]
            p = scorer.probabilities(model, data.prompts, answers)
            probs.append(np.full(len(data), scorer.unknown) if p is None else p)
        return m, [m.models.index(c) for c in chain], probs

    m_train, idx_train, p_train = scored(train)
    m_test, idx_test, p_test = scored(test)
    best = float(np.nanmax(m_train.mean_quality()))
    train_runs = [(t, replay_chain(m_train, idx_train, p_train, t, "")) for t in TAUS]
    found = cheapest_reaching(train_runs, 0.95 * best)
    tau = found[0] if found else 1.0
    return Contender(
        label=label,
        sweep=[replay_chain(m_test, idx_test, p_test, t, f"τ={t:.2f}") for t in TAUS],
        at_operating_point=replay_chain(m_test, idx_test, p_test, tau, f"τ={tau:.2f}"),
        operating_point=f"τ={tau:.2f} (calibrated on the train answers it was fitted on)",
    )


def calibrate_threshold(
    scorer: Any,
    chain: Sequence[str],
    dataset: EvalDataset,
    *,
    target_quality: float | None = None,
    budget_usd: float | None = None,
) -> tuple[float, RunResult]:
    """A live cascade's threshold, from recorded answers: any `Scorer` scores each chain
    step's recorded answer; τ is the cheapest reaching `target_quality` × the chain's last
    model's quality (default 0.95), or the best quality within `budget_usd` (total over
    `dataset`)."""
    import asyncio

    from langroute.features import RoutingRequest
    from langroute.scorers.base import Answer

    if target_quality is not None and budget_usd is not None:
        raise ConfigError("calibrate with one of target_quality or budget_usd, not both")
    if budget_usd is None:
        target_quality = target_quality or 0.95
    m = Matrices(dataset)
    missing = [c for c in chain if c not in m.models]
    if missing:
        raise ConfigError(f"chain models {missing} are not in the dataset: {m.models}")
    idx = [m.models.index(c) for c in chain]

    async def scores_of(model: str) -> NDArray[Any]:
        out = []
        for it in dataset:
            answer = Answer(content=it.outcomes[model].response or "", model=model)
            out.append((await scorer.score(RoutingRequest.build(it.prompt), answer)).value)
        return np.array(out)

    async def all_scores() -> list[NDArray[Any]]:
        return [await scores_of(model) for model in chain[:-1]]

    probs = asyncio.run(all_scores())
    return threshold_for(m, idx, probs, target_quality=target_quality, budget_usd=budget_usd)


def threshold_for(
    m: Matrices,
    idx: Sequence[int],
    probs: Sequence[NDArray[Any]],
    *,
    target_quality: float | None = None,
    budget_usd: float | None = None,
) -> tuple[float, RunResult]:
    """A chain's threshold from its steps' scores of recorded answers (`probs`, one array
    per step but the last): the cheapest τ reaching `target_quality` × the last model's
    quality, else 1.01 (always escalate); or the best quality within `budget_usd`."""
    runs = [(t, replay_chain(m, idx, probs, t, f"τ={t:.2f}")) for t in (*TAUS, 1.01)]
    if target_quality is not None:
        goal = target_quality * float(np.nanmean(m.score[:, idx[-1]]))
        return cheapest_reaching(runs, goal) or runs[-1]
    within = [(r.quality, -t, t, r) for t, r in runs if (r.cost_usd or 0.0) <= (budget_usd or 0)]
    if not within:
        raise ConfigError(f"no threshold keeps the cascade within ${budget_usd} on this data")
    _, _, tau, result = max(within, key=lambda x: (x[0], x[1]))
    return tau, result
