"""User feedback: `router.feedback(request_id, score)` stores a rating of one answer, with
the model, route and A/B arm that produced it; ratings feed the per-route quality monitor
(when given one) and, joined with audit records that carry prompts, become training data
for the learned router (`training_data`, `langroute audit --feedback F --training-data D`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from langroute.errors import ConfigError

if TYPE_CHECKING:
    from langroute.audit import AuditRecord
    from langroute.decision import Decision
    from langroute.shadow import QualityMonitor


class FeedbackRecord(BaseModel):
    """One rating of one answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    score: float = Field(ge=0, le=1)
    comment: str | None = None
    time: float
    model: str | None = None
    """The model that answered (None when the router no longer remembers the call)."""
    route: str | None = None
    tenant: str | None = None
    user: str | None = None
    arm: str | None = None


class FeedbackStore(Protocol):
    def write(self, record: FeedbackRecord) -> None: ...

    def records(self) -> Sequence[FeedbackRecord]: ...


class InMemoryFeedback:
    def __init__(self) -> None:
        self._records: list[FeedbackRecord] = []
        self._lock = threading.Lock()

    def write(self, record: FeedbackRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> Sequence[FeedbackRecord]:
        with self._lock:
            return list(self._records)


class SQLiteFeedback:
    """Ratings in a SQLite table `feedback` (one row per rating, the record as JSON)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS feedback (request_id TEXT, score REAL, data TEXT)"
            )

    def write(self, record: FeedbackRecord) -> None:
        with sqlite3.connect(self.path, timeout=5.0) as conn:
            conn.execute(
                "INSERT INTO feedback VALUES (?, ?, ?)",
                (record.request_id, record.score, record.model_dump_json()),
            )

    def records(self) -> Sequence[FeedbackRecord]:
        with sqlite3.connect(self.path) as conn:
            rows = conn.execute("SELECT data FROM feedback ORDER BY rowid").fetchall()
        return [FeedbackRecord.model_validate_json(r[0]) for r in rows]


class FeedbackLog:
    """Remembers recent calls (request id → model, route, arm: the newest `remember` to
    2 × `remember` of them) so a later rating can be attributed, and writes ratings to its
    store."""

    def __init__(
        self,
        store: FeedbackStore | None = None,
        *,
        monitor: QualityMonitor | None = None,
        remember: int = 100_000,
    ) -> None:
        self.store: FeedbackStore = store if store is not None else InMemoryFeedback()
        self.monitor = monitor
        """Ratings also go to this monitor, per route (None: stored only)."""
        self._recent: dict[str, tuple[Any, ...]] = {}
        self._remember = remember

    def remember(self, decision: Decision, route: str | None = None) -> None:
        """Note who answered `decision` (on every answered call, so kept cheap: a tuple in a
        dict trimmed to the newest `remember` calls now and then)."""
        f = decision.features
        recent = self._recent
        recent[decision.request_id] = (
            decision.answered_by,
            route or decision.profile.domain,
            f.tenant,
            f.user,
            decision.arm,
            route is None,
        )
        if len(recent) > 2 * self._remember:
            self._recent = dict(list(recent.items())[-self._remember :])

    def add(self, request_id: str, score: float, *, comment: str | None = None) -> FeedbackRecord:
        if not 0 <= score <= 1:
            raise ConfigError(
                f"feedback score must be in [0, 1] (0 bad, 1 good), got {score}; map "
                "thumbs to 0/1 and stars to (stars - 1) / 4"
            )
        known = self._recent.get(request_id)
        fields: dict[str, Any] = {}
        if known is not None:
            model, route, tenant, user, arm, by_domain = known
            route = f"{route}→{model}" if by_domain else route  # the default route
            fields = {"model": model, "route": route, "tenant": tenant, "user": user, "arm": arm}
        record = FeedbackRecord(
            request_id=request_id, score=score, comment=comment, time=time.time(), **fields
        )
        self.store.write(record)
        if self.monitor is not None and record.route is not None:
            self.monitor.observe(record.route, score)
        return record


def training_data(
    audit: Iterable[AuditRecord], feedback: Iterable[FeedbackRecord]
) -> tuple[list[dict[str, Any]], int]:
    """Rows of langroute's JSONL dataset format from audit records (with prompts) and the
    ratings of their answers: one row per prompt, with each model that answered it rated —
    its score (the mean rating) and its cost. Returns (rows, rated calls skipped because
    their record has no prompt text: record prompts with `AuditLog(include_prompts=True)`)."""
    ratings: dict[str, list[float]] = {}
    for f in feedback:
        ratings.setdefault(f.request_id, []).append(f.score)
    by_prompt: dict[str, dict[str, Any]] = {}
    skipped = 0
    for record in audit:
        scores = ratings.get(record.request_id)
        if not scores or record.answered_by is None or record.outcome != "ok":
            continue
        if not record.prompt:
            skipped += 1
            continue
        row = by_prompt.setdefault(
            record.prompt,
            {
                "id": record.request_id,
                "prompt": record.prompt,
                "group": record.profile.get("domain"),
                "outcomes": {},
                "_scores": {},
            },
        )
        row["_scores"].setdefault(record.answered_by, []).extend(scores)
        seen = row["_scores"][record.answered_by]
        row["outcomes"][record.answered_by] = {
            "score": sum(seen) / len(seen),
            "cost_usd": record.cost_usd,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
        }
    rows = [{k: v for k, v in row.items() if k != "_scores"} for row in by_prompt.values()]
    return rows, skipped
