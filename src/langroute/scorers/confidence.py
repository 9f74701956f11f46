"""`SelfReportedConfidence`: the model says how sure it is; the scorer reads it.

Ask for it in your own system prompt — `CONFIDENCE_INSTRUCTION` is a tested wording — so
the model ends its answer with a line like `Confidence: 0.8`. Parsing is lenient: `0.8`,
`80%`, `8/10`, or a word (`high`, `medium`, `low`), last mention wins, case ignored. An
answer with no confidence abstains with `missing` (default 0.5). The line stays in the
answer: the caller asked for it.
"""

from __future__ import annotations

import re

from langroute.features import RoutingRequest
from langroute.scorers.base import Answer, Score

CONFIDENCE_INSTRUCTION = (
    "After your answer, add one last line of the form 'Confidence: X', where X is a number "
    "from 0 to 1 saying how likely your answer is correct."
)
_NUMBER = re.compile(
    r"confidence\s*(?:level|score)?\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(%|/\s*10\b|/\s*100\b)?",
    re.IGNORECASE,
)
_WORD = re.compile(
    r"confidence\s*(?:level)?\s*[:=]?\s*(very high|high|medium|moderate|low|very low)",
    re.IGNORECASE,
)
_WORDS = {
    "very high": 0.95,
    "high": 0.85,
    "medium": 0.6,
    "moderate": 0.6,
    "low": 0.3,
    "very low": 0.1,
}


def parse_confidence(text: str) -> float | None:
    """The last stated confidence in `text` as a number in [0, 1], or None."""
    found: list[tuple[int, float]] = []
    for m in _NUMBER.finditer(text):
        value, unit = float(m.group(1)), (m.group(2) or "").replace(" ", "")
        if unit == "%" or unit == "/100" or (not unit and value > 10):
            value /= 100
        elif unit == "/10" or (not unit and value > 1):
            value /= 10
        found.append((m.start(), value))
    for m in _WORD.finditer(text):
        found.append((m.start(), _WORDS[m.group(1).lower()]))
    if not found:
        return None
    return max(0.0, min(1.0, max(found)[1]))


class SelfReportedConfidence:
    def __init__(self, missing: float = 0.5) -> None:
        self.missing = missing

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        value = parse_confidence(answer.content[-400:])
        if value is None:
            return Score(self.missing, "no confidence stated")
        return Score(value, f"self-reported confidence {value:.2f}")
