"""Cascades over real HTTP: escalation on each warning sign, exact costs, streaming that
never shows an answer it later takes back."""

from __future__ import annotations

import time

import pytest

from langroute import Cascade, FallbackChain, RouterConfig
from langroute.features import RoutingRequest
from langroute.scorers import Answer, CallableScorer, Heuristics, LogprobConfidence, Lowest, Score
from langroute.strategies import Ensemble
from langroute.testing import Fail, Reply, ScriptedServer
from langroute.types import TokenLogprob, ToolCall
from tests.conftest import make_router, providers_for, spec

STRUCTURED = {"capabilities": {"structured_output": True}}
CHAIN = [
    spec("cheap", price=(0.1, 0.4), **STRUCTURED),
    spec("mid", price=(1.0, 4.0), **STRUCTURED),
    spec("premium", price=(10.0, 30.0), **STRUCTURED),
]


def cascade_router(server: ScriptedServer, **kwargs: object):
    return make_router(server, CHAIN, strategy=Cascade(**kwargs))


@pytest.mark.parametrize(
    ("cheap_answer", "params", "sign"),
    [
        (Reply(""), {}, "empty answer"),
        (Reply("I'm sorry, but I can't help with that request."), {}, "refusal"),
        (Reply("I'm not sure — maybe 42?"), {}, "hedge"),
        (Reply("The first step is to", finish_reason="length"), {}, "truncated"),
        (
            Reply("here you go: {name: Ada"),
            {"response_format": {"type": "json_object"}},
            "invalid JSON",
        ),
        (
            Reply('{"name": "Ada"}'),
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "person",
                        "schema": {"type": "object", "required": ["name", "age"]},
                    },
                }
            },
            "invalid JSON",
        ),
    ],
)
async def test_each_warning_sign_escalates_to_the_next_model(
    aserver: ScriptedServer, cheap_answer: Reply, params: dict, sign: str
) -> None:
    aserver.add("cheap", cheap_answer)
    aserver.add("mid", Reply('{"name": "Ada", "age": 36}'))
    aserver.add("premium", Reply("premium"))
    router = cascade_router(aserver)
    completion = await router.achat("Who wrote the first program?", **params)
    decision = completion.decision
    assert completion.model == "mid"
    assert [e.accepted for e in decision.escalations] == [False, True]
    assert sign in decision.escalations[0].reason
    assert aserver.count("premium") == 0
    assert "cascade cheap: score" in decision.explain()
    await router.aclose()


async def test_a_good_cheap_answer_is_kept_and_costs_add_up_exactly(
    aserver: ScriptedServer,
) -> None:
    aserver.add("cheap", Reply("Ada Lovelace."))
    aserver.add("mid", Reply("mid"))
    router = cascade_router(aserver)
    kept = await router.achat("Who wrote the first program?")
    assert kept.model == "cheap"
    assert aserver.count("mid") == 0
    assert kept.cost_usd == pytest.approx(
        CHAIN[0].pricing.cost(kept.usage.prompt_tokens, kept.usage.completion_tokens)
    )
    aserver.models["cheap"].then(Reply("I don't know."))
    escalated = await router.achat("Who wrote the first program?")
    attempts = escalated.decision.attempts
    assert [a.model for a in attempts] == ["cheap", "mid"]
    for attempt, model in zip(attempts, CHAIN, strict=False):
        assert attempt.cost_usd == pytest.approx(
            model.pricing.cost(attempt.usage.prompt_tokens, attempt.usage.completion_tokens)
        )
    assert escalated.cost_usd == pytest.approx(sum(a.cost_usd for a in attempts))
    assert escalated.cost_usd == escalated.decision.actual_cost_usd
    summary = escalated.decision.summary()
    assert [e["accepted"] for e in summary["escalations"]] == [False, True]
    await router.aclose()


async def test_errors_fall_through_and_the_last_answer_is_always_kept(
    aserver: ScriptedServer,
) -> None:
    aserver.add("cheap", Fail(503))
    aserver.add("mid", Reply(""))
    aserver.add("premium", Reply(""))
    router = cascade_router(aserver, max_models=None)
    completion = await router.achat("hello")
    assert completion.model == "premium"
    assert [(e.model, e.accepted) for e in completion.decision.escalations] == [
        ("mid", False),
        ("premium", True),
    ]
    assert completion.decision.attempts[0].outcome == "error"
    await router.aclose()


@pytest.mark.parametrize("streamed", [False, True])
async def test_when_every_later_model_fails_the_best_escalated_answer_is_kept(
    aserver: ScriptedServer, streamed: bool
) -> None:
    """The premium model is down: the hedge (0.3) beats the refusal (0.1) and is kept, its
    record says why, costs still add up, and it is not cached: once the premium model is
    back, it answers."""
    from langroute import ResponseCache

    hedge = "I'm not sure, but I think it is 42."
    aserver.add("cheap", Reply(hedge))
    aserver.add("mid", Reply("I'm sorry, but I can't help with that request."))
    aserver.add("premium", Fail(503))
    router = make_router(aserver, CHAIN, strategy=Cascade(max_models=None), cache=ResponseCache())
    question = "What is six times seven?"
    if streamed:
        chunks = [c async for c in router.astream(question, temperature=0)]
        content = "".join(c.content for c in chunks)
        decision, cost = chunks[-1].decision, chunks[-1].cost_usd
    else:
        completion = await router.achat(question, temperature=0)
        content, decision, cost = completion.content, completion.decision, completion.cost_usd
    assert content == hedge  # shown once, whole
    assert decision is not None and decision.answered_by == "cheap"
    assert [(e.model, e.accepted) for e in decision.escalations] == [
        ("cheap", False),
        ("mid", False),
        ("cheap", True),
    ]
    kept = decision.escalations[-1]
    assert kept.score == 0.3 and "every later model failed (ServerError)" in kept.reason
    assert decision.kept_below_threshold and decision.summary()["kept_below_threshold"]
    assert [a.model for a in decision.attempts][-1] == "premium"
    assert cost == pytest.approx(sum(a.cost_usd for a in decision.attempts))
    aserver.models["premium"].default = Reply("42")
    again = await router.achat(question, temperature=0)
    assert again.model == "premium" and again.decision.cache is None
    assert (await router.achat(question, temperature=0)).decision.cache == "exact"
    await router.aclose()


@pytest.mark.parametrize(
    ("cheap", "mid", "cascade"),
    [
        (Reply("I'm not sure."), Fail(503), Cascade(max_models=2, keep_best=False)),
        (Reply(""), Fail(503), Cascade(max_models=2)),  # scored 0: certainly bad
        (Reply("I'm not sure."), Fail(401), Cascade(max_models=2)),  # not a fallback error
    ],
    ids=["keep_best off", "empty answer", "auth error"],
)
async def test_no_escalated_answer_is_kept_when_it_should_not_be(
    aserver: ScriptedServer, cheap: Reply, mid: Fail, cascade: Cascade
) -> None:
    from langroute import AllModelsFailed

    aserver.add("cheap", cheap)
    aserver.add("mid", mid)
    router = make_router(aserver, CHAIN, strategy=cascade)
    with pytest.raises(AllModelsFailed):
        await router.achat("What is six times seven?")
    with pytest.raises(AllModelsFailed):
        async for _ in router.astream("What is six times seven?"):
            pass
    await router.aclose()


async def test_streaming_never_shows_an_escalated_answer(aserver: ScriptedServer) -> None:
    aserver.add("cheap", Reply("I cannot help with that, sorry.", tokens_per_s=2000))
    aserver.add("mid", Reply("Here is a full and careful answer.", tokens_per_s=2000))
    router = cascade_router(aserver)
    chunks = [c async for c in router.astream("Explain recursion")]
    text = "".join(c.content for c in chunks)
    assert text == "Here is a full and careful answer."
    assert "cannot" not in text
    assert len([c for c in chunks if c.content]) > 1, "the last model streams live"
    last = chunks[-1]
    assert last.decision.answered_by == "mid"
    assert last.cost_usd == pytest.approx(last.decision.actual_cost_usd)
    assert [e.accepted for e in last.decision.escalations] == [False, True]
    await router.aclose()


async def test_streaming_releases_an_accepted_cheap_answer_once(aserver: ScriptedServer) -> None:
    aserver.add("cheap", Reply("Recursion is a function calling itself.", tokens_per_s=2000))
    aserver.add("mid", Reply("mid"))
    router = cascade_router(aserver)
    chunks = [c async for c in router.astream("Explain recursion")]
    assert "".join(c.content for c in chunks) == "Recursion is a function calling itself."
    assert aserver.count("mid") == 0
    assert chunks[-1].decision.escalations[0].accepted
    await router.aclose()


async def test_scorers_compose_and_read_logprobs() -> None:
    request = RoutingRequest.build("q")
    confident = Answer(content="x", logprobs=[TokenLogprob(token="x", logprob=-0.01)])
    unsure = Answer(content="x", logprobs=[TokenLogprob(token="x", logprob=-2.0)])
    scorer = LogprobConfidence()
    assert (await scorer.score(request, confident)).value > 0.98
    assert (await scorer.score(request, unsure)).value < 0.2
    assert (await scorer.score(request, Answer(content="x"))).value == 1.0
    both = Lowest(Heuristics(), CallableScorer(lambda req, ans: 0.4 if "x" in ans.content else 1))
    assert (await both.score(request, confident)).value == 0.4
    bad_args = Answer(
        tool_calls=[
            ToolCall.model_validate(
                {"id": "1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
            )
        ]
    )
    verdict = await Heuristics().score(request, bad_args)
    assert (verdict.value, verdict.reason) == (0.0, "invalid tool arguments")
    custom = CallableScorer(lambda req, ans: Score(0.7, "mine"))
    assert (await custom.score(request, confident)).reason == "mine"


def test_cascade_from_a_config_file() -> None:
    config = RouterConfig.from_data(
        {"models": ["gpt-4.1-nano", "gpt-4.1"], "strategy": {"type": "cascade", "threshold": 0.6}}
    )
    router = config.build()
    assert isinstance(router.strategy, Cascade)
    assert router.strategy.threshold == 0.6
    assert router.strategy.keep_best
    strict = {"type": "cascade", "keep_best": False}
    config = RouterConfig.from_data({"models": ["gpt-4.1-nano", "gpt-4.1"], "strategy": strict})
    assert config.build().strategy.keep_best is False


async def test_lookahead_aborts_a_bad_start_before_anything_is_released(
    aserver: ScriptedServer,
) -> None:
    hedge = "I'm not sure about this one, but " + "word " * 200
    aserver.add("cheap", Reply(hedge, tokens_per_s=400))
    aserver.add("mid", Reply("A clear answer.", tokens_per_s=2000))
    router = cascade_router(aserver, lookahead_tokens=8)
    started = time.perf_counter()
    chunks = [c async for c in router.astream("Explain monads")]
    assert time.perf_counter() - started < 0.5, "the cheap stream was cut, not read to the end"
    assert "".join(c.content for c in chunks) == "A clear answer."
    decision = chunks[-1].decision
    cheap = decision.attempts[0]
    assert (cheap.model, cheap.outcome) == ("cheap", "aborted")
    assert 0 < cheap.usage.completion_tokens < 50
    assert cheap.cost_usd > 0
    assert chunks[-1].cost_usd == pytest.approx(decision.actual_cost_usd)
    assert "look-ahead window" in decision.escalations[0].reason
    assert not decision.escalations[0].accepted
    await router.aclose()


async def test_after_release_there_is_no_escalation(aserver: ScriptedServer) -> None:
    answer = "Sure, here is the plan. " + "step " * 20 + "Honestly, I'm not sure it works."
    aserver.add("cheap", Reply(answer, tokens_per_s=4000))
    aserver.add("mid", Reply("mid"))
    router = cascade_router(aserver, lookahead_tokens=4)
    chunks = [c async for c in router.astream("Plan my week")]
    assert "".join(c.content for c in chunks) == answer, "committed once released"
    assert aserver.count("mid") == 0
    assert [e.accepted for e in chunks[-1].decision.escalations] == [True]
    await router.aclose()


async def test_a_drop_after_release_is_a_stream_interruption(aserver: ScriptedServer) -> None:
    from langroute import StreamInterrupted
    from langroute.testing import DropStream

    aserver.add("cheap", DropStream(after_chunks=6, reply=Reply("Good start " * 20)))
    aserver.add("mid", Reply("mid"))
    router = cascade_router(aserver, lookahead_tokens=3)
    shown = []
    with pytest.raises(StreamInterrupted):
        async for chunk in router.astream("Tell me a story"):
            shown.append(chunk.content)
    assert "".join(shown).startswith("Good start")
    assert aserver.count("mid") == 0
    # Without a window nothing was released, so the same drop escalates instead.
    aserver.models["cheap"].then(DropStream(after_chunks=6, reply=Reply("Good start " * 20)))
    whole = cascade_router(aserver)
    chunks = [c async for c in whole.astream("Tell me a story")]
    assert "".join(c.content for c in chunks) == "mid"
    await router.aclose()
    await whole.aclose()


# --- ensembles ----------------------------------------------------------------------------


def ensemble_router(server: ScriptedServer, **kwargs: object):
    from langroute import Ensemble

    return make_router(server, CHAIN, strategy=Ensemble(**kwargs))


async def test_an_ensemble_none_of_whose_members_answers_in_time_says_so(
    aserver: ScriptedServer,
) -> None:
    """Every member still running at the deadline: a typed `AllModelsFailed` with one
    `Timeout` per member (it used to be a `ValueError` from an empty exception group)."""
    from langroute import AllModelsFailed, Timeout
    from langroute.testing import Hang

    for name in ("cheap", "mid", "premium"):
        aserver.add(name, Hang(5.0))
    router = ensemble_router(aserver, deadline_s=0.5)
    with pytest.raises(AllModelsFailed, match="no member answered before the deadline") as info:
        await router.achat("What is six times seven?")
    errors = info.value.exceptions
    assert sorted(e.model for e in errors) == ["cheap", "mid", "premium"]
    assert all(isinstance(e, Timeout) for e in errors)
    assert {a.outcome for a in info.value.decision.attempts} == {"aborted"}
    await router.aclose()


async def test_ensemble_with_a_slow_and_a_failing_member(aserver: ScriptedServer) -> None:
    from langroute.testing import Hang

    aserver.add("cheap", Fail(500))
    aserver.add("mid", Reply("The answer is 42."))
    aserver.add("premium", Hang(5.0))
    router = ensemble_router(aserver, deadline_s=0.5)
    started = time.perf_counter()
    completion = await router.achat("What is six times seven?")
    assert time.perf_counter() - started < 2.0, "the deadline returned the answers in hand"
    assert completion.model == "mid"
    decision = completion.decision
    outcomes = {(a.model, a.outcome) for a in decision.attempts}
    assert ("cheap", "error") in outcomes
    assert ("mid", "ok") in outcomes
    assert ("premium", "aborted") in outcomes
    assert completion.cost_usd == pytest.approx(sum(a.cost_usd for a in decision.attempts))
    assert decision.answered_by == "mid"
    assert [(e.model, e.accepted) for e in decision.escalations] == [("mid", True)]
    await router.aclose()


async def test_ensemble_selectors_vote_or_score(aserver: ScriptedServer) -> None:
    from langroute.strategies import MajorityVote

    aserver.add("cheap", Reply("42"))
    aserver.add("mid", Reply("41"))
    aserver.add("premium", Reply("42."))
    voted = await ensemble_router(aserver, selector=MajorityVote()).achat("6 * 7?")
    assert voted.content == "42"
    assert voted.cost_usd == pytest.approx(voted.decision.actual_cost_usd)
    assert len([a for a in voted.decision.attempts if a.outcome == "ok"]) == 3
    aserver.add("cheap", Reply("I'm not sure."))
    aserver.add("mid", Reply("It is 42."))
    scored = ensemble_router(aserver)
    best = await scored.achat("6 * 7?")
    assert best.content == "It is 42."
    chunks = [c async for c in scored.astream("6 * 7?")]
    assert "".join(c.content for c in chunks) == "It is 42."
    assert chunks[-1].decision.answered_by == "mid"
    aserver.add("cheap", Fail(400))
    aserver.add("mid", Fail(400))
    aserver.add("premium", Fail(400))
    from langroute import AllModelsFailed

    with pytest.raises(AllModelsFailed, match="every member failed"):
        await scored.achat("6 * 7?")
    await scored.aclose()


def test_ensemble_and_lookahead_from_config() -> None:
    from langroute import Ensemble

    ens = RouterConfig.from_data(
        {
            "models": ["gpt-4.1-nano", "gpt-4.1"],
            "strategy": {"type": "ensemble", "size": 2, "deadline_s": 3},
        }
    ).build()
    assert isinstance(ens.strategy, Ensemble)
    assert (ens.strategy.size, ens.strategy.deadline_s) == (2, 3)
    cas = RouterConfig.from_data(
        {
            "models": ["gpt-4.1-nano", "gpt-4.1"],
            "strategy": {"type": "cascade", "lookahead_tokens": 16},
        }
    ).build()
    assert cas.strategy.lookahead_tokens == 16


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Paris.\nConfidence: 0.9", 0.9),
        ("Paris.\nconfidence = 85%", 0.85),
        ("It is 42. Confidence: 7/10", 0.7),
        ("Maybe. Confidence level: low", 0.3),
        ("Confidence: 0.2 at first, but on reflection Confidence: 0.95", 0.95),
        ("No idea.", None),
    ],
)
def test_self_reported_confidence_is_parsed_leniently(text: str, value: float | None) -> None:
    from langroute.scorers.confidence import parse_confidence

    assert parse_confidence(text) == (pytest.approx(value) if value is not None else None)


async def test_a_low_self_reported_confidence_escalates(aserver: ScriptedServer) -> None:
    from langroute.scorers import CONFIDENCE_INSTRUCTION, SelfReportedConfidence

    aserver.add("cheap", Reply("Probably 41.\nConfidence: 0.3"))
    aserver.add("mid", Reply("42.\nConfidence: 0.95"))
    router = cascade_router(aserver, scorer=SelfReportedConfidence(), threshold=0.7)
    completion = await router.achat(
        [
            {"role": "system", "content": CONFIDENCE_INSTRUCTION},
            {"role": "user", "content": "6 * 7?"},
        ]
    )
    assert completion.model == "mid"
    assert completion.decision.escalations[0].reason == "self-reported confidence 0.30"
    await router.aclose()


def test_confidence_based_escalation_from_config() -> None:
    from langroute.errors import ConfigError
    from langroute.scorers import LogprobConfidence, SelfReportedConfidence

    def build(strategy: dict):
        return RouterConfig.from_data(
            {"models": ["gpt-4.1-nano", "gpt-4.1"], "strategy": strategy}
        ).build()

    assert isinstance(
        build({"type": "cascade", "scorer": "logprobs"}).strategy.scorer, LogprobConfidence
    )
    assert isinstance(
        build({"type": "cascade", "scorer": "self-reported"}).strategy.scorer,
        SelfReportedConfidence,
    )
    with pytest.raises(ConfigError, match="scorer_artifact"):
        build({"type": "cascade", "scorer": "learned"})
    with pytest.raises(ConfigError, match="scorer"):
        build({"type": "cascade", "scorer": "vibes"})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Cascade(threshold=2), r"Cascade.threshold must be in \[0, 1\]"),
        (lambda: Cascade(lookahead_tokens=0), "Cascade.lookahead_tokens must be at least 1"),
        (lambda: Cascade(lookahead_ms=-5), "Cascade.lookahead_ms must be above 0"),
        (lambda: Cascade(order="cheapest"), "Cascade.order must be 'cost' or 'plan'"),
        (lambda: Ensemble(size=0), "Ensemble.size must be at least 1"),
        (lambda: Ensemble(deadline_s=0), "Ensemble.deadline_s must be above 0"),
        (lambda: FallbackChain(max_models=0), "FallbackChain.max_models must be at least 1"),
        (lambda: FallbackChain(fallback_on="RateLimited"), "fallback_on must be error classes"),
        (lambda: Cascade(fallback_on=(ValueError,)), "fallback_on must be error classes"),
    ],
)
def test_impossible_strategy_settings_are_refused_when_built(build, message):
    """Not when the fallback or escalation they govern would fire, mid-request."""
    from langroute import ConfigError

    with pytest.raises(ConfigError, match=message):
        build()


def test_one_error_class_is_a_fallback_trigger_tuple():
    from langroute.errors import RateLimited

    assert FallbackChain(fallback_on=RateLimited).fallback_on == (RateLimited,)
    assert Cascade(fallback_on=[RateLimited]).fallback_on == (RateLimited,)


def _grader(aserver: ScriptedServer) -> None:
    """A judge model: 0.1 for an answer placing Paris in Germany, 0.9 (fenced) otherwise."""
    aserver.add(
        "grader",
        Reply(
            lambda text: '{"score": 0.1}' if "Germany" in text else '```json\n{"score": 0.9}\n```',
            prompt_tokens=100,
            completion_tokens=5,
        ),
    )


async def test_an_llm_judge_escalates_and_its_calls_are_paid_for(aserver: ScriptedServer) -> None:
    from langroute import Budget, Budgets
    from langroute.scorers import LLMJudge

    aserver.add("cheap", Reply("Paris is in Germany."))
    aserver.add("mid", Reply("Paris is in France."))
    aserver.add("premium", Reply("premium"))
    _grader(aserver)
    budgets = Budgets([Budget(limit_usd=10, per="tenant")])
    grader = make_router(aserver, [spec("grader", price=(0.5, 1.5))], budgets=budgets)
    judge = LLMJudge(grader)
    router = make_router(aserver, CHAIN, strategy=Cascade(scorer=judge), budgets=budgets)
    done = await router.achat("Where is Paris?", tenant="acme")
    decision = done.decision
    assert done.model == "mid"
    assert [e.accepted for e in decision.escalations] == [False, True]
    assert "judge grader: 0.10" in decision.escalations[0].reason
    assert aserver.count("grader") == 2 and aserver.count("premium") == 0
    per_grading = (100 * 0.5 + 5 * 1.5) / 1e6
    assert [e.scoring_cost_usd for e in decision.escalations] == pytest.approx([per_grading] * 2)
    answers = sum(a.cost_usd for a in decision.attempts)
    assert done.cost_usd == pytest.approx(answers + 2 * per_grading)
    assert decision.actual_cost_usd == done.cost_usd
    summary = decision.summary()
    assert summary["escalations"][0]["scoring_cost_usd"] == pytest.approx(per_grading)
    assert judge.events == {"ok": 2}
    # the grading calls are charged to the same tenant's budget as the answers
    await router.drain()
    await grader.drain()
    (state,) = budgets.states(router.request("x", tenant="acme").features, ["cheap"])
    assert state.spent_usd == pytest.approx(done.cost_usd, abs=4e-6)  # µUSD ceilings
    await grader.aclose()
    await router.aclose()


async def test_a_router_judges_gradings_count_against_the_callers_api_key(
    aserver: ScriptedServer,
) -> None:
    from langroute import Budget, Budgets
    from langroute.scorers import LLMJudge

    aserver.add("cheap", Reply("Paris is in Germany."))
    aserver.add("mid", Reply("Paris is in France."))
    _grader(aserver)
    budgets = Budgets([Budget(limit_usd=10, per="api_key")])
    grader = make_router(aserver, [spec("grader", price=(0.5, 1.5))])
    router = make_router(aserver, CHAIN, strategy=Cascade(scorer=LLMJudge(grader)), budgets=budgets)
    done = await router.achat("Where is Paris?", api_key="sk-caller-key")
    assert aserver.count("grader") == 2
    await router.drain()
    await grader.drain()
    (state,) = budgets.states(router.request("x", api_key="sk-caller-key").features, ["cheap"])
    assert state.spent_usd == pytest.approx(done.cost_usd, abs=4e-6)  # µUSD ceilings
    await grader.aclose()
    await router.aclose()


async def test_a_failing_or_rambling_judge_abstains_and_bills_what_it_used(
    aserver: ScriptedServer,
) -> None:
    from langroute.scorers import LLMJudge

    aserver.add("cheap", Reply("Paris is in Germany."))
    aserver.add("mid", Reply("mid"))
    aserver.add(
        "grader", Fail(500), [Reply("Looks fine to me!", prompt_tokens=100, completion_tokens=5)]
    )
    provider = providers_for(aserver)["local"]
    judge = LLMJudge(provider, "grader", spec=spec("grader", price=(0.5, 1.5)), neutral=0.6)
    router = cascade_router(aserver, scorer=judge, threshold=0.5)
    rambled = await router.achat("Where is Paris?")
    (score,) = rambled.decision.escalations[:1]
    assert rambled.model == "cheap" and score.accepted
    assert "abstained (JSONDecodeError)" in score.reason
    assert score.score == 0.6 and score.scoring_cost_usd == pytest.approx(
        (100 * 0.5 + 5 * 1.5) / 1e6
    )
    failed = await router.achat("Where is Paris?")
    (score,) = failed.decision.escalations[:1]
    assert "abstained (ServerError)" in score.reason and score.scoring_cost_usd == 0
    assert judge.events == {"JSONDecodeError": 1, "ServerError": 1}
    await router.aclose()


async def test_a_provider_judge_spends_under_the_routed_routers_budgets(
    aserver: ScriptedServer,
) -> None:
    """Its gradings are reserved before and settled after, on the same caps as the answers;
    a grading the cap cannot hold is not made: the judge abstains, the cap holds."""
    from langroute import Budget, Budgets
    from langroute.scorers import LLMJudge

    aserver.add("cheap", Reply("Paris is in Germany.", prompt_tokens=10, completion_tokens=10))
    aserver.add("mid", Reply("Paris is in France.", prompt_tokens=10, completion_tokens=10))
    _grader(aserver)
    provider = providers_for(aserver)["local"]
    judge = LLMJudge(provider, "grader", spec=spec("grader", price=(0.5, 1.5)))
    budgets = Budgets([Budget(limit_usd=10, per="tenant")])
    router = make_router(aserver, CHAIN, strategy=Cascade(scorer=judge), budgets=budgets)
    assert judge.model.budgets is budgets
    done = await router.achat("Where is Paris?", tenant="acme", max_tokens=50)
    assert done.model == "mid" and aserver.count("grader") == 2
    await router.drain()
    (state,) = budgets.states(router.request("x", tenant="acme").features, ["cheap"])
    assert done.decision.escalations[0].scoring_cost_usd > 0
    assert state.spent_usd == pytest.approx(done.cost_usd, abs=3e-6)  # µUSD ceilings
    assert state.held_usd == 0

    # a cap that holds the cheap answer but not a grading too: no grading is made
    tight = Budgets([Budget(limit_usd=0.00003, per="tenant")])
    pricey = LLMJudge(provider, "grader", spec=spec("grader", price=(50.0, 150.0)))
    capped = make_router(aserver, CHAIN, strategy=Cascade(scorer=pricey), budgets=tight)
    kept = await capped.achat("Where is Paris?", tenant="acme", max_tokens=50)
    assert kept.model == "cheap" and aserver.count("grader") == 2  # no new grading
    assert "abstained (BudgetExceeded)" in kept.decision.escalations[0].reason
    assert pricey.events == {"BudgetExceeded": 1}
    await capped.drain()
    (state,) = tight.states(capped.request("x", tenant="acme").features, ["cheap"])
    assert state.spent_usd <= 0.00003 and state.spent_usd == pytest.approx(kept.cost_usd, abs=3e-6)
    await router.aclose()
    await capped.aclose()


def test_a_router_judge_without_budgets_is_given_the_routed_routers() -> None:
    from langroute import Budget, Budgets, ConfigError, OpenAIProvider, Router
    from langroute.scorers import LLMJudge

    budgets = Budgets([Budget(limit_usd=1)])
    helper = Router(["gpt-4.1-nano"])
    Router(["gpt-4.1-nano", "gpt-4.1"], strategy=Cascade(scorer=LLMJudge(helper)), budgets=budgets)
    assert helper.budgets is budgets
    own = Budgets([Budget(limit_usd=2)])
    helper_with_own = Router(["gpt-4.1-nano"], budgets=own)
    Router(["gpt-4.1"], strategy=Cascade(scorer=LLMJudge(helper_with_own)), budgets=budgets)
    assert helper_with_own.budgets is own  # its own caps are kept
    # found wherever it sits: an ensemble's selector, a combined scorer
    from langroute.scorers import Heuristics, Lowest
    from langroute.strategies import BestScore

    provider = OpenAIProvider(name="local", base_url="http://127.0.0.1:9", api_key="k")
    deep = LLMJudge(provider, "gpt-4.1-nano")
    Router(
        ["gpt-4.1-nano", "gpt-4.1"],
        strategy=Ensemble(selector=BestScore(Lowest(Heuristics(), deep))),
        budgets=budgets,
    )
    assert deep.model.budgets is budgets
    with pytest.raises(ConfigError, match="serves two routers with different budgets"):
        Router(["gpt-4.1"], strategy=Cascade(scorer=deep), budgets=own)

    class MyStrategy:  # a user's own strategy, holding a judge
        name = "mine"

        def __init__(self, judge: LLMJudge) -> None:
            self.judge = judge

        async def run(self, plan, runner): ...

        def stream(self, plan, runner): ...

    mine = LLMJudge(provider, "gpt-4.1-nano")
    Router(["gpt-4.1"], strategy=MyStrategy(mine), budgets=budgets)
    assert mine.model.budgets is budgets


def test_an_llm_judge_needs_a_price_and_a_model() -> None:
    from langroute import ConfigError, OpenAIProvider, Router
    from langroute.scorers import LLMJudge

    provider = OpenAIProvider(name="local", base_url="http://127.0.0.1:9", api_key="k")
    with pytest.raises(ConfigError, match=r"cannot price 'my-grader'.*spec=ModelSpec"):
        LLMJudge(provider, "my-grader")
    with pytest.raises(ConfigError, match="needs the model to call"):
        LLMJudge(provider)
    assert LLMJudge(provider, "gpt-4.1-nano").model.spec is not None  # priced from the catalog
    with pytest.raises(ConfigError, match=r"got str; for a LangChain or LlamaIndex model"):
        LLMJudge("gpt-4.1-nano")
    with pytest.raises(ConfigError, match="takes no model_id"):
        LLMJudge(Router(["gpt-4.1-nano"]), "gpt-4.1-nano")


async def test_an_ensemble_judged_by_an_llm_counts_every_grading(aserver: ScriptedServer) -> None:
    from langroute.scorers import LLMJudge
    from langroute.strategies import BestScore

    aserver.add("cheap", Reply("Paris is in Germany."))
    aserver.add("mid", Reply("Paris is in France."))
    aserver.add("premium", Reply("Paris is in Germany, I think."))
    _grader(aserver)
    grader = make_router(aserver, [spec("grader", price=(0.5, 1.5))])
    router = ensemble_router(aserver, selector=BestScore(LLMJudge(grader)))
    best = await router.achat("Where is Paris?")
    assert best.content == "Paris is in France."
    gradings = [e.scoring_cost_usd for e in best.decision.escalations]
    assert gradings == pytest.approx([(100 * 0.5 + 5 * 1.5) / 1e6] * 3)
    answers = sum(a.cost_usd for a in best.decision.attempts)
    assert best.cost_usd == pytest.approx(answers + sum(gradings))
    await grader.aclose()
    await router.aclose()


def test_a_judged_cascade_from_a_config_file(server: ScriptedServer, monkeypatch) -> None:
    from langroute import ConfigError, Registry, Router
    from langroute._sync import run_sync
    from langroute.scorers import LLMJudge

    monkeypatch.setenv("LOCAL_KEY", "sk-test-0123456789abcdef-SECRET")
    server.add("cheap", Reply("Paris is in Germany."))
    server.add("premium", Reply("Paris is in France."))
    _grader(server)
    models = [
        {
            "name": name,
            "provider": "mine",
            "context_window": 8000,
            "max_output_tokens": 100,
            "pricing": {"input": price, "output": price},
        }
        for name, price in (("cheap", 0.1), ("premium", 10.0), ("grader", 0.5))
    ]
    config = {
        "models": ["cheap", "premium"],
        "providers": {
            "mine": {"kind": "openai", "base_url": server.openai_url, "api_key_env": "LOCAL_KEY"}
        },
        "strategy": {"type": "cascade", "scorer": "judge", "judge_model": "grader"},
        "budgets": {"caps": [{"limit_usd": 5}]},
    }
    registry = Registry().load_data({"models": models})
    router = RouterConfig.from_data(config).build(registry)
    assert isinstance(router.strategy.scorer, LLMJudge)
    done = router.chat("Where is Paris?")
    assert done.content == "Paris is in France."
    assert server.count("grader") == 1
    grading = done.decision.escalations[0].scoring_cost_usd
    assert grading > 0
    run_sync(router.drain())
    (state,) = router.budgets.states(router.request("x").features, ["cheap"])
    assert state.spent_usd == pytest.approx(done.cost_usd, abs=3e-6)  # the judge's call too
    with pytest.raises(ConfigError, match="judge_model"):
        Router.from_config({"strategy": {"type": "cascade", "scorer": "judge"}})
    with pytest.raises(ConfigError, match="judge_model is only used"):
        Router.from_config({"strategy": {"judge_model": "gpt-4.1-nano"}})


async def test_a_judge_whose_router_judges_with_it_is_refused(aserver: ScriptedServer) -> None:
    from langroute import ConfigError
    from langroute.scorers import LLMJudge

    aserver.add("cheap", Reply("Paris is in Germany."))
    aserver.add("mid", Reply("mid"))
    _grader(aserver)
    looped = make_router(aserver, [spec("grader"), spec("cheap")])
    judge = LLMJudge(looped)
    looped.strategy = Cascade(scorer=judge)  # the judge's own router grades with the judge
    router = cascade_router(aserver, scorer=judge)
    with pytest.raises(ConfigError, match="LLMJudge calls itself"):
        await router.achat("Where is Paris?")
    await looped.aclose()
    await router.aclose()


async def test_the_judge_grades_a_tool_call_by_its_call_not_as_an_empty_answer(
    aserver: ScriptedServer,
) -> None:
    from langroute.scorers import LLMJudge
    from langroute.testing import ToolCallScript

    call = ToolCallScript("get_weather", {"city": "Paris"})
    aserver.add("cheap", Reply("", tool_calls=(call,)))
    aserver.add("mid", Reply("mid"))
    aserver.add(
        "grader",
        Reply(lambda t: '{"score": 0.9}' if 'get_weather({"city": "Paris"})' in t else "{}"),
    )
    grader = make_router(aserver, [spec("grader")])
    router = cascade_router(aserver, scorer=LLMJudge(grader))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    done = await router.achat("Weather in Paris?", tools=[tool])
    assert done.model == "cheap" and done.tool_calls[0].function.name == "get_weather"
    assert "judge grader: 0.90" in done.decision.escalations[0].reason
    await grader.aclose()
    await router.aclose()


@pytest.mark.parametrize("mode", ["complete", "stream", "lookahead"])
async def test_each_scorer_sees_the_chains_earlier_answers(
    aserver: ScriptedServer, mode: str
) -> None:
    """A scored answer carries the answers the cascade escalated from, cheapest first (an
    aborted look-ahead's part included), so a scorer can check them against each other."""
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def low(request: RoutingRequest, answer: Answer) -> float:
        seen.append((answer.model, [(a.model, a.content) for a in answer.earlier]))
        return 0.1

    cheap = "B because of the first rule, which says so plainly"
    aserver.add("cheap", Reply(cheap, tokens_per_s=4000))
    aserver.add("mid", Reply("C, as the second rule says", tokens_per_s=4000))
    aserver.add("premium", Reply("B it is"))
    window = {"lookahead_tokens": 2} if mode == "lookahead" else {}
    router = cascade_router(aserver, scorer=CallableScorer(low), threshold=0.5, **window)
    if mode == "complete":
        escalations = (await router.achat("Which option?")).decision.escalations
    else:
        chunks = [c async for c in router.astream("Which option?")]
        assert "".join(c.content for c in chunks) == "B it is"
        escalations = chunks[-1].decision.escalations
    assert [e.accepted for e in escalations] == [False, False, True]
    assert [model for model, _ in seen] == ["cheap", "mid"], "the last answer is not scored"
    assert seen[0][1] == []
    [(model, earlier)] = seen[1][1]
    assert model == "cheap"
    if mode == "lookahead":  # cheap was cut after its window: its start is what mid sees
        assert earlier and cheap.startswith(earlier) and earlier != cheap
    else:
        assert earlier == cheap
    await router.aclose()
