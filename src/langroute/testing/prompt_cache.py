"""The scripted server's prompt caches. Anthropic's: a call's breakpoints (`cache_control` on a
tool, a system block or a message block, or at the top level for the last block) write the
prompt up to them; a later call to the same model that starts the same way reads it.

As the Messages API does, it caches tools, then system, then messages; looks for an earlier
hit up to 20 blocks before each breakpoint; caches nothing shorter than `min_tokens` (or the
model's own minimum, `MODEL_MIN_TOKENS`: 4,096 tokens for Claude Haiku 4.5);
refuses more than 4 breakpoints, and one inside a tool result's content. OpenAI's, when
`automatic` is set: every prompt of `min_tokens` or more, without breakpoints. Token counts
are the server's estimate (a token per 4 characters)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

MAX_BREAKPOINTS = 4
MODEL_MIN_TOKENS = {
    "claude-haiku-4-5": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4-6": 4096,
    "claude-3-5-haiku": 2048,
    "claude-3-haiku": 2048,
}
"""The Messages API's shortest cacheable prompt for these models (by model-id prefix), where
it is not 1,024 tokens: a breakpoint before it writes nothing, and no error says so."""
LOOKBACK_BLOCKS = 20
TTL_S = {"5m": 300.0, "1h": 3600.0}


def estimate_tokens(text: str) -> int:
    """The scripted server's token estimate: a token per 4 characters, rounded up."""
    return max(1, -(-len(text) // 4)) if text else 0


@dataclass(frozen=True)
class CacheUse:
    """What one call read from and wrote to the prompt cache, in tokens of its prompt."""

    prompt_tokens: int
    read: int
    written: int
    written_1h: int


@dataclass(frozen=True)
class _Block:
    digest: str
    """Of the prompt up to and including this block (without its breakpoint)."""
    tokens: int
    """Of the prompt up to and including this block."""
    ttl: str | None
    """The block's breakpoint ("5m" or "1h"), None when it has none."""


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return estimate_tokens(block)
    kind = block.get("type")
    if kind == "text":
        return estimate_tokens(str(block.get("text", "")))
    if kind == "image":
        return 85
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_block_tokens(part) for part in content)
        return estimate_tokens(str(content or ""))
    return estimate_tokens(json.dumps(block, sort_keys=True))


def _ttl(control: Any) -> str:
    ttl = control.get("ttl") if isinstance(control, dict) else None
    return ttl if ttl in TTL_S else "5m"


def _pieces(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The request's blocks in cache order, each with where it sits (tool, system, role)."""
    pieces: list[tuple[str, Any]] = [("tool", t) for t in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str) and system:
        pieces.append(("system", system))
    elif isinstance(system, list):
        pieces += [("system", block) for block in system]
    for message in body.get("messages") or []:
        content = message.get("content")
        role = str(message.get("role"))
        if isinstance(content, str):
            pieces.append((role, content))
        elif isinstance(content, list):
            pieces += [(role, block) for block in content]
    return pieces


class PromptCache:
    """Prompt prefixes cached per model, with their expiry (see the module docstring)."""

    def __init__(self, min_tokens: int = 1024, *, automatic: bool = False) -> None:
        self.min_tokens = min_tokens
        self.model_min_tokens = dict(MODEL_MIN_TOKENS)
        """Per model-id prefix, the minimum that replaces `min_tokens` for Anthropic calls."""
        self.automatic = automatic
        """Cache OpenAI-API calls as OpenAI does, without breakpoints (`use_automatic`)."""
        self._expiry: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def minimum(self, model: str) -> int:
        """The shortest prompt prefix an Anthropic call to `model` caches."""
        for prefix, tokens in self.model_min_tokens.items():
            if model.startswith(prefix):
                return tokens
        return self.min_tokens

    def refusal(self, body: dict[str, Any]) -> str | None:
        """The Messages API's error for breakpoints it refuses, None when they are fine."""
        found = 0
        for _, block in _pieces(body):
            if not isinstance(block, dict):
                continue
            found += block.get("cache_control") is not None
            inner = block.get("content") if block.get("type") == "tool_result" else None
            if isinstance(inner, list) and any(
                isinstance(part, dict) and part.get("cache_control") is not None for part in inner
            ):
                return (
                    "cache_control may not be specified within `tool_result.content`. "
                    "Instead, place it directly on `tool_result`"
                )
        found += body.get("cache_control") is not None
        if found > MAX_BREAKPOINTS:
            return (
                f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {found}."
            )
        return None

    def _blocks(self, body: dict[str, Any]) -> list[_Block]:
        pieces = _pieces(body)
        automatic = body.get("cache_control")
        running = hashlib.sha256()
        tokens = 0
        blocks: list[_Block] = []
        for i, (where, block) in enumerate(pieces):
            control = block.get("cache_control") if isinstance(block, dict) else None
            if control is None and automatic is not None and i == len(pieces) - 1:
                control = automatic
            bare = (
                {k: v for k, v in block.items() if k != "cache_control"}
                if isinstance(block, dict)
                else block
            )
            running.update(json.dumps([where, bare], sort_keys=True).encode())
            tokens += _block_tokens(bare)
            ttl = _ttl(control) if control is not None else None
            blocks.append(_Block(running.copy().hexdigest(), tokens, ttl))
        return blocks

    def use(self, model: str, body: dict[str, Any]) -> CacheUse | None:
        """Read the longest cached prefix of this call's prompt, then write it up to its last
        breakpoint; None when the call marks no breakpoint."""
        blocks = self._blocks(body)
        marks = [i for i, block in enumerate(blocks) if block.ttl is not None]
        if not marks:
            return None
        minimum = self.minimum(model)
        now = time.monotonic()
        looked = sorted(
            {j for i in marks for j in range(max(0, i - LOOKBACK_BLOCKS + 1), i + 1)},
            reverse=True,
        )
        with self._lock:
            hit = next(
                (j for j in looked if self._expiry.get((model, blocks[j].digest), 0) > now), None
            )
            read = blocks[hit].tokens if hit is not None else 0
            if hit is not None:
                ttl = blocks[hit].ttl or "5m"
                self._expiry[(model, blocks[hit].digest)] = now + TTL_S[ttl]
            written = written_1h = 0
            point = read
            for i in marks:
                block = blocks[i]
                if block.tokens <= point or block.tokens < minimum:
                    continue
                assert block.ttl is not None
                self._expiry[(model, block.digest)] = now + TTL_S[block.ttl]
                written += block.tokens - point
                if block.ttl == "1h":
                    written_1h += block.tokens - point
                point = block.tokens
        return CacheUse(blocks[-1].tokens, read, written, written_1h)

    def use_automatic(self, model: str, body: dict[str, Any]) -> CacheUse | None:
        """OpenAI's automatic caching: read the longest cached prefix of this prompt (in
        128-token steps from `min_tokens`), then hold every prefix of it that ends a block,
        for 5 minutes (a day with `prompt_cache_retention="24h"`); None when the prompt is
        shorter than `min_tokens`."""
        blocks = self._blocks(body)
        if not blocks or blocks[-1].tokens < self.min_tokens:
            return None
        ttl = 86400.0 if body.get("prompt_cache_retention") == "24h" else TTL_S["5m"]
        now = time.monotonic()
        with self._lock:
            hit = next(
                (
                    block.tokens
                    for block in reversed(blocks)
                    if block.tokens >= self.min_tokens
                    and self._expiry.get((model, block.digest), 0) > now
                ),
                0,
            )
            for block in blocks:
                if block.tokens >= self.min_tokens:
                    self._expiry[(model, block.digest)] = now + ttl
        read = hit and self.min_tokens + (hit - self.min_tokens) // 128 * 128
        return CacheUse(blocks[-1].tokens, read, 0, 0)

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
