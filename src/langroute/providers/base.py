"""The `Provider` protocol: one transport to a model API, in neutral types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from langroute.types import ChatParams, Completion, Message, StreamChunk


@runtime_checkable
class Provider(Protocol):
    """Sends one chat call to one API. Raises only `langroute.errors.ProviderError`s."""

    name: str

    async def complete(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> Completion: ...

    def stream(
        self, model_id: str, messages: Sequence[Message], params: ChatParams
    ) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...
