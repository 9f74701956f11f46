"""`LogisticEstimator`: one L2-regularised logistic regression per model (scikit-learn).

Fractional scores (a 7/10 grade) train as weighted positive and negative examples, so one
estimator covers 0/1 correctness and graded quality. Prediction needs numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from langroute.errors import ConfigError


class LogisticEstimator:
    name = "logistic"

    def __init__(self, c: float = 1.0) -> None:
        self.c = c
        self._w: NDArray[Any] | None = None
        self._b: NDArray[Any] | None = None

    def fit(self, x: NDArray[Any], y: NDArray[Any], known: NDArray[Any]) -> LogisticEstimator:
        try:
            from sklearn.linear_model import LogisticRegression
        except ImportError as exc:
            raise ConfigError(
                "LogisticEstimator needs scikit-learn: pip install 'langroute[learn]'"
            ) from exc
        _n, m = y.shape
        w = np.zeros((x.shape[1], m), dtype=np.float32)
        b = np.zeros(m, dtype=np.float32)
        for j in range(m):
            rows = known[:, j]
            target = np.clip(y[rows, j], 0.0, 1.0)
            xs = x[rows]
            if not rows.any():
                continue
            if target.min() == target.max():
                p = float(np.clip(target[0], 1e-3, 1 - 1e-3))
                b[j] = np.log(p / (1 - p))
                continue
            features = np.concatenate([xs, xs])
            labels = np.concatenate([np.ones(len(xs)), np.zeros(len(xs))])
            weights = np.concatenate([target, 1.0 - target])
            keep = weights > 0
            model = LogisticRegression(C=self.c, max_iter=500)
            model.fit(features[keep], labels[keep], sample_weight=weights[keep])
            w[:, j] = model.coef_[0]
            b[j] = model.intercept_[0]
        self._w, self._b = w, b
        return self

    def predict(self, x: NDArray[Any]) -> NDArray[Any]:
        if self._w is None or self._b is None:
            raise RuntimeError("LogisticEstimator.predict before fit")
        out: NDArray[Any] = 1.0 / (
            1.0 + np.exp(-(np.asarray(x, dtype=np.float32) @ self._w + self._b))
        )
        return out

    def state(self) -> dict[str, NDArray[Any]]:
        assert self._w is not None
        assert self._b is not None
        return {"w": self._w, "b": self._b, "params": np.array([self.c])}

    def load_state(self, state: dict[str, NDArray[Any]]) -> LogisticEstimator:
        self.c = float(state["params"][0])
        self._w, self._b = state["w"], state["b"]
        return self
