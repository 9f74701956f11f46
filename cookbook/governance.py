"""Budgets, a per-tenant cache, an audit trail, a staged rollout and a shadow check, offline.

    python3 -m uv run python cookbook/governance.py

Two tenants share a router over two scripted models. Each tenant has a daily cap; the same
question from the same tenant is answered from the cache, never across tenants; a new
version of the small model is rolled out to 25 % of users; 20 % of calls are checked
against the large model off the response path; every call lands in an audit file that
`langroute audit` summarises at the end.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from langroute import (
    AuditLog,
    Budget,
    BudgetExceeded,
    Budgets,
    JSONLAuditSink,
    ModelSpec,
    OpenAIProvider,
    Registry,
    ResponseCache,
    Rollout,
    Router,
    Versions,
)
from langroute.cli import main as langroute_cli
from langroute.shadow import AgreementJudge, ShadowEvaluator
from langroute.testing import Reply, ScriptedServer


def registry_for() -> Registry:
    registry = Registry()
    for name, version, price, quality in (
        ("small", "small-2025-01", (0.15, 0.60), 0.8),
        ("large", "large-2025-01", (3.0, 15.0), 0.95),
    ):
        registry.register(
            ModelSpec(
                name=name,
                provider="local",
                version=version,
                pricing={"input": price[0], "output": price[1]},
                context_window=128_000,
                max_output_tokens=1_000,
                quality=dict.fromkeys(("chat", "reasoning", "code", "math"), quality),
            )
        )
    return registry


async def main() -> None:
    async with ScriptedServer() as server:
        for model in ("small-2025-01", "small-2025-06", "large-2025-01"):
            server.add(model, Reply(f"[{model}] Paris.", prompt_tokens=400, completion_tokens=300))
        registry = registry_for()
        registry.providers.clear()
        provider = OpenAIProvider(name="local", base_url=server.openai_url, api_key="offline")
        audit_file = Path(tempfile.mkdtemp()) / "audit.jsonl"
        reference = Router(["large"], registry=registry, providers={"local": provider})
        router = Router(
            ["small", "large"],
            registry=registry,
            providers={"local": provider},
            budgets=Budgets([Budget(limit_usd=0.0015, per="tenant", period="day")]),
            cache=ResponseCache(),
            audit=AuditLog(JSONLAuditSink(audit_file)),
            versions=Versions(
                [Rollout(model="small", pinned="small-2025-01", staged="small-2025-06", percent=25)]
            ),
            shadow=ShadowEvaluator(reference, AgreementJudge(), sample_rate=0.2),
        )
        for tenant in ("acme", "globex"):
            for i in range(8):
                question = "What is the capital of France?" if i % 2 else f"Question {i}?"
                try:
                    answer = await router.achat(
                        question, tenant=tenant, user=f"{tenant}-u{i % 4}", temperature=0
                    )
                except BudgetExceeded as exc:
                    print(f"{tenant:6} #{i}: refused — budget {exc.budget}")
                    continue
                d = answer.decision
                source = f"cache ({d.cache})" if d.cache else d.attempts[-1].provider_model
                print(f"{tenant:6} #{i}: {source:22} ${answer.cost_usd:.6f}  {answer.content}")
                await router.drain()  # cache writes and audit records, for a tidy printout
        await router.drain()
        print(f"shadow comparisons: {router.shadow.compared if router.shadow else 0}")
        print()
        langroute_cli(["audit", str(audit_file)])
        await router.aclose()
        await reference.aclose()


if __name__ == "__main__":
    asyncio.run(main())
