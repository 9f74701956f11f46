"""Strategies: how a plan runs (single model, fallback chain, cascade, ensemble)."""

from langroute.strategies.base import ModelRunner, Strategy
from langroute.strategies.cascade import Cascade
from langroute.strategies.ensemble import BestScore, Ensemble, MajorityVote, Selector
from langroute.strategies.fallback import DEFAULT_FALLBACK_ON, FallbackChain
from langroute.strategies.single import Single

__all__ = [
    "DEFAULT_FALLBACK_ON",
    "BestScore",
    "Cascade",
    "Ensemble",
    "FallbackChain",
    "MajorityVote",
    "ModelRunner",
    "Selector",
    "Single",
    "Strategy",
]
