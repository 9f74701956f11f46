"""Redis stores: health, rate limits, budgets and the response cache, shared by every
process on every host.

- Rate limits: one Lua script per update (refill, check, take or settle), atomic in Redis,
  on Redis's own clock (`TIME`) so hosts with skewed clocks agree.
- Response cache: values with `SET ... EX`; prompt vectors in one hash per namespace,
  each field stamped with its expiry.
- Budgets: one Lua script reserves on every budget key at once (all or none) and drops
  expired holds, on Redis's clock; settling is one pipeline.
- Health: the same breaker logic as the other stores, run under a short Redis lock per
  namespace (read, decide, write).
- Keys live under `namespace:` and every key has a TTL (`ttl_s`), so abandoned state expires.
- Redis unreachable or too slow (`timeout_s`, 0.25 s by default): `on_unavailable="fail"`
  raises the typed `StateUnavailable`; `"local"` logs one warning and carries on with this
  process's own state until Redis answers again. Never a hang.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Literal, TypeVar

from langroute.errors import ConfigError, LangrouteError
from langroute.state.budget import BudgetLine, InMemoryBudgets, Refusal
from langroute.state.health import (
    DeploymentHealth,
    HealthConfig,
    InMemoryHealth,
    _Breakers,
    _Entry,
    _Tx,
)
from langroute.state.ratelimit import InMemoryRateLimits
from langroute.state.warm import Held, Key

logger = logging.getLogger(__name__)
T = TypeVar("T")

_TAKE = """
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) + tonumber(t[2]) / 1e6 end
local rpm, tpm, tokens, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local b = redis.call('HMGET', KEYS[1], 'r', 't', 'at')
local r, t, at = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
if not r then r = rpm; t = tpm; at = now end
local el = math.max(0, now - at)
if rpm > 0 then r = math.min(rpm, r + el * rpm / 60) end
if tpm > 0 then t = math.min(tpm, t + el * tpm / 60) end
local ok = 1
if rpm > 0 and r < 1 then ok = 0 end
if ok == 1 and tpm > 0 and t < math.min(tokens, tpm) then ok = 0 end
if ok == 1 then
  if rpm > 0 then r = r - 1 end
  if tpm > 0 then t = t - tokens end
end
redis.call('HSET', KEYS[1], 'r', tostring(r), 't', tostring(t), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return ok
"""

_SETTLE = """
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) + tonumber(t[2]) / 1e6 end
local tpm, delta, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local b = redis.call('HMGET', KEYS[1], 'r', 't', 'at')
local r, t, at = tonumber(b[1]) or 0, tonumber(b[2]), tonumber(b[3])
if not t then t = tpm; at = now end
t = math.min(tpm, t + math.max(0, now - at) * tpm / 60)
t = math.min(tpm, t - delta)
redis.call('HSET', KEYS[1], 'r', tostring(r), 't', tostring(t), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""


_RESERVE = """
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) + tonumber(t[2]) / 1e6 end
local amount, rid, life, n = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[4 + i])
  local all = redis.call('HGETALL', KEYS[i])
  local spent, held = 0, 0
  for j = 1, #all, 2 do
    local f, v = all[j], all[j + 1]
    if f == 'spent' then spent = tonumber(v)
    else
      local sep = string.find(v, ':', 1, true)
      local a, exp = tonumber(string.sub(v, 1, sep - 1)), tonumber(string.sub(v, sep + 1))
      if exp <= now then redis.call('HDEL', KEYS[i], f) else held = held + a end
    end
  end
  if spent + held + amount > limit then return {i, spent, held} end
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'h:' .. rid, string.format('%d:%.3f', amount, now + life))
  local ttl = tonumber(ARGV[4 + n + i])
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
end
return {0, 0, 0}
"""

_BUDGET_USAGE = """
local now = tonumber(ARGV[1])
if not now then local t = redis.call('TIME'); now = tonumber(t[1]) + tonumber(t[2]) / 1e6 end
local out = {}
for i = 1, #KEYS do
  local all = redis.call('HGETALL', KEYS[i])
  local spent, held = 0, 0
  for j = 1, #all, 2 do
    local f, v = all[j], all[j + 1]
    if f == 'spent' then spent = tonumber(v)
    else
      local sep = string.find(v, ':', 1, true)
      if tonumber(string.sub(v, sep + 1)) > now then
        held = held + tonumber(string.sub(v, 1, sep - 1))
      end
    end
  end
  out[2 * i - 1] = spent
  out[2 * i] = held
end
return out
"""


class StateUnavailable(LangrouteError):
    """The shared state store (Redis) could not be reached in time and the store is set to
    fail closed (`on_unavailable="fail"`)."""


def _client(url: str, timeout_s: float) -> Any:
    try:
        import redis
    except ImportError as exc:
        raise ConfigError("Redis stores need redis-py: pip install 'langroute[redis]'") from exc
    return redis.Redis.from_url(
        url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
    )


class _Guard:
    """Runs Redis operations; on a connection failure, fails closed or falls back locally.

    After a failure Redis is not asked again for `recheck_s`: calls go straight to the
    chosen behaviour instead of each waiting for a timeout.
    """

    def __init__(
        self, on_unavailable: Literal["fail", "local"], what: str, recheck_s: float = 2.0
    ) -> None:
        if on_unavailable not in ("fail", "local"):
            raise ConfigError(f"on_unavailable must be 'fail' or 'local', not {on_unavailable!r}")
        self.on_unavailable = on_unavailable
        self.what = what
        self.recheck_s = recheck_s
        self.degraded = False
        self._down_until = 0.0

    def _unavailable(self, reason: str, local: Callable[[], T]) -> T:
        if self.on_unavailable == "fail":
            raise StateUnavailable(
                f"Redis is unreachable for {self.what} ({reason}); on_unavailable='fail' "
                "stops the call rather than ignore shared state"
            )
        if not self.degraded:
            logger.warning(
                "Redis is unreachable for %s (%s): using this process's own state until it answers",
                self.what,
                reason,
            )
            self.degraded = True
        return local()

    def run(self, remote: Callable[[], T], local: Callable[[], T]) -> T:
        import redis

        if time.monotonic() < self._down_until:
            return self._unavailable("still down", local)
        try:
            result = remote()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._down_until = time.monotonic() + self.recheck_s
            return self._unavailable(type(exc).__name__, local)
        if self.degraded:
            logger.warning("Redis answers again for %s: shared state resumed", self.what)
            self.degraded = False
        return result


class RedisRateLimits:
    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "langroute",
        ttl_s: int = 3600,
        timeout_s: float = 0.25,
        on_unavailable: Literal["fail", "local"] = "fail",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._redis = _client(url, timeout_s)
        self._ns, self._ttl, self._clock = namespace, ttl_s, clock
        self._take = self._redis.register_script(_TAKE)
        self._settle = self._redis.register_script(_SETTLE)
        self._local = InMemoryRateLimits(clock or time.monotonic)
        self._guard = _Guard(on_unavailable, "rate limits")

    def _now(self) -> str:
        return "" if self._clock is None else repr(self._clock())

    def try_acquire(self, key: str, *, rpm: int | None, tpm: int | None, tokens: int) -> bool:
        def remote() -> bool:
            args = [self._now(), rpm or 0, tpm or 0, tokens, self._ttl]
            return bool(self._take(keys=[f"{self._ns}:rl:{key}"], args=args))

        return self._guard.run(
            remote, lambda: self._local.try_acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
        )

    def settle(self, key: str, *, tpm: int | None, delta_tokens: int) -> None:
        if not tpm:
            return

        def remote() -> None:
            args = [self._now(), tpm, delta_tokens, self._ttl]
            self._settle(keys=[f"{self._ns}:rl:{key}"], args=args)

        self._guard.run(remote, lambda: self._local.settle(key, tpm=tpm, delta_tokens=delta_tokens))


class _RedisTx:
    def __init__(self, redis: Any, ns: str, ttl: int) -> None:
        self._redis, self._ns, self._ttl = redis, ns, ttl
        self.touched: dict[str, _Entry] = {}

    def entry(self, key: str) -> _Entry:
        e = self.touched.get(key)
        if e is None:
            raw = self._redis.get(f"{self._ns}:health:{key}")
            e = _Entry(**json.loads(raw)) if raw else _Entry()
            self.touched[key] = e
        return e

    def members(self, group: str, keys: Sequence[str] = ()) -> set[str]:
        name = f"{self._ns}:hgroup:{group}"
        if keys:
            self._redis.sadd(name, *keys)
            self._redis.expire(name, self._ttl)
        return set(self._redis.smembers(name))

    def save(self) -> None:
        pipe = self._redis.pipeline()
        for k, e in self.touched.items():
            pipe.set(f"{self._ns}:health:{k}", json.dumps(dataclasses.asdict(e)), ex=self._ttl)
        pipe.execute()


class RedisHealth(_Breakers):
    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        config: HealthConfig | None = None,
        *,
        namespace: str = "langroute",
        ttl_s: int = 86_400,
        timeout_s: float = 0.25,
        on_unavailable: Literal["fail", "local"] = "fail",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or HealthConfig()
        self._clock = clock
        self._redis = _client(url, timeout_s)
        self._ns, self._ttl, self._timeout = namespace, ttl_s, timeout_s
        self._local = InMemoryHealth(self.config, clock)
        self._guard = _Guard(on_unavailable, "health")

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        lock = self._redis.lock(
            f"{self._ns}:health:lock",
            timeout=max(1.0, 4 * self._timeout),
            blocking_timeout=max(0.5, 2 * self._timeout),
        )
        if not lock.acquire():
            import redis

            raise redis.TimeoutError("health lock not acquired in time")
        try:
            tx = _RedisTx(self._redis, self._ns, self._ttl)
            yield tx
            tx.save()
        finally:
            with suppress(Exception):
                lock.release()

    def allowed(self, group: str, keys: Sequence[str]) -> list[str]:
        return self._guard.run(
            lambda: super(RedisHealth, self).allowed(group, keys),
            lambda: self._local.allowed(group, keys),
        )

    def started(self, key: str) -> bool:
        return self._guard.run(
            lambda: super(RedisHealth, self).started(key), lambda: self._local.started(key)
        )

    def succeeded(self, key: str, latency_ms: float) -> None:
        self._guard.run(
            lambda: super(RedisHealth, self).succeeded(key, latency_ms),
            lambda: self._local.succeeded(key, latency_ms),
        )

    def failed(self, group: str, key: str, *, retry_after_s: float | None = None) -> None:
        self._guard.run(
            lambda: super(RedisHealth, self).failed(group, key, retry_after_s=retry_after_s),
            lambda: self._local.failed(group, key, retry_after_s=retry_after_s),
        )

    def abandoned(self, key: str) -> None:
        self._guard.run(
            lambda: super(RedisHealth, self).abandoned(key), lambda: self._local.abandoned(key)
        )

    def snapshot(self, key: str) -> DeploymentHealth:
        return self._guard.run(
            lambda: super(RedisHealth, self).snapshot(key), lambda: self._local.snapshot(key)
        )


class RedisBudgets:
    """Budget ledgers shared through Redis: one hash per budget key (`spent` and one field per
    reservation), updated by Lua scripts so concurrent processes never overspend."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "langroute",
        timeout_s: float = 0.25,
        on_unavailable: Literal["fail", "local"] = "fail",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._redis = _client(url, timeout_s)
        self._ns, self._clock = namespace, clock
        self._reserve = self._redis.register_script(_RESERVE)
        self._usage = self._redis.register_script(_BUDGET_USAGE)
        self._local = InMemoryBudgets(clock or time.time)
        self._guard = _Guard(on_unavailable, "budgets")

    def _key(self, key: str) -> str:
        return f"{self._ns}:budget:{key}"

    def reserve(
        self, lines: Sequence[BudgetLine], amount: int, rid: str, expires_at: float
    ) -> Refusal | None:
        now = (self._clock or time.time)()

        def remote() -> Refusal | None:
            args = [
                "" if self._clock is None else repr(now),
                amount,
                rid,
                max(0.0, expires_at - now),
                *(line.limit for line in lines),
                *(line.ttl_s for line in lines),
            ]
            index, spent, held = self._reserve(keys=[self._key(x.key) for x in lines], args=args)
            return None if index == 0 else Refusal(lines[int(index) - 1], int(spent), int(held))

        return self._guard.run(remote, lambda: self._local.reserve(lines, amount, rid, expires_at))

    def settle(self, lines: Sequence[BudgetLine], rid: str, amount: int) -> None:
        def remote() -> None:
            pipe = self._redis.pipeline()
            for line in lines:
                pipe.hdel(self._key(line.key), f"h:{rid}")
                if amount:
                    pipe.hincrby(self._key(line.key), "spent", amount)
                if line.ttl_s:
                    pipe.expire(self._key(line.key), line.ttl_s)
            pipe.execute()

        self._guard.run(remote, lambda: self._local.settle(lines, rid, amount))

    def usage(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        def remote() -> list[tuple[int, int]]:
            now = "" if self._clock is None else repr(self._clock())
            flat = self._usage(keys=[self._key(k) for k in keys], args=[now])
            return [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

        return self._guard.run(remote, lambda: self._local.usage(keys))


class RedisCache:
    """Response cache entries in Redis, shared by every process on every host."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "langroute",
        timeout_s: float = 0.25,
        on_unavailable: Literal["fail", "local"] = "local",
    ) -> None:
        from langroute.state.cache import InMemoryCache

        self._redis = _client(url, timeout_s)
        self._ns = namespace
        self._local = InMemoryCache()
        self._guard = _Guard(on_unavailable, "the response cache")

    def get(self, key: str) -> str | None:
        def remote() -> str | None:
            value: str | None = self._redis.get(f"{self._ns}:cache:{key}")
            return value

        return self._guard.run(remote, lambda: self._local.get(key))

    def put(self, key: str, value: str, ttl_s: float) -> None:
        self._guard.run(
            lambda: self._redis.set(f"{self._ns}:cache:{key}", value, px=int(ttl_s * 1000)),
            lambda: self._local.put(key, value, ttl_s),
        )

    def add_vector(self, namespace: str, key: str, vector: bytes, ttl_s: float) -> None:
        import base64

        def remote() -> None:
            name = f"{self._ns}:cachevec:{namespace}"
            stamp = f"{time.time() + ttl_s:.3f}:" + base64.b64encode(vector).decode()
            pipe = self._redis.pipeline()
            pipe.hset(name, key, stamp)
            pipe.expire(name, int(ttl_s) + 1)
            pipe.execute()

        self._guard.run(remote, lambda: self._local.add_vector(namespace, key, vector, ttl_s))

    def vectors(self, namespace: str) -> Sequence[tuple[str, bytes]]:
        import base64

        def remote() -> list[tuple[str, bytes]]:
            now = time.time()
            out = []
            for key, stamp in self._redis.hgetall(f"{self._ns}:cachevec:{namespace}").items():
                expires, _, data = stamp.partition(":")
                if float(expires) > now:
                    out.append((key, base64.b64decode(data)))
            return out

        return self._guard.run(remote, lambda: self._local.vectors(namespace))


class RedisWarmStore:
    """The prompt prefixes models' providers hold cached, in Redis, shared by every process
    on every host; each prefix a key with its time to live. When Redis is unreachable the
    process prices from what it saw itself (`on_unavailable="local"`, the default: this is
    a pricing hint, not a limit)."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""
    stable_keys = True

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        namespace: str = "langroute",
        timeout_s: float = 0.25,
        on_unavailable: Literal["fail", "local"] = "local",
    ) -> None:
        from langroute.state.warm import InMemoryWarmStore

        self._redis = _client(url, timeout_s)
        self._ns = namespace
        self._local = InMemoryWarmStore()
        self._guard = _Guard(on_unavailable, "warm prompt caches")

    def _name(self, scope: str, model: str, key: Key) -> str:
        import hashlib

        where = hashlib.blake2b(scope.encode(), digest_size=8).hexdigest()
        return f"{self._ns}:warm:{where}:{model}:{key}"

    def held(self, scope: str, models: Sequence[str], keys: Sequence[Key]) -> dict[str, Held]:
        def remote() -> dict[str, Held]:
            pairs = [(model, key) for key in keys for model in models]
            if not pairs:
                return {}
            values = self._redis.mget([self._name(scope, m, k) for m, k in pairs])
            found: dict[str, Held] = {}
            for (model, key), value in zip(pairs, values, strict=True):
                if value is not None and model not in found:
                    tokens, uses = value.split(":")
                    found[model] = Held(key, int(tokens), int(uses))
            return found

        return self._guard.run(remote, lambda: self._local.held(scope, models, keys))

    def hold(
        self, scope: str, model: str, prefixes: Sequence[tuple[Key, int]], ttl_s: float
    ) -> None:
        def remote() -> None:
            names = [self._name(scope, model, key) for key, _ in prefixes]
            before = self._redis.mget(names)
            pipe = self._redis.pipeline(transaction=False)
            for name, (_, tokens), value in zip(names, prefixes, before, strict=True):
                uses = int(value.split(":")[1]) + 1 if value else 1
                pipe.set(name, f"{tokens}:{uses}", px=max(1, int(ttl_s * 1000)))
            pipe.execute()

        self._guard.run(remote, lambda: self._local.hold(scope, model, prefixes, ttl_s))
