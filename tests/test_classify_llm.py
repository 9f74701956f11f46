"""The LLM classifier over real HTTP: valid labels, malformed answers, errors, timeouts."""

from __future__ import annotations

import logging

import pytest

from langroute import OpenAIProvider, Router
from langroute.classify import LLMClassifier
from langroute.features import RoutingRequest
from langroute.registry import Registry
from langroute.testing import Fail, Hang, Reply, ScriptedServer
from tests.conftest import TEST_KEY, providers_for, spec


def classifier(server: ScriptedServer, timeout_s: float = 3.0) -> LLMClassifier:
    provider = OpenAIProvider(name="local", base_url=server.openai_url, api_key=TEST_KEY)
    labeller = spec("tiny-labeller", price=(0.2, 0.8))
    return LLMClassifier(provider, "tiny-labeller", spec=labeller, timeout_s=timeout_s)


LABELLING_USD = (50 * 0.2 + 10 * 0.8) / 1e6  # 50 prompt and 10 answer tokens


def features(text: str):
    return RoutingRequest.build(text).features


async def test_a_valid_json_label_sets_domain_and_complexity(aserver: ScriptedServer) -> None:
    aserver.add("tiny-labeller", Reply('```json\n{"domain": "code", "complexity": 0.8}\n```'))
    clf = classifier(aserver)
    profile = await clf.aclassify(features("Help me with this thing"))
    assert (profile.domain, profile.complexity) == ("code", 0.8)
    assert clf.events == {"ok": 1}
    sent = aserver.calls[-1].body
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["temperature"] == 0


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (Reply("I think this is about code"), "malformed"),
        (Reply('{"domain": "poetry", "complexity": 0.2}'), "malformed"),
        (Reply('{"domain": "math", "complexity": 7}'), "malformed"),
        (Fail(500), "error"),
        (Hang(5.0), "timeout"),
    ],
)
async def test_a_bad_answer_falls_back_to_the_rules_and_is_counted(
    aserver: ScriptedServer, answer: object, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    aserver.add("tiny-labeller", answer)
    clf = classifier(aserver, timeout_s=0.3)
    prompt = "Solve for x: 2x + 3 = 11 and explain each step"
    with caplog.at_level(logging.WARNING, logger="langroute.classify.llm"):
        profile = await clf.aclassify(features(prompt))
    assert profile.domain == "math", "the rule classifier's answer"
    assert f"llm classifier: {kind}, fallback used" in profile.signals
    assert clf.events == {kind: 1}
    assert kind in caplog.text
    assert prompt not in caplog.text, "the prompt is not logged"


async def test_the_router_awaits_the_llm_classifier_on_its_async_path(
    aserver: ScriptedServer,
) -> None:
    aserver.add(
        "tiny-labeller",
        Reply('{"domain": "creative", "complexity": 0.9}', prompt_tokens=50, completion_tokens=10),
    )
    aserver.add("writer", Reply("a poem"))
    registry = Registry()
    registry.register(spec("writer"))
    router = Router(
        ["writer"],
        registry=registry,
        providers=providers_for(aserver),
        classifier=classifier(aserver),
    )
    completion = await router.achat("hello there")
    assert completion.decision.profile.domain == "creative"
    assert completion.decision.profile.complexity == 0.9
    assert aserver.count("tiny-labeller") == 1
    # the labelling call is part of what the routed call cost
    decision = completion.decision
    assert decision.profile.cost_usd == pytest.approx(LABELLING_USD)
    (answer,) = decision.attempts
    assert completion.cost_usd == pytest.approx(answer.cost_usd + LABELLING_USD)
    assert decision.actual_cost_usd == completion.cost_usd
    chunks = [c async for c in router.astream("hello there")]
    assert chunks[-1].cost_usd == pytest.approx(
        chunks[-1].decision.attempts[0].cost_usd + LABELLING_USD
    )
    await router.aclose()


async def test_the_labelling_call_spends_under_the_routers_budgets(
    aserver: ScriptedServer,
) -> None:
    """Reserved before, settled after, like the answer; a labelling cut off by the timeout
    leaves no hold, and its prompt counts as spent (the provider may bill it)."""
    from langroute import Budget, Budgets

    aserver.add(
        "tiny-labeller",
        Hang(5.0),
        [Reply('{"domain": "chat", "complexity": 0.1}', prompt_tokens=50, completion_tokens=10)],
    )
    aserver.add("writer", Reply("hi", prompt_tokens=5, completion_tokens=2))
    registry = Registry()
    registry.register(spec("writer"))
    budgets = Budgets([Budget(limit_usd=1, per="user")])
    clf = classifier(aserver, timeout_s=0.3)
    router = Router(
        ["writer"],
        registry=registry,
        providers=providers_for(aserver),
        classifier=clf,
        budgets=budgets,
    )
    assert clf.model.budgets is budgets
    done = await router.achat("hello there", user="ada")
    await router.drain()
    ledger = router.request("x", user="ada").features
    (state,) = budgets.states(ledger, ["writer"])
    assert done.decision.profile.cost_usd == pytest.approx(LABELLING_USD)
    assert state.spent_usd == pytest.approx(done.cost_usd, abs=2e-6)  # µUSD ceilings
    timed_out = await router.achat("hello there", user="ada")
    assert "llm classifier: timeout, fallback used" in timed_out.decision.profile.signals
    await router.drain()
    (after,) = budgets.states(ledger, ["writer"])
    assert after.held_usd == 0
    # the cut-off labelling's prompt is in the call's cost as in the ledger
    assert timed_out.decision.profile.cost_usd > 0
    assert timed_out.cost_usd > timed_out.decision.attempts[0].cost_usd
    assert after.spent_usd == pytest.approx(done.cost_usd + timed_out.cost_usd, abs=4e-6)
    await router.aclose()


async def test_a_malformed_label_still_bills_its_call(aserver: ScriptedServer) -> None:
    aserver.add("tiny-labeller", Reply("code, I think", prompt_tokens=50, completion_tokens=10))
    profile = await classifier(aserver).aclassify(features("Write a sort in Rust"))
    assert "llm classifier: malformed, fallback used" in profile.signals
    assert profile.cost_usd == pytest.approx(LABELLING_USD)


def test_an_llm_classifier_must_be_priced(aserver: ScriptedServer) -> None:
    from langroute import ConfigError

    provider = OpenAIProvider(name="local", base_url=aserver.openai_url, api_key=TEST_KEY)
    with pytest.raises(ConfigError, match=r"LLMClassifier cannot price 'tiny-labeller'"):
        LLMClassifier(provider, "tiny-labeller")
    assert LLMClassifier(Router(["gpt-4.1-nano"])).model_id == "gpt-4.1-nano"


def test_sync_dry_run_uses_the_same_classifier(server: ScriptedServer) -> None:
    server.add("tiny-labeller", Reply('{"domain": "extraction", "complexity": 0.1}'))
    clf = classifier(server)
    router = Router(["gpt-4.1-nano", "gpt-4.1"], classifier=clf)
    assert router.route("anything").profile.domain == "extraction"


def test_an_llm_classifier_from_a_config_file(server: ScriptedServer, monkeypatch) -> None:
    from langroute import ConfigError, RouterConfig

    monkeypatch.setenv("LOCAL_KEY", TEST_KEY)
    server.add(
        "tiny-labeller",
        Reply('{"domain": "code", "complexity": 0.7}', prompt_tokens=50, completion_tokens=10),
    )
    server.add("writer", Reply("done"))
    registry = Registry().load_data(
        {
            "models": [
                {
                    "name": name,
                    "provider": "mine",
                    "context_window": 8000,
                    "max_output_tokens": 100,
                    "pricing": {"input": price[0], "output": price[1]},
                }
                for name, price in (("writer", (1.0, 1.0)), ("tiny-labeller", (0.2, 0.8)))
            ]
        }
    )
    config = {
        "models": ["writer"],
        "providers": {
            "mine": {"kind": "openai", "base_url": server.openai_url, "api_key_env": "LOCAL_KEY"}
        },
        "classifier": {"type": "llm", "model": "tiny-labeller"},
    }
    router = RouterConfig.from_data(config).build(registry)
    assert isinstance(router.classifier, LLMClassifier)
    done = router.chat("hello")
    assert done.decision.profile.domain == "code"
    assert done.decision.profile.cost_usd == pytest.approx(LABELLING_USD)
    with pytest.raises(ConfigError, match="needs model"):
        RouterConfig.from_data({"classifier": {"type": "llm"}})
    with pytest.raises(ConfigError, match='model is only used with type = "llm"'):
        RouterConfig.from_data({"classifier": {"model": "gpt-4.1-nano"}})
