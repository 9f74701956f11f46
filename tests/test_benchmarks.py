"""The benchmark scripts run (tiny sizes, no timing assertions: figures come from the
README's benchmark command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("script", "labels"),
    [("bench_langchain.py", ("invoke", "ainvoke")), ("bench_llamaindex.py", ("chat", "achat"))],
)
def test_adapter_benchmark_runs(tmp_path, script, labels):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
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
    assert all(figures[f"{label}_ratio"] > 0 for label in labels)
