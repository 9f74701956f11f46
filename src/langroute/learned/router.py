"""`LearnedRouter`: predicts each model's quality for a prompt, then picks by a rule.

Rules (an `OperatingPoint`):
- `threshold` τ: the cheapest model whose predicted quality is at least τ (the model with
  the highest prediction when none is);
- `tradeoff` λ: the model maximising predicted quality − λ · cost / (mean cost of the
  dearest model).

Any number of models. Saved as one versioned `.npz` artifact (`save`/`load`) that records
the embedder, the estimator, the models, the training data's hash and the prompt keys it
was trained on, so evaluation can refuse a test set that overlaps it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from langroute.embed import Embedder, HashingEmbedder, MiniLMEmbedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.learned.base import QualityEstimator
from langroute.learned.factor import FactorEstimator
from langroute.learned.knn import KNNEstimator
from langroute.learned.logistic import LogisticEstimator

FORMAT_VERSION = 1

ESTIMATORS: dict[str, Callable[[], QualityEstimator]] = {
    "knn": KNNEstimator,
    "logistic": LogisticEstimator,
    "mf": lambda: FactorEstimator(rank=32, activation="linear"),
    "mlp": lambda: FactorEstimator(rank=64, activation="relu"),
}


def embedder_for(embedder_id: str) -> Embedder:
    """The built-in embedder an artifact names; custom embedders are passed to `load`."""
    if embedder_id.startswith("minilm-l6-static-"):
        _, _, _, dims, version = embedder_id.split("-")
        return StaticEmbedder(int(dims), version=version)
    if embedder_id.startswith("minilm-l6-onnx-int8-"):
        return MiniLMEmbedder(int(embedder_id.split("-")[4]))
    if embedder_id.startswith("hashing-"):
        return HashingEmbedder(int(embedder_id.split("-")[1]))
    raise ConfigError(
        f"artifact was trained with embedder {embedder_id!r}, which is not built in: "
        "pass the same embedder to LearnedRouter.load(path, embedder=...)"
    )


def artifact_embedder(path: object, trained: str, given: Embedder | None = None) -> Embedder:
    """The embedder to use an artifact with: `given`, checked against the one it was trained
    with (`trained`), or that one when it is built in."""
    chosen = given or embedder_for(trained)
    if chosen.id != trained:
        raise ConfigError(f"{path} was trained with embedder {trained!r}, not {chosen.id!r}")
    return chosen


@contextmanager
def open_artifact(path: str | os.PathLike[str], what: str, train: str) -> Iterator[Any]:
    """An artifact's arrays (`np.load`); a missing file says how to make one (`train`), and a
    file that is not this kind of artifact says so, rather than a NumPy or zip error."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"no {what} at {file}: make one with `{train}`")
    try:
        with np.load(file, allow_pickle=False) as data:
            yield data
    except ConfigError:
        raise  # the caller's own, clearer message (a ValueError too)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{file} is not a {what} artifact ({type(exc).__name__}); make one with `{train}`"
        ) from None


def estimator_for(name: str) -> QualityEstimator:
    try:
        return ESTIMATORS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}"
        ) from None


def prompt_tokens(prompts: Sequence[str]) -> NDArray[Any]:
    """A tokenizer-free token count (characters / 4), the same at training and routing time."""
    return np.array([len(p) / 4.0 for p in prompts], dtype=np.float64)


Rule = Literal["threshold", "tradeoff"]


class OperatingPoint(BaseModel):
    """Which rule picks the model, and its parameter (τ for threshold, λ for tradeoff)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Rule = "tradeoff"
    value: float = Field(ge=0)


class ArtifactInfo(BaseModel):
    """What a trained router was trained on and how well it did there."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    langroute_version: str
    created_at: str
    embedder: str
    estimator: str
    models: list[str]
    data_name: str
    data_fingerprint: str
    n_train: int
    operating_point: OperatingPoint
    metrics: dict[str, Any] = {}


@dataclass
class Prediction:
    quality: NDArray[Any]
    """(n, m) predicted scores in [0, 1]."""
    cost: NDArray[Any]
    """(n, m) predicted USD per call."""


class CostModel:
    """USD per call for each model, as a + b · prompt tokens, fitted by least squares."""

    def __init__(self, a: NDArray[Any], b: NDArray[Any]) -> None:
        self.a, self.b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)

    @classmethod
    def fit(cls, tokens: NDArray[Any], cost: NDArray[Any]) -> CostModel:
        """`cost` (n, m) with NaN where unknown; a model with no known cost gets NaN."""
        m = cost.shape[1]
        a, b = np.full(m, np.nan), np.zeros(m)
        for j in range(m):
            rows = ~np.isnan(cost[:, j])
            if rows.sum() >= 2 and np.ptp(tokens[rows]) > 0:
                slope, intercept = np.polyfit(tokens[rows], cost[rows, j], 1)
                a[j], b[j] = intercept, max(slope, 0.0)
            elif rows.any():
                a[j] = cost[rows, j].mean()
        return cls(a, b)

    @classmethod
    def flat(cls, per_call: Sequence[float]) -> CostModel:
        return cls(np.asarray(per_call, dtype=np.float64), np.zeros(len(per_call)))

    def predict(self, tokens: NDArray[Any]) -> NDArray[Any]:
        out: NDArray[Any] = np.maximum(self.a[None, :] + tokens[:, None] * self.b[None, :], 0.0)
        return out


def choose(
    prediction: Prediction, point: OperatingPoint, cost_scale: float | None = None
) -> NDArray[Any]:
    """The index of the chosen model for each prompt under `point`."""
    q, c = prediction.quality, prediction.cost
    if point.rule == "threshold":
        clears = q >= point.value
        masked = np.where(clears, c, np.inf)
        cheapest = masked.argmin(axis=1)
        out: NDArray[Any] = np.where(clears.any(axis=1), cheapest, q.argmax(axis=1))
        return out
    scale = cost_scale if cost_scale else float(np.nanmax(c.mean(axis=0))) or 1.0
    out = (q - point.value * c / scale).argmax(axis=1)
    return out


class LearnedRouter:
    """A trained multi-model router: embedder + quality estimator + cost model + rule."""

    def __init__(
        self,
        models: Sequence[str],
        embedder: Embedder,
        estimator: QualityEstimator,
        costs: CostModel,
        info: ArtifactInfo,
        training_keys: Iterable[str] = (),
    ) -> None:
        self.models = list(models)
        self.embedder = embedder
        self.estimator = estimator
        self.costs = costs
        self.info = info
        self.training_keys = frozenset(training_keys)
        self.cost_scale = float(np.nanmax(costs.a + costs.b * 100.0)) or 1.0

    @property
    def operating_point(self) -> OperatingPoint:
        return self.info.operating_point

    def with_operating_point(self, point: OperatingPoint) -> LearnedRouter:
        info = self.info.model_copy(update={"operating_point": point})
        return LearnedRouter(
            self.models, self.embedder, self.estimator, self.costs, info, self.training_keys
        )

    def predict(self, prompts: Sequence[str], batch: int = 256) -> Prediction:
        parts = [
            self.estimator.predict(self.embedder.embed(prompts[i : i + batch]))
            for i in range(0, len(prompts), batch)
        ]
        quality = np.concatenate(parts) if parts else np.zeros((0, len(self.models)))
        return Prediction(np.clip(quality, 0.0, 1.0), self.costs.predict(prompt_tokens(prompts)))

    def choose(self, prediction: Prediction, point: OperatingPoint | None = None) -> NDArray[Any]:
        return choose(prediction, point or self.operating_point, self.cost_scale)

    def route(self, prompt: str) -> str:
        """The model this router sends `prompt` to at its operating point."""
        return self.models[int(self.choose(self.predict([prompt]))[0])]

    def save(self, path: str | os.PathLike[str]) -> Path:
        out = Path(path)
        arrays: dict[str, Any] = {f"est_{k}": v for k, v in self.estimator.state().items()}
        arrays |= {
            "info": np.array(self.info.model_dump_json()),
            "cost_a": self.costs.a,
            "cost_b": self.costs.b,
            "training_keys": np.array(sorted(self.training_keys), dtype="U16"),
        }
        np.savez_compressed(out, allow_pickle=False, **arrays)
        return out if out.suffix == ".npz" else out.with_name(out.name + ".npz")

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, embedder: Embedder | None = None
    ) -> LearnedRouter:
        file = Path(path)
        with open_artifact(file, "trained router", "langroute train") as data:
            info = ArtifactInfo.model_validate(json.loads(str(data["info"])))
            if info.format_version != FORMAT_VERSION:
                raise ConfigError(
                    f"{file} is artifact format {info.format_version}; this langroute reads "
                    f"format {FORMAT_VERSION}: retrain with `langroute train`"
                )
            state = {k.removeprefix("est_"): data[k] for k in data.files if k.startswith("est_")}
            costs = CostModel(data["cost_a"], data["cost_b"])
            keys = [str(k) for k in data["training_keys"]]
        chosen = artifact_embedder(file, info.embedder, embedder)
        estimator = estimator_for(info.estimator).load_state(state)
        return cls(info.models, chosen, estimator, costs, info, keys)


def new_info(**values: Any) -> ArtifactInfo:
    from langroute import __version__

    return ArtifactInfo(
        langroute_version=__version__,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **values,
    )
