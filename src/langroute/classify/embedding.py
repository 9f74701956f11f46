"""`EmbeddingClassifier`: the task domain from the nearest example utterances.

Each `Route` is a domain described by example prompts. A request goes to the route whose
`top_k` closest examples are most similar to its last user message, if that similarity
clears the route's threshold; otherwise the fallback classifier (rules by default) decides.
Complexity, needed capabilities and the rule signals always come from the fallback, so the
embedding only settles *what kind* of task it is. Thresholds can be fitted from labelled
prompts (`fit_thresholds`). Needs the `embed` extra.

The default embedder is the MiniLM transformer (`MiniLMEmbedder`, a few ms per prompt):
the static table is 50x faster but matches few example utterances much less well
(`langroute eval` reports both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from langroute.classify.base import Classifier, TaskProfile
from langroute.classify.rules import RuleClassifier
from langroute.errors import ConfigError
from langroute.features import RequestFeatures
from langroute.registry.spec import TaskDomain

if TYPE_CHECKING:
    from langroute.embed import Embedder


class Route(BaseModel):
    """A task domain described by example prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    domain: TaskDomain
    utterances: tuple[str, ...] = Field(min_length=1)
    threshold: float = Field(default=0.2, ge=-1, le=1)
    """Least similarity (cosine, mean of the top-k examples) for this route to apply."""


DEFAULT_ROUTES: tuple[Route, ...] = (
    Route(
        name="code",
        domain="code",
        utterances=(
            "Write a Python function that returns the nth Fibonacci number",
            "Fix the bug in this JavaScript code",
            "Implement a binary search tree with insert and delete",
            "Why does my SQL query return duplicate rows?",
            "Write a function to remove duplicates from a list",
            "Refactor this class to use dependency injection",
            "Write a bash script that renames all files in a folder",
            "What does this regular expression match?",
        ),
    ),
    Route(
        name="math",
        domain="math",
        utterances=(
            "Solve for x: 3x + 7 = 22",
            "A train travels 60 miles in 1.5 hours. What is its average speed?",
            "Compute the integral of x^2 sin(x)",
            "How many ways can 5 people sit around a round table?",
            "She buys 3 apples at $2 each and pays with a $10 bill. How much change?",
            "Prove that the square root of 2 is irrational",
            "Find the eigenvalues of the matrix [[2, 1], [1, 2]]",
            "What is the probability of rolling two sixes with two dice?",
        ),
    ),
    Route(
        name="reasoning",
        domain="reasoning",
        utterances=(
            "Which of these explains why the ice melts faster on the metal tray?",
            "If all bloops are razzies and some razzies are lazzies, are some bloops lazzies?",
            "The trophy doesn't fit in the suitcase because it is too big. What is too big?",
            "Compare the pros and cons of these two strategies and recommend one",
            "What is the most likely cause of the observed result in this experiment?",
            "Think step by step: who is the tallest if Ann is taller than Bo?",
        ),
    ),
    Route(
        name="creative",
        domain="creative",
        utterances=(
            "Write a short poem about autumn leaves",
            "Compose an engaging travel blog post about a trip to Japan",
            "Write a story about a robot who learns to paint",
            "Pretend you are a pirate captain and greet your crew",
            "Draft a persuasive speech for a school election",
            "Write song lyrics about the sea",
        ),
    ),
    Route(
        name="extraction",
        domain="extraction",
        utterances=(
            "Extract all names and dates from the following text as JSON",
            "Summarize this article in three bullet points",
            "List the products and prices mentioned in this email",
            "Convert this table to CSV",
            "Identify the company names in the passage below",
            "Return the key facts of this contract as a JSON object",
        ),
    ),
    Route(
        name="chat",
        domain="chat",
        utterances=(
            "Hi, how are you today?",
            "What is the capital of Australia?",
            "Thanks for your help!",
            "Who wrote Pride and Prejudice?",
            "Can you recommend a good movie for tonight?",
            "Translate 'good morning' into Spanish",
        ),
    ),
)


class EmbeddingClassifier:
    def __init__(
        self,
        routes: Sequence[Route] = DEFAULT_ROUTES,
        *,
        embedder: Embedder | None = None,
        fallback: Classifier | None = None,
        top_k: int = 3,
    ) -> None:
        try:
            import numpy as np

            from langroute.embed import MiniLMEmbedder
        except ImportError as exc:
            raise ConfigError(
                "EmbeddingClassifier needs the embed extra: pip install 'langroute[embed]'"
            ) from exc
        if not routes:
            raise ConfigError("EmbeddingClassifier needs at least one Route")
        names = [r.name for r in routes]
        if len(set(names)) != len(names):
            raise ConfigError(f"route names must be unique, got {names}")
        self.routes = list(routes)
        self.embedder = embedder or MiniLMEmbedder()
        self.fallback = fallback or RuleClassifier()
        self.top_k = top_k
        texts = [u for r in self.routes for u in r.utterances]
        self._owner = np.array([i for i, r in enumerate(self.routes) for _ in r.utterances])
        self._examples = self.embedder.embed(texts)

    def similarities(self, texts: Sequence[str]) -> Any:
        """(len(texts), routes) similarity of each text to each route."""
        import numpy as np

        sims = self.embedder.embed(texts) @ self._examples.T
        out = np.full((len(texts), len(self.routes)), -1.0, dtype=np.float32)
        for r in range(len(self.routes)):
            own = sims[:, self._owner == r]
            k = min(self.top_k, own.shape[1])
            out[:, r] = -np.sort(-own, axis=1)[:, :k].mean(axis=1)
        return out

    def route_of(self, texts: Sequence[str]) -> list[str | None]:
        """The route each text goes to, or None when no route clears its threshold."""
        sims = self.similarities(texts)
        best = sims.argmax(axis=1)
        return [
            self.routes[b].name if sims[i, b] >= self.routes[b].threshold else None
            for i, b in enumerate(best)
        ]

    def classify(self, features: RequestFeatures) -> TaskProfile:
        base = self.fallback.classify(features)
        if not features.last_user_text.strip():
            return base
        sims = self.similarities([features.last_user_text])[0]
        b = int(sims.argmax())
        route, score = self.routes[b], float(sims[b])
        if score < route.threshold:
            signal = f"embedding: nearest route {route.name} {score:.2f} < {route.threshold:.2f}"
            return base.model_copy(update={"signals": (*base.signals, signal)})
        return base.model_copy(
            update={
                "domain": route.domain,
                "confidence": round(max(0.0, min(1.0, score)), 3),
                "signals": (*base.signals, f"embedding: route {route.name} ({score:.2f})"),
            }
        )

    def with_examples(self, examples: Sequence[tuple[str, str | None]]) -> EmbeddingClassifier:
        """A copy whose routes also hold these labelled prompts as utterances (prompts
        labelled None are skipped). With real prompts as examples the fast static table
        matches nearly as well as MiniLM; fit thresholds on *other* prompts than these."""
        known = {r.name for r in self.routes}
        bad = sorted({label for _, label in examples if label is not None and label not in known})
        if bad:
            raise ConfigError(f"labels {bad} are not routes; routes are {sorted(known)}")
        extra: dict[str, list[str]] = {r.name: [] for r in self.routes}
        for text, label in examples:
            if label is not None:
                extra[label].append(text)
        routes = [
            r.model_copy(update={"utterances": (*r.utterances, *extra[r.name])})
            for r in self.routes
        ]
        return EmbeddingClassifier(
            routes, embedder=self.embedder, fallback=self.fallback, top_k=self.top_k
        )

    def fit_thresholds(
        self, examples: Sequence[tuple[str, str | None]], *, grid: int = 41
    ) -> EmbeddingClassifier:
        """A copy with each route's threshold set to maximise accuracy on labelled prompts.

        `examples` are (prompt, route name or None for "no route applies"); prompts whose
        nearest route is r count for r's threshold.
        """
        import numpy as np

        known = {r.name for r in self.routes}
        bad = sorted({label for _, label in examples if label is not None and label not in known})
        if bad:
            raise ConfigError(f"labels {bad} are not routes; routes are {sorted(known)}")
        sims = self.similarities([text for text, _ in examples])
        best = sims.argmax(axis=1)
        labels = [label for _, label in examples]
        routes = []
        for r, route in enumerate(self.routes):
            rows = [i for i in range(len(examples)) if best[i] == r]
            if not rows:
                routes.append(route)
                continue
            scores = sims[rows, r]
            right = np.array([labels[i] == route.name for i in rows])
            candidates = np.linspace(float(scores.min()), float(scores.max()) + 1e-6, grid)
            # Accept at or above t: correct if labelled this route; reject below: correct
            # when the label is not this route (the fallback gets another chance).
            acc = [
                ((scores >= t) & right).sum() + ((scores < t) & ~right).sum() for t in candidates
            ]
            routes.append(
                route.model_copy(update={"threshold": float(candidates[int(np.argmax(acc))])})
            )
        return EmbeddingClassifier(
            routes, embedder=self.embedder, fallback=self.fallback, top_k=self.top_k
        )
