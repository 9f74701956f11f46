"""Normalising exceptions raised by vendor SDKs (openai, anthropic, and clients built the same
way) into langroute's error hierarchy, by duck typing: no SDK is imported.

Adapters call models through their framework, which raises the vendor SDK's exceptions;
the strategies act on `ProviderError` types, so every adapter maps through here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

from langroute.errors import (
    ConnectionFailed,
    MalformedResponse,
    ProviderError,
    Timeout,
)
from langroute.providers._http import error_from_exception, error_from_status


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


def normalise_exception(exc: BaseException, **where: Any) -> ProviderError:
    """The `ProviderError` for any exception a model call raised."""
    if isinstance(exc, ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None) or {}
        return error_from_status(status, headers, _body_text(exc), **where)
    name = type(exc).__name__
    if "Timeout" in name or isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return Timeout(f"timed out ({name})", **where)
    if "Connection" in name or isinstance(exc, ConnectionError):
        return ConnectionFailed(f"connection failed ({name}: {exc})", **where)
    if isinstance(exc, json.JSONDecodeError):
        return MalformedResponse(f"malformed response ({name}: {exc})", **where)
    if isinstance(exc, Exception):
        return error_from_exception(exc, **where)
    return ProviderError(f"{name}: {exc}", **where)
