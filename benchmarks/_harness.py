"""What the benchmarks share: the scripted server in its own process, and A/B timing of a
direct call against the routed call, interleaved in the same run (ratio of medians)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

Figures = dict[str, float]


def start_server(ttft_ms: float, models: str = "bench-model") -> tuple[subprocess.Popen[str], str]:
    """The scripted server in its own process, so it does not share the client's GIL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "langroute.testing", "--models", models, "--ttft-ms", str(ttft_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"scripted server did not start: {line!r}")
    return proc, line.split()[1]


def _figures(label: str, direct: list[float], routed: list[float]) -> Figures:
    a, b = statistics.median(direct), statistics.median(routed)
    return {
        f"{label}_direct_p50_ms": a * 1000,
        f"{label}_router_p50_ms": b * 1000,
        f"{label}_ratio": b / a,
    }


def interleaved(
    label: str, direct: Callable[[], Any], routed: Callable[[], Any], calls: int, warmup: int = 20
) -> Figures:
    """Time `direct` and `routed` alternately (a,b then b,a), `calls` times each."""
    for _ in range(warmup):
        direct()
        routed()
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(calls):
        for is_routed in (False, True) if i % 2 == 0 else (True, False):
            t0 = time.perf_counter()
            (routed if is_routed else direct)()
            times[is_routed].append(time.perf_counter() - t0)
    return _figures(label, times[False], times[True])


async def ainterleaved(
    label: str,
    direct: Callable[[], Awaitable[Any]],
    routed: Callable[[], Awaitable[Any]],
    calls: int,
    warmup: int = 20,
) -> Figures:
    """`interleaved` for coroutines."""
    for _ in range(warmup):
        await direct()
        await routed()
    times: dict[bool, list[float]] = {False: [], True: []}
    for i in range(calls):
        for is_routed in (False, True) if i % 2 == 0 else (True, False):
            t0 = time.perf_counter()
            await (routed if is_routed else direct)()
            times[is_routed].append(time.perf_counter() - t0)
    return _figures(label, times[False], times[True])


def over_latencies(
    title: str,
    measure: Callable[[str], Figures],
    labels: tuple[str, ...],
    latencies: list[float],
    models: str = "bench-model",
) -> dict[str, Figures]:
    """Run `measure(url)` against a fresh scripted server per latency; print and return."""
    print(f"{title} (ratio of medians, interleaved; target <= 1.05)")
    report: dict[str, Figures] = {}
    for latency in latencies:
        proc, url = start_server(latency, models)
        try:
            figures = measure(url)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        report[f"server_latency_{latency:g}ms"] = figures
        for label in labels:
            print(
                f"  server latency {latency:>4g} ms, {label:8}: direct "
                f"{figures[f'{label}_direct_p50_ms']:7.2f} ms, router "
                f"{figures[f'{label}_router_p50_ms']:7.2f} ms, ratio "
                f"{figures[f'{label}_ratio']:.3f}"
            )
    return report


def adapter_benchmark_cli(
    doc: str | None, title: str, measure: Callable[[str, int], Figures], labels: tuple[str, ...]
) -> None:
    """The command line shared by the adapter benchmarks: --calls, --latencies, --json."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 50.0])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = over_latencies(
        title,
        lambda url: measure(url, args.calls),
        labels,
        args.latencies,
        models="bench-model,bench-strong",
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
