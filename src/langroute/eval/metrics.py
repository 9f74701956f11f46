"""Router metrics: RouterBench's cost–quality hull and AIQ, RouteLLM's PGR, APGR and CPT.

Pure functions over numbers, so each can be checked by hand on a small case.

RouterBench (Hu et al., 2024): each router setting is a point (cost, quality); its
*non-decreasing convex hull* is the best a user can get by mixing settings at random;
AIQ is the area under that hull over a cost range, divided by the range's width.

RouteLLM (Ong et al., 2024), for one strong and one weak model: sweeping the router's
threshold gives quality as a function of the share `s` of calls sent to the strong model;
PGR(s) = (quality(s) − weak) / (strong − weak); APGR = ∫₀¹ PGR(s) ds (random routing gives
0.5); CPT(x) = the smallest share of strong calls that reaches PGR x.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Point:
    """One router setting on the cost–quality plane."""

    cost: float
    quality: float
    label: str = ""


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a.cost - o.cost) * (b.quality - o.quality) - (a.quality - o.quality) * (b.cost - o.cost)


def nondecreasing_hull(points: Sequence[Point]) -> list[Point]:
    """The non-decreasing upper convex hull, cheapest first.

    Points that a cheaper point matches or beats in quality are dropped (nobody pays more
    for less), then points under the segment joining their neighbours (a random mix of
    the neighbours does better at the same cost).
    """
    frontier: list[Point] = []
    for p in sorted(points, key=lambda p: (p.cost, -p.quality)):
        if not frontier or p.quality > frontier[-1].quality:
            frontier.append(p)
    hull: list[Point] = []
    for p in frontier:
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def hull_quality_at(hull: Sequence[Point], cost: float) -> float | None:
    """Quality the hull reaches at `cost`: linear between points, flat past the last one,
    None below the first (no setting of the router is that cheap)."""
    if not hull or cost < hull[0].cost:
        return None
    for a, b in itertools.pairwise(hull):
        if cost <= b.cost:
            if b.cost == a.cost:
                return b.quality
            return a.quality + (b.quality - a.quality) * (cost - a.cost) / (b.cost - a.cost)
    return hull[-1].quality


def cost_to_reach(hull: Sequence[Point], quality: float) -> float | None:
    """The least cost at which the hull reaches `quality`; None if it never does."""
    if not hull:
        return None
    if hull[0].quality >= quality:
        return hull[0].cost
    for a, b in itertools.pairwise(hull):
        if b.quality >= quality:
            return a.cost + (b.cost - a.cost) * (quality - a.quality) / (b.quality - a.quality)
    return None


def aiq(points: Sequence[Point], low: float, high: float) -> float:
    """RouterBench's AIQ: the area under the non-decreasing hull on [low, high] over its width.

    Below the cheapest setting the router has no point and contributes 0; past its dearest
    setting quality stays flat. Compare routers over the same [low, high] (e.g. from the
    cheapest to the dearest single model).
    """
    if high <= low:
        raise ValueError(f"AIQ needs high > low, got [{low}, {high}]")
    hull = nondecreasing_hull(points)
    if not hull:
        return 0.0
    xs = [low, high] + [p.cost for p in hull if low < p.cost < high]
    xs = sorted(set(xs))
    area = 0.0
    for x0, x1 in itertools.pairwise(xs):
        start = max(x0, hull[0].cost)
        if start >= x1:
            continue
        q0 = hull_quality_at(hull, start)
        q1 = hull_quality_at(hull, x1)
        assert q0 is not None
        assert q1 is not None
        area += (q0 + q1) / 2 * (x1 - start)
    return area / (high - low)


@dataclass(frozen=True, slots=True)
class SharePoint:
    """Quality when a share of calls goes to the strong model (two-model routing)."""

    strong_share: float
    quality: float


def strong_share_curve(
    strong: Sequence[float], weak: Sequence[float], strong_scores: Sequence[float]
) -> list[SharePoint]:
    """Every threshold of a two-model router, as (share of strong calls, mean quality).

    `strong_scores[i]` is the router's score for sending prompt i to the strong model
    (e.g. its predicted win rate); a threshold sends every prompt scoring at or above it.
    Prompts with equal scores move together, so a threshold can never split a tie.
    """
    n = len(strong)
    if not n or len(weak) != n or len(strong_scores) != n:
        raise ValueError("strong, weak and strong_scores must be non-empty and of equal length")
    order = sorted(range(n), key=lambda i: -strong_scores[i])
    total = sum(weak)
    points = [SharePoint(0.0, total / n)]
    k = 0
    while k < n:
        score = strong_scores[order[k]]
        while k < n and strong_scores[order[k]] == score:
            i = order[k]
            total += strong[i] - weak[i]
            k += 1
        points.append(SharePoint(k / n, total / n))
    return points


def oracle_share_curve(strong: Sequence[float], weak: Sequence[float]) -> list[SharePoint]:
    """The best possible two-model router: the prompts where the strong model gains most
    go to it first (RouteLLM's `get_optimal_accuracy`, at every share)."""
    gains = [s - w for s, w in zip(strong, weak, strict=True)]
    n = len(gains)
    ranked = sorted(range(n), key=lambda i: -gains[i])
    total = sum(weak)
    points = [SharePoint(0.0, total / n)]
    for k, i in enumerate(ranked, 1):
        total += max(gains[i], 0.0)
        points.append(SharePoint(k / n, total / n))
    return points


def pgr(quality: float, weak: float, strong: float) -> float:
    """Performance gap recovered: 0 at the weak model's quality, 1 at the strong one's."""
    if strong == weak:
        raise ValueError("PGR is undefined when both models score the same")
    return (quality - weak) / (strong - weak)


def apgr(curve: Sequence[SharePoint], weak: float, strong: float) -> float:
    """Area under PGR over the share of strong calls, by the trapezoid rule."""
    pts = sorted(curve, key=lambda p: p.strong_share)
    area = 0.0
    for a, b in itertools.pairwise(pts):
        area += (
            (pgr(a.quality, weak, strong) + pgr(b.quality, weak, strong))
            / 2
            * (b.strong_share - a.strong_share)
        )
    return area


def cpt(curve: Sequence[SharePoint], weak: float, strong: float, target: float) -> float | None:
    """Call-performance threshold: the least share of strong calls reaching PGR `target`
    (linear between sweep points); None if the curve never reaches it."""
    pts = sorted(curve, key=lambda p: p.strong_share)
    prev: SharePoint | None = None
    for p in pts:
        g = pgr(p.quality, weak, strong)
        if g >= target:
            if prev is None:
                return p.strong_share
            g0 = pgr(prev.quality, weak, strong)
            return prev.strong_share + (p.strong_share - prev.strong_share) * (target - g0) / (
                g - g0
            )
        prev = p
    return None
