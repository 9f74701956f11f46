"""The embedding classifier: routes by example utterances, thresholds fitted from data."""

from __future__ import annotations

import pytest

from langroute import Router
from langroute.classify import EmbeddingClassifier, Route
from langroute.embed import HashingEmbedder, MiniLMEmbedder, StaticEmbedder
from langroute.errors import ConfigError
from langroute.features import RoutingRequest


@pytest.fixture(scope="module", params=["static (default)", "minilm"])
def classifier(request: pytest.FixtureRequest) -> EmbeddingClassifier:
    if request.param == "minilm":
        return EmbeddingClassifier(embedder=MiniLMEmbedder())
    default = EmbeddingClassifier()
    assert isinstance(default.embedder, StaticEmbedder)
    return default


@pytest.mark.parametrize(
    ("prompt", "domain"),
    [
        ("Write a Python function that merges two sorted lists", "code"),
        ("Write a haiku about the first snow of winter", "creative"),
        ("A shop sells pens at $3 each. How much do 7 pens cost?", "math"),
        ("Pull every email address out of this text and return them as JSON", "extraction"),
    ],
)
def test_default_routes_recognise_clear_prompts(
    classifier: EmbeddingClassifier, prompt: str, domain: str
) -> None:
    profile = classifier.classify(RoutingRequest.build(prompt).features)
    assert profile.domain == domain
    assert any(s.startswith("embedding: route") for s in profile.signals)


def test_below_threshold_the_rules_decide_and_say_so() -> None:
    strict = EmbeddingClassifier(
        [
            Route(
                name="code", domain="code", utterances=("Write a sorting function",), threshold=0.99
            )
        ],
        embedder=HashingEmbedder(),
    )
    profile = strict.classify(RoutingRequest.build("Prove that 17 is prime").features)
    assert profile.domain == "math", "the rule classifier's answer"
    assert any("< 0.99" in s for s in profile.signals)


def test_fit_thresholds_learns_when_to_trust_a_route() -> None:
    routes = [
        Route(
            name="billing",
            domain="extraction",
            utterances=("refund my invoice", "charge on my card", "billing question"),
        ),
        Route(
            name="bugs",
            domain="code",
            utterances=("the app crashes", "stack trace error", "bug in the login page"),
        ),
    ]
    clf = EmbeddingClassifier(routes, embedder=HashingEmbedder(), top_k=1)
    examples = [
        ("refund my invoice please", "billing"),
        ("a charge on my card I do not know", "billing"),
        ("the app crashes on start", "bugs"),
        ("stack trace error in the log", "bugs"),
        ("what is the weather", None),
        ("tell me a joke", None),
    ]
    fitted = clf.fit_thresholds(examples)
    assert fitted.route_of([t for t, _ in examples]) == [label for _, label in examples]
    with pytest.raises(ConfigError, match="not routes"):
        clf.fit_thresholds([("x", "nope")])


def test_bad_routes_are_rejected_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="unique"):
        EmbeddingClassifier(
            [
                Route(name="a", domain="chat", utterances=("hi",)),
                Route(name="a", domain="code", utterances=("def",)),
            ],
            embedder=HashingEmbedder(),
        )
    with pytest.raises(ValueError, match="utterances"):
        Route(name="a", domain="chat", utterances=())


def test_a_router_with_the_embedding_classifier(classifier: EmbeddingClassifier) -> None:
    router = Router(["gpt-4.1-nano", "gpt-4.1", "claude-sonnet-4-5"], classifier=classifier)
    decision = router.route("Implement a linked list class in Java with add and remove")
    assert decision.profile.domain == "code"
    assert "embedding: route code" in " ".join(decision.profile.signals)


def test_labelled_examples_become_utterances() -> None:
    base = EmbeddingClassifier(
        [
            Route(name="a", domain="chat", utterances=("hello",)),
            Route(name="b", domain="code", utterances=("def",)),
        ],
        embedder=HashingEmbedder(),
        top_k=1,
    )
    grown = base.with_examples([("refund my order", "a"), ("ignored", None)])
    assert grown.routes[0].utterances == ("hello", "refund my order")
    assert grown.route_of(["refund my order"]) == ["a"]
    with pytest.raises(ConfigError, match="not routes"):
        base.with_examples([("x", "zzz")])
