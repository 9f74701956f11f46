"""One scripted server for the LlamaIndex tests, with real OpenAI / OpenAILike / Anthropic
LLMs pointed at it over HTTP."""

from __future__ import annotations

import atexit
from functools import lru_cache
from typing import Any

from llama_index.llms.anthropic import Anthropic
from llama_index.llms.openai import OpenAI
from llama_index.llms.openai_like import OpenAILike

from langroute.testing import ScriptedServer, smart_reply

KEY = "sk-llamaindex-test-key-0123456789"
CHEAP = "gpt-4o-mini"  # served by the scripted server under the catalog's name
STRONG = "claude-haiku-4-5"
LOCAL = "local-model"
DOMAINS = ("chat", "code", "math", "reasoning", "creative", "extraction")
SPECS: dict[str, dict[str, Any]] = {
    CHEAP: {"quality": dict.fromkeys(DOMAINS, 0.8)},
    STRONG: {"quality": dict.fromkeys(DOMAINS, 0.9)},
    LOCAL: {
        "pricing": {"input": 0.0, "output": 0.0},
        "context_window": 32_000,
        "max_output_tokens": 2048,
        "quality": dict.fromkeys(DOMAINS, 0.5),
        "capabilities": {"tools": True},
    },
}


@lru_cache(maxsize=1)
def scripted_server() -> ScriptedServer:
    server = ScriptedServer(api_key=KEY).start()
    for name in (CHEAP, STRONG, LOCAL):
        server.add(name, smart_reply)
    atexit.register(server.stop)
    return server


def cheap_llm() -> OpenAI:
    return OpenAI(model=CHEAP, api_base=scripted_server().openai_url, api_key=KEY, max_retries=0)


def strong_llm() -> Anthropic:
    return Anthropic(
        model=STRONG, base_url=scripted_server().anthropic_url, api_key=KEY, max_retries=0
    )


def local_llm() -> OpenAILike:
    return OpenAILike(
        model=LOCAL,
        api_base=scripted_server().openai_url,
        api_key=KEY,
        is_chat_model=True,
        is_function_calling_model=True,
        context_window=32_000,
        max_retries=0,
    )


NATIVE_PROVIDER = "scripted-openai"
NATIVE_SPECS: dict[str, dict[str, Any]] = {
    **SPECS,
    CHEAP: {
        **SPECS[CHEAP],
        "provider": NATIVE_PROVIDER,
        "deployments": [{"provider": NATIVE_PROVIDER, "model_id": CHEAP}],
    },
}
"""The cheap candidate native: the catalog's gpt-4o-mini (prices, window), called by
langroute's own `OpenAIProvider` (no LlamaIndex OpenAI) at the scripted server."""


def native_providers() -> dict[str, Any]:
    from langroute import OpenAIProvider

    return {
        NATIVE_PROVIDER: OpenAIProvider(
            name=NATIVE_PROVIDER, base_url=scripted_server().openai_url, api_key=KEY
        )
    }
