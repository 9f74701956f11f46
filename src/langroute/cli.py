"""`langroute` command line: dry-run routing decisions, the model catalog, evaluation,
training and audit summaries."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from langroute.errors import ConfigError, LangrouteError
from langroute.registry import Registry, lifecycle
from langroute.router import Router


def _demo_prompts() -> list[str]:
    text = resources.files("langroute.data").joinpath("demo_prompts.jsonl").read_text("utf-8")
    return [json.loads(line)["prompt"] for line in text.splitlines() if line.strip()]


def _read_prompts(path: Path) -> list[str]:
    """Prompts from a .txt (one per line) or .jsonl file (`prompt`, or MT-Bench `turns`)."""
    prompts: list[str] = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        if path.suffix == ".jsonl":
            row = json.loads(line)
            prompts.append(row.get("prompt") or row["turns"][0])
        else:
            prompts.append(line)
    return prompts


def _router(args: argparse.Namespace) -> Router:
    if args.config is not None:
        return Router.from_config(args.config)
    registry = Registry.builtin()
    for path in args.models_file or ():
        registry.load_file(path)
    models = [m.strip() for m in args.models.split(",")] if args.models else None
    return Router(models, registry=registry)


def _eval_commands() -> Any:
    """The eval/train commands, imported only when used (they need the `eval` extra)."""
    try:
        from langroute.eval import commands
    except ImportError as exc:
        raise ConfigError(
            f"`langroute eval` and `train` need the eval extra ({exc.name} is missing): "
            "pip install 'langroute[eval]'"
        ) from exc
    return commands


def _demo_eval(data_dir: Path | None) -> int:
    """The main job's second half: learned routers replayed on the public recorded outcomes."""
    print("\n" + "=" * 100)
    try:
        commands = _eval_commands()
    except ConfigError as exc:
        print(f"evaluation skipped: {exc}")
        return 0
    from langroute.eval.public import find_public_data

    try:
        root = find_public_data(data_dir)
    except ConfigError as exc:
        print(f"evaluation skipped: {exc}")
        return 0
    if root is None:
        print(
            "evaluation skipped: no public recorded outcomes found. Point --data-dir or "
            "$LANGROUTE_DATA_DIR at a folder holding routerbench_zs/ and routellm/ to replay "
            "learned routers on them (`langroute eval`)."
        )
        return 0
    print(f"Learned routers replayed on the recorded outcomes in {root} (`langroute eval`):\n")
    args = argparse.Namespace(
        data_dir=root,
        router=None,
        train=None,
        test=None,
        folds=0,
        recipe=[],
        no_routellm=False,
        json=None,
        plot=None,
        per_prompt=None,
        quiet=not sys.stderr.isatty(),
    )
    return int(commands.run_eval(args))


def _route(router: Router, prompts: Sequence[str], as_json: bool) -> None:
    total = 0.0
    for i, prompt in enumerate(prompts, 1):
        decision = router.route(prompt)
        total += decision.estimated_cost_usd
        if as_json:
            print(decision.model_dump_json())
            continue
        short = prompt.replace("\n", " ")
        short = short if len(short) <= 90 else short[:87] + "..."
        print(f"[{i}] {short}")
        for line in decision.explain().splitlines():
            print(f"    {line}")
        print()
    if not as_json:
        served = len(router.models_in_service)
        gone = len(router.models) - served
        left_out = f" ({gone} more shut down by their providers, left out)" if gone else ""
        print(
            f"{len(prompts)} prompts routed over {served} models{left_out}; "
            f"expected cost of the first choices: ${total:.4f}"
        )


def _audit(paths: Sequence[Path], as_json: bool) -> int:
    from langroute.audit import read_records, summarise

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"audit file not found: {', '.join(missing)}")
    summary = summarise(r for path in paths for r in read_records(path))
    if as_json:
        data = summary.model_dump(mode="json")
        data["savings_share"] = summary.savings_share
        data["arbitrage_usd"] = summary.arbitrage_usd
        print(json.dumps(data, indent=2))
    else:
        print(summary.table())
    return 0


def _training_data(paths: Sequence[Path], feedback: Path | None, out: Path) -> int:
    from langroute.audit import read_records
    from langroute.feedback import SQLiteFeedback, training_data

    if feedback is None or not feedback.is_file():
        raise ConfigError("--training-data needs --feedback FILE (a SQLiteFeedback database)")
    records = [r for path in paths for r in read_records(path)]
    rows, skipped = training_data(records, SQLiteFeedback(feedback).records())
    out.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    print(
        f"{len(rows)} rated prompts written to {out}"
        + (
            f"; {skipped} rated calls skipped: their records have no prompt "
            "(AuditLog(include_prompts=True))"
            if skipped
            else ""
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="langroute", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models", help="comma-separated model names (default: the catalog)")
    common.add_argument(
        "--models-file",
        action="append",
        type=Path,
        help="TOML/YAML file adding or overriding models (repeatable)",
    )
    common.add_argument("--json", action="store_true", help="one JSON decision per line")
    common.add_argument("--config", type=Path, help="a router config file (TOML or YAML)")
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="dry-run routing of a set of real prompts with the default rules",
    )
    demo.add_argument("--prompts", type=Path, help=".txt or .jsonl prompts instead of the demo set")
    demo.add_argument(
        "--data-dir",
        type=Path,
        help="public recorded outcomes for the evaluation part (default: $LANGROUTE_DATA_DIR, "
        "then ../shared/data)",
    )
    demo.add_argument(
        "--no-eval", action="store_true", help="only the dry-run routing, no evaluation"
    )
    route = sub.add_parser("route", parents=[common], help="dry-run routing of one prompt")
    route.add_argument("prompt")
    sub.add_parser("models", help="list the built-in catalog with prices")
    evaluate = sub.add_parser(
        "eval",
        help="replay learned routers over recorded outcomes (public data or yours): "
        "cost-quality, AIQ, APGR, CPT, beside single models, random and the oracle",
    )
    train = sub.add_parser("train", help="train a learned router and write its artifact")
    train_scorer = sub.add_parser(
        "train-scorer",
        help="train a cascade's scorer on recorded answers (a ChainScorer for --chain, else a "
        "LearnedScorer) and print the threshold to use",
    )
    audit = sub.add_parser(
        "audit",
        help="summarise audit records: spend by model, tenant, day and provider, and the "
        "savings against always-premium",
    )
    audit.add_argument("paths", nargs="+", type=Path, help="JSONL or SQLite (.db) audit files")
    audit.add_argument("--json", action="store_true", help="the summary as JSON")
    audit.add_argument(
        "--feedback",
        type=Path,
        help="a SQLiteFeedback database: with --training-data, join its ratings to the records",
    )
    audit.add_argument(
        "--training-data",
        type=Path,
        help="write the rated calls (records with prompts) as a JSONL dataset for "
        "`langroute train`",
    )
    _eval_commands().add_arguments(evaluate, train)
    _eval_commands().add_scorer_arguments(train_scorer)
    args = parser.parse_args(argv)
    try:
        if args.command == "models":
            registry = Registry.builtin()
            print(
                f"built-in catalog, prices read on the date beside each (catalog: "
                f"{registry.as_of}; USD per 1M tokens; override any that moved)"
            )
            day = lifecycle.today()
            for spec in registry:
                p = spec.pricing
                print(
                    f"  {spec.name:24} {spec.provider:10} in {p.input:>6.2f}  out {p.output:>6.2f}"
                    f"  ctx {spec.context_window:>8}  {p.as_of or registry.as_of}  {p.source}"
                )
                if spec.shutdown is not None:
                    when = "shut down" if lifecycle.is_shut_down(spec, day) else "shuts down"
                    instead = f" (replacement: {spec.replacement})" if spec.replacement else ""
                    print(f"  {'':24} {when} on {spec.shutdown}{instead}")
            return 0
        if args.command == "audit":
            if args.training_data is not None:
                return _training_data(args.paths, args.feedback, args.training_data)
            return _audit(args.paths, args.json)
        if args.command == "eval":
            return int(_eval_commands().run_eval(args))
        if args.command == "train":
            return int(_eval_commands().run_train(args))
        if args.command == "train-scorer":
            return int(_eval_commands().run_train_scorer(args))
        router = _router(args)
        prompts = (
            [args.prompt]
            if args.command == "route"
            else (_read_prompts(args.prompts) if args.prompts else _demo_prompts())
        )
        _route(router, prompts, args.json)
        if args.command == "demo" and not (args.no_eval or args.prompts or args.json):
            return _demo_eval(args.data_dir)
        return 0
    except (LangrouteError, OSError) as exc:
        print(f"langroute: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
