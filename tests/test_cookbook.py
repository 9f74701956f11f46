"""Every cookbook script runs offline against the scripted server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SECRETS

COOKBOOK = Path(__file__).resolve().parents[1] / "cookbook"


def run(script: str) -> str:
    """Run a cookbook script; its stdout (it must succeed)."""
    result = subprocess.run(
        [sys.executable, str(COOKBOOK / script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    leaked = [key for key in SECRETS if key in result.stdout + result.stderr]
    assert not leaked, f"{script} printed a key: {leaked}"
    return result.stdout


@pytest.mark.parametrize(
    "script",
    sorted(p.name for p in COOKBOOK.glob("*.py") if not p.name.startswith("_")),
)
def test_cookbook_script_runs(script):
    assert run(script).strip()


def test_quickstart_shows_routing_and_fallback():
    out = run("quickstart_offline.py")
    assert "easy  → small" in out
    assert "hard  → large" in out
    assert "429   → large" in out and "error (RateLimited)" in out
    assert "answered by small" in out


def test_langchain_agent_steps_go_to_different_models():
    lines = [line for line in run("langchain_agent.py").splitlines() if line.startswith("step")]
    assert len(lines) == 2
    assert "small-model" in lines[0] and "calls get_weather" in lines[0]
    assert "large-model" in lines[1] and "answers" in lines[1]


def test_langchain_chain_routes_easy_and_hard_inputs_differently():
    lines = run("langchain_lcel_chain.py").splitlines()
    assert "→ small-model" in lines[0]
    assert "→ large-model" in lines[1]
    assert lines[2].startswith("streamed: Hello!")
    assert lines[3] == "native: Hello! You said: Say hi (small-model via local)"


def test_llamaindex_agent_steps_go_to_different_models():
    out = run("llamaindex_agent.py")
    steps = [line for line in out.splitlines() if line.startswith("step")]
    assert steps == ["step  → small-model", "step  → claude-haiku-4-5"]
    assert "tool  get_population({'city': 'Paris'})" in out


def test_llamaindex_query_engine_retrieves_and_answers():
    out = run("llamaindex_query_engine.py")
    assert "sources: ['langroute picks, for every LLM call" in out
    assert "native answer: Hello! You said: Context information" in out
    assert "candidates: {'small-model': 'NativeLLM', 'claude-haiku-4-5': 'Anthropic'}" in out


def test_learned_routing_cookbook_trains_scores_and_routes():
    out = run("learned_routing.py")
    assert "0 test prompts dropped" in out
    assert "→ small-model" in out and "→ large-model" in out


def test_cascade_cookbooks_escalate_inside_a_chain_and_an_agent():
    chain = run("cascade_langchain_chain.py")
    assert "→ small-model: small-model 1.0 kept" in chain
    assert "→ large-model: small-model 0.3 escalated (hedge)" in chain
    assert "not sure" not in chain.split("streamed")[1]
    agent = run("cascade_llamaindex_agent.py")
    assert "I don't know how to read that result." in agent
    assert agent.strip().endswith("answer: The tool returned Paris has 2.1 million inhabitants.")


def test_governance_cookbook_caps_caches_rolls_out_and_audits():
    out = run("governance.py")
    assert "acme   #3: cache (exact)" in out and "globex #3: cache (exact)" in out
    assert "refused — budget tenant=* per day (tenant=acme" in out
    assert "small-2025-06" in out, "the staged version answered some users"
    assert "16 calls (2 failed, 6 from the cache)" in out
    assert "always-premium (large) would have cost" in out


def test_a_chain_scorer_cascade_trusts_agreement():
    out = run("cascade_chain_scorer.py")
    agree, differ = out.strip().splitlines()
    assert agree.startswith("small says C, mid says C → mid:")
    assert "agrees with 1 of 1 earlier" in agree and "mid 0.9" in agree
    assert differ.startswith("small says A, mid says B → large:")
    assert "agrees with 0 of 1 earlier" in differ and "large unscored kept" in differ


def test_the_agents_answer_step_reads_the_prompt_the_first_run_cached():
    steps = [
        line.split()
        for line in run("langchain_prompt_caching.py").splitlines()
        if line.startswith("step")
    ]
    assert [s[2] for s in steps] == ["small-model", "large-model"] * 2
    wrote, read = int(steps[1][6].rstrip(",")), int(steps[3][8])  # the answer steps
    assert wrote > 1024 and read == wrote and steps[3][6] == "0,"
    cost = [float(s[-1].lstrip("$")) for s in steps]
    assert cost[3] < cost[1] / 5


def test_a_documents_second_hard_question_reads_it_from_claudes_cache():
    lines = [line.split() for line in run("llamaindex_prompt_caching.py").splitlines()]
    assert [line[0] for line in lines] == ["small-model", "claude-haiku-4-5", "claude-haiku-4-5"]
    wrote, read = int(lines[1][3].rstrip(",")), int(lines[2][5])
    assert wrote > 1024 and read == wrote and lines[0][3] == "0,"
    assert float(lines[2][-1].lstrip("$")) < float(lines[1][-1].lstrip("$")) / 5
