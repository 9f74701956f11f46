"""Reasoning effort as the scripted server takes it: OpenAI's `reasoning_effort` only for a
reasoning model and only at a level it takes, Claude's `output_config.effort` likewise, and
the hidden reasoning tokens an OpenAI reasoning model bills for it."""

from __future__ import annotations

from typing import Any

from langroute.reasoning import EFFORTS, default_efforts, tools_want_no_effort

HIDDEN_REASONING_TOKENS = {
    "none": 0,
    "minimal": 16,
    "low": 64,
    "medium": 256,
    "high": 1024,
    "xhigh": 2048,
    "max": 4096,
}
"""The hidden reasoning tokens the scripted OpenAI reasoning model bills at each effort."""


def default_levels(name: str) -> tuple[str, ...]:
    """The efforts a scripted model takes unless told: OpenAI's o-series low to high, GPT-5
    (and -mini, -nano) minimal to high, OpenAI's later reasoning models any, Claude's by
    version, any other model none."""
    levels = default_efforts(name)
    gpt_5 = name.rsplit("/", 1)[-1].split("-20")[0] in ("gpt-5", "gpt-5-mini", "gpt-5-nano")
    return ("minimal", "low", "medium", "high") if levels == EFFORTS and gpt_5 else levels


def sampling_refusal(body: dict[str, Any]) -> str | None:
    """What OpenAI answers (HTTP 400, its words) to a reasoning model sent `max_tokens`, or
    a temperature or top_p other than 1 without `reasoning_effort` "none" (GPT-5.1 and
    later take them then)."""
    if "max_tokens" in body:
        return (
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead."
        )
    if body.get("reasoning_effort") == "none":
        return None
    for name in ("temperature", "top_p"):
        if name in body and body[name] != 1:
            return (
                f"Unsupported value: '{name}' does not support {body[name]} with this model. "
                "Only the default (1) value is supported."
            )
    return None


def _listed(levels: tuple[str, ...]) -> str:
    quoted = [f"'{level}'" for level in levels]
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def refusal(api: str, body: dict[str, Any], levels: tuple[str, ...]) -> str | None:
    """Why the API refuses the call's reasoning effort (HTTP 400), else None."""
    if api == "openai":
        if "reasoning_effort" not in body:
            return None
        effort = body["reasoning_effort"]
        if not levels:
            return "Unsupported parameter: 'reasoning_effort' is not supported with this model."
        if effort not in levels:
            return (
                f"Unsupported value: 'reasoning_effort' does not support {effort!r} with this "
                f"model. Supported values are: {_listed(levels)}."
            )
        return None
    config = body.get("output_config")
    if not isinstance(config, dict) or "effort" not in config:
        return None
    if not levels:
        return "output_config.effort: This model does not support the effort parameter."
    if config["effort"] not in levels:
        return f"output_config.effort: Input should be {_listed(levels).replace(', and', ' or')}"
    return None


def tools_refusal(body: dict[str, Any]) -> str | None:
    """What OpenAI answers (HTTP 400, its words) to GPT-5.6 or later sent function tools on
    Chat Completions without `reasoning_effort` "none" (left out, its default is refused
    too), else None."""
    model = str(body.get("model", ""))
    if not body.get("tools") or not tools_want_no_effort(model):
        return None
    if body.get("reasoning_effort") == "none":
        return None
    return (
        f"Function tools with reasoning_effort are not supported for {model} in "
        "/v1/chat/completions. To use function tools, use /v1/responses or set "
        "reasoning_effort to 'none'."
    )


def hidden_tokens(api: str, body: dict[str, Any]) -> int:
    """The reasoning tokens an OpenAI reasoning model bills, unseen, for the call's effort."""
    effort = body.get("reasoning_effort") if api == "openai" else None
    return HIDDEN_REASONING_TOKENS.get(effort, 0) if isinstance(effort, str) else 0
