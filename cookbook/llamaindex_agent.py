"""A LlamaIndex FunctionAgent with two tools whose steps go to different models: the tool
step to the cheap model, the answer after the tool result to the strong one.

    python3 -m uv run python cookbook/llamaindex_agent.py
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import LLMChatStartEvent

from _offline import LLAMAINDEX_SPECS, offline_llamaindex_llms
from langroute import AgentSteps, CostOptimized, QualityBar
from llama_index.llms.langroute import RoutingLLM


class ShowModelCalls(BaseEventHandler):
    """Prints which model each LLM call of the agent went to (the candidate's own event)."""

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, LLMChatStartEvent):
            print(f"step  → {event.model_dict.get('model_name')}")


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21 °C in {city}"


def get_population(city: str) -> str:
    """Get the population of a city."""
    return f"{city} has 2.1 million inhabitants"


async def main() -> None:
    get_dispatcher().add_event_handler(ShowModelCalls())
    with offline_llamaindex_llms() as (small, large):
        llm = RoutingLLM(
            models=[small, large],
            specs=LLAMAINDEX_SPECS,
            policy=AgentSteps(
                tool_step=CostOptimized(), after_tools=CostOptimized(bar=QualityBar(fixed=0.9))
            ),
        )
        agent = FunctionAgent(tools=[get_weather, get_population], llm=llm)
        handler = agent.run("What is the population of 'Paris'?")
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                print(f"tool  {event.tool_name}({event.tool_kwargs}) → {event.tool_output}")
        result = await handler
        print("answer:", result.response.content)


if __name__ == "__main__":
    asyncio.run(main())
