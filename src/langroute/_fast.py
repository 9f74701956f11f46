"""Building already-valid pydantic models on the hot path without re-validation.

`model_construct` costs several microseconds per object; plans build one object per
candidate on every call, inside a 50 µs budget. Values passed here come from validated
inputs, and every field must be given.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


_new = object.__new__
_set = object.__setattr__


def construct(cls: type[M], **values: Any) -> M:
    """An instance of `cls` with exactly `values` as its fields, unvalidated."""
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
