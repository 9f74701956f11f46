"""Structured output from `ChatAnthropic` candidates through `RoutingChatModel`, over real
HTTP: `with_structured_output(method="json_schema")` and an agent's `response_format` are
answered by Claude's JSON outputs. Before, the catalog said no Claude model could, so a
router of Claude models refused both (and its profile told `create_agent` to fall back to
a tool)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy
from pydantic import BaseModel, Field

from langchain_langroute import RoutingChatModel
from langroute.errors import NoCandidateError
from langroute.testing import smart_reply
from langroute.testing.json_outputs import schema_refusal
from lc_helpers import SPECS, anthropic_candidate
from lc_helpers import scripted_server as server_of

MODELS = ("claude-haiku-4-5", "claude-opus-4-1")

pytestmark = pytest.mark.usefixtures("said_again")
"""From the catalog: Haiku 4.5 takes JSON outputs, Opus 4.1 does not."""


class Shop(BaseModel):
    name: str = Field(min_length=1)
    staff: int = Field(ge=0, le=10_000)
    rating: float = Field(ge=0, le=5)


PROMPT = 'Describe "Corner Books": 12 staff, rated 4.5.'
PRICED = {k: v for k, v in SPECS["std-anthropic"].items() if k != "capabilities"}
"""A price and priors: what the model can do comes from its `ChatAnthropic` profile."""


@pytest.fixture(scope="module")
def server():
    server = server_of()
    for name in MODELS:
        server.add(name, smart_reply)
    return server


def _router() -> RoutingChatModel:
    return RoutingChatModel(models=[anthropic_candidate(name) for name in MODELS])


def _sent(server: Any) -> dict[str, Any]:
    call = server.calls[-1]
    assert call.status == 200, call
    return call.body


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream"])
async def test_with_structured_output_json_schema_is_answered_by_claude(server, mode):
    structured = _router().with_structured_output(Shop, method="json_schema")
    before = len(server.calls)
    if mode == "invoke":
        shop = structured.invoke(PROMPT)
    elif mode == "ainvoke":
        shop = await structured.ainvoke(PROMPT)
    else:
        shop = [part async for part in structured.astream(PROMPT)][-1]
    assert shop == Shop(name="Corner Books", staff=12, rating=4.5)
    assert {c.model for c in server.calls[before:]} == {"claude-haiku-4-5"}  # never Opus 4.1
    fmt = _sent(server)["output_config"]["format"]
    assert fmt["type"] == "json_schema" and schema_refusal(fmt["schema"]) is None


def test_the_router_profile_tells_an_agent_to_use_claude_json_outputs(server):
    """`create_agent` picks the provider's structured output when the model's profile says
    it has it: the routed call carries the schema, and the agent returns the object."""
    router = _router()
    assert router.profile["structured_output"] is False  # Opus 4.1 cannot
    haiku_only = RoutingChatModel(models=[anthropic_candidate("claude-haiku-4-5")])
    assert haiku_only.profile["structured_output"] is True
    agent = create_agent(haiku_only, tools=[], response_format=ProviderStrategy(Shop))
    result = agent.invoke({"messages": [("user", PROMPT)]})
    assert result["structured_response"] == Shop(name="Corner Books", staff=12, rating=4.5)
    assert "format" in _sent(server)["output_config"]
    assert "tools" not in _sent(server)


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "claude-opus-4-7"])
def test_json_mode_without_a_schema_names_why_no_claude_can_answer(server, model):
    """Claude has no JSON mode. A candidate the catalog lacks (Opus 4.7, described by its
    profile) was taken for one before, and `ChatAnthropic` failed on the call's format."""
    router = RoutingChatModel(
        models=[anthropic_candidate(model)],
        specs={"claude-opus-4-7": {**PRICED, "provider": "anthropic"}},
    )
    before = server.count()
    with pytest.raises(NoCandidateError, match=f"{model}: lacks capability 'json_mode'"):
        router.with_structured_output(None, method="json_mode").invoke(PROMPT)
    assert server.count() == before


class Ledger(BaseModel):
    owner: str
    totals: dict[str, int]


def test_an_open_object_chatanthropic_closes_is_said(server, caplog):
    """`ChatAnthropic` closes a map (`dict[str, int]`) without a word, as Anthropic's SDK
    does: Claude can then only answer it empty. The router says so."""
    import logging

    structured = _router().with_structured_output(Ledger, method="json_schema", include_raw=True)
    with caplog.at_level(logging.WARNING, logger="langroute.providers.ChatAnthropic"):
        structured.invoke('Totals for "Ada"')
    assert (
        _sent(server)["output_config"]["format"]["schema"]["properties"]["totals"][
            "additionalProperties"
        ]
        is False
    )
    assert "ChatAnthropic call without an open object in the JSON schema (totals)" in caplog.text
