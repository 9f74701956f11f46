"""Native async providers over httpx, and building them from registry `ProviderSpec`s."""

from langroute.providers._http import resolve_base_url
from langroute.providers.anthropic import AnthropicProvider
from langroute.providers.base import Provider
from langroute.providers.openai import OpenAIProvider
from langroute.registry.spec import ProviderSpec


def provider_from_spec(name: str, spec: ProviderSpec) -> Provider:
    """A provider client for `spec`; the key comes from `spec.api_key_env` when set, the URL
    from `spec.base_url_env` when that variable is set."""
    base_url = resolve_base_url(None, spec.base_url_env, spec.base_url)
    if spec.kind == "anthropic":
        return AnthropicProvider(
            name=name, base_url=base_url, base_url_env=None, api_key_env=spec.api_key_env
        )
    return OpenAIProvider(
        name=name,
        base_url=base_url,
        base_url_env=None,
        api_key_env=spec.api_key_env,
        request_fields=spec.request_fields,
        send_cache_control=spec.send_cache_control,
    )


__all__ = ["AnthropicProvider", "OpenAIProvider", "Provider", "provider_from_spec"]
