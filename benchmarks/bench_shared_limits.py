"""Four processes sharing one rpm limit through Redis (or SQLite), for a minute of load.

Each process runs a Router whose model declares rpm 60 and calls it as fast as it can for
`--seconds`; a call without budget fails fast with `LimitExhausted`. The scripted server
counts the calls that reached it: they must stay within the bucket (60) plus its refill over
the run (60 per minute), whatever the number of processes.

    uv run python benchmarks/bench_shared_limits.py [--store redis|sqlite] [--seconds 60]

Redis: starts its own redis-server on 127.0.0.1 (needs the binary).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from langroute.testing import Reply, ScriptedServer
from langroute.testing.redis import redis_server

CHILD = """
import asyncio, sys, time
from langroute import OpenAIProvider, Registry, RetryPolicy, Router
from langroute.registry import ModelSpec
from langroute.errors import AllModelsFailed
from langroute.state import RedisRateLimits, SQLiteRateLimits

url, store, where, seconds, rpm = sys.argv[1:6]
limits = (RedisRateLimits(where, namespace="bench") if store == "redis"
          else SQLiteRateLimits(where))
registry = Registry()
registry.register(ModelSpec(name="capped", provider="p", context_window=8000,
                            max_output_tokens=1000, pricing={"input": 1, "output": 2},
                            rpm=int(rpm)))
router = Router(["capped"], registry=registry, retry=RetryPolicy(attempts=1), limits=limits,
                providers={"p": OpenAIProvider(name="p", base_url=url, api_key="k")})

async def main():
    ok = refused = 0
    end = time.time() + float(seconds)
    while time.time() < end:
        try:
            await router.achat("hi")
            ok += 1
        except AllModelsFailed:
            refused += 1
            await asyncio.sleep(0.01)
    print(ok, refused)

asyncio.run(main())
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["redis", "sqlite"], default="redis")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--rpm", type=int, default=60)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="langroute-limits-"))
    with ExitStack() as stack:
        if args.store == "redis":
            where = stack.enter_context(redis_server())
        else:
            where = str(folder / "limits.db")
        with ScriptedServer() as server:
            server.add("capped", Reply("ok"))
            started = time.time()
            children = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        server.openai_url,
                        args.store,
                        where,
                        str(args.seconds),
                        str(args.rpm),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(args.processes)
            ]
            results = [
                child.communicate(timeout=args.seconds + 120)[0].split() for child in children
            ]
            elapsed = time.time() - started
            reached = server.count("capped")
    accepted = sum(int(ok) for ok, _ in results)
    refused = sum(int(no) for _, no in results)
    bound = args.rpm + args.rpm * elapsed / 60
    print(
        f"{args.processes} processes, {args.store}, rpm {args.rpm}, {elapsed:.1f} s of load: "
        f"{reached} calls reached the server ({accepted} accepted, {refused} refused with "
        f"LimitExhausted); bound = bucket {args.rpm} + refill {args.rpm * elapsed / 60:.1f} "
        f"= {bound:.1f} → {'within' if reached <= bound + 1 else 'OVER'}"
    )


if __name__ == "__main__":
    main()
