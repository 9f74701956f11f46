"""`RouterConfig`: a whole router as validated data, from Python, TOML or YAML.

models = ["gpt-4.1-nano", "gpt-4.1", "claude-sonnet-4-5"]
models_files = ["my-models.toml"]

[policy]
type = "complexity-tiers"
tiers = [ { max_complexity = 0.4, models = ["gpt-4.1-nano"] },
          { max_complexity = 1.0, models = ["gpt-4.1", "claude-sonnet-4-5"] } ]

[strategy]
type = "fallback"
fallback_on = ["RateLimited", "Timeout", "ServerError", "AuthError"]

[retry]
attempts = 3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from langroute import errors
from langroute.audit import AuditLog, JSONLAuditSink, SQLiteAuditSink
from langroute.budget import Budget, Budgets
from langroute.cache import ResponseCache
from langroute.classify import Classifier, LLMClassifier, Rule, RuleClassifier
from langroute.errors import ConfigError
from langroute.policy import (
    ComplexityTiers,
    CostOptimized,
    DomainMap,
    LatencyOptimized,
    LearnedPolicy,
    Policy,
    QualityBar,
    WeightedObjective,
)
from langroute.registry import ProviderSpec, Registry
from langroute.registry.registry import _explain, read_data_file
from langroute.retry import RetryPolicy
from langroute.scorers import (
    Heuristics,
    LLMJudge,
    LogprobConfidence,
    Scorer,
    SelfReportedConfidence,
)
from langroute.strategies import (
    DEFAULT_FALLBACK_ON,
    BestScore,
    Cascade,
    Ensemble,
    FallbackChain,
    Single,
    Strategy,
)

if TYPE_CHECKING:
    from langroute.router import Router

ErrorName = Literal[
    "BudgetExceeded",
    "RateLimited",
    "Timeout",
    "ServerError",
    "ConnectionFailed",
    "MalformedResponse",
    "ContextTooLong",
    "ContentFiltered",
    "AuthError",
    "BadRequest",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CostOptimizedConfig(_Section):
    type: Literal["cost-optimized"] = "cost-optimized"
    bar: QualityBar = QualityBar()
    fallback_below_bar: bool = True

    def build(self) -> Policy:
        return CostOptimized(bar=self.bar, fallback_below_bar=self.fallback_below_bar)


class LatencyOptimizedConfig(_Section):
    type: Literal["latency-optimized"]
    bar: QualityBar = QualityBar()
    fallback_below_bar: bool = True

    def build(self) -> Policy:
        return LatencyOptimized(bar=self.bar, fallback_below_bar=self.fallback_below_bar)


class ComplexityTiersConfig(ComplexityTiers):
    type: Literal["complexity-tiers"]

    def build(self) -> Policy:
        return self


class DomainMapConfig(DomainMap):
    type: Literal["domain-map"]

    def build(self) -> Policy:
        return self


class WeightedConfig(WeightedObjective):
    type: Literal["weighted"]

    def build(self) -> Policy:
        return self


class LearnedConfig(_Section):
    """A trained router artifact (`langroute train`); relative paths are resolved against
    the config file's folder."""

    type: Literal["learned"]
    artifact: Path
    aliases: dict[str, str] = Field(default_factory=dict)
    """The artifact's model names → this router's model names."""

    def build(self) -> Policy:
        return LearnedPolicy.load(self.artifact, aliases=self.aliases)


PolicyConfig = Annotated[
    CostOptimizedConfig
    | LatencyOptimizedConfig
    | ComplexityTiersConfig
    | DomainMapConfig
    | WeightedConfig
    | LearnedConfig,
    Field(discriminator="type"),
]


class StrategyConfig(_Section):
    type: Literal["fallback", "single", "cascade", "ensemble"] = "fallback"
    fallback_on: tuple[ErrorName, ...] | None = None
    """Error names that move to the next model (default: all but AuthError, BadRequest)."""
    max_models: int | None = Field(default=None, gt=0)
    threshold: float = Field(default=0.5, ge=0, le=1)
    """Cascade only: the least heuristic score at which an answer is kept."""
    scorer: Literal["heuristics", "logprobs", "self-reported", "learned", "chain", "judge"] = (
        "heuristics"
    )
    """Cascade (and ensemble: the best-scored answer is kept): what judges an answer.
    `logprobs` and `self-reported` make the cheap model's own confidence decide whether the
    next model is called; `learned` loads `scorer_artifact` (from `LearnedScorer.save`),
    `chain` one from `ChainScorer.save`; `judge` has `judge_model` grade each answer (an
    `LLMJudge`)."""
    scorer_artifact: Path | None = None
    scorer_aliases: dict[str, str] = Field(default_factory=dict)
    """`learned`/`chain`: this router's model names → the names the scorer was trained on."""
    judge_model: str | None = None
    """With `scorer = "judge"`: the model that grades answers (e.g. `gpt-4.1-nano`), called
    with this config's providers, retry policy and budgets."""
    lookahead_tokens: int | None = Field(default=None, gt=0)
    """Cascade only: judge a streamed answer after this many chunks (None: whole answer)."""
    keep_best: bool = True
    """Cascade only: when every model after an escalated answer fails, keep the best answer
    already paid for instead of failing the call."""
    size: int = Field(default=3, gt=1)
    """Ensemble only: how many models answer in parallel."""
    deadline_s: float | None = Field(default=None, gt=0)
    """Ensemble only: select among the answers in hand after this long."""

    @model_validator(mode="after")
    def _judge_named(self) -> StrategyConfig:
        if self.scorer == "judge" and self.judge_model is None:
            raise ValueError('scorer = "judge" needs judge_model, the model that grades answers')
        if self.judge_model is not None and self.scorer != "judge":
            raise ValueError('judge_model is only used with scorer = "judge"')
        return self

    def _scorer(self, judge: Router | None) -> Scorer:
        if self.scorer == "judge":
            if judge is None:
                raise ConfigError('strategy.scorer = "judge" is built by RouterConfig.build')
            return LLMJudge(judge)
        return SCORERS[self.scorer](self.scorer_artifact, self.scorer_aliases)

    def build(self, judge: Router | None = None) -> Strategy:
        """The strategy; `judge` is the router over `judge_model` (scorer = "judge")."""
        if self.type == "single":
            return Single()
        on = (
            DEFAULT_FALLBACK_ON
            if self.fallback_on is None
            else tuple(getattr(errors, name) for name in self.fallback_on)
        )
        if self.type == "cascade":
            return Cascade(
                scorer=self._scorer(judge),
                threshold=self.threshold,
                max_models=self.max_models or 3,
                fallback_on=on,
                lookahead_tokens=self.lookahead_tokens,
                keep_best=self.keep_best,
            )
        if self.type == "ensemble":
            selector = BestScore(self._scorer(judge))
            return Ensemble(size=self.size, selector=selector, deadline_s=self.deadline_s)
        return FallbackChain(fallback_on=on, max_models=self.max_models)


def _artifact(kind: str, path: Path | None) -> Path:
    if path is None:
        raise ConfigError(f"strategy.scorer = {kind!r} needs strategy.scorer_artifact (a .npz)")
    return path


def _learned_scorer(path: Path | None, aliases: dict[str, str]) -> Scorer:
    from langroute.scorers.learned import LearnedScorer

    return LearnedScorer.load(_artifact("learned", path), aliases=aliases)


def _chain_scorer(path: Path | None, aliases: dict[str, str]) -> Scorer:
    from langroute.scorers.chain import ChainScorer

    return ChainScorer.load(_artifact("chain", path), aliases=aliases)


SCORERS: dict[str, Callable[[Path | None, dict[str, str]], Scorer]] = {
    "heuristics": lambda *_: Heuristics(),
    "logprobs": lambda *_: LogprobConfidence(),
    "self-reported": lambda *_: SelfReportedConfidence(),
    "learned": _learned_scorer,
    "chain": _chain_scorer,
}


def store_for(url: str, kind: str) -> Any:
    """A state store from a URL: `memory`, `sqlite:PATH` or `redis://HOST:PORT/DB`."""
    from langroute import state

    classes = {
        "health": ("InMemoryHealth", "SQLiteHealth", "RedisHealth"),
        "limits": ("InMemoryRateLimits", "SQLiteRateLimits", "RedisRateLimits"),
        "budgets": ("InMemoryBudgets", "SQLiteBudgets", "RedisBudgets"),
        "cache": ("InMemoryCache", "SQLiteCache", "RedisCache"),
        "warm": ("InMemoryWarmStore", "SQLiteWarmStore", "RedisWarmStore"),
    }[kind]
    if url == "memory":
        return getattr(state, classes[0])()
    if url.startswith("sqlite:"):
        return getattr(state, classes[1])(url.removeprefix("sqlite:").removeprefix("//"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return getattr(state, classes[2])(url)
    shown = "***@" + url.rsplit("@", 1)[1] if "@" in url else url  # a password is before @
    raise ConfigError(
        f"state store {shown!r} is not understood; use 'memory', 'sqlite:PATH' or "
        "'redis://HOST:PORT/DB'"
    )


class BudgetsConfig(_Section):
    """`[budgets]`: USD caps and where their ledgers live."""

    caps: tuple[Budget, ...] = ()
    per_request_usd: float | None = Field(default=None, gt=0)
    store: str | None = None
    """`memory`, `sqlite:PATH` or `redis://…` (default: the router's `state`, else memory)."""
    hold_s: float = Field(default=600.0, gt=0)

    def build(self, default_store: str) -> Budgets:
        return Budgets(
            self.caps,
            store_for(self.store or default_store, "budgets"),
            per_request_usd=self.per_request_usd,
            hold_s=self.hold_s,
        )


class CacheConfig(_Section):
    """`[cache]`: the per-tenant response cache."""

    store: str | None = None
    ttl_s: float = Field(default=3600.0, gt=0)
    semantic: bool = False
    """Also match paraphrases (the offline MiniLM embedder; needs langroute[embed])."""
    threshold: float = Field(default=0.92, gt=0, le=1)
    cache_tool_calls: bool = False
    cache_sampled: bool = False

    def build(self, default_store: str) -> ResponseCache:
        embedder = None
        if self.semantic:
            from langroute.embed.minilm import MiniLMEmbedder

            embedder = MiniLMEmbedder()
        return ResponseCache(
            store_for(self.store or default_store, "cache"),
            ttl_s=self.ttl_s,
            embedder=embedder,
            threshold=self.threshold,
            cache_tool_calls=self.cache_tool_calls,
            cache_sampled=self.cache_sampled,
        )


class AuditConfig(_Section):
    """`[audit]`: where records go, and whether prompts (redacted) are kept."""

    jsonl: Path | None = None
    sqlite: Path | None = None
    include_prompts: bool = False
    redact: tuple[str, ...] = ()
    """Extra regexes to redact (keys and credentials are always redacted)."""

    def build(self) -> AuditLog:
        sinks: list[Any] = []
        if self.jsonl is not None:
            sinks.append(JSONLAuditSink(self.jsonl))
        if self.sqlite is not None:
            sinks.append(SQLiteAuditSink(self.sqlite))
        if not sinks:
            raise ConfigError("[audit] needs jsonl = PATH and/or sqlite = PATH")
        return AuditLog(sinks, include_prompts=self.include_prompts, redact=self.redact)


class ClassifierConfig(_Section):
    """`[classifier]`: what decides a request's task profile."""

    type: Literal["rules", "embedding", "llm"] = "rules"
    embedder: Literal["static", "minilm"] = "static"
    """For `type = "embedding"`: the static table (~0.2 ms a prompt) or the MiniLM
    transformer (~7 ms, a few points more accurate); both need langroute[embed]."""
    top_k: int = Field(default=3, ge=1)
    """For `type = "embedding"`: how many nearest examples of a route are averaged."""
    model: str | None = None
    """For `type = "llm"`: the model that labels each request (e.g. `gpt-4.1-nano`), called
    with this config's providers, retry policy and budgets; the rules are its fallback."""

    @model_validator(mode="after")
    def _llm_named(self) -> ClassifierConfig:
        if self.type == "llm" and self.model is None:
            raise ValueError('type = "llm" needs model, the model that labels requests')
        if self.model is not None and self.type != "llm":
            raise ValueError('model is only used with type = "llm"')
        return self

    def build(self, rules: Sequence[Rule], labeller: Router | None = None) -> Classifier:
        """The classifier; `labeller` is the router over `model` (type = "llm")."""
        base = RuleClassifier(extra_rules=rules)
        if self.type == "rules":
            return base
        if self.type == "llm":
            if labeller is None:
                raise ConfigError('classifier.type = "llm" is built by RouterConfig.build')
            return LLMClassifier(labeller, fallback=base)
        from langroute.classify.embedding import EmbeddingClassifier
        from langroute.embed import MiniLMEmbedder, StaticEmbedder

        embedder = MiniLMEmbedder() if self.embedder == "minilm" else StaticEmbedder()
        return EmbeddingClassifier(embedder=embedder, fallback=base, top_k=self.top_k)


class RouterConfig(_Section):
    """Everything that defines a router. Unknown keys and bad values name the field."""

    models: tuple[str, ...] | None = None
    """Candidate model names (default: every model in the registry)."""
    models_files: tuple[Path, ...] = ()
    """TOML/YAML files adding or overriding models and providers, applied in order."""
    providers: dict[str, ProviderSpec] = Field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    """Extra rules for the rule-based classifier."""
    classifier: ClassifierConfig = ClassifierConfig()
    policy: PolicyConfig = CostOptimizedConfig()
    strategy: StrategyConfig = StrategyConfig()
    retry: RetryPolicy = RetryPolicy()
    state: str | None = None
    """Shared state for health and rate limits (and the default for budgets and cache):
    `memory`, `sqlite:PATH` or `redis://HOST:PORT/DB` (None: no health or limit tracking)."""
    budgets: BudgetsConfig | None = None
    cache: CacheConfig | None = None
    audit: AuditConfig | None = None
    cache_aware: bool = True
    """Price what a model holds in its provider's prompt cache at the cached price when
    planning, kept in the router's `state` when it has one (false: list prices only)."""

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, where: str = "router config") -> RouterConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _explain(where, exc, cls) from None

    @classmethod
    def from_file(cls, path: str | Path) -> RouterConfig:
        """Read a TOML or YAML router config; relative `models_files` are resolved against
        the config file's folder."""
        path = Path(path)
        data = read_data_file(path, "router config")
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a table of router settings (models, policy…)")
        config = cls.from_data(data, where=str(path))
        files = tuple(f if f.is_absolute() else path.parent / f for f in config.models_files)
        update: dict[str, Any] = {"models_files": files}
        if isinstance(config.policy, LearnedConfig) and not config.policy.artifact.is_absolute():
            artifact = path.parent / config.policy.artifact
            update["policy"] = config.policy.model_copy(update={"artifact": artifact})
        update.update(_relative_paths(config, path.parent))
        scorer = config.strategy.scorer_artifact
        if scorer is not None and not scorer.is_absolute():
            update["strategy"] = config.strategy.model_copy(
                update={"scorer_artifact": path.parent / scorer}
            )
        return config.model_copy(update=update)

    def build(self, registry: Registry | None = None) -> Router:
        from langroute.router import Router

        registry = registry.copy() if registry is not None else Registry.builtin()
        for file in self.models_files:
            registry.load_file(file)
        registry.providers.update(self.providers)
        state = self.state or "memory"
        health = store_for(self.state, "health") if self.state else None
        limits = store_for(self.state, "limits") if self.state else None
        budgets = self.budgets.build(state) if self.budgets else None

        def helper(model: str | None) -> Router | None:
            """A router over a judge's or LLM classifier's model, sharing this one's state."""
            if model is None:
                return None
            return Router(
                [model],
                registry=registry,
                retry=self.retry,
                health=health,
                limits=limits,
                budgets=budgets,
            )

        return Router(
            list(self.models) if self.models is not None else None,
            registry=registry,
            classifier=self.classifier.build(self.rules, helper(self.classifier.model)),
            policy=self.policy.build(),
            strategy=self.strategy.build(helper(self.strategy.judge_model)),
            retry=self.retry,
            health=health,
            limits=limits,
            budgets=budgets,
            cache=self.cache.build(state) if self.cache else None,
            audit=self.audit.build() if self.audit else None,
            cache_aware=store_for(self.state, "warm")
            if self.cache_aware and self.state
            else self.cache_aware,
        )


def _relative_paths(config: RouterConfig, folder: Path) -> dict[str, Any]:
    """Store and audit paths of a config file, resolved against its folder."""

    def store(url: str | None) -> str | None:
        if url is None or not url.startswith("sqlite:"):
            return url
        target = Path(url.removeprefix("sqlite:").removeprefix("//"))
        return f"sqlite:{target if target.is_absolute() else folder / target}"

    def file(path: Path | None) -> Path | None:
        return path if path is None or path.is_absolute() else folder / path

    update: dict[str, Any] = {"state": store(config.state)}
    if config.budgets is not None:
        update["budgets"] = config.budgets.model_copy(update={"store": store(config.budgets.store)})
    if config.cache is not None:
        update["cache"] = config.cache.model_copy(update={"store": store(config.cache.store)})
    if config.audit is not None:
        update["audit"] = config.audit.model_copy(
            update={"jsonl": file(config.audit.jsonl), "sqlite": file(config.audit.sqlite)}
        )
    return update
