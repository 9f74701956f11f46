"""Shared set-up for the cookbook: the scripted server standing in for two providers, and
real LangChain chat models pointed at it. Swap these for your own models and keys."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langroute.testing import ScriptedServer, smart_reply

SPECS: dict[str, dict[str, Any]] = {
    # a small, cheap model with JSON-schema output
    "small-model": {
        "pricing": {"input": 0.15, "output": 0.60},
        "context_window": 128_000,
        "max_output_tokens": 16_384,
        "capabilities": {"tools": True, "json_mode": True, "structured_output": True},
        "quality": {
            "chat": 0.82,
            "code": 0.70,
            "math": 0.65,
            "reasoning": 0.68,
            "creative": 0.75,
            "extraction": 0.86,
        },
    },
    # a large, expensive model
    "large-model": {
        "pricing": {"input": 3.0, "output": 15.0},
        "context_window": 200_000,
        "max_output_tokens": 64_000,
        "capabilities": {"tools": True, "json_mode": False, "structured_output": False},
        "quality": {
            "chat": 0.91,
            "code": 0.94,
            "math": 0.88,
            "reasoning": 0.90,
            "creative": 0.90,
            "extraction": 0.93,
        },
    },
}


@contextmanager
def offline_langchain_models(small_reply: Any = smart_reply) -> Iterator[tuple[Any, Any]]:
    """(ChatOpenAI "small-model", ChatAnthropic "large-model"), both on the scripted server.
    `small_reply` scripts the small model (default: plausible answers)."""
    from langchain_anthropic import ChatAnthropic
    from langchain_openai import ChatOpenAI

    with ScriptedServer() as server:
        server.add("small-model", small_reply)
        server.add("large-model", smart_reply)
        small = ChatOpenAI(
            model="small-model",
            base_url=server.openai_url,
            api_key="offline",
            max_retries=0,
            stream_usage=True,
        )
        large = ChatAnthropic(
            model="large-model", base_url=server.anthropic_url, api_key="offline", max_retries=0
        )
        yield small, large


@contextmanager
def offline_llamaindex_llms(small_reply: Any = smart_reply) -> Iterator[tuple[Any, Any]]:
    """(OpenAILike "small-model", Anthropic "claude-haiku-4-5"), on the scripted server.
    (LlamaIndex's Anthropic class only accepts model names it knows.)"""
    from llama_index.llms.anthropic import Anthropic
    from llama_index.llms.openai_like import OpenAILike

    with ScriptedServer() as server:
        server.add("small-model", small_reply)
        server.add("claude-haiku-4-5", smart_reply)
        small = OpenAILike(
            model="small-model",
            api_base=server.openai_url,
            api_key="offline",
            is_chat_model=True,
            is_function_calling_model=True,
            context_window=128_000,
            max_retries=0,
        )
        large = Anthropic(
            model="claude-haiku-4-5",
            base_url=server.anthropic_url,
            api_key="offline",
            max_retries=0,
        )
        yield small, large


LLAMAINDEX_SPECS: dict[str, dict[str, Any]] = {
    "small-model": SPECS["small-model"],
    # the catalog knows claude-haiku-4-5's price and window; raise its priors for the demo
    "claude-haiku-4-5": {"quality": SPECS["large-model"]["quality"]},
}
