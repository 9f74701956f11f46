"""Strategies: how a plan runs (single model, fallback chain; cascades and ensembles later)."""

from langroute.strategies.base import ModelRunner, Strategy
from langroute.strategies.fallback import DEFAULT_FALLBACK_ON, FallbackChain
from langroute.strategies.single import Single

__all__ = ["DEFAULT_FALLBACK_ON", "FallbackChain", "ModelRunner", "Single", "Strategy"]
