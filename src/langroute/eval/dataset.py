"""Recorded per-model outcomes: the neutral shapes every loader produces and replay reads.

One `EvalItem` per prompt, with each model's `Outcome` (score, cost, tokens, answer). A
missing score is `None`, never 0: a blank cell in a benchmark is not a wrong answer.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from langroute.errors import ConfigError

DATA_DIR_ENV = "LANGROUTE_DATA_DIR"


class Outcome(BaseModel):
    """What one model did on one prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float | None = None
    """Quality in the dataset's own scale (0/1 correct, a 1–10 grade, ...); None if missing."""
    cost_usd: float | None = Field(default=None, ge=0)
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    response: str | None = None

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("score must be a finite number or missing (null)")
        return value


class EvalItem(BaseModel):
    """One prompt and every model's recorded outcome on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    prompt: str
    group: str | None = None
    """Where the prompt comes from (benchmark, subject, category): for per-group reports."""
    outcomes: dict[str, Outcome]


def prompt_key(prompt: str) -> str:
    """The identity of a prompt for leakage checks: whitespace- and case-insensitive."""
    normal = " ".join(prompt.split()).lower()
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=8).hexdigest()


class EvalDataset:
    """Prompts with per-model outcomes, in a fixed model order.

    `score_scale` maps the dataset's scores onto [0, 1] for learning (e.g. MT Bench's
    1–10 grades); reports keep the dataset's own scale.
    """

    def __init__(
        self,
        name: str,
        items: Sequence[EvalItem],
        models: Sequence[str] | None = None,
        *,
        score_range: tuple[float, float] = (0.0, 1.0),
        dropped: int = 0,
    ) -> None:
        if not items:
            raise ConfigError(f"dataset {name!r} has no prompts")
        self.name = name
        self.items: list[EvalItem] = list(items)
        if models is None:
            seen: dict[str, None] = {}
            for item in self.items:
                seen.update(dict.fromkeys(item.outcomes))
            models = list(seen)
        self.models: list[str] = list(models)
        self.score_range = score_range
        self.dropped = dropped
        """Prompts the loader left out (contaminated, duplicated, ...)."""

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[EvalItem]:
        return iter(self.items)

    @property
    def prompts(self) -> list[str]:
        return [item.prompt for item in self.items]

    def keys(self) -> set[str]:
        return {prompt_key(item.prompt) for item in self.items}

    def fingerprint(self) -> str:
        """A hash of the prompts and outcomes: what a trained artifact records as its data."""
        h = hashlib.sha256()
        for item in self.items:
            h.update(item.prompt.encode("utf-8"))
            for model in self.models:
                o = item.outcomes.get(model)
                h.update(f"|{model}={o.score if o else None},{o.cost_usd if o else None}".encode())
        return h.hexdigest()[:16]

    def subset(self, indices: Iterable[int], name: str | None = None) -> EvalDataset:
        return EvalDataset(
            name or self.name,
            [self.items[i] for i in indices],
            self.models,
            score_range=self.score_range,
        )

    def restricted(self, models: Sequence[str]) -> EvalDataset:
        """The same prompts with only `models` (in that order)."""
        unknown = [m for m in models if m not in self.models]
        if unknown:
            raise ConfigError(
                f"models {unknown} are not in dataset {self.name!r}; it has: {self.models}"
            )
        return EvalDataset(self.name, self.items, models, score_range=self.score_range)

    def merged(self, *others: EvalDataset, name: str) -> EvalDataset:
        """This dataset and others as one (same models and score range)."""
        items = list(self.items)
        for other in others:
            if other.models != self.models or other.score_range != self.score_range:
                raise ConfigError(
                    f"cannot merge {other.name!r} into {self.name!r}: models or score range differ"
                )
            items.extend(other.items)
        return EvalDataset(name, items, self.models, score_range=self.score_range)

    def normalised(self, score: float) -> float:
        low, high = self.score_range
        return (score - low) / (high - low)


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The directory holding public datasets: `explicit`, else $LANGROUTE_DATA_DIR, else None."""
    value = explicit if explicit is not None else os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def resolve(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> Path:
    """`path` itself if it exists, else relative to the data directory; a clear error if neither."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    root = data_dir(base)
    if root is not None and (root / candidate).exists():
        return root / candidate
    where = f" or under {root}" if root is not None else f" (set ${DATA_DIR_ENV} to look elsewhere)"
    raise ConfigError(f"dataset path {str(path)!r} does not exist{where}")
