"""Train/test splits that cannot leak: a prompt (by `prompt_key`) lives on one side only.

`Split` checks disjointness when it is made, so no code path can score a prompt the
router was trained on; `kfold` keeps duplicates of a prompt in the same fold.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from langroute.errors import ConfigError
from langroute.eval.dataset import EvalDataset, prompt_key


class LeakageError(ConfigError):
    """A test prompt was also seen in training."""


@dataclass(frozen=True)
class Split:
    train: EvalDataset
    test: EvalDataset

    def __post_init__(self) -> None:
        overlap = self.train.keys() & self.test.keys()
        if overlap:
            raise LeakageError(
                f"{len(overlap)} test prompts of {self.test.name!r} are also in the training "
                f"data {self.train.name!r}: use held_out() or kfold() to split"
            )


def held_out(train: EvalDataset, test: EvalDataset) -> Split:
    """A split from separate train and test sets, dropping test prompts also in train."""
    seen = train.keys()
    keep = [i for i, item in enumerate(test.items) if prompt_key(item.prompt) not in seen]
    clean = test.subset(keep, name=test.name)
    clean.dropped = test.dropped + len(test) - len(keep)
    return Split(train, clean)


def kfold_indices(
    dataset: EvalDataset, k: int = 5, seed: int = 0
) -> list[tuple[list[int], list[int]]]:
    """(train, test) row indices of `k` folds; identical prompts share a fold."""
    if k < 2:
        raise ConfigError(f"k-fold needs k >= 2, got {k}")
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(dataset.items):
        groups.setdefault(prompt_key(item.prompt), []).append(i)
    if len(groups) < k:
        raise ConfigError(f"{dataset.name!r} has {len(groups)} distinct prompts, fewer than k={k}")
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    out = []
    for f in range(k):
        test_idx = sorted(i for key in keys[f::k] for i in groups[key])
        held = set(test_idx)
        out.append(([i for i in range(len(dataset)) if i not in held], test_idx))
    return out


def kfold(dataset: EvalDataset, k: int = 5, seed: int = 0) -> list[Split]:
    """`k` splits, each prompt tested exactly once; identical prompts share a fold."""
    splits = []
    for f, (train_idx, test_idx) in enumerate(kfold_indices(dataset, k, seed)):
        splits.append(
            Split(
                dataset.subset(train_idx, name=f"{dataset.name}[train {f + 1}/{k}]"),
                dataset.subset(test_idx, name=f"{dataset.name}[fold {f + 1}/{k}]"),
            )
        )
    return splits
