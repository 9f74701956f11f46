"""Closing a stream the moment its consumer stops.

A stream read inside another (the router's over the strategy's, over the runner's, over the
provider's) is otherwise closed by the garbage collector's hook, which only schedules the
close on its event loop: a sync caller's loop does not run again until its next call, so an
abandoned stream's budget hold, billing and connection would wait until then — or for ever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class closing(Generic[T]):
    """`async with closing(items) as items:` — `items` closed on exit when it can be (an
    async generator, a framework's stream), in the task that stopped reading it."""

    __slots__ = ("items",)

    def __init__(self, items: AsyncIterator[T]) -> None:
        self.items = items

    async def __aenter__(self) -> AsyncIterator[T]:
        return self.items

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await close(self.items)


async def close(items: AsyncIterator[object]) -> None:
    """Close `items` if it can be closed; finished or not, it is done with."""
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        await aclose()
