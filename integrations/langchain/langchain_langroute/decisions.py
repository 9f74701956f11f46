"""`LangrouteDecisionModel`: langroute's classifier and policy where LangChain expects a
decision model — e.g. `ModelRouterMiddleware`, which picks one model per agent run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.decisions import BaseDecisionModel, Choice, ChoiceAnswer, ClassifierResponse
from langchain_core.messages import BaseMessage
from pydantic import ConfigDict, Field, PrivateAttr

from langchain_langroute._convert import to_neutral_messages
from langroute import Router
from langroute.errors import ConfigError


def _messages(state: Any) -> Any:
    if isinstance(state, BaseMessage):
        return to_neutral_messages([state])
    if isinstance(state, Sequence) and state and all(isinstance(m, BaseMessage) for m in state):
        return to_neutral_messages(list(state))
    return state if isinstance(state, str) else str(state)


class LangrouteDecisionModel(BaseDecisionModel):
    """Answers `Choice` questions whose labels name models: `labels` maps each label to a
    model of `router`; the answer is the label of the model the router would choose, with
    the rule classifier's confidence. Pure and local: no model is called to decide.

    ```python
    ModelRouterMiddleware(
        choices={"fast": ModelChoice(ChatOpenAI(model="gpt-4.1-mini"), "simple tasks"),
                 "strong": ModelChoice(ChatAnthropic(model="claude-sonnet-4-5"), "hard tasks")},
        instructions="Which model should handle this task?",
        classifier=LangrouteDecisionModel(labels={"fast": "gpt-4.1-mini",
                                                  "strong": "claude-sonnet-4-5"}),
    )
    ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: str = "langroute-rules"
    labels: dict[str, str] = Field(min_length=1)
    """Choice label → registry model name."""
    router: Router | None = Field(default=None, exclude=True)
    """The router that decides (default: the built-in catalog restricted to the labels)."""

    _router: Router = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._router = self.router or Router(list(dict.fromkeys(self.labels.values())))

    @property
    def _provider(self) -> str:
        return "langroute"

    def _classify(self, state: Any, questions: Mapping[str, Any]) -> ClassifierResponse:
        answers: dict[str, ChoiceAnswer] = {}
        for key, question in questions.items():
            if not isinstance(question, Choice):
                raise ConfigError(
                    f"LangrouteDecisionModel answers Choice questions only; {key!r} is a "
                    f"{type(question).__name__}"
                )
            answers[key] = self._choose(state, question)
        return ClassifierResponse(model=self.model, answers=answers)

    def _choose(self, state: Any, question: Choice) -> ChoiceAnswer:
        unknown = sorted(set(question.criteria) - set(self.labels))
        if unknown:
            raise ConfigError(
                f"labels has no model for choice label(s) {unknown}; known labels: "
                f"{sorted(self.labels)}"
            )
        decision = self._router.route(_messages(state))
        by_model = {self.labels[label]: label for label in question.criteria}
        ranked = [by_model[m] for m in decision.plan.models if m in by_model]
        if not ranked:
            raise ConfigError(f"the router can use none of the models of {sorted(by_model)}")
        confidence = decision.profile.confidence
        rest = [label for label in question.criteria if label != ranked[0]]
        share = (1 - confidence) / len(rest) if rest else 0.0
        probabilities = dict.fromkeys(rest, share) | {ranked[0]: confidence if rest else 1.0}
        return ChoiceAnswer(
            type="choice",
            choice=ranked[0],
            probabilities=probabilities,
            confidence=confidence if rest else 1.0,
        )
