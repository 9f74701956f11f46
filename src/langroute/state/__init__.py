"""Shared state: one protocol per concern. Health (`InMemoryHealth`) for now."""

from langroute.state.health import (
    DeploymentHealth,
    HealthConfig,
    HealthStore,
    InMemoryHealth,
)

__all__ = ["DeploymentHealth", "HealthConfig", "HealthStore", "InMemoryHealth"]
