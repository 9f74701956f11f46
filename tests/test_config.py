"""RouterConfig: a whole router from a file, with errors that name the field."""

from __future__ import annotations

import pytest

from langroute import (
    AuthError,
    ComplexityTiers,
    ConfigError,
    FallbackChain,
    Router,
    RouterConfig,
    Single,
)
from langroute.cli import main
from langroute.testing import Fail, Reply
from tests.conftest import TEST_KEY

CONFIG = """
models = ["gpt-4.1-nano", "gpt-4.1", "claude-sonnet-4-5", "my-model"]
models_files = ["models.toml"]

[[rules]]
name = "legal"
keywords = ["contract", "liability"]
domain = "reasoning"
complexity = 0.6

[policy]
type = "complexity-tiers"
tiers = [ { max_complexity = 0.4, models = ["gpt-4.1-nano", "my-model"] },
          { max_complexity = 1.0, models = ["claude-sonnet-4-5", "gpt-4.1"] } ]

[strategy]
type = "fallback"
fallback_on = ["RateLimited", "ServerError", "AuthError"]

[retry]
attempts = 3
attempt_timeout_s = 20
deadline_s = 45
"""

MODELS = """
[[models]]
name = "my-model"
provider = "openai"
context_window = 8000
max_output_tokens = 1000
pricing = { input = 0.01, output = 0.02 }
"""


def test_router_from_a_toml_file(tmp_path):
    (tmp_path / "router.toml").write_text(CONFIG)
    (tmp_path / "models.toml").write_text(MODELS)
    router = Router.from_config(tmp_path / "router.toml")
    assert router.models == ["gpt-4.1-nano", "gpt-4.1", "claude-sonnet-4-5", "my-model"]
    assert isinstance(router.policy, ComplexityTiers)
    assert isinstance(router.strategy, FallbackChain)
    assert AuthError in router.strategy.fallback_on
    assert router.retry.attempts == 3
    assert (router.retry.attempt_timeout_s, router.retry.deadline_s) == (20, 45)
    assert router.route("hi").chosen == "gpt-4.1-nano"
    legal = router.route("Review the liability clause of this contract.")
    assert legal.chosen == "claude-sonnet-4-5"
    assert "legal" in legal.profile.signals


def test_router_from_a_dict_and_yaml(tmp_path):
    router = Router.from_config(
        {
            "models": ["gpt-4o-mini"],
            "strategy": {"type": "single"},
            "policy": {"type": "weighted", "cost": 1.0},
        }
    )
    assert isinstance(router.strategy, Single)
    yaml_file = tmp_path / "router.yaml"
    yaml_file.write_text("models: [gpt-4o-mini, gpt-4o]\npolicy:\n  type: latency-optimized\n")
    assert Router.from_config(yaml_file).policy.name == "latency-optimized"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"modles": ["x"]}, "modles: unknown key; did you mean 'models'?"),
        (
            {"strategy": {"treshold": 0.6}},
            "strategy.treshold: unknown key; did you mean 'threshold'",
        ),
        ({"retry": {"atempts": 3}}, "retry.atempts: unknown key; did you mean 'attempts'?"),
        (
            {"policy": {"type": "cost-optimized", "fallback_below": True}},
            "policy.cost-optimized.fallback_below: unknown key; did you mean 'fallback_below_bar'?",
        ),
        ({"retry": {"zzz": 3}}, "retry.zzz: unknown key; remove it or check its spelling"),
        ({"policy": {"type": "cheapest"}}, "policy"),
        ({"strategy": {"fallback_on": ["Oops"]}}, "strategy.fallback_on.0"),
        ({"retry": {"attempts": 0}}, "retry.attempts"),
        ({"retry": {"deadline_s": 0}}, "retry.deadline_s"),
        ({"classifier": {"type": "embedding", "embedder": "bert"}}, "classifier.embedder"),
        (
            {
                "policy": {
                    "type": "complexity-tiers",
                    "tiers": [{"max_complexity": 0.5, "models": ["a"]}],
                }
            },
            "max_complexity = 1",
        ),
    ],
)
def test_bad_config_names_the_field(data, named):
    with pytest.raises(ConfigError) as info:
        RouterConfig.from_data(data)
    assert named in str(info.value)


def test_a_table_without_its_kind_lists_the_kinds():
    with pytest.raises(ConfigError) as info:
        RouterConfig.from_data({"models": ["gpt-4o-mini"], "policy": {"kind": "learned"}})
    message = str(info.value)
    assert "policy: needs a 'type' key naming its kind: one of 'cost-optimized'" in message
    assert "'learned'" in message


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("broken.toml", 'models = ["gpt-4o-mini"\n', "broken.toml: not valid TOML: Unclosed array"),
        (
            "broken.yaml",
            "models: [gpt-4o-mini\n  policy: {type: x}\n",
            "broken.yaml: not valid YAML at line 2, column 9",
        ),
        ("router.json", "{}", "unknown file type '.json'; use .toml or .yaml"),
        (
            "secret.toml",
            'models = ["gpt-4o-mini"]\nstate = "redis//:hunter2@cache:6379"\n',
            "state store '***@cache:6379' is not understood",
        ),
        (
            "shape.toml",
            'models = ["gpt-4o-mini"]\nstate = {url = "redis://:hunter2@cache:6379"}\n',
            "state: Input should be a valid string (got {'url': 'redis://:***@cache:6379'})",
        ),
        (
            "files.toml",
            'models = ["gpt-4o-mini"]\nmodels_files = ["extra.toml"]\n',
            "models file not found: ",
        ),
    ],
)
def test_a_bad_config_file_is_a_config_error_naming_it(tmp_path, name, text, says):
    """Never a raw parser traceback or `FileNotFoundError`; never the file's text (a
    password in a store URL is masked)."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        Router.from_config(path)
    assert says in str(info.value)
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError, match=r"router config not found: .*missing\.toml"):
        Router.from_config(tmp_path / "missing.toml")


def test_a_config_file_picks_the_embedding_classifier_over_the_rules() -> None:
    from langroute.classify import EmbeddingClassifier
    from langroute.embed import MiniLMEmbedder, StaticEmbedder

    data = {
        "models": ["gpt-4.1-nano", "gpt-4.1"],
        "rules": [{"name": "legal", "keywords": ["liability"], "domain": "reasoning"}],
        "classifier": {"type": "embedding"},
    }
    router = RouterConfig.from_data(data).build()
    assert isinstance(router.classifier, EmbeddingClassifier)
    assert isinstance(router.classifier.embedder, StaticEmbedder)
    assert router.classifier.fallback.rules[-1].name == "legal", "the rules stay the fallback"
    decision = router.route("Write a haiku about the sea at night")
    assert decision.profile.domain == "creative"
    assert "embedding: route creative" in " ".join(decision.profile.signals)
    data["classifier"] = {"type": "embedding", "embedder": "minilm", "top_k": 2}
    minilm = RouterConfig.from_data(data).build().classifier
    assert isinstance(minilm, EmbeddingClassifier)
    assert isinstance(minilm.embedder, MiniLMEmbedder)
    assert minilm.top_k == 2


def test_cli_uses_a_config_file(tmp_path, capsys):
    (tmp_path / "router.toml").write_text(CONFIG)
    (tmp_path / "models.toml").write_text(MODELS)
    assert main(["route", "hello", "--config", str(tmp_path / "router.toml")]) == 0
    assert "policy complexity-tiers → gpt-4.1-nano" in capsys.readouterr().out


def test_config_providers_point_models_at_a_server(tmp_path, server, monkeypatch):
    monkeypatch.setenv("LOCAL_KEY", TEST_KEY)
    server.add("served-model", Fail(503))
    server.add("backup-model", Reply("from backup"))
    (tmp_path / "models.toml").write_text(
        '[[models]]\nname = "served"\nprovider = "mine"\nversion = "served-model"\n'
        "context_window = 8000\nmax_output_tokens = 1000\npricing = { input = 1, output = 1 }\n"
        '[[models]]\nname = "backup"\nprovider = "mine"\nversion = "backup-model"\n'
        "context_window = 8000\nmax_output_tokens = 1000\npricing = { input = 9, output = 9 }\n"
    )
    router = Router.from_config(
        {
            "models": ["served", "backup"],
            "models_files": [str(tmp_path / "models.toml")],
            "providers": {
                "mine": {
                    "kind": "openai",
                    "base_url": server.openai_url,
                    "api_key_env": "LOCAL_KEY",
                }
            },
            "retry": {"attempts": 1},
        }
    )
    completion = router.chat("hello")
    assert completion.content == "from backup"
    assert [a.outcome for a in completion.decision.attempts] == ["error", "ok"]


def test_a_config_file_sets_up_state_budgets_cache_and_audit(tmp_path, server, monkeypatch):
    from langroute import BudgetExceeded
    from langroute._sync import run_sync
    from langroute.audit import read_records
    from langroute.state import SQLiteBudgets, SQLiteCache, SQLiteHealth

    monkeypatch.setenv("LOCAL_KEY", TEST_KEY)
    server.add("m-1", Reply("hello back"))
    (tmp_path / "models.toml").write_text(
        '[[models]]\nname = "m"\nprovider = "mine"\nversion = "m-1"\n'
        "context_window = 8000\nmax_output_tokens = 100\npricing = { input = 1, output = 1 }\n"
    )
    (tmp_path / "router.toml").write_text(
        f"""
models = ["m"]
models_files = ["models.toml"]
state = "sqlite:state.db"

[providers.mine]
kind = "openai"
base_url = "{server.openai_url}"
api_key_env = "LOCAL_KEY"

[budgets]
caps = [{{ limit_usd = 0.05, per = "tenant", period = "month" }}]

[cache]
ttl_s = 60

[audit]
jsonl = "audit/records.jsonl"
"""
    )
    router = Router.from_config(tmp_path / "router.toml")
    assert isinstance(router.health, SQLiteHealth)
    assert isinstance(router.budgets.store, SQLiteBudgets)
    assert isinstance(router.cache.store, SQLiteCache)
    first = router.chat("hi", tenant="acme", temperature=0)
    run_sync(router.drain())  # SQLite cache writes run off the response path
    again = router.chat("hi", tenant="acme", temperature=0)
    assert (first.content, again.decision.cache) == ("hello back", "exact")
    router.budgets.store.settle(
        [line for _, line in router.budgets.lines(first.decision.features, "m")], "x", 50_000
    )
    with pytest.raises(BudgetExceeded, match="tenant=\\* per month"):
        router.chat("something else", tenant="acme", temperature=0)
    router.audit.flush()
    records = list(read_records(tmp_path / "audit" / "records.jsonl"))
    assert [r.outcome for r in records] == ["ok", "ok", "error"]
    assert (tmp_path / "state.db").exists()
    with pytest.raises(ConfigError, match="state store 'postgres://x' is not understood"):
        Router.from_config({"models": ["gpt-4o"], "state": "postgres://x"})
