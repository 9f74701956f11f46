"""A cascade inside an LCEL chain: the small model answers first; when its answer shows a
warning sign (here it hedges on hard questions) the large model answers instead.

    python3 -m uv run python cookbook/cascade_langchain_chain.py
"""

from __future__ import annotations

from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from _offline import SPECS, offline_langchain_models
from langchain_langroute import RoutingChatModel
from langroute import Cascade
from langroute.testing import Reply, smart_reply


def small_model(call: Any) -> Any:
    """The small model hedges on anything that asks for a design."""
    if "design" in call.last_user_text.lower():
        return Reply("I'm not sure I can do this well, but maybe use a queue?")
    return smart_reply(call)


with offline_langchain_models(small_reply=small_model) as (small, large):
    llm = RoutingChatModel(models=[small, large], specs=SPECS, strategy=Cascade(threshold=0.5))
    prompt = ChatPromptTemplate.from_messages([("system", "You are concise."), ("user", "{q}")])
    chain = prompt | llm
    for question in ["What is the capital of France?", "Design a rate limiter for our API."]:
        message = chain.invoke({"q": question})
        meta = message.response_metadata["langroute"]
        steps = "; ".join(
            f"{e['model']} {'unscored' if e['score'] is None else format(e['score'], '.1f')} "
            f"{'kept' if e['accepted'] else 'escalated'} ({e['reason']})"
            for e in meta["escalations"]
        )
        print(
            f"{question!r:40} → {meta['answered_by']}: {steps}; cost ${meta['actual_cost_usd']:.6f}"
        )
    streamed = "".join((prompt | llm | StrOutputParser()).stream({"q": "Design a cache."}))
    print(f"streamed (the hedge was never shown): {streamed!r}")
