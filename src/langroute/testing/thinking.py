"""Extended thinking as the scripted server serves it: Claude's `thinking` blocks with a
signature it checks when they come back, the Messages API's rules around them, and the
`reasoning_content` of OpenAI-compatible reasoning models (DeepSeek's field)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from langroute.reasoning import always_thinks
from langroute.types import ThinkingType

_KEY = b"langroute-scripted-thinking"


def signature(thinking: str) -> str:
    """The signature the scripted Claude puts on a thinking block: any change to the text
    (or a made-up signature) is caught when the block is sent back."""
    digest = hashlib.blake2b(thinking.encode(), key=_KEY, digest_size=24).digest()
    return base64.b64encode(digest).decode()


FORCED = ("any", "tool")
"""The Messages API's tool choices that force a tool call."""


def thinks(body: dict[str, Any]) -> bool:
    """Whether a Messages API call enables extended thinking."""
    config = body.get("thinking")
    return isinstance(config, dict) and config.get("type") in ("enabled", "adaptive")


def thoughts(reasoning: str | None, last_user_text: str) -> str:
    """What the scripted model thinks: the reply's scripted reasoning, or a line about the
    question."""
    return reasoning if reasoning is not None else f"Thinking about: {last_user_text[:80]}"


def refusal(body: dict[str, Any]) -> str | None:
    """The Messages API's HTTP 400 message for a call that breaks a rule of extended
    thinking, else None: a budget under 1,024 or not under `max_tokens`, a temperature
    other than 1 or a forced tool choice while thinking, a thinking block whose text or
    signature was changed, and, while thinking, a tool loop whose last assistant message
    does not start with its thinking block (the block was dropped on the way back)."""
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if block.get("type") == "thinking" and block.get("signature") != signature(
                str(block.get("thinking", ""))
            ):
                return f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block"
    if not thinks(body):
        return None
    config = body["thinking"]
    budget = config.get("budget_tokens")
    if config.get("type") == "enabled":
        if not isinstance(budget, int) or budget < 1024:
            return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
        if budget >= int(body.get("max_tokens") or 0):
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
    if body.get("temperature") not in (None, 1, 1.0):
        return "`temperature` may only be set to 1 when thinking is enabled"
    if (body.get("tool_choice") or {}).get("type") in FORCED:
        return "Thinking may not be enabled when tool_choice forces tool use."
    return _unthought_tool_turn(messages)


def model_refusal(
    body: dict[str, Any], kinds: tuple[ThinkingType, ...], sampling: bool, api: str = "anthropic"
) -> str | None:
    """The HTTP 400 message for a call a Claude model refuses by its generation, else None:
    a forced tool choice on a model that always thinks (the words Claude uses while
    thinking), a `thinking` kind it does not take (Opus 4.7 and later refuse a budget: the
    real API's words), or, on a model without sampling settings, a temperature, top_p or
    top_k other than the default (the real API's words for temperature, the same form for
    the others)."""
    if not sampling:
        for name, default in (("temperature", 1), ("top_p", 1), ("top_k", None)):
            if name in body and body[name] != default:
                return f"`{name}` is deprecated for this model."
    if (
        api == "anthropic"
        and always_thinks(kinds)
        and (body.get("tool_choice") or {}).get("type") in FORCED
    ):
        return "Thinking may not be enabled when tool_choice forces tool use."
    config = body.get("thinking")
    if api != "anthropic" or not kinds or not isinstance(config, dict):
        return None
    kind = config.get("type")
    if kind == "adaptive" and "budget_tokens" in config:
        return "thinking.adaptive.budget_tokens: Extra inputs are not permitted"
    if kind in kinds:
        return None
    if kind == "enabled":
        return (
            '"thinking.type.enabled" is not supported for this model. Use '
            '"thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
        )
    if kind == "adaptive":
        return "adaptive thinking is not supported on this model"
    return f'"thinking.type.{kind}" is not supported for this model.'


def _unthought_tool_turn(messages: list[dict[str, Any]]) -> str | None:
    """The refusal for a tool loop whose last assistant turn lost its thinking block."""
    last_user = messages[-1] if messages else {}
    content = last_user.get("content")
    in_tool_loop = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )
    if not in_tool_loop:
        return None
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") != "assistant":
            continue
        blocks = messages[i].get("content")
        first = (
            blocks[0].get("type", "text")
            if isinstance(blocks, list) and blocks and isinstance(blocks[0], dict)
            else "text"
        )
        if first in ("thinking", "redacted_thinking"):
            return None
        return (
            f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{first}`. When `thinking` is enabled, a final `assistant` message must "
            "start with a thinking block (preceeding the lastmost set of `tool_use` and "
            "`tool_result` blocks). We recommend you include thinking blocks from previous "
            "turns. To avoid this requirement, disable `thinking`."
        )
    return None
