"""A LangChain agent with a long system prompt marked for Claude's prompt cache, its steps
routed between ChatOpenAI and ChatAnthropic. The breakpoint reaches ChatAnthropic, and is
left out for ChatOpenAI (strict OpenAI-compatible servers refuse it; OpenAI caches on its
own). The second question's answer step reads what the first one wrote, at a tenth of the
input price.

    python3 -m uv run python cookbook/langchain_prompt_caching.py
"""

from __future__ import annotations

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, SystemMessage
from langchain_core.tools import tool

from _offline import SPECS, offline_langchain_models
from langchain_langroute import RoutingChatModel
from langroute import AgentSteps, CostOptimized, QualityBar

HANDBOOK = "Answer as the travel desk handbook says: short, friendly, in metric units. " * 120


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"sunny and 21 °C in {city}"


with offline_langchain_models() as (small, large):
    llm = RoutingChatModel(
        models=[small, large],
        specs={
            **SPECS,  # the large model bills cache reads and writes as Claude does
            "large-model": {
                **SPECS["large-model"],
                "pricing": {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75},
            },
        },
        policy=AgentSteps(
            tool_step=CostOptimized(), after_tools=CostOptimized(bar=QualityBar(fixed=0.9))
        ),
    )
    handbook = SystemMessage(
        content=[{"type": "text", "text": HANDBOOK, "cache_control": {"type": "ephemeral"}}]
    )
    agent = create_agent(llm, tools=[get_weather], system_prompt=handbook)
    for question in ("What is the weather in 'Paris'?", "What is the weather in 'Lisbon'?"):
        result = agent.invoke({"messages": [("user", question)]})
        for message in result["messages"]:
            if not isinstance(message, AIMessage):
                continue
            decision = message.response_metadata["langroute"]
            details = (message.usage_metadata or {}).get("input_token_details", {})
            written = sum(
                details.get(key, 0) for key in ("cache_creation", "ephemeral_5m_input_tokens")
            )
            what = "calls a tool" if message.tool_calls else "answers"
            print(
                f"step → {decision['answered_by']:12} {what:12} cache: wrote {written:5}, "
                f"read {details.get('cache_read', 0):5}   cost ${decision['actual_cost_usd']:.6f}"
            )
