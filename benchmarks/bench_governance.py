"""What budgets, the response cache and the audit trail cost per call (issue: budgets, cache,
audit trail, …), against the same router without them, measured in the same run.

1. Router CPU per `achat` with an in-memory provider (no I/O): plain, then with each feature
   on its own and all together; audit records are built and written on their thread, and
   that thread's work is counted (the timer stops after `flush`).
2. End to end against the scripted server (its own process) at 2 ms latency: the plain
   router and the governed one (SQLite budgets, memory cache missing every call, JSONL
   audit), interleaved, as a ratio of medians.

    uv run python benchmarks/bench_governance.py [--calls 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_core import InMemoryProvider, bench_registry

from _harness import ainterleaved, start_server
from langroute import (
    AuditLog,
    Budget,
    Budgets,
    JSONLAuditSink,
    OpenAIProvider,
    ResponseCache,
    RetryPolicy,
    Router,
)
from langroute.state import SQLiteBudgets

PROMPT = "Summarize the plot of Hamlet in two sentences."


def governed(folder: Path, features: set[str], providers: dict[str, Any]) -> Router:
    kwargs: dict[str, Any] = {}
    if "budgets" in features:
        kwargs["budgets"] = Budgets([Budget(limit_usd=1e6, per="tenant")])
    if "budgets-sqlite" in features:
        store = SQLiteBudgets(folder / f"budgets-{len(list(folder.iterdir()))}.db")
        kwargs["budgets"] = Budgets([Budget(limit_usd=1e6, per="tenant")], store)
    if "cache" in features:
        kwargs["cache"] = ResponseCache()
    if "audit" in features:
        sink = JSONLAuditSink(folder / f"audit-{len(list(folder.iterdir()))}.jsonl")
        kwargs["audit"] = AuditLog(sink)
    return Router(
        ["bench-model"],
        registry=bench_registry(),
        providers=providers,
        retry=RetryPolicy(attempts=1),
        **kwargs,
    )


async def cpu_per_call(router: Router, calls: int, *, hits: bool = False) -> float:
    """Microseconds per call, off-path work (audit thread, executor) included."""
    counter = itertools.count()

    def prompt() -> str:
        return PROMPT if hits else f"{PROMPT} #{next(counter)}"

    for _ in range(300):
        await router.achat(prompt(), tenant="acme", temperature=0)
    await router.drain()
    t0 = time.perf_counter()
    for _ in range(calls):
        await router.achat(prompt(), tenant="acme", temperature=0)
    await router.drain()
    return (time.perf_counter() - t0) / calls * 1e6


async def bench_cpu(calls: int, folder: Path) -> dict[str, float]:
    configs: dict[str, tuple[set[str], bool]] = {
        "plain": (set(), False),
        "budgets (memory)": ({"budgets"}, False),
        "budgets (SQLite)": ({"budgets-sqlite"}, False),
        "cache miss (memory)": ({"cache"}, False),
        "cache hit (memory)": ({"cache"}, True),
        "audit (JSONL)": ({"audit"}, False),
        "all: SQLite budgets + cache miss + audit": ({"budgets-sqlite", "cache", "audit"}, False),
    }
    out: dict[str, float] = {}
    for label, (features, hits) in configs.items():
        router = governed(folder, features, {"local": InMemoryProvider()})
        out[label] = await cpu_per_call(router, calls, hits=hits)
        await router.aclose()
    return out


async def bench_end_to_end(url: str, calls: int, folder: Path) -> dict[str, float]:
    def provider() -> dict[str, Any]:
        return {"local": OpenAIProvider(name="local", base_url=url, api_key="bench")}

    plain = governed(folder, set(), provider())
    full = governed(folder, {"budgets-sqlite", "cache", "audit"}, provider())
    counter = itertools.count()

    async def via_plain() -> None:
        await plain.achat(PROMPT, tenant="acme", temperature=0)

    async def via_full() -> None:
        await full.achat(f"{PROMPT} #{next(counter)}", tenant="acme", temperature=0)

    figures = await ainterleaved("governed", via_plain, via_full, calls)
    await plain.aclose()
    await full.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--e2e-calls", type=int, default=400)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cpu = asyncio.run(bench_cpu(args.calls, folder))
        base = cpu["plain"]
        print("Router CPU per call, in-memory provider (off-path work included)")
        for label, us in cpu.items():
            print(f"  {label:44} {us:7.1f} us  ({us / base:4.2f}x plain)")
        proc, url = start_server(2.0)
        try:
            e2e = asyncio.run(bench_end_to_end(url, args.e2e_calls, folder))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(
        "End to end at 2 ms server latency: plain "
        f"{e2e['governed_direct_p50_ms']:.2f} ms, governed {e2e['governed_router_p50_ms']:.2f} ms "
        f"(ratio {e2e['governed_ratio']:.3f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu_us": cpu, "end_to_end": e2e}, indent=2))


if __name__ == "__main__":
    main()
