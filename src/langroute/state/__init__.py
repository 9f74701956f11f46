"""Shared state: one protocol per concern — health, rate limits, budgets, the response cache
and the prompt prefixes models hold cached — each kept in this
process (`InMemoryHealth`, `InMemoryRateLimits`) or in a SQLite file shared by the host's
processes and kept across restarts (`SQLiteHealth`, `SQLiteRateLimits`), or in Redis for
many hosts (`RedisHealth`, `RedisRateLimits`, the `redis` extra)."""

from langroute.state.budget import BudgetStore, InMemoryBudgets
from langroute.state.cache import CacheStore, InMemoryCache
from langroute.state.health import (
    DeploymentHealth,
    HealthConfig,
    HealthStore,
    InMemoryHealth,
)
from langroute.state.ratelimit import InMemoryRateLimits, RateLimitStore
from langroute.state.redis import (
    RedisBudgets,
    RedisCache,
    RedisHealth,
    RedisRateLimits,
    RedisWarmStore,
    StateUnavailable,
)
from langroute.state.sqlite import (
    SQLiteBudgets,
    SQLiteCache,
    SQLiteHealth,
    SQLiteRateLimits,
    SQLiteWarmStore,
)
from langroute.state.warm import InMemoryWarmStore, WarmStore

__all__ = [
    "BudgetStore",
    "CacheStore",
    "DeploymentHealth",
    "HealthConfig",
    "HealthStore",
    "InMemoryBudgets",
    "InMemoryCache",
    "InMemoryHealth",
    "InMemoryRateLimits",
    "InMemoryWarmStore",
    "RateLimitStore",
    "RedisBudgets",
    "RedisCache",
    "RedisHealth",
    "RedisRateLimits",
    "RedisWarmStore",
    "SQLiteBudgets",
    "SQLiteCache",
    "SQLiteHealth",
    "SQLiteRateLimits",
    "SQLiteWarmStore",
    "StateUnavailable",
    "WarmStore",
]
