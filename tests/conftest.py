"""Shared fixtures: a scripted server per test, and routers wired to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
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


PUBLIC_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def public_data() -> Path:
    """../shared/data: required in CI (CI=true), skipped with a reason elsewhere."""
    root = Path(os.environ.get("LANGROUTE_DATA_DIR") or PUBLIC_DATA)
    if not (root / "routerbench_zs").is_dir() or not (root / "routellm").is_dir():
        message = f"public recorded outcomes not found at {root} (../shared/data)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ": CI must have them")
        pytest.skip(message)
    return root


@pytest.fixture(scope="session", autouse=True)
def _embedder_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The static embedder's distilled table: the user's cache if it is there, else one
    per test session (distilled once, ~10 s)."""
    from langroute.embed.static import CACHE_ENV, cache_dir

    if os.environ.get(CACHE_ENV) or any(cache_dir().glob("minilm-l6-static-*.npz")):
        yield
        return
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("langroute-cache"))
    yield
    os.environ.pop(CACHE_ENV, None)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server on 127.0.0.1 started for the test session (CI installs it: a missing
    redis-server fails there; elsewhere the Redis tests skip with the reason)."""
    from langroute.testing.redis import redis_server

    try:
        with redis_server() as url:
            yield url
    except FileNotFoundError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{exc}: CI must have it")
        pytest.skip(str(exc))
