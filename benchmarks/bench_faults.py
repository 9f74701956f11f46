"""Fault injection: 10,000 requests at concurrency 100 through the Router against the
scripted server, 20 % injected faults (429 with Retry-After, 500/503, timeouts, malformed
JSON, streams dropped mid-way) over three deployments of one model, one of which is down
for the first half of the run.

Reports lost requests (must be 0: every call ends in an answer or one typed error listing
its attempts), the breaker on the broken deployment, p50/p99 latency and the share served by
each deployment.

    uv run python benchmarks/bench_faults.py [--requests 10000] [--concurrency 100] [--json out]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from langroute.testing.faults import run_faults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = asyncio.run(run_faults(args.requests, args.concurrency, args.fault_rate))
    print(
        f"{report.requests} requests, concurrency {report.concurrency}, "
        f"{report.fault_rate:.0%} faults on two deployments, a third down for the first half\n"
        f"  answered {report.answered}, typed errors {report.typed_errors}, "
        f"lost {report.lost}, errors without attempts {report.errors_without_attempts}\n"
        f"  breaker on the broken deployment: opened {report.breaker_opened}, closed after "
        f"recovery {report.breaker_closed_after_recovery}; calls it received while down: "
        f"{report.broken_calls_during_outage} (of {report.requests // 2} requests)\n"
        f"  latency p50 {report.p50_ms:.1f} ms, p99 {report.p99_ms:.1f} ms; "
        f"{report.requests / report.seconds:.0f} requests/s\n"
        "  served by: "
        + ", ".join(f"{k} {v:.1%}" for k, v in report.served_by.items())
        + "  (p0 = the broken one, p1/p2 = the flaky ones)"
    )
    if args.json:
        Path(args.json).write_text(report.model_dump_json(indent=2))


if __name__ == "__main__":
    main()
