"""Normalising HTTP failures into langroute's error hierarchy, and the shared client setup."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from langroute.errors import (
    AuthError,
    BadRequest,
    ConfigError,
    ConnectionFailed,
    ContentFiltered,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    without_url_passwords,
)

if TYPE_CHECKING:
    from langroute.features import RoutingRequest
    from langroute.types import ChatParams, Completion, Message, StreamChunk

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "input is too long",
)
_FILTER_MARKERS = ("content_filter", "content_policy", "content management policy", "safety")


_SAID: set[tuple[str, str]] = set()

OPTIONAL_ARGUMENTS = frozenset(
    {
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning_effort",
        "safety_identifier",
        "seed",
        "store",
        "stream_options",
        "top_logprobs",
        "verbosity",
    }
)
"""OpenAI's sampling arguments and own settings (prompt cache, reasoning effort, storage)
that other APIs refuse (Anthropic's: all of these), and whose absence loses no answer:
passed for whichever model of a router answers, they are left out where refused, with a
log line, rather than fail the call (by the Anthropic provider, and for a framework
candidate whose client refuses one as an unexpected keyword)."""


def not_sent(provider: str, what: str, why: str) -> None:
    """Say once per process that an asked parameter could not be sent as asked: a router
    may send a call meant for any model to this one, so it is not an error, but it is not
    left unsaid either."""
    if (provider, what) not in _SAID:
        _SAID.add((provider, what))
        logging.getLogger(f"langroute.providers.{provider}").warning(
            "%s call without %s: %s", provider, what, why
        )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms`, `retry-after` (seconds or an HTTP date)."""
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def redact(text: str, secret: SecretStr | None) -> str:
    """Remove the key from `text` (some servers echo it back in error messages)."""
    if secret is not None:
        value = secret.get_secret_value()
        if value and value in text:
            text = text.replace(value, "[redacted]")
    return text


def _error_detail(body: str) -> tuple[str, str]:
    """(message, code-or-type) from an OpenAI- or Anthropic-style error body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:500], ""
    err = data.get("error", data) if isinstance(data, dict) else {}
    if not isinstance(err, dict):
        return str(err)[:500], ""
    message = str(err.get("message") or body[:500])
    code = str(err.get("code") or err.get("type") or "")
    return message, code


def error_from_status(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    secret: SecretStr | None = None,
    key_hint: str | None = None,
    **where: Any,
) -> ProviderError:
    """The typed error for an HTTP error response; `key_hint` is added to an auth error's
    message (it says how to give the key that was not set)."""
    message, code = _error_detail(body)
    message = redact(message, secret)
    lowered = f"{code} {message}".lower()
    if status == 429:
        return RateLimited(message, retry_after=parse_retry_after(headers), status=status, **where)
    if status in (401, 403):
        if key_hint is not None:
            message = f"{message} ({key_hint})"
        return AuthError(message, status=status, **where)
    if status == 408:
        return Timeout(message, status=status, **where)
    if status >= 500:
        return ServerError(message, status=status, **where)
    if any(marker in lowered for marker in _CONTEXT_MARKERS) or status == 413:
        return ContextTooLong(message, status=status, **where)
    if any(marker in lowered for marker in _FILTER_MARKERS):
        return ContentFiltered(message, status=status, **where)
    return BadRequest(message, status=status, **where)


def error_from_exception(exc: Exception, **where: Any) -> ProviderError:
    """The typed error for a transport-level failure (no usable HTTP response)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError):
        return Timeout(f"timed out ({type(exc).__name__})", **where)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ConnectionFailed(f"connection broken ({type(exc).__name__}: {exc})", **where)
    if isinstance(exc, httpx.TransportError):
        return ConnectionFailed(f"connection failed ({type(exc).__name__}: {exc})", **where)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return MalformedResponse(f"malformed response ({type(exc).__name__}: {exc})", **where)
    return ProviderError(f"{type(exc).__name__}: {exc}", **where)


DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)

_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def verifying_ssl_context() -> ssl.SSLContext:
    """httpx's default context (certifi's CA bundle, or `$SSL_CERT_FILE` / `$SSL_CERT_DIR`),
    built once per process and shared: httpx builds one per client, reading the CA bundle
    from disk (~20 ms, encode/httpx#2298), and each event loop opens a client of its own."""
    key = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    context = _ssl_contexts.get(key)
    if context is None:
        with _ssl_lock:
            context = _ssl_contexts.get(key)
            if context is None:
                context = _ssl_contexts[key] = httpx.create_ssl_context()
    return context


@contextmanager
def normalised_errors(where: Mapping[str, Any]) -> Iterator[None]:
    """Turn anything raised inside into a `ProviderError` (a broken shape is malformed)."""
    try:
        yield
    except ProviderError:
        raise
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse(f"unexpected response shape ({exc!r})", **where) from None
    except Exception as exc:
        raise error_from_exception(exc, **where) from None


class ClientPool:
    """JSON-over-HTTP for one provider, with one `httpx.AsyncClient` per event loop (a
    client's connections belong to one loop, and the sync API runs on its own loop)."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None = None,
        secret: SecretStr | None = None,
        key_env: str | None = None,
    ) -> None:
        self._secret = secret
        self._key_hint: str | None = None
        if secret is None:
            where = f"pass api_key= or set ${key_env}" if key_env else "pass api_key="
            self._key_hint = f"no API key was set: {where}"
        self._kwargs: dict[str, Any] = {
            "base_url": base_url.rstrip("/"),
            "headers": dict(headers),
            "timeout": timeout,
            "limits": DEFAULT_LIMITS,
            "transport": transport,
        }
        self._clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}
        self._closers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        if transport is None:  # the first client's one-off costs, paid now, off the event loop:
            verifying_ssl_context()  # reading the CA bundle
            import httpcore  # noqa: F401  # httpx imports its transport on first use

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = self._open(loop)
        return client

    def _open(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        """A new client for `loop`, closed when the loop shuts down. Each `asyncio.run` (a
        task queue's worker, a script) and each thread that calls the sync API has a loop
        of its own: a client left open with its loop would keep its sockets for good."""
        for other in list(self._clients):  # a copy: other threads' loops open clients too
            if other.is_closed():  # closed without shutting down: the collector ends it
                self._clients.pop(other, None)
                self._closers.pop(other, None)
        client = httpx.AsyncClient(**self._kwargs, verify=verifying_ssl_context())
        self._clients[loop] = client
        self._closers[loop] = _closed_at_shutdown(client)
        return client

    async def post_json(self, path: str, body: Any, where: Mapping[str, Any]) -> Any:
        """POST `body`, raise the typed error of an error status, return the parsed JSON."""
        response = await self.get().post(path, json=body)
        return self._checked(response, where).json()

    async def send(self, method: str, path: str, where: Mapping[str, Any], **kwargs: Any) -> Any:
        """Any request (`files=`, `data=`, an absolute URL …); the checked response."""
        return self._checked(await self.get().request(method, path, **kwargs), where)

    def _error(
        self, status: int, headers: Mapping[str, str], body: str, where: Mapping[str, Any]
    ) -> ProviderError:
        return error_from_status(
            status, headers, body, secret=self._secret, key_hint=self._key_hint, **where
        )

    def _checked(self, response: httpx.Response, where: Mapping[str, Any]) -> httpx.Response:
        if response.status_code >= 400:
            raise self._error(response.status_code, response.headers, response.text, where)
        return response

    def error_body(self, status: int, body: Any, where: Mapping[str, Any]) -> ProviderError:
        """The typed error for an error answer inside a batch's results."""
        import json

        return self._error(status, {}, json.dumps(body), where)

    async def sse_data(
        self, path: str, body: Any, where: Mapping[str, Any]
    ) -> AsyncGenerator[str, None]:
        """POST `body` and yield the `data:` payloads of the event stream, read to its end
        (so the connection goes back to the pool)."""
        async with self.get().stream("POST", path, json=body) as response:
            if response.status_code >= 400:
                text = (await response.aread()).decode("utf-8", "replace")
                raise self._error(response.status_code, response.headers, text, where)
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    yield line[5:].strip()

    def error_event(self, status: int, payload: str, where: Mapping[str, Any]) -> ProviderError:
        """The typed error for an error event inside a stream."""
        return self._error(status, {}, payload, where)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        self._closers.pop(loop, None)
        if client is not None:
            await client.aclose()


def _closed_at_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """An async generator, started on the running loop and left waiting, that closes `client`
    when the loop shuts its generators down: `asyncio.run`, `asyncio.Runner` and langroute's
    own per-thread loops all do that before they close."""

    async def wait_then_close() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await client.aclose()

    closer = wait_then_close()
    step = closer.__anext__()  # registers it with the running loop's shutdown
    with contextlib.suppress(StopIteration):
        step.send(None)  # runs it up to its `yield`, without suspending
    return closer


class HTTPChatProvider:
    """What the built-in providers share: the key and URL resolved once, one `ClientPool`,
    the `Provider` protocol over their `chat`/`chat_stream`, a repr that hides secrets.
    Each subclass says where it posts (`chat_path`), how its body is built and read, and
    how its key is sent (`auth_headers`)."""

    chat_path = "/chat/completions"

    def __init__(
        self,
        *,
        name: str,
        base_url: str | None,
        base_url_env: str | None,
        default_url: str,
        api_key: SecretStr | str | None,
        api_key_env: str | None,
        timeout: float | httpx.Timeout,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.name = name
        self.base_url = resolve_base_url(base_url, base_url_env, default_url)
        self._key = resolve_key(api_key, api_key_env)
        all_headers = {"content-type": "application/json", **headers}
        if self._key is not None:
            all_headers |= self.auth_headers(self._key.get_secret_value())
        t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._pool = ClientPool(self.base_url, all_headers, t, transport, self._key, api_key_env)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def __repr__(self) -> str:
        shown = without_url_passwords(self.base_url)
        return f"{type(self).__name__}(name={self.name!r}, base_url={shown!r})"

    def _body(
        self, model_id: str, messages: Sequence[Message], params: ChatParams, stream: bool
    ) -> dict[str, Any]:
        raise NotImplementedError

    def _completion(self, model_id: str, data: dict[str, Any], where: dict[str, Any]) -> Completion:
        raise NotImplementedError

    def chat_stream(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> AsyncIterator[StreamChunk]:
        raise NotImplementedError

    async def complete(self, model_id: str, request: RoutingRequest) -> Completion:
        """The `Provider` protocol: `chat` with the request's messages and parameters."""
        return await self.chat(model_id, request.messages, request.params)

    def stream(self, model_id: str, request: RoutingRequest) -> AsyncIterator[StreamChunk]:
        """The `Provider` protocol: `chat_stream` with the request's messages and parameters."""
        return self.chat_stream(model_id, request.messages, request.params)

    async def chat(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> Completion:
        """One chat call to `model_id`."""
        body = self._body(model_id, messages, params, False)
        where: dict[str, Any] = {"model": model_id, "provider": self.name}
        with normalised_errors(where):
            data = await self._pool.post_json(self.chat_path, body, where)
            return self._completion(model_id, data, where)

    async def aclose(self) -> None:
        await self._pool.aclose()


def batch_results(
    text: str, where: Mapping[str, Any], answer: Callable[[dict[str, Any]], Completion]
) -> dict[str, Completion | ProviderError]:
    """A batch's JSONL results by custom id: `answer(row)` for each line, or the typed error
    it raised (a broken row is a `MalformedResponse`)."""
    results: dict[str, Completion | ProviderError] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            with normalised_errors(where):
                results[row["custom_id"]] = answer(row)
        except ProviderError as exc:
            results[row["custom_id"]] = exc
    return results


def resolve_base_url(base_url: str | None, env_var: str | None, default: str) -> str:
    """The base URL a provider calls: `base_url` when given, else the environment variable
    `env_var` when set (as the official SDKs read `OPENAI_BASE_URL`/`ANTHROPIC_BASE_URL`),
    else `default`. A value that is not an http(s) URL is a `ConfigError` naming its source."""
    import os

    source = "base_url"
    if not base_url and env_var and (value := os.environ.get(env_var, "").strip()):
        base_url, source = value, f"the environment variable {env_var}"
    if not base_url:
        return default
    if not base_url.startswith(("http://", "https://")):
        # the value is not echoed: a URL may carry credentials
        raise ConfigError(
            f"{source} must start with http:// or https://, for example 'http://127.0.0.1:8000/v1'"
        )
    return base_url


def resolve_key(api_key: SecretStr | str | None, env_var: str | None) -> SecretStr | None:
    import os

    if isinstance(api_key, SecretStr):
        return api_key
    if api_key:
        return SecretStr(api_key)
    if env_var and (value := os.environ.get(env_var)):
        return SecretStr(value)
    return None
