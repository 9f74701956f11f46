"""The `Embedder` protocol: texts in, one unit-length vector per text out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised vectors, shape (len(texts), dim), float32.

    `id` names the model and its version: a learned router trained with one embedder
    refuses to run with another. Plug in any model (OpenAI, Cohere, a LangChain or
    LlamaIndex embedding) with `CallableEmbedder`.
    """

    @property
    def id(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: NDArray[np.float32] = (vectors / norms).astype(np.float32, copy=False)
    return out


class CallableEmbedder:
    """An `Embedder` from any function returning vectors, e.g. a LangChain embedding's
    `embed_documents` or LlamaIndex's `get_text_embedding_batch`."""

    def __init__(self, fn: object, id: str) -> None:
        if not callable(fn):
            raise TypeError("CallableEmbedder needs a function texts -> list of vectors")
        self._fn = fn
        self._id = id

    @property
    def id(self) -> str:
        return self._id

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        fn = self._fn
        assert callable(fn)
        return normalise(np.asarray(fn(list(texts)), dtype=np.float32))
