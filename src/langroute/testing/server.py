"""A scripted OpenAI- and Anthropic-compatible HTTP server on 127.0.0.1, for tests,
the cookbook and benchmarks. Real HTTP, real streaming, real failures — scripted per model.

    with ScriptedServer() as server:
        server.add("cheap", Reply("hello"))
        server.add("strong").then(Fail(429, retry_after=1), Reply("ok"))
        provider = OpenAIProvider(base_url=server.openai_url, api_key="test")
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from langroute.testing import effort, json_outputs, thinking
from langroute.testing.prompt_cache import PromptCache, estimate_tokens
from langroute.testing.script import (
    Behaviour,
    CallInfo,
    DropStream,
    Fail,
    Hang,
    Malformed,
    Reply,
    Responder,
    ScriptedModel,
)
from langroute.types import ThinkingType

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


Tokens = tuple[int, int, int, int, int]
"""prompt, completion, read from cache, written to it, written for an hour"""


class _Drop(Exception):
    """Raised inside the app to make the server cut the connection."""


@dataclass(frozen=True)
class CallRecord:
    """One call the server received, for assertions."""

    model: str
    api: str
    stream: bool
    behaviour: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


def _multipart_file(content_type: str, raw: bytes) -> bytes:
    """The `file` field of a multipart/form-data upload."""
    import email.parser

    message = email.parser.BytesParser().parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    for part in message.walk():
        if 'name="file"' in (part.get("Content-Disposition") or ""):
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


_NOT_ANTHROPIC = frozenset(
    {
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "n",
        "parallel_tool_calls",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "store",
        "stream_options",
        "top_logprobs",
        "user",
        "verbosity",
    }
)
"""OpenAI's request fields the Messages API refuses (HTTP 400, "Extra inputs are not
permitted"), as the scripted server does: a client that sends one to Claude is caught."""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text") or p.get("content") or "") for p in content if isinstance(p, dict)
        )
    return ""


def _last_user(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _prompt_text(body: dict[str, Any]) -> str:
    parts = [_content_text(m.get("content")) for m in body.get("messages", [])]
    system = body.get("system")
    if system:
        parts.append(_content_text(system))
    return "\n".join(parts)


def _pieces(text: str) -> list[str]:
    """Split text into word-sized stream pieces that join back to exactly `text`."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


def _not_again(*args: Any) -> None:
    """A `_record` stand-in for a call already recorded (a `Hang`, on arrival)."""


class ScriptedServer:
    """Serves `/v1/chat/completions` (OpenAI) and `/v1/messages` (Anthropic) for scripted
    models on a random port of 127.0.0.1. Use as a (async) context manager, or start/stop.

    If `api_key` is set, calls without it (Bearer or x-api-key) get HTTP 401.
    """

    def __init__(self, *, api_key: str | None = None) -> None:
        self.models: dict[str, ScriptedModel] = {}
        self.calls: list[CallRecord] = []
        self.api_key = api_key
        self.batch_delay_s = 0.0
        """Batches (OpenAI `/v1/batches`, Anthropic `/v1/messages/batches`) report
        in progress until this long after they were created."""
        self.batches: dict[str, dict[str, Any]] = {}
        self.prompt_cache = PromptCache()
        """Anthropic's prompt cache, for calls that mark breakpoints (`cache_control`) and
        whose reply scripts no cache figures: set `prompt_cache.min_tokens` to cache
        shorter prompts than the API's 1,024 tokens, and `prompt_cache.automatic` to cache
        OpenAI-API calls as OpenAI does, without breakpoints."""
        self._files: dict[str, bytes] = {}
        self._clients: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self.port = 0

    # --- scripting ------------------------------------------------------------------

    def add(
        self,
        name: str,
        default: Behaviour | Responder | None = None,
        script: Iterable[Behaviour] = (),
        *,
        context_window: int | None = None,
        reasoning_efforts: tuple[str, ...] | None = None,
        thinking_types: tuple[ThinkingType, ...] | None = None,
        sampling: bool | None = None,
        json_outputs: bool | None = None,
    ) -> ScriptedModel:
        """Serve a model called `name`; returns it for `.then(...)` scripting. It takes the
        `reasoning_efforts` given (default: OpenAI's o-series low to high, GPT-5 minimal to
        high, Claude's by version, others none), the kinds of Claude's `thinking` given
        (default: by a Claude name's version, e.g. only adaptive for `claude-opus-4-7`),
        sampling settings unless told not to (default: not for Claude Opus 4.7 and later)
        and Claude's JSON outputs and strict tools if told so (default: Claude 4.5 and
        later), and refuses anything else with a 400, as the real APIs do."""
        model = ScriptedModel(
            name,
            default,
            script,
            context_window=context_window,
            reasoning_efforts=reasoning_efforts,
            thinking_types=thinking_types,
            sampling=sampling,
            json_outputs=json_outputs,
        )
        self.models[name] = model
        return model

    def count(self, model: str | None = None, *, status: int | None = None) -> int:
        """Calls received (for `model`, with HTTP `status`)."""
        with self._lock:
            return sum(
                1
                for c in self.calls
                if (model is None or c.model == model) and (status is None or c.status == status)
            )

    def connections(self) -> int:
        """TCP connections that sent requests (since `reset`): a client that reuses its
        connections opens one per concurrent call, not one per call."""
        with self._lock:
            return len(self._clients)

    def reset(self) -> None:
        """Forget the calls and connections received, and what the prompt cache holds."""
        with self._lock:
            self.calls.clear()
            self._clients.clear()
        self.prompt_cache.clear()

    # --- addresses ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        """Base URL for OpenAI-compatible clients (ends in /v1)."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        """Base URL for Anthropic clients (they append /v1/messages)."""
        return self.url

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> ScriptedServer:
        import uvicorn

        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (it checks it);
        # without it small responses wait ~40 ms for delayed ACKs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            log_level="critical",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"scripted-server-{self.port}",
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted server did not start within 10 s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # --- the ASGI app ---------------------------------------------------------------

    async def _app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        client = scope.get("client")
        if client:
            with self._lock:
                self._clients.add((client[0], client[1]))
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        if "/files" in path or "/batches" in path:
            await self._batch_api(scope["method"], path, headers, b"".join(chunks), send)
            return
        if scope["method"] == "GET" and path.endswith("/models"):
            data = {"object": "list", "data": [{"id": n, "object": "model"} for n in self.models]}
            await self._json(send, 200, data)
            return
        if path.endswith("/chat/completions"):
            api = "openai"
        elif path.endswith("/messages"):
            api = "anthropic"
        else:
            await self._json(send, 404, {"error": {"message": f"no route {path}"}})
            return
        try:
            body = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            await self._error(send, api, 400, "request body is not JSON", "invalid_request_error")
            return
        await self._serve(api, body, headers, send)

    def _record(
        self,
        model: str,
        api: str,
        stream: bool,
        behaviour: str,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        safe_headers = {k: v for k, v in headers.items() if k not in ("authorization", "x-api-key")}
        with self._lock:
            self.calls.append(
                CallRecord(model, api, stream, behaviour, status, body, safe_headers, time.time())
            )

    # --- batch APIs -------------------------------------------------------------------

    def _authorised(self, headers: dict[str, str]) -> bool:
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")
        return self.api_key is None or given == self.api_key

    async def _batch_api(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, send: Send
    ) -> None:
        """OpenAI files + batches and Anthropic message batches, answered by the scripted
        models once `batch_delay_s` has passed (each request recorded with api `*-batch`)."""
        if not self._authorised(headers):
            await self._json(send, 401, {"error": {"message": "invalid api key"}})
            return
        parts = path.strip("/").split("/")
        if method == "POST" and parts[-1] == "files":
            content = _multipart_file(headers.get("content-type", ""), raw)
            file_id = f"file-{uuid.uuid4().hex[:12]}"
            self._files[file_id] = content
            await self._json(send, 200, {"id": file_id, "object": "file", "purpose": "batch"})
            return
        if method == "GET" and parts[-1] == "content" and parts[-3] == "files":
            await self._start(send, 200, b"application/jsonl")
            await send({"type": "http.response.body", "body": self._files.get(parts[-2], b"")})
            return
        if method == "POST" and parts[-1] == "batches":
            body = json.loads(raw or b"{}")
            anthropic = parts[-2] == "messages"
            if anthropic:
                lines = [
                    {"custom_id": r["custom_id"], "body": r["params"]} for r in body["requests"]
                ]
            else:
                text = self._files[body["input_file_id"]].decode()
                lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            batch_id = f"{'msgbatch' if anthropic else 'batch'}_{uuid.uuid4().hex[:12]}"
            self.batches[batch_id] = {
                "api": "anthropic" if anthropic else "openai",
                "lines": lines,
                "created": time.time(),
                "results": None,
            }
            await self._json(send, 200, self._batch_view(batch_id))
            return
        if method == "GET" and parts[-1] == "results" and parts[-3] == "batches":
            batch = self.batches[parts[-2]]
            payload = "".join(json.dumps(r) + "\n" for r in batch["results"] or [])
            await self._start(send, 200, b"application/jsonl")
            await send({"type": "http.response.body", "body": payload.encode()})
            return
        if method == "GET" and parts[-2] == "batches" and parts[-1] in self.batches:
            await self._json(send, 200, self._batch_view(parts[-1]))
            return
        await self._json(send, 404, {"error": {"message": f"no route {method} {path}"}})

    def _batch_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        done = time.time() - batch["created"] >= self.batch_delay_s
        if done and batch["results"] is None:
            batch["results"] = [self._batch_answer(batch["api"], line) for line in batch["lines"]]
        if batch["api"] == "anthropic":
            return {
                "id": batch_id,
                "type": "message_batch",
                "processing_status": "ended" if done else "in_progress",
                "results_url": f"{self.url}/v1/messages/batches/{batch_id}/results"
                if done
                else None,
            }
        output = None
        if done:
            output = f"file-{uuid.uuid4().hex[:12]}"
            self._files[output] = "".join(json.dumps(r) + "\n" for r in batch["results"]).encode()
        return {
            "id": batch_id,
            "object": "batch",
            "status": "completed" if done else "in_progress",
            "output_file_id": output,
            "request_counts": {"total": len(batch["lines"])},
        }

    def _batch_answer(self, api: str, line: dict[str, Any]) -> dict[str, Any]:
        body = dict(line["body"])
        name = str(body.get("model", ""))
        model = self.models.get(name)
        behaviour = (
            model.next(CallInfo(name, api, False, _last_user(body.get("messages", [])), body))
            if model is not None
            else Fail(404, f"model {name!r} does not exist")
        )
        while isinstance(behaviour, Hang):
            behaviour = behaviour.then
        if not isinstance(behaviour, Reply):
            status = behaviour.status if isinstance(behaviour, Fail) else 500
            self._record(name, f"{api}-batch", False, "fail", status, body, {})
            error = {"message": getattr(behaviour, "message", "scripted failure")}
            if api == "anthropic":
                return {
                    "custom_id": line["custom_id"],
                    "result": {"type": "errored", "error": {"type": "api_error", **error}},
                }
            return {
                "custom_id": line["custom_id"],
                "response": {"status_code": status, "body": {"error": error}},
            }
        self._record(name, f"{api}-batch", False, "reply", 200, body, {})
        text = (
            behaviour.text(_last_user(body.get("messages", [])))
            if callable(behaviour.text)
            else behaviour.text
        )
        usage = (
            behaviour.prompt_tokens
            if behaviour.prompt_tokens is not None
            else estimate_tokens(_prompt_text(body)),
            behaviour.completion_tokens
            if behaviour.completion_tokens is not None
            else estimate_tokens(text),
            behaviour.cached_tokens,
            behaviour.cache_write_tokens,
            behaviour.cache_write_1h_tokens,
        )
        if api == "anthropic":
            message = _Anthropic.complete(name, text, behaviour, usage, body)
            return {
                "custom_id": line["custom_id"],
                "result": {"type": "succeeded", "message": message},
            }
        return {
            "custom_id": line["custom_id"],
            "response": {
                "status_code": 200,
                "body": _OpenAI.complete(name, text, behaviour, usage, body),
            },
        }

    async def _serve(
        self, api: str, body: dict[str, Any], headers: dict[str, str], send: Send
    ) -> None:
        name = str(body.get("model", ""))
        stream = bool(body.get("stream"))
        if self.api_key is not None:
            given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix(
                "Bearer "
            )
            if given != self.api_key:
                self._record(name, api, stream, "auth", 401, body, headers)
                await self._error(send, api, 401, "invalid api key", "authentication_error")
                return
        model = self.models.get(name)
        if model is None:
            self._record(name, api, stream, "unknown-model", 404, body, headers)
            await self._error(send, api, 404, f"model {name!r} does not exist", "model_not_found")
            return
        prompt = _prompt_text(body)
        if model.context_window is not None and estimate_tokens(prompt) > model.context_window:
            self._record(name, api, stream, "context", 400, body, headers)
            await self._error(
                send,
                api,
                400,
                f"This model's maximum context length is {model.context_window} tokens",
                "context_length_exceeded",
            )
            return
        if api == "anthropic" and (foreign := sorted(_NOT_ANTHROPIC.intersection(body))):
            self._record(name, api, stream, "bad-request", 400, body, headers)
            message = f"{foreign[0]}: Extra inputs are not permitted"
            await self._error(send, api, 400, message, "invalid_request_error")
            return
        refused = (
            thinking.model_refusal(body, model.thinking_types, model.sampling, api)
            or (
                self.prompt_cache.refusal(body)
                or thinking.refusal(body)
                or json_outputs.refusal(body, model.json_outputs)
                if api == "anthropic"
                else ("thinking" in body and "Unrecognized request argument supplied: thinking")
            )
            or effort.refusal(api, body, model.reasoning_efforts)
            or (api == "openai" and effort.tools_refusal(body))
        )
        if not refused and api == "openai" and model.reasoning:
            refused = effort.sampling_refusal(body)
        if refused:
            self._record(name, api, stream, "bad-request", 400, body, headers)
            await self._error(send, api, 400, refused, "invalid_request_error")
            return
        call = CallInfo(name, api, stream, _last_user(body.get("messages", [])), body)
        behaviour = model.next(call)
        record: Callable[..., None] = self._record
        if isinstance(behaviour, Hang):
            # Recorded on arrival: a client that gives up before the answer still made the
            # call, and must not show up in the counts of whatever runs seconds later.
            then = behaviour.then
            status = then.status if isinstance(then, Fail) else 200
            self._record(name, api, stream, "hang", status, body, headers)
            record = _not_again
            await asyncio.sleep(behaviour.seconds)
            behaviour = then
        kind = type(behaviour).__name__.lower()
        if isinstance(behaviour, Fail):
            record(name, api, stream, kind, behaviour.status, body, headers)
            extra = (
                [(b"retry-after", str(behaviour.retry_after).encode())]
                if behaviour.retry_after is not None
                else []
            )
            await self._error(
                send,
                api,
                behaviour.status,
                behaviour.message,
                behaviour.code or _default_code(behaviour.status, api),
                extra,
            )
            return
        if isinstance(behaviour, Malformed):
            record(name, api, stream, kind, 200, body, headers)
            if stream:
                await self._start(send, 200, b"text/event-stream")
                await send(
                    {
                        "type": "http.response.body",
                        "body": f"data: {behaviour.body}\n\n".encode(),
                        "more_body": False,
                    }
                )
            else:
                await self._start(send, 200, b"application/json")
                await send({"type": "http.response.body", "body": behaviour.body.encode()})
            return
        drop_after: int | None = None
        if isinstance(behaviour, DropStream):
            record(name, api, stream, kind, 200, body, headers)
            if not stream:
                await self._start(send, 200, b"application/json")
                await send(
                    {"type": "http.response.body", "body": b'{"id": "chat', "more_body": True}
                )
                raise _Drop("scripted drop in the middle of the response body")
            drop_after, behaviour = behaviour.after_chunks, behaviour.reply
        else:
            record(name, api, stream, kind, 200, body, headers)
        assert isinstance(behaviour, Reply)
        text = behaviour.text(call.last_user_text) if callable(behaviour.text) else behaviour.text
        usage = (
            behaviour.prompt_tokens
            if behaviour.prompt_tokens is not None
            else estimate_tokens(prompt),
            behaviour.completion_tokens
            if behaviour.completion_tokens is not None
            else estimate_tokens(text),
            behaviour.cached_tokens,
            behaviour.cache_write_tokens,
            behaviour.cache_write_1h_tokens,
        )
        scripted = behaviour.cached_tokens or behaviour.cache_write_tokens
        if not scripted and (api == "anthropic" or self.prompt_cache.automatic):
            cache = (
                self.prompt_cache.use(name, body)
                if api == "anthropic"
                else self.prompt_cache.use_automatic(name, body)
            )
            if cache is not None:
                prompt_tokens = behaviour.prompt_tokens or cache.prompt_tokens
                read = min(cache.read, prompt_tokens)
                written = min(cache.written, prompt_tokens - read)
                hour = min(cache.written_1h, written)
                usage = (prompt_tokens, usage[1], read, written, hour)
        reasoning = behaviour.reasoning
        if api == "anthropic":
            reasoning = (
                thinking.thoughts(reasoning, call.last_user_text) if thinking.thinks(body) else None
            )
        if reasoning and behaviour.completion_tokens is None:
            usage = (usage[0], usage[1] + estimate_tokens(reasoning), *usage[2:])
        hidden = effort.hidden_tokens(api, body)
        if hidden and behaviour.completion_tokens is None:
            usage = (usage[0], usage[1] + hidden, *usage[2:])
        render = _OpenAI if api == "openai" else _Anthropic
        if stream:
            await render.stream(send, name, text, behaviour, usage, body, drop_after, reasoning)
        else:
            await _pace(behaviour, text)
            answer = render.complete(name, text, behaviour, usage, body, reasoning)
            await self._json(send, 200, answer)

    @staticmethod
    async def _start(
        send: Send, status: int, content_type: bytes, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), *(extra or [])],
            }
        )

    async def _json(
        self, send: Send, status: int, data: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        payload = json.dumps(data).encode()
        length = [(b"content-length", str(len(payload)).encode())]
        await self._start(send, status, b"application/json", [*(extra or []), *length])
        await send({"type": "http.response.body", "body": payload})

    async def _error(
        self,
        send: Send,
        api: str,
        status: int,
        message: str,
        code: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        if api == "anthropic":
            data: dict[str, Any] = {"type": "error", "error": {"type": code, "message": message}}
        else:
            data = {"error": {"message": message, "type": code, "code": code}}
        await self._json(send, status, data, extra)


def _default_code(status: int, api: str) -> str:
    if status == 429:
        return "rate_limit_error" if api == "anthropic" else "rate_limit_exceeded"
    if status == 529:
        return "overloaded_error"
    if status in (401, 403):
        return "authentication_error"
    if status >= 500:
        return "api_error" if api == "anthropic" else "server_error"
    return "invalid_request_error"


async def _pace(reply: Reply, text: str) -> None:
    delay = reply.ttft_s
    if reply.tokens_per_s:
        delay += estimate_tokens(text) / reply.tokens_per_s
    if delay > 0:
        await asyncio.sleep(delay)


def _tool_id(call: Any, i: int) -> str:
    return str(call.id or f"call_{i}_{uuid.uuid4().hex[:8]}")


class _OpenAI:
    @staticmethod
    def _usage(usage: Tokens, body: dict[str, Any]) -> dict[str, Any]:
        shaped = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
            "prompt_tokens_details": {"cached_tokens": usage[2]}
            | ({"cache_write_tokens": usage[3]} if usage[3] else {}),
        }
        if "reasoning_effort" in body:
            hidden = min(effort.hidden_tokens("openai", body), usage[1])
            shaped["completion_tokens_details"] = {"reasoning_tokens": hidden}
        return shaped

    @staticmethod
    def complete(
        name: str,
        text: str,
        reply: Reply,
        usage: Tokens,
        body: dict[str, Any],
        reasoning: str | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if reasoning:
            message["reasoning_content"] = reasoning
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": _tool_id(c, i),
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for i, c in enumerate(reply.tool_calls)
            ]
        choice: dict[str, Any] = {
            "index": 0,
            "message": message,
            "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop"),
        }
        if body.get("logprobs"):
            choice["logprobs"] = {
                "content": [
                    {"token": p, "logprob": reply.logprob, "top_logprobs": []}
                    for p in _pieces(text)
                ]
            }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": name,
            "choices": [choice],
            "usage": _OpenAI._usage(usage, body),
        }

    @staticmethod
    async def stream(
        send: Send,
        name: str,
        text: str,
        reply: Reply,
        usage: Tokens,
        body: dict[str, Any],
        drop_after: int | None,
        reasoning: str | None = None,
    ) -> None:
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        base = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": name,
        }

        async def event(data: dict[str, Any] | str) -> None:
            payload = data if isinstance(data, str) else json.dumps({**base, **data})
            await send(
                {
                    "type": "http.response.body",
                    "body": f"data: {payload}\n\n".encode(),
                    "more_body": True,
                }
            )

        await ScriptedServer._start(send, 200, b"text/event-stream")
        if reply.ttft_s:
            await asyncio.sleep(reply.ttft_s)
        await event(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                    }
                ]
            }
        )
        gap = 1 / reply.tokens_per_s if reply.tokens_per_s else 0
        for piece in _pieces(reasoning or ""):
            delta = {"content": None, "reasoning_content": piece}
            await event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        for n, piece in enumerate(_pieces(text)):
            if drop_after is not None and n >= drop_after:
                raise _Drop("scripted mid-stream drop")
            if gap and n:
                await asyncio.sleep(gap)
            choice: dict[str, Any] = {
                "index": 0,
                "delta": {"content": piece},
                "finish_reason": None,
            }
            if body.get("logprobs"):
                choice["logprobs"] = {
                    "content": [{"token": piece, "logprob": reply.logprob, "top_logprobs": []}]
                }
            await event({"choices": [choice]})
        for i, call in enumerate(reply.tool_calls):
            args = json.dumps(call.arguments)
            await event(
                {
                    "choices": [
                        {
                            "index": 0,
                            "delta": {
                                "tool_calls": [
                                    {
                                        "index": i,
                                        "id": _tool_id(call, i),
                                        "type": "function",
                                        "function": {"name": call.name, "arguments": ""},
                                    }
                                ]
                            },
                            "finish_reason": None,
                        }
                    ]
                }
            )
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                await event(
                    {
                        "choices": [
                            {
                                "index": 0,
                                "delta": {
                                    "tool_calls": [{"index": i, "function": {"arguments": part}}]
                                },
                                "finish_reason": None,
                            }
                        ]
                    }
                )
        if drop_after is not None:
            raise _Drop("scripted mid-stream drop")
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        await event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            await event({"choices": [], "usage": _OpenAI._usage(usage, body)})
        await event("[DONE]")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Anthropic:
    @staticmethod
    def usage(usage: Tokens, output_tokens: int) -> dict[str, Any]:
        """The Messages API's usage: `input_tokens` leaves out what was read from or
        written to the prompt cache."""
        prompt, _, read, written, hour = usage
        shown: dict[str, Any] = {
            "input_tokens": prompt - read - written,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": read,
        }
        if written:
            shown["cache_creation_input_tokens"] = written
            shown["cache_creation"] = {
                "ephemeral_5m_input_tokens": written - hour,
                "ephemeral_1h_input_tokens": hour,
            }
        return shown

    STOP = {
        "stop": "end_turn",
        "length": "max_tokens",
        "tool_calls": "tool_use",
        "content_filter": "refusal",
    }

    @staticmethod
    def _stop(reply: Reply) -> str:
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        return _Anthropic.STOP.get(finish, finish)

    @staticmethod
    def complete(
        name: str,
        text: str,
        reply: Reply,
        usage: Tokens,
        body: dict[str, Any],
        reasoning: str | None = None,
    ) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reasoning is not None:
            signed = thinking.signature(reasoning)
            content.append({"type": "thinking", "thinking": reasoning, "signature": signed})
        content += [{"type": "text", "text": text}] if text else []
        content += [
            {"type": "tool_use", "id": _tool_id(c, i), "name": c.name, "input": c.arguments}
            for i, c in enumerate(reply.tool_calls)
        ]
        return {
            "id": f"msg_{uuid.uuid4().hex[:12]}",
            "type": "message",
            "role": "assistant",
            "model": name,
            "content": content,
            "stop_reason": _Anthropic._stop(reply),
            "stop_sequence": None,
            "usage": _Anthropic.usage(usage, usage[1]),
        }

    @staticmethod
    async def stream(
        send: Send,
        name: str,
        text: str,
        reply: Reply,
        usage: Tokens,
        body: dict[str, Any],
        drop_after: int | None,
        reasoning: str | None = None,
    ) -> None:
        async def event(kind: str, data: dict[str, Any]) -> None:
            payload = json.dumps({"type": kind, **data})
            await send(
                {
                    "type": "http.response.body",
                    "body": f"event: {kind}\ndata: {payload}\n\n".encode(),
                    "more_body": True,
                }
            )

        await ScriptedServer._start(send, 200, b"text/event-stream")
        if reply.ttft_s:
            await asyncio.sleep(reply.ttft_s)
        await event(
            "message_start",
            {
                "message": {
                    "id": f"msg_{uuid.uuid4().hex[:12]}",
                    "type": "message",
                    "role": "assistant",
                    "model": name,
                    "content": [],
                    "stop_reason": None,
                    "usage": _Anthropic.usage(usage, 1),
                }
            },
        )
        index = 0
        gap = 1 / reply.tokens_per_s if reply.tokens_per_s else 0
        if reasoning is not None:
            block = {"type": "thinking", "thinking": "", "signature": ""}
            await event("content_block_start", {"index": 0, "content_block": block})
            for piece in _pieces(reasoning):
                delta = {"type": "thinking_delta", "thinking": piece}
                await event("content_block_delta", {"index": 0, "delta": delta})
            signed = {"type": "signature_delta", "signature": thinking.signature(reasoning)}
            await event("content_block_delta", {"index": 0, "delta": signed})
            await event("content_block_stop", {"index": 0})
            index = 1
        if text:
            await event(
                "content_block_start",
                {"index": index, "content_block": {"type": "text", "text": ""}},
            )
            for n, piece in enumerate(_pieces(text)):
                if drop_after is not None and n >= drop_after:
                    raise _Drop("scripted mid-stream drop")
                if gap and n:
                    await asyncio.sleep(gap)
                await event(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "text_delta", "text": piece}},
                )
            await event("content_block_stop", {"index": index})
            index += 1
        for i, call in enumerate(reply.tool_calls):
            await event(
                "content_block_start",
                {
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": _tool_id(call, i),
                        "name": call.name,
                        "input": {},
                    },
                },
            )
            args = json.dumps(call.arguments)
            half = len(args) // 2
            for part in (args[:half], args[half:]):
                await event(
                    "content_block_delta",
                    {"index": index, "delta": {"type": "input_json_delta", "partial_json": part}},
                )
            await event("content_block_stop", {"index": index})
            index += 1
        if drop_after is not None:
            raise _Drop("scripted mid-stream drop")
        await event(
            "message_delta",
            {
                "delta": {"stop_reason": _Anthropic._stop(reply), "stop_sequence": None},
                # cumulative, as the Messages API now sends it (langchain-anthropic reads
                # the prompt's tokens from here, not from message_start)
                "usage": _Anthropic.usage(usage, usage[1]),
            },
        )
        await event("message_stop", {})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
