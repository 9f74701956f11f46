"""Claude's JSON outputs (the Messages API's `output_config.format`) and strict tools: which
models take them, and the JSON-schema subset they accept.

Claude constrains its answer to a schema only within a subset of JSON Schema: every object
must say `additionalProperties: false`, and bounds such as `minimum`, `maxLength` or a
`minItems` above 1 are refused with a 400 ("For 'integer' type, property 'minimum' is not
supported"). A schema written for OpenAI, or made by pydantic from `Field(ge=1)`, is
therefore fitted first, as Anthropic's own SDKs do (`anthropic.transform_schema`): objects
get `additionalProperties: false` and whatever Claude cannot enforce is moved into the
`description`, where the model still reads it. The answer is then checked against the
caller's own schema by whoever parses it (LangChain's parsers, a cascade's heuristics)."""

from __future__ import annotations

from typing import Any

from langroute.providers._http import not_sent
from langroute.reasoning import claude_version
from langroute.types import ResponseFormat

STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
"""The string formats Claude's JSON outputs enforce; any other stays in the description."""

FIRST_RELEASE = (4, 5)
"""JSON outputs and strict tools are generally available from Claude's 4.5 models on
(Haiku, Sonnet and Opus 4.5, Opus and Sonnet 4.6, and later); Opus 4.1 had them only in a
beta that is being retired, and Claude 3 never."""


def takes_json_outputs(model_id: str) -> bool:
    """Whether a Claude model (by its id, in any provider's spelling) takes JSON outputs
    and strict tools; False for a model that is not Claude."""
    version = claude_version(model_id)
    return version is not None and version[:2] >= FIRST_RELEASE


def fitted_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` within Claude's subset: `additionalProperties: false` on every object,
    `oneOf` as `anyOf`, and the keywords it cannot enforce moved into the description as
    `{keyword: value}`. A part without a type (or anyOf/oneOf/allOf/$ref) is left as given,
    for the API to judge."""
    rest = dict(schema)
    fitted: dict[str, Any] = {}
    defs = {k: rest.pop(k) for k in ("$defs", "definitions") if isinstance(rest.get(k), dict)}
    for key, group in defs.items():
        fitted[key] = {name: _part(part) for name, part in group.items()}
    rest.pop("$schema", None)
    if "$ref" in rest:
        fitted["$ref"] = rest.pop("$ref")
        fitted |= {key: rest.pop(key) for key in ("description", "title") if key in rest}
        return fitted | _described(rest, fitted)
    kind = rest.pop("type", None)
    variants = next(
        ((k, rest.pop(k)) for k in ("anyOf", "oneOf", "allOf") if isinstance(rest.get(k), list)),
        None,
    )
    if variants is not None:
        fitted["allOf" if variants[0] == "allOf" else "anyOf"] = [_part(v) for v in variants[1]]
    elif kind is None:
        return {**schema, **fitted} if defs else dict(schema)
    if kind is not None:
        fitted["type"] = kind
    for key in ("enum", "const", "description", "title"):
        if key in rest:
            fitted[key] = rest.pop(key)
    kinds = kind if isinstance(kind, list) else [kind]
    if "object" in kinds:
        fitted["properties"] = {k: _part(v) for k, v in rest.pop("properties", {}).items()}
        rest.pop("additionalProperties", None)
        fitted["additionalProperties"] = False
        if "required" in rest:
            fitted["required"] = rest.pop("required")
    if "string" in kinds and rest.get("format") in STRING_FORMATS:
        fitted["format"] = rest.pop("format")
    if "array" in kinds:
        if "items" in rest:
            fitted["items"] = _part(rest.pop("items"))
        if rest.get("minItems") in (0, 1):
            fitted["minItems"] = rest.pop("minItems")
    return fitted | _described(rest, fitted)


def output_format(fmt: ResponseFormat | None, who: str) -> dict[str, Any] | None:
    """OpenAI's `response_format` as the Messages API's `output_config.format`: a JSON
    schema fitted to Claude's subset (its open objects said, as `who`), or None. JSON mode
    without a schema, which the Messages API lacks, is left out and said."""
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type != "json_schema" or fmt.json_schema is None:
        not_sent(
            who,
            "JSON mode (response_format json_object)",
            "the Messages API has none; ask for a json_schema, which Claude follows",
        )
        return None
    schema = fmt.json_schema.schema_
    say_open_objects(schema, who)
    return {"type": "json_schema", "schema": fitted_schema(schema)}


def say_open_objects(schema: Any, who: str) -> None:
    """Say once (as `who`) where `schema` has an open object (a map such as pydantic's
    `dict[str, int]`): Claude's JSON outputs hold only the properties a schema names, so it
    is sent closed and can only be answered empty."""
    if opened := open_objects(schema):
        not_sent(
            who,
            f"an open object in the JSON schema ({', '.join(opened)})",
            "Claude holds an answer only to named properties, so it was sent closed and "
            "will be answered empty; name its properties, or route such calls elsewhere",
        )


def open_objects(schema: Any, at: str = "") -> list[str]:
    """Where `schema` allows properties it does not name (`additionalProperties` true or a
    schema): the places Claude's JSON outputs cannot hold."""
    if isinstance(schema, list):
        return [found for part in schema for found in open_objects(part, at)]
    if not isinstance(schema, dict):
        return []
    extra = schema.get("additionalProperties")
    found = [at or "the answer"] if extra is True or isinstance(extra, dict) else []
    for name, part in (schema.get("properties") or {}).items():
        found += open_objects(part, f"{at}.{name}" if at else name)
    for key in ("$defs", "definitions"):
        for name, part in (schema.get(key) or {}).items():
            found += open_objects(part, name)
    for key in ("items", "anyOf", "oneOf", "allOf"):
        found += open_objects(schema.get(key), f"{at}[]" if key == "items" else at)
    return found


def _part(part: Any) -> Any:
    return fitted_schema(part) if isinstance(part, dict) else part


def _described(left: dict[str, Any], fitted: dict[str, Any]) -> dict[str, Any]:
    """The description with the keywords Claude does not enforce appended, as the SDKs do."""
    if not left:
        return {}
    given = fitted.get("description")
    told = "{" + ", ".join(f"{key}: {value}" for key, value in left.items()) + "}"
    return {"description": f"{given}\n\n{told}" if given is not None else told}
