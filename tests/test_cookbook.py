"""Every cookbook script runs offline against the scripted server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COOKBOOK = Path(__file__).resolve().parents[1] / "cookbook"


@pytest.mark.parametrize("script", sorted(COOKBOOK.glob("*.py")), ids=lambda p: p.name)
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
