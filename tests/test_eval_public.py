"""The learned routers on the public recorded outcomes, held-out prompts only.

These are the issue's figures, checked so a change that makes routing worse fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langroute.cli import main
from langroute.eval.cascade import LEARNED_SCORER_SUFFIX
from langroute.eval.public import PUBLISHED


@pytest.fixture(scope="module")
def report(public_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("eval") / "public.json"
    plot = out.with_suffix(".png")
    assert (
        main(
            [
                "eval",
                "--data-dir",
                str(public_data),
                "--json",
                str(out),
                "--plot",
                str(plot),
                "--quiet",
            ]
        )
        == 0
    )
    assert plot.stat().st_size > 20_000
    return json.loads(out.read_text())


def test_routerbench_learned_router_beats_the_zero_router_and_gpt4_cost(report: dict) -> None:
    rb = report["routerbench"]
    assert rb["n_test"] == 951
    assert rb["strongest"] == "gpt-4-1106-preview"
    default = next(r for r in rb["routers"] if r["label"] == "learned[static+logistic, tradeoff]")
    assert default["aiq"] >= max(r["aiq"] for r in rb["routers"]) - 0.005, (
        "the default is the default"
    )
    assert default["aiq"] > rb["zero_router_aiq"]
    assert default["above_zero_router"] == 1.0, "the whole curve lies on or above the zero router"
    assert default["cost_share_at_95"] <= 0.30, "95 % of GPT-4's quality at <= 30 % of its cost"
    # Calibrated on training folds only, the operating point still meets its target on test.
    gpt4 = next(s for s in rb["singles"] if s["label"] == "always gpt-4-1106-preview")
    assert default["calibrated"]["quality"] >= 0.95 * gpt4["quality"]
    assert default["calibrated"]["cost_usd"] < 0.5 * gpt4["cost_usd"]
    for router in rb["routers"]:
        assert router["aiq"] > router["random_aiq"], router["label"]
    assert rb["oracle_aiq"] > default["aiq"]


def test_routerbench_cascade_target_is_reported_at_half_gpt4_cost(report: dict) -> None:
    """The cascade issue's target (GPT-4's quality for half its cost) read off the hulls."""
    rb = report["routerbench"]
    zero = rb["zero_router_quality_share_at_half_cost"]
    assert 0.9 < zero < 1.0
    suffix = LEARNED_SCORER_SUFFIX
    both = [r for r in rb["routers"] if r["label"].startswith("cascade[")]
    cascades = [r for r in both if not r["label"].endswith(suffix)]  # ChainScorer
    simple = {r["label"].removesuffix(suffix): r for r in both if r["label"].endswith(suffix)}
    assert len(cascades) == 3
    assert set(simple) == {r["label"] for r in cascades}, "each chain also with LearnedScorer"
    assert all(0.9 < r["train_quality_share_at_half_cost"] < 1.0 for r in cascades)
    chosen = max(cascades, key=lambda r: r["train_quality_share_at_half_cost"])  # train only
    assert chosen["label"].startswith("cascade[Yi-34B-Chat → mixtral")
    assert 0.96 < chosen["quality_share_at_half_cost"] < 1.0, "on test: better, still short"
    three = next(r for r in cascades if r["label"].startswith("cascade[mixtral-8x7b-chat → Yi"))
    assert three["quality_share_at_half_cost"] >= zero + 0.01, "the cascade helps at that budget"
    simple_three = simple[three["label"]]["quality_share_at_half_cost"]
    assert zero < simple_three <= three["quality_share_at_half_cost"] + 0.005
    assert three["quality_share_at_half_cost"] - simple_three < 0.02, "chain scorer ≳ simple one"
    default = next(r for r in rb["routers"] if r["label"] == "learned[static+logistic, tradeoff]")
    assert default["quality_share_at_half_cost"] > max(
        c["quality_share_at_half_cost"] for c in cascades
    ), "the learned router beats every cascade at half the cost"


def test_vote_cascades_told_the_benchmark_bound_the_cascade_target(report: dict) -> None:
    """Why the cascade target is missed: even choosing a vote cascade per benchmark (which
    no router knows), on train it stays short of GPT-4 at half its cost, and in hindsight
    on test GPT-4's quality costs more than half of always-GPT-4."""
    bound = report["vote_cascade_bound"]
    assert bound["strongest"] == "gpt-4-1106-preview"
    assert set(bound["chosen_on_train"]) == {"arc", "mbpp", "winogrande"}
    assert "vote of" in bound["chosen_on_train"]["arc"]
    assert bound["test_cost_share"] <= 0.5
    assert 0.97 < bound["test_quality_share"] < 1.0
    assert bound["test_quality_share"] <= bound["hindsight_quality_share_at_half_cost"] < 1.0
    assert 0.5 < bound["hindsight_cost_share_at_parity"] < 0.6


def test_routellm_pairs_beat_random_and_match_the_published_oracle(report: dict) -> None:
    pairs = {r["dataset"]: r for r in report["routellm"]}
    assert set(pairs) == {"gsm8k", "mmlu", "mt_bench"}
    assert pairs["mt_bench"]["n_test"] == 72
    assert pairs["mt_bench"]["protocol"] == "trained on GSM8K + MMLU only"
    for name in ("gsm8k", "mmlu"):
        pair = pairs[name]
        assert pair["random"]["apgr"] == pytest.approx(0.5)
        assert pair["oracle"]["cpt50"] == pytest.approx(PUBLISHED[name]["oracle_cpt50"], abs=0.002)
        learned = next(r for r in pair["routers"] if "logistic" in r["label"])
        assert learned["apgr"] > 0.55, name
        assert learned["cpt50"] < 0.45, name
    assert pairs["mt_bench"]["oracle"]["cpt50"] == pytest.approx(0.083, abs=0.002)


def test_the_default_embedding_classifier_beats_the_rules_on_held_out_prompts(
    report: dict,
) -> None:
    c = report["classifiers"]
    assert c["n_test"] == 121
    acc = {row["classifier"]: row["accuracy"] for row in c["rows"]}
    assert acc["embedding, static table (default)"] >= 0.80
    assert acc["rules (default)"] >= 0.78, "multiple-choice, role-play and word-problem rules"
    assert acc["embedding, static table (default)"] >= acc["rules (default)"]
    assert acc["embedding, MiniLM"] >= acc["embedding, static table (default)"]
    other = {row["classifier"]: row["fit_half_accuracy"] for row in c["rows"]}
    assert other["embedding, static table (default)"] >= 0.80, "holds on the other half too"
    assert other["embedding, static table, fitted thresholds"] is None, "it saw that half"


def test_train_scorer_on_the_public_train_files_gives_the_reported_threshold(
    public_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's `langroute train-scorer` command for the chosen chain: the threshold
    behind the report's operating point, from the train files only."""
    files = sorted(str(p) for p in (public_data / "routerbench_zs").glob("*_train.csv"))
    chain = "zero-one-ai/Yi-34B-Chat,mistralai/mixtral-8x7b-chat,gpt-4-1106-preview"
    out = tmp_path / "chain.npz"
    assert main(["train-scorer", *files, "--chain", chain, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "on 2225 prompts" in printed
    assert "threshold 0.82: 95.2% of gpt-4-1106-preview's quality at 44% of always" in printed
    assert out.stat().st_size > 10_000
