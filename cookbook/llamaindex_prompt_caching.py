"""Questions about a long document, marked for Claude's prompt cache with a LlamaIndex
`CachePoint`, routed between an OpenAI-compatible model and Claude. The cache point
reaches Claude (LlamaIndex's `Anthropic` reads it in user messages) and is left out for the
OpenAI-compatible one, whose LlamaIndex class raises on the block. The second hard
question reads the document from Claude's cache.

    python3 -m uv run python cookbook/llamaindex_prompt_caching.py
"""

from __future__ import annotations

from llama_index.core.base.llms.types import CacheControl, CachePoint, TextBlock
from llama_index.core.llms import ChatMessage

from _offline import LLAMAINDEX_SPECS, offline_llamaindex_llms
from llama_index.llms.langroute import RoutingLLM

HANDBOOK = "Section 4.2: refunds are due within 14 days of a cancelled booking. " * 300
# Claude Haiku 4.5 caches nothing shorter than 4,096 tokens

with offline_llamaindex_llms() as (small, large):
    llm = RoutingLLM(models=[small, large], specs=LLAMAINDEX_SPECS)
    document = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text=HANDBOOK),
            CachePoint(cache_control=CacheControl(type="ephemeral")),
        ],
    )
    read = ChatMessage(role="assistant", content="I have read the handbook.")
    for question in (
        "Say hello.",
        "Prove step by step that every refund rule in the handbook is consistent.",
        "Derive, step by step, the latest refund date for each cancellation case.",
    ):
        response = llm.chat([document, read, ChatMessage(role="user", content=question)])
        decision = response.additional_kwargs["langroute"]
        usage = response.raw.get("usage") if isinstance(response.raw, dict) else None
        wrote = getattr(usage, "cache_creation_input_tokens", 0) or 0  # Anthropic's usage
        cached = getattr(usage, "cache_read_input_tokens", 0) or 0
        print(
            f"{decision['answered_by']:16} cache: wrote {wrote:5}, read {cached:5}   "
            f"cost ${decision['actual_cost_usd']:.6f}"
        )
