"""Model registry: specs, providers, and the built-in dated catalog."""

from langroute.registry.registry import Registry
from langroute.registry.spec import (
    DOMAINS,
    Capabilities,
    Deployment,
    LatencyPrior,
    ModelSpec,
    Pricing,
    ProviderSpec,
    TaskDomain,
)

__all__ = [
    "DOMAINS",
    "Capabilities",
    "Deployment",
    "LatencyPrior",
    "ModelSpec",
    "Pricing",
    "ProviderSpec",
    "Registry",
    "TaskDomain",
]
