"""Dataset loaders: RouteLLM's and RouterBench's public formats, and langroute's JSONL."""

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
    "load_gsm8k",
    "load_jsonl",
    "load_mmlu",
    "load_mt_bench",
    "load_routerbench",
    "write_jsonl",
]
