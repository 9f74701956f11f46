"""Claude answers to a JSON schema (its JSON outputs, `output_config.format`) and keeps strict
tools strict, over real HTTP. Before, a router never chose Claude for a call with a
`json_schema` (its catalog entries said it could not), a router of Claude models only
refused such calls, and the Anthropic provider dropped the schema without a word. The
scripted server refuses what the real API refuses: a schema outside Claude's subset (a
pydantic `Field(ge=0)` is `minimum: 0`), and JSON outputs on a model before Claude 4.5."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from langroute import Registry
from langroute.errors import NoCandidateError
from langroute.providers.claude_json import fitted_schema, takes_json_outputs
from langroute.reasoning import claude_version
from langroute.testing import Reply, smart_reply
from langroute.testing.json_outputs import schema_refusal
from langroute.types import Completion

from .conftest import TEST_KEY, make_router, spec

pytestmark = pytest.mark.usefixtures("said_again")


class Address(BaseModel):
    city: str = Field(min_length=1)
    postcode: str = Field(pattern=r"^\d{5}$", max_length=5)


class Shop(BaseModel):
    """A shop, as a caller's pydantic model says it: constraints Claude cannot enforce."""

    name: str = Field(min_length=1, description="the shop's name")
    staff: int = Field(ge=0, le=10_000)
    rating: float = Field(ge=0, le=5)
    tags: list[str] = Field(max_length=5)
    address: Address


SCHEMA = Shop.model_json_schema()
AS_ASKED = {"type": "json_schema", "json_schema": {"name": "Shop", "schema": SCHEMA}}
PROMPT = 'Describe "Corner Books": 12 staff, rated 4.5, tagged "books", in "Lyon" at "69001".'

CLAUDE = spec(
    "claude-haiku-4-5",
    provider="claude",
    price=(1.0, 5.0),
    context_window=200000,
    capabilities={"structured_output": True},
)
OLD_CLAUDE = spec(
    "claude-3-5-haiku",
    provider="claude",
    price=(0.8, 4.0),
    context_window=200000,
    capabilities={"structured_output": False},
)
GPT = spec("gpt-4.1-mini", price=(0.4, 1.6), quality=0.7, capabilities={"structured_output": True})


def _serve(aserver, *names: str) -> None:
    for name in names:
        aserver.add(name, smart_reply)


async def _ask(router, stream: bool, **kwargs: Any) -> Completion:
    if stream:
        return Completion.from_chunks([c async for c in router.astream(PROMPT, **kwargs)])
    return await router.achat(PROMPT, **kwargs)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_router_of_claude_models_answers_a_json_schema_it_could_not_before(aserver, stream):
    _serve(aserver, "claude-haiku-4-5")
    router = make_router(aserver, [CLAUDE])
    answer = await _ask(router, stream, response_format=AS_ASKED)
    shop = Shop.model_validate_json(answer.content)
    assert (shop.staff, shop.rating, shop.address.city) == (12, 4.5, "Lyon")
    sent = aserver.calls[-1].body["output_config"]["format"]
    assert sent["type"] == "json_schema"
    assert schema_refusal(sent["schema"]) is None
    # the constraints Claude does not enforce still reach it, in the descriptions
    staff = sent["schema"]["properties"]["staff"]
    assert staff == {
        "type": "integer",
        "title": "Staff",
        "description": "{maximum: 10000, minimum: 0}",
    }
    assert sent["schema"]["$defs"]["Address"]["additionalProperties"] is False
    await router.aclose()


async def test_the_caller_schema_as_given_is_what_claude_refuses(aserver):
    """Why the fitting is needed: the real API's 400s for the schema as pydantic made it."""
    _serve(aserver, "claude-haiku-4-5", "claude-3-5-haiku")
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": PROMPT}],
        "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
    }
    headers = {"x-api-key": TEST_KEY, "anthropic-version": "2023-06-01"}
    async with httpx.AsyncClient(base_url=aserver.anthropic_url, headers=headers) as client:
        refused = (await client.post("/v1/messages", json=body)).json()["error"]["message"]
        assert refused == (
            "output_config.format.schema: For 'object' type, 'additionalProperties' must be "
            "explicitly set to false"
        )
        body["output_config"]["format"]["schema"] = fitted_schema(SCHEMA) | {
            "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 3}},
        }
        refused = (await client.post("/v1/messages", json=body)).json()["error"]["message"]
        assert refused == (
            "output_config.format.schema: For 'integer' type, properties maximum, minimum are "
            "not supported"
        )
        body["output_config"]["format"]["schema"] = fitted_schema(SCHEMA)
        assert (await client.post("/v1/messages", json=body)).status_code == 200
        body["model"] = "claude-3-5-haiku"
        refused = (await client.post("/v1/messages", json=body)).json()["error"]["message"]
        assert refused == "output_config.format: Extra inputs are not permitted"


async def test_a_mixed_router_may_now_choose_claude_for_a_schema_and_sends_the_effort_beside_it(
    aserver,
):
    _serve(aserver, "claude-sonnet-4-6", "gpt-4.1-mini")
    better = spec(
        "claude-sonnet-4-6",
        provider="claude",
        price=(3.0, 15.0),
        quality=0.95,
        context_window=200000,
        capabilities={"structured_output": True},
    )
    router = make_router(aserver, [better, GPT])
    answer = await router.achat(
        PROMPT, response_format=AS_ASKED, reasoning_effort="low", hints={"min_quality": 0.9}
    )
    assert answer.model == "claude-sonnet-4-6"
    config = aserver.calls[-1].body["output_config"]
    assert config["effort"] == "low" and config["format"]["type"] == "json_schema"
    Shop.model_validate_json(answer.content)
    await router.aclose()


async def test_json_mode_without_a_schema_is_never_routed_to_claude(aserver):
    """The Messages API has no JSON mode: a `json_object` call goes to a model that has."""
    _serve(aserver, "claude-haiku-4-5", "gpt-4.1-mini")
    router = make_router(aserver, [CLAUDE, GPT])
    decision = router.route(PROMPT, response_format={"type": "json_object"})
    assert decision.plan.models == ["gpt-4.1-mini"]
    assert "lacks capability 'json_mode'" in decision.plan.rejected[0].reason
    only_claude = make_router(aserver, [CLAUDE])
    with pytest.raises(NoCandidateError, match="claude-haiku-4-5: lacks capability 'json_mode'"):
        await only_claude.achat(PROMPT, response_format={"type": "json_object"})
    assert aserver.count() == 0
    await router.aclose()
    await only_claude.aclose()


async def test_a_model_before_claude_4_5_is_not_chosen_for_a_schema(aserver):
    _serve(aserver, "claude-3-5-haiku", "claude-haiku-4-5")
    router = make_router(aserver, [OLD_CLAUDE, CLAUDE])
    answer = await router.achat(PROMPT, response_format=AS_ASKED)
    assert answer.model == "claude-haiku-4-5"
    assert [c.model for c in aserver.calls] == ["claude-haiku-4-5"]
    await router.aclose()


def _tool(strict: bool | None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": "save_shop", "parameters": SCHEMA}
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


async def test_a_strict_tool_stays_strict_on_claude_4_5_and_is_left_loose_before(aserver, caplog):
    _serve(aserver, "claude-haiku-4-5", "claude-3-5-haiku")
    new = make_router(aserver, [CLAUDE])
    answer = await new.achat(PROMPT, tools=[_tool(True)], tool_choice="save_shop")
    assert answer.tool_calls and answer.tool_calls[0].function.name == "save_shop"
    sent = aserver.calls[-1].body["tools"][0]
    assert sent["strict"] is True and schema_refusal(sent["input_schema"]) is None
    await new.achat(PROMPT, tools=[_tool(None)])
    assert "strict" not in aserver.calls[-1].body["tools"][0]
    assert aserver.calls[-1].body["tools"][0]["input_schema"] == SCHEMA  # as given
    old = make_router(aserver, [OLD_CLAUDE])
    with caplog.at_level(logging.WARNING, logger="langroute.providers.anthropic"):
        await old.achat(PROMPT, tools=[_tool(True)])
    assert aserver.calls[-1].status == 200
    assert "strict" not in aserver.calls[-1].body["tools"][0]
    assert "without strict tool use: this model does not take it" in caplog.text
    await new.aclose()
    await old.aclose()


def test_the_catalog_says_which_claude_models_take_a_schema_and_that_none_has_json_mode():
    registry = Registry.builtin()
    claudes = [s for s in registry if claude_version(s.all_deployments[0].model_id)]
    assert len(claudes) >= 5
    for model in claudes:
        model_id = model.all_deployments[0].model_id
        assert model.capabilities.structured_output == takes_json_outputs(model_id), model.name
        assert not model.takes_json_mode, model.name
    assert registry.get("claude-sonnet-4-5").capabilities.structured_output
    assert not registry.get("claude-opus-4-1").capabilities.structured_output
    assert registry.get("gpt-4.1").takes_json_mode


def test_json_mode_unset_is_told_by_the_model_id():
    assert not spec("claude-opus-4-7", provider="claude").takes_json_mode
    assert spec("gpt-4.1-mini").takes_json_mode
    assert spec(
        "claude-opus-4-7", provider="claude", capabilities={"json_mode": True}
    ).takes_json_mode


# --- the fitting, against the scripted server's independent reading of Claude's subset ---

_LEAVES = st.sampled_from(
    [
        {"type": "string"},
        {"type": "string", "minLength": 1, "maxLength": 9, "format": "email"},
        {"type": "string", "format": "color", "pattern": "^#"},
        {"type": "integer", "minimum": 0},
        {"type": "number", "exclusiveMaximum": 1, "multipleOf": 0.5},
        {"type": "boolean"},
        {"type": "null"},
        {"enum": ["a", "b"], "type": "string"},
        {"type": ["string", "null"], "maxLength": 3},
    ]
)


def _composite(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda props, extra, required: {
                "type": "object",
                "properties": props,
                **({"additionalProperties": extra} if extra is not None else {}),
                **({"required": sorted(props)} if required else {}),
            },
            st.dictionaries(st.sampled_from("abcde"), children, max_size=4),
            st.sampled_from([None, True, False, {"type": "string"}]),
            st.booleans(),
        ),
        st.builds(
            lambda items, low, high: {
                "type": "array",
                "items": items,
                **({"minItems": low} if low is not None else {}),
                **({"maxItems": high} if high is not None else {}),
            },
            children,
            st.sampled_from([None, 0, 1, 2, 5]),
            st.sampled_from([None, 3]),
        ),
        st.builds(lambda a, b: {"anyOf": [a, b]}, children, children),
        st.builds(lambda a, b: {"oneOf": [a, b]}, children, children),
    )


SCHEMAS = st.recursive(_LEAVES, _composite, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(schema=SCHEMAS)
def test_any_schema_fitted_for_claude_is_one_claude_takes_and_loses_no_constraint(schema):
    fitted = fitted_schema(schema)
    assert schema_refusal(fitted) is None
    told = json.dumps(fitted)
    for keyword in ("minimum", "maxLength", "minLength", "multipleOf", "exclusiveMaximum"):
        if f'"{keyword}"' in json.dumps(schema):
            assert f"{keyword}: " in told  # moved into a description, not dropped
    assert fitted_schema(fitted) == fitted  # fitting twice changes nothing


# --- what Claude cannot enforce, a cascade checks against the caller's own schema ---


async def test_a_cascade_escalates_a_claude_answer_that_breaks_a_bound_it_was_only_told(aserver):
    from langroute import Cascade

    broken = '{"name": "Corner Books", "staff": -3, "rating": 4.5, "tags": [], '
    broken += '"address": {"city": "Lyon", "postcode": "69001"}}'
    aserver.add("claude-haiku-4-5", Reply(broken))
    aserver.add("gpt-4.1-mini", smart_reply)
    dearer = spec("gpt-4.1-mini", price=(4.0, 16.0), capabilities={"structured_output": True})
    router = make_router(aserver, [CLAUDE, dearer], strategy=Cascade())
    answer = await router.achat(PROMPT, response_format=AS_ASKED)
    assert answer.model == "gpt-4.1-mini"
    Shop.model_validate_json(answer.content)
    first = answer.decision.escalations[0]
    assert (first.model, first.accepted) == ("claude-haiku-4-5", False)
    assert first.reason == "invalid JSON (staff: -3 is under the minimum 0)"
    claude_call = next(c for c in aserver.calls if c.model == "claude-haiku-4-5")
    assert '"minimum"' not in json.dumps(claude_call.body["output_config"])  # only told it
    await router.aclose()


ADDRESS = {"$ref": "#/$defs/Address"}


@pytest.mark.parametrize(
    ("value", "broken"),
    [
        (
            {
                "name": "A",
                "staff": 3,
                "rating": 4.5,
                "tags": ["x"],
                "address": {"city": "L", "postcode": "69001"},
            },
            None,
        ),
        (
            {
                "name": "",
                "staff": 3,
                "rating": 4.5,
                "tags": [],
                "address": {"city": "L", "postcode": "69001"},
            },
            "name: 0 characters, under the minimum 1",
        ),
        (
            {
                "name": "A",
                "staff": 3.5,
                "rating": 4.5,
                "tags": [],
                "address": {"city": "L", "postcode": "69001"},
            },
            "staff: 3.5 is not integer",
        ),
        (
            {
                "name": "A",
                "staff": True,
                "rating": 4.5,
                "tags": [],
                "address": {"city": "L", "postcode": "69001"},
            },
            "staff: True is not integer",
        ),
        (
            {
                "name": "A",
                "staff": 3,
                "rating": 5.5,
                "tags": [],
                "address": {"city": "L", "postcode": "69001"},
            },
            "rating: 5.5 is over the maximum 5",
        ),
        (
            {
                "name": "A",
                "staff": 3,
                "rating": 4,
                "tags": list("abcdef"),
                "address": {"city": "L", "postcode": "69001"},
            },
            "tags: 6 items, over the maximum 5",
        ),
        (
            {
                "name": "A",
                "staff": 3,
                "rating": 4,
                "tags": [1],
                "address": {"city": "L", "postcode": "69001"},
            },
            "tags[0]: 1 is not string",
        ),
        (
            {
                "name": "A",
                "staff": 3,
                "rating": 4,
                "tags": [],
                "address": {"city": "L", "postcode": "6900"},
            },
            "address.postcode: '6900' does not match '^\\\\d{5}$'",
        ),
        (
            {"name": "A", "staff": 3, "rating": 4, "tags": [], "address": {"city": "L"}},
            "address.postcode: required but missing",
        ),
        ({"name": "A", "staff": 3, "rating": 4, "tags": []}, "address: required but missing"),
        ([], "the answer: [] is not object"),
    ],
)
def test_the_caller_schema_judges_the_answer(value, broken):
    from langroute.scorers._schema import first_violation

    assert first_violation(value, SCHEMA) == broken


@pytest.mark.parametrize(
    ("value", "schema", "broken"),
    [
        (3, {"enum": [1, 2]}, "the answer: 3 is not one of [1, 2]"),
        (
            {"a": 1},
            {"type": "object", "additionalProperties": False},
            "a: not a property of the schema",
        ),
        (
            {"a": "x"},
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "a: 'x' is not integer",
        ),
        (None, {"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
        (1, {"anyOf": [{"type": "string"}, {"type": "null"}]}, "the answer: fits none of anyOf"),
        (
            1,
            {"oneOf": [{"type": "integer"}, {"type": "number"}]},
            "the answer: fits 2 of oneOf, not exactly one",
        ),
        (0.3, {"multipleOf": 0.1}, None),
        (0.35, {"multipleOf": 0.1}, "the answer: 0.35 is not a multiple of 0.1"),
        (0, {"exclusiveMinimum": 0}, "the answer: 0 is not over 0"),
        ({"n": {"n": {}}}, {"type": "object", "properties": {"n": {"$ref": "#"}}}, None),
        (
            {"n": {"n": "x"}},
            {"type": ["object"], "properties": {"n": {"$ref": "#"}}},
            "n.n: 'x' is not object",
        ),
    ],
)
def test_the_schema_keywords_that_are_checked(value, schema, broken):
    from langroute.scorers._schema import first_violation

    assert first_violation(value, schema) == broken


class Ledger(BaseModel):
    owner: str
    totals: dict[str, int]
    lines: list[dict[str, float]]


async def test_an_open_object_claude_cannot_hold_is_said_not_passed_over(aserver, caplog):
    """A map (`dict[str, int]`) names no properties; Claude's JSON outputs hold only named
    ones and refuse `additionalProperties` other than false, so it is sent closed, and the
    log says that Claude can only answer it empty."""
    _serve(aserver, "claude-haiku-4-5")
    router = make_router(aserver, [CLAUDE])
    asked = {
        "type": "json_schema",
        "json_schema": {"name": "L", "schema": Ledger.model_json_schema()},
    }
    with caplog.at_level(logging.WARNING, logger="langroute.providers.anthropic"):
        await router.achat(PROMPT, response_format=asked)
    assert aserver.calls[-1].status == 200
    sent = aserver.calls[-1].body["output_config"]["format"]["schema"]["properties"]
    assert sent["totals"]["additionalProperties"] is False
    assert "without an open object in the JSON schema (totals, lines[])" in caplog.text
    assert "will be answered empty" in caplog.text
    caplog.clear()
    await router.achat(PROMPT, response_format=AS_ASKED)  # every object named: nothing said
    assert "open object" not in caplog.text
    await router.aclose()


def test_a_reference_keeps_its_own_description_and_moves_the_rest_into_it():
    given = {"$ref": "#/$defs/Address", "description": "where", "default": None}
    assert fitted_schema(given) == {
        "$ref": "#/$defs/Address",
        "description": "where\n\n{default: None}",
    }
