"""A cascade inside a LlamaIndex FunctionAgent: every model call of the agent runs the
cascade. The small model picks the tool; after the tool result it hedges, so that step
escalates to the strong model.

    python3 -m uv run python cookbook/cascade_llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent

from _offline import LLAMAINDEX_SPECS, offline_llamaindex_llms
from langroute import Cascade
from langroute.testing import Reply, smart_reply
from llama_index.llms.langroute import RoutingLLM


def small_model(call: Any) -> Any:
    """Calls tools fine; unsure when it has to write the final answer from a tool result."""
    messages = call.body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return Reply("I don't know how to read that result.")
    return smart_reply(call)


class ShowAnswers(BaseEventHandler):
    """Prints each model call the agent's steps made, with its answer (candidates' events)."""

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, LLMChatEndEvent) and event.response is not None:
            message = event.response.message
            print(f"model call → {message.content or '(a tool call)'!r}")


def get_population(city: str) -> str:
    """Get the population of a city."""
    return f"{city} has 2.1 million inhabitants"


async def main() -> None:
    get_dispatcher().add_event_handler(ShowAnswers())
    with offline_llamaindex_llms(small_reply=small_model) as (small, large):
        llm = RoutingLLM(models=[small, large], specs=LLAMAINDEX_SPECS, strategy=Cascade())
        agent = FunctionAgent(tools=[get_population], llm=llm)
        handler = agent.run("What is the population of 'Paris'?")
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                print(f"tool  {event.tool_name}({event.tool_kwargs}) → {event.tool_output}")
        result = await handler
        print("answer:", result.response.content)


if __name__ == "__main__":
    asyncio.run(main())
