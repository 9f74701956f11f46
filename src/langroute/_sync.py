"""How the sync API runs the async core.

A sync call runs on its own thread's private event loop (kept for the thread's next calls),
so it costs no thread hop and adapters may call a model's blocking sync client directly
(`blocking_allowed()`) — except while one of the core's time limits runs (`timed_calls()`),
when blocking calls go to worker threads so the timer can fire. When the calling thread
already runs a loop (notebooks, sync code called from async code), the call goes to one
shared background loop instead, where nothing may block.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()
_local = threading.local()
_own_loop: ContextVar[bool] = ContextVar("langroute_own_loop", default=False)
_timed: ContextVar[bool] = ContextVar("langroute_timed", default=False)


def blocking_allowed() -> bool:
    """Whether the running code is on a sync caller's private loop, where blocking calls
    (a framework model's sync client) hold up nobody else — and no timer of the core's has
    to fire while they run."""
    return _own_loop.get() and not _timed.get()


@contextmanager
def timed_calls() -> Iterator[None]:
    """Within it, blocking calls go to worker threads even on a sync caller's own loop, so
    the core's attempt timeout and deadline can fire while they run (the abandoned call
    finishes in its thread; its answer is dropped)."""
    token = _timed.set(True)
    try:
        yield
    finally:
        _timed.reset(token)


def _thread_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's private loop, or None when a loop is already running in this thread."""
    try:
        asyncio.get_running_loop()
        return None
    except RuntimeError:
        pass
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def _run_own(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    token = _own_loop.set(True)
    try:
        return loop.run_until_complete(awaitable)
    finally:
        _own_loop.reset(token)


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="langroute-sync", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code and return its result."""
    loop = _thread_loop()
    if loop is not None:
        return _run_own(loop, coro)
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, one item at a time."""
    own = _thread_loop()
    if own is not None:
        try:
            while True:
                try:
                    yield _run_own(own, agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                _run_own(own, aclose())
        return
    loop = _background_loop()

    async def step() -> tuple[bool, T | None]:
        try:
            return True, await agen.__anext__()
        except StopAsyncIteration:
            return False, None

    try:
        while True:
            more, item = asyncio.run_coroutine_threadsafe(step(), loop).result()
            if not more:
                return
            yield item  # type: ignore[misc]
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            asyncio.run_coroutine_threadsafe(aclose(), loop).result()


async def call_blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call a blocking function from the core: directly on a sync caller's private loop,
    in a worker thread otherwise."""
    if blocking_allowed():
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)


async def aiter_in_threads(items: Iterator[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterator from async code: directly on a sync caller's private loop,
    each `next` in a worker thread otherwise (adapters drive a framework model's sync stream
    with it)."""
    if blocking_allowed():
        for item in items:
            yield item
        return
    end = object()
    turn = threading.Lock()  # a generator must not be closed while a `next` runs

    def step() -> object:
        with turn:
            return next(items, end)

    def close() -> None:
        with turn:
            getattr(items, "close", lambda: None)()

    stepping = False
    try:
        while True:
            stepping = True
            got = await asyncio.to_thread(step)
            stepping = False
            if got is end:
                break
            yield got  # type: ignore[misc]
    finally:
        if stepping:
            # Cancelled while a `next` still blocks in its thread (the core's timer stopped
            # it): close after it, without waiting for it here.
            asyncio.get_running_loop().run_in_executor(None, close)
        else:
            await asyncio.to_thread(close)
