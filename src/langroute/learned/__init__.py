"""Learned routers: per-model quality predicted from the prompt's embedding.

Needs the `learn` extra: `pip install 'langroute[learn]'`.
"""

from langroute.learned.base import QualityEstimator
from langroute.learned.factor import FactorEstimator
from langroute.learned.knn import KNNEstimator
from langroute.learned.logistic import LogisticEstimator
from langroute.learned.router import LearnedRouter, OperatingPoint, Prediction

__all__ = [
    "FactorEstimator",
    "KNNEstimator",
    "LearnedRouter",
    "LogisticEstimator",
    "OperatingPoint",
    "Prediction",
    "QualityEstimator",
]
