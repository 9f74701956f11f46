"""Model versioning: pinned aliases, a staged rollout sticky per user, instant rollback, and
the answering version in every attempt and audit record."""

from __future__ import annotations

import pytest

from langroute import AuditLog, ConfigError, Rollout, RoutingRequest, Versions
from langroute.audit import MemoryAuditSink
from langroute.testing import Reply, ScriptedServer
from tests.conftest import make_router, spec


def test_a_10_percent_rollout_sends_10_percent_of_5000_users_each_always_to_the_same() -> None:
    versions = Versions([Rollout(model="gpt", pinned="gpt-v1")])
    versions.stage("gpt", "gpt-v2", percent=10)
    users = [f"user-{i}" for i in range(5000)]

    def version(user: str) -> str:
        features = RoutingRequest.build("hi", user=user).features
        return versions.resolve("gpt", "openai", "gpt", features, "req")

    first = {u: version(u) for u in users}
    share = sum(v == "gpt-v2" for v in first.values()) / len(users)
    assert 0.08 <= share <= 0.12, share
    assert all(version(u) == first[u] for u in users), "sticky per user"

    versions.stage("gpt", "gpt-v2", percent=30)
    wider = {u: version(u) for u in users}
    assert all(wider[u] == "gpt-v2" for u in users if first[u] == "gpt-v2"), "only moves onto v2"
    assert 0.27 <= sum(v == "gpt-v2" for v in wider.values()) / len(users) <= 0.33

    versions.rollback("gpt")
    assert {version(u) for u in users} == {"gpt-v1"}, "rollback is instant and total"
    versions.stage("gpt", "gpt-v2", percent=10)
    versions.promote("gpt")
    assert {version(u) for u in users} == {"gpt-v2"}
    assert versions["gpt"].pinned == "gpt-v2" and versions["gpt"].staged is None


def test_rollouts_are_validated() -> None:
    with pytest.raises(ValueError, match="no staged version"):
        Rollout(model="m", pinned="v1", percent=5)
    with pytest.raises(ValueError, match="less than or equal to 100"):
        Rollout(model="m", pinned="v1", staged="v2", percent=150)
    with pytest.raises(ConfigError, match="no rollout for model 'x'"):
        Versions().stage("x", "v2", 10)
    with pytest.raises(ConfigError, match="no staged version to promote"):
        Versions([Rollout(model="m", pinned="v1")]).promote("m")


async def test_the_router_calls_each_users_version_and_records_it(aserver: ScriptedServer) -> None:
    aserver.add("chat-v1", Reply("from v1"))
    aserver.add("chat-v2", Reply("from v2"))
    sink = MemoryAuditSink()
    versions = Versions([Rollout(model="chat", pinned="chat-v1", staged="chat-v2", percent=50)])
    router = make_router(
        aserver, [spec("chat", version="chat-v1")], versions=versions, audit=AuditLog(sink)
    )
    seen: dict[str, set[str]] = {}
    for _ in range(3):
        for i in range(20):
            answer = await router.achat("hi", user=f"u{i}")
            seen.setdefault(f"u{i}", set()).add(answer.content or "")
            assert answer.decision.attempts[-1].provider_model == answer.content.split()[
                -1
            ].replace("v", "chat-v")
    assert all(len(v) == 1 for v in seen.values()), "each user stays on one version"
    assert {"from v1", "from v2"} == set().union(*seen.values())
    versions.rollback("chat")
    assert {(await router.achat("hi", user=f"u{i}")).content for i in range(20)} == {"from v1"}
    await router.drain()
    assert {r.version for r in sink.records} == {"chat-v1", "chat-v2"}
    assert all(r.version == r.attempts[-1].version for r in sink.records)
    await router.aclose()
