"""`FactorEstimator`: a shared prompt latent, one vector per model (matrix factorisation).

score(prompt, model) = σ(u_model · h(prompt) + b_model), h(prompt) = act(W · embedding + c).
With the identity activation this is RouteLLM's matrix-factorisation router generalised
to any number of models (a low-rank logistic regression: models share what makes a prompt
hard); with ReLU it is a one-hidden-layer MLP with one output per model. Trained jointly
on every known outcome (masked binary cross-entropy, fractional scores as soft targets,
L2, Adam, full batch) with numpy alone, seeded, so training is reproducible.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Activation = Literal["linear", "relu"]


class FactorEstimator:
    """Matrix factorisation (`activation="linear"`, the "mf" recipe) or an MLP ("mlp")."""

    def __init__(
        self,
        rank: int = 32,
        activation: Activation = "linear",
        *,
        epochs: int = 300,
        lr: float = 0.01,
        l2: float = 1e-3,
        seed: int = 0,
    ) -> None:
        if rank < 1:
            raise ValueError(f"rank must be at least 1, got {rank}")
        if activation not in ("linear", "relu"):
            raise ValueError(f"activation must be 'linear' or 'relu', got {activation!r}")
        self.rank, self.activation = rank, activation
        self.name = "mf" if activation == "linear" else "mlp"
        self.epochs, self.lr, self.l2, self.seed = epochs, lr, l2, seed
        self._params: dict[str, NDArray[Any]] | None = None

    def _forward(
        self, x: NDArray[Any], p: dict[str, NDArray[Any]]
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
        """Pre-activation, hidden layer and per-model probabilities."""
        z: NDArray[Any] = x @ p["w"] + p["c"]
        h = np.maximum(z, 0.0) if self.activation == "relu" else z
        prob: NDArray[Any] = 1.0 / (1.0 + np.exp(-(h @ p["u"] + p["b"])))
        return z, h, prob

    def fit(self, x: NDArray[Any], y: NDArray[Any], known: NDArray[Any]) -> FactorEstimator:
        rng = np.random.default_rng(self.seed)
        x = np.asarray(x, dtype=np.float64)
        d = x.shape[1]
        m = y.shape[1]
        mask = known.astype(np.float64)
        target = np.where(known, np.clip(y, 0.0, 1.0), 0.0)
        counts = np.maximum(mask.sum(0), 1.0)
        prior = np.clip((target * mask).sum(0) / counts, 1e-3, 1 - 1e-3)
        p = {
            "w": rng.normal(0.0, 1.0 / np.sqrt(d), (d, self.rank)),
            "c": np.zeros(self.rank),
            "u": rng.normal(0.0, 1.0 / np.sqrt(self.rank), (self.rank, m)),
            "b": np.log(prior / (1 - prior)),
        }
        moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in p.items()}
        total = max(mask.sum(), 1.0)
        for step in range(1, self.epochs + 1):
            z, h, prob = self._forward(x, p)
            err = (prob - target) * mask / total
            dh = err @ p["u"].T
            if self.activation == "relu":
                dh = dh * (z > 0)
            grads = {
                "u": h.T @ err + self.l2 * p["u"],
                "b": err.sum(0),
                "w": x.T @ dh + self.l2 * p["w"],
                "c": dh.sum(0),
            }
            for k, g in grads.items():
                m1, m2 = moments[k]
                m1 *= 0.9
                m1 += 0.1 * g
                m2 *= 0.999
                m2 += 0.001 * g * g
                p[k] -= self.lr * (m1 / (1 - 0.9**step)) / (np.sqrt(m2 / (1 - 0.999**step)) + 1e-8)
        self._params = {k: v.astype(np.float32) for k, v in p.items()}
        return self

    def predict(self, x: NDArray[Any]) -> NDArray[Any]:
        if self._params is None:
            raise RuntimeError("FactorEstimator.predict before fit")
        return self._forward(np.asarray(x, dtype=np.float32), self._params)[2]

    def state(self) -> dict[str, NDArray[Any]]:
        assert self._params is not None
        config = np.array([self.rank, float(self.activation == "relu"), self.l2])
        return {**self._params, "params": config}

    def load_state(self, state: dict[str, NDArray[Any]]) -> FactorEstimator:
        rank, relu, l2 = (float(v) for v in state["params"])
        self.rank, self.activation, self.l2 = int(rank), "relu" if relu else "linear", l2
        self.name = "mlp" if relu else "mf"
        self._params = {k: state[k] for k in ("w", "c", "u", "b")}
        return self
