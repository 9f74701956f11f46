"""An LCEL chain whose model is a RoutingChatModel: each input is routed on its own.

python3 -m uv run python cookbook/langchain_lcel_chain.py
"""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from _offline import SPECS, offline_langchain_models
from langchain_langroute import RoutingChatModel
from langroute import OpenAIProvider

with offline_langchain_models() as (small, large):
    llm = RoutingChatModel(models=[small, large], specs=SPECS)
    prompt = ChatPromptTemplate.from_messages([("system", "You are concise."), ("user", "{q}")])
    chain = prompt | llm
    for question in [
        "What is the capital of France?",
        "Design a distributed rate limiter step by step and analyze the trade-offs rigorously.",
    ]:
        message = chain.invoke({"q": question})
        decision = message.response_metadata["langroute"]
        print(f"{question[:60]!r:64} → {decision['answered_by']} ({decision['reasons'][0]})")
    text_chain = prompt | llm | StrOutputParser()
    print("streamed:", "".join(text_chain.stream({"q": "Say hi"})))

    # The small model as a native candidate, given by name: langroute's own provider calls
    # it, no ChatOpenAI needed. A catalog name needs nothing more (its key comes from the
    # provider's environment variable); here it is pointed at the offline server.
    local = OpenAIProvider(name="local", base_url=small.openai_api_base, api_key="offline")
    native = RoutingChatModel(
        models=["small-model", large],
        specs={**SPECS, "small-model": {**SPECS["small-model"], "provider": "local"}},
        providers={"local": local},
    )
    message = (prompt | native).invoke({"q": "Say hi"})
    metadata = message.response_metadata
    print(f"native: {message.content} ({metadata['model_name']} via {metadata['model_provider']})")
