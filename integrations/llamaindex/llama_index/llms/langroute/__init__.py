"""LlamaIndex integration for langroute: `RoutingLLM`, an LLM that routes every call."""

from llama_index.llms.langroute.base import RoutingLLM

__all__ = ["RoutingLLM"]
