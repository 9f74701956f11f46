"""One scripted server for the LangChain tests, with real ChatOpenAI / ChatAnthropic
candidates pointed at it over HTTP."""

from __future__ import annotations

import atexit
from functools import lru_cache
from typing import Any

from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI

from langroute.testing import ScriptedServer, smart_reply

KEY = "sk-langchain-test-key-0123456789"

# The two standard-test candidates: an OpenAI-protocol one (JSON schema, JSON mode, tools)
# and an Anthropic-protocol one (tools only, more expensive, better on hard prompts).
OPENAI_NAME = "std-openai"
ANTHROPIC_NAME = "std-anthropic"
SPECS: dict[str, dict[str, Any]] = {
    OPENAI_NAME: {
        "pricing": {"input": 0.15, "output": 0.6},
        "context_window": 128_000,
        "max_output_tokens": 16_384,
        "capabilities": {
            "tools": True,
            "vision": True,
            "json_mode": True,
            "structured_output": True,
        },
        "quality": {
            "chat": 0.82,
            "code": 0.7,
            "math": 0.65,
            "reasoning": 0.68,
            "creative": 0.75,
            "extraction": 0.85,
        },
    },
    ANTHROPIC_NAME: {
        "pricing": {"input": 3.0, "output": 15.0},
        "context_window": 200_000,
        "max_output_tokens": 64_000,
        "capabilities": {
            "tools": True,
            "vision": True,
            "json_mode": False,
            "structured_output": False,
        },
        "quality": {
            "chat": 0.91,
            "code": 0.94,
            "math": 0.88,
            "reasoning": 0.9,
            "creative": 0.9,
            "extraction": 0.93,
        },
    },
}


@lru_cache(maxsize=1)
def scripted_server() -> ScriptedServer:
    server = ScriptedServer(api_key=KEY).start()
    server.add(OPENAI_NAME, smart_reply)
    server.add(ANTHROPIC_NAME, smart_reply)
    atexit.register(server.stop)
    return server


def openai_candidate(name: str = OPENAI_NAME, **kwargs: Any) -> ChatOpenAI:
    server = scripted_server()
    return ChatOpenAI(
        model=name,
        base_url=server.openai_url,
        api_key=KEY,
        max_retries=0,
        stream_usage=True,
        **kwargs,
    )


def anthropic_candidate(name: str = ANTHROPIC_NAME, **kwargs: Any) -> ChatAnthropic:
    server = scripted_server()
    return ChatAnthropic(
        model=name, base_url=server.anthropic_url, api_key=KEY, max_retries=0, **kwargs
    )


NATIVE_PROVIDER = "scripted-openai"
NATIVE_SPECS: dict[str, dict[str, Any]] = {
    **SPECS,
    OPENAI_NAME: {**SPECS[OPENAI_NAME], "provider": NATIVE_PROVIDER},
}
"""The same candidates, with the OpenAI-protocol one native: called by langroute's own
`OpenAIProvider` (no ChatOpenAI), under a provider name given in `native_providers()`."""


def native_providers() -> dict[str, Any]:
    from langroute import OpenAIProvider

    server = scripted_server()
    return {
        NATIVE_PROVIDER: OpenAIProvider(
            name=NATIVE_PROVIDER, base_url=server.openai_url, api_key=KEY
        )
    }
