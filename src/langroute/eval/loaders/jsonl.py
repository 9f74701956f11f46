"""langroute's own dataset format: JSON Lines, one prompt per line, for your own logs.

    {"id": "q1", "prompt": "…", "group": "support",
     "outcomes": {"gpt-4o": {"score": 1, "cost_usd": 0.0021},
                  "gpt-4o-mini": {"score": 0, "prompt_tokens": 812, "completion_tokens": 95}}}

`id` and `group` are optional; an outcome may be a bare number (its score). Where an
outcome has tokens but no cost, `load_jsonl(..., registry=...)` prices it from the registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, EvalItem, resolve
from langroute.registry import Registry


def _outcome(value: Any) -> Any:
    return (
        {"score": value}
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
    )


def _priced(item: EvalItem, registry: Registry, aliases: Mapping[str, str]) -> EvalItem:
    outcomes = dict(item.outcomes)
    for model, o in item.outcomes.items():
        if o.cost_usd is None and o.prompt_tokens is not None:
            spec = registry.get(aliases.get(model, model))
            cost = spec.pricing.cost(o.prompt_tokens, o.completion_tokens or 0)
            outcomes[model] = o.model_copy(update={"cost_usd": cost})
    return item.model_copy(update={"outcomes": outcomes})


def load_jsonl(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    score_range: tuple[float, float] = (0.0, 1.0),
    registry: Registry | None = None,
    aliases: Mapping[str, str] | None = None,
) -> EvalDataset:
    """Read a langroute JSONL dataset; errors name the line and the field.

    `aliases` maps dataset model names to registry names for pricing by tokens.
    """
    file = resolve(path)
    items: list[EvalItem] = []
    with file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("each line must be a JSON object")
                row.setdefault("id", f"{file.stem}.{n}")
                row["outcomes"] = {k: _outcome(v) for k, v in dict(row.get("outcomes", {})).items()}
                item = EvalItem.model_validate(row)
            except (ValueError, ValidationError) as exc:
                raise ConfigError(f"{file}, line {n}: {exc}") from exc
            if registry is not None:
                item = _priced(item, registry, aliases or {})
            items.append(item)
    return EvalDataset(name or file.stem, items, score_range=score_range)


def write_jsonl(dataset: EvalDataset | Iterable[EvalItem], path: str | os.PathLike[str]) -> Path:
    """Write items in the JSONL format `load_jsonl` reads (missing fields left out)."""
    out = Path(path)
    with out.open("w", encoding="utf-8") as fh:
        for item in dataset:
            fh.write(item.model_dump_json(exclude_none=True) + "\n")
    return out
