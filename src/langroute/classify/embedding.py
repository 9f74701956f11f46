"""`EmbeddingClassifier`: the task domain from the nearest example utterances.

Each `Route` is a domain described by example prompts. A request goes to the route whose
`top_k` closest examples are most similar to its last user message, if that similarity
clears the route's threshold; otherwise the fallback classifier (rules by default) decides.
Complexity, needed capabilities and the rule signals always come from the fallback, so the
embedding only settles *what kind* of task it is. Thresholds can be fitted from labelled
prompts (`fit_thresholds`). Needs the `embed` extra.

The default embedder is the static table distilled from MiniLM (`StaticEmbedder`, a
fraction of a millisecond per prompt); the MiniLM transformer itself (`MiniLMEmbedder`, a
few ms per prompt) matches a few more prompts to the right route (`langroute eval`
reports both).
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
            "Write a Python function to check whether a string is a palindrome",
            "How do I read a CSV file with pandas and filter the rows?",
            "Write a SQL query to find the second highest salary in the employees table",
            "Explain what this C++ code does and suggest improvements",
            "Implement quicksort in Java",
            "My React component re-renders forever, how do I fix it?",
            "Write a function to find the longest common subsequence of two strings",
            "Write unit tests for this function with pytest",
            "Port this Python 2 script to Python 3",
            "Write a program that merges two sorted arrays",
            "How do I make an HTTP request in Go?",
            "Write a function that counts the vowels in a given string",
            "Write a Dockerfile for a Node.js web app",
            "What is the time complexity of this algorithm?",
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
            "John has 5 boxes of 12 pencils and gives away 17. How many pencils are left?",
            "What is 15% of 240?",
            "A shop sells shirts for $25 each with 20% off. How much do 4 shirts cost?",
            "A rectangle has a perimeter of 30 cm and a length of 9 cm. What is its area?",
            "Simplify (2x^2 + 4x) / 2x",
            "What is the derivative of ln(x^2 + 1)?",
            "A recipe needs 3 cups of flour for 12 cookies. How much for 30 cookies?",
            "Find the sum of all integers from 1 to 100",
            "Tom is twice as old as his sister, who is 7. How old will Tom be in 5 years?",
            "Solve the system of equations 2x + y = 10 and x - y = 2",
            "How much interest does $1000 earn at 5% compounded yearly over 3 years?",
            "Maria earns $18 an hour and works 35 hours a week. How much does she earn in 4 weeks?",
            "A car uses 8 liters of fuel per 100 km. How much fuel does it need for 350 km?",
            "There are 24 students and a third of them are boys. How many girls are there?",
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
            "Which of the following is a renewable resource? A) coal B) oil C) wind D) natural gas",
            "A metal spoon sits in hot tea. Which statement best explains why its handle warms?",
            "Sarah could not lift the box but Jenny could, because _ was stronger. Who is _?",
            "Fill in the blank: the vase broke when it fell because the _ was fragile.",
            "If it rains the ground gets wet. The ground is wet. Does it follow that it rained?",
            "Alice finished the race before Bob but after Carol. Who finished first?",
            "Which of these animals is best adapted to survive in a desert, and why?",
            "A plant grows taller under blue light than red. What is the independent variable?",
            "Identify the logical flaw in this argument",
            "Which statement is an inference rather than an observation?",
            "A ball rolls off a table. Which force makes it fall to the floor?",
            "Which change to the experiment would make the results more reliable?",
            "Choose the option that best completes the sentence",
            "Why would a farmer rotate crops each season? Pick the best answer.",
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
            "Write a haiku about the moon",
            "Write a funny limerick about a cat who loves pizza",
            "Write a short science fiction story set on Mars",
            "Imagine you are Sherlock Holmes and describe your morning",
            "Act as a medieval knight and tell me about your quest",
            "Write a heartfelt wedding toast for my best friend",
            "Compose a catchy Instagram caption for a fitness brand",
            "Write a product description for a handmade leather wallet",
            "Write a letter to my future self",
            "Create a slogan for an eco-friendly coffee shop",
            "Write the opening paragraph of a mystery novel",
            "Rewrite this paragraph in the style of Shakespeare",
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
            "From the following reviews, extract the rating given to each product",
            "Parse this address into street, city, state and zip code",
            "Extract every email address in the text below",
            "Pull the dates and amounts out of these invoices into a table",
            "Which people and places are mentioned in this passage?",
            "Label the sentiment of each of these tweets as positive, negative or neutral",
            "List the organisations named in these news headlines",
            "Extract the ingredients and their quantities from this recipe",
            "Turn these meeting notes into a list of action items with owners",
            "Read the paragraph and output the numbers it mentions in YAML",
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
            "Explain how vaccines work in simple terms",
            "What causes the seasons on Earth?",
            "Tell me about the history of the Roman Empire",
            "What is the difference between a virus and a bacterium?",
            "How does inflation affect ordinary people?",
            "Can you explain what machine learning is?",
            "What are some tips for sleeping better?",
            "Describe the main ideas of existentialism",
            "How do I say thank you in Japanese?",
            "What should I see when I visit Paris?",
            "Explain the concept of supply and demand",
            "Good evening! What can you do?",
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

            from langroute.embed import StaticEmbedder
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
        self.embedder = embedder or StaticEmbedder()
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
