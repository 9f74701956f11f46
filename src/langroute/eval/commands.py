"""`langroute eval` and `langroute train`: the command-line side of evaluation."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from langroute.errors import ConfigError
from langroute.eval.configured import rules_contender
from langroute.eval.dataset import EvalDataset, Outcome
from langroute.eval.evaluate import (
    DEFAULT_RECIPES,
    MultiModelReport,
    Recipe,
    report_routers,
    train_recipes,
)
from langroute.eval.loaders import load_dataset
from langroute.eval.public import run_public
from langroute.eval.report import render_multi, render_public
from langroute.eval.splits import held_out, kfold
from langroute.eval.train import Progress, train_router
from langroute.learned.router import ESTIMATORS, LearnedRouter

_NO = Outcome()


def add_arguments(evaluate: argparse.ArgumentParser, train: argparse.ArgumentParser) -> None:
    evaluate.add_argument(
        "--data-dir",
        type=Path,
        help="folder with routerbench_zs/ and routellm/ "
        "(default: $LANGROUTE_DATA_DIR, then ../shared/data)",
    )
    evaluate.add_argument("--train", type=Path, help="your training dataset (.jsonl or .csv)")
    evaluate.add_argument("--test", type=Path, help="your held-out dataset")
    evaluate.add_argument(
        "--folds", type=int, default=0, help="k-fold cross-validation on --train alone"
    )
    evaluate.add_argument("--router", type=Path, help="a trained router (.npz) to score on --test")
    evaluate.add_argument(
        "--recipe",
        action="append",
        default=[],
        help="embedder+estimator+rule, e.g. static+logistic+tradeoff "
        "(repeatable; default: the built-in recipes)",
    )
    evaluate.add_argument(
        "--no-routellm", action="store_true", help="public data: RouterBench only (faster)"
    )
    evaluate.add_argument("--json", type=Path, help="write the full report as JSON")
    evaluate.add_argument("--plot", type=Path, help="write the cost-quality plane as PNG")
    evaluate.add_argument(
        "--per-prompt",
        type=Path,
        help="write each test prompt's chosen model, its recorded score and cost (JSONL)",
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument("data", type=Path, help="training data (.jsonl, RouterBench .csv, ...)")
    train.add_argument("--out", type=Path, required=True, help="artifact path (.npz)")
    train.add_argument("--embedder", choices=["static", "hashing"], default="static")
    train.add_argument("--estimator", choices=sorted(ESTIMATORS), default="logistic")
    train.add_argument("--rule", choices=["tradeoff", "threshold"], default="tradeoff")
    target = train.add_mutually_exclusive_group()
    target.add_argument(
        "--target-quality",
        type=float,
        default=None,
        help="share of the best model's quality to reach (default 0.95)",
    )
    target.add_argument(
        "--target-share",
        type=float,
        default=None,
        help="most calls the dearest model may get, e.g. 0.3",
    )
    train.add_argument(
        "--cost",
        action="append",
        default=[],
        metavar="MODEL=USD",
        help="USD per call for a model, when the data records no cost",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")


@contextmanager
def progress_bar(quiet: bool) -> Iterator[Progress | None]:
    """A rich progress bar on stderr (plain lines when rich is missing)."""
    if quiet:
        yield None
        return
    try:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress
    except ImportError:

        def plain(task: str, done: int, total: int) -> None:
            if done == total:
                print(f"  {task}: {done}/{total}", file=sys.stderr)

        yield plain
        return
    from rich.console import Console

    tasks: dict[str, Any] = {}
    with RichProgress(
        TextColumn("{task.description:24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        yield update


def _recipes(specs: list[str]) -> list[Recipe]:
    if not specs:
        return list(DEFAULT_RECIPES)
    out = []
    for spec in specs:
        parts = spec.split("+")
        if len(parts) != 3:
            raise ConfigError(
                f"recipe {spec!r}: write embedder+estimator+rule, e.g. static+logistic+tradeoff"
            )
        out.append(Recipe(embedder=parts[0], estimator=parts[1], rule=parts[2]))
    return out


def run_eval(args: argparse.Namespace) -> int:
    payload: BaseModel
    multi: MultiModelReport | None
    per_prompt: tuple[LearnedRouter, EvalDataset] | None = None
    with progress_bar(args.quiet) as progress:
        if args.router is not None:
            if args.test is None:
                raise ConfigError("--router needs --test: the held-out data to score it on")
            router = LearnedRouter.load(args.router)
            test = load_dataset(args.test)
            report = report_routers(
                test,
                [(str(args.router), router, 0.0)],
                n_train=router.info.n_train,
                progress=progress,
            )
            text, payload, multi = render_multi(report), report, report
            per_prompt = (router, test)
        elif args.train is not None:
            data = load_dataset(args.train)
            if args.folds:
                split = kfold(data, args.folds)[0]
            elif args.test is not None:
                split = held_out(data, load_dataset(args.test))
            else:
                raise ConfigError("--train needs --test, or --folds K to hold out 1/K of it")
            routers = train_recipes(split.train, _recipes(args.recipe), progress=progress)
            rules = rules_contender(split.train, split.test)
            report = report_routers(
                split.test, routers, n_train=len(split.train), progress=progress, others=[rules]
            )
            text, payload, multi = render_multi(report), report, report
            per_prompt = (routers[0][1], split.test)
        else:
            public = run_public(args.data_dir, progress=progress, routellm=not args.no_routellm)
            text, payload, multi = render_public(public), public, public.routerbench
    print(text)
    if args.json:
        args.json.write_text(payload.model_dump_json(indent=2), encoding="utf-8")
        print(f"\nreport written to {args.json}")
    if args.per_prompt:
        if per_prompt is None:
            raise ConfigError("--per-prompt needs --router or --train (your own data)")
        write_choices(*per_prompt, args.per_prompt)
        print(f"per-prompt choices written to {args.per_prompt}")
    if args.plot and multi is not None:
        from langroute.eval.plot import plot_multi

        plot_multi(multi, args.plot)
        print(f"plot written to {args.plot}")
    return 0


def write_choices(router: LearnedRouter, test: EvalDataset, path: Path) -> None:
    """One line per test prompt: id, chosen model, its recorded score and cost, and the
    router's predicted quality for it."""
    import json

    prediction = router.predict(test.prompts)
    choices = router.choose(prediction)
    with path.open("w", encoding="utf-8") as fh:
        for i, (item, j) in enumerate(zip(test.items, choices, strict=True)):
            model = router.models[int(j)]
            outcome = item.outcomes.get(model)
            fh.write(
                json.dumps(
                    {
                        "id": item.id,
                        "chosen": model,
                        "score": outcome.score if outcome else None,
                        "cost_usd": outcome.cost_usd if outcome else None,
                        "predicted_quality": round(float(prediction.quality[i, int(j)]), 4),
                    }
                )
                + "\n"
            )


def _costs(pairs: list[str]) -> dict[str, float] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        model, sep, usd = pair.rpartition("=")
        if not sep or not model:
            raise ConfigError(f"--cost {pair!r}: write MODEL=USD, e.g. gpt-4o=0.004")
        out[model] = float(usd)
    return out


def run_train(args: argparse.Namespace) -> int:
    data = load_dataset(args.data)
    recipe = Recipe(embedder=args.embedder, estimator=args.estimator, rule=args.rule)
    with progress_bar(args.quiet) as progress:
        router = train_router(
            data,
            embedder=recipe.make_embedder(),
            estimator=recipe.estimator,
            rule=recipe.rule,
            costs=_costs(args.cost),
            target_quality=None if args.target_share is not None else (args.target_quality or 0.95),
            target_share=args.target_share,
            progress=progress,
        )
    path = router.save(args.out)
    oof = router.info.metrics["out_of_fold"]
    print(
        f"trained {recipe.label} on {len(data)} prompts of {data.name!r} "
        f"(data {router.info.data_fingerprint}); operating point {router.operating_point.rule}"
        f"={router.operating_point.value:.4g}; out-of-fold quality {oof['quality']:.3f}"
        + (f", cost ${oof['cost_usd']:.4f}" if oof.get("cost_usd") is not None else "")
    )
    print(f"artifact written to {path}")
    return 0


def add_scorer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        type=Path,
        nargs="+",
        help="recorded answers, one or more files (each outcome with its `response` and score)",
    )
    parser.add_argument("--out", type=Path, required=True, help="artifact path (.npz)")
    parser.add_argument(
        "--chain",
        help="the cascade's models, cheapest first, comma-separated (dataset names): train a "
        "ChainScorer for them and calibrate its threshold; without it, a LearnedScorer",
    )
    parser.add_argument("--embedder", choices=["static", "hashing"], default="static")
    parser.add_argument(
        "--target-quality",
        type=float,
        default=0.95,
        help="with --chain: the threshold is the cheapest reaching this share of the last "
        "model's quality (default 0.95)",
    )


def run_train_scorer(args: argparse.Namespace) -> int:
    """Train a cascade scorer on recorded answers, write it, and print the threshold to use
    (with --chain: calibrated on out-of-fold scores, like the routers' operating points)."""
    import numpy as np

    from langroute.eval.cascade import threshold_for
    from langroute.eval.replay import Matrices
    from langroute.scorers.chain import ChainScorer
    from langroute.scorers.learned import LearnedScorer

    if not 0 < args.target_quality <= 1.5:
        raise ConfigError(f"--target-quality must be in (0, 1.5], got {args.target_quality}")
    data = _joined([load_dataset(path) for path in args.data])
    chain = [m.strip() for m in (args.chain or "").split(",") if m.strip()]
    unknown = [m for m in chain if m not in data.models]
    if unknown:
        raise ConfigError(f"--chain models {unknown} are not in {data.name}: {data.models}")
    needed = chain[:-1] or data.models
    silent = [m for m in needed if not any(it.outcomes.get(m, _NO).response for it in data)]
    if silent:
        raise ConfigError(
            f"{data.name} records no answer (`response`) for {silent}: a scorer learns from "
            "recorded answers and their scores"
        )
    embedder = Recipe(embedder=args.embedder).make_embedder()
    if not chain:
        path = LearnedScorer.fit(data, embedder=embedder).save(args.out)
        print(f"trained LearnedScorer for {len(data.models)} models on {len(data)} prompts")
        print(f"artifact written to {path}")
        _print_strategy(scorer="learned", scorer_artifact=str(path))
        return 0
    scorer, oof = ChainScorer.fit_out_of_fold(data, chain, embedder=embedder)
    path = scorer.save(args.out)
    m = Matrices(data)
    idx = [m.models.index(c) for c in chain]
    top = float(np.nanmean(m.score[:, idx[-1]]))
    tau, run = threshold_for(m, idx, oof, target_quality=args.target_quality)
    always_top = float(np.nansum(m.cost[:, idx[-1]])) if m.has_cost else 0.0
    cost = (
        f" at {run.cost_usd / always_top:.0%} of always {chain[-1]}'s cost"
        if always_top and run.cost_usd is not None
        else ""
    )
    print(f"trained ChainScorer for {' → '.join(chain)} on {len(data)} prompts")
    print(
        f"threshold {min(tau, 1.0):.2f}: {run.quality / top:.1%} of {chain[-1]}'s quality{cost} "
        "(out of fold)"
    )
    print(f"artifact written to {path}")
    _print_strategy(
        scorer="chain",
        scorer_artifact=str(path),
        threshold=round(min(tau, 1.0), 2),
        max_models=len(chain),
    )
    return 0


def _joined(datasets: list[EvalDataset]) -> EvalDataset:
    """Several files as one dataset (e.g. RouterBench's per-benchmark train files)."""
    if len(datasets) == 1:
        return datasets[0]
    ranges = {d.score_range for d in datasets}
    if len(ranges) > 1:
        raise ConfigError(
            f"these datasets score on different scales {sorted(ranges)}: train on one scale"
        )
    items = [item for d in datasets for item in d]
    return EvalDataset(" + ".join(d.name for d in datasets), items, score_range=ranges.pop())


def _print_strategy(**settings: Any) -> None:
    """The config-file table that runs a cascade with the scorer just trained."""
    import json

    print("in a config file (add scorer_aliases = {...} if the router's names differ):")
    print("  [strategy]")
    print('  type = "cascade"')
    for key, value in settings.items():
        print(f"  {key} = {json.dumps(value)}")
