"""A rule-based classifier: keyword patterns, length and structure, in microseconds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from langroute.classify.base import TaskProfile, required_capabilities
from langroute.features import RequestFeatures
from langroute.registry.spec import TaskDomain


class Rule(BaseModel):
    """A regex over the last user message that votes for a domain and/or moves complexity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    pattern: str
    domain: TaskDomain | None = None
    weight: float = Field(default=1.0, ge=0)
    """How strongly a match votes for `domain`."""
    complexity: float = Field(default=0.0, ge=-1, le=1)
    """Added to the complexity score when the pattern matches."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} is not a valid regular expression: {exc}") from None
        return value


def _r(name: str, pattern: str, domain: TaskDomain | None = None, weight: float = 1.0,
       complexity: float = 0.0) -> Rule:
    return Rule(name=name, pattern=pattern, domain=domain, weight=weight, complexity=complexity)


DEFAULT_RULES: tuple[Rule, ...] = (
    # code
    _r("code fence", r"```", "code", 3.0, 0.15),
    _r("code words", r"\b(python|javascript|typescript|java|rust|golang|c\+\+|sql|regex|bash|"
       r"function|class|method|compile|stack ?trace|traceback|exception|bug|debug|refactor|"
       r"unit tests?|api|endpoint|algorithm|big-?o|recursion|dockerfile|kubernetes)\b", "code", 1.5),
    _r("code syntax", r"(\bdef |\bimport |=>|\(\)\s*\{|;\s*$|</?[a-z]+>|\w+\.\w+\()", "code", 1.5),
    # math
    _r("math words", r"\b(solve|equation|integral|derivative|probability|prove|proof|theorem|"
       r"lemma|matrix|eigen\w*|calculate|compute|how many|percent(age)?|sum of|remainder|"
       r"prime|factorial|polynomial|geometry|triangle|expected value)\b", "math", 1.5),
    _r("math symbols", r"(\d+\s*[-+*/^=]\s*\d+|\\frac|\\int|\\sum|√|∑|∫|\$[^$]+\$)", "math", 1.5),
    _r("proof", r"\b(prove|proof|show that|derive)\b", "math", 1.0, 0.25),
    # reasoning
    _r("reasoning words", r"\b(why|explain|reason(ing)?|analy[sz]e|compare|trade-?offs?|"
       r"pros and cons|evaluate|implications?|argue|critique|assess|strategy|plan)\b",
       "reasoning", 1.0, 0.1),
    _r("multi-step", r"\b(step[- ]by[- ]step|first,? .* then|multi-?step|in detail|"
       r"thoroughly|comprehensive|design a|architect)\b", "reasoning", 1.0, 0.2),
    _r("puzzle", r"\b(riddle|puzzle|logic(al)?|paradox|deduce|infer)\b", "reasoning", 1.5, 0.15),
    # creative
    _r("creative words", r"\b(write|compose|draft)\b.{0,40}\b(story|poem|song|lyrics|essay|"
       r"blog|post|script|novel|haiku|limerick|speech|letter|email)\b", "creative", 2.5),
    _r("creative style", r"\b(creative|imaginative|fiction(al)?|character|plot|rhyme|"
       r"metaphor|tone|persuasive|engaging)\b", "creative", 1.0),
    # extraction
    _r("extraction words", r"\b(extract|parse|summari[sz]e|summary|classify|categori[sz]e|"
       r"label|tag|list (all|the)|convert .* to (json|csv|yaml)|tl;?dr|key points|"
       r"named entities|fill in)\b", "extraction", 2.0, -0.1),
    _r("json ask", r"\b(json|csv|yaml|table|schema)\b", "extraction", 1.0),
    # chat / simple
    _r("small talk", r"^\s*(hi|hello|hey|thanks|thank you|good (morning|evening)|how are you)\b",
       "chat", 3.0, -0.3),
    _r("simple lookup", r"^\s*(what|who|when|where) (is|are|was|were)\b", "chat", 1.0, -0.1),
    _r("translate", r"\b(translate|translation)\b", "chat", 1.5, -0.1),
    _r("brevity", r"\b(briefly|in one sentence|short answer|one word|yes or no)\b", None, 0.0, -0.15),
    _r("hard words", r"\b(optimi[sz]e|complex|rigorous|edge cases|formal(ly)?|"
       r"concurren\w+|distributed|scalab\w+|security|vulnerab\w+)\b", None, 0.0, 0.15),
)


class RuleClassifier:
    """Scores each domain by matching weighted patterns; complexity from length and structure.

    Add your own rules with `RuleClassifier(extra_rules=[Rule(...)])` or `add_rule(...)`;
    they are evaluated alongside the defaults (or instead, with `rules=`).
    """

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        extra_rules: Iterable[Rule] = (),
        *,
        long_prompt_tokens: int = 1500,
    ) -> None:
        self._rules: list[tuple[Rule, re.Pattern[str]]] = []
        for rule in [*(DEFAULT_RULES if rules is None else rules), *extra_rules]:
            self.add_rule(rule)
        self.long_prompt_tokens = long_prompt_tokens

    def add_rule(self, rule: Rule) -> None:
        self._rules.append((rule, re.compile(rule.pattern, re.IGNORECASE | re.MULTILINE)))

    @property
    def rules(self) -> list[Rule]:
        return [rule for rule, _ in self._rules]

    def classify(self, features: RequestFeatures) -> TaskProfile:
        text = features.last_user_text
        scores: dict[TaskDomain, float] = {}
        complexity = 0.15
        signals: list[str] = []
        for rule, pattern in self._rules:
            if pattern.search(text) is None:
                continue
            signals.append(rule.name)
            if rule.domain is not None:
                scores[rule.domain] = scores.get(rule.domain, 0.0) + rule.weight
            complexity += rule.complexity

        # Length and structure: long asks with many requirements are harder.
        words = text.count(" ") + 1
        if words > 40:
            complexity += min(0.25, (words - 40) / 400)
            signals.append(f"{words} words")
        requirements = len(re.findall(r"^\s*(?:\d+[.)]|[-*•])\s", text, re.MULTILINE))
        if requirements >= 3:
            complexity += min(0.2, 0.05 * requirements)
            signals.append(f"{requirements} listed requirements")
        if features.prompt_tokens > self.long_prompt_tokens:
            complexity += 0.1
            signals.append("long context")
        if features.conversation_depth > 3:
            complexity += 0.05
        if features.has_tool_results or features.needs_tools:
            complexity += 0.05

        domain: TaskDomain = "chat"
        confidence = 0.5
        if scores:
            ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
            domain = ranked[0][0]
            top = ranked[0][1]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            confidence = min(1.0, 0.5 + (top - second) / (2 * top) + min(top, 3.0) / 12)
            if domain in ("math", "code", "reasoning"):
                complexity += 0.15
        if features.structured_output and domain == "chat":
            domain = "extraction"
        return TaskProfile(
            complexity=min(1.0, max(0.0, complexity)),
            domain=domain,
            needs=required_capabilities(features),
            confidence=round(confidence, 3),
            signals=tuple(signals),
        )
