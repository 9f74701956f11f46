"""`KNNEstimator`: a model's expected score is its mean score on the most similar prompts."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


class KNNEstimator:
    """Similarity-weighted mean over the `k` nearest training prompts (cosine), per model,
    over the neighbours whose outcome is known; shrunk towards the model's overall mean
    by `prior` pseudo-observations so a few neighbours cannot claim certainty."""

    name = "knn"

    def __init__(self, k: int = 40, prior: float = 2.0) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = k
        self.prior = prior
        self._x: NDArray[Any] | None = None
        self._y: NDArray[Any] | None = None
        self._known: NDArray[Any] | None = None
        self._mean: NDArray[Any] | None = None

    def fit(self, x: NDArray[Any], y: NDArray[Any], known: NDArray[Any]) -> KNNEstimator:
        self._x = np.ascontiguousarray(x, dtype=np.float32)
        self._known = known.astype(np.float32)
        self._y = np.where(known, y, 0.0).astype(np.float32)
        self._mean = self._y.sum(0) / np.maximum(self._known.sum(0), 1.0)
        return self

    def predict(self, x: NDArray[Any]) -> NDArray[Any]:
        if self._x is None or self._y is None or self._known is None or self._mean is None:
            raise RuntimeError("KNNEstimator.predict before fit")
        sims = np.asarray(x, dtype=np.float32) @ self._x.T
        k = min(self.k, sims.shape[1])
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.maximum(np.take_along_axis(sims, idx, axis=1), 0.0) + 1e-6
        known = self._known[idx]
        num = np.einsum("nk,nkm->nm", w, self._y[idx] * known)
        den = np.einsum("nk,nkm->nm", w, known)
        wmean = w.mean(axis=1, keepdims=True)
        prior = self.prior * wmean
        out: NDArray[Any] = (num + prior * self._mean) / (den + prior)
        return out

    def state(self) -> dict[str, NDArray[Any]]:
        assert self._x is not None
        assert self._y is not None
        assert self._known is not None
        return {
            "x": self._x.astype(np.float16),
            "y": self._y,
            "known": self._known.astype(bool),
            "params": np.array([self.k, self.prior]),
        }

    def load_state(self, state: dict[str, NDArray[Any]]) -> KNNEstimator:
        self.k, self.prior = int(state["params"][0]), float(state["params"][1])
        return self.fit(state["x"].astype(np.float32), state["y"], state["known"].astype(bool))
