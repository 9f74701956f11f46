"""Dataset loaders: RouteLLM's and RouterBench's public formats, and langroute's JSONL."""

import os
from collections.abc import Callable
from pathlib import Path

from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, resolve
from langroute.eval.loaders.jsonl import load_jsonl, write_jsonl
from langroute.eval.loaders.routellm import (
    ROUTELLM_STRONG,
    ROUTELLM_WEAK,
    load_gsm8k,
    load_mmlu,
    load_mt_bench,
)
from langroute.eval.loaders.routerbench import load_routerbench

__all__ = [
    "ROUTELLM_STRONG",
    "ROUTELLM_WEAK",
    "load_dataset",
    "load_gsm8k",
    "load_jsonl",
    "load_mmlu",
    "load_mt_bench",
    "load_routerbench",
    "write_jsonl",
]


def _is_routerbench(path: Path) -> bool:
    if path.suffix != ".csv":
        return False
    with path.open(encoding="utf-8") as fh:
        return "|total_cost" in fh.readline()


_DETECTORS: tuple[tuple[Callable[[Path], bool], Callable[[Path], EvalDataset]], ...] = (
    (lambda p: p.suffix == ".jsonl" and p.is_file(), load_jsonl),
    (lambda p: p.is_file() and _is_routerbench(p), load_routerbench),
    (lambda p: (p / "gsm8k_responses.csv").exists(), load_gsm8k),
    (lambda p: p.name == "mmlu" and (p / "contaminated_prompts.jsonl").exists(), load_mmlu),
    (
        lambda p: (p / "question.jsonl").exists() and (p / "judgements.jsonl").exists(),
        load_mt_bench,
    ),
)


def load_dataset(path: str | os.PathLike[str]) -> EvalDataset:
    """Any supported dataset by its path: a langroute .jsonl, a RouterBench .csv, or
    RouteLLM's gsm8k/, mmlu/ or mt_bench/ folder (relative paths also under the data dir)."""
    found = resolve(path)
    for matches, load in _DETECTORS:
        if matches(found):
            return load(found)
    raise ConfigError(
        f"{found} is not a dataset langroute reads: give a .jsonl (langroute format), a "
        "RouterBench .csv, or RouteLLM's gsm8k/, mmlu/ or mt_bench/ folder"
    )
