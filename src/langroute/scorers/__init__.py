"""Scorers: how much to trust an answer, for cascades (`Cascade`) and selectors."""

from langroute.scorers.base import Answer, Score, Scorer
from langroute.scorers.chain import ChainScorer
from langroute.scorers.combine import CallableScorer, Lowest
from langroute.scorers.confidence import CONFIDENCE_INSTRUCTION, SelfReportedConfidence
from langroute.scorers.heuristics import Heuristics
from langroute.scorers.judge import LLMJudge
from langroute.scorers.learned import LearnedScorer
from langroute.scorers.logprobs import LogprobConfidence

__all__ = [
    "CONFIDENCE_INSTRUCTION",
    "Answer",
    "CallableScorer",
    "ChainScorer",
    "Heuristics",
    "LLMJudge",
    "LearnedScorer",
    "LogprobConfidence",
    "Lowest",
    "Score",
    "Scorer",
    "SelfReportedConfidence",
]
