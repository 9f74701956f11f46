"""RouteLLM's evaluation data (lm-sys/RouteLLM, Apache-2.0): GSM8K, MMLU and MT Bench.

Two models, GPT-4-1106 (strong) and Mixtral-8x7B (weak). Contaminated prompts — those
overlapping RouteLLM's router training data, listed in `contaminated_prompts.jsonl` — are
dropped exactly as RouteLLM's `benchmarks.py` drops them.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from langroute._fast import construct
from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, EvalItem, Outcome, resolve
from langroute.eval.loaders._csv import number, rows

ROUTELLM_STRONG = "gpt-4-1106-preview"
ROUTELLM_WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
MODELS = (ROUTELLM_STRONG, ROUTELLM_WEAK)


def _contaminated(folder: Path) -> set[str]:
    path = folder / "contaminated_prompts.jsonl"
    if not path.exists():
        return set()
    with path.open(encoding="utf-8") as fh:
        return {json.loads(line)["eval_prompt"] for line in fh if line.strip()}


def _folder(path: str | os.PathLike[str], name: str, marker: str) -> Path:
    folder = resolve(path)
    if folder.is_dir() and not (folder / marker).exists() and (folder / name / marker).exists():
        folder = folder / name
    if not (folder / marker).exists():
        raise ConfigError(f"{folder} is not RouteLLM's {name} folder: {marker} is missing there")
    return folder


def _outcome(row: dict[str, str], model: str) -> Outcome:
    return construct(
        Outcome,
        score=number(row.get(model)),
        cost_usd=None,
        prompt_tokens=None,
        completion_tokens=None,
        response=row.get(f"{model}_response"),
    )


def _items(csv_path: Path, contaminated: set[str], prefix: str) -> tuple[list[EvalItem], int]:
    items: list[EvalItem] = []
    dropped = 0
    for i, row in enumerate(rows(csv_path)):
        if row["prompt"] in contaminated:
            dropped += 1
            continue
        outcomes = {m: _outcome(row, m) for m in MODELS}
        items.append(
            construct(
                EvalItem, id=f"{prefix}.{i}", prompt=row["prompt"], group=prefix, outcomes=outcomes
            )
        )
    return items, dropped


def load_gsm8k(path: str | os.PathLike[str] = "routellm") -> EvalDataset:
    """GSM8K (1,319 prompts; 1,307 after decontamination). `path`: gsm8k/ or its parent."""
    folder = _folder(path, "gsm8k", "gsm8k_responses.csv")
    items, dropped = _items(folder / "gsm8k_responses.csv", _contaminated(folder), "gsm8k")
    return EvalDataset("gsm8k", items, MODELS, dropped=dropped)


def load_mmlu(path: str | os.PathLike[str] = "routellm") -> EvalDataset:
    """MMLU's 57 subjects (14,042 prompts; 14,037 after decontamination), grouped by subject."""
    folder = _folder(path, "mmlu", "contaminated_prompts.jsonl")
    contaminated = _contaminated(folder)
    files = sorted(folder.glob("mmlu_*.csv")) or sorted((folder / "responses").glob("mmlu_*.csv"))
    if not files:
        raise ConfigError(f"no mmlu_<subject>.csv files in {folder}")
    items: list[EvalItem] = []
    dropped = 0
    for csv_path in files:
        subject = csv_path.stem.removeprefix("mmlu_")
        more, gone = _items(csv_path, contaminated, subject)
        items.extend(more)
        dropped += gone
    return EvalDataset("mmlu", items, MODELS, dropped=dropped)


def load_mt_bench(path: str | os.PathLike[str] = "routellm") -> EvalDataset:
    """MT Bench: 80 two-turn questions (72 after decontamination), GPT-4 grades 1–10.

    As in RouteLLM, a question is routed on its first turn and scored by the mean grade
    of both turns of the model it went to.
    """
    folder = _folder(path, "mt_bench", "question.jsonl")
    contaminated = _contaminated(folder)
    grades: dict[tuple[str, str], list[float]] = defaultdict(list)
    with (folder / "judgements.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                j = json.loads(line)
                grades[(str(j["question_id"]), j["model"])].append(float(j["score"]))
    items: list[EvalItem] = []
    dropped = 0
    with (folder / "question.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            turns = q["turns"]
            if turns[0] in contaminated or (len(turns) > 1 and turns[1] in contaminated):
                dropped += 1
                continue
            qid = str(q["question_id"])
            outcomes = {}
            for model in MODELS:
                scores = grades.get((qid, model))
                mean = sum(scores) / len(scores) if scores else None
                outcomes[model] = Outcome(score=mean)
            items.append(
                EvalItem(
                    id=f"mt_bench.{qid}",
                    prompt=turns[0],
                    group=q.get("category"),
                    outcomes=outcomes,
                )
            )
    return EvalDataset("mt_bench", items, MODELS, score_range=(1.0, 10.0), dropped=dropped)
