"""Native async providers over httpx, and building them from registry `ProviderSpec`s."""

from langroute.providers.anthropic import AnthropicProvider
from langroute.providers.base import Provider
from langroute.providers.openai import OpenAIProvider
from langroute.registry.spec import ProviderSpec


def provider_from_spec(name: str, spec: ProviderSpec) -> Provider:
    """A provider client for `spec`; the key comes from `spec.api_key_env` when set."""
    if spec.kind == "anthropic":
        return AnthropicProvider(name=name, base_url=spec.base_url, api_key_env=spec.api_key_env)
    return OpenAIProvider(name=name, base_url=spec.base_url, api_key_env=spec.api_key_env)


__all__ = ["AnthropicProvider", "OpenAIProvider", "Provider", "provider_from_spec"]
