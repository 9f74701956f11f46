"""The sync API runs coroutines on one background event loop, so sync callers share
connection pools and never nest `asyncio.run` inside a running loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


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
    """Run `coro` to completion on the background loop and return its result."""
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, one item at a time on the background loop."""
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


async def aiter_in_threads(items: Iterator[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterator from async code, each `next` in a worker thread (adapters
    use it to drive a framework model's sync stream from the router's loop)."""
    end = object()
    try:
        while (item := await asyncio.to_thread(next, items, end)) is not end:
            yield item  # type: ignore[misc]
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
