"""Offline helpers for tests and examples: a local embedding that needs no model download."""

from __future__ import annotations

import hashlib
import math

from llama_index.core.embeddings import BaseEmbedding


class HashEmbedding(BaseEmbedding):
    """Bag of hashed words, L2-normalised: deterministic, instant, no model, no network.
    Good enough to retrieve by shared words in examples; not a semantic embedding."""

    dims: int = 512

    @classmethod
    def class_name(cls) -> str:
        return "HashEmbedding"

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        for word in text.lower().split():
            digest = hashlib.blake2b(word.strip(".,?!'\"").encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % self.dims] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)
