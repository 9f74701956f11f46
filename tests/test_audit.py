"""Audit trail: one complete record per routed call, to JSONL and SQLite; prompts off by
default or redacted; secrets never written; `langroute audit` summarises spend."""

from __future__ import annotations

import json

import pytest

from langroute import (
    AllModelsFailed,
    AuditLog,
    Budget,
    Budgets,
    ConfigError,
    JSONLAuditSink,
    ResponseCache,
    SQLiteAuditSink,
)
from langroute.audit import EMAIL_PATTERN, MemoryAuditSink, Redactor, read_records, summarise
from langroute.cli import main
from langroute.testing import Fail, Reply, ScriptedServer
from tests.conftest import TEST_KEY, make_router, spec


async def test_one_record_per_call_with_everything_that_explains_it(
    aserver: ScriptedServer, tmp_path
) -> None:
    jsonl, db = tmp_path / "audit.jsonl", tmp_path / "audit.db"
    audit = AuditLog([JSONLAuditSink(jsonl), SQLiteAuditSink(db)])
    cheap = spec("cheap", price=(0.1, 0.2), version="cheap-2025-01-01")
    strong = spec("strong", price=(5, 10), provider="claude", version="strong-2025-06-01")
    aserver.add("cheap-2025-01-01", Fail(503, "overloaded"))
    aserver.add("strong-2025-06-01", Reply("answer", prompt_tokens=30, completion_tokens=20))
    router = make_router(
        aserver,
        [cheap, strong],
        audit=audit,
        budgets=Budgets([Budget(limit_usd=5, per="tenant")]),
        cache=ResponseCache(),
    )
    answer = await router.achat("hello", tenant="acme", user="u1", temperature=0)
    await router.achat("hello", tenant="acme", user="u1", temperature=0)  # a cache hit
    aserver.models["strong-2025-06-01"].default = Fail(500)
    with pytest.raises(AllModelsFailed):
        await router.achat("other", tenant="acme")
    await router.drain()
    for path in (jsonl, db):
        records = list(read_records(path))
        assert len(records) == 3
        first, hit, failed = records
        assert first.request_id == answer.decision.request_id
        assert (first.tenant, first.user, first.outcome) == ("acme", "u1", "ok")
        assert first.chosen == "cheap" and first.answered_by == "strong"
        assert first.version == "strong-2025-06-01" and first.provider == "claude"
        assert [a.outcome for a in first.attempts] == ["error", "error", "ok"]
        assert first.attempts[0].error_type == "ServerError"
        assert first.candidates[0]["reasons"], "each candidate with its reasons"
        assert (first.prompt_tokens, first.completion_tokens) == (30, 20)
        assert first.cost_usd == pytest.approx(answer.cost_usd)
        assert first.premium_model == "strong" and first.premium_cost_usd == pytest.approx(
            first.cost_usd
        )
        assert first.budgets[0].limit_usd == 5 and first.latency_ms > 0
        assert first.features["tenant"] == "acme" and "last_user_text" not in first.features
        assert first.prompt is None, "prompt text is off by default"
        assert hit.cache == "exact" and hit.cost_usd == 0 and hit.attempts == []
        assert failed.outcome == "error" and failed.error_type == "AllModelsFailed"
    await router.aclose()


async def test_prompts_when_asked_are_redacted_and_secrets_never_written(
    aserver: ScriptedServer,
) -> None:
    sink = MemoryAuditSink()
    audit = AuditLog(sink, include_prompts=True, redact=[EMAIL_PATTERN], secrets=["hunter22"])
    aserver.add("m", Fail(401, f"Incorrect API key provided: {TEST_KEY}"))
    router = make_router(aserver, [spec("m")], audit=audit)
    prompt = (
        f"Mail jane.doe@example.com, my key is {TEST_KEY}, password: hunter22, "
        "and Bearer abcdefghijklmnop"
    )
    with pytest.raises(AllModelsFailed):
        await router.achat(prompt)
    await router.drain()
    [record] = sink.records
    text = record.model_dump_json()
    for secret in (TEST_KEY, "jane.doe@example.com", "hunter22", "abcdefghijklmnop"):
        assert secret not in text
    assert record.prompt is not None and record.prompt.startswith("Mail [redacted], my key is")
    assert record.error_type == "AllModelsFailed" and "[redacted]" in (record.error or "")
    await router.aclose()


def test_the_redactor_keeps_field_names_and_rejects_bad_patterns() -> None:
    from langroute import ConfigError

    redact = Redactor()
    assert redact('{"api_key": "abcdef123456"}') == '{"api_key": "[redacted]"}'
    assert redact("prompt_tokens: 123456789") == "prompt_tokens: 123456789"
    with pytest.raises(ConfigError, match="is not a regex"):
        Redactor(["(unclosed"])


def test_a_failing_sink_never_breaks_routing(server: ScriptedServer) -> None:
    class Broken:
        def write(self, records):
            raise OSError("disk full")

    audit = AuditLog(Broken())
    server.add("m", Reply("ok"))
    router = make_router(server, [spec("m")], audit=audit)
    assert router.chat("hi").content == "ok"
    audit.flush()
    assert audit.errors == 1


async def test_langroute_audit_summarises_spend_and_savings(
    aserver: ScriptedServer, tmp_path, capsys
) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(JSONLAuditSink(path))
    cheap = spec("cheap", price=(0.1, 0.2))
    strong = spec("strong", price=(5, 10), quality=0.95)
    aserver.add("cheap", Reply("c", prompt_tokens=100, completion_tokens=50))
    aserver.add("strong", Reply("s", prompt_tokens=100, completion_tokens=50))
    router = make_router(aserver, [cheap, strong], audit=audit)
    for tenant in ("acme", "acme", "globex"):
        await router.achat("hi", tenant=tenant)
    await router.achat("hi", tenant="globex", hints={"model": "strong"})
    await router.drain()
    assert main(["audit", str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 calls (0 failed, 0 from the cache)" in out
    assert "always-premium (strong)" in out and "routing saved" in out
    assert "by tenant" in out and "acme" in out and "by day" in out
    assert main(["audit", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    premium = 4 * (100 * 5 + 50 * 10) / 1e6
    spent = 3 * (100 * 0.1 + 50 * 0.2) / 1e6 + (100 * 5 + 50 * 10) / 1e6
    assert data["total"]["premium_cost_usd"] == pytest.approx(premium)
    assert data["total"]["cost_usd"] == pytest.approx(spent)
    assert data["savings_share"] == pytest.approx(1 - spent / premium)
    assert data["by_model"]["cheap"]["calls"] == 3
    assert main(["audit", str(tmp_path / "missing.jsonl")]) == 2
    await router.aclose()


async def test_an_audit_file_cut_off_mid_write_is_read_and_a_bad_line_is_named(
    aserver: ScriptedServer, tmp_path, capsys, caplog
) -> None:
    """A process stopped while writing leaves a last line without its newline: the summary
    leaves it out with a warning. Any other bad line is an error naming its line number;
    it used to be a pydantic traceback."""
    path = tmp_path / "audit.jsonl"
    aserver.add("m", Reply("ok"))
    router = make_router(aserver, [spec("m")], audit=AuditLog(JSONLAuditSink(path)))
    for _ in range(2):
        await router.achat("hi")
    await router.drain()
    await router.aclose()
    whole = path.read_text()
    path.write_text(whole + whole.splitlines()[0][:40])
    assert len(list(read_records(path))) == 2
    assert "left out a last line cut off mid-write" in caplog.text
    assert main(["audit", str(path)]) == 0
    assert "2 calls" in capsys.readouterr().out
    path.write_text(whole.splitlines()[0] + "\n{not json}\n" + whole)
    with pytest.raises(ConfigError, match=r"audit.jsonl:2 is not an audit record \(Invalid JSON"):
        list(read_records(path))
    assert main(["audit", str(path)]) == 2
    assert "audit.jsonl:2 is not an audit record" in capsys.readouterr().err


async def test_cost_reports_show_provider_arbitrage(aserver: ScriptedServer, tmp_path) -> None:
    """One model served by two providers at different prices: `balance="cheapest"` takes the
    cheaper one, and the summary says how much that saved against the list price."""
    path = tmp_path / "audit.jsonl"
    served_twice = spec(
        "llama",
        price=(0.9, 0.9),
        deployments=[
            {"provider": "claude", "model_id": "llama", "pricing": {"input": 0.9, "output": 0.9}},
            {"provider": "local", "model_id": "llama", "pricing": {"input": 0.2, "output": 0.2}},
        ],
    )
    aserver.add("llama", Reply("ok", prompt_tokens=1000, completion_tokens=1000))
    router = make_router(
        aserver, [served_twice], balance="cheapest", audit=AuditLog(JSONLAuditSink(path))
    )
    for _ in range(3):
        answer = await router.achat("hi")
        assert answer.provider == "local"
    await router.drain()
    summary = summarise(read_records(path))
    assert summary.total.cost_usd == pytest.approx(3 * 2000 * 0.2 / 1e6)
    assert summary.arbitrage_usd == pytest.approx(3 * 2000 * 0.7 / 1e6)
    assert set(summary.by_provider) == {"local"}
    assert "provider arbitrage saved $0.0042" in summary.table()
    await router.aclose()


async def test_prompt_cache_savings_are_reported_and_not_taken_for_arbitrage(
    aserver: ScriptedServer, tmp_path
) -> None:
    """One provider at list price, a cached system prompt read on the second call: the
    report said provider arbitrage saved what the cache saved (its list cost ignored cache
    reads and writes); it now says arbitrage saved nothing and caching saved the reads less
    the writes' premium."""
    from langroute.registry.spec import Pricing

    path = tmp_path / "audit.jsonl"
    claude = spec("claude-m", provider="claude", context_window=200_000).model_copy(
        update={"pricing": Pricing(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)}
    )
    aserver.add("claude-m", Reply("ok"))
    router = make_router(aserver, [claude], audit=AuditLog(JSONLAuditSink(path)))
    rules = [{"type": "text", "text": "Follow the house style. " * 300, "cache_control": {}}]
    for question in ("Tone?", "Spelling?"):
        await router.achat(
            [{"role": "system", "content": rules}, {"role": "user", "content": question}]
        )
    await router.drain()
    first, second = read_records(path)
    written = first.cache_write_tokens
    assert written > 1024 and second.cached_tokens == written
    assert first.prompt_cache_saved_usd == pytest.approx(-written * 0.75 / 1e6)
    assert second.prompt_cache_saved_usd == pytest.approx(written * 2.7 / 1e6)
    summary = summarise(read_records(path))
    assert summary.arbitrage_usd == pytest.approx(0.0)
    assert summary.total.prompt_cache_saved_usd == pytest.approx(written * 1.95 / 1e6)
    assert "prompt caching saved $0.00" in summary.table()
    await router.aclose()
