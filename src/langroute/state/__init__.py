"""Shared state: one protocol per concern — health and rate limits, kept in this process
for now (`InMemoryHealth`, `InMemoryRateLimits`)."""

from langroute.state.health import (
    DeploymentHealth,
    HealthConfig,
    HealthStore,
    InMemoryHealth,
)
from langroute.state.ratelimit import InMemoryRateLimits, RateLimitStore

__all__ = [
    "DeploymentHealth",
    "HealthConfig",
    "HealthStore",
    "InMemoryHealth",
    "InMemoryRateLimits",
    "RateLimitStore",
]
