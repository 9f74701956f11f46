"""The `QualityEstimator` protocol: from prompt embeddings, each model's expected score.

Scores are on [0, 1] (the dataset's scale normalised); a missing outcome is masked out
of training, never read as 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from numpy.typing import NDArray


@runtime_checkable
class QualityEstimator(Protocol):
    """Learns per-model success from (embedding, outcome) pairs; predicts it for new prompts."""

    name: str

    def fit(self, x: NDArray[Any], y: NDArray[Any], known: NDArray[Any]) -> QualityEstimator:
        """`x` (n, d) embeddings; `y` (n, m) scores in [0, 1]; `known` (n, m) booleans."""
        ...

    def predict(self, x: NDArray[Any]) -> NDArray[Any]:
        """(n, m) expected scores in [0, 1]."""
        ...

    def state(self) -> dict[str, NDArray[Any]]:
        """Arrays that `load_state` restores the fitted estimator from (for artifacts)."""
        ...

    def load_state(self, state: dict[str, NDArray[Any]]) -> QualityEstimator: ...
