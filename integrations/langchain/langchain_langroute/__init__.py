"""LangChain integration for langroute: `RoutingChatModel`, a chat model that routes every call,
and `RoutingMiddleware` (needs `langchain`) to route each model call of an agent."""

from typing import Any

from langchain_langroute.chat_models import RoutingChatModel

__all__ = ["LangrouteDecisionModel", "RoutingChatModel", "RoutingMiddleware"]


def __getattr__(name: str) -> Any:
    if name == "RoutingMiddleware":  # imports `langchain` (the agents package) only when used
        from langchain_langroute.middleware import RoutingMiddleware

        return RoutingMiddleware
    if name == "LangrouteDecisionModel":  # langchain_core.decisions is recent (1.8)
        from langchain_langroute.decisions import LangrouteDecisionModel

        return LangrouteDecisionModel
    raise AttributeError(name)
