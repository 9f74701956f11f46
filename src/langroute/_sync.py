"""How the sync API runs the async core.

A sync call runs on its own thread's private event loop (kept for the thread's next calls),
so it costs no thread hop and adapters may call a model's blocking sync client directly
(`blocking_allowed()`) — except where the loop must stay free (`loop_kept_free()`: a time
limit runs, ensemble members answer at once), when blocking calls go to threads of their
own. When a thread ends, its loop waits, with its open connections, for the next new
thread: LangChain's `batch`, `RunnableParallel` and thread-per-request servers start
threads for each call, and would otherwise open a connection (a TLS handshake) each time.
When the calling thread already runs a loop (notebooks, sync code called from async
code), the call goes to one shared background loop instead, where nothing may block.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()
_local = threading.local()
_own_loop: ContextVar[bool] = ContextVar("langroute_own_loop", default=False)
_kept_free: ContextVar[bool] = ContextVar("langroute_loop_kept_free", default=False)


def blocking_allowed() -> bool:
    """Whether the running code is on a sync caller's private loop, where blocking calls
    (a framework model's sync client) hold up nobody else — and nothing needs the loop
    meanwhile (`loop_kept_free`)."""
    return _own_loop.get() and not _kept_free.get()


@contextmanager
def loop_kept_free() -> Iterator[None]:
    """Within it (and in tasks started within it), blocking calls go to threads of their own
    even on a sync caller's own loop: the core's timers can fire while they run (an
    abandoned call finishes in its thread, its answer dropped), and calls started together
    run together (an ensemble's members)."""
    token = _kept_free.set(True)
    try:
        yield
    finally:
        _kept_free.reset(token)


_inherited: list[asyncio.AbstractEventLoop] = []
"""A forked child's loops from its parent: kept, never run nor closed. Their selector and
self-pipe are the parent's too — closing the pipe in the child would unregister it from the
parent's selector — and their connections are the parent's."""


class _PrivateLoop:
    """A private loop: a thread's (`_Lease`), or a sync stream's. Shut down when it is no
    longer kept: its sockets are not left for the garbage collector, nor closed by it at
    exit after the sockets, which prints a traceback."""

    __slots__ = ("loop", "pid", "stream")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        self.stream: AsyncIterator[Any] | None = None
        """The sync stream it runs, until the stream ends or is closed."""

    def close(self) -> None:
        """Close a stream it still runs (which closes what it streams from, in order), shut
        its async generators down (the providers' HTTP clients close with them), wait for
        its executor's work (state updates such as budget settlements, then marked done),
        then close it."""
        loop = self.loop
        if self.pid != os.getpid():  # inherited by a forked child
            _inherited.append(loop)
            return
        if loop.is_closed() or loop.is_running():
            return
        stream, self.stream = self.stream, None
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(aclose(), 5.0))
        for shutdown in (loop.shutdown_asyncgens, loop.shutdown_default_executor):
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(shutdown(), 5.0))
        with contextlib.suppress(Exception):
            loop.close()

    def __del__(self) -> None:
        self.close()


IDLE_LOOPS_KEPT = 32
"""How many loops no longer in use wait for new threads and streams (as many as the busiest
thread pool of LangChain's by default: `min(32, CPUs + 4)` workers); more are shut down."""

_idle: list[_PrivateLoop] = []
_streaming: set[_PrivateLoop] = set()
_idle_lock = threading.RLock()  # re-entrant: a `_Lease` may be collected while it is held


class _Lease:
    """A thread's hold on its private loop; when the thread ends, the loop is given back."""

    __slots__ = ("private",)

    def __init__(self, private: _PrivateLoop) -> None:
        self.private = private

    def __del__(self) -> None:
        _give_back(self.private)


def _give_back(private: _PrivateLoop, *, settle: bool = True) -> None:
    """Keep a loop no longer in use (its thread ended, its stream was read), with its
    connections, for the next new thread or stream. An ended thread's loop first waits for
    the state updates it started, as when it closed (they would be marked done only when it
    next runs); a stream's does not, as its reader is still waiting. One in use elsewhere,
    or one of a forked parent, is shut down instead."""
    loop = private.loop
    if private.pid == os.getpid() and not loop.is_running() and not loop.is_closed():
        from langroute.state.calls import PENDING  # the state package imports every store

        mine = [f for f in list(PENDING) if f.get_loop() is loop and not f.done()]
        if mine and settle:
            with contextlib.suppress(Exception):
                loop.run_until_complete(
                    asyncio.wait_for(asyncio.gather(*mine, return_exceptions=True), 5.0)
                )
        with _idle_lock:
            if len(_idle) < IDLE_LOOPS_KEPT:
                _idle.append(private)
                return
    private.close()


def _idle_loop() -> _PrivateLoop | None:
    """The loop an ended thread left most recently (its connections are the freshest)."""
    with _idle_lock:
        while _idle:
            private = _idle.pop()
            if not private.loop.is_closed():
                return private
    return None


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


def _thread_loop() -> _PrivateLoop | None:
    """This thread's private loop, or None when a loop is already running in this thread."""
    if _loop_running_here():
        return None
    lease: _Lease | None = getattr(_local, "lease", None)
    if lease is None or lease.private.loop.is_closed():
        lease = _Lease(_idle_loop() or _PrivateLoop())
        _local.lease = lease
    return lease.private


def _start_afresh_after_fork() -> None:
    """In a forked child (gunicorn, Celery, multiprocessing): new loops on first use. The
    parent's private loops and clients share its sockets, and its background loop's thread
    did not survive the fork (a call sent there would wait for ever)."""
    global _local, _loop, _lock, _idle, _idle_lock, _streaming
    if _loop is not None:
        _inherited.append(_loop)
    _inherited.extend(private.loop for private in [*_idle, *_streaming])
    _idle, _idle_lock, _streaming = [], threading.RLock(), set()
    _loop, _lock, _local = None, threading.Lock(), threading.local()


os.register_at_fork(after_in_child=_start_afresh_after_fork)


@atexit.register
def _close_kept_loops() -> None:
    """The main thread's private loop and the ended threads' loops outlive their calls;
    close them before the interpreter tears down the sockets they hold."""
    lease: _Lease | None = getattr(_local, "lease", None)
    with _idle_lock:
        kept = [*_streaming, *_idle, *([lease.private] if lease is not None else [])]
        _idle.clear()
        _streaming.clear()
    for private in kept:
        private.close()


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


def run_detached(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T] | asyncio.Task[T]:
    """Start `coro` off the caller's response path and return its future. On a sync
    caller's private loop, which runs only during that thread's calls (a thread of
    LangChain's `batch` makes none after it ends), it goes to the shared background loop,
    in a context of its own (so it may not block that loop). Elsewhere it is a task on the
    running loop, where blocking calls go to threads of their own (`loop_kept_free`)."""
    if _own_loop.get():
        return contextvars.Context().run(asyncio.run_coroutine_threadsafe, coro, _background_loop())
    with loop_kept_free():
        return asyncio.get_running_loop().create_task(coro)


async def wait_for_detached(
    futures: Iterable[concurrent.futures.Future[Any] | asyncio.Future[Any]],
) -> bool:
    """Wait for those of `futures` this loop can wait for (the background loop's, and its
    own); False when there were none."""
    loop = asyncio.get_running_loop()
    waits = [
        asyncio.wrap_future(f) if isinstance(f, concurrent.futures.Future) else f
        for f in futures
        if not f.done() and (isinstance(f, concurrent.futures.Future) or f.get_loop() is loop)
    ]
    if waits:
        await asyncio.gather(*waits, return_exceptions=True)
    return bool(waits)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code and return its result."""
    private = _thread_loop()
    if private is not None:
        return _run_own(private.loop, coro)
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, one item at a time, on a private loop of
    the stream's own: its items may be asked for from other threads (Starlette reads a
    sync `StreamingResponse` from any of its workers), and its thread may end before it."""
    if not _loop_running_here():
        private = _idle_loop() or _PrivateLoop()
        own, private.stream = private.loop, agen
        with _idle_lock:
            _streaming.add(private)
        try:
            while True:
                try:
                    yield _run_own(own, agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            with _idle_lock:
                _streaming.discard(private)
            if private.stream is agen and not own.is_closed() and not _loop_running_here():
                private.stream = None  # not closed already (at exit)
                aclose = getattr(agen, "aclose", None)
                try:
                    if aclose is not None:
                        _run_own(own, aclose())
                finally:
                    _give_back(private, settle=False)
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


class _Worker:
    """One daemon thread running blocking steps for the event loop, one at a time. A step
    the loop stops waiting for (the core's timer cut it, its task was cancelled) finishes
    in this thread and is dropped: it never holds a shared pool's worker, nor the process's
    exit (a pool's threads are joined at exit, a daemon thread is not)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="langroute-blocking", daemon=True).start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in this thread, awaited; its context (contextvars) is the caller's."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        context = contextvars.copy_context()

        def job() -> None:
            try:
                result = context.run(fn)
            except StopIteration:  # a future refuses it, and its caller would hang
                _settle_soon(loop, done, None, RuntimeError(f"{fn!r} raised StopIteration"))
            except BaseException as exc:  # handed to the awaiting task, not lost here
                _settle_soon(loop, done, None, exc)
            else:
                _settle_soon(loop, done, result, None)

        self._jobs.put(job)
        return await done

    def then_stop(self, fn: Callable[[], object] | None = None) -> None:
        """Run `fn` after the current step, without waiting for it; then end the thread."""
        if fn is not None:
            self._jobs.put(lambda: _quietly(fn))
        self._jobs.put(None)


def _settle_soon(
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[Any],
    result: object,
    error: BaseException | None,
) -> None:
    def settle() -> None:
        if done.done():  # the awaiting task was cancelled meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(settle)


def _quietly(fn: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):
        fn()


async def call_blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call a blocking function from the core: directly on a sync caller's private loop,
    in a daemon thread of its own otherwise (`_Worker`)."""
    if blocking_allowed():
        return fn(*args, **kwargs)
    worker = _Worker()
    try:
        return await worker.run(lambda: fn(*args, **kwargs))
    finally:
        worker.then_stop()


async def aiter_in_threads(items: Iterator[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterator from async code: directly on a sync caller's private loop,
    each `next` in a daemon thread of the stream's own otherwise (adapters drive a framework
    model's sync stream with it). Stopped early, the iterator is closed after the step that
    may still be running, never during it."""
    if blocking_allowed():
        for item in items:
            yield item
        return
    end = object()
    worker = _Worker()
    closed = False
    try:
        while (got := await worker.run(lambda: next(items, end))) is not end:
            yield got  # type: ignore[misc]
        closed = True
    finally:
        worker.then_stop(None if closed else getattr(items, "close", None))
