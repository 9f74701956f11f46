"""Shared state: one protocol per concern — health and rate limits — each kept in this
process (`InMemoryHealth`, `InMemoryRateLimits`) or in a SQLite file shared by the host's
processes and kept across restarts (`SQLiteHealth`, `SQLiteRateLimits`), or in Redis for
many hosts (`RedisHealth`, `RedisRateLimits`, the `redis` extra)."""

from langroute.state.health import (
    DeploymentHealth,
    HealthConfig,
    HealthStore,
    InMemoryHealth,
)
from langroute.state.ratelimit import InMemoryRateLimits, RateLimitStore
from langroute.state.redis import RedisHealth, RedisRateLimits, StateUnavailable
from langroute.state.sqlite import SQLiteHealth, SQLiteRateLimits

__all__ = [
    "DeploymentHealth",
    "HealthConfig",
    "HealthStore",
    "InMemoryHealth",
    "InMemoryRateLimits",
    "RateLimitStore",
    "RedisHealth",
    "RedisRateLimits",
    "SQLiteHealth",
    "SQLiteRateLimits",
    "StateUnavailable",
]
