"""The benchmark scripts run (tiny sizes, no timing assertions: figures come from the
README's benchmark command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_benchmark_runs_and_reports_every_figure(tmp_path):
    out = tmp_path / "core.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_core.py"),
            "--calls",
            "5",
            "--rounds",
            "3",
            "--latencies",
            "0",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert [d["models"] for d in report["decision"]] == [5, 30]
    figures = report["overhead"]["server_latency_0ms"]
    assert figures["complete_ratio"] > 0 and figures["stream_ratio"] > 0
    assert "ratio" in result.stdout


def test_langchain_benchmark_runs(tmp_path):
    out = tmp_path / "lc.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_langchain.py"),
            "--calls",
            "3",
            "--latencies",
            "0",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["server_latency_0ms"]
    assert figures["invoke_ratio"] > 0 and figures["ainvoke_ratio"] > 0


def test_llamaindex_benchmark_runs(tmp_path):
    out = tmp_path / "li.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_llamaindex.py"),
            "--calls",
            "3",
            "--latencies",
            "0",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(out.read_text())["server_latency_0ms"]
    assert figures["chat_ratio"] > 0 and figures["achat_ratio"] > 0
