"""Prompt compression before routing: lossless whitespace and repeats by default, clipped
tool results and dropped old turns when configured; the saving is in the decision."""

from __future__ import annotations

import pytest

from langroute import ConfigError, PromptCompressor
from langroute.compress import tidy
from langroute.testing import Reply, ScriptedServer
from langroute.types import AssistantMessage, FunctionCall, ToolCall, ToolMessage, UserMessage
from tests.conftest import make_router, spec


def test_whitespace_is_collapsed_but_indentation_and_code_blocks_are_kept() -> None:
    text = (
        "Fix   this,   please:   \n\n\n\n\n"
        "```py\ndef f(x):\n    return  x   +  1\n```\n  indented   line  "
    )
    assert tidy(text) == (
        "Fix this, please:\n\n```py\ndef f(x):\n    return  x   +  1\n```\n  indented line"
    )


async def test_the_router_routes_and_sends_the_compressed_prompt(aserver: ScriptedServer) -> None:
    aserver.add("m", Reply("ok"))
    router = make_router(aserver, [spec("m")], compressor=PromptCompressor())
    padded = "Summarise   the   following   report." + "   \n\n\n" * 40 + "Revenue   grew."
    answer = await router.achat([{"role": "user", "content": padded}] * 2)
    saving = answer.decision.compression
    assert saving is not None and saving["saved"] > 0
    assert saving["after"] == answer.decision.features.prompt_tokens
    sent = aserver.calls[-1].body["messages"]
    assert sent == [{"role": "user", "content": "Summarise the following report.\n\nRevenue grew."}]
    assert answer.decision.summary()["compression"] == saving
    plain = await router.achat("already short")
    assert plain.decision.compression is None, "nothing to save, nothing reported"
    await router.aclose()


def test_long_tool_results_are_clipped_and_old_turns_dropped_when_configured() -> None:
    call = ToolCall(id="c1", function=FunctionCall(name="search", arguments="{}"))
    history = [
        {"role": "system", "content": "You are terse."},
        *(
            m
            for i in range(30)
            for m in (
                UserMessage(content=f"question {i} " + "detail " * 50),
                AssistantMessage(content=f"answer {i}"),
            )
        ),
        UserMessage(content="look it up"),
        AssistantMessage(content=None, tool_calls=[call]),
        ToolMessage(content="row " * 5000, tool_call_id="c1"),
    ]
    from langroute.features import RoutingRequest

    messages = list(RoutingRequest.build(history).messages)
    out = PromptCompressor(max_tool_result_tokens=200, max_prompt_tokens=800).compress(messages)
    assert out[0].role == "system", "system messages stay"
    assert out[-3:][0].content == "look it up" and out[-2].tool_calls == [call]
    assert "tokens omitted" in out[-1].content and len(out[-1].content) < 2000
    assert len(out) < len(messages) and all(m.role != "tool" or m is out[-1] for m in out)
    with pytest.raises(ConfigError, match="max_prompt_tokens must be at least 16"):
        PromptCompressor(max_prompt_tokens=3)
