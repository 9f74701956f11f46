"""`HashingEmbedder`: hashed word and word-pair counts. No model, no download, no state.

A weak but instant baseline: the learned router's figures say how much a real embedding
adds over it.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langroute.embed.base import normalise

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    def __init__(self, dim: int = 1024) -> None:
        if dim < 8:
            raise ValueError(f"dim must be at least 8, got {dim}")
        self.dim = dim

    @property
    def id(self) -> str:
        return f"hashing-{self.dim}-v1"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for gram in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
                h = zlib.crc32(gram.encode("utf-8"))
                out[row, h % self.dim] += 1.0 if h & 0x80000000 else -1.0
        return normalise(out)
