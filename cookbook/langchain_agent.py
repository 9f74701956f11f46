"""A LangChain agent with two tools whose steps go to different models: tool selection to the
cheap model, the answer after the tool results to the strong one (the AgentSteps policy).

    python3 -m uv run python cookbook/langchain_agent.py
"""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from _offline import SPECS, offline_langchain_models
from langchain_langroute import RoutingChatModel
from langroute import AgentSteps, CostOptimized, QualityBar


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21 °C in {city}"


@tool
def get_population(city: str) -> str:
    """Get the population of a city."""
    return f"{city} has 2.1 million inhabitants"


with offline_langchain_models() as (small, large):
    llm = RoutingChatModel(
        models=[small, large],
        specs=SPECS,
        policy=AgentSteps(
            tool_step=CostOptimized(), after_tools=CostOptimized(bar=QualityBar(fixed=0.9))
        ),
    )
    agent = create_agent(llm, tools=[get_weather, get_population])
    result = agent.invoke({"messages": [("user", "What is the weather in 'Paris'?")]})
    for message in result["messages"]:
        if isinstance(message, AIMessage):
            decision = message.response_metadata["langroute"]
            what = (
                f"calls {message.tool_calls[0]['name']}"
                if message.tool_calls
                else f"answers {message.text!r}"
            )
            print(f"step → {decision['answered_by']:12} {what}   [{decision['reasons'][0]}]")
