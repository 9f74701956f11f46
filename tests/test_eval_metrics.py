"""The router metrics on cases small enough to compute by hand."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from langroute.eval.metrics import (
    Point,
    SharePoint,
    aiq,
    apgr,
    cost_to_reach,
    cpt,
    hull_quality_at,
    nondecreasing_hull,
    oracle_share_curve,
    pgr,
    strong_share_curve,
)


def test_hull_drops_dominated_points_and_points_under_the_chord() -> None:
    points = [Point(1, 0.5, "a"), Point(2, 0.6, "b"), Point(3, 0.9, "c"), Point(4, 0.8, "d")]
    hull = nondecreasing_hull(points)
    # d costs more than c for less quality; b lies under the a–c chord (0.7 at cost 2).
    assert [p.label for p in hull] == ["a", "c"]
    assert hull_quality_at(hull, 2) == pytest.approx(0.7)
    assert hull_quality_at(hull, 10) == pytest.approx(0.9)
    assert hull_quality_at(hull, 0.5) is None


def test_hull_keeps_a_concave_frontier() -> None:
    points = [Point(1, 0.5), Point(2, 0.9), Point(4, 1.0)]
    assert nondecreasing_hull(points) == points


def test_aiq_by_hand() -> None:
    # One point at cost 1 on [0, 2]: nothing below it, flat 0.8 after → 0.8 * 1 / 2.
    assert aiq([Point(1, 0.8)], 0, 2) == pytest.approx(0.4)
    # A straight line from (0, 0.5) to (2, 1.0): the trapezoid's mean height.
    assert aiq([Point(0, 0.5), Point(2, 1.0)], 0, 2) == pytest.approx(0.75)
    # A dominated extra point changes nothing.
    assert aiq([Point(0, 0.5), Point(2, 1.0), Point(1, 0.6)], 0, 2) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="high > low"):
        aiq([Point(0, 1)], 1, 1)


def test_cost_to_reach_interpolates_on_the_hull() -> None:
    hull = nondecreasing_hull([Point(1, 0.5), Point(3, 0.9)])
    assert cost_to_reach(hull, 0.7) == pytest.approx(2.0)
    assert cost_to_reach(hull, 0.4) == pytest.approx(1.0)
    assert cost_to_reach(hull, 0.95) is None


def test_oracle_curve_pgr_apgr_and_cpt_by_hand() -> None:
    strong = [1, 1, 1, 0]
    weak = [0, 0, 1, 1]
    # Gains [1, 1, 0, -1]: the oracle sends the two prompts only the strong model gets.
    curve = oracle_share_curve(strong, weak)
    assert [(p.strong_share, p.quality) for p in curve] == [
        (0.0, 0.5),
        (0.25, 0.75),
        (0.5, 1.0),
        (0.75, 1.0),
        (1.0, 1.0),
    ]
    weak_q, strong_q = 0.5, 0.75
    assert pgr(1.0, weak_q, strong_q) == pytest.approx(2.0)
    # PGR 0, 1, 2, 2, 2 at shares 0, .25, .5, .75, 1 → trapezoids .125 + .375 + .5 + .5.
    assert apgr(curve, weak_q, strong_q) == pytest.approx(1.5)
    assert cpt(curve, weak_q, strong_q, 0.5) == pytest.approx(0.125)
    assert cpt(curve, weak_q, strong_q, 1.0) == pytest.approx(0.25)


def test_random_routing_has_apgr_one_half() -> None:
    strong = [1, 1, 0, 1, 0, 1]
    weak = [0, 1, 0, 0, 1, 1]
    # Every prompt scored alike: one threshold sends all or nothing → the straight line.
    tied = strong_share_curve(strong, weak, [0.3] * 6)
    assert [p.strong_share for p in tied] == [0.0, 1.0]
    assert apgr(tied, 0.5, 4 / 6) == pytest.approx(0.5)
    assert cpt(tied, 0.5, 4 / 6, 0.5) == pytest.approx(0.5)
    # Random scores on a larger sample: close to 0.5.
    rng = random.Random(7)
    n = 4000
    strong = [int(rng.random() < 0.8) for _ in range(n)]
    weak = [int(rng.random() < 0.6) for _ in range(n)]
    s_q, w_q = sum(strong) / n, sum(weak) / n
    values = [
        apgr(strong_share_curve(strong, weak, [rng.random() for _ in range(n)]), w_q, s_q)
        for _ in range(5)
    ]
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.03)


def test_a_threshold_never_splits_tied_scores() -> None:
    curve = strong_share_curve([1, 1, 0], [0, 0, 0], [0.9, 0.5, 0.5])
    assert [p.strong_share for p in curve] == pytest.approx([0.0, 1 / 3, 1.0])


def test_share_curves_reject_mismatched_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        strong_share_curve([1, 0], [0], [0.1, 0.2])
    with pytest.raises(ValueError, match="undefined"):
        pgr(0.5, 0.7, 0.7)
    assert cpt([SharePoint(0, 0.5), SharePoint(1, 0.6)], 0.5, 0.7, 0.8) is None


points = st.lists(
    st.builds(
        Point,
        st.integers(0, 100_000).map(lambda i: i / 1000),
        st.integers(0, 1000).map(lambda i: i / 1000),
    ),
    min_size=1,
    max_size=25,
)


@given(points)
def test_hull_is_nondecreasing_concave_and_covers_every_point(pts: list[Point]) -> None:
    hull = nondecreasing_hull(pts)
    for a, b in itertools.pairwise(hull):
        assert b.cost > a.cost
        assert b.quality > a.quality
    for a, b, c in zip(hull, hull[1:], hull[2:], strict=False):
        slope1 = (b.quality - a.quality) / (b.cost - a.cost)
        slope2 = (c.quality - b.quality) / (c.cost - b.cost)
        assert slope2 < slope1 + 1e-9
    for p in pts:
        q = hull_quality_at(hull, p.cost)
        assert q is not None
        assert q >= p.quality - 1e-9


@given(points, st.floats(0, 50), st.floats(51, 200))
def test_aiq_lies_between_zero_and_the_best_quality(
    pts: list[Point], low: float, high: float
) -> None:
    value = aiq(pts, low, high)
    assert 0.0 <= value <= max(p.quality for p in pts) + 1e-9
