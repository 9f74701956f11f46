"""Terminal tables for evaluation reports (plain text, so logs and CI keep them)."""

from __future__ import annotations

from langroute.eval.bounds import VoteCascadeBound
from langroute.eval.evaluate import MultiModelReport, PairReport
from langroute.eval.public import PublicReport


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value * 100:5.1f}%"


def render_multi(r: MultiModelReport) -> str:
    lines = [
        f"Cost-quality replay on {r.dataset} — trained on {r.n_train} prompts, "
        f"scored on {r.n_test} held-out ({r.dropped_from_test} test prompts dropped as "
        "duplicates of training prompts)",
        "",
        f"  {'single model':44} {'quality':>8} {'cost $':>8}",
    ]
    for s in sorted(r.singles, key=lambda s: s.cost_usd or 0.0):
        lines.append(f"  {s.label:44} {s.quality:8.3f} {s.cost_usd or 0.0:8.3f}")
    strongest = next(s for s in r.singles if s.label == f"always {r.strongest}")
    lines += [
        f"  {'oracle (best model per prompt, cheapest)':44} {r.oracle.quality:8.3f} "
        f"{r.oracle.cost_usd or 0.0:8.3f}",
        "",
        f"  AIQ over ${r.cost_range[0]:.3f}–${r.cost_range[1]:.3f}: zero router "
        f"{r.zero_router_aiq:.4f}, oracle {r.oracle_aiq:.4f}; for half of always "
        f"{r.strongest}'s cost the zero router reaches "
        f"{r.zero_router_quality_share_at_half_cost:.1%} of its quality",
        "",
        f"  {'router':48} {'AIQ':>7} {'random*':>8} {'>=zero':>7} {'cost@95%':>9} "
        f"{'cost@100%':>10} {'quality@50%cost':>16}",
    ]
    for c in r.routers:
        lines.append(
            f"  {c.label:48} {c.aiq:7.4f} {c.random_aiq:8.4f} {_pct(c.above_zero_router):>7} "
            f"{_pct(c.cost_share_at_95):>9} {_pct(c.cost_share_at_parity):>10} "
            f"{_pct(c.quality_share_at_half_cost):>16}"
        )
    lines += [
        "  (* random routing with the same share of calls per model at every point;",
        f"   cost@X = least cost reaching X of {r.strongest}'s quality, as a share of "
        f"always {r.strongest}; quality@50%cost = best quality for half of always "
        f"{r.strongest}'s cost, as a share of its quality; >=zero = share of the cost range "
        "where the router's hull is at or above the zero router's)",
        "",
        "  at each router's own operating point, chosen on training data only (learned: "
        "calibrated out-of-fold to 95 % of the strongest model's quality; rules: the default "
        "quality bar):",
    ]
    for c in r.routers:
        cal, rnd = c.calibrated, c.calibrated_random
        lines.append(
            f"  {c.label:48} quality {cal.quality:.3f} ({cal.quality / strongest.quality:6.1%} "
            f"of {r.strongest}) cost ${cal.cost_usd or 0.0:.3f} "
            f"({(cal.cost_usd or 0.0) / (strongest.cost_usd or 1.0):5.1%}); random at that "
            f"cost {rnd.quality:.3f}; oracle agreement {cal.oracle_accuracy:.1%}"
        )
    chains = [c for c in r.routers if c.train_quality_share_at_half_cost is not None]
    if chains:
        chosen = max(chains, key=lambda c: c.train_quality_share_at_half_cost or 0.0)
        lines.append(
            "  cascade chains judged on the training prompts only (out of fold, quality for "
            f"half of {r.strongest}'s cost): "
            + ", ".join(f"{c.label} {c.train_quality_share_at_half_cost:.1%}" for c in chains)
            + f"; chosen: {chosen.label}, {chosen.quality_share_at_half_cost:.1%} on test"
        )
    best = max(r.routers, key=lambda c: c.aiq)
    top = sorted(best.calibrated.shares.items(), key=lambda kv: -kv[1])[:4]
    lines.append(f"  calls per model ({best.label}): " + ", ".join(f"{m} {v:.0%}" for m, v in top))
    return "\n".join(lines)


def render_pair(r: PairReport, published: dict[str, float | str] | None = None) -> str:
    lines = [
        f"RouteLLM {r.dataset}: {r.n_test} prompts ({r.dropped} contaminated dropped), "
        f"{r.protocol}; strong {r.strong} {r.strong_quality:.3f}, weak {r.weak} "
        f"{r.weak_quality:.3f}",
        f"  {'router':30} {'APGR':>6} {'CPT(50%)':>9} {'CPT(80%)':>9}",
    ]
    for c in [*r.routers, r.random, r.oracle]:
        lines.append(f"  {c.label:30} {c.apgr:6.3f} {_pct(c.cpt50):>9} {_pct(c.cpt80):>9}")
    if published:
        parts = []
        if "apgr" in published:
            parts.append(
                f"{published['router']}: APGR {published['apgr']}, "
                f"CPT(50%) {float(published['cpt50']):.1%}"
            )
        if "oracle_cpt50" in published:
            parts.append(f"oracle CPT(50%) {float(published['oracle_cpt50']):.1%}")
        lines.append("  published (RouteLLM paper): " + "; ".join(parts))
    return "\n".join(lines)


def render_vote_cascade_bound(b: VoteCascadeBound) -> str:
    parity = b.hindsight_cost_share_at_parity
    lines = [
        "How far cheap-first cascades can go here: vote cascades (2-4 of the 8 cheapest "
        "models answer, the majority answer is kept when enough agree, else "
        f"{b.strongest} answers too; every call paid), one per benchmark — told each "
        "prompt's benchmark, which no router is:",
        "  chosen on train: "
        + "; ".join(f"{g}: {label}" for g, label in b.chosen_on_train.items()),
        f"  on test: {b.test_quality_share:.1%} of {b.strongest}'s quality for "
        f"{b.test_cost_share:.1%} of its cost",
        f"  chosen on test itself (hindsight): {b.hindsight_quality_share_at_half_cost:.1%} "
        "of its quality within 50 % of its cost; its quality needs "
        + (f"{parity:.1%} of its cost" if parity is not None else "more than any choice"),
    ]
    return "\n".join(lines)


def render_public(report: PublicReport) -> str:
    parts = []
    if report.routerbench is not None:
        parts.append(render_multi(report.routerbench))
    if report.vote_cascade_bound is not None:
        parts.append(render_vote_cascade_bound(report.vote_cascade_bound))
    for pair in report.routellm:
        parts.append(render_pair(pair, report.published.get(pair.dataset)))
    if report.classifiers is not None:
        c = report.classifiers
        lines = [
            f"Task-domain classifiers: {c.n_test} labelled public prompts held out "
            f"({c.n_fit} others fit the thresholds); labels {c.labels}",
        ]
        for row in c.rows:
            per = ", ".join(f"{d} {v:.0%}" for d, v in row.per_domain.items())
            other = (
                f"; on the {c.n_fit} others {row.fit_half_accuracy:.1%}"
                if row.fit_half_accuracy is not None
                else ""
            )
            lines.append(f"  {row.classifier:44} {row.accuracy:6.1%}   ({per}{other})")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
