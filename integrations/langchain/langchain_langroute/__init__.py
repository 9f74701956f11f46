"""LangChain integration for langroute (RoutingChatModel lands with its own issue)."""

from langroute import __version__

__all__ = ["__version__"]
