"""`Settings.llm = RoutingLLM(...)` for a VectorStoreIndex query engine (local embedding, no
download): each query's synthesis call is routed.

    python3 -m uv run python cookbook/llamaindex_query_engine.py
"""

from __future__ import annotations

from llama_index.core import Document, Settings, VectorStoreIndex

from _offline import LLAMAINDEX_SPECS, offline_llamaindex_llms
from langroute import OpenAIProvider
from llama_index.llms.langroute import RoutingLLM
from llama_index.llms.langroute.testing import HashEmbedding

with offline_llamaindex_llms() as (small, large):
    Settings.llm = RoutingLLM(models=[small, large], specs=LLAMAINDEX_SPECS)
    Settings.embed_model = HashEmbedding()
    index = VectorStoreIndex.from_documents(
        [
            Document(text="langroute picks, for every LLM call, the model that should answer it."),
            Document(text="The scripted server answers like an OpenAI or Anthropic API, offline."),
        ]
    )
    engine = index.as_query_engine(similarity_top_k=1)
    response = engine.query("What does langroute pick for every LLM call?")
    print("answer:", str(response)[:120])
    print("sources:", [n.node.get_content()[:40] for n in response.source_nodes])

    # The small model as a native candidate, given by name: langroute's own provider calls
    # it, no OpenAILike needed (a catalog name needs nothing more; here it is pointed at the
    # offline server).
    local = OpenAIProvider(name="local", base_url=small.api_base, api_key="offline")
    native_spec = {**LLAMAINDEX_SPECS["small-model"], "provider": "local"}
    Settings.llm = RoutingLLM(
        models=["small-model", large],
        specs={**LLAMAINDEX_SPECS, "small-model": native_spec},
        providers={"local": local},
    )
    response = index.as_query_engine(similarity_top_k=1).query("What does the server answer like?")
    kinds = {name: type(llm).__name__ for name, llm in Settings.llm.candidates.items()}
    print("native answer:", str(response)[:40].replace("\n", " "), "| candidates:", kinds)
