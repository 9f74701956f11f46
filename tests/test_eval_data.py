"""Dataset loaders, leakage-proof splits and replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from langroute.errors import ConfigError
from langroute.eval import EvalDataset, EvalItem, LeakageError, Outcome, Split, held_out, kfold
from langroute.eval.loaders import (
    load_dataset,
    load_gsm8k,
    load_jsonl,
    load_mmlu,
    load_mt_bench,
    load_routerbench,
    write_jsonl,
)
from langroute.eval.replay import Matrices, random_at_matched_cost, replay, single_models
from langroute.registry import Registry


def item(i: int, prompt: str, **scores: float | None) -> EvalItem:
    return EvalItem(
        id=str(i),
        prompt=prompt,
        outcomes={
            m: Outcome(score=s, cost_usd=0.01 if m == "big" else 0.001) for m, s in scores.items()
        },
    )


def test_routellm_loader_drops_contaminated_prompts_as_routellm_does(tmp_path: Path) -> None:
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    strong, weak = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
    (folder / "gsm8k_responses.csv").write_text(
        f"prompt,{weak},{strong},{weak}_response,{strong}_response\n"
        '"What is 2+2?",True,True,4,4\n'
        '"Seen in training",False,True,x,y\n'
        '"Blank cell",,False,,\n',
        encoding="utf-8",
    )
    (folder / "contaminated_prompts.jsonl").write_text(
        json.dumps({"eval_prompt": "Seen in training", "train_prompt": "…"}) + "\n"
    )
    data = load_gsm8k(tmp_path)
    assert len(data) == 2
    assert data.dropped == 1
    assert data.items[0].outcomes[strong].score == 1.0
    assert data.items[1].outcomes[weak].score is None, "a blank cell is missing, not 0"
    assert load_dataset(folder).prompts == data.prompts


def test_routerbench_loader_reads_scores_costs_and_blank_cells(tmp_path: Path) -> None:
    csv = tmp_path / "x_test.csv"
    csv.write_text(
        ",sample_id,prompt,eval_name,a,a|model_response,a|total_cost,b,b|model_response,"
        "b|total_cost,oracle_model_to_route_to\n"
        "0,s.0,Q one,arc,1.0,yes,0.002,,no,0.0001,a\n"
        "1,s.1,Q two,arc,0.0,no,0.002,1.0,yes,0.0001,b\n",
        encoding="utf-8",
    )
    data = load_routerbench(csv)
    assert data.models == ["a", "b"]
    assert data.items[0].outcomes["b"].score is None
    assert data.items[0].outcomes["a"].cost_usd == pytest.approx(0.002)
    assert data.items[1].group == "arc"
    assert load_dataset(csv).models == ["a", "b"]


def test_jsonl_round_trip_prices_tokens_from_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(
        json.dumps(
            {
                "prompt": "hi",
                "outcomes": {
                    "gpt-4o-mini": {"score": 1, "prompt_tokens": 1000, "completion_tokens": 500},
                    "gpt-4o": 1,
                },
            }
        )
        + "\n",
        encoding="utf-8",
    )
    data = load_jsonl(path, registry=Registry.builtin())
    mini = Registry.builtin().get("gpt-4o-mini").pricing
    assert data.items[0].outcomes["gpt-4o-mini"].cost_usd == pytest.approx(mini.cost(1000, 500))
    assert data.items[0].outcomes["gpt-4o"].score == 1.0
    again = load_jsonl(write_jsonl(data, tmp_path / "again.jsonl"))
    assert again.items[0].outcomes == data.items[0].outcomes


def test_jsonl_errors_name_the_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"prompt": "ok", "outcomes": {"m": 1}})
        + "\n"
        + json.dumps({"prompt": "bad", "outcomes": {"m": {"score": 1, "cost_usd": -2}}})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"(?s)line 2.*cost_usd"):
        load_jsonl(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_jsonl(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="not a dataset"):
        load_dataset(tmp_path)


def test_logs_with_one_line_per_call_load_as_one_item_per_prompt(tmp_path: Path) -> None:
    """The "long" form most call logs have: each line one model's outcome on a prompt."""
    rows = [
        {"prompt": "2+2?", "model": "small", "score": 0, "cost_usd": 0.001, "response": "5"},
        {"prompt": "capital of Peru?", "model": "small", "score": 1, "cost_usd": 0.001},
        {"prompt": "2+2?", "model": "large", "score": 1, "cost_usd": 0.01, "group": "math"},
        {"id": "p3", "prompt": "capital of Peru?", "model": "large", "score": 1},
        {"id": "p3", "prompt": "capital of Peru?", "model": "small", "score": 0},
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data = load_jsonl(path)
    assert [(i.id, sorted(i.outcomes)) for i in data.items] == [
        ("2+2?", ["large", "small"]),
        ("capital of Peru?", ["small"]),
        ("p3", ["large", "small"]),
    ]
    first = data.items[0]
    assert first.outcomes["small"].response == "5" and first.outcomes["large"].score == 1
    assert first.group == "math"
    assert data.models == ["small", "large"]
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in [rows[0], rows[2], rows[0]]), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"line 3: 'small' already has an outcome .*line 1"):
        load_jsonl(path)
    path.write_text(json.dumps({"prompt": "hi", "modle": "a", "score": 1}) + "\n")
    with pytest.raises(ConfigError, match=r"(?s)line 1.*modle: unknown key.*one call"):
        load_jsonl(path)


def test_data_dir_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mine.jsonl").write_text(json.dumps({"prompt": "p", "outcomes": {"m": 1}}))
    monkeypatch.setenv("LANGROUTE_DATA_DIR", str(tmp_path))
    assert len(load_dataset("mine.jsonl")) == 1


def test_splits_make_leakage_impossible() -> None:
    items = [item(i, f"prompt {i % 40}", big=1, small=i % 2) for i in range(100)]
    data = EvalDataset("d", items)
    folds = kfold(data, 5)
    tested = sorted(int(it.id) for split in folds for it in split.test)
    assert tested == list(range(100)), "every prompt is tested exactly once"
    for split in folds:
        assert not (split.train.keys() & split.test.keys())
    # Duplicates (same prompt text, different case/spacing) are one prompt.
    train = EvalDataset("train", [item(0, "What  is 2+2?", big=1, small=1)])
    test = EvalDataset(
        "test", [item(1, "what is 2+2?", big=1, small=0), item(2, "new", big=1, small=0)]
    )
    with pytest.raises(LeakageError, match="1 test prompts"):
        Split(train, test)
    clean = held_out(train, test)
    assert clean.test.prompts == ["new"]
    assert clean.test.dropped == 1


def test_replay_reads_recorded_scores_and_leaves_missing_ones_out() -> None:
    data = EvalDataset(
        "d",
        [
            item(0, "a", big=1, small=0),
            item(1, "b", big=1, small=1),
            item(2, "c", big=0, small=None),
        ],
    )
    m = Matrices(data)
    run = replay(m, [1, 1, 1], "always small")
    assert run.quality == pytest.approx(0.5), "the missing score is not a 0"
    assert run.missing == 1
    assert run.cost_usd == pytest.approx(0.003)
    assert run.oracle_accuracy == pytest.approx(1 / 3)
    singles = {r.label: r for r in single_models(m)}
    assert singles["always big"].quality == pytest.approx(2 / 3)
    oracle = replay(m, m.oracle_choices(), "oracle")
    # Prompt 1 is a tie: the cheaper model; prompt 2: only big has a score.
    assert oracle.quality == pytest.approx(2 / 3)
    assert oracle.shares == {"big": pytest.approx(2 / 3), "small": pytest.approx(1 / 3)}
    rnd = random_at_matched_cost(m, replay(m, [0, 1, 1], "mix"))
    assert rnd.quality == pytest.approx(1 / 3 * 2 / 3 + 2 / 3 * 0.5)
    assert np.isnan(rnd.oracle_accuracy)


def test_public_data_matches_its_documented_facts(public_data: Path) -> None:
    gsm8k = load_gsm8k(public_data / "routellm")
    mmlu = load_mmlu(public_data / "routellm")
    mt = load_mt_bench(public_data / "routellm")
    assert (len(gsm8k), len(mmlu), len(mt)) == (1307, 14037, 72)
    means = Matrices(gsm8k).mean_quality()
    assert means.tolist() == pytest.approx([0.858, 0.637], abs=5e-4)
    assert Matrices(mt).mean_quality().tolist() == pytest.approx([9.21, 8.28], abs=5e-3)
    folder = public_data / "routerbench_zs"
    bench = load_routerbench(sorted(folder.glob("*.csv")))
    assert len(bench) + bench.dropped == 3178
    assert len(bench.models) == 11
    m = Matrices(bench)
    gpt4 = m.models.index("gpt-4-1106-preview")
    # The README's 0.876 divides by all 3,178 prompts; blank cells are missing here, so the
    # mean over known scores is higher (0.880) while the count of correct answers agrees.
    assert np.nansum(m.score[:, gpt4]) / 3178 == pytest.approx(0.876, abs=2e-3)
    assert m.mean_quality()[gpt4] == pytest.approx(0.880, abs=1e-3)
    assert (~m.known).sum() > 0
    assert np.nansum(m.cost[:, gpt4]) == pytest.approx(16.0, abs=0.1)
    assert replay(m, m.oracle_choices(), "o").quality == pytest.approx(0.975, abs=2e-3)


def test_a_configured_router_replays_with_priors_measured_on_training_data() -> None:
    from langroute import Router
    from langroute.eval.configured import RecordedOnly, registry_from_outcomes, replay_router

    def items(offset: int) -> list[EvalItem]:
        out = []
        for i in range(40):
            maths = i % 2 == 0
            prompt = (
                f"Prove that {i + offset} has exactly two prime factors"
                if maths
                else f"Say hello to guest {i + offset}"
            )
            out.append(item(i + offset, prompt, big=1, small=0 if maths else 1))
        return out

    train, test = EvalDataset("train", items(0)), EvalDataset("test", items(1000))
    registry = registry_from_outcomes(train)
    assert registry.get("big").quality_for("math") == 1.0
    assert registry.get("small").quality_for("math") == 0.0
    assert registry.get("big").pricing.input > registry.get("small").pricing.input
    router = Router(["big", "small"], registry=registry, providers={"recorded": RecordedOnly()})
    run = replay_router(router, test, label="rules")
    assert run.quality == 1.0, "maths to the big model, greetings to the small one"
    assert run.shares == {"big": 0.5, "small": 0.5}
    renamed = EvalDataset(
        "renamed",
        [
            it.model_copy(
                update={"outcomes": {"BIG": it.outcomes["big"], "SMALL": it.outcomes["small"]}}
            )
            for it in test
        ],
    )
    assert replay_router(router, renamed, aliases={"big": "BIG", "small": "SMALL"}).quality == 1.0
    with pytest.raises(ConfigError, match="aliases"):
        replay_router(router, renamed)
