"""The cost–quality plane as a PNG (matplotlib, the `eval` extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langroute.errors import ConfigError
from langroute.eval.evaluate import MultiModelReport, PairReport
from langroute.eval.metrics import nondecreasing_hull


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ConfigError("plots need matplotlib: pip install 'langroute[eval]'") from exc
    return plt


def plot_multi(report: MultiModelReport, path: str | os.PathLike[str]) -> Path:
    """Single models, the zero-router hull, each router's hull, and the oracle."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    singles = [s.point() for s in report.singles]
    ax.scatter([p.cost for p in singles], [p.quality for p in singles], color="grey", zorder=3)
    for p in singles:
        ax.annotate(
            p.label.removeprefix("always ").split("/")[-1],
            (p.cost, p.quality),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    zero = nondecreasing_hull(singles)
    ax.plot(
        [p.cost for p in zero],
        [p.quality for p in zero],
        "--",
        color="grey",
        label=f"zero router (AIQ {report.zero_router_aiq:.3f})",
    )
    for curve in report.routers:
        ax.plot(
            [p["cost_usd"] for p in curve.hull],
            [p["quality"] for p in curve.hull],
            marker=".",
            label=f"{curve.label} (AIQ {curve.aiq:.3f})",
        )
    ax.scatter(
        [report.oracle.cost_usd or 0.0],
        [report.oracle.quality],
        marker="*",
        s=150,
        color="gold",
        edgecolor="black",
        zorder=4,
        label="oracle",
    )
    ax.set_xscale("log")
    ax.set_xlabel("total cost of the test set (USD, log scale)")
    ax.set_ylabel("mean quality")
    ax.set_title(f"Cost–quality on held-out prompts: {report.dataset}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    out = Path(path)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out


def plot_pairs(reports: list[PairReport], path: str | os.PathLike[str]) -> Path:
    """Quality against the share of strong-model calls, one panel per dataset."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(reports), figsize=(5 * len(reports), 4), squeeze=False)
    for ax, r in zip(axes[0], reports, strict=True):
        for c in [*r.routers, r.random, r.oracle]:
            ax.plot(
                [x for x, _ in c.curve],
                [y for _, y in c.curve],
                label=f"{c.label} (APGR {c.apgr:.2f})",
            )
        ax.set_title(f"{r.dataset} ({r.protocol})", fontsize=9)
        ax.set_xlabel("share of calls to the strong model")
        ax.set_ylabel("mean quality")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    out = Path(path)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
