"""RouterBench's wide CSV (withmartian/routerbench, MIT): per-model score, answer and USD cost.

Columns: `sample_id`, `prompt`, `eval_name`, then for each model `<model>` (score in
[0, 1]), `<model>|model_response` and `<model>|total_cost`. Blank scores are missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from langroute._fast import construct
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, EvalItem, Outcome, resolve
from langroute.eval.loaders._csv import number, rows

COST = "|total_cost"
RESPONSE = "|model_response"


def load_routerbench(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, name: str | None = None
) -> EvalDataset:
    """One dataset from one or more RouterBench CSV files (e.g. all `*_test.csv`).

    A prompt that appears in more than one of the files is kept once.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    models: list[str] | None = None
    items: list[EvalItem] = []
    seen: set[str] = set()
    dropped = 0
    for raw in paths:
        path = resolve(raw)
        for row in rows(path):
            if models is None:
                models = [c.removesuffix(COST) for c in row if c.endswith(COST)]
                if not models or "prompt" not in row:
                    raise ConfigError(
                        f"{path} is not a RouterBench CSV: it needs a prompt column and "
                        "<model>|total_cost columns"
                    )
            prompt = row["prompt"]
            if prompt in seen:
                dropped += 1
                continue
            seen.add(prompt)
            outcomes = {
                m: construct(
                    Outcome,
                    score=number(row.get(m)),
                    cost_usd=number(row.get(m + COST)),
                    prompt_tokens=None,
                    completion_tokens=None,
                    response=row.get(m + RESPONSE),
                )
                for m in models
            }
            items.append(
                construct(
                    EvalItem,
                    id=row.get("sample_id") or f"{path.stem}.{len(items)}",
                    prompt=prompt,
                    group=row.get("eval_name") or None,
                    outcomes=outcomes,
                )
            )
    if models is None:
        raise ConfigError(f"no rows in {list(paths)}")
    label = name or "+".join(sorted({str(os.fspath(p)).rsplit("/", 1)[-1] for p in paths}))
    return EvalDataset(label, items, models, dropped=dropped)
