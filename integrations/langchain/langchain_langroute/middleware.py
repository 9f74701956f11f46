"""`RoutingMiddleware`: keep your agent's model, and route each of its model calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse

from langchain_langroute.chat_models import RoutingChatModel


class RoutingMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Sends every model call of a `create_agent` agent through `router`, so each step —
    tool selection, answers after tool results — is routed on its own.

    ```python
    agent = create_agent(ChatOpenAI(model="gpt-4.1"), tools,
                         middleware=[RoutingMiddleware(RoutingChatModel(models=[...]))])
    ```
    """

    def __init__(self, router: RoutingChatModel) -> None:
        super().__init__()
        self.router = router

    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse]
    ) -> ModelResponse:
        return handler(request.override(model=self.router))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse]],
    ) -> ModelResponse:
        return await handler(request.override(model=self.router))
