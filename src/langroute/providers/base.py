"""The `Provider` protocol: the transport that turns one planned call into an answer.

Native providers (`OpenAIProvider`, `AnthropicProvider`) speak HTTP; adapters implement the
same protocol around a framework's model (a LangChain chat model, a LlamaIndex LLM), using
`request.native` — the framework's own call — so nothing is lost in translation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from langroute.types import Completion, StreamChunk

if TYPE_CHECKING:
    from langroute.features import RoutingRequest


@runtime_checkable
class Provider(Protocol):
    """Sends one call to one model. Raises only `langroute.errors.ProviderError`s.

    `stream` must not yield anything before it knows the call succeeded far enough to
    produce content: the router falls back only until the first chunk with a payload.
    """

    name: str

    async def complete(self, model_id: str, request: RoutingRequest) -> Completion: ...

    def stream(self, model_id: str, request: RoutingRequest) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...
