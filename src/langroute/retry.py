"""Retries of one deployment: jittered exponential backoff that honours Retry-After.

Written here rather than taken from tenacity to keep the core's dependencies to pydantic,
httpx and tiktoken; it is the one loop-free formula below.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from langroute.errors import ProviderError, RateLimited


class RetryPolicy(BaseModel):
    """How often and how long to retry the same deployment before moving on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(default=2, ge=1, le=10)
    """Calls per deployment, the first included (1 = no retry)."""
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=8.0, ge=0)
    max_retry_after_s: float = Field(default=10.0, ge=0)
    """A Retry-After longer than this skips to the next deployment instead of waiting."""
    attempt_timeout_s: float | None = Field(default=None, gt=0)
    """Give up on one model call after this many seconds (a stream: if no text or tool call
    came by then) and retry or fall back; the core enforces it whatever the candidate's own
    client does. Per call: `hints={"attempt_timeout_s": ...}`."""
    stall_timeout_s: float | None = Field(default=None, gt=0)
    """Cut a stream that sends nothing for this many seconds: before its first text or tool
    call it is retried or fallen back from, after it the caller gets `StreamInterrupted` with
    what was shown (instead of waiting out the client's read timeout)."""
    deadline_s: float | None = Field(default=None, gt=0)
    """The whole call — every attempt, retry wait and fallback — ends within this many seconds
    (a stream: its first text or tool call); past it, `AllModelsFailed` with a
    `DeadlineExceeded`. Per call: `hints={"deadline_s": ...}`."""

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to move on."""
        if not error.retryable or attempt >= self.attempts:
            return None
        backoff = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1)))
        if isinstance(error, RateLimited) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after_s:
                return None
            return max(error.retry_after, backoff)
        return backoff
