"""A scripted model that behaves plausibly, for suites written against real models (such as
LangChain's standard tests): it calls a tool when asked, with arguments made from the tool's
schema and the numbers and quoted words of the prompt; answers after a tool result; and
returns JSON that fits a requested schema. Deterministic, no model involved.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langroute.testing.script import Behaviour, CallInfo, Reply, ToolCallScript

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"(?<!\w)['\"]([^'\"]{1,40})['\"](?!\w)")


def _tools(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, JSON schema of the arguments) of each tool, in OpenAI or Anthropic form."""
    out = []
    for tool in body.get("tools") or []:
        if "function" in tool:
            function = tool["function"]
            out.append((function["name"], function.get("parameters") or {}))
        elif "name" in tool:
            out.append((tool["name"], tool.get("input_schema") or {}))
    return out


def _forced_tool(body: dict[str, Any], names: list[str]) -> str | None:
    """The tool the request forces (by name or `required`/`any`), else None."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name") or choice.get("name")
        if named:
            return str(named)
        if choice.get("type") == "any":
            return names[0]
    if choice in ("required", "any"):
        return names[0]
    return None


def _last_is_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    if not messages:
        return False
    last = messages[-1]
    if last.get("role") == "tool":
        return True
    content = last.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def _tool_result_text(body: dict[str, Any]) -> str:
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                inner = block.get("content", block.get("text", ""))
                if isinstance(inner, list):
                    inner = " ".join(str(b.get("text", "")) for b in inner if isinstance(b, dict))
                parts.append(str(inner))
        return " ".join(parts)
    return str(content or "")


class _Values:
    """Values drawn from the prompt, in order, for the arguments a schema asks for."""

    def __init__(self, prompt: str) -> None:
        self.numbers = [float(n) for n in _NUMBER.findall(prompt)]
        self.words = _QUOTED.findall(prompt)

    def value(self, schema: dict[str, Any], name: str, defs: dict[str, Any]) -> Any:
        if "$ref" in schema:
            schema = defs.get(schema["$ref"].split("/")[-1], {})
        if "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            schema = options[0] if options else {}
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "string")
        if kind == "integer":
            return int(self.numbers.pop(0)) if self.numbers else 1
        if kind == "number":
            return self.numbers.pop(0) if self.numbers else 1.0
        if kind == "boolean":
            return True
        if kind == "array":
            return [self.value(schema.get("items") or {}, name, defs)]
        if kind == "object":
            return self.fill(schema, defs)
        return self.words.pop(0) if self.words else f"a {name}"

    def fill(self, schema: dict[str, Any], defs: dict[str, Any] | None = None) -> dict[str, Any]:
        defs = {**(defs or {}), **(schema.get("$defs") or schema.get("definitions") or {})}
        properties = schema.get("properties") or {}
        return {name: self.value(sub, name, defs) for name, sub in properties.items()}


_VERBS = {"get", "set", "list", "fetch", "find", "make", "call", "tool"}


def _mentions(prompt: str, tool_name: str) -> bool:
    """Whether the prompt names the tool, or a telling word of its name (`get_weather`)."""
    lowered = prompt.lower()
    if tool_name.lower() in lowered:
        return True
    words = [w for w in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", tool_name) if w]
    return any(len(w) > 3 and w.lower() not in _VERBS and w.lower() in lowered for w in words)


_REACT_TOOL = re.compile(r"^> Tool Name: (\S+)$.*?^Tool Args: (\{.*?\})$", re.M | re.S)


def _system_text(body: dict[str, Any]) -> str:
    system = body.get("system")
    if isinstance(system, list):
        system = " ".join(str(b.get("text", "")) for b in system if isinstance(b, dict))
    texts = [str(system or "")]
    for message in body.get("messages") or []:
        if message.get("role") == "system":
            content = message.get("content")
            texts.append(content if isinstance(content, str) else json.dumps(content))
    return "\n".join(texts)


def _react_reply(system: str, prompt: str) -> Reply:
    """ReAct-format text (Thought / Action / Action Input, or Answer) for ReAct agents."""
    if prompt.lstrip().startswith("Observation:"):
        observation = prompt.split("Observation:", 1)[1].strip()
        return Reply(
            "Thought: I can answer without using any more tools. I'll use the user's "
            f"language to answer\nAnswer: The tool returned {observation}."
        )
    for name, args_schema in _REACT_TOOL.findall(system):
        if _mentions(prompt, name):
            args = _Values(prompt).fill(json.loads(args_schema))
            return Reply(
                "Thought: The current language of the user is: English. I need to use "
                f"a tool to help me answer the question.\nAction: {name}\n"
                f"Action Input: {json.dumps(args)}"
            )
    return Reply(
        "Thought: I can answer without using any more tools. I'll use the user's "
        f"language to answer\nAnswer: Hello! You said: {prompt[:200]}"
    )


def smart_reply(call: CallInfo) -> Behaviour:
    """A plausible answer to `call` (use as a scripted model's default responder)."""
    body = call.body
    prompt = call.last_user_text
    system = _system_text(body)
    if "Action Input:" in system and "> Tool Name:" in system:
        return _react_reply(system, prompt)
    tools = _tools(body)
    if tools and not _last_is_tool_result(body) and body.get("tool_choice") not in ("none",):
        names = [name for name, _ in tools]
        chosen = _forced_tool(body, names) or next((n for n in names if _mentions(prompt, n)), None)
        if chosen is not None:
            schema = dict(tools).get(chosen, {})
            args = _Values(prompt).fill(schema)
            return Reply("", tool_calls=(ToolCallScript(chosen, args),))
    if _last_is_tool_result(body):
        return Reply(f"The tool returned {_tool_result_text(body).strip()}.")
    response_format = body.get("response_format") or {}
    claude_format = (body.get("output_config") or {}).get("format") or {}
    if response_format.get("type") == "json_schema" or claude_format:
        schema = claude_format.get("schema") or (
            (response_format.get("json_schema") or {}).get("schema") or {}
        )
        return Reply(json.dumps(_Values(prompt).fill(schema)))
    if response_format.get("type") == "json_object":
        keys = _QUOTED.findall(prompt) or ["answer"]
        return Reply(json.dumps({k: f"a {k}" for k in keys}))
    return Reply(f"Hello! You said: {prompt[:200]}" if prompt else "Hello!")
