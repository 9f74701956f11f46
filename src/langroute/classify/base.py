"""The `Classifier` protocol and the `TaskProfile` it returns."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from langroute.features import RequestFeatures
from langroute.registry.spec import TaskDomain

Capability = Literal["tools", "vision", "json_mode", "structured_output", "streaming"]


class TaskProfile(BaseModel):
    """What a request asks of a model: how hard, what kind, which abilities, how sure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    complexity: float = Field(ge=0, le=1)
    """0 = trivial (greetings, look-ups), 1 = hard multi-step reasoning or design."""
    domain: TaskDomain = "chat"
    needs: frozenset[Capability] = frozenset()
    confidence: float = Field(default=1.0, ge=0, le=1)
    signals: tuple[str, ...] = ()
    """Human-readable reasons for the profile, e.g. 'code fence', 'asks for a proof'."""
    cost_usd: float = 0.0
    """What classifying cost (an LLM classifier's call); part of the call's cost."""


@runtime_checkable
class Classifier(Protocol):
    """Turns request features into a `TaskProfile`. Must be pure and fast (no I/O)."""

    def classify(self, features: RequestFeatures) -> TaskProfile: ...


def required_capabilities(features: RequestFeatures) -> frozenset[Capability]:
    """The capabilities a request cannot be served without, whatever the classifier says."""
    needs: set[Capability] = set()
    if features.needs_tools:
        needs.add("tools")
    if features.has_images:
        needs.add("vision")
    if features.json_schema:
        needs.add("structured_output")
    elif features.structured_output:
        needs.add("json_mode")
    return frozenset(needs)
