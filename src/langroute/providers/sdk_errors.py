"""Normalising exceptions raised by vendor SDKs (openai, anthropic, and clients built the same
way) into langroute's error hierarchy, by duck typing: no SDK is imported.

Adapters call models through their framework, which raises the vendor SDK's exceptions;
the strategies act on `ProviderError` types, so every adapter maps through here. Also here:
fitting the keywords a framework client is called with to what its API takes (arguments
it refuses, Claude's rules while thinking).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from langroute._streams import closing
from langroute.errors import (
    ConnectionFailed,
    MalformedResponse,
    ProviderError,
    Timeout,
)
from langroute.providers._http import (
    OPTIONAL_ARGUMENTS,
    error_from_exception,
    error_from_status,
    not_sent,
)

T = TypeVar("T")
_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")


class RefusedArguments:
    """The optional arguments (`OPTIONAL_ARGUMENTS`) one framework candidate's client
    refused, so its later calls go without them, as a native provider's do."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.names: set[str] = set()

    def left_out(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """`kwargs` without the arguments this candidate refused before."""
        if self.names:
            for name in self.names.intersection(kwargs):
                del kwargs[name]
        return kwargs

    async def call(
        self, kwargs: dict[str, Any], make: Callable[[dict[str, Any]], Awaitable[T]]
    ) -> T:
        """`make(kwargs)`, made again without an argument the client refused."""
        while True:
            try:
                return await make(kwargs)
            except TypeError as exc:
                if not self.refused(exc, kwargs):
                    raise

    async def stream(
        self,
        kwargs: dict[str, Any],
        open_: Callable[[dict[str, Any]], Awaitable[AsyncIterator[T]]],
    ) -> AsyncIterator[T]:
        """The stream `open_(kwargs)` gives, opened again without an argument the client
        refused (which it does before the stream's first item)."""
        while True:
            try:
                items = await open_(kwargs)
                first = await anext(items)
            except StopAsyncIteration:
                return
            except TypeError as exc:
                if not self.refused(exc, kwargs):
                    raise
                continue
            async with closing(items):
                yield first
                async for item in items:
                    yield item
            return

    def refused(self, exc: BaseException, kwargs: dict[str, Any]) -> bool:
        """Whether `exc` is the client refusing one of them as an unexpected keyword, as
        the Anthropic SDK refuses `seed` and `logprobs` (before any request): it is then
        left out of `kwargs` and of later calls, and said once per process."""
        found = _UNEXPECTED.search(str(exc)) if isinstance(exc, TypeError) else None
        name = found.group(1) if found else None
        if name not in OPTIONAL_ARGUMENTS or name not in kwargs:
            return False
        not_sent(self.owner, repr(name), "its client takes no such argument")
        self.names.add(name)
        del kwargs[name]
        return True


def _body_text(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping | list):
        return json.dumps(
            {"error": body} if isinstance(body, Mapping) and "error" not in body else body
        )
    response = getattr(exc, "response", None)
    text = getattr(response, "text", None)
    if isinstance(text, str) and text:
        return text
    return json.dumps({"error": {"message": str(getattr(exc, "message", None) or exc)}})


def _http_status(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599:
        return int(value)
    return None


# Exceptions that carry no HTTP status, known by their class names across vendor SDKs.
_STATUS_BY_NAME = (
    ("RateLimit", 429),
    ("TooManyRequests", 429),
    ("ResourceExhausted", 429),
    ("Throttl", 429),
    ("Overloaded", 529),
    ("ServiceUnavailable", 503),
    ("InternalServer", 500),
    ("Unauthenticated", 401),
    ("Authentication", 401),
    ("PermissionDenied", 403),
)


def _status_and_headers(exc: BaseException) -> tuple[int | None, Mapping[str, str]]:
    """The HTTP status an SDK's exception carries, wherever it keeps it: `status_code`
    (openai, anthropic, mistral, cohere…), `response.status_code` (httpx's and requests'
    HTTPError), `status` (aiohttp), `code` (google-api-core), a botocore-style response
    dict; else one its class name implies (`ResourceExhausted`, `ThrottlingException`…)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if isinstance(response, Mapping):  # botocore's ClientError
        meta = response.get("ResponseMetadata") or {}
        headers = meta.get("HTTPHeaders")
        status = _http_status(meta.get("HTTPStatusCode"))
        if status is not None:
            return status, headers or {}
    for value in (
        getattr(exc, "status_code", None),
        getattr(response, "status_code", None),
        getattr(exc, "status", None),
        getattr(exc, "code", None),
    ):
        if (status := _http_status(value)) is not None:
            return status, headers or {}
    names = [cls.__name__ for cls in type(exc).__mro__]
    for marker, status in _STATUS_BY_NAME:
        if any(marker in name for name in names):
            return status, headers or {}
    return None, {}


def normalise_exception(exc: BaseException, **where: Any) -> ProviderError:
    """The `ProviderError` for any exception a model call raised."""
    if isinstance(exc, ProviderError):
        return exc
    status, headers = _status_and_headers(exc)
    if status is not None:
        return error_from_status(status, headers, _body_text(exc), **where)
    name = type(exc).__name__
    answered = getattr(exc, "status_code", None)
    if isinstance(answered, int) and 200 <= answered < 300:  # e.g. openai's validation error
        return MalformedResponse(f"unusable response ({name}: {exc})", **where)
    if "Timeout" in name or isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Timeout(f"timed out ({name})", **where)
    if "Connection" in name or isinstance(exc, ConnectionError):
        return ConnectionFailed(f"connection failed ({name}: {exc})", **where)
    if isinstance(exc, json.JSONDecodeError):
        return MalformedResponse(f"malformed response ({name}: {exc})", **where)
    if isinstance(exc, Exception):
        return error_from_exception(exc, **where)
    return ProviderError(f"{name}: {exc}", **where)


def fit_for_claude_thinking(
    who: str, kwargs: dict[str, Any], *, own_max_tokens: Any, own_temperature: Any
) -> dict[str, Any]:
    """A framework Claude client's call keywords as Claude takes them while thinking (the
    native provider does the same itself): a `max_tokens` above the budget when the call
    sets none and the client's own is not (Claude counts thinking in it), and temperature
    1 when the call's or the client's is another (Claude answers 400 to it)."""
    thinking = kwargs.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return kwargs
    fitted = dict(kwargs)
    budget = thinking.get("budget_tokens")
    room = own_max_tokens
    asked = "max_tokens" in kwargs
    if isinstance(budget, int) and isinstance(room, int) and not asked and room <= budget:
        fitted["max_tokens"] = room + budget
    temperature = kwargs.get("temperature", own_temperature)
    if temperature is not None and temperature != 1:
        not_sent(who, "temperature with thinking", "Claude takes only 1 then")
        fitted["temperature"] = 1.0
    return fitted
