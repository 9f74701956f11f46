"""Classifiers: request features → `TaskProfile`."""

from langroute.classify.base import Capability, Classifier, TaskProfile, required_capabilities
from langroute.classify.embedding import DEFAULT_ROUTES, EmbeddingClassifier, Route
from langroute.classify.llm import LLMClassifier
from langroute.classify.rules import DEFAULT_RULES, Rule, RuleClassifier

__all__ = [
    "DEFAULT_ROUTES",
    "DEFAULT_RULES",
    "Capability",
    "Classifier",
    "EmbeddingClassifier",
    "LLMClassifier",
    "Route",
    "Rule",
    "RuleClassifier",
    "TaskProfile",
    "required_capabilities",
]
