"""Run the scripted server on its own: `python -m langroute.testing --models a,b`.

Prints `READY <openai base url>` once listening, then serves until interrupted. Benchmarks
use it in a separate process so the server does not share the client's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from langroute.testing.script import Reply
from langroute.testing.server import ScriptedServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m langroute.testing", description=__doc__)
    parser.add_argument("--models", default="local-model", help="comma-separated model names")
    parser.add_argument("--reply", default="The quick brown fox jumps over the lazy dog.")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="delay before the answer")
    parser.add_argument("--tokens-per-s", type=float, default=None)
    args = parser.parse_args()
    server = ScriptedServer()
    for name in args.models.split(","):
        server.add(
            name.strip(),
            Reply(args.reply, ttft_s=args.ttft_ms / 1000, tokens_per_s=args.tokens_per_s),
        )
    server.start()
    print(f"READY {server.openai_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
