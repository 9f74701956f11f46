"""The README's main job: `langroute demo` routes real prompts and explains each decision."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from langroute.cli import main


def test_demo_prints_a_decision_with_reasons_per_prompt(capsys):
    assert main(["demo", "--no-eval"]) == 0
    out = capsys.readouterr().out
    assert out.count("policy cost-optimized →") == 16
    assert "16 prompts routed over" in out
    assert "profile: code" in out and "profile: math" in out and "profile: chat" in out


def test_route_json_and_model_subset(capsys):
    assert (
        main(
            [
                "route",
                "Prove that there are infinitely many primes.",
                "--json",
                "--models",
                "gpt-4o-mini,gpt-4.1,claude-sonnet-4-5",
            ]
        )
        == 0
    )
    decision = json.loads(capsys.readouterr().out)
    assert decision["profile"]["domain"] == "math"
    assert decision["plan"]["candidates"][0]["model"] in (
        "gpt-4o-mini",
        "gpt-4.1",
        "claude-sonnet-4-5",
    )


def test_unknown_model_is_a_clean_error(capsys):
    assert main(["route", "hi", "--models", "gpt-4o,gpt-99"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'gpt-99'" in err and "Known models" in err


def test_prompts_file_and_models_listing(tmp_path, capsys):
    prompts = tmp_path / "q.jsonl"
    prompts.write_text(
        '{"turns": ["Write a limerick about a cat."]}\n{"prompt": "What is 17 * 23?"}\n'
    )
    assert main(["demo", "--prompts", str(prompts)]) == 0
    assert "2 prompts routed" in capsys.readouterr().out
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "gpt-4.1" in listing
    # each price with the date it was read: they are not all of one day
    assert re.search(r"claude-sonnet-5-5 .* 2026-11-29 ", listing)
    assert re.search(r"gpt-4\.1 .* 2025-10-15 ", listing)


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "langroute.cli", "route", "hello"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "policy cost-optimized" in result.stdout


def test_demo_says_where_to_find_data_for_its_evaluation(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LANGROUTE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "16 prompts routed" in out
    assert f"evaluation skipped: --data-dir {tmp_path} holds no routerbench_zs/ folder" in out
    assert main(["demo"]) == 0  # nothing named, nothing at ../shared/data from here
    assert "evaluation skipped: no public recorded outcomes found" in capsys.readouterr().out


def test_eval_refuses_a_data_folder_without_data_rather_than_reading_another(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("LANGROUTE_DATA_DIR", raising=False)
    assert main(["eval", "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "--data-dir" in capsys.readouterr().err
    monkeypatch.setenv("LANGROUTE_DATA_DIR", str(tmp_path))
    assert main(["eval"]) == 2
    assert "$LANGROUTE_DATA_DIR" in capsys.readouterr().err


def test_models_and_demo_say_which_models_are_shut_down(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LANGROUTE_TODAY", "2026-11-29")
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    nano = r"gpt-4\.1-nano .*\n +shut down on 2026-10-23 \(replacement: gpt-6-luna\)"
    assert re.search(nano, listing)
    assert re.search(r"gpt-5 .*\n +shuts down on 2026-12-11 \(replacement: gpt-6\.2-sol\)", listing)
    assert not re.search(r"gpt-6-luna .*\n +shut", listing)
    assert main(["route", "hi"]) == 0
    routed = capsys.readouterr().out
    assert "rejected gpt-4.1-nano: shut down by its provider on 2026-10-23" in routed
    prompts = tmp_path / "q.txt"
    prompts.write_text("hi\n")
    assert main(["demo", "--no-eval", "--prompts", str(prompts)]) == 0
    out = capsys.readouterr().out
    assert "1 prompts routed over 35 models (4 more shut down by their providers, left out)" in out
