"""`RoutingLLM.chat(..., response_format=...)` over LlamaIndex candidates, over real HTTP:
a JSON schema reaches an `Anthropic` candidate as Claude's JSON outputs, fitted to the
subset Claude enforces, and routing leaves out the candidates that cannot give it. Before,
routing did not know the call asked for a schema, and an `Anthropic` candidate failed the
call (its client refuses the `response_format` keyword)."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.llms.anthropic import Anthropic
from llama_index.llms.openai_like import OpenAILike
from pydantic import BaseModel, Field

from langroute.testing import smart_reply
from langroute.testing.json_outputs import schema_refusal
from li_helpers import KEY
from li_helpers import scripted_server as server_of
from llama_index.llms.langroute import RoutingLLM

pytestmark = pytest.mark.usefixtures("said_again")


class Shop(BaseModel):
    name: str = Field(min_length=1)
    staff: int = Field(ge=0)


FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "Shop", "schema": Shop.model_json_schema()},
}
ASKED = [ChatMessage(role="user", content='Describe "Corner Books", with 12 staff.')]
MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6", "claude-3-5-haiku-20241022", "li-json-mini")


@pytest.fixture(scope="module")
def server():
    server = server_of()
    for name in MODELS:
        server.add(name, smart_reply)
    return server


def _claude(server: Any, model: str) -> Anthropic:
    return Anthropic(model=model, base_url=server.anthropic_url, api_key=KEY, max_retries=0)


def _sent(server: Any) -> dict[str, Any]:
    call = server.calls[-1]
    assert call.status == 200, call
    return call.body


@pytest.mark.parametrize("mode", ["chat", "achat", "stream_chat", "astream_chat"])
async def test_an_anthropic_candidate_answers_a_json_schema(server, mode):
    llm = RoutingLLM(models=[_claude(server, "claude-haiku-4-5")])
    if mode == "chat":
        text = llm.chat(ASKED, response_format=FORMAT).message.content
    elif mode == "achat":
        text = (await llm.achat(ASKED, response_format=FORMAT)).message.content
    elif mode == "stream_chat":
        text = "".join(r.delta or "" for r in llm.stream_chat(ASKED, response_format=FORMAT))
    else:
        stream = await llm.astream_chat(ASKED, response_format=FORMAT)
        text = "".join([r.delta or "" async for r in stream])
    assert Shop.model_validate_json(str(text)) == Shop(name="Corner Books", staff=12)
    body = _sent(server)
    assert "response_format" not in body
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema" and schema_refusal(fmt["schema"]) is None
    assert fmt["schema"]["properties"]["staff"]["description"] == "{minimum: 0}"


def test_the_effort_and_the_schema_go_together(server):
    llm = RoutingLLM(
        models=[_claude(server, "claude-sonnet-4-6")],
        specs={
            "claude-sonnet-4-6": {
                "provider": "anthropic",
                "pricing": {"input": 3.0, "output": 15.0},
                "context_window": 200_000,
                "max_output_tokens": 64_000,
                "capabilities": {"structured_output": True},
            }
        },
    )
    llm.chat(ASKED, response_format=FORMAT, reasoning_effort="low")
    config = _sent(server)["output_config"]
    assert config["effort"] == "low" and config["format"]["type"] == "json_schema"


def test_routing_leaves_out_the_candidates_that_cannot_give_a_schema(server):
    llm = RoutingLLM(
        models={
            "claude-3-5-haiku": _claude(server, "claude-3-5-haiku-20241022"),
            "li-json-mini": OpenAILike(
                model="li-json-mini",
                api_base=server.openai_url,
                api_key=KEY,
                max_retries=0,
                is_chat_model=True,
            ),
        },
        specs={
            "li-json-mini": {
                "provider": "openai",
                "pricing": {"input": 5.0, "output": 20.0},  # dearer: chosen only by need
                "context_window": 128_000,
                "max_output_tokens": 16_384,
                "capabilities": {"structured_output": True},
            }
        },
    )
    response = llm.chat(ASKED, response_format=FORMAT)
    decision = response.additional_kwargs["langroute"]
    assert (decision["answered_by"], decision["candidates"]) == ("li-json-mini", ["li-json-mini"])
    assert _sent(server)["response_format"] == FORMAT
    assert llm.chat(ASKED).additional_kwargs["langroute"]["answered_by"] == "claude-3-5-haiku"
