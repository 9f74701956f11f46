"""One reasoning effort for every model a router may choose: OpenAI's `reasoning_effort`,
Claude's `output_config.effort`, or, for a Claude model that takes neither, the extended
thinking budget it stands for; a level a model does not take is sent as its nearest. And
Claude's `thinking` setting in the kind each Claude model takes (a budget up to 4.5,
adaptive only from Opus 4.7), without the sampling settings the newest ones refuse."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import get_args

from langroute.types import ChatParams, ReasoningEffort, ThinkingConfig, ThinkingType

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

_REASONING_ID = re.compile(r"^(o\d|gpt-([5-9]|[1-9]\d)(?!\d)(?!.*-chat))")


@lru_cache(maxsize=256)
def is_reasoning_model(model_id: str) -> bool:
    """OpenAI's reasoning models (o1, o3, o4-mini, GPT-5 and every later generation: gpt-5.1,
    gpt-6-sol…, also as `openai/o3` at a gateway; not the `-chat` ones) take
    `max_completion_tokens`, not `max_tokens`, no sampling settings but the defaults, and a
    `reasoning_effort`."""
    return bool(_REASONING_ID.match(model_id.rsplit("/", 1)[-1]))


_GPT_RELEASE = re.compile(r"^gpt-(\d+)(?:\.(\d+))?(?!\d)")


@lru_cache(maxsize=256)
def is_gpt_5_6_or_later(model_id: str) -> bool:
    """Whether the id is OpenAI's GPT-5.6 or a later release (`gpt-5.6-sol`, `gpt-6-luna`,
    `openai/gpt-6.2-sol`): the generation that takes function tools on Chat Completions only
    without reasoning and bills the writes of its automatic prompt cache."""
    match = _GPT_RELEASE.match(model_id.rsplit("/", 1)[-1])
    return match is not None and (int(match[1]), int(match[2] or 0)) >= (5, 6)


@lru_cache(maxsize=256)
def tools_want_no_effort(model_id: str) -> bool:
    """Whether an OpenAI reasoning model takes function tools on Chat Completions only with
    `reasoning_effort` "none": GPT-5.6 and later (gpt-5.6-luna, gpt-6-luna, gpt-6.1-terra…)
    answer 400 to tools with any other effort, or with none given, since their default is
    not "none" ("Function tools with reasoning_effort are not supported for gpt-5.6-luna in
    /v1/chat/completions. To use function tools, use /v1/responses or set reasoning_effort
    to 'none'."). Those that refuse "none" (gpt-6.1-sol, the gpt-6.2 models) take no function
    tools there at all: the catalog's entries for them say `tools = false`."""
    return is_gpt_5_6_or_later(model_id) and is_reasoning_model(model_id)


_CLAUDE_ID = re.compile(r"claude-(?:([a-z]+)-)?(\d+)(?:[-.](\d)(?!\d))?")


@lru_cache(maxsize=256)
def claude_version(model_id: str) -> tuple[int, int, str] | None:
    """A Claude model's version and family from its id in any provider's spelling
    (`claude-opus-4-7`, `anthropic.claude-opus-4-7`, `claude-3-5-haiku-20241022`,
    `anthropic/claude-opus-4.7`), or None for a model that is not Claude."""
    match = _CLAUDE_ID.search(model_id.lower())
    if match is None:
        return None
    return int(match[2]), int(match[3] or 0), match[1] or ""


_ALWAYS_THINKS = ("fable", "mythos")


def default_thinking_types(model_id: str) -> tuple[ThinkingType, ...]:
    """The kinds of Claude's `thinking` setting a model takes when its registry entry does
    not say, by its id: a budget (`enabled`) or none up to 4.5, adaptive too on 4.6, adaptive
    or none from Opus 4.7 (a budget is refused: "thinking.type.enabled is not supported for
    this model"), and only adaptive, always on, from 5.5 and on Fable and Mythos. None
    (`()`: sent as asked) for a model that is not Claude."""
    version = claude_version(model_id)
    if version is None:
        return ()
    release, family = version[:2], version[2]
    if family in _ALWAYS_THINKS or release >= (5, 5):
        return ("adaptive",)
    if release >= (4, 7):
        return ("adaptive", "disabled")
    if release == (4, 6):
        return ("enabled", "adaptive", "disabled")
    return ("enabled", "disabled")


def default_sampling(model_id: str) -> bool:
    """Whether a model takes temperature, top_p and top_k, by its id: not Claude Opus 4.7 and
    later ("`temperature` is deprecated for this model", a 400); any other model does (OpenAI's
    reasoning models are sent none by their provider)."""
    version = claude_version(model_id)
    return version is None or (version[:2] < (4, 7) and version[2] not in _ALWAYS_THINKS)


def default_efforts(model_id: str) -> tuple[ReasoningEffort, ...]:
    """The efforts a model takes when its registry entry does not say: low to high for
    OpenAI's o-series (o1, o3, o4-mini), every level for its other reasoning models (GPT-5
    and later, whose levels differ by version: sent as asked), Claude's `output_config.effort`
    levels for Opus 4.5 and later Claude models, none for any other model."""
    if (claude := claude_version(model_id)) is not None:
        return _claude_efforts(*claude)
    if not is_reasoning_model(model_id):
        return ()
    if model_id.rsplit("/", 1)[-1].startswith("o"):
        return ("low", "medium", "high")
    return EFFORTS


def _claude_efforts(major: int, minor: int, family: str) -> tuple[ReasoningEffort, ...]:
    release = (major, minor)
    if family == "haiku" and (5, 0) <= release < (5, 5):
        return ("low", "medium", "high")
    if release >= (4, 7) or family in _ALWAYS_THINKS:
        return ("low", "medium", "high", "xhigh", "max")
    if release == (4, 6):
        return ("low", "medium", "high", "max")
    if release == (4, 5) and family == "opus":
        return ("low", "medium", "high")
    return ()


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
    if (budget := _budget_under(budget, params.max_tokens)) is None:
        room = params.max_tokens
        why = f"max_tokens {room} leaves no room for a thinking budget (at least 1,024)"
        return params.model_copy(update=update), (what, why)
    update["thinking"] = ThinkingConfig(type="enabled", budget_tokens=budget)
    why = f"it takes a thinking budget instead, and was sent one of {budget} tokens"
    return params.model_copy(update=update), (what, why)


def _budget_under(budget: int, max_tokens: int | None) -> int | None:
    """`budget` cut to fit under `max_tokens` (Claude counts thinking in it and refuses a
    budget that is not below it), or None when no budget of at least 1,024 fits."""
    if max_tokens is None or budget < max_tokens:
        return budget
    return max_tokens - 1 if max_tokens - 1 >= MIN_THINKING_BUDGET else None


def fit_thinking(
    params: ChatParams,
    kinds: tuple[ThinkingType, ...],
    levels: tuple[ReasoningEffort, ...],
) -> tuple[ChatParams, tuple[str, str] | None]:
    """`params` with Claude's `thinking` in a kind the model takes (`kinds`; none: as asked),
    and, when that changed what was asked, what and why (for the log). A budget asked of a
    model that thinks only adaptively is sent as adaptive thinking, summarized so the
    thinking still shows, at the effort the budget stands for; adaptive asked of one that
    takes only a budget, as the budget of the effort asked (high, adaptive thinking's
    default, when none is); a kind it does not take otherwise is left out. An effort asked
    without a `thinking` setting turns adaptive thinking on where the model takes it (and
    `none`, off where it can be)."""
    thinking = params.thinking
    effort = params.reasoning_effort
    if not kinds:
        return params, None
    if thinking is None:
        if effort is None or "adaptive" not in kinds or not levels:
            return params, None
        if effort in ("none", "minimal"):
            if "disabled" not in kinds:
                return params, None
            off = ThinkingConfig(type="disabled")
            return params.model_copy(update={"thinking": off, "reasoning_effort": None}), None
        return params.model_copy(update={"thinking": ThinkingConfig(type="adaptive")}), None
    if thinking.type in kinds:
        return params, None
    what = f"thinking of type {thinking.type!r}"
    other = "adaptive" if thinking.type == "enabled" else "enabled"
    if thinking.type == "disabled" or other not in kinds:
        why = "it always thinks" if thinking.type == "disabled" else "it does not take it"
        return params.model_copy(update={"thinking": None}), (what, why + ", sent without")
    if thinking.type == "enabled":
        given = {"display": "summarized", **(thinking.model_extra or {}), "type": "adaptive"}
        adaptive = ThinkingConfig.model_validate(given)
        update: dict[str, object] = {"thinking": adaptive}
        why = "it thinks only adaptively, and was sent adaptive thinking"
        if effort is None and levels and (stands_for := effort_for_thinking(thinking)):
            update["reasoning_effort"] = sent = nearest_effort(stands_for, levels)
            why += f" at effort {sent!r}"
        return params.model_copy(update=update), (what, why)
    budget = THINKING_BUDGETS.get(effort or "high")
    if budget is None or (budget := _budget_under(budget, params.max_tokens)) is None:
        why = "it takes only a thinking budget, and none fits the effort and max_tokens asked"
        return params.model_copy(update={"thinking": None}), (what, why)
    budgeted = ThinkingConfig(type="enabled", budget_tokens=budget)
    why = f"it takes only a thinking budget, and was sent one of {budget} tokens"
    return params.model_copy(update={"thinking": budgeted}), (what, why)


def always_thinks(kinds: tuple[ThinkingType, ...]) -> bool:
    """Whether a model with these kinds of `thinking` thinks on every call (Claude Opus 5.5,
    Sonnet 5.5, Fable): it takes adaptive thinking and cannot be told not to."""
    return "adaptive" in kinds and "disabled" not in kinds and "enabled" not in kinds


def fit_tool_choice(
    params: ChatParams, kinds: tuple[ThinkingType, ...]
) -> tuple[ChatParams, tuple[str, str] | None]:
    """`params` with a forced tool choice (`required`, or a tool's name) sent as `auto` to a
    Claude model that will think on the call: asked to (`params.thinking`), or always does.
    Claude answers 400 to it then ("Thinking may not be enabled when tool_choice forces tool
    use"); the model may answer in text instead, which a caller's parser must allow."""
    choice = params.tool_choice
    if choice is None or choice in ("auto", "none") or not kinds:
        return params, None
    thinking = params.thinking
    if not (always_thinks(kinds) or (thinking is not None and thinking.on)):
        return params, None
    why = "Claude refuses it while thinking, and it was sent as auto"
    return params.model_copy(update={"tool_choice": "auto"}), ("a forced tool choice", why)


def fit_sampling(params: ChatParams, takes: bool) -> tuple[ChatParams, tuple[str, str] | None]:
    """`params` without temperature, top_p and top_k for a model that refuses them (Claude
    Opus 4.7 and later answer 400 to any but the defaults), and what was left out and why
    (for the log)."""
    extra = params.extra_body or {}
    asked = [k for k in ("temperature", "top_p") if getattr(params, k) is not None]
    asked += [k for k in ("top_k",) if k in extra]
    if takes or not asked:
        return params, None
    update: dict[str, object] = {"temperature": None, "top_p": None}
    if "top_k" in extra:
        update["extra_body"] = {k: v for k, v in extra.items() if k != "top_k"} or None
    why = "the model takes no sampling settings (its API answers 400 to them)"
    return params.model_copy(update=update), (" and ".join(asked), why)
