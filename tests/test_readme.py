"""The README's Python examples run as written, over real HTTP against the scripted server.

Every catalog provider, `ChatOpenAI`/`ChatAnthropic` and LlamaIndex's `OpenAI`/`Anthropic`
find the server through their SDKs' environment variables (`OPENAI_BASE_URL`,
`ANTHROPIC_BASE_URL`, …), so the examples need no edit. The only substitutions: the Redis
URL becomes the test session's server, and `router.npz` is a small artifact trained here.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from langroute import Registry
from langroute.testing import ScriptedServer, smart_reply
from tests.conftest import TEST_KEY

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
REDIS_IN_README = "redis://127.0.0.1:6379/0"


def _block_id(source: str) -> str:
    """A block's test id: the first line that does something other than import."""
    for line in source.splitlines():
        if line.strip() and not line.startswith(("from ", "import ", " ", ")", "#")):
            return re.sub(r"\W+", "-", line)[:40].strip("-")
    return "block"


@pytest.fixture
def readme_env(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every catalog model (by name, pinned version and deployment id) on the scripted
    server, every catalog provider's key and URL variable pointing at it, a fresh cwd, and
    the catalog's own date as today's: the examples name models still served then."""
    registry = Registry.builtin()
    assert registry.as_of is not None
    monkeypatch.setenv("LANGROUTE_TODAY", registry.as_of.isoformat())
    names: set[str] = set()
    for spec in registry:
        names |= {spec.name, spec.version or spec.name}
        names |= {d.model_id for d in spec.deployments}
    for name in names:
        server.add(name, smart_reply)
    for provider in registry.providers.values():
        assert provider.base_url_env and provider.api_key_env, provider
        url = server.anthropic_url if provider.kind == "anthropic" else server.openai_url
        monkeypatch.setenv(provider.base_url_env, url)
        monkeypatch.setenv(provider.api_key_env, TEST_KEY)
    monkeypatch.setenv("OPENAI_API_BASE", server.openai_url)  # LlamaIndex's OpenAI reads this
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _learned_artifact(path: Path) -> None:
    """A small `router.npz` over the README's dataset names (what `langroute train` writes)."""
    from langroute.embed import HashingEmbedder
    from langroute.eval import EvalDataset, EvalItem, Outcome
    from langroute.eval.train import train_router

    items = []
    for i in range(80):
        hard = i % 2 == 0
        prompt = f"Prove theorem {i} rigorously" if hard else f"Say hello to friend {i}"
        items.append(
            EvalItem(
                id=str(i),
                prompt=prompt,
                outcomes={
                    "gpt-4-1106-preview": Outcome(score=1.0, cost_usd=0.01),
                    "gpt-4o-mini": Outcome(score=0.0 if hard else 1.0, cost_usd=0.001),
                },
            )
        )
    train_router(EvalDataset("readme", items), embedder=HashingEmbedder()).save(path)


def _run(source: str) -> tuple[dict[str, Any], str]:
    """Execute a README block as a user would paste it (top-level `async for` included);
    its namespace and what it printed."""
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = eval(code, namespace)
        if inspect.iscoroutine(result):
            asyncio.run(result)
    return namespace, out.getvalue()


@pytest.mark.parametrize("source", BLOCKS, ids=[_block_id(b) for b in BLOCKS])
def test_a_readme_example_runs_as_written(
    source: str,
    readme_env: Path,
    server: ScriptedServer,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if REDIS_IN_README in source:
        source = source.replace(REDIS_IN_README, request.getfixturevalue("redis_url"))
    if "router.npz" in source:
        _learned_artifact(readme_env / "router.npz")
    settings_llm = None
    if "Settings.llm" in source:
        from llama_index.core import Settings

        settings_llm = Settings._llm
    try:
        with caplog.at_level(logging.WARNING, logger="langroute.router"):
            namespace, printed = _run(source)
        assert "shut down by its provider" not in caplog.text, "an example names a retired model"
        _check(namespace, printed, server)
    finally:
        if "Settings.llm" in source:
            from llama_index.core import Settings

            Settings._llm = settings_llm


def _check(namespace: dict[str, Any], printed: str, server: ScriptedServer) -> None:
    """What each example promises, beyond running: answers came from the server."""
    if "completion" in namespace:  # the quickstart: a decision, an answer, a stream
        assert namespace["decision"].chosen in namespace["router"].models
        assert namespace["completion"].content and namespace["completion"].cost_usd > 0
        assert namespace["chunk"].decision is not None, "the last chunk carries the decision"
    if "llm" in namespace and "msg" in namespace:  # LangChain
        assert namespace["msg"].response_metadata["langroute"]["answered_by"]
        assert "'name': 'multiply'" in printed and "'args': {'a': 6, 'b': 7}" in printed
        assert "country=" in printed and "city=" in printed
    if "Settings" in namespace:  # LlamaIndex: the routed LLM is the global one and answers
        answer = namespace["Settings"].llm.complete("Say hello")
        assert answer.text and answer.additional_kwargs["langroute"]["answered_by"]
    if "EmbeddingClassifier" in namespace:
        assert printed.strip() == "creative"
    if "answer" in namespace:  # budgets, cache, audit, versions, shadow, feedback
        assert namespace["answer"].content
        namespace["router"].audit.flush()
        assert '"tenant":"acme"' in Path("audit.jsonl").read_text(), "the call was audited"
    if "STYLE_GUIDE" in namespace:  # prompt caching: the second call read the first's write
        first, second = namespace["first"], namespace["second"]
        assert first.usage.cache_write_tokens == second.usage.cached_tokens > 1024
        assert second.cost_usd < first.cost_usd / 3
    if "thinking" in namespace and "step" in namespace:  # a tool loop with thinking on
        step = namespace["step"]
        assert step.tool_calls and step.thinking and step.thinking[0].signature
        assert step.reasoning_text in printed
        last = server.calls[-1]  # the next step, routed on its own
        if "claude" in last.model:
            assert last.body["thinking"] == namespace["thinking"]
            assert last.body["messages"][1]["content"][0]["type"] == "thinking"
        else:
            assert "thinking" not in last.body and "signature" not in str(last.body)
    if "efforts" in namespace:  # one reasoning effort, fitted to each model
        sent = {c.model.split("-20")[0]: c.body for c in server.calls[-3:]}
        assert sent["gpt-6-luna"]["reasoning_effort"] == "low"
        assert sent["claude-sonnet-4-5"]["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        mistral = next(body for model, body in sent.items() if model.startswith("mistral-small"))
        assert "reasoning_effort" not in mistral and "thinking" not in mistral
        efforts = namespace["efforts"]
        assert efforts["gpt-6-luna"] > 0 and efforts["mistral-small"] == 0
    if "generations" in namespace:  # thinking and sampling as each Claude generation takes
        sent = {c.model: c.body for c in server.calls[-2:]}
        older, newer = sent["claude-sonnet-4-5-20250929"], sent["claude-sonnet-5-5"]
        assert older["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert newer["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert newer["output_config"] == {"effort": "low"}
        assert "temperature" not in older and "temperature" not in newer
    if "shop_reply" in namespace:  # a JSON schema to Claude, fitted to its subset
        assert namespace["shop_reply"].model == "claude-haiku-5-5"
        sent = server.calls[-1].body["output_config"]["format"]["schema"]
        assert sent["additionalProperties"] is False
        assert sent["properties"]["staff"] == {
            "type": "integer",
            "title": "Staff",
            "description": "{minimum: 0}",
        }
    if "policy" in namespace and "router" in namespace:
        decision = namespace["router"].route("Prove theorem 4 rigorously")
        assert decision.plan.policy == "learned"
    assert all(call.status == 200 for call in server.calls), [
        (c.model, c.status) for c in server.calls if c.status != 200
    ]


def test_every_readme_example_is_collected() -> None:
    """The README has Python examples, and the parser sees each one (a block the regex
    missed would go untested)."""
    assert len(BLOCKS) == README.read_text(encoding="utf-8").count("```python") >= 8
