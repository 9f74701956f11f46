"""Shadow evaluation and regression alerts, user feedback (and retraining from it), and
A/B tests of two router versions."""

from __future__ import annotations

import asyncio
import json
import logging
import random

import pytest

from langroute import AuditLog, ConfigError, Router
from langroute.abtest import ABTest, welch_p_value
from langroute.audit import MemoryAuditSink
from langroute.cli import main as cli
from langroute.feedback import FeedbackLog, SQLiteFeedback, training_data
from langroute.shadow import (
    AgreementJudge,
    CallableJudge,
    QualityMonitor,
    ShadowEvaluator,
)
from langroute.testing import Fail, Reply, ScriptedServer
from tests.conftest import make_router, spec


def flaky(correct: str, wrong: str, pattern: list[bool]):
    """A scripted model whose n-th answer is right when pattern[n % len] holds."""
    count = iter(range(10**9))

    def answer(_text: str) -> str:
        return correct if pattern[next(count) % len(pattern)] else wrong

    return answer


async def test_an_injected_quality_drop_alerts_its_route_and_not_an_unchanged_one(
    aserver: ScriptedServer,
) -> None:
    nine_in_ten = [True] * 9 + [False]
    drop_after = 60
    coder_calls = iter(range(10**9))

    def coder(_text: str) -> str:
        n = next(coder_calls)
        good = nine_in_ten[n % 10] if n < drop_after else n % 5 < 2  # 90 % then 40 %
        return "The answer is 42." if good else "I am not sure, maybe 7."

    aserver.add("coder", Reply(coder))
    aserver.add("chatter", Reply(flaky("The answer is 42.", "It is 9.", nine_in_ten)))
    aserver.add("reference", Reply("The answer is 42."))
    alerts = []
    reference = make_router(aserver, [spec("reference", price=(10, 30))])
    shadow = ShadowEvaluator(
        reference,
        AgreementJudge(),
        sample_rate=1.0,
        monitor=QualityMonitor(on_alert=alerts.append),
        route=lambda decision: decision.answered_by or "?",
    )
    router = make_router(aserver, [spec("coder"), spec("chatter")], shadow=shadow)
    for i in range(200):
        for model in ("coder", "chatter"):
            answer = await router.achat(f"question {i}", hints={"model": model})
            assert answer.decision.answered_by == model
        if i % 20 == 19:
            await router.drain()
    await router.drain()
    assert shadow.compared == 400 and shadow.failed == 0
    assert [a.route for a in alerts] == ["coder"], "only the degraded route alerts"
    alert = alerts[0]
    assert alert.baseline > 0.7 and alert.recent < 0.6
    assert drop_after < alert.observations < drop_after + 80, "caught within 80 calls"
    quality = shadow.monitor.quality()
    assert quality["chatter"]["win_rate"] == pytest.approx(0.9, abs=0.01)
    assert quality["coder"]["statistic"] > quality["chatter"]["statistic"]
    shadow.monitor.reset("coder")  # after a fix: a new warm-up, no alert
    assert "coder" not in shadow.monitor.quality()
    await router.aclose()
    await reference.aclose()


def test_the_cusum_alert_is_rare_on_stable_routes_and_fast_on_drops() -> None:
    """Simulated routes: false alarms on stable ones, detection delay on degraded ones."""
    logging.disable(logging.WARNING)
    try:
        rng = random.Random(7)

        def alarmed(p: float, drop_to: float | None) -> int | None:
            monitor = QualityMonitor()
            for i in range(550):
                q = p if drop_to is None or i < 100 else drop_to
                if monitor.observe("r", float(rng.random() < q)) is not None:
                    return i - 100
            return None

        stable = [alarmed(0.9, None) for _ in range(200)] + [alarmed(0.7, None) for _ in range(200)]
        assert sum(a is not None for a in stable) / len(stable) <= 0.03
        dropped = [alarmed(0.9, 0.4) for _ in range(200)]
        delays = sorted(d for d in dropped if d is not None)
        assert len(delays) == 200 and 0 <= delays[100] <= 40, delays[100]
    finally:
        logging.disable(logging.NOTSET)


async def test_shadow_runs_off_the_response_path_and_never_fails_a_call(
    aserver: ScriptedServer,
) -> None:
    aserver.add("m", Reply("fast"))
    aserver.add("slow-ref", Reply("slow", ttft_s=0.5))
    aserver.add("broken-ref", Fail(500))
    reference = make_router(aserver, [spec("slow-ref")])
    shadow = ShadowEvaluator(reference, sample_rate=1.0)
    router = make_router(aserver, [spec("m")], shadow=shadow)
    started = asyncio.get_running_loop().time()
    await router.achat("hi")
    assert asyncio.get_running_loop().time() - started < 0.3, "the caller never waits"
    await router.drain()
    assert shadow.compared == 1
    broken = ShadowEvaluator(make_router(aserver, [spec("broken-ref")]), sample_rate=1.0)
    router = make_router(aserver, [spec("m")], shadow=broken)
    assert (await router.achat("hi")).content == "fast"
    await router.drain()
    assert broken.failed == 1 and broken.compared == 0

    half = ShadowEvaluator(reference, CallableJudge(lambda r, a, b: 1.0), sample_rate=0.5)
    ids = [f"req-{i}" for i in range(2000)]
    share = sum(half.sampled(i) for i in ids) / len(ids)
    assert 0.45 < share < 0.55 and [half.sampled(i) for i in ids[:50]] == [
        half.sampled(i) for i in ids[:50]
    ]
    with pytest.raises(ConfigError, match="sample_rate"):
        ShadowEvaluator(reference, sample_rate=0)
    await router.aclose()


async def test_feedback_is_stored_with_its_route_and_becomes_training_data(
    aserver: ScriptedServer, tmp_path
) -> None:
    from langroute.embed import HashingEmbedder
    from langroute.eval.loaders.jsonl import load_jsonl
    from langroute.eval.train import train_router

    aserver.add("cheap", Reply("cheap answer", prompt_tokens=50, completion_tokens=20))
    aserver.add("strong", Reply("strong answer", prompt_tokens=50, completion_tokens=20))
    sink = MemoryAuditSink()
    store = SQLiteFeedback(tmp_path / "feedback.db")
    monitor = QualityMonitor(warmup=5)
    router = make_router(
        aserver,
        [spec("cheap", price=(0.1, 0.2)), spec("strong", price=(5, 10))],
        audit=AuditLog(sink, include_prompts=True),
        feedback=FeedbackLog(store, monitor=monitor),
    )
    topics = ["maths proof", "poem about cats"]
    for i in range(40):
        model = "cheap" if i % 2 else "strong"
        topic = topics[(i // 2) % 2]
        answer = await router.achat(f"{topic} #{i // 4}", hints={"model": model})
        good = model == "strong" or topic == "poem about cats"
        record = router.feedback(answer.decision.request_id, 1.0 if good else 0.0)
        assert record.model == model and record.route and record.route.endswith(model)
    with pytest.raises(ConfigError, match="feedback score must be in"):
        router.feedback("anything", 5)
    unknown = router.feedback("not-a-request", 0.5)
    assert unknown.model is None
    await router.drain()
    assert len(store.records()) == 41, "ratings persist in SQLite"
    assert monitor.quality(), "ratings reach the per-route monitor"

    rows, skipped = training_data(sink.records, store.records())
    assert skipped == 0 and len(rows) == 20
    assert all(set(r["outcomes"]) == {"cheap", "strong"} for r in rows)
    records = tmp_path / "audit.jsonl"
    records.write_text("".join(line + "\n" for line in sink.lines))
    path = tmp_path / "from-feedback.jsonl"
    argv = ["audit", str(records), "--feedback", str(store.path), "--training-data", str(path)]
    assert cli(argv) == 0
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows
    dataset = load_jsonl(path)
    learned = train_router(
        dataset, embedder=HashingEmbedder(), estimator="knn", folds=2, target_quality=0.95
    )
    predicted = learned.predict(["maths proof #9", "poem about cats #9"])
    cheap, strong = learned.info.models.index("cheap"), learned.info.models.index("strong")
    assert predicted.quality[0, strong] > predicted.quality[0, cheap], "maths needs strong"
    assert predicted.quality[1, cheap] > 0.5, "cheap is fine for poems"
    await router.aclose()


async def test_an_ab_test_splits_users_stickily_and_reports_each_arm(
    aserver: ScriptedServer,
) -> None:
    aserver.add("cheap", Reply("c", prompt_tokens=100, completion_tokens=10))
    aserver.add("strong", Reply("s", prompt_tokens=100, completion_tokens=10))
    sink = MemoryAuditSink()
    current = make_router(aserver, [spec("strong", price=(5, 10))], audit=AuditLog(sink))
    candidate = make_router(aserver, [spec("cheap", price=(0.1, 0.2))], audit=AuditLog(sink))
    ab = ABTest(
        {"current": current, "candidate": candidate}, split={"current": 50, "candidate": 50}
    )
    arms: dict[str, set[str]] = {}
    for _ in range(2):
        for u in range(100):
            answer = await ab.achat("hello", user=f"user-{u}")
            arms.setdefault(f"user-{u}", set()).add(answer.decision.arm or "")
            score = 1.0 if answer.decision.arm == "current" else float(u % 4 != 0)
            ab.feedback(answer.decision.request_id, score)
    assert all(len(a) == 1 for a in arms.values()), "each user stays in one arm"
    report = ab.report()
    assert report.arms["current"].calls + report.arms["candidate"].calls == 200
    assert 0.35 < report.arms["candidate"].calls / 200 < 0.65
    assert report.arms["candidate"].mean_cost_usd < report.arms["current"].mean_cost_usd / 10
    assert report.arms["current"].feedback_mean == 1.0
    assert report.feedback_p_value is not None and report.feedback_p_value < 0.01
    await current.drain()
    assert {r.arm for r in sink.records} == {"current", "candidate"}
    streamed = [c async for c in ab.astream("hello", user="user-1")]
    assert streamed[-1].decision.arm == next(iter(arms["user-1"]))
    with pytest.raises(ConfigError, match="sum to 100"):
        ABTest({"a": current, "b": candidate}, split={"a": 50, "b": 40})
    assert welch_p_value([1.0, 1.0], [0.0, 0.0]) == 0.0
    assert welch_p_value([1.0, 0.0, 1.0], [1.0, 0.0, 1.0]) == pytest.approx(1.0)
    await current.aclose()
    await candidate.aclose()


def test_router_feedback_without_a_store_keeps_ratings_in_memory(server: ScriptedServer) -> None:
    server.add("m", Reply("ok"))
    router: Router = make_router(server, [spec("m")])
    answer = router.chat("hi")
    router.feedback(answer.decision.request_id, 0.0, comment="wrong")
    [record] = router.feedback_log.store.records()
    assert record.comment == "wrong" and record.model == "m"
