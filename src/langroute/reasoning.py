"""One reasoning effort for every model a router may choose: OpenAI's `reasoning_effort`,
Claude's `output_config.effort`, or, for a Claude model that takes neither, the extended
thinking budget it stands for; a level a model does not take is sent as its nearest."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import get_args

from langroute.types import ChatParams, ReasoningEffort, ThinkingConfig

EFFORTS: tuple[ReasoningEffort, ...] = get_args(ReasoningEffort)
"""The levels, least reasoning first."""

THINKING_BUDGETS: dict[ReasoningEffort, int] = {
    "low": 1024,
    "medium": 8192,
    "high": 24576,
    "xhigh": 24576,
    "max": 24576,
}
"""The extended thinking budget an effort stands for on a Claude model that takes no effort
(`none`/`minimal`: no thinking). Low, medium and high are Google's mapping for Gemini's
OpenAI compatibility; above high stays at 24,576, so that with the answer's room it fits
every Claude model's output limit (Opus 4.1's is 32,000)."""

MIN_THINKING_BUDGET = 1024
"""The least thinking budget Claude takes."""

_REASONING_ID = re.compile(r"^(o\d|gpt-5(?!.*-chat))")


@lru_cache(maxsize=256)
def is_reasoning_model(model_id: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, gpt-5…, also as `openai/o3` at a gateway)
    take `max_completion_tokens`, not `max_tokens`, no sampling settings but the defaults,
    and a `reasoning_effort`."""
    return bool(_REASONING_ID.match(model_id.rsplit("/", 1)[-1]))


def default_efforts(model_id: str) -> tuple[ReasoningEffort, ...]:
    """The efforts a model takes when its registry entry does not say: low to high for
    OpenAI's o-series (o1, o3, o4-mini), every level for its other reasoning models (GPT-5
    and later, whose levels differ by version: sent as asked), none for any other model."""
    if not is_reasoning_model(model_id):
        return ()
    if model_id.rsplit("/", 1)[-1].startswith("o"):
        return ("low", "medium", "high")
    return EFFORTS


def nearest_effort(effort: ReasoningEffort, levels: tuple[ReasoningEffort, ...]) -> ReasoningEffort:
    """The level of `levels` closest to `effort` (on a tie, the one with more reasoning):
    `minimal` to a model that takes low, medium and high is sent as `low`."""
    rank = EFFORTS.index(effort)
    return min(levels, key=lambda level: (abs(EFFORTS.index(level) - rank), -EFFORTS.index(level)))


def effort_for_thinking(thinking: ThinkingConfig) -> ReasoningEffort | None:
    """The effort a Claude thinking setting stands for on a model that takes an effort
    instead: its budget's nearest level (`adaptive`: the model's default, None)."""
    if not thinking.on:
        return None
    budget = thinking.budget_tokens
    if budget is None:
        return None
    if budget < 4096:
        return "low"
    return "medium" if budget < 16384 else "high"


def fit_reasoning(
    params: ChatParams,
    levels: tuple[ReasoningEffort, ...],
    *,
    thinks: bool,
) -> tuple[ChatParams, tuple[str, str] | None]:
    """`params` with the reasoning asked for as a model takes it, and, when that changed
    what was asked, what and why (for the log). `levels` are the efforts the model takes
    (none: it takes no effort); `thinks`: it is a Claude model that takes a thinking
    budget, which then stands in for an effort."""
    effort = params.reasoning_effort
    thinking = params.thinking
    if effort is None:
        if thinking is None or thinks or not levels:
            return params, None
        if (fitted := effort_for_thinking(thinking)) is None:
            return params, None
        sent = nearest_effort(fitted, levels)
        why = f"it takes an effort instead, and was sent reasoning_effort {sent!r}"
        return params.model_copy(update={"reasoning_effort": sent}), ("Claude's thinking", why)
    what = f"reasoning_effort {effort!r}"
    if levels:
        sent = nearest_effort(effort, levels)
        if sent == effort:
            return params, None
        why = f"it was sent {sent!r}, the nearest level it takes"
        return params.model_copy(update={"reasoning_effort": sent}), (what, why)
    update: dict[str, object] = {"reasoning_effort": None}
    if not thinks or thinking is not None:
        return params.model_copy(update=update), (what, "it takes no reasoning effort")
    budget = THINKING_BUDGETS.get(effort)
    if budget is None:
        return params.model_copy(update=update), None  # asked not to reason: it won't
    room = params.max_tokens
    if room is not None and budget >= room:
        budget = room - 1  # Claude's budget must be under max_tokens, which counts it
        if budget < MIN_THINKING_BUDGET:
            why = f"max_tokens {room} leaves no room for a thinking budget (at least 1,024)"
            return params.model_copy(update=update), (what, why)
    update["thinking"] = ThinkingConfig(type="enabled", budget_tokens=budget)
    why = f"it takes a thinking budget instead, and was sent one of {budget} tokens"
    return params.model_copy(update=update), (what, why)
