"""What `RoutingLLM` and a native candidate share as chat-only LLMs: completions made from
chat calls, and the messages of a `chat_with_tools` call."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    MessageRole,
)


class CompletionsFromChat:
    """`complete` and its async and streaming forms, each one chat call."""

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)  # type: ignore[attr-defined]

    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)  # type: ignore[attr-defined]

    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)  # type: ignore[attr-defined]

    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)  # type: ignore[attr-defined]


def tool_call_messages(
    user_msg: str | ChatMessage | None, chat_history: list[ChatMessage] | None
) -> list[ChatMessage]:
    """The conversation of a `chat_with_tools` call: the history, then the user's message."""
    messages = list(chat_history or [])
    if user_msg is not None:
        messages.append(
            user_msg
            if isinstance(user_msg, ChatMessage)
            else ChatMessage(role=MessageRole.USER, content=user_msg)
        )
    return messages
