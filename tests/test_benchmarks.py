"""The benchmark scripts run (tiny sizes, no timing assertions: figures come from the
README's benchmark command)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from langroute.registry import Registry

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, out: Path, *args: str) -> tuple[Any, str]:
    """Run a benchmark at tiny sizes; its JSON report and its stdout (it must succeed)."""
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / script),
            *args,
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
    return json.loads(out.read_text()), result.stdout


def test_core_benchmark_runs_and_reports_every_figure(tmp_path):
    report, stdout = run_benchmark(
        "bench_core.py", tmp_path / "core.json", "--calls", "5", "--rounds", "3"
    )
    assert [d["models"] for d in report["decision"]] == [5, len(Registry.builtin())]
    assert report["router_cpu_us"] > 0
    assert set(report["router_cpu_after_http"]) == {"warm_p50_us", "after_http_p50_us"}
    assert set(report["decision_after_idle_p50_us"]) == {"2ms", "10ms"}
    figures = report["overhead"]["server_latency_0ms"]
    assert figures["complete_ratio"] > 0 and figures["stream_ratio"] > 0
    assert "ratio" in stdout


def test_prompt_caching_benchmark_runs_and_reports_every_figure(tmp_path):
    report, stdout = run_benchmark(
        "bench_prompt_caching.py",
        tmp_path / "caching.json",
        "--conversations",
        "3",
        "--rounds",
        "20",
    )
    for label in ("five models", "the whole catalog"):
        figures = report[label]
        assert figures["cache_aware"]["calls"] == figures["list_prices"]["calls"] > 0
        assert figures["list_prices"]["cost_usd"] > 0
    assert set(report["plan_time"]) == {"0_turns", "12_turns"}
    assert "saved" in stdout


@pytest.mark.parametrize(
    ("script", "labels"),
    [
        ("bench_langchain.py", ("invoke", "ainvoke")),
        ("bench_llamaindex.py", ("chat", "achat")),
        (
            "bench_threads.py",
            ("batch4-framework", "thread-framework", "batch4-native", "thread-native"),
        ),
    ],
)
def test_adapter_benchmark_runs(tmp_path, script, labels):
    report, _ = run_benchmark(script, tmp_path / "figures.json", "--calls", "3")
    figures = report["server_latency_0ms"]
    assert all(figures[f"{label}_ratio"] > 0 for label in labels)


def test_router_latency_benchmark_runs(tmp_path: Path, public_data: Path) -> None:
    out = tmp_path / "routers.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_routers.py"),
            "--prompts",
            "10",
            "--rounds",
            "1",
            "--data-dir",
            str(public_data),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert len(report["routers"]) == 5
    for by_prompts in report["routers"].values():
        assert len(by_prompts) == 2
        for figures in by_prompts.values():
            assert figures["p50_ms"] > 0
            assert figures["p99_ms"] >= figures["p50_ms"]
    assert "p50" in result.stdout


def test_shared_limits_benchmark_runs() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_shared_limits.py"),
            "--store",
            "sqlite",
            "--seconds",
            "1.5",
            "--processes",
            "2",
            "--rpm",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT / "benchmarks",
    )
    assert result.returncode == 0, result.stderr
    assert "within" in result.stdout


def run_script(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "benchmarks",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_governance_benchmark_runs_and_reports_every_configuration(tmp_path):
    out = tmp_path / "governance.json"
    run_script("bench_governance.py", "--calls", "20", "--e2e-calls", "5", "--json", str(out))
    report = json.loads(out.read_text())
    assert set(report["cpu_us"]) >= {"plain", "budgets (SQLite)", "cache hit (memory)"}
    assert report["end_to_end"]["governed_ratio"] > 0


def test_alerts_benchmark_prints_alert_rates_and_similarities():
    stdout = run_script("bench_alerts.py", "--runs", "5")
    assert "stable at 90 % wins" in stdout and "90 % -> 40 %" in stdout
    assert "minilm-l6-onnx-int8" in stdout and "'What is the capital of Germany?'" in stdout
