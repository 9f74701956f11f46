"""Learned routers: training, routing, artifacts, the leakage guard, and the embedders."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from langroute.cli import main
from langroute.embed import CallableEmbedder, HashingEmbedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.eval import EvalDataset, EvalItem, LeakageError, Outcome, held_out
from langroute.eval.evaluate import Recipe, report_routers, train_recipes
from langroute.eval.loaders import write_jsonl
from langroute.eval.train import train_router
from langroute.learned import LearnedRouter, OperatingPoint

TOPICS = ["integral", "derivative", "eigenvalue", "matrix", "probability", "theorem"]
NAMES = ["Ana", "Bo", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana"]


def synthetic(n: int, seed: int, offset: int = 0) -> EvalDataset:
    """Maths prompts only the big model solves; greetings both do. big costs 10x."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        hard = i % 2 == 0
        if hard:
            prompt = f"Prove the {rng.choice(TOPICS)} result number {offset + i} rigorously"
        else:
            prompt = f"Say a warm hello to {rng.choice(NAMES)}, greeting number {offset + i}"
        small = 0.0 if hard else 1.0
        items.append(
            EvalItem(
                id=str(offset + i),
                prompt=prompt,
                outcomes={
                    "big": Outcome(score=1.0, cost_usd=0.01),
                    "small": Outcome(score=small, cost_usd=0.001),
                },
            )
        )
    return EvalDataset("synthetic", items)


@pytest.mark.parametrize("estimator", ["logistic", "knn", "mf", "mlp"])
def test_a_learned_router_sends_hard_prompts_to_the_strong_model(estimator: str) -> None:
    train = synthetic(200, seed=1)
    router = train_router(train, embedder=HashingEmbedder(), estimator=estimator)
    assert router.route("Prove the eigenvalue result number 9999 rigorously") == "big"
    assert router.route("Say a warm hello to Gus, greeting number 9999") == "small"
    oof = router.info.metrics["out_of_fold"]
    assert oof["quality"] >= 0.95 * 1.0
    assert oof["shares"]["small"] > 0.3, "the calibrated point saves money"


def test_artifact_round_trip_and_its_refusals(tmp_path: Path) -> None:
    train = synthetic(120, seed=2)
    router = train_router(train, embedder=HashingEmbedder(), estimator="logistic")
    path = router.save(tmp_path / "router.npz")
    loaded = LearnedRouter.load(path)
    prompts = ["Prove the matrix result number 1 rigorously", "Say a warm hello to Bo"]
    assert np.allclose(router.predict(prompts).quality, loaded.predict(prompts).quality)
    assert loaded.info.data_fingerprint == train.fingerprint()
    assert loaded.info.models == ["big", "small"]
    assert loaded.operating_point == router.operating_point
    with pytest.raises(ConfigError, match="trained with embedder"):
        LearnedRouter.load(path, embedder=HashingEmbedder(dim=64))
    with pytest.raises(ConfigError, match="langroute train"):
        LearnedRouter.load(tmp_path / "missing.npz")
    # Another artifact, or no artifact at all, is named as such, not a NumPy error.
    from langroute.scorers import ChainScorer, LearnedScorer

    junk = tmp_path / "junk.npz"
    junk.write_text("not an artifact")
    for load, what in (
        (LearnedRouter.load, "trained router"),
        (LearnedScorer.load, "learned scorer"),
        (ChainScorer.load, "chain scorer"),
    ):
        with pytest.raises(ConfigError, match=rf"junk\.npz is not a {what} artifact"):
            load(junk)
        with pytest.raises(ConfigError, match=rf"no {what} at .*missing\.npz: make one with"):
            load(tmp_path / "missing.npz")
    with pytest.raises(ConfigError, match=r"router\.npz is not a learned scorer artifact"):
        LearnedScorer.load(path)
    # Scoring on the training prompts is refused.
    with pytest.raises(LeakageError, match="training data"):
        report_routers(train, [("r", loaded, 0.0)], n_train=len(train))


@pytest.mark.parametrize("estimator", ["mf", "mlp"])
def test_factorised_estimators_round_trip_and_ignore_unknown_outcomes(
    tmp_path: Path, estimator: str
) -> None:
    train = synthetic(120, seed=3)
    router = train_router(train, embedder=HashingEmbedder(), estimator=estimator)
    path = router.save(tmp_path / "router.npz")
    loaded = LearnedRouter.load(path)
    assert loaded.info.estimator == estimator
    prompts = ["Prove the matrix result number 1 rigorously", "Say a warm hello to Bo"]
    assert np.allclose(router.predict(prompts).quality, loaded.predict(prompts).quality)
    # An unknown outcome is masked out of training, never read as a failure.
    from langroute.learned import FactorEstimator

    x = np.eye(4, dtype=np.float32)[[0, 1, 0, 1] * 20]
    y = np.array([[1.0, 0.0], [0.0, 1.0]] * 40)
    known = np.ones_like(y, dtype=bool)
    known[::2, 1] = False
    y[::2, 1] = 0.0
    fitted = FactorEstimator(rank=4, activation="relu" if estimator == "mlp" else "linear")
    p = fitted.fit(x, y, known).predict(np.eye(4, dtype=np.float32)[:2])
    assert p[0, 0] > 0.9, "prompt 0 succeeds on model 0"
    assert p[1, 1] > 0.9, "prompt 1 succeeds on model 1"
    assert p[1, 0] < 0.1
    assert p[0, 1] > 0.5, "model 1 on prompt 0 was never seen: not learned as a failure"


def test_the_tradeoff_and_threshold_rules_trace_cost_and_quality() -> None:
    split = held_out(synthetic(200, seed=3), synthetic(100, seed=4, offset=1000))
    router = train_router(split.train, embedder=HashingEmbedder(), estimator="logistic")
    prediction = router.predict(split.test.prompts)
    cheap = router.choose(prediction, OperatingPoint(rule="tradeoff", value=100.0))
    rich = router.choose(prediction, OperatingPoint(rule="tradeoff", value=0.0))
    assert set(cheap.tolist()) == {1}, "a high cost weight always takes the cheap model"
    assert set(rich.tolist()) == {0}, "no cost weight takes the best predicted model"
    assert set(router.choose(prediction, OperatingPoint(rule="threshold", value=0.0))) == {1}


def test_report_puts_the_router_above_the_zero_router_on_separable_data() -> None:
    split = held_out(synthetic(200, seed=5), synthetic(100, seed=6, offset=1000))
    routers = train_recipes(
        split.train, [Recipe(embedder="hashing"), Recipe(embedder="hashing", estimator="knn")]
    )
    report = report_routers(split.test, routers, n_train=len(split.train))
    assert report.oracle.quality == 1.0
    for curve in report.routers:
        assert curve.aiq > report.zero_router_aiq
        assert curve.above_zero_router == 1.0
        assert curve.cost_share_at_95 is not None
        assert curve.cost_share_at_95 < 0.7
        assert curve.calibrated.quality >= 0.95


def test_training_without_costs_needs_them_given() -> None:
    data = synthetic(60, seed=7)
    no_cost = EvalDataset(
        "nc",
        [
            it.model_copy(
                update={
                    "outcomes": {
                        m: o.model_copy(update={"cost_usd": None}) for m, o in it.outcomes.items()
                    }
                }
            )
            for it in data
        ],
    )
    with pytest.raises(ConfigError, match="records no cost"):
        train_router(no_cost, embedder=HashingEmbedder())
    router = train_router(no_cost, embedder=HashingEmbedder(), costs={"big": 0.01, "small": 0.001})
    assert router.route("Say a warm hello to Eli") == "small"


def test_static_embedder_is_offline_small_and_semantic() -> None:
    emb = StaticEmbedder()
    v = emb.embed(
        [
            "How do I reverse a linked list in Python?",
            "Write a function that reverses a list",
            "What is the capital of France?",
            "",
        ]
    )
    assert v.shape == (4, 256)
    assert v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1
    assert not v[3].any(), "an empty prompt embeds to zeros, not NaN"
    assert emb.id == "minilm-l6-static-256-v2"


def test_a_read_only_cache_keeps_the_static_table_in_memory_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import langroute.embed.static as static

    def small_table(dims: int, version: str) -> np.ndarray:
        return np.random.default_rng(0).normal(size=(30522, dims)).astype(np.float32)

    monkeypatch.setattr(static, "distill", small_table)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    emb = StaticEmbedder(8, path=blocker / "table.npz")
    with caplog.at_level("WARNING", logger="langroute.embed.static"):
        v = emb.embed(["What is the capital of France?"])
    assert v.shape == (1, 8)
    assert "kept in memory" in caplog.text
    assert "LANGROUTE_CACHE_DIR" in caplog.text
    assert list(tmp_path.iterdir()) == [blocker], "no temporary file is left behind"


def test_artifacts_of_the_first_static_recipe_still_name_their_embedder() -> None:
    from langroute.learned.router import embedder_for

    old = embedder_for("minilm-l6-static-128-v1")
    assert isinstance(old, StaticEmbedder)
    assert (old.dims, old.version, old.id) == (128, "v1", "minilm-l6-static-128-v1")
    with pytest.raises(ConfigError, match="version must be one of"):
        StaticEmbedder(version="v9")


def test_callable_embedder_plugs_in_any_function() -> None:
    emb = CallableEmbedder(lambda texts: [[len(t), 1.0] for t in texts], id="len-v1")
    assert emb.embed(["ab", "abcd"]).shape == (2, 2)
    with pytest.raises(TypeError):
        CallableEmbedder("not callable", id="x")


def test_cli_train_then_eval_on_your_own_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_jsonl(synthetic(160, seed=8), tmp_path / "train.jsonl")
    write_jsonl(synthetic(80, seed=9, offset=5000), tmp_path / "test.jsonl")
    artifact = tmp_path / "router.npz"
    assert (
        main(
            [
                "train",
                str(tmp_path / "train.jsonl"),
                "--out",
                str(artifact),
                "--embedder",
                "hashing",
                "--quiet",
            ]
        )
        == 0
    )
    assert "artifact written" in capsys.readouterr().out
    report = tmp_path / "report.json"
    assert (
        main(
            [
                "eval",
                "--router",
                str(artifact),
                "--test",
                str(tmp_path / "test.jsonl"),
                "--json",
                str(report),
                "--per-prompt",
                str(tmp_path / "choices.jsonl"),
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "zero router" in out
    assert "oracle" in out
    data = json.loads(report.read_text())
    assert data["routers"][0]["aiq"] > data["zero_router_aiq"]
    choices = [json.loads(line) for line in (tmp_path / "choices.jsonl").read_text().splitlines()]
    assert len(choices) == 80
    assert {c["chosen"] for c in choices} == {"big", "small"}
    assert all(c["score"] == 1.0 for c in choices if c["chosen"] == "big")
    assert (
        main(
            ["eval", "--router", str(artifact), "--test", str(tmp_path / "train.jsonl"), "--quiet"]
        )
        == 2
    )
    assert "training data" in capsys.readouterr().err
    assert (
        main(
            [
                "eval",
                "--train",
                str(tmp_path / "train.jsonl"),
                "--folds",
                "4",
                "--recipe",
                "hashing+knn+tradeoff",
                "--plot",
                str(tmp_path / "p.png"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "p.png").stat().st_size > 10_000
    assert (
        main(
            [
                "eval",
                "--train",
                str(tmp_path / "train.jsonl"),
                "--recipe",
                "x+y",
                "--folds",
                "2",
                "--quiet",
            ]
        )
        == 2
    )
    assert "embedder+estimator+rule" in capsys.readouterr().err


def test_learned_policy_routes_live_calls_through_the_router(tmp_path: Path, server: Any) -> None:
    from langroute import LearnedPolicy, Router, RouterConfig
    from langroute.testing import Reply
    from tests.conftest import make_router, spec

    server.add("cheap-model", Reply("hello!"))

    artifact = train_router(synthetic(200, seed=11), embedder=HashingEmbedder()).save(
        tmp_path / "r.npz"
    )
    aliases = {"big": "strong-model", "small": "cheap-model"}
    policy = LearnedPolicy.load(artifact, aliases=aliases)
    router = make_router(
        server,
        [
            spec("strong-model", price=(10, 30)),
            spec("cheap-model", price=(0.1, 0.4)),
            spec("other-model", price=(0.05, 0.1)),
        ],
        policy=policy,
    )
    hard = router.route("Prove the theorem result number 77 rigorously")
    assert hard.plan.models == ["strong-model", "cheap-model", "other-model"]
    assert hard.plan.policy == "learned"
    assert "predicted quality" in hard.plan.chosen.reasons[0]
    assert "training data" in hard.plan.candidates[-1].reasons[0]
    easy = router.route("Say a warm hello to Dara, greeting number 77")
    assert easy.plan.chosen.model == "cheap-model"
    completion = router.chat("Say a warm hello to Dara, greeting number 77")
    assert completion.decision.answered_by == "cheap-model"
    assert server.count("cheap-model") == 1
    with pytest.raises(ConfigError, match="does not know"):
        LearnedPolicy.load(artifact, aliases={"huge": "x"})
    # The same from a config file, with the artifact path relative to it.
    (tmp_path / "router.toml").write_text(
        'models = ["gpt-4.1", "gpt-4.1-mini"]\n'
        '[policy]\ntype = "learned"\nartifact = "r.npz"\n'
        'aliases = { big = "gpt-4.1", small = "gpt-4.1-mini" }\n',
        encoding="utf-8",
    )
    configured = RouterConfig.from_file(tmp_path / "router.toml").build()
    assert isinstance(configured, Router)
    decision = configured.route("Prove the matrix result number 5 rigorously")
    assert decision.plan.chosen.model == "gpt-4.1"


def test_operating_point_calibrated_to_a_share_of_strong_calls() -> None:
    train = synthetic(200, seed=12)
    capped = train_router(train, embedder=HashingEmbedder(), target_share=0.2)
    oof = capped.info.metrics["out_of_fold"]
    assert oof["shares"]["big"] <= 0.2 + 1e-9
    assert capped.info.metrics["target_share"] == 0.2
    generous = train_router(train, embedder=HashingEmbedder(), target_share=0.6)
    assert generous.info.metrics["out_of_fold"]["quality"] >= oof["quality"]
    with pytest.raises(ConfigError, match="exactly one"):
        train_router(train, embedder=HashingEmbedder(), target_quality=None)


def test_cascade_replay_learns_when_to_trust_the_cheap_answer() -> None:
    from langroute.eval.cascade import CascadeReplay, answer_key

    replayed = CascadeReplay(
        ["small", "big"],
        recorded_answers(300, 1, 0),
        recorded_answers(150, 2, 1000),
        embedder=HashingEmbedder(),
        folds=3,
    )
    tau = replayed.calibrate(0.95)
    run = replayed.run(tau)
    always_big = 150 * 0.02
    assert run.quality >= 0.95
    assert run.cost_usd < 0.6 * always_big, "the cheap model's good answers are kept"
    assert replayed.run(1.01).cost_usd == pytest.approx(150 * 0.021), "escalating pays both"
    assert answer_key("['D\\n']") == "d"
    assert answer_key("") == ""


def recorded_answers(n: int, seed: int, offset: int) -> EvalDataset:
    """The small model either answers 'B' (right) or hedges (wrong); the big one is right."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        right = rng.random() < 0.6
        items.append(
            EvalItem(
                id=str(offset + i),
                prompt=f"Question {offset + i}: pick one",
                outcomes={
                    "small": Outcome(
                        score=1.0 if right else 0.0,
                        cost_usd=0.001,
                        response="B" if right else "I don't know, maybe A",
                    ),
                    "big": Outcome(score=1.0, cost_usd=0.02, response="B"),
                },
            )
        )
    return EvalDataset("qa", items)


async def test_a_learned_scorer_drives_a_live_cascade(tmp_path: Path, aserver: Any) -> None:
    from langroute import Cascade
    from langroute.scorers import LearnedScorer
    from langroute.testing import Reply
    from tests.conftest import make_router, spec

    scorer = LearnedScorer.fit(recorded_answers(200, 1, 0), embedder=HashingEmbedder())
    loaded = LearnedScorer.load(scorer.save(tmp_path / "scorer.npz"), aliases={"cheap": "small"})
    assert loaded.probability("cheap", "Question 9: pick one", "B") == pytest.approx(
        scorer.probability("small", "Question 9: pick one", "B"), abs=1e-4
    )
    router = make_router(
        aserver,
        [spec("cheap", price=(0.1, 0.4)), spec("mid", price=(1, 4))],
        strategy=Cascade(scorer=loaded, threshold=0.5),
    )
    aserver.add("cheap", Reply("I don't know, maybe A"))
    aserver.add("mid", Reply("B"))
    escalated = await router.achat("Question 5000: pick one")
    assert escalated.model == "mid"
    assert "learned P(correct)" in escalated.decision.escalations[0].reason
    aserver.add("cheap", Reply("B"))
    kept = await router.achat("Question 5001: pick one")
    assert kept.model == "cheap"
    assert (
        "no head for 'mid'"
        in (await loaded.score(RoutingRequest_build("q"), Answer_of("mid", "B"))).reason
    )
    await router.aclose()


def RoutingRequest_build(text: str):
    from langroute.features import RoutingRequest

    return RoutingRequest.build(text)


def Answer_of(model: str, content: str):
    from langroute.scorers import Answer

    return Answer(content=content, model=model)


def test_cascade_thresholds_calibrated_on_recorded_answers() -> None:
    from langroute.eval.cascade import calibrate_threshold
    from langroute.scorers import Heuristics

    data = recorded_answers(200, 3, 0)
    tau, result = calibrate_threshold(Heuristics(), ["small", "big"], data, target_quality=0.95)
    assert result.quality >= 0.95
    assert result.cost_usd < 200 * 0.02, "the hedges escalate, the rest stay cheap"
    assert 0.3 < tau <= 1.0
    _, within = calibrate_threshold(Heuristics(), ["small", "big"], data, budget_usd=0.5)
    assert within.cost_usd <= 0.5
    with pytest.raises(ConfigError, match="not both"):
        calibrate_threshold(
            Heuristics(), ["small", "big"], data, target_quality=0.9, budget_usd=1.0
        )


def agreeing_answers(n: int, seed: int, offset: int) -> EvalDataset:
    """Multiple choice: 'big' is always right, 'mid' 80 % and 'small' 60 % of the time; a
    wrong answer is another option, so only agreement between answers tells them apart."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        right = rng.choice("ABCD")

        def answer(p: float, right: str = right) -> tuple[float, str]:
            if rng.random() < p:
                return 1.0, right
            return 0.0, rng.choice([o for o in "ABCD" if o != right])

        small, mid = answer(0.6), answer(0.8)
        items.append(
            EvalItem(
                id=str(offset + i),
                prompt=f"Question {offset + i}: pick one of A, B, C or D",
                outcomes={
                    "small": Outcome(score=small[0], cost_usd=0.001, response=small[1]),
                    "mid": Outcome(score=mid[0], cost_usd=0.004, response=mid[1]),
                    "big": Outcome(score=1.0, cost_usd=0.02, response=right),
                },
            )
        )
    return EvalDataset("agree", items)


async def test_a_chain_scorer_scores_live_exactly_as_the_replay_does(tmp_path: Path) -> None:
    from langroute.features import RoutingRequest
    from langroute.scorers import Answer, ChainScorer

    chain = ["small", "mid", "big"]
    train, test = agreeing_answers(300, 3, 0), agreeing_answers(60, 4, 1000)
    scorer = ChainScorer.fit(train, chain, embedder=HashingEmbedder(), folds=3)
    replayed = scorer.replay(test)
    loaded = ChainScorer.load(
        scorer.save(tmp_path / "chain.npz"), aliases={"cheap": "small", "medium": "mid"}
    )
    agree, differ = [], []
    for i, item in enumerate(test):
        small, mid = (item.outcomes[m].response or "" for m in ("small", "mid"))
        request = RoutingRequest.build(item.prompt)
        first = await loaded.score(request, Answer(content=small, model="cheap"))
        second = await loaded.score(
            request,
            Answer(content=mid, model="medium", earlier=[Answer(content=small, model="cheap")]),
        )
        assert first.value == pytest.approx(replayed[0][i], abs=1e-6)
        assert second.value == pytest.approx(replayed[1][i], abs=1e-6)
        (agree if small == mid else differ).append(second.value)
        assert ("agrees with 1 of 1 earlier" in second.reason) == (small == mid)
    assert agree and differ
    assert min(agree) > max(differ), "two models picking the same option are trusted more"

    request = RoutingRequest.build("Question 1: pick one of A, B, C or D")
    skipped = await loaded.score(request, Answer(content="B", model="medium"))
    assert skipped.value == 0.5 and "trained on ['small']" in skipped.reason
    stranger = await loaded.score(request, Answer(content="B", model="other"))
    assert stranger.value == 0.5 and "no step for 'other'" in stranger.reason
    with pytest.raises(ConfigError, match=r"does not know: \[.gpt-4.\]"):
        ChainScorer.load(tmp_path / "chain.npz", aliases={"x": "gpt-4"})
    with pytest.raises(ConfigError, match="not in the dataset"):
        ChainScorer.fit(train, ["small", "gpt-4"], embedder=HashingEmbedder())


async def test_a_chain_scorer_drives_a_live_cascade(aserver: Any, tmp_path: Path) -> None:
    from langroute import Cascade, RouterConfig
    from langroute.scorers import ChainScorer
    from langroute.testing import Reply
    from tests.conftest import make_router, spec

    scorer = ChainScorer.fit(
        agreeing_answers(300, 3, 0), ["small", "mid", "big"], embedder=HashingEmbedder(), folds=3
    )
    scorer.aliases = {"cheap": "small", "medium": "mid", "top": "big"}
    router = make_router(
        aserver,
        [spec("cheap", price=(0.1, 0.4)), spec("medium", price=(1, 4)), spec("top", price=(9, 30))],
        strategy=Cascade(scorer=scorer, threshold=0.75),
    )
    aserver.add("cheap", Reply("C"))
    aserver.add("medium", Reply("C"))
    aserver.add("top", Reply("D"))
    answer = await router.achat("Question 7001: pick one of A, B, C or D")
    cheap, medium = answer.decision.escalations
    assert not cheap.accepted, "alone, a 60 % model is not trusted at 0.75"
    assert medium.accepted and "agrees with 1 of 1 earlier" in medium.reason
    assert answer.model == "medium" and aserver.count("top") == 0
    await router.aclose()

    # the trained chain's order wins over price: each answer is scored at its own step
    reordered = make_router(
        aserver,
        [
            spec("cheap", price=(2, 8)),
            spec("medium", price=(0.1, 0.4)),
            spec("top", price=(9, 30)),
            spec("extra", price=(0.05, 0.1)),
        ],
        strategy=Cascade(scorer=scorer, threshold=0.75, max_models=4),
    )
    aserver.add("extra", Reply("C"))
    answer = await reordered.achat("Question 7002: pick one of A, B, C or D")
    assert [a.model for a in answer.decision.attempts] == ["cheap", "medium"]
    assert Cascade(scorer=scorer).chain(answer.decision.plan) == ["cheap", "medium", "top"]
    assert scorer.chain_order(["extra", "top", "medium", "cheap"]) == [
        "cheap",
        "medium",
        "top",
        "extra",
    ]
    await reordered.aclose()

    configured = RouterConfig.from_data(
        {
            "models": ["gpt-4.1-nano", "gpt-4.1"],
            "strategy": {
                "type": "cascade",
                "scorer": "chain",
                "scorer_artifact": str(scorer.save(tmp_path / "chain.npz")),
                "scorer_aliases": {"gpt-4.1-nano": "small", "gpt-4.1": "big"},
            },
        }
    ).build()
    built = configured.strategy.scorer
    assert isinstance(built, ChainScorer) and built.aliases["gpt-4.1"] == "big"
    with pytest.raises(ConfigError, match=r"needs strategy\.scorer_artifact"):
        RouterConfig.from_data(
            {"models": ["gpt-4.1"], "strategy": {"type": "cascade", "scorer": "chain"}}
        ).build()


def test_cli_trains_a_chain_scorer_and_says_which_threshold_to_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from langroute import RouterConfig
    from langroute.scorers import ChainScorer, LearnedScorer

    answers = agreeing_answers(300, 3, 0)
    first = write_jsonl(answers.items[:120], tmp_path / "answers-1.jsonl")
    data = write_jsonl(answers.items[120:], tmp_path / "answers-2.jsonl")
    out = tmp_path / "chain.npz"
    files = [str(first), str(data)]  # several files train as one dataset
    args = ["train-scorer", *files, "--out", str(out), "--embedder", "hashing"]
    assert main([*args, "--chain", "small,mid,big"]) == 0
    printed = capsys.readouterr().out
    assert "trained ChainScorer for small → mid → big on 300 prompts" in printed
    tau = float(printed.split("threshold ")[1].split(":")[0])
    assert 0 < tau <= 1
    assert "of big's quality at" in printed and "(out of fold)" in printed
    assert isinstance(ChainScorer.load(out), ChainScorer)
    table = printed.split("differ):\n")[1]  # the printed [strategy] table, as it is
    toml = "models = ['gpt-4.1-nano', 'gpt-4.1']\n" + table
    toml += "scorer_aliases = {'gpt-4.1-nano' = 'small', 'gpt-4.1' = 'big'}\n"
    (tmp_path / "router.toml").write_text(toml)
    strategy = RouterConfig.from_file(tmp_path / "router.toml").build().strategy
    assert isinstance(strategy.scorer, ChainScorer) and strategy.threshold == tau

    assert main([*args]) == 0, "no chain: a LearnedScorer for every model"
    assert "trained LearnedScorer for 3 models" in capsys.readouterr().out
    assert isinstance(LearnedScorer.load(out), LearnedScorer)

    assert main([*args, "--chain", "small,gpt-4"]) == 2
    assert "['gpt-4'] are not in" in capsys.readouterr().err
    silent = write_jsonl(synthetic(40, seed=1), tmp_path / "scores-only.jsonl")
    assert main(["train-scorer", str(silent), "--out", str(out), "--chain", "small,big"]) == 2
    assert "records no answer (`response`) for ['small']" in capsys.readouterr().err
