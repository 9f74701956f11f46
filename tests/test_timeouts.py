"""The core's own time limits over real HTTP: a per-attempt timeout that falls back from a
slow model whatever its client's timeout, and a whole-call deadline across retries and
fallbacks. Slow models here take seconds; each limit is a fraction of that, so a limit that
did not fire would show as a wrong answer, not only as a slower test."""

from __future__ import annotations

import time

import pytest

from langroute import (
    AllModelsFailed,
    Cascade,
    DeadlineExceeded,
    RetryPolicy,
    StreamInterrupted,
    Timeout,
)
from langroute.classify import LLMClassifier
from langroute.scorers import LLMJudge
from langroute.strategies import BestScore, Ensemble
from langroute.testing import Fail, Hang, Reply
from tests.conftest import make_router, providers_for, spec

SLOW_S = 5.0  # how long a slow model takes: far beyond every limit below
CUT_S = 1.0  # the limits: long enough for a real answer on a loaded 2-core CI machine


def cheap_then_strong(server, retry: RetryPolicy, **kw):
    """`cheap` is planned first, `strong` second; the client's own timeout (30 s) never
    fires here, so any cut is the router's."""
    server.add("cheap", Reply("cheap answer"))
    server.add("strong", Reply("strong answer"))
    return make_router(
        server,
        [spec("cheap", price=(0.1, 0.2)), spec("strong", provider="claude", price=(5, 10))],
        retry=retry,
        timeout=30.0,
        **kw,
    )


async def test_attempt_timeout_falls_back_from_a_slow_model(aserver):
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1, attempt_timeout_s=CUT_S))
    aserver.models["cheap"].default = Hang(SLOW_S)
    t0 = time.perf_counter()
    completion = await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert completion.content == "strong answer"
    first, second = completion.decision.attempts
    assert (first.model, first.outcome, first.error_type) == ("cheap", "error", "Timeout")
    assert f"within {CUT_S:g} s (attempt_timeout_s)" in (first.error or "")
    # the cut call's prompt is billed (estimated): the provider may bill it
    assert first.usage is not None and first.usage.prompt_tokens > 0
    assert first.cost_usd > 0
    assert completion.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)
    await router.aclose()


async def test_attempt_timeout_is_retried_like_any_timeout(aserver):
    router = cheap_then_strong(
        aserver, RetryPolicy(attempts=2, base_delay_s=0, attempt_timeout_s=CUT_S)
    )
    aserver.models["cheap"].then(Hang(SLOW_S))
    completion = await router.achat("hello there")
    assert completion.content == "cheap answer"
    assert [a.outcome for a in completion.decision.attempts] == ["error", "ok"]
    await router.aclose()


async def test_per_call_hint_overrides_the_policy(aserver):
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1, attempt_timeout_s=30))
    aserver.models["cheap"].default = Hang(SLOW_S)
    completion = await router.achat("hello there", hints={"attempt_timeout_s": CUT_S})
    assert completion.content == "strong answer"
    await router.aclose()


@pytest.mark.parametrize("limit", ["attempt_timeout_s", "stall_timeout_s"])
async def test_a_stream_that_does_not_start_falls_back(aserver, limit):
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1, **{limit: CUT_S}))
    aserver.models["cheap"].default = Reply("late answer", ttft_s=SLOW_S)
    chunks = [c async for c in router.astream("hello there")]
    assert "".join(c.content for c in chunks) == "strong answer"
    decision = chunks[-1].decision
    assert decision is not None
    assert [(a.model, a.error_type, a.outcome) for a in decision.attempts] == [
        ("cheap", "Timeout", "error"),
        ("strong", None, "ok"),
    ]
    assert f"({limit})" in (decision.attempts[0].error or "")
    await router.aclose()


async def test_a_started_stream_is_not_cut_by_the_attempt_timeout(aserver):
    """Once text flows the answer is committed: a long answer is not a slow one."""
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1, attempt_timeout_s=CUT_S))
    aserver.models["cheap"].default = Reply(" ".join(["word"] * 12), tokens_per_s=8)
    t0 = time.perf_counter()
    text = "".join([c.content async for c in router.astream("hello there")])
    assert time.perf_counter() - t0 > CUT_S  # it streamed for longer than the timeout
    assert text == " ".join(["word"] * 12)
    await router.aclose()


async def test_a_stream_that_stalls_after_its_first_token_is_interrupted(aserver):
    """Text was shown: no fallback, a `StreamInterrupted` with exactly what was shown, and
    sooner than the client's read timeout (30 s here)."""
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1, stall_timeout_s=CUT_S))
    aserver.models["cheap"].default = Reply("one two three", tokens_per_s=0.5)
    received: list[str] = []
    t0 = time.perf_counter()
    with pytest.raises(StreamInterrupted) as caught:
        async for chunk in router.astream("hello there"):
            received.append(chunk.content)
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert caught.value.partial == "".join(received) and received
    assert isinstance(caught.value.cause, Timeout)
    attempt = caught.value.decision.attempts[-1]
    assert (attempt.outcome, attempt.error_type) == ("interrupted", "Timeout")
    assert attempt.usage is not None and attempt.usage.completion_tokens > 0  # shown: billed
    assert aserver.count("strong") == 0
    await router.aclose()


async def test_deadline_bounds_the_whole_call_and_says_so(aserver):
    router = cheap_then_strong(aserver, RetryPolicy(attempts=3, base_delay_s=0, deadline_s=CUT_S))
    aserver.models["cheap"].default = Hang(SLOW_S)
    aserver.models["strong"].default = Hang(SLOW_S)
    t0 = time.perf_counter()
    with pytest.raises(AllModelsFailed) as caught:
        await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert "deadline" in str(caught.value)
    errors = caught.value.exceptions
    assert isinstance(errors[-1], DeadlineExceeded)
    assert f"deadline of {CUT_S:g} s passed" in str(errors[-1])
    assert (errors[-1].model, errors[-1].provider) == ("cheap", "local")  # who was cut
    decision = caught.value.decision
    assert decision is not None and decision.attempts[0].error_type == "DeadlineExceeded"
    # nothing is tried once the deadline has passed: `strong` was never called
    assert aserver.count("strong") == 0
    await router.aclose()


async def test_deadline_leaves_time_for_the_fallback(aserver):
    """Each attempt may take at most `attempt_timeout_s`; the deadline only caps the sum."""
    router = cheap_then_strong(
        aserver, RetryPolicy(attempts=1, attempt_timeout_s=CUT_S, deadline_s=SLOW_S - 1)
    )
    aserver.models["cheap"].default = Hang(SLOW_S)
    completion = await router.achat("hello there")
    assert completion.content == "strong answer"
    await router.aclose()


async def test_a_retry_wait_that_would_pass_the_deadline_is_not_waited(aserver):
    router = cheap_then_strong(
        aserver, RetryPolicy(attempts=3, max_retry_after_s=60, deadline_s=2.0)
    )
    aserver.models["cheap"].then(Fail(429, retry_after=SLOW_S))
    t0 = time.perf_counter()
    completion = await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert completion.content == "strong answer"
    assert aserver.count("cheap") == 1
    await router.aclose()


async def test_deadline_while_streaming_before_the_first_token(aserver):
    router = cheap_then_strong(aserver, RetryPolicy(attempts=1), strategy=None)
    aserver.models["cheap"].default = Reply("late", ttft_s=SLOW_S)
    with pytest.raises(AllModelsFailed) as caught:
        async for _ in router.astream("hello there", hints={"deadline_s": CUT_S}):
            pass
    assert isinstance(caught.value.exceptions[-1], DeadlineExceeded)
    await router.aclose()


async def test_a_slow_cascade_step_escalates_within_the_deadline(aserver):
    """A cascade stops at the deadline too: no further model is tried after it."""
    router = cheap_then_strong(
        aserver, RetryPolicy(attempts=1, deadline_s=CUT_S), strategy=Cascade(threshold=0.5)
    )
    aserver.models["cheap"].default = Hang(SLOW_S)
    with pytest.raises(AllModelsFailed) as caught:
        await router.achat("hello there")
    assert isinstance(caught.value.exceptions[-1], DeadlineExceeded)
    assert aserver.count("strong") == 0
    await router.aclose()


def slow_helper(server, name: str) -> dict:
    """A helper model that hangs, with its own timeout far beyond the deadline: only the
    call's deadline can cut it."""
    server.add(name, Hang(SLOW_S))
    return {"model_id": name, "spec": spec(name, price=(0.5, 1.5)), "timeout_s": 10 * SLOW_S}


async def test_an_llm_judge_ends_by_the_calls_deadline(aserver):
    """The grading is cut at the deadline (it abstains, its prompt billed) and the cheap
    answer already paid for is kept, as nothing more can be tried."""
    helper = slow_helper(aserver, "grader")
    judge = LLMJudge(providers_for(aserver)["local"], **helper)
    router = cheap_then_strong(
        aserver,
        RetryPolicy(attempts=1, deadline_s=CUT_S),
        strategy=Cascade(scorer=judge, threshold=0.6),
    )
    t0 = time.perf_counter()
    completion = await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert completion.content == "cheap answer"
    graded, kept = completion.decision.escalations
    assert "abstained (SideCallTimedOut)" in graded.reason and not graded.accepted
    assert graded.scoring_cost_usd > 0  # the cut grading's prompt may be billed
    assert kept.accepted and "the call's deadline passed" in kept.reason
    assert aserver.count("strong") == 0
    (attempt,) = completion.decision.attempts
    assert completion.cost_usd == pytest.approx(attempt.cost_usd + graded.scoring_cost_usd)
    await router.aclose()


async def test_an_ensembles_llm_judge_ends_by_the_calls_deadline(aserver):
    helper = slow_helper(aserver, "grader")
    judge = LLMJudge(providers_for(aserver)["local"], **helper)
    router = cheap_then_strong(
        aserver,
        RetryPolicy(attempts=1, deadline_s=CUT_S),
        strategy=Ensemble(size=2, selector=BestScore(judge)),
    )
    t0 = time.perf_counter()
    completion = await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert completion.content in ("cheap answer", "strong answer")
    assert all("abstained" in e.reason for e in completion.decision.escalations)
    await router.aclose()


async def test_an_llm_classifier_ends_by_the_calls_deadline(aserver):
    """Classifying took the whole deadline: the call fails at once, typed, no model asked."""
    helper = slow_helper(aserver, "labeller")
    classifier = LLMClassifier(providers_for(aserver)["local"], **helper)
    router = cheap_then_strong(
        aserver, RetryPolicy(attempts=1, deadline_s=CUT_S), classifier=classifier
    )
    t0 = time.perf_counter()
    with pytest.raises(AllModelsFailed) as caught:
        await router.achat("hello there")
    assert time.perf_counter() - t0 < SLOW_S / 2
    assert isinstance(caught.value.exceptions[-1], DeadlineExceeded)
    assert classifier.events["timeout"] == 1
    assert aserver.count("cheap") == aserver.count("strong") == 0
    await router.aclose()


def test_sync_calls_are_bounded_too(server):
    """The sync API runs on the caller's thread's own loop; the timer still fires."""
    router = cheap_then_strong(server, RetryPolicy(attempts=1, attempt_timeout_s=CUT_S))
    server.models["cheap"].default = Hang(SLOW_S)
    assert router.chat("hello there").content == "strong answer"
    assert "".join(c.content for c in router.stream("hello there")) == "strong answer"


def test_limits_are_validated():
    with pytest.raises(ValueError, match="attempt_timeout_s"):
        RetryPolicy(attempt_timeout_s=0)
    with pytest.raises(ValueError, match="deadline_s"):
        RetryPolicy(deadline_s=-1)


def test_deadline_exceeded_is_a_timeout_that_is_not_retried():
    error = DeadlineExceeded("passed")
    assert isinstance(error, Timeout) and not error.retryable
    assert not issubclass(StreamInterrupted, Timeout)
