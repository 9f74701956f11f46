"""LangChain integration for langroute: `RoutingChatModel`, a chat model that routes every call."""

from langchain_langroute.chat_models import RoutingChatModel, decision_metadata

__all__ = ["RoutingChatModel", "decision_metadata"]
