"""The evaluation on the public recorded outcomes (RouterBench slice, RouteLLM's three).

- RouterBench: every recipe trained on the `*_train.csv` files, scored on `*_test.csv`
  (test prompts also in train are dropped).
- GSM8K and MMLU: 5-fold cross-validation; each prompt scored by a router that never saw it.
- MT Bench: a router trained only on GSM8K and MMLU.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from langroute.embed import StaticEmbedder
from langroute.errors import ConfigError
from langroute.eval.bounds import VoteCascadeBound, vote_cascade_bound
from langroute.eval.dataset import DATA_DIR_ENV, data_dir
from langroute.eval.evaluate import (
    MultiModelReport,
    PairReport,
    cross_validated_scores,
    evaluate_multi,
    evaluate_pair,
    strong_win_scores,
)
from langroute.eval.loaders import (
    ROUTELLM_STRONG,
    ROUTELLM_WEAK,
    load_gsm8k,
    load_mmlu,
    load_mt_bench,
    load_routerbench,
)
from langroute.eval.replay import Matrices
from langroute.eval.splits import Split, held_out
from langroute.eval.train import Progress, embed_all

# RouteLLM's published figures (Ong et al. 2024, as recorded in shared/data/README.md).
PUBLISHED: dict[str, dict[str, float | str]] = {
    "mt_bench": {
        "router": "RouteLLM matrix factorisation",
        "cpt50": 0.134,
        "apgr": 0.802,
        "oracle_cpt50": 0.083,
    },
    "gsm8k": {"oracle_cpt50": 0.111},
    "mmlu": {"oracle_cpt50": 0.062},
}

PAIR_ESTIMATORS = ("logistic", "knn", "mf", "mlp")


class PublicReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routerbench: MultiModelReport | None = None
    vote_cascade_bound: VoteCascadeBound | None = None
    """How far cheap-first cascades can go on the RouterBench slice (`langroute.eval.bounds`)."""
    routellm: list[PairReport] = []
    classifiers: ClassifierReport | None = None
    published: dict[str, dict[str, float | str]] = PUBLISHED


def find_public_data(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The public data folder: `explicit`, $LANGROUTE_DATA_DIR, or ../shared/data from here
    (None if that is missing). A folder that was named but holds no data is an error, not
    a reason to read another one."""
    named = data_dir(explicit)
    if named is not None:
        if (named / "routerbench_zs").is_dir():
            return named
        source = "--data-dir" if explicit is not None else f"${DATA_DIR_ENV}"
        raise ConfigError(
            f"{source} {named} holds no routerbench_zs/ folder: point it at the folder "
            "holding routerbench_zs/ and routellm/"
        )
    default = Path("../shared/data")
    return default if (default / "routerbench_zs").is_dir() else None


def routerbench_split(root: Path) -> Split:
    folder = root / "routerbench_zs"
    train = sorted(folder.glob("*_train.csv"))
    test = sorted(folder.glob("*_test.csv"))
    if not train or not test:
        raise ConfigError(f"{folder} needs *_train.csv and *_test.csv files")
    return held_out(
        load_routerbench(train, name="routerbench-0shot train"),
        load_routerbench(test, name="routerbench-0shot test"),
    )


def run_routellm(root: Path, progress: Progress | None = None, folds: int = 5) -> list[PairReport]:
    folder = root / "routellm"
    embedder = StaticEmbedder()
    reports = []
    datasets = {"gsm8k": load_gsm8k(folder), "mmlu": load_mmlu(folder)}
    embeddings = {name: embed_all(embedder, d.prompts, progress) for name, d in datasets.items()}
    for name, dataset in datasets.items():
        scores = [
            (
                f"learned[static+{est}]",
                cross_validated_scores(
                    dataset,
                    embedder,
                    est,
                    strong=ROUTELLM_STRONG,
                    weak=ROUTELLM_WEAK,
                    k=folds,
                    x=embeddings[name],
                    progress=progress,
                ),
            )
            for est in PAIR_ESTIMATORS
        ]
        reports.append(
            evaluate_pair(
                dataset,
                scores,
                strong=ROUTELLM_STRONG,
                weak=ROUTELLM_WEAK,
                protocol=f"{folds}-fold cross-validation",
            )
        )
    mt = load_mt_bench(folder)
    train = datasets["gsm8k"].merged(datasets["mmlu"], name="gsm8k+mmlu")
    Split(train, mt)  # raises if any MT Bench prompt were in the training data
    import numpy as np

    x_train = np.concatenate([embeddings["gsm8k"], embeddings["mmlu"]])
    x_test = embed_all(embedder, mt.prompts)
    m = Matrices(train)
    s, w = m.models.index(ROUTELLM_STRONG), m.models.index(ROUTELLM_WEAK)
    scores = [
        (f"learned[static+{est}]", strong_win_scores(est, x_train, m, x_test, s, w))
        for est in PAIR_ESTIMATORS
    ]
    reports.append(
        evaluate_pair(
            mt,
            scores,
            strong=ROUTELLM_STRONG,
            weak=ROUTELLM_WEAK,
            protocol="trained on GSM8K + MMLU only",
        )
    )
    return reports


def run_public(
    root: str | os.PathLike[str] | None = None,
    *,
    progress: Progress | None = None,
    routellm: bool = True,
) -> PublicReport:
    found = find_public_data(root)
    if found is None:
        raise ConfigError(
            "public data not found: pass --data-dir or set $LANGROUTE_DATA_DIR to the folder "
            "holding routerbench_zs/ and routellm/"
        )
    split = routerbench_split(found)
    routerbench = evaluate_multi(split, progress=progress)
    report = PublicReport(
        routerbench=routerbench,
        vote_cascade_bound=vote_cascade_bound(split.train, split.test, routerbench.strongest),
    )
    if routellm and (found / "routellm").is_dir():
        report.routellm = run_routellm(found, progress)
        report.classifiers = classifier_accuracy(found)
    return report


MT_BENCH_DOMAINS = {
    "writing": "creative",
    "roleplay": "creative",
    "reasoning": "reasoning",
    "math": "math",
    "coding": "code",
    "extraction": "extraction",
    "stem": "chat",
    "humanities": "chat",
}
ROUTERBENCH_DOMAINS = {"arc-challenge": "reasoning", "winogrande": "reasoning", "mbpp": "code"}


class ClassifierAccuracy(BaseModel):
    classifier: str
    accuracy: float
    per_domain: dict[str, float]
    fit_half_accuracy: float | None = None
    """For classifiers that use no labelled prompt: accuracy on the other half too."""


class ClassifierReport(BaseModel):
    """Task-domain accuracy of the classifiers on labelled public prompts (held-out half)."""

    n_fit: int
    n_test: int
    labels: dict[str, int]
    rows: list[ClassifierAccuracy]


def labelled_prompts(root: Path) -> list[tuple[str, str]]:
    """Public prompts with a task domain from their source: MT Bench categories, RouterBench
    benchmarks, GSM8K (math)."""
    import json

    out: list[tuple[str, str]] = []
    with (root / "routellm" / "mt_bench" / "question.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                out.append((q["turns"][0], MT_BENCH_DOMAINS[q["category"]]))
    bench = load_routerbench(sorted((root / "routerbench_zs").glob("*_test.csv")))
    out += [
        (it.prompt, ROUTERBENCH_DOMAINS[it.group or ""])
        for it in bench.items[::10]
        if (it.group or "") in ROUTERBENCH_DOMAINS
    ]
    out += [(it.prompt, "math") for it in load_gsm8k(root / "routellm").items[::20]]
    return out


def classifier_accuracy(root: Path) -> ClassifierReport:
    """Rule vs embedding classifiers (static and MiniLM embedders; default thresholds,
    thresholds fitted, or the prompts added as examples — all from one half of the labelled
    prompts), scored on the other half; the classifiers that use no labelled prompt are
    scored on the first half too, a second held-out check."""
    from collections import Counter

    from langroute.classify import EmbeddingClassifier, RuleClassifier
    from langroute.classify.base import Classifier
    from langroute.embed import MiniLMEmbedder
    from langroute.features import RoutingRequest

    examples = labelled_prompts(root)
    fit, test = examples[::2], examples[1::2]
    static = EmbeddingClassifier(embedder=StaticEmbedder())
    minilm = EmbeddingClassifier(embedder=MiniLMEmbedder())
    rules = RuleClassifier()
    candidates: list[tuple[str, Classifier]] = [
        ("rules (default)", rules),
        ("embedding, static table (default)", static),
        ("embedding, static table, fitted thresholds", static.fit_thresholds(fit)),
        ("embedding, MiniLM", minilm),
        ("embedding, MiniLM, fitted thresholds", minilm.fit_thresholds(fit)),
        ("embedding, static table + labelled examples", static.with_examples(fit)),
        ("embedding, MiniLM + labelled examples", minilm.with_examples(fit)),
    ]

    def domain(classifier: Classifier, text: str) -> str:
        return classifier.classify(RoutingRequest.build(text).features).domain

    untouched = {rules, static, minilm}
    rows = []
    for name, classifier in candidates:
        hits: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        for text, label in test:
            totals[label] += 1
            hits[label] += domain(classifier, text) == label
        rows.append(
            ClassifierAccuracy(
                classifier=name,
                accuracy=sum(hits.values()) / len(test),
                per_domain={d: hits[d] / totals[d] for d in sorted(totals)},
                fit_half_accuracy=(
                    sum(domain(classifier, text) == label for text, label in fit) / len(fit)
                    if classifier in untouched
                    else None
                ),
            )
        )
    return ClassifierReport(
        n_fit=len(fit),
        n_test=len(test),
        labels=dict(Counter(label for _, label in examples)),
        rows=rows,
    )


PublicReport.model_rebuild()
