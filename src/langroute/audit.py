"""Audit trail: one record per routed call, written off the response path.

A record says who called (tenant, user, key fingerprint), what the router saw (features,
profile), what it planned (candidates with reasons), what it tried (attempts and errors),
who answered with which pinned version, tokens, cost (and what always-premium would have
cost), latency, cache hit and budget state. Prompt text is left out unless asked for, and
then passes through the redaction patterns; the whole record passes through them again
before it is written, so a key that slipped into an error message never reaches a sink.

Sinks are pluggable (`AuditSink`): JSONL and SQLite here, `MemoryAuditSink` for tests.
Writes run on one background thread; `AuditLog.flush()` waits for them.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from langroute.budget import BudgetState
from langroute.errors import ConfigError

if TYPE_CHECKING:
    from langroute.decision import Decision
    from langroute.registry import ModelSpec, Registry
    from langroute.types import Usage

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    r"sk-[A-Za-z0-9_\-]{8,}",  # OpenAI-style and Anthropic (sk-ant-...) keys
    r"(?i:bearer)\s+[A-Za-z0-9_\-.=]{8,}",
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"AIza[0-9A-Za-z_\-]{20,}",  # Google API keys
)
"""Always redacted from every record: key and credential shapes."""

_ASSIGNED = re.compile(
    r"(?i)((?:api[_-]?key|secret|password|passwd|access[_-]?token)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',}\\]{6,}"
)
"""`api_key=...`, `"password": "..."`: the value is redacted, the name kept."""

EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
"""Opt-in: `AuditLog(redact=[EMAIL_PATTERN])`."""


class Redactor:
    """Replaces secrets (always: key shapes, credential assignments, the literal `secrets`)
    and configured personal-data patterns (e.g. `EMAIL_PATTERN`) with `[redacted]`."""

    def __init__(self, patterns: Sequence[str] = (), *, secrets: Sequence[str] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)
        self._patterns = []
        for pattern in patterns:
            try:
                self._patterns.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(f"redaction pattern {pattern!r} is not a regex: {exc}") from None

    def __call__(self, text: str) -> str:
        # the regexes only run when a cheap substring test says one of them could match
        low = text.lower().replace('"api_key_id"', "")
        if any(trigger in low for trigger in _TRIGGERS):
            text = _ASSIGNED.sub(r"\1[redacted]", _DEFAULT.sub("[redacted]", text))
        for pattern in self._patterns:
            text = pattern.sub("[redacted]", text)
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


_DEFAULT = re.compile("|".join(DEFAULT_SECRET_PATTERNS))
_TRIGGERS = (
    "sk-",
    "bearer",
    "akia",
    "aiza",
    "api_key",
    "api-key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "access_token",
    "access-token",
    "accesstoken",
)
"""Lower-case substrings without which no default pattern can match."""


class AuditAttempt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    provider: str
    version: str
    """The provider model id that was called (the pinned version)."""
    outcome: str
    latency_ms: float
    error_type: str | None = None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Of the prompt, read from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Of the prompt, written to the provider's prompt cache."""
    cost_usd: float = 0.0


class AuditRecord(BaseModel):
    """One routed call, as written to the audit sinks."""

    model_config = ConfigDict(extra="forbid")

    time: str
    """ISO 8601, UTC."""
    request_id: str
    tenant: str | None = None
    user: str | None = None
    api_key_id: str | None = None
    outcome: Literal["ok", "error", "abandoned"]
    error_type: str | None = None
    error: str | None = None
    features: dict[str, Any]
    """What the router looked at (the prompt text only when prompts are recorded)."""
    prompt: str | None = None
    """The last user message, redacted — only with `include_prompts=True`."""
    profile: dict[str, Any]
    policy: str
    strategy: str
    candidates: list[dict[str, Any]]
    rejected: list[dict[str, str]] = Field(default_factory=list)
    chosen: str
    answered_by: str | None = None
    version: str | None = None
    """The pinned provider model id that produced the answer."""
    provider: str | None = None
    attempts: list[AuditAttempt] = Field(default_factory=list)
    escalations: list[dict[str, Any]] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    list_cost_usd: float = 0.0
    """What the answering attempts would have cost at their models' list prices, with the
    same prompt-cache reads and writes (the difference to `cost_usd` is what provider
    arbitrage saved)."""
    cached_tokens: int = 0
    """Of the prompt, read from the provider's prompt cache."""
    cache_write_tokens: int = 0
    """Of the prompt, written to the provider's prompt cache."""
    prompt_cache_saved_usd: float = 0.0
    """What the attempts' prompt-cache reads saved, less what their writes cost above the
    input price, at the models' list prices (negative while a cache is being filled)."""
    premium_model: str | None = None
    premium_cost_usd: float = 0.0
    """What the same tokens would have cost on the plan's most expensive candidate."""
    latency_ms: float
    cache: str | None = None
    """`exact` or `semantic` on a cache hit."""
    budgets: list[BudgetState] = Field(default_factory=list)
    compression: dict[str, int] | None = None
    arm: str | None = None
    """The A/B arm that served the call, when one did."""


@runtime_checkable
class AuditSink(Protocol):
    def write(self, lines: Sequence[str]) -> None:
        """Persist a batch of records, each one redacted `AuditRecord` as a JSON line
        (called from the audit thread)."""
        ...


class MemoryAuditSink:
    """Keeps records in a list: for tests and notebooks."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)

    @property
    def records(self) -> list[AuditRecord]:
        return [AuditRecord.model_validate_json(line) for line in self.lines]


class JSONLAuditSink:
    """Appends one JSON object per line (rotate the file with your log tooling)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, lines: Sequence[str]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))


class SQLiteAuditSink:
    """A SQLite table `audit` (indexed columns for tenant, model and day, the record as
    JSON), readable by `langroute audit` and SQL."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as conn:
            conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS audit (
                    request_id TEXT, time TEXT, day TEXT, tenant TEXT, user TEXT,
                    answered_by TEXT, outcome TEXT, cost_usd REAL, data TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS audit_request ON audit (request_id);
                CREATE INDEX IF NOT EXISTS audit_day ON audit (day, tenant);
                """
            )

    def write(self, lines: Sequence[str]) -> None:
        rows = []
        for line in lines:
            r = json.loads(line)
            rows.append(
                (
                    r["request_id"],
                    r["time"],
                    r["time"][:10],
                    r.get("tenant"),
                    r.get("user"),
                    r.get("answered_by"),
                    r["outcome"],
                    r.get("cost_usd", 0.0),
                    line,
                )
            )
        with sqlite3.connect(self.path, timeout=5.0) as conn:
            conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def read_records(path: str | os.PathLike[str]) -> Iterator[AuditRecord]:
    """The records of a JSONL or SQLite audit file. A last line cut off mid-write (no
    newline: the process stopped while writing) is left out with a warning; any other line
    that is not a record is a `ConfigError` naming the file, the line and what is wrong."""
    path = Path(path)
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        with sqlite3.connect(path) as conn:
            for (data,) in conn.execute("SELECT data FROM audit ORDER BY rowid"):
                yield AuditRecord.model_validate_json(data)
        return
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = AuditRecord.model_validate_json(line)
            except ValidationError as exc:
                if not line.endswith("\n"):
                    logging.getLogger(__name__).warning(
                        "%s:%d: left out a last line cut off mid-write", path, number
                    )
                    return
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise ConfigError(
                    f"{path}:{number} is not an audit record "
                    f"({where + ': ' if where else ''}{problem['msg']}): audit files hold "
                    "the JSON lines an AuditLog's JSONLAuditSink writes"
                ) from None
            yield record


class AuditLog:
    """Builds records from decisions and hands them to the sinks on a background thread."""

    def __init__(
        self,
        sinks: AuditSink | Iterable[AuditSink],
        *,
        include_prompts: bool = False,
        redact: Sequence[str] = (),
        secrets: Sequence[str] = (),
    ) -> None:
        self.sinks: tuple[AuditSink, ...] = (
            (sinks,) if isinstance(sinks, AuditSink) else tuple(sinks)
        )
        self.include_prompts = include_prompts
        """Record the last user message (redacted). Off by default."""
        self.redactor = Redactor(redact, secrets=secrets)
        self._queue: queue.Queue[AuditRecord | Callable[[], AuditRecord] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.errors = 0
        """Batches a sink failed to write (each also logged as a warning)."""
        _LOGS.add(self)

    def _start_afresh(self) -> None:
        """In a forked child: the writer thread did not survive the fork, and the records
        queued in the parent are the parent's to write. The child's first record starts a
        writer of its own."""
        self._queue = type(self._queue)()
        self._thread, self._lock = None, threading.Lock()

    def submit(self, record: AuditRecord | Callable[[], AuditRecord]) -> None:
        """Queue one record, or a function building it (built, redacted and written on the
        audit thread: the caller never waits on it)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="langroute-audit", daemon=True
                    )
                    self._thread.start()
                    atexit.register(self.flush)  # records queued at exit are still written
        self._queue.put(record)

    def _clean(self, record: AuditRecord | Callable[[], AuditRecord]) -> str:
        built = record if isinstance(record, AuditRecord) else record()
        return self.redactor(built.model_dump_json())

    def _run(self) -> None:
        log = logging.getLogger(__name__)
        while True:
            first = self._queue.get()
            batch = [first]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            records = []
            for item in batch:
                if item is None:
                    continue
                try:
                    records.append(self._clean(item))
                except Exception as exc:
                    self.errors += 1
                    log.warning("an audit record could not be built: %s", type(exc).__name__)
            for sink in self.sinks:
                try:
                    sink.write(records)
                except Exception as exc:  # a sink must never break routing
                    self.errors += 1
                    log.warning("audit sink %s failed: %s", type(sink).__name__, type(exc).__name__)
            for _ in batch:
                self._queue.task_done()
            if None in batch:
                return

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued record is written."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)


_LOGS: weakref.WeakSet[AuditLog] = weakref.WeakSet()


def _logs_start_afresh_after_fork() -> None:
    for log in list(_LOGS):
        log._start_afresh()


os.register_at_fork(after_in_child=_logs_start_afresh_after_fork)

AUDIT_DIR_ENV = "LANGROUTE_AUDIT_DIR"
_FROM_ENV: dict[str, AuditLog] = {}


def audit_from_env() -> AuditLog | None:
    """The process's default audit log when `$LANGROUTE_AUDIT_DIR` is set: JSONL records in
    `audit-<pid>.jsonl` there, for routers given no `audit=` (one writer per process)."""
    where = os.environ.get(AUDIT_DIR_ENV)
    if not where:
        return None
    path = str(Path(where) / f"audit-{os.getpid()}.jsonl")
    log = _FROM_ENV.get(path)
    if log is None:
        log = _FROM_ENV[path] = AuditLog(JSONLAuditSink(path))
    return log


def utc_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def build_record(
    decision: Decision,
    *,
    registry: Registry,
    premium: ModelSpec | None,
    include_prompt: bool,
    latency_ms: float,
    outcome: Literal["ok", "error", "abandoned"],
    error: BaseException | None = None,
    cache: str | None = None,
    usage: Usage | None = None,
) -> AuditRecord:
    """The audit record of one routed call (before redaction)."""
    features = decision.features
    attempts = [
        AuditAttempt(
            model=a.model,
            provider=a.provider,
            version=a.provider_model,
            outcome=a.outcome,
            latency_ms=round(a.latency_ms, 2),
            error_type=a.error_type,
            error=a.error,
            prompt_tokens=a.usage.prompt_tokens if a.usage else 0,
            completion_tokens=a.usage.completion_tokens if a.usage else 0,
            cached_tokens=a.usage.cached_tokens if a.usage else 0,
            cache_write_tokens=a.usage.cache_write_tokens if a.usage else 0,
            cost_usd=a.cost_usd,
        )
        for a in decision.attempts
    ]
    answer = next((a for a in reversed(decision.attempts) if a.outcome == "ok"), None)
    list_cost = uncached_cost = 0.0
    for a in decision.attempts:
        if a.usage is not None and a.model in registry:
            pricing = registry.get(a.model).pricing
            list_cost += pricing.cost_of(a.usage)
            uncached_cost += pricing.cost(a.usage.prompt_tokens, a.usage.completion_tokens)
    tokens = usage or (answer.usage if answer is not None else None)
    premium_cost = (
        premium.cost(tokens.prompt_tokens, tokens.completion_tokens)
        if premium is not None and tokens is not None
        else 0.0
    )
    return AuditRecord(
        time=utc_iso(decision.created_at),
        request_id=decision.request_id,
        tenant=features.tenant,
        user=features.user,
        api_key_id=features.api_key_id,
        outcome=outcome,
        error_type=type(error).__name__ if error is not None else None,
        error=str(error) if error is not None else None,
        features=features.model_dump(mode="json", exclude={"last_user_text"}),
        prompt=features.last_user_text if include_prompt else None,
        profile=decision.profile.model_dump(mode="json"),
        policy=decision.plan.policy,
        strategy=decision.strategy,
        candidates=[
            {"model": c.model, "reasons": list(c.reasons), "expected_cost_usd": c.expected_cost_usd}
            for c in decision.plan.candidates
        ],
        rejected=[{"model": r.model, "reason": r.reason} for r in decision.plan.rejected],
        chosen=decision.chosen,
        answered_by=decision.answered_by,
        version=answer.provider_model if answer is not None else None,
        provider=answer.provider if answer is not None else None,
        attempts=attempts,
        escalations=[e.model_dump(mode="json") for e in decision.escalations],
        prompt_tokens=tokens.prompt_tokens if tokens is not None else 0,
        completion_tokens=tokens.completion_tokens if tokens is not None else 0,
        cost_usd=decision.actual_cost_usd,
        list_cost_usd=list_cost,
        cached_tokens=tokens.cached_tokens if tokens is not None else 0,
        cache_write_tokens=tokens.cache_write_tokens if tokens is not None else 0,
        prompt_cache_saved_usd=uncached_cost - list_cost,
        premium_model=premium.name if premium is not None else None,
        premium_cost_usd=premium_cost,
        latency_ms=round(latency_ms, 2),
        cache=cache,
        budgets=decision.budgets,
        compression=decision.compression,
        arm=decision.arm,
    )


class SpendLine(BaseModel):
    """Calls and spend of one model, tenant, day or provider."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    errors: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0
    premium_cost_usd: float = 0.0
    list_cost_usd: float = 0.0
    prompt_cache_saved_usd: float = 0.0

    def add(self, record: AuditRecord) -> None:
        self.calls += 1
        self.errors += record.outcome != "ok"
        self.cache_hits += record.cache is not None
        self.cost_usd += record.cost_usd
        self.premium_cost_usd += record.premium_cost_usd if record.outcome == "ok" else 0.0
        self.list_cost_usd += record.list_cost_usd
        self.prompt_cache_saved_usd += record.prompt_cache_saved_usd

    @property
    def savings_usd(self) -> float:
        """Against sending every answered call to the premium model."""
        return self.premium_cost_usd - self.cost_usd


class AuditSummary(BaseModel):
    """Spend by model, tenant, day and provider, and what routing saved."""

    model_config = ConfigDict(extra="forbid")

    total: SpendLine
    by_model: dict[str, SpendLine]
    by_tenant: dict[str, SpendLine]
    by_day: dict[str, SpendLine]
    by_provider: dict[str, SpendLine]
    premium_models: list[str]

    @property
    def savings_share(self) -> float:
        premium = self.total.premium_cost_usd
        return self.total.savings_usd / premium if premium else 0.0

    @property
    def arbitrage_usd(self) -> float:
        """What serving models through cheaper providers saved against their list prices."""
        return self.total.list_cost_usd - self.total.cost_usd

    def table(self) -> str:
        t = self.total
        lines = [
            f"{t.calls} calls ({t.errors} failed, {t.cache_hits} from the cache), "
            f"spent ${t.cost_usd:.4f}",
            f"always-premium ({', '.join(self.premium_models) or 'n/a'}) would have cost "
            f"${t.premium_cost_usd:.4f}: routing saved ${t.savings_usd:.4f} "
            f"({self.savings_share:.1%})",
            f"provider arbitrage saved ${self.arbitrage_usd:.4f} against list prices",
            f"prompt caching saved ${t.prompt_cache_saved_usd:.4f} (cache reads at the cached "
            "price, less cache writes above the input price)",
        ]
        for title, groups in (
            ("model", self.by_model),
            ("tenant", self.by_tenant),
            ("day", self.by_day),
            ("provider", self.by_provider),
        ):
            lines.append("")
            lines.append(
                f"{'by ' + title:28} {'calls':>7} {'errors':>6} {'cached':>6} {'cost $':>10} "
                f"{'premium $':>10} {'saved $':>10}"
            )
            for name, g in sorted(groups.items(), key=lambda kv: -kv[1].cost_usd):
                lines.append(
                    f"  {name[:26]:26} {g.calls:>7} {g.errors:>6} {g.cache_hits:>6} "
                    f"{g.cost_usd:>10.4f} {g.premium_cost_usd:>10.4f} {g.savings_usd:>10.4f}"
                )
        return "\n".join(lines)


def summarise(records: Iterable[AuditRecord]) -> AuditSummary:
    """Totals and per-model/tenant/day/provider spend of audit records."""
    total = SpendLine()
    groups: dict[str, dict[str, SpendLine]] = {
        "model": {},
        "tenant": {},
        "day": {},
        "provider": {},
    }
    premium: set[str] = set()
    for r in records:
        total.add(r)
        keys = {
            "model": r.answered_by or "(none)",
            "tenant": r.tenant or "(none)",
            "day": r.time[:10],
            "provider": r.provider or "(none)",
        }
        for group, key in keys.items():
            groups[group].setdefault(key, SpendLine()).add(r)
        if r.premium_model:
            premium.add(r.premium_model)
    return AuditSummary(
        total=total,
        by_model=groups["model"],
        by_tenant=groups["tenant"],
        by_day=groups["day"],
        by_provider=groups["provider"],
        premium_models=sorted(premium),
    )
