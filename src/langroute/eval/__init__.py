"""Offline evaluation on recorded per-model outcomes: datasets, replay, metrics, training.

Needs the `eval` extra (numpy, scikit-learn, the offline embedder, rich, matplotlib):
`pip install 'langroute[eval]'`. Nothing here calls a model or downloads anything.
"""

from langroute.eval.dataset import DATA_DIR_ENV, EvalDataset, EvalItem, Outcome, prompt_key
from langroute.eval.splits import LeakageError, Split, held_out, kfold

__all__ = [
    "DATA_DIR_ENV",
    "EvalDataset",
    "EvalItem",
    "LeakageError",
    "Outcome",
    "Split",
    "held_out",
    "kfold",
    "prompt_key",
]
