"""Batch routing: non-urgent requests through the OpenAI and Anthropic batch APIs of the
scripted server, at batch prices, delivered when the batch ends."""

from __future__ import annotations

import pytest

from langroute import AllModelsFailed, AuditLog, BatchQueue, Budget, Budgets
from langroute.audit import MemoryAuditSink
from langroute.testing import Fail, Reply, ScriptedServer
from tests.conftest import make_router, spec


def batched(name: str, provider: str = "local", price=(2.0, 8.0)):
    """A model with a batch price of half its list price."""
    model = spec(name, provider=provider, price=price)
    pricing = model.pricing.model_copy(
        update={"batch_input": price[0] / 2, "batch_output": price[1] / 2}
    )
    return model.model_copy(update={"pricing": pricing})


@pytest.mark.parametrize("provider", ["local", "claude"])
async def test_queued_requests_are_answered_by_the_batch_api_at_batch_prices(
    aserver: ScriptedServer, provider: str
) -> None:
    aserver.add(
        "m", Reply(lambda text: f"answer to {text}", prompt_tokens=100, completion_tokens=50)
    )
    aserver.batch_delay_s = 0.2
    sink = MemoryAuditSink()
    budgets = Budgets([Budget(limit_usd=10, per="tenant")])
    router = make_router(aserver, [batched("m", provider)], audit=AuditLog(sink), budgets=budgets)
    queue = BatchQueue(router, poll_every_s=0.05)
    jobs = [await queue.add(f"question {i}", tenant="acme") for i in range(5)]
    assert queue.queued == 5
    features = jobs[0].request.features
    held = budgets.states(features, ["m"])[0].held_usd
    assert held > 0, "the worst case at the batch price is held while the batch runs"
    await queue.run(timeout_s=10)
    answers = [await job for job in jobs]
    assert [a.content for a in answers] == [f"answer to question {i}" for i in range(5)]
    batch_cost = (100 * 1.0 + 50 * 4.0) / 1e6
    assert all(a.cost_usd == pytest.approx(batch_cost) for a in answers), "half the list price"
    decision = answers[0].decision
    assert decision.strategy == "batch" and decision.answered_by == "m"
    assert decision.reasons[0].startswith(f"batch API of {provider} at $1/$4 per M tokens")
    api = "openai" if provider == "local" else "anthropic"
    assert aserver.count("m") == 5 and {c.api for c in aserver.calls} == {f"{api}-batch"}
    assert len(aserver.batches) == 1, "one batch for the five requests"
    [state] = budgets.states(features, ["m"])
    assert state.held_usd == 0 and state.spent_usd == pytest.approx(5 * batch_cost)
    await router.drain()
    assert [r.cost_usd for r in sink.records] == pytest.approx([batch_cost] * 5)
    assert {r.strategy for r in sink.records} == {"batch"}
    await router.aclose()


async def test_failed_lines_raise_and_unbatchable_requests_run_at_once(
    aserver: ScriptedServer,
) -> None:
    aserver.add("m", script=[Reply("fine"), Fail(500, "bad line")], default=Reply("fine"))
    aserver.add("plain", Reply("now"))
    router = make_router(aserver, [batched("m")])
    queue = BatchQueue(router, poll_every_s=0.01)
    ok, bad = await queue.add("one"), await queue.add("two")
    await queue.run(timeout_s=5)
    assert (await ok).content == "fine"
    with pytest.raises(AllModelsFailed) as info:
        await bad
    assert info.value.decision.attempts[0].status == 500

    no_batch_price = make_router(aserver, [spec("plain")])
    job = await BatchQueue(no_batch_price).add("urgent after all")
    assert (await job).content == "now", "nothing can batch it: answered at once"
    assert aserver.calls[-1].api == "openai"
    await router.aclose()
    await no_batch_price.aclose()
