"""`ChainScorer`: P(answer is right) for the answers of one cascade chain, seeing what the
chain knows at that step — the prompt, the answer, whether it agrees with the chain's
earlier answers (their first word: the option a multiple-choice answer picks), and a
learned router's predicted quality of every recorded model for the prompt. One logistic
regression per step but the last, trained on recorded answers (RouterBench records every
model's); the router's predictions it trains on are out-of-fold. Needs the `learn` extra.

    scorer = ChainScorer.fit(train, ["mixtral", "yi-34b", "gpt-4"])   # dataset model names
    router = Router([...], strategy=Cascade(scorer=scorer, threshold=0.6))

The replay of `langroute eval` scores cascades with this same class, so its figures are
what a live `Cascade` gets. A step whose earlier answers are not the ones it was trained on
(a model of the chain failed or was skipped) gets `unknown` (default 0.5) and says so.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langroute.errors import ConfigError
from langroute.features import RoutingRequest
from langroute.scorers.base import Answer, Score

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from langroute.embed import Embedder
    from langroute.eval.dataset import EvalDataset

FORMAT = 1


def answer_key(response: str | None) -> str:
    """The first word of an answer, normalised: the option a multiple-choice answer picks."""
    words = re.sub(r"[^a-z0-9]+", " ", (response or "").lower()).split()
    return words[0] if words else ""


def step_features(
    prompts: NDArray[Any],
    answers: Sequence[str],
    earlier: Sequence[Sequence[str]],
    predicted: NDArray[Any],
    embedder: Embedder,
) -> NDArray[Any]:
    """Step k's features, one row per prompt: the prompt's embedding, the answer's, whether
    the answer agrees with each of the k earlier answers, the router's predictions, and the
    answer's length (and emptiness)."""
    import numpy as np

    cut = [a[:2000] for a in answers]
    keys = [answer_key(a) for a in cut]
    k = len(earlier[0]) if len(earlier) else 0
    agree = np.array(
        [
            [float(bool(key) and key == answer_key(e)) for e in before]
            for key, before in zip(keys, earlier, strict=True)
        ]
    ).reshape(len(cut), k)
    length = np.array([[min(len(a), 2000) / 2000, float(not a.strip())] for a in cut])
    return np.hstack([prompts, embedder.embed(cut), agree, predicted, length])


def _fit_head(x: NDArray[Any], y: NDArray[Any]) -> tuple[NDArray[Any], float]:
    """Logistic regression weights for P(right); a constant when every label is the same."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        p = float(np.clip(float(y[0]), 1e-6, 1 - 1e-6))
        return np.zeros(x.shape[1]), float(np.log(p / (1 - p)))
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def _sigmoid(z: NDArray[Any]) -> NDArray[Any]:
    import numpy as np

    out: NDArray[Any] = 1.0 / (1.0 + np.exp(-z))
    return out


class ChainScorer:
    def __init__(
        self,
        chain: Sequence[str],
        heads: Sequence[tuple[NDArray[Any], float]],
        router_state: Mapping[str, NDArray[Any]],
        models: Sequence[str],
        embedder: Embedder,
        *,
        aliases: Mapping[str, str] | None = None,
        unknown: float = 0.5,
    ) -> None:
        from langroute.learned.logistic import LogisticEstimator

        if len(chain) < 2 or len(heads) != len(chain) - 1:
            raise ConfigError(
                f"a ChainScorer needs a chain of 2 or more models and one head per step but "
                f"the last; got {len(chain)} models and {len(heads)} heads"
            )
        self.chain = list(chain)
        """The dataset's names of the chain's models, cheapest first."""
        self.heads = list(heads)
        self.models = list(models)
        """The models whose quality the router predicts (the dataset's)."""
        self.router = LogisticEstimator().load_state(dict(router_state))
        self.embedder = embedder
        self.aliases = dict(aliases or {})
        """This router's model names → the dataset's names the scorer was trained on."""
        self.unknown = unknown
        strangers = sorted(set(self.aliases.values()) - set(self.chain))
        if strangers:
            raise ConfigError(
                f"aliases point at models the chain scorer does not know: {strangers}; "
                f"its chain is {self.chain}"
            )

    # --- training -------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        dataset: EvalDataset,
        chain: Sequence[str],
        *,
        embedder: Embedder | None = None,
        folds: int = 5,
    ) -> ChainScorer:
        """Train on recorded answers: `dataset` must record every chain model's response."""
        return cls.fit_out_of_fold(dataset, chain, embedder=embedder, folds=folds)[0]

    @classmethod
    def fit_out_of_fold(
        cls,
        dataset: EvalDataset,
        chain: Sequence[str],
        *,
        embedder: Embedder | None = None,
        folds: int = 5,
    ) -> tuple[ChainScorer, list[NDArray[Any]]]:
        """The scorer, and each step's out-of-fold probabilities on `dataset` itself (what
        a threshold is calibrated on)."""
        import numpy as np

        from langroute.embed import StaticEmbedder
        from langroute.eval.replay import Matrices
        from langroute.eval.splits import kfold_indices
        from langroute.eval.train import embed_all
        from langroute.learned.logistic import LogisticEstimator

        missing = [m for m in chain if m not in dataset.models]
        if missing:
            raise ConfigError(f"chain models {missing} are not in the dataset: {dataset.models}")
        if len(chain) < 2:
            raise ConfigError(f"a cascade chain needs 2 or more models, got {list(chain)}")
        embedder = embedder or StaticEmbedder()
        m = Matrices(dataset)
        x = embed_all(embedder, dataset.prompts)
        y = np.nan_to_num(m.normalised)
        split = kfold_indices(dataset, folds)
        predicted = np.zeros_like(y)  # the router's predictions, out of fold
        for tr, te in split:
            fold_router = LogisticEstimator().fit(x[tr], y[tr], m.known[tr])
            predicted[te] = fold_router.predict(x[te])
        router = LogisticEstimator().fit(x, y, m.known)
        heads, oof = [], []
        for k in range(len(chain) - 1):
            features = step_features(x, *cls._recorded(dataset, chain, k), predicted, embedder)
            right = y[:, m.models.index(chain[k])] >= 0.5
            step_oof = np.zeros(len(dataset))
            for tr, te in split:
                w, b = _fit_head(features[tr], right[tr])
                step_oof[te] = _sigmoid(features[te] @ w + b)
            heads.append(_fit_head(features, right))
            oof.append(step_oof)
        return cls(chain, heads, router.state(), m.models, embedder), oof

    @staticmethod
    def _recorded(
        dataset: EvalDataset, chain: Sequence[str], k: int
    ) -> tuple[list[str], list[list[str]]]:
        answers = [it.outcomes[chain[k]].response or "" for it in dataset]
        earlier = [[it.outcomes[c].response or "" for c in chain[:k]] for it in dataset]
        return answers, earlier

    # --- scoring --------------------------------------------------------------------

    def chain_order(self, models: Sequence[str]) -> list[str]:
        """`models` (a cascade's, by this router's names) with those of the trained chain
        first, in the chain's order; the others keep their order after them. A cascade
        asks this so that each answer is scored at the step it was trained for."""
        step = {name: i for i, name in enumerate(self.chain)}
        at = {m: step.get(self.aliases.get(m, m)) for m in models}
        known = sorted((m for m in models if at[m] is not None), key=lambda m: at[m] or 0)
        return known + [m for m in models if at[m] is None]

    def probabilities(
        self,
        k: int,
        prompts: Sequence[str],
        answers: Sequence[str],
        earlier: Sequence[Sequence[str]],
    ) -> NDArray[Any]:
        """P(right) of step `k`'s answers, given each prompt's `k` earlier answers."""
        from langroute.eval.train import embed_all

        x = embed_all(self.embedder, list(prompts))
        return self._step(k, x, self.router.predict(x), answers, earlier)

    def _step(
        self,
        k: int,
        x: NDArray[Any],
        predicted: NDArray[Any],
        answers: Sequence[str],
        earlier: Sequence[Sequence[str]],
    ) -> NDArray[Any]:
        w, b = self.heads[k]
        return _sigmoid(step_features(x, answers, earlier, predicted, self.embedder) @ w + b)

    def replay(self, dataset: EvalDataset) -> list[NDArray[Any]]:
        """Each step's probabilities for the answers `dataset` records (a replay); the
        prompts are embedded and the router asked once for all steps."""
        from langroute.eval.train import embed_all

        x = embed_all(self.embedder, dataset.prompts)
        predicted = self.router.predict(x)
        return [
            self._step(k, x, predicted, *self._recorded(dataset, self.chain, k))
            for k in range(len(self.chain) - 1)
        ]

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        name = self.aliases.get(answer.model, answer.model)
        if name not in self.chain[:-1]:
            return Score(self.unknown, f"chain scorer has no step for {answer.model!r}")
        k = self.chain.index(name)
        before = [self.aliases.get(a.model, a.model) for a in answer.earlier]
        if before != self.chain[:k]:
            return Score(
                self.unknown,
                f"chain scorer was trained on {self.chain[:k]} answering before "
                f"{name!r}, not {before}",
            )
        p = float(
            self.probabilities(
                k,
                [request.features.last_user_text],
                [answer.content],
                [[a.content for a in answer.earlier]],
            )[0]
        )
        agree = sum(answer_key(answer.content) == answer_key(a.content) for a in answer.earlier)
        said = f", agrees with {agree} of {k} earlier" if k else ""
        return Score(p, f"chain scorer P(correct) {p:.2f}{said}")

    # --- artifact -------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        import numpy as np

        meta = {
            "format": FORMAT,
            "embedder": self.embedder.id,
            "chain": self.chain,
            "models": self.models,
        }
        arrays: dict[str, Any] = {f"w{k}": w for k, (w, _) in enumerate(self.heads)}
        arrays |= {f"router_{key}": value for key, value in self.router.state().items()}
        out = Path(path)
        np.savez_compressed(
            out,
            meta=np.array(json.dumps(meta)),
            b=np.array([b for _, b in self.heads]),
            **arrays,
        )
        return out if out.suffix == ".npz" else out.with_name(out.name + ".npz")

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        embedder: Embedder | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> ChainScorer:
        from langroute.learned.router import artifact_embedder, open_artifact

        with open_artifact(path, "chain scorer", "langroute train-scorer --chain") as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise ConfigError(f"{path} is not a ChainScorer artifact of format {FORMAT}")
            chain = meta["chain"]
            heads = [(data[f"w{k}"], float(data["b"][k])) for k in range(len(chain) - 1)]
            state = {key: data[f"router_{key}"] for key in ("w", "b", "params")}
        chosen = artifact_embedder(path, meta["embedder"], embedder)
        return cls(chain, heads, state, meta["models"], chosen, aliases=aliases)
