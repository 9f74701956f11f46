"""The model registry: built-in catalog, overrides from Python/TOML/YAML, clear errors."""

from __future__ import annotations

import datetime as dt

import pytest

from langroute import ConfigError, ModelSpec, Registry, Router, UnknownModelError
from langroute.types import Usage


def test_builtin_catalog_covers_the_required_providers():
    registry = Registry.builtin()
    assert len(registry) >= 20
    assert registry.as_of == dt.date(2026, 11, 29)
    providers = {spec.provider for spec in registry}
    hosts = {d.provider for spec in registry for d in spec.all_deployments}
    assert {"openai", "anthropic", "google", "mistral", "deepseek", "dashscope"} <= providers
    assert {"groq", "together"} <= hosts  # Meta Llama hosts
    families = " ".join(spec.name for spec in registry)
    for family in ("gpt", "claude", "gemini", "mistral", "llama", "deepseek", "qwen"):
        assert family in families
    for spec in registry:
        assert spec.pricing.source and spec.pricing.source.startswith("https://"), spec.name
        assert spec.pricing.as_of is not None, spec.name
        assert spec.version, spec.name
        assert spec.quality, spec.name
        for dep in spec.all_deployments:
            assert dep.provider in registry.providers, (spec.name, dep.provider)


def test_redundant_deployments_in_the_catalog():
    llama = Registry.builtin().get("llama-3.3-70b")
    assert [d.provider for d in llama.all_deployments] == ["groq", "together"]


def test_cost_uses_cached_price():
    spec = Registry.builtin().get("gpt-4.1")
    assert spec.cost(1_000_000, 0) == pytest.approx(2.0)
    assert spec.cost(1_000_000, 0, cached_tokens=1_000_000) == pytest.approx(0.5)
    assert spec.cost(0, 1_000_000) == pytest.approx(8.0)


def test_cache_writes_cost_their_price():
    """Anthropic bills prompt tokens written to its cache at 1.25x input (2x for an hour's
    cache); billing them at the input price under-reported such calls, and budgets."""
    spec = Registry.builtin().get("claude-sonnet-4-5")
    assert spec.pricing.cost(1_000_000, 0, cache_write_tokens=1_000_000) == pytest.approx(3.75)
    hour = spec.pricing.cost(1_000_000, 0, cache_write_tokens=1_000_000, cache_write_1h_tokens=1)
    assert hour == pytest.approx(3.75 + 2.25 / 1e6)
    mixed = Usage(
        prompt_tokens=100_000,
        cached_tokens=20_000,
        cache_write_tokens=50_000,
        cache_write_1h_tokens=10_000,
        completion_tokens=1_000,
    )
    expected = (30_000 * 3 + 20_000 * 0.3 + 40_000 * 3.75 + 10_000 * 6 + 1_000 * 15) / 1e6
    assert spec.pricing.cost_of(mixed) == pytest.approx(expected)
    # counts that exceed the prompt are clamped to it, never billed twice
    assert spec.pricing.cost(10, 0, cached_tokens=8, cache_write_tokens=8) == pytest.approx(
        (8 * 0.3 + 2 * 3.75) / 1e6
    )
    # a model without write prices bills writes as input
    assert Registry.builtin().get("gpt-4.1").cost(1_000_000, 0) == pytest.approx(
        Registry.builtin().get("gpt-4.1").pricing.cost(1_000_000, 0, cache_write_tokens=10)
    )


def test_override_from_python_merges_nested_fields():
    registry = Registry.builtin()
    spec = registry.override("gpt-4o-mini", {"pricing": {"input": 0.1}})
    assert spec.pricing.input == 0.1
    assert spec.pricing.output == 0.60  # untouched
    assert spec.context_window == 128000


def test_extend_from_toml_and_yaml(tmp_path):
    toml = tmp_path / "models.toml"
    toml.write_text(
        '[providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:8000/v1"\n\n'
        '[[models]]\nname = "my-llama"\nprovider = "local"\ncontext_window = 8192\n'
        "max_output_tokens = 2048\npricing = { input = 0.0, output = 0.0 }\n"
        "quality = { chat = 0.7 }\n\n"
        '[[models]]\nname = "gpt-4o"\npricing = { output = 9.0 }\n'
    )
    yaml_file = tmp_path / "more.yaml"
    yaml_file.write_text(
        "models:\n  - name: my-coder\n    provider: local\n    context_window: 16000\n"
        "    max_output_tokens: 4000\n    pricing: {input: 0.5, output: 1.5}\n"
        "    capabilities: {tools: false}\n"
    )
    registry = Registry.builtin().load_file(toml).load_file(yaml_file)
    assert registry.get("my-llama").quality_for("chat") == 0.7
    assert registry.get("gpt-4o").pricing.output == 9.0
    assert registry.get("gpt-4o").pricing.input == 2.5
    assert registry.get("my-coder").capabilities.tools is False
    assert registry.provider("local").base_url == "http://127.0.0.1:8000/v1"
    router = Router(["my-llama", "my-coder"], registry=registry)
    assert router.route("hello").chosen in ("my-llama", "my-coder")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"pricing": {"input": -1, "output": 1}}, "pricing.input"),
        ({"context_window": 0}, "context_window"),
        ({"max_output_tokens": 999_999}, "exceeds context_window"),
        ({"quality": {"chat": 1.5}}, "quality"),
        ({"quality": {"poetry": 0.5}}, "quality.poetry"),
        ({"latency": {"ttft_p50_ms": 900, "ttft_p95_ms": 100}}, "ttft_p95_ms"),
        ({"contex_window": 10}, "contex_window: unknown key; did you mean 'context_window'?"),
        (
            {"capabilities": {"toolz": True}},
            "capabilities.toolz: unknown key; did you mean 'tools'?",
        ),
    ],
)
def test_impossible_values_and_unknown_keys_name_the_field(fields, named):
    registry = Registry.builtin()
    with pytest.raises(ConfigError) as info:
        registry.override("gpt-4o", fields)
    assert named in str(info.value)
    assert "gpt-4o" in str(info.value)


def test_bad_file_names_the_file_and_entry(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[models]]\nname = "x"\nprovider = "openai"\ncontext_window = 10\n'
        'max_output_tokens = 5\npricing = { input = 1, output = 1, currency = "EUR" }\n'
    )
    with pytest.raises(ConfigError) as info:
        Registry.builtin().load_file(bad)
    message = str(info.value)
    assert "bad.toml" in message and "models[0]" in message and "pricing.currency" in message
    wrong_top = tmp_path / "top.toml"
    wrong_top.write_text("[[model]]\nname = 'x'\n")
    with pytest.raises(ConfigError, match="unknown top-level key"):
        Registry.builtin().load_file(wrong_top)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UnknownModelError) as info:
        Router(["gpt-4o", "gpt-4o-mni"])
    message = str(info.value)
    assert "gpt-4o-mni" in message
    assert "Did you mean" in message and "gpt-4o-mini" in message
    assert "claude-sonnet-4-5" in message  # the whole known list is there


def test_unknown_provider_is_a_config_error():
    registry = Registry.builtin()
    registry.register(
        ModelSpec(
            name="orphan",
            provider="nowhere",
            context_window=100,
            max_output_tokens=10,
            pricing={"input": 1, "output": 1},
        )
    )
    with pytest.raises(ConfigError, match="provider 'nowhere'"):
        Router(["orphan"], registry=registry)
