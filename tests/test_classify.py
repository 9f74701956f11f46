"""The rule-based classifier: domains, complexity ordering, capabilities, user rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langroute import RoutingRequest, Rule, RuleClassifier
from langroute.types import ChatParams, ResponseFormat, ToolSpec


def profile(text: str, classifier: RuleClassifier | None = None, **kw):
    return (classifier or RuleClassifier()).classify(RoutingRequest.build(text, **kw).features)


@pytest.mark.parametrize(
    ("prompt", "domain"),
    [
        ("hi there, how are you?", "chat"),
        ("Write a Python function to reverse a linked list.", "code"),
        ("```js\nconst x = () => {}\n```\nwhy does this fail?", "code"),
        ("Solve the equation 3x + 5 = 20 and prove your answer.", "math"),
        ("Write a short poem about autumn rain.", "creative"),
        ("Extract all dates from this text and return them as JSON.", "extraction"),
        ("Compare the trade-offs of two caching strategies and explain why one wins.", "reasoning"),
    ],
)
def test_domains(prompt, domain):
    assert profile(prompt).domain == domain


def test_complexity_orders_easy_below_hard():
    easy = profile("hello!")
    medium = profile("Write a Python function that sorts a list of dicts by a key.")
    hard = profile(
        "Design a distributed, fault-tolerant job scheduler step by step. Requirements:\n"
        "1. exactly-once execution\n2. priorities\n3. retries with backoff\n"
        "4. horizontal scalability\nAnalyze the trade-offs and edge cases rigorously."
    )
    assert easy.complexity < medium.complexity < hard.complexity
    assert easy.complexity <= 0.1 and hard.complexity >= 0.7
    assert all(0 <= p.complexity <= 1 for p in (easy, medium, hard))


def test_needed_capabilities_come_from_the_request():
    tool = ToolSpec.model_validate({"type": "function", "function": {"name": "f"}})
    p = RuleClassifier().classify(
        RoutingRequest.build(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "describe"},
                        {"type": "image_url", "image_url": {"url": "u"}},
                    ],
                }
            ],
            ChatParams(tools=[tool], response_format=ResponseFormat(type="json_object")),
        ).features
    )
    assert p.needs == {"tools", "vision", "json_mode"}
    none_choice = RoutingRequest.build("x", ChatParams(tools=[tool], tool_choice="none"))
    assert "tools" not in RuleClassifier().classify(none_choice.features).needs


def test_users_add_rules():
    classifier = RuleClassifier(
        extra_rules=[
            Rule(
                name="legal",
                pattern=r"\b(contract|clause|liability)\b",
                domain="reasoning",
                weight=5,
                complexity=0.4,
            )
        ]
    )
    p = profile("Review this contract clause for liability.", classifier)
    assert p.domain == "reasoning"
    assert "legal" in p.signals
    assert p.complexity >= 0.5


def test_bad_rule_pattern_is_rejected_with_the_pattern():
    with pytest.raises(ValueError, match="not a valid regular expression"):
        Rule(name="broken", pattern="(unclosed")


def test_same_input_same_profile():
    text = "Explain step by step why the sky is blue."
    assert profile(text) == profile(text)


@pytest.mark.parametrize(
    ("prompt", "domain"),
    [
        (
            "Which planet is largest?\nA) Mars B) Jupiter C) Venus\nAnswer with the letter.",
            "reasoning",
        ),
        ("Please answer with the letter of the correct answer. The trophy didn't fit", "reasoning"),
        ("Imagine you are a pirate captain greeting your crew at dawn.", "creative"),
        ("Act as a travel guide and welcome me to Lisbon.", "creative"),
        ("How do I contact assistance about my order?", "chat"),
        ("Sam buys 3 pens at $2 each and a book for $9. How much does he pay in total?", "math"),
    ],
)
def test_multiple_choice_role_play_and_word_problems_have_their_domains(prompt, domain):
    assert profile(prompt).domain == domain


@given(
    st.lists(
        st.sampled_from([*"abct s)\n1é_-x", "act as", "a) ", "b) ", "exact as", "ba) "]),
        max_size=30,
    ).map("".join)
)
def test_literal_first_patterns_match_exactly_what_the_word_boundary_forms_match(text):
    """The default rules write `\\bact as\\b` and `\\ba\\) …\\bb\\) ` literal first, for
    speed; they must fire on exactly the same texts."""
    rewritten = {
        r"act as\b(?<!\wact as)": r"\bact as\b",
        r"a\) (?<!\wa\) ).{1,300}?\bb\) ": r"\ba\) .{1,300}?\bb\) ",
    }
    by_pattern = {r.pattern: r for r in RuleClassifier().rules if r.pattern}
    for fast, plain in rewritten.items():
        assert fast in by_pattern, "the default rule changed: update this test"
        assert (re.search(fast, text, re.M) is None) == (re.search(plain, text, re.M) is None)
