"""langroute's own dataset format: JSON Lines, one prompt per line, for your own logs.

    {"id": "q1", "prompt": "…", "group": "support",
     "outcomes": {"gpt-4o": {"score": 1, "cost_usd": 0.0021},
                  "gpt-4o-mini": {"score": 0, "prompt_tokens": 812, "completion_tokens": 95}}}

`id` and `group` are optional; an outcome may be a bare number (its score). Where an
outcome has tokens but no cost, `load_jsonl(..., registry=...)` prices it from the registry.

Logs with one line per call (the "long" form) load too: a line with a `model` and no
`outcomes` is that model's outcome, and the lines of one prompt (the same `id`, or without
one the same prompt text) make one item:

    {"prompt": "…", "model": "gpt-4o", "score": 1, "cost_usd": 0.0021}
    {"prompt": "…", "model": "gpt-4o-mini", "score": 0, "cost_usd": 0.0002}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, EvalItem, Outcome, resolve
from langroute.registry import Registry
from langroute.registry.registry import _explain

_OUTCOME_FIELDS = tuple(Outcome.model_fields)
_SHAPES = (
    '\n  each line is one prompt, {"prompt": "…", "outcomes": {"model": {"score": 1, '
    '"cost_usd": 0.002}}}, or one call, {"prompt": "…", "model": "…", "score": 1, '
    '"cost_usd": 0.002}'
)


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
    items: dict[str, EvalItem] = {}
    first_line: dict[tuple[str, str], int] = {}  # (item, model) → line of its outcome
    with file.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{file}, line {n}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ConfigError(f"{where}: not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ConfigError(f"{where}: each line must be a JSON object{_SHAPES}")
            long_form = "outcomes" not in row and isinstance(row.get("model"), str)
            if long_form:
                model = row.pop("model")
                fields = {k: row.pop(k) for k in _OUTCOME_FIELDS if k in row}
                row["outcomes"] = {model: fields}
                row.setdefault("id", str(row.get("prompt", f"{file.stem}.{n}")))
            row.setdefault("id", f"{file.stem}.{n}")
            row["outcomes"] = {k: _outcome(v) for k, v in dict(row.get("outcomes", {})).items()}
            try:
                item = EvalItem.model_validate(row)
            except ValidationError as exc:
                raise ConfigError(f"{_explain(where, exc, EvalItem)}{_SHAPES}") from None
            if registry is not None:
                item = _priced(item, registry, aliases or {})
            key = item.id if long_form else f"\0{n}"  # a whole-prompt line stands alone
            earlier = items.get(key)
            if earlier is None:
                items[key] = item
            else:
                (model,) = item.outcomes
                if model in earlier.outcomes:
                    raise ConfigError(
                        f"{where}: {model!r} already has an outcome for this prompt (line "
                        f"{first_line[key, model]})"
                    )
                outcomes = {**earlier.outcomes, **item.outcomes}
                group = earlier.group or item.group
                items[key] = earlier.model_copy(update={"outcomes": outcomes, "group": group})
            for model in item.outcomes:
                first_line.setdefault((key, model), n)
    return EvalDataset(name or file.stem, list(items.values()), score_range=score_range)


def write_jsonl(dataset: EvalDataset | Iterable[EvalItem], path: str | os.PathLike[str]) -> Path:
    """Write items in the JSONL format `load_jsonl` reads (missing fields left out)."""
    out = Path(path)
    with out.open("w", encoding="utf-8") as fh:
        for item in dataset:
            fh.write(item.model_dump_json(exclude_none=True) + "\n")
    return out
