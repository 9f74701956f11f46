"""`LearnedScorer`: P(answer is right) learned from recorded (prompt, answer, correct?) data,
as FrugalGPT scores answers. One logistic regression per model over the prompt's and the
answer's embeddings and the answer's length. Needs the `learn` extra.

    scorer = LearnedScorer.fit(dataset)          # recorded answers with scores
    scorer.save("scorer.npz"); scorer = LearnedScorer.load("scorer.npz")
    router = Router([...], strategy=Cascade(scorer=scorer, threshold=0.7))

An answer from a model it was not trained on gets `unknown` (default 0.5) and says so.
"""

from __future__ import annotations

import json
import os
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


def _features(embedder: Embedder, prompts: Sequence[str], answers: Sequence[str]) -> Any:
    import numpy as np

    lengths = np.array([[min(len(a), 2000) / 2000, float(not a.strip())] for a in answers])
    return np.hstack(
        [embedder.embed(prompts), embedder.embed([a[:2000] for a in answers]), lengths]
    )


class LearnedScorer:
    def __init__(
        self,
        heads: Mapping[str, tuple[NDArray[Any], float]],
        embedder: Embedder,
        *,
        aliases: Mapping[str, str] | None = None,
        unknown: float = 0.5,
    ) -> None:
        self.heads = dict(heads)
        self.embedder = embedder
        self.aliases = dict(aliases or {})
        """This router's model names → the names the scorer was trained on."""
        self.unknown = unknown

    @classmethod
    def fit(
        cls, dataset: EvalDataset, *, embedder: Embedder | None = None, c: float = 1.0
    ) -> LearnedScorer:
        """Train one head per model with recorded answers (`Outcome.response`) and scores."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        from langroute.embed import StaticEmbedder

        embedder = embedder or StaticEmbedder()
        heads: dict[str, tuple[NDArray[Any], float]] = {}
        for model in dataset.models:
            rows = [
                (it.prompt, o.response, dataset.normalised(o.score))
                for it in dataset
                if (o := it.outcomes.get(model)) is not None
                and o.response is not None
                and o.score is not None
            ]
            if len(rows) < 10:
                continue
            x = _features(embedder, [r[0] for r in rows], [r[1] or "" for r in rows])
            y = np.array([r[2] >= 0.5 for r in rows])
            if y.min() == y.max():
                p = float(np.clip(y.mean(), 1e-3, 1 - 1e-3))
                heads[model] = (np.zeros(x.shape[1]), float(np.log(p / (1 - p))))
                continue
            fitted = LogisticRegression(C=c, max_iter=2000).fit(x, y)
            heads[model] = (fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]))
        if not heads:
            raise ConfigError(
                f"{dataset.name!r} has no model with 10 or more recorded answers and scores"
            )
        return cls(heads, embedder)

    def probabilities(
        self, model: str, prompts: Sequence[str], answers: Sequence[str]
    ) -> NDArray[Any] | None:
        """P(correct) of each of `model`'s answers to the prompts (None: no head for it)."""
        import numpy as np

        head = self.heads.get(self.aliases.get(model, model))
        if head is None:
            return None
        w, b = head
        z = _features(self.embedder, prompts, answers) @ w + b
        out: NDArray[Any] = 1.0 / (1.0 + np.exp(-z))
        return out

    def probability(self, model: str, prompt: str, answer: str) -> float | None:
        p = self.probabilities(model, [prompt], [answer])
        return None if p is None else float(p[0])

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        p = self.probability(answer.model, request.features.last_user_text, answer.content)
        if p is None:
            return Score(self.unknown, f"learned scorer has no head for {answer.model!r}")
        return Score(p, f"learned P(correct) {p:.2f}")

    def save(self, path: str | os.PathLike[str]) -> Path:
        import numpy as np

        names = sorted(self.heads)
        out = Path(path)
        np.savez_compressed(
            out,
            meta=np.array(json.dumps({"embedder": self.embedder.id, "models": names, "format": 1})),
            w=np.stack([self.heads[n][0] for n in names]),
            b=np.array([self.heads[n][1] for n in names]),
        )
        return out if out.suffix == ".npz" else out.with_name(out.name + ".npz")

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        embedder: Embedder | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> LearnedScorer:
        from langroute.learned.router import artifact_embedder, open_artifact

        with open_artifact(path, "learned scorer", "langroute train-scorer") as data:
            meta = json.loads(str(data["meta"]))
            w, b = data["w"], data["b"]
        chosen = artifact_embedder(path, meta["embedder"], embedder)
        heads = {n: (w[i], float(b[i])) for i, n in enumerate(meta["models"])}
        return cls(heads, chosen, aliases=aliases)
