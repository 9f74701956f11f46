"""Claude's JSON outputs and strict tools as the scripted server serves them: refused (HTTP
400) on a model that does not take them, and for a schema outside the subset Claude
enforces, in the real API's words ("output_config.format.schema: For 'integer' type,
property 'minimum' is not supported"). Written from Anthropic's structured-outputs page and
the errors users report, not from langroute's own fitting of schemas, which it checks."""

from __future__ import annotations

from typing import Any

_UNSUPPORTED = {
    "integer": ("exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum", "multipleOf"),
    "number": ("exclusiveMaximum", "exclusiveMinimum", "maximum", "minimum", "multipleOf"),
    "string": ("maxLength", "minLength"),
    "array": ("maxItems",),
}


def refusal(body: dict[str, Any], takes: bool) -> str | None:
    """The Messages API's 400 message for the call's JSON output format or strict tools,
    else None; `takes`: whether the model takes them (Claude 4.5 and later)."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is not None:
        if not takes:
            return "output_config.format: Extra inputs are not permitted"
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            return "output_config.format.type: Input should be 'json_schema'"
        if not isinstance(fmt.get("schema"), dict):
            return "output_config.format.schema: Field required"
        if found := schema_refusal(fmt["schema"]):
            return f"output_config.format.schema: {found}"
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or "strict" not in tool:
            continue
        if not takes:
            return f"tools.{i}.custom.strict: Extra inputs are not permitted"
        if tool["strict"] and (found := schema_refusal(tool.get("input_schema") or {})):
            return f"tools.{i}.custom.input_schema: {found}"
    return None


def schema_refusal(schema: Any) -> str | None:
    """What Claude refuses in a JSON schema, in its words, else None."""
    if isinstance(schema, list):
        return next((found for part in schema if (found := schema_refusal(part))), None)
    if not isinstance(schema, dict):
        return None
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds]:
        if kind == "object" and schema.get("additionalProperties") is not False:
            return "For 'object' type, 'additionalProperties' must be explicitly set to false"
        if kind == "array" and schema.get("minItems", 0) not in (0, 1):
            return "For 'array' type, 'minItems' values other than 0 or 1 are not supported"
        if asked := [k for k in _UNSUPPORTED.get(str(kind), ()) if k in schema]:
            if len(asked) == 1:
                return f"For '{kind}' type, property '{asked[0]}' is not supported"
            return f"For '{kind}' type, properties {', '.join(asked)} are not supported"
    parts: list[Any] = [
        *(schema.get("properties") or {}).values(),
        *(schema.get("$defs") or {}).values(),
        *(schema.get("definitions") or {}).values(),
        schema.get("items"),
        schema.get("anyOf"),
        schema.get("allOf"),
        schema.get("oneOf"),
    ]
    return next((found for part in parts if (found := schema_refusal(part))), None)
