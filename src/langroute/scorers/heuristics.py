"""`Heuristics`: cheap signs that an answer should not be trusted.

Empty answers, refusals, hedges ("I'm not sure"), answers cut off by the length limit,
invalid JSON when JSON was asked (or JSON that breaks the caller's schema: a missing key,
a wrong type, a bound such as `minimum` that the model could not enforce), and tool calls
whose arguments are not valid JSON. Each sign has its own score; the lowest wins.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langroute.features import RoutingRequest
from langroute.scorers._schema import first_violation
from langroute.scorers.base import Answer, Score

REFUSAL = re.compile(
    r"\b(i can(?:no|')t (?:help|assist|do that|comply)|i(?: am|'m) (?:not able|unable) to|"
    r"as an ai(?: language model)?|i must decline|i won't be able to)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"\b(i(?: am|'m) not (?:sure|certain)|i don't know|i do not know|i'm unsure|"
    r"not entirely sure|hard to say|i cannot be certain)\b",
    re.IGNORECASE,
)


def _schema_of(request: RoutingRequest) -> dict[str, Any] | None:
    fmt = request.params.response_format
    if fmt is None or fmt.type != "json_schema" or fmt.json_schema is None:
        return None
    return fmt.json_schema.schema_


class Heuristics:
    def __init__(
        self,
        *,
        empty: float = 0.0,
        refusal: float = 0.1,
        hedge: float = 0.3,
        truncated: float = 0.2,
        invalid_json: float = 0.0,
        invalid_tool_arguments: float = 0.0,
    ) -> None:
        self.levels = {
            "empty answer": empty,
            "refusal": refusal,
            "hedge": hedge,
            "truncated by the length limit": truncated,
            "invalid JSON": invalid_json,
            "invalid tool arguments": invalid_tool_arguments,
        }

    def _signs(self, request: RoutingRequest, answer: Answer) -> list[str]:
        """The warning signs of `answer`, each with what it is about in brackets where that
        helps (the place a schema is broken)."""
        text = answer.content.strip()
        signs = []
        calls_tools = answer.calls_tools or bool(answer.tool_calls)
        if answer.complete and not text and not calls_tools:
            signs.append("empty answer")
        if REFUSAL.search(text[:400]):
            signs.append("refusal")
        if HEDGE.search(text):
            signs.append("hedge")
        if answer.finish_reason == "length":
            signs.append("truncated by the length limit")
        if answer.complete and request.features.structured_output and not calls_tools:
            try:
                value = json.loads(text.removeprefix("```json").strip("`\n "))
            except ValueError:
                signs.append("invalid JSON")
            else:
                schema = _schema_of(request)
                if schema is not None and (broken := first_violation(value, schema)):
                    signs.append(f"invalid JSON ({broken})")
        for call in answer.tool_calls:
            try:
                json.loads(call.function.arguments or "{}")
            except ValueError:
                signs.append("invalid tool arguments")
                break
        return signs

    async def score(self, request: RoutingRequest, answer: Answer) -> Score:
        signs = self._signs(request, answer)
        if not signs:
            return Score(1.0, "no warning sign")
        worst = min(self.levels[sign.split(" (", 1)[0]] for sign in signs)
        return Score(worst, ", ".join(signs))
