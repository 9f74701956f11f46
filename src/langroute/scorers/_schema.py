"""Whether a JSON value follows a JSON schema: the first place it does not, said plainly.

The caller's own schema is the judge, not what a model was sent: Claude, for one, is sent
bounds such as `minimum` or `maxLength` only as words in a description (it cannot enforce
them), so its answer may break them. Covers what models are asked for in practice (types,
enum/const, required and closed objects, items and their count, string length and
pattern, numeric bounds, anyOf/oneOf/allOf, local `$ref`s); other keywords are not checked.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return value.is_integer() if isinstance(value, float) else _is_number(value)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_whole,
}


def _anything(value: Any) -> bool:
    return True


def first_violation(value: Any, schema: Any, root: Any = None, at: str = "") -> str | None:
    """Where and how `value` breaks `schema` (e.g. "staff: -3 is under the minimum 0"),
    or None when it follows it."""
    if not isinstance(schema, dict):
        return None
    root = schema if root is None else root
    where = at or "the answer"
    if isinstance(ref := schema.get("$ref"), str):
        target = _resolve(ref, root)
        if target is not None and (found := first_violation(value, target, root, at)):
            return found
    kinds = schema.get("type")
    if kinds is not None:
        listed = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES.get(str(k), _anything)(value) for k in listed):
            return f"{where}: {_shown(value)} is not {' or '.join(map(str, listed))}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {_shown(value)} is not one of {schema['enum']}"
    if "const" in schema and value != schema["const"]:
        return f"{where}: {_shown(value)} is not {schema['const']!r}"
    return _combined(value, schema, root, at) or _by_kind(value, schema, root, at)


def _by_kind(value: Any, schema: dict[str, Any], root: Any, at: str) -> str | None:
    """The checks for the kind of value it is (object, array, string or number)."""
    if isinstance(value, dict):
        return _object(value, schema, root, at)
    if isinstance(value, list):
        return _array(value, schema, root, at)
    if isinstance(value, str):
        return _string(value, schema, at or "the answer")
    if _is_number(value):
        return _number(value, schema, at or "the answer")
    return None


def _resolve(ref: str, root: Any) -> Any:
    if ref == "#":
        return root
    parts = ref.removeprefix("#/").split("/") if ref.startswith("#/") else None
    node = root
    for part in parts or ():
        node = (
            node.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(node, dict) else None
        )
    return node if parts else None


def _combined(value: Any, schema: dict[str, Any], root: Any, at: str) -> str | None:
    for part in schema.get("allOf") or ():
        if found := first_violation(value, part, root, at):
            return found
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if not isinstance(options, list) or not options:
            continue
        misses = [first_violation(value, option, root, at) for option in options]
        matched = misses.count(None)
        if matched == 0:
            return misses[0] if len(options) == 1 else f"{at or 'the answer'}: fits none of {key}"
        if key == "oneOf" and matched > 1:
            return f"{at or 'the answer'}: fits {matched} of oneOf, not exactly one"
    return None


def _object(value: dict[str, Any], schema: dict[str, Any], root: Any, at: str) -> str | None:
    properties = schema.get("properties") or {}
    for key in schema.get("required") or ():
        if key not in value:
            return f"{_path(at, key)}: required but missing"
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            found = first_violation(item, properties[key], root, _path(at, key))
        elif extra is False:
            found = f"{_path(at, key)}: not a property of the schema"
        else:
            found = first_violation(item, extra, root, _path(at, key))
        if found:
            return found
    return None


def _array(value: list[Any], schema: dict[str, Any], root: Any, at: str) -> str | None:
    where = at or "the answer"
    if len(value) < schema.get("minItems", 0):
        return f"{where}: {len(value)} items, under the minimum {schema['minItems']}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{where}: {len(value)} items, over the maximum {schema['maxItems']}"
    for i, item in enumerate(value):
        if found := first_violation(item, schema.get("items"), root, f"{at}[{i}]"):
            return found
    return None


def _string(value: str, schema: dict[str, Any], where: str) -> str | None:
    if len(value) < schema.get("minLength", 0):
        return f"{where}: {len(value)} characters, under the minimum {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{where}: {len(value)} characters, over the maximum {schema['maxLength']}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                return f"{where}: {_shown(value)} does not match {pattern!r}"
        except re.error:
            return None  # a pattern Python cannot read is not the answer's fault
    return None


_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
    ("minimum", operator.lt, "under the minimum"),
    ("maximum", operator.gt, "over the maximum"),
    ("exclusiveMinimum", operator.le, "not over"),
    ("exclusiveMaximum", operator.ge, "not under"),
)


def _number(value: float, schema: dict[str, Any], where: str) -> str | None:
    for key, breaks, words in _BOUNDS:
        bound = schema.get(key)
        if _is_number(bound) and breaks(value, bound):
            return f"{where}: {_shown(value)} is {words} {bound}"
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0 and not _multiple(value, step):
        return f"{where}: {_shown(value)} is not a multiple of {step}"
    return None


def _multiple(value: float, step: float) -> bool:
    ratio = value / step
    return math.isclose(ratio, round(ratio), rel_tol=1e-9, abs_tol=1e-9)


def _path(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
