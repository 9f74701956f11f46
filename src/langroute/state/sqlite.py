"""SQLite stores: health, rate limits, budgets and the response cache in one file, shared
by every process on the host and kept across restarts — the embedded default when one
process is not enough.

Each update is one `BEGIN IMMEDIATE` transaction (WAL journal, 5 s busy timeout), so
concurrent processes never both take the last request of a bucket. Times are wall-clock
(`time.time`), the clock processes share. Calls are short local writes made on the calling
thread.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from langroute.state.budget import BudgetLine, Refusal
from langroute.state.health import HealthConfig, _Breakers, _Entry, _Tx
from langroute.state.ratelimit import _Bucket, _refill, _settled, _take
from langroute.state.warm import Held, Key

_SCHEMA = """
CREATE TABLE IF NOT EXISTS health (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS health_groups (grp TEXT, key TEXT, PRIMARY KEY (grp, key));
CREATE TABLE IF NOT EXISTS buckets (
    key TEXT PRIMARY KEY, requests REAL NOT NULL, tokens REAL NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS cache_vectors (
    ns TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE TABLE IF NOT EXISTS budget_spent (key TEXT PRIMARY KEY, spent INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS warm_prefixes (
    scope TEXT NOT NULL, model TEXT NOT NULL, key TEXT NOT NULL, tokens INTEGER NOT NULL,
    uses INTEGER NOT NULL, expires REAL NOT NULL, PRIMARY KEY (scope, model, key)
);
CREATE TABLE IF NOT EXISTS budget_holds (
    key TEXT NOT NULL, rid TEXT NOT NULL, amount INTEGER NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (key, rid)
);
"""


def _use_wal(conn: sqlite3.Connection, wait_s: float = 5.0) -> None:
    """Switch the file to WAL unless it already is. Switching needs an exclusive lock and
    SQLite does not wait for it (no busy timeout), so processes opening a new file at the
    same moment retry for up to `wait_s` instead of failing with "database is locked"."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


_INHERITED: list[object] = []
"""A forked child's connections from its parent: kept open, never used. SQLite forbids
using a connection across fork(), and closing it in the child could end the parent's
locks or checkpoint its write-ahead log."""


class _Connections:
    """One connection per thread and process to one database file, schema created once."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._pid = os.getpid()
        with self.connection() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        if self._pid != os.getpid():  # a forked child (gunicorn --preload, Celery)
            _INHERITED.append(self._local)
            self._local, self._pid = threading.local(), os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        yield conn

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


class _SQLiteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.touched: dict[str, _Entry] = {}

    def entry(self, key: str) -> _Entry:
        e = self.touched.get(key)
        if e is None:
            row = self._conn.execute("SELECT data FROM health WHERE key = ?", (key,)).fetchone()
            e = _Entry(**json.loads(row[0])) if row else _Entry()
            self.touched[key] = e
        return e

    def members(self, group: str, keys: Sequence[str] = ()) -> set[str]:
        self._conn.executemany(
            "INSERT OR IGNORE INTO health_groups (grp, key) VALUES (?, ?)",
            [(group, k) for k in keys],
        )
        rows = self._conn.execute("SELECT key FROM health_groups WHERE grp = ?", (group,))
        return {r[0] for r in rows}

    def save(self) -> None:
        self._conn.executemany(
            "INSERT OR REPLACE INTO health (key, data) VALUES (?, ?)",
            [(k, json.dumps(dataclasses.asdict(e))) for k, e in self.touched.items()],
        )


class SQLiteHealth(_Breakers):
    """Deployment health shared through a SQLite file."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: HealthConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or HealthConfig()
        self._clock = clock
        self._db = _Connections(path)

    @contextmanager
    def _transaction(self) -> Iterator[_Tx]:
        with self._db.immediate() as conn:
            tx = _SQLiteTx(conn)
            yield tx
            tx.save()


class SQLiteRateLimits:
    """rpm/tpm buckets shared through a SQLite file."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._db = _Connections(path)

    def _update(self, key: str, change: Callable[[_Bucket | None], tuple[_Bucket, bool]]) -> bool:
        with self._db.immediate() as conn:
            row = conn.execute(
                "SELECT requests, tokens, at FROM buckets WHERE key = ?", (key,)
            ).fetchone()
            bucket, result = change(_Bucket(*row) if row else None)
            conn.execute(
                "INSERT OR REPLACE INTO buckets (key, requests, tokens, at) VALUES (?, ?, ?, ?)",
                (key, bucket.requests, bucket.tokens, bucket.at),
            )
            return result

    def try_acquire(self, key: str, *, rpm: int | None, tpm: int | None, tokens: int) -> bool:
        now = self._clock()

        def take(b: _Bucket | None) -> tuple[_Bucket, bool]:
            bucket = _refill(b, now, rpm, tpm)
            return bucket, _take(bucket, rpm, tpm, tokens)

        return self._update(key, take)

    def settle(self, key: str, *, tpm: int | None, delta_tokens: int) -> None:
        if not tpm:
            return
        now = self._clock()

        def settle(b: _Bucket | None) -> tuple[_Bucket, bool]:
            bucket = _refill(b, now, None, tpm)
            _settled(bucket, tpm, delta_tokens)
            return bucket, True

        self._update(key, settle)


class SQLiteBudgets:
    """Budget ledgers shared through a SQLite file: each reservation and settlement is one
    `BEGIN IMMEDIATE` transaction, so processes never both take the last dollar."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._db = _Connections(path)

    @staticmethod
    def _state(conn: sqlite3.Connection, key: str, now: float) -> tuple[int, int]:
        conn.execute("DELETE FROM budget_holds WHERE key = ? AND expires <= ?", (key, now))
        row = conn.execute("SELECT spent FROM budget_spent WHERE key = ?", (key,)).fetchone()
        (held,) = conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM budget_holds WHERE key = ?", (key,)
        ).fetchone()
        return (row[0] if row else 0), held

    def reserve(
        self, lines: Sequence[BudgetLine], amount: int, rid: str, expires_at: float
    ) -> Refusal | None:
        now = self._clock()
        with self._db.immediate() as conn:
            for line in lines:
                spent, held = self._state(conn, line.key, now)
                if spent + held + amount > line.limit:
                    return Refusal(line, spent, held)
            conn.executemany(
                "INSERT OR REPLACE INTO budget_holds (key, rid, amount, expires) "
                "VALUES (?, ?, ?, ?)",
                [(line.key, rid, amount, expires_at) for line in lines],
            )
            return None

    def settle(self, lines: Sequence[BudgetLine], rid: str, amount: int) -> None:
        with self._db.immediate() as conn:
            for line in lines:
                conn.execute("DELETE FROM budget_holds WHERE key = ? AND rid = ?", (line.key, rid))
                if amount:
                    conn.execute(
                        "INSERT INTO budget_spent (key, spent) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET spent = spent + excluded.spent",
                        (line.key, amount),
                    )

    def usage(self, keys: Sequence[str]) -> list[tuple[int, int]]:
        """Read-only (no write lock): expired holds are skipped, and swept by `reserve`."""
        now = self._clock()
        marks = ",".join("?" * len(keys))
        with self._db.connection() as conn:
            spent = dict(
                conn.execute(
                    f"SELECT key, spent FROM budget_spent WHERE key IN ({marks})", list(keys)
                ).fetchall()
            )
            held = dict(
                conn.execute(
                    f"SELECT key, SUM(amount) FROM budget_holds WHERE key IN ({marks}) "
                    "AND expires > ? GROUP BY key",
                    [*keys, now],
                ).fetchall()
            )
        return [(spent.get(k, 0), held.get(k, 0)) for k in keys]


class SQLiteCache:
    """Response cache entries in a SQLite file, shared by the host's processes and kept
    across restarts; expired entries are skipped and swept."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""

    def __init__(
        self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._db = _Connections(path)

    def get(self, key: str) -> str | None:
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT value FROM cache WHERE key = ? AND expires > ?", (key, self._clock())
            ).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str, ttl_s: float) -> None:
        now = self._clock()
        with self._db.immediate() as conn:
            conn.execute("DELETE FROM cache WHERE expires <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO cache (key, value, expires) VALUES (?, ?, ?)",
                (key, value, now + ttl_s),
            )

    def add_vector(self, namespace: str, key: str, vector: bytes, ttl_s: float) -> None:
        now = self._clock()
        with self._db.immediate() as conn:
            conn.execute("DELETE FROM cache_vectors WHERE expires <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO cache_vectors (ns, key, vector, expires) "
                "VALUES (?, ?, ?, ?)",
                (namespace, key, vector, now + ttl_s),
            )

    def vectors(self, namespace: str) -> Sequence[tuple[str, bytes]]:
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT key, vector FROM cache_vectors WHERE ns = ? AND expires > ?",
                (namespace, self._clock()),
            ).fetchall()
        return [(k, bytes(v)) for k, v in rows]


class SQLiteWarmStore:
    """The prompt prefixes models' providers hold cached, in a SQLite file shared by the
    host's processes: a conversation whose turns reach different workers is priced as warm
    by each. Expired rows are skipped, and swept now and then."""

    blocking = True
    """Does I/O: the router calls it from a worker thread, never on the event loop."""
    stable_keys = True

    def __init__(
        self, path: str | os.PathLike[str], clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._db = _Connections(path)
        self._holds = 0

    def held(self, scope: str, models: Sequence[str], keys: Sequence[Key]) -> dict[str, Held]:
        if not models or not keys:
            return {}
        rank = {str(key): i for i, key in enumerate(keys)}
        with self._db.connection() as conn:
            rows = conn.execute(
                "SELECT model, key, tokens, uses FROM warm_prefixes WHERE scope = ? AND "
                f"expires > ? AND model IN ({','.join('?' * len(models))}) "
                f"AND key IN ({','.join('?' * len(rank))})",
                (scope, self._clock(), *models, *rank),
            ).fetchall()
        found: dict[str, Held] = {}
        for model, key, tokens, uses in rows:
            best = found.get(model)
            if best is None or rank[key] < rank[str(best.key)]:
                found[model] = Held(key, tokens, uses)
        return found

    def hold(
        self, scope: str, model: str, prefixes: Sequence[tuple[Key, int]], ttl_s: float
    ) -> None:
        now = self._clock()
        with self._db.immediate() as conn:
            conn.executemany(
                "INSERT INTO warm_prefixes (scope, model, key, tokens, uses, expires) "
                "VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (scope, model, key) DO UPDATE SET "
                "tokens = excluded.tokens, expires = excluded.expires, uses = CASE WHEN "
                "warm_prefixes.expires > ? THEN warm_prefixes.uses + 1 ELSE 1 END",
                [(scope, model, str(key), tokens, now + ttl_s, now) for key, tokens in prefixes],
            )
            self._holds += 1
            if self._holds % 100 == 1:
                conn.execute("DELETE FROM warm_prefixes WHERE expires <= ?", (now,))
