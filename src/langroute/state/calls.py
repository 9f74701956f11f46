"""How the router talks to state stores: in-memory stores directly, stores that do I/O
(SQLite, Redis: `blocking = True`) from worker threads, so the event loop never waits on
them. Updates nobody waits for are tracked until done (`Router.drain` awaits them)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)

PENDING: set[asyncio.Future[Any]] = set()
"""State updates still running in the executor (budget settlements, cache writes)."""


def blocking(store: object) -> bool:
    """Whether a state store does I/O (SQLite, Redis) rather than keep state in memory."""
    return bool(getattr(store, "blocking", False))


async def ask(store: object, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A state query: direct for in-memory stores, in a worker thread for stores that do
    I/O, so the event loop never waits on SQLite or Redis."""
    if blocking(store):
        return await asyncio.to_thread(fn, *args, **kwargs)
    return fn(*args, **kwargs)


def tell(store: object, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """A state update nobody waits for: direct in memory, in a worker thread otherwise."""
    if not blocking(store):
        fn(*args, **kwargs)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # a stream finalised outside its loop
        fn(*args, **kwargs)
        return
    future = loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))
    PENDING.add(future)
    future.add_done_callback(_report_state_error)


def _report_state_error(future: asyncio.Future[Any]) -> None:
    PENDING.discard(future)
    if not future.cancelled() and future.exception() is not None:
        logger.warning("a state update failed: %s", future.exception())
