"""Classifiers: request features → `TaskProfile`."""

from langroute.classify.base import Capability, Classifier, TaskProfile, required_capabilities
from langroute.classify.rules import DEFAULT_RULES, Rule, RuleClassifier

__all__ = [
    "DEFAULT_RULES",
    "Capability",
    "Classifier",
    "Rule",
    "RuleClassifier",
    "TaskProfile",
    "required_capabilities",
]
