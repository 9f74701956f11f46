"""Structured output through a RoutingChatModel: tool calling (any tool-capable candidate) or
JSON schema (only candidates with schema-constrained output).

    python3 -m uv run python cookbook/langchain_structured_output.py
"""

from __future__ import annotations

from pydantic import BaseModel

from _offline import SPECS, offline_langchain_models
from langchain_langroute import RoutingChatModel


class City(BaseModel):
    name: str
    population: int


with offline_langchain_models() as (small, large):
    llm = RoutingChatModel(models=[small, large], specs=SPECS)
    for method in ("function_calling", "json_schema"):
        structured = llm.with_structured_output(City, method=method, include_raw=True)
        out = structured.invoke("Tell me about 'Lisbon', population 545000")
        raw = out["raw"].response_metadata["langroute"]
        print(
            f"{method:17} → {out['parsed']!r} from {raw['answered_by']}"
            f" (candidates: {raw['candidates']})"
        )
