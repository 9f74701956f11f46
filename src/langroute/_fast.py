"""Building already-valid pydantic models on the hot path without re-validation.

`model_construct` costs several microseconds per object; plans build one object per
candidate on every call, inside a 50 µs budget. Values passed here come from validated
inputs, and every field must be given.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def construct(cls: type[M], **values: Any) -> M:
    """An instance of `cls` with exactly `values` as its fields, unvalidated."""
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
