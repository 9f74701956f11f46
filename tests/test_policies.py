"""Policies, with hypothesis proving the invariants every plan must keep."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langroute import (
    CallerHints,
    ComplexityTiers,
    CostOptimized,
    DomainMap,
    LatencyOptimized,
    NoCandidateError,
    QualityBar,
    RoutingRequest,
    TaskProfile,
    Tier,
    WeightedObjective,
)
from langroute.policy import Estimate, PlanContext, dominates, eligible, pareto_front
from langroute.registry import Capabilities, LatencyPrior, ModelSpec
from langroute.types import ChatParams, ResponseFormat, ToolSpec

TOOL = ToolSpec.model_validate({"type": "function", "function": {"name": "f"}})


@st.composite
def model_specs(draw, name: str) -> ModelSpec:
    ctx = draw(st.integers(min_value=200, max_value=200_000))
    p50 = draw(st.floats(min_value=50, max_value=5000))
    return ModelSpec(
        name=name,
        provider="p",
        pricing={
            "input": draw(st.floats(min_value=0, max_value=50)),
            "output": draw(st.floats(min_value=0, max_value=100)),
        },
        context_window=ctx,
        max_output_tokens=draw(st.integers(min_value=1, max_value=ctx)),
        capabilities=Capabilities(
            tools=draw(st.booleans()),
            vision=draw(st.booleans()),
            json_mode=draw(st.booleans()),
            structured_output=draw(st.booleans()),
        ),
        quality={
            "chat": draw(st.floats(min_value=0, max_value=1)),
            "code": draw(st.floats(min_value=0, max_value=1)),
        },
        default_quality=draw(st.floats(min_value=0, max_value=1)),
        latency=LatencyPrior(
            ttft_p50_ms=p50,
            ttft_p95_ms=p50 * 2,
            tokens_per_s=draw(st.floats(min_value=1, max_value=500)),
        ),
    )


@st.composite
def model_sets(draw) -> list[ModelSpec]:
    n = draw(st.integers(min_value=1, max_value=8))
    return [draw(model_specs(f"m{i}")) for i in range(n)]


@st.composite
def requests(draw) -> RoutingRequest:
    words = draw(st.integers(min_value=1, max_value=3000))
    content: list = [{"type": "text", "text": "word " * words}]
    if draw(st.booleans()):
        content.append({"type": "image_url", "image_url": {"url": "https://x/y.png"}})
    params = ChatParams(
        tools=[TOOL] if draw(st.booleans()) else None,
        response_format=ResponseFormat(type="json_object") if draw(st.booleans()) else None,
        max_tokens=draw(st.none() | st.integers(min_value=1, max_value=50_000)),
    )
    return RoutingRequest.build([{"role": "user", "content": content}], params)


profiles = st.builds(
    TaskProfile,
    complexity=st.floats(min_value=0, max_value=1),
    domain=st.sampled_from(["chat", "code", "math"]),
)

POLICIES = [
    CostOptimized(),
    LatencyOptimized(),
    WeightedObjective(),
    ComplexityTiers(
        tiers=(
            Tier(max_complexity=0.4, models=("m0", "m1")),
            Tier(max_complexity=1, models=("m2", "m3", "m4")),
        )
    ),
    DomainMap(routes={"code": ("m1", "m0")}, default=("m2", "m3", "m4", "m5", "m6", "m7")),
]


def context_for(specs, request, prof):
    from langroute.classify import required_capabilities

    prof = prof.model_copy(update={"needs": required_capabilities(request.features)})
    estimates, rejected = eligible(specs, request.features, prof)
    return PlanContext(request.features, prof, estimates, rejected), prof


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(specs=model_sets(), request=requests(), prof=profiles, policy=st.sampled_from(POLICIES))
def test_no_plan_contains_an_incapable_or_too_small_model(specs, request, prof, policy):
    ctx, prof = context_for(specs, request, prof)
    plan = policy.rank(ctx)
    f = request.features
    by_name = {s.name: s for s in specs}
    for candidate in plan.candidates:
        spec = by_name[candidate.model]
        caps = spec.capabilities
        if f.needs_tools:
            assert caps.tools
        if f.has_images:
            assert caps.vision
        if f.structured_output:
            assert spec.takes_json_mode if not f.json_schema else caps.structured_output
        assert f.prompt_tokens + (f.max_output_tokens or 0) <= spec.context_window
        assert (f.max_output_tokens or 0) <= spec.max_output_tokens
    planned = set(plan.models)
    rejected = {r.model for r in plan.rejected}
    assert not planned & rejected
    assert len(plan.models) == len(planned)


@settings(max_examples=300, deadline=None)
@given(specs=model_sets(), prof=profiles, bar=st.floats(min_value=0, max_value=1))
def test_cost_optimized_never_picks_costlier_when_cheaper_meets_the_bar(specs, prof, bar):
    request = RoutingRequest.build("hello")
    ctx, prof = context_for(specs, request, prof)
    if not ctx.estimates:
        return
    plan = CostOptimized(bar=QualityBar(fixed=bar)).rank(ctx)
    chosen = next(e for e in ctx.estimates if e.spec.name == plan.chosen.model)
    meeting = [e for e in ctx.estimates if e.quality >= bar]
    if meeting:
        assert chosen.quality >= bar
        assert chosen.cost_usd <= min(e.cost_usd for e in meeting)
    else:
        assert chosen.quality == max(e.quality for e in ctx.estimates)


@settings(max_examples=300, deadline=None)
@given(specs=model_sets(), prof=profiles)
def test_pareto_front_has_no_dominated_model_and_misses_no_undominated_one(specs, prof):
    request = RoutingRequest.build("hello")
    ctx, prof = context_for(specs, request, prof)
    if not ctx.estimates:
        return
    plan = WeightedObjective().rank(ctx)
    front = [e for e in ctx.estimates if e.spec.name in plan.pareto_front]
    assert front
    for e in front:
        assert not any(dominates(o, e) for o in ctx.estimates)
    for e in ctx.estimates:
        if e.spec.name not in plan.pareto_front:
            assert any(dominates(o, e) for o in ctx.estimates)


@settings(max_examples=200, deadline=None)
@given(
    specs=model_sets(),
    max_cost=st.floats(min_value=0, max_value=0.01),
    min_quality=st.floats(min_value=0, max_value=1),
)
def test_caller_hints_are_hard_limits(specs, max_cost, min_quality):
    request = RoutingRequest.build(
        "hello", hints=CallerHints(max_cost_usd=max_cost, min_quality=min_quality)
    )
    prof = TaskProfile(complexity=0.5)
    estimates, _ = eligible(specs, request.features, prof)
    for e in estimates:
        assert e.cost_usd <= max_cost
        assert e.quality >= min_quality


def test_same_inputs_same_plan():
    from langroute import Router

    router = Router(["gpt-4o-mini", "gpt-4.1", "claude-haiku-4-5", "llama-3.3-70b"])
    a = router.route("Explain recursion with an example in Python.")
    b = router.route("Explain recursion with an example in Python.")
    assert a.plan == b.plan and a.profile == b.profile


def test_tiers_send_easy_and_hard_requests_to_different_models():
    from langroute import Router

    router = Router(
        ["gpt-4o-mini", "gpt-4.1", "claude-sonnet-4-5"],
        policy=ComplexityTiers(
            tiers=(
                Tier(max_complexity=0.35, models=("gpt-4o-mini",)),
                Tier(max_complexity=0.7, models=("gpt-4.1",)),
                Tier(max_complexity=1.0, models=("claude-sonnet-4-5",)),
            )
        ),
    )
    assert router.route("hi!").plan.models == ["gpt-4o-mini", "gpt-4.1", "claude-sonnet-4-5"]
    hard = router.route(
        "Design a distributed consensus protocol step by step, analyze the trade-offs "
        "rigorously, prove safety formally, and handle every edge case:\n1. a\n2. b\n3. c\n4. d"
    )
    assert hard.chosen == "claude-sonnet-4-5"
    assert hard.plan.models[1:] == ["gpt-4.1", "gpt-4o-mini"]


def test_tiers_config_is_validated():
    with pytest.raises(ValueError, match="ascending"):
        ComplexityTiers(
            tiers=(Tier(max_complexity=0.9, models=("a",)), Tier(max_complexity=0.2, models=("b",)))
        )
    with pytest.raises(ValueError, match="max_complexity = 1"):
        ComplexityTiers(tiers=(Tier(max_complexity=0.5, models=("a",)),))


def test_domain_map_and_latency_policies():
    from langroute import Router

    router = Router(
        ["gpt-4o-mini", "codestral", "claude-haiku-4-5"],
        policy=DomainMap(routes={"code": ("codestral",)}, default=("gpt-4o-mini",)),
    )
    assert router.route("Fix this Python bug: def f(: pass").chosen == "codestral"
    assert router.route("hello").chosen == "gpt-4o-mini"
    fast = Router(
        ["gpt-5", "gemini-2.5-flash-lite", "llama-3.1-8b"],
        policy=LatencyOptimized(bar=QualityBar(fixed=0.6)),
    )
    assert fast.route("hello").chosen == "llama-3.1-8b"


def test_capability_filter_leaves_no_candidate_with_a_clear_error():
    from langroute import Router

    router = Router(["deepseek-reasoner", "codestral"])
    with pytest.raises(NoCandidateError) as info:
        router.route(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is in this image?"},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    ],
                }
            ]
        )
    message = str(info.value)
    assert "deepseek-reasoner: lacks capability 'vision'" in message
    assert "codestral: lacks capability 'vision'" in message


def test_json_schema_needs_schema_constrained_output_and_json_object_needs_json_mode():
    from langroute import Router

    router = Router(["deepseek-v3", "gpt-4o-mini"])  # deepseek: JSON mode, no json_schema
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    decision = router.route("give me json", response_format=schema)
    assert decision.plan.models == ["gpt-4o-mini"]
    assert "lacks capability 'structured_output'" in decision.plan.rejected[0].reason
    loose = router.route("give me json", response_format={"type": "json_object"})
    assert set(loose.plan.models) == {"deepseek-v3", "gpt-4o-mini"}


def test_a_policy_naming_a_model_the_router_lacks_is_refused_at_construction():
    """A typo in a domain map or a tier would otherwise silently change the routing."""
    from langroute import AgentSteps, ConfigError, CostOptimized, Router
    from langroute.policy import ComplexityTiers, DomainMap
    from langroute.policy.tiers import Tier

    models = ["gpt-4o-mini", "gpt-4.1"]
    typo = DomainMap(routes={"code": ("gpt-4.1",)}, default=("gpt-4o-mni",))
    with pytest.raises(
        ConfigError, match=r"names models this router does not have: \['gpt-4o-mni'\]"
    ):
        Router(models, policy=typo)
    tiers = ComplexityTiers(
        tiers=(
            Tier(max_complexity=0.5, models=("gpt-5",)),
            Tier(max_complexity=1, models=("gpt-4.1",)),
        )
    )
    with pytest.raises(ConfigError, match=r"\['gpt-5'\]"):
        Router(models, policy=AgentSteps(tool_step=CostOptimized(), after_tools=tiers))
    fine = DomainMap(routes={"code": ("gpt-4.1",)}, default=("gpt-4o-mini",))
    assert Router(models, policy=fine).route("Write a Python quicksort").chosen == "gpt-4.1"


def test_a_model_listed_twice_is_refused():
    """It would be planned twice: a fallback chain would call the failing model again."""
    from langroute import ConfigError, Router

    with pytest.raises(ConfigError, match=r"models lists \['gpt-4o-mini'\] more than once"):
        Router(["gpt-4o-mini", "gpt-4.1", "gpt-4o-mini"])


@settings(max_examples=300, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=12
    )
)
def test_pareto_front_is_exactly_the_undominated_set_with_ties_and_duplicates(points):
    spec = ModelSpec(
        name="m",
        provider="p",
        pricing={"input": 1, "output": 1},
        context_window=10,
        max_output_tokens=10,
    )
    estimates = [Estimate(spec, c / 10, lat * 100.0, q / 3) for c, lat, q in points]
    front = pareto_front(estimates)
    expected = [e for e in estimates if not any(dominates(o, e) for o in estimates)]
    assert [id(e) for e in front] == [id(e) for e in expected]
