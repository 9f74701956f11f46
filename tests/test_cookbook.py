"""Every cookbook script runs offline against the scripted server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COOKBOOK = Path(__file__).resolve().parents[1] / "cookbook"


@pytest.mark.parametrize(
    "script",
    sorted(p for p in COOKBOOK.glob("*.py") if not p.name.startswith("_")),
    ids=lambda p: p.name,
)
def test_cookbook_script_runs(script):
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_quickstart_shows_routing_and_fallback():
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / "quickstart_offline.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert "easy  → small" in out
    assert "hard  → large" in out
    assert "429   → large" in out and "error (RateLimited)" in out
    assert "answered by small" in out


def test_langchain_agent_steps_go_to_different_models():
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / "langchain_agent.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("step")]
    assert len(lines) == 2
    assert "small-model" in lines[0] and "calls get_weather" in lines[0]
    assert "large-model" in lines[1] and "answers" in lines[1]


def test_langchain_chain_routes_easy_and_hard_inputs_differently():
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / "langchain_lcel_chain.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "→ small-model" in lines[0]
    assert "→ large-model" in lines[1]
    assert lines[2].startswith("streamed: Hello!")


def test_llamaindex_agent_steps_go_to_different_models():
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / "llamaindex_agent.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("step")]
    assert steps == ["step  → small-model", "step  → claude-haiku-4-5"]
    assert "tool  get_population({'city': 'Paris'})" in result.stdout


def test_llamaindex_query_engine_retrieves_and_answers():
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / "llamaindex_query_engine.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "sources: ['langroute picks, for every LLM call" in result.stdout
