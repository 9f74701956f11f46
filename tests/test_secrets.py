"""Keys never reach a log line, an exception, a repr or a decision record."""

from __future__ import annotations

import logging

import pytest

from langroute import AllModelsFailed, StreamInterrupted
from langroute.testing import DropStream, Fail, Reply
from tests.conftest import TEST_KEY, make_router, spec


async def test_no_key_in_logs_errors_or_decisions(aserver, caplog):
    aserver.add("cheap", Fail(401, f"Incorrect API key provided: {TEST_KEY}"))
    aserver.add("strong", Fail(429, f"limit for key {TEST_KEY}", retry_after=0.01))
    router = make_router(
        aserver, [spec("cheap", price=(0.1, 0.1)), spec("strong", price=(5, 5), provider="claude")]
    )
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(AllModelsFailed) as info:
            await router.achat("hello")
        seen += [str(info.value), repr(info.value)]
        seen += [f"{e!s} {e!r} {e.message}" for e in info.value.exceptions]

        aserver.models["cheap"].default = Fail(503, f"upstream said {TEST_KEY}")
        aserver.models["strong"].default = Reply("fine")
        completion = await router.achat("hello")
        seen.append(completion.decision.model_dump_json())
        seen.append(completion.model_dump_json())

        aserver.models["cheap"].default = DropStream(after_chunks=1)
        with pytest.raises(StreamInterrupted) as interrupted:
            async for _ in router.astream("hello"):
                pass
        seen += [str(interrupted.value), repr(interrupted.value.cause)]
        seen += [repr(p) for p in router._providers.values()]
    seen.append(caplog.text)
    for text in seen:
        assert TEST_KEY not in text
    assert "[redacted]" in str(info.value)
    await router.aclose()


def test_recorded_headers_drop_the_key(server):
    server.add("m", Reply("x"))
    router = make_router(server, [spec("m")])
    router.chat("hi")
    assert all(
        "authorization" not in c.headers and "x-api-key" not in c.headers for c in server.calls
    )
