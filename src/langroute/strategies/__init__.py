"""Strategies: how a plan runs (single model, fallback chain, cascade)."""

from langroute.strategies.base import ModelRunner, Strategy
from langroute.strategies.cascade import Cascade
from langroute.strategies.fallback import DEFAULT_FALLBACK_ON, FallbackChain
from langroute.strategies.single import Single

__all__ = ["DEFAULT_FALLBACK_ON", "Cascade", "FallbackChain", "ModelRunner", "Single", "Strategy"]
