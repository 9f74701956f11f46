"""Shared fixtures: a scripted server per test, and routers wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from langroute import AnthropicProvider, ModelSpec, OpenAIProvider, Registry, RetryPolicy, Router
from langroute.testing import ScriptedServer

TEST_KEY = "sk-test-0123456789abcdef-SECRET"


def spec(
    name: str,
    *,
    provider: str = "local",
    price: tuple[float, float] = (1.0, 2.0),
    quality: float = 0.8,
    context_window: int = 8000,
    max_output_tokens: int = 1000,
    **extra: Any,
) -> ModelSpec:
    """A test model spec; every domain gets `quality`."""
    return ModelSpec(
        name=name,
        provider=provider,
        pricing={"input": price[0], "output": price[1]},
        quality=dict.fromkeys(
            ("code", "math", "reasoning", "creative", "extraction", "chat"), quality
        ),
        context_window=context_window,
        max_output_tokens=min(max_output_tokens, context_window),
        **extra,
    )


def providers_for(
    server: ScriptedServer, key: str = TEST_KEY, timeout: float = 5.0
) -> dict[str, Any]:
    return {
        "local": OpenAIProvider(
            name="local", base_url=server.openai_url, api_key=key, timeout=timeout
        ),
        "claude": AnthropicProvider(
            name="claude", base_url=server.anthropic_url, api_key=key, timeout=timeout
        ),
    }


FAST_RETRY = RetryPolicy(attempts=2, base_delay_s=0.001, max_delay_s=0.01, max_retry_after_s=2)


def make_router(
    server: ScriptedServer, specs: list[ModelSpec], *, timeout: float = 5.0, **kwargs: Any
) -> Router:
    registry = Registry()
    for s in specs:
        registry.register(s)
    kwargs.setdefault("retry", FAST_RETRY)
    return Router(
        [s.name for s in specs],
        registry=registry,
        providers=providers_for(server, timeout=timeout),
        **kwargs,
    )


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(api_key=TEST_KEY) as s:
        yield s


@pytest.fixture
async def aserver() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer(api_key=TEST_KEY) as s:
        yield s
